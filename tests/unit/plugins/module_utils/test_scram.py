"""SCRAM-SHA-256 verifiers: RFC 7677's exchange reproduced from our keys, determinism, PostgreSQL's format."""

import base64
import hashlib
import hmac
import re

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils import scram

FORMAT = re.compile(r'^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$')


def test_rfc7677_exchange_is_reproduced_from_the_keys():
    # RFC 7677 section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    salt = base64.b64decode('W22ZaJ0SNY7soEsUEjb6gQ==')
    stored_key, server_key = scram.scram_keys('pencil', salt, 4096)
    auth_message = ('n=user,r=rOprNGfwEbeRWgbNEkqO,'
                    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,'
                    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0').encode()
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='
    # The server verifies the client's proof: ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) == StoredKey.
    proof = base64.b64decode('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=')
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature))
    assert hashlib.sha256(client_key).digest() == stored_key


def test_verifier_format_and_determinism():
    one = scram.scram_sha256('app-secret', 'db1:app')
    match = FORMAT.match(one)
    assert match, one
    assert len(base64.b64decode(match.group(1))) == 16
    assert len(base64.b64decode(match.group(2))) == 32 and len(base64.b64decode(match.group(3))) == 32
    assert one == scram.scram_sha256('app-secret', 'db1:app')


def test_salt_depends_on_seed_not_on_password():
    a = FORMAT.match(scram.scram_sha256('pw-one', 'db1:app')).group(1)
    b = FORMAT.match(scram.scram_sha256('pw-two', 'db1:app')).group(1)
    c = FORMAT.match(scram.scram_sha256('pw-one', 'db2:app')).group(1)
    assert a == b != c
    assert scram.scram_sha256('pw-one', 'db1:app') != scram.scram_sha256('pw-two', 'db1:app')


def test_verifier_matches_keys_from_its_salt():
    verifier = scram.scram_sha256('p@ss w0rd', 'h:u', iterations=5000)
    head, keys = verifier.split('$', 1)[1].split('$')
    iterations, salt = head.split(':')
    stored, server = scram.scram_keys('p@ss w0rd', base64.b64decode(salt), int(iterations))
    assert keys == '%s:%s' % (base64.b64encode(stored).decode(), base64.b64encode(server).decode())


def test_saslprep():
    assert scram.saslprep('plain-ascii') == b'plain-ascii'
    assert scram.saslprep('I\u00adX') == b'IX'  # soft hyphen is mapped to nothing
    assert scram.saslprep('a\u00a0b') == b'a b'  # non-ASCII space becomes a space
    assert scram.saslprep('\u2168') == b'IX'  # NFKC
    assert scram.saslprep('a\u0007b') == b'a\x07b'  # ASCII used as is (PostgreSQL does the same)
    assert scram.saslprep('x\u0627') == 'x\u0627'.encode()  # bidi rule fails: raw bytes, like pg_saslprep


@pytest.mark.parametrize('password, seed, iterations, message', [
    ('', 'h:u', 4096, 'empty'),
    (None, 'h:u', 4096, 'empty'),
    ('pw', '', 4096, 'seed'),
    ('pw', 'h:u', 1000, 'iterations'),
    ('pw', 'h:u', True, 'iterations'),
    ('SCRAM-SHA-256$4096:abc$def:ghi', 'h:u', 4096, 'already looks like a hash'),
])
def test_bad_input(password, seed, iterations, message):
    with pytest.raises(scram.ScramError, match=message):
        scram.scram_sha256(password, seed, iterations)
