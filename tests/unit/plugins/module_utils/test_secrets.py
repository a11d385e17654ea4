"""Unit tests for the controller-side secret helpers (bcrypt via passlib)."""

import pytest
from passlib.hash import bcrypt

from ansible_collections.bulwark.stack.plugins.module_utils import secrets


def test_hash_is_deterministic_per_seed_and_verifies():
    one = secrets.bcrypt_hash('s3cret-scrape', 'mon1:prometheus', rounds=10)
    assert one == secrets.bcrypt_hash('s3cret-scrape', 'mon1:prometheus', rounds=10)
    assert one.startswith('$2b$10$') and len(one) == 60
    assert bcrypt.verify('s3cret-scrape', one)
    assert not bcrypt.verify('other', one)


def test_salt_differs_per_host_and_user_but_not_per_password():
    a = secrets.bcrypt_hash('pw-one', 'app1:prometheus', rounds=10)
    b = secrets.bcrypt_hash('pw-one', 'app2:prometheus', rounds=10)
    c = secrets.bcrypt_hash('pw-two', 'app1:prometheus', rounds=10)
    assert a[7:29] != b[7:29]          # salt: characters 7-28
    assert a[7:29] == c[7:29]          # the salt never depends on the secret


@pytest.mark.parametrize('password, seed, rounds, fragment', [
    ('', 'h:u', 10, 'password to hash is empty'),
    (None, 'h:u', 10, 'password to hash is empty'),
    ('x' * 73, 'h:u', 10, 'at most 72 bytes'),
    ('pw', '', 10, 'salt seed must be a non-empty string'),
    ('pw', 'h:u', 9, 'bcrypt rounds is 9'),
    ('pw', 'h:u', 17, 'bcrypt rounds is 17'),
    ('pw', 'h:u', True, 'bcrypt rounds is True'),
])
def test_bad_input(password, seed, rounds, fragment):
    with pytest.raises(secrets.SecretError, match=fragment):
        secrets.bcrypt_hash(password, seed, rounds=rounds)
