# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: bcrypt_hash
version_added: 0.1.0
short_description: Deterministic bcrypt hash of a password (passlib on the controller)
description:
  - Returns a C($2b$) bcrypt hash of the input password.
  - The salt is derived from O(seed) (typically C(<inventory_hostname>:<user>)) and never from the password, so
    re-running a play gives the same hash and changes nothing, while each host and user gets its own salt.
  - Needs passlib and its bcrypt backend on the controller (C(pip install passlib bcrypt)).
options:
  _input:
    description: The password, usually from Ansible Vault. At most 72 bytes (bcrypt ignores the rest).
    type: str
    required: true
  seed:
    description: Public, per-host and per-user string the salt is derived from.
    type: str
    required: true
  rounds:
    description: bcrypt cost factor (log2 of the iterations), 10 to 16.
    type: int
    default: 12
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Web config with hashed basic-auth users
  ansible.builtin.copy:
    dest: /etc/prometheus/web.yml
    content: |
      basic_auth_users:
        prometheus: {{ vault_prometheus_password | bulwark.stack.bcrypt_hash(inventory_hostname ~ ':prometheus') }}
  no_log: true
"""

RETURN = r"""
_value:
  description: The bcrypt hash, for example C($2b$12$<22 salt characters><31 hash characters>).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils.secrets import SecretError, bcrypt_hash as _bcrypt_hash


def bcrypt_hash(password, seed, rounds=12):
    try:
        return _bcrypt_hash(password, seed, rounds=int(rounds))
    except (SecretError, ValueError) as exc:
        raise AnsibleFilterError('bcrypt_hash: %s' % exc) from exc


class FilterModule:
    def filters(self):
        return {'bcrypt_hash': bcrypt_hash}
