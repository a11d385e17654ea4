# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCRAM-SHA-256 verifiers (RFC 5802 / RFC 7677) in PostgreSQL's storage format, computed on the controller.

Pure Python (hashlib, hmac, base64, stringprep). The salt is derived from a public seed (host and user name) and
never from the password, so the same inputs give the same verifier: re-runs change nothing, and PgBouncer's
userlist and PostgreSQL's pg_authid can hold the very same verifier (needed for PgBouncer's SCRAM pass-through).

    SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import stringprep
import unicodedata

DEFAULT_ITERATIONS = 4096  # PostgreSQL's scram_iterations default
SALT_LENGTH = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN


class ScramError(ValueError):
    """Bad input; the message says what to fix."""


def scram_salt(seed, size=SALT_LENGTH):
    """``size`` bytes derived from ``seed`` (for example '<postgres host>:<user>'), never from the password."""
    if not isinstance(seed, str) or not seed:
        raise ScramError('the SCRAM salt seed must be a non-empty string such as "<postgres host>:<user>"')
    return hashlib.sha256(('bulwark.stack:scram-salt:' + seed).encode('utf-8')).digest()[:size]


def _prohibited(char):
    return (stringprep.in_table_c12(char) or stringprep.in_table_c21_c22(char) or stringprep.in_table_c3(char)
            or stringprep.in_table_c4(char) or stringprep.in_table_c5(char) or stringprep.in_table_c6(char)
            or stringprep.in_table_c7(char) or stringprep.in_table_c8(char) or stringprep.in_table_c9(char))


def saslprep(password):
    """The password bytes PostgreSQL hashes: SASLprep (RFC 4013) when it applies, else the raw UTF-8 bytes.

    Like PostgreSQL's pg_saslprep: ASCII passwords are used as they are; a password SASLprep rejects (prohibited
    or bidirectionally invalid characters) is used unnormalised instead of being refused.
    """
    raw = password.encode('utf-8')
    if all(ord(c) < 0x80 for c in password):
        return raw
    mapped = ''.join(' ' if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c))
    normalised = unicodedata.normalize('NFKC', mapped)
    if not normalised or any(_prohibited(c) for c in normalised):
        return raw
    rand_al = [stringprep.in_table_d1(c) for c in normalised]
    if any(rand_al):
        if any(stringprep.in_table_d2(c) for c in normalised) or not (rand_al[0] and rand_al[-1]):
            return raw
    return normalised.encode('utf-8')


def scram_keys(password, salt, iterations=DEFAULT_ITERATIONS):
    """(StoredKey, ServerKey) bytes for ``password`` (str) with ``salt`` (bytes)."""
    salted = hashlib.pbkdf2_hmac('sha256', saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
    return stored_key, server_key


def scram_sha256(password, seed, iterations=DEFAULT_ITERATIONS):
    """PostgreSQL's SCRAM-SHA-256 verifier of ``password`` with a salt derived from ``seed``."""
    if not isinstance(password, str) or not password:
        raise ScramError('the password to hash is empty; set it (from Ansible Vault) before hashing')
    if password.startswith('SCRAM-SHA-256$') or password.startswith('md5'):
        raise ScramError('the password already looks like a hash; give the plaintext password (from Ansible Vault)')
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 4096:
        raise ScramError('SCRAM iterations is %r; use an integer >= 4096' % (iterations,))
    salt = scram_salt(seed)
    stored_key, server_key = scram_keys(password, salt, iterations)

    def b64(data):
        return base64.b64encode(data).decode('ascii')

    return 'SCRAM-SHA-256$%d:%s$%s:%s' % (iterations, b64(salt), b64(stored_key), b64(server_key))
