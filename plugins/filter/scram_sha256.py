# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: scram_sha256
version_added: 0.1.0
short_description: Deterministic PostgreSQL SCRAM-SHA-256 verifier of a password
description:
  - Returns the verifier PostgreSQL stores for a password with C(password_encryption = scram-sha-256), in its
    format C(SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>) (RFC 5802, RFC 7677), computed on the
    controller in pure Python (C(hashlib.pbkdf2_hmac), C(hmac)); the password is SASLprep-normalised like
    PostgreSQL does.
  - The 16-byte salt is derived from O(seed) (typically C(<postgres host>:<user>)) and never from the password, so
    re-running a play gives the same verifier and changes nothing.
  - PostgreSQL accepts the verifier as a role password (C(ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...') stores it as
    is) and PgBouncer accepts it in its C(auth_file); using the same verifier on both lets PgBouncer log in to the
    server with the client's SCRAM proof.
options:
  _input:
    description: The plaintext password, usually from Ansible Vault.
    type: str
    required: true
  seed:
    description: Public string the salt is derived from; give both sides (PostgreSQL and PgBouncer) the same one.
    type: str
    required: true
  iterations:
    description: PBKDF2 iteration count (PostgreSQL's C(scram_iterations) default is 4096).
    type: int
    default: 4096
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: PgBouncer userlist line
  ansible.builtin.copy:
    dest: /etc/pgbouncer/userlist.txt
    content: |
      "app" "{{ vault_app_password | bulwark.stack.scram_sha256('db1:app') }}"
    mode: "0640"
  no_log: true
"""

RETURN = r"""
_value:
  description: The verifier, for example C(SCRAM-SHA-256$4096:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils.scram import ScramError, scram_sha256 as _scram_sha256


def scram_sha256(password, seed, iterations=4096):
    try:
        return _scram_sha256(password, seed, iterations=int(iterations))
    except (ScramError, ValueError, TypeError) as exc:
        raise AnsibleFilterError('scram_sha256: %s' % exc) from exc


class FilterModule:
    def filters(self):
        return {'scram_sha256': scram_sha256}
