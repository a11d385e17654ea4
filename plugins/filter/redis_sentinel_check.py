# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: redis_sentinel_check
version_added: 0.1.0
short_description: Cross-checks of a Redis Sentinel deployment, before any host changes
description:
  - Returns the list of problems found (empty when the deployment is sound); the role fails its preflight with them.
  - The quorum must not exceed the number of sentinels and must be a majority of them.
  - A production inventory (O(production)) needs at least O(min_production_sentinels) sentinels.
  - All sentinels must be configured with the same monitored name, and sentinels that already run must monitor it.
options:
  _input:
    description: Mapping of each sentinel host to the monitored name it is configured with.
    type: dict
    required: true
  quorum:
    description: The Sentinel quorum.
    type: int
    required: true
  production:
    description: Apply the production rule (minimum number of sentinels).
    type: bool
    default: false
  min_production_sentinels:
    description: Minimum number of sentinels in production.
    type: int
    default: 3
  running_names:
    description: Mapping of already running sentinels to the names they monitor (from M(bulwark.stack.redis_sentinel_primary)).
    type: dict
    default: {}
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Sentinel cross-checks
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ {'redis1': 'bulwark', 'redis2': 'bulwark', 'redis3': 'bulwark'}
                  | bulwark.stack.redis_sentinel_check(quorum=2, production=true) }}"
"""

RETURN = r"""
_value:
  description: Problems found, each naming the variable, the problem and the fix. Empty when all checks pass.
  type: list
  elements: str
  sample:
    - "redis_sentinel_quorum is 1, not a majority of the 3 sentinels: a minority could declare the primary down; use at least 2"
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils.redis_topology import sentinel_check


def redis_sentinel_check(master_names, quorum, production=False, min_production_sentinels=3, running_names=None):
    if not isinstance(master_names, dict):
        raise AnsibleFilterError('bulwark.stack.redis_sentinel_check: the input must map sentinel hosts to their '
                                 'monitored name, got %r' % (master_names,))
    return sentinel_check(dict(master_names), quorum, production=bool(production),
                          min_production_sentinels=int(min_production_sentinels),
                          running_names=dict(running_names or {}))


class FilterModule:
    def filters(self):
        return {'redis_sentinel_check': redis_sentinel_check}
