# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pgbouncer_pools
version_added: 0.1.0
short_description: PgBouncer pool plan, refused when it does not fit PostgreSQL's max_connections
description:
  - Lists PgBouncer's pools (one per database/user pair) with their worst-case server connections
    (pool size + reserve pool) and fails when their sum exceeds C(max_connections - superuser_reserved_connections)
    of the server, with a message naming the variables to change.
  - Pool size precedence is PgBouncer's own (the user's C(pool_size), else the database's, else the default).
options:
  _input:
    description: The databases, C(pgbouncer_databases) (list of dicts with C(name), optional C(pool_size)).
    type: list
    elements: dict
    required: true
  users:
    description: C(pgbouncer_users) (list of dicts with C(name), optional C(databases) list and C(pool_size)).
    type: list
    elements: dict
    required: true
  default_pool_size:
    description: PgBouncer's C(default_pool_size).
    type: int
    required: true
  reserve_pool_size:
    description: PgBouncer's C(reserve_pool_size).
    type: int
    required: true
  max_connections:
    description: The server's C(max_connections).
    type: int
    required: true
  superuser_reserved_connections:
    description: The server's C(superuser_reserved_connections).
    type: int
    default: 3
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Pools fit in the server
  ansible.builtin.debug:
    msg: >-
      {{ pgbouncer_databases | bulwark.stack.pgbouncer_pools(pgbouncer_users, 25, 5, 100, 3) }}
"""

RETURN = r"""
_value:
  description: C(pools) (list of database, user, pool_size, reserve_pool_size, connections), C(total) and C(limit).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils.pgbouncer_pools import PoolSizeError, pool_plan


def pgbouncer_pools(databases, users, default_pool_size, reserve_pool_size, max_connections,
                    superuser_reserved_connections=3):
    try:
        return pool_plan(databases, users, default_pool_size, reserve_pool_size, max_connections,
                         superuser_reserved_connections)
    except PoolSizeError as exc:
        raise AnsibleFilterError('pgbouncer_pools: %s' % exc) from exc


class FilterModule:
    def filters(self):
        return {'pgbouncer_pools': pgbouncer_pools}
