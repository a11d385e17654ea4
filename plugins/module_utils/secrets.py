# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret helpers run on the controller: hashes instead of plaintext, deterministic so re-runs change nothing.

Pure Python; passlib (and its bcrypt backend) is imported lazily so that importing this module never fails.
"""

from __future__ import annotations

import hashlib
import logging

BCRYPT_MIN_ROUNDS = 10
BCRYPT_MAX_ROUNDS = 16


class SecretError(ValueError):
    """Bad secret input, or the controller lacks passlib; the message says how to fix it."""


def deterministic_salt(seed, size=16):
    """``size`` bytes derived from ``seed`` (for example 'host:user') and never from the secret itself.

    A salt derived from the password would let anyone holding the hash test guesses at SHA-256 speed, defeating
    bcrypt; a salt from public data (host and user name) only costs per-host uniqueness across password changes.
    """
    if not isinstance(seed, str) or not seed:
        raise SecretError('the salt seed must be a non-empty string such as "<inventory_hostname>:<user>"')
    return hashlib.sha256(('bulwark.stack:salt:' + seed).encode('utf-8')).digest()[:size]


def bcrypt_hash(password, seed, rounds=12):
    """bcrypt ($2b$) hash of ``password`` with a salt derived from ``seed``: the same inputs give the same hash."""
    if not isinstance(password, str) or not password:
        raise SecretError('the password to hash is empty; set it (from Ansible Vault) before hashing')
    if len(password.encode('utf-8')) > 72:
        raise SecretError('bcrypt uses only the first 72 bytes of a password; use a password of at most 72 bytes')
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not BCRYPT_MIN_ROUNDS <= rounds <= BCRYPT_MAX_ROUNDS:
        raise SecretError('bcrypt rounds is %r; use an integer from %d to %d'
                          % (rounds, BCRYPT_MIN_ROUNDS, BCRYPT_MAX_ROUNDS))
    # passlib 1.7.4 logs a harmless traceback reading the version of bcrypt >= 4.1; keep it off the play output.
    logging.getLogger('passlib.handlers.bcrypt').setLevel(logging.ERROR)
    try:
        from passlib.hash import bcrypt
        from passlib.utils.binary import bcrypt64
    except ImportError as exc:
        raise SecretError('passlib is required on the controller to hash passwords (%s); '
                          'install it with: pip install passlib bcrypt' % exc)
    # bcrypt64 of 16 bytes is 22 characters; repair_unused() clears the padding bits bcrypt ignores.
    salt = bcrypt64.repair_unused(bcrypt64.encode_bytes(deterministic_salt(seed)).decode('ascii')[:22])
    try:
        return bcrypt.using(salt=salt, rounds=rounds, ident='2b').hash(password)
    except Exception as exc:  # missing backend (no bcrypt package) surfaces here
        raise SecretError('passlib could not compute a bcrypt hash (%s); install a backend with: pip install bcrypt'
                          % exc)
