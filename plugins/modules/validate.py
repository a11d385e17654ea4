#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation for the bulwark.stack.validate action plugin (the work happens on the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate
short_description: Preflight validation of every inventory host's settings, on the controller, before any change
version_added: 0.1.0
description:
  - Runs on the controller only (an action plugin); it never connects to a host. Run it first, once, delegated to
    C(localhost), as C(playbooks/validate.yml) does (C(site.yml) and C(deploy.yml) import that playbook before
    anything else; it runs whatever C(--limit) and C(--tags) say).
  - Reads every inventory host's variables (templated) plus each role's C(defaults/main.yml) for the hosts of the
    group that role runs on (templates among them are templated where the inventory alone allows it, without facts).
    It is the one place for every check that does not need the host; the roles' C(tasks/preflight.yml) keep only
    what does (release, the Ansible user's groups, running sentinels, peer addresses).
  - "Types, choices, required: each role's C(meta/argument_specs.yml) (entry point C(main)), applied with Ansible's
    own validator to every host of the role's group, so a wrong type stops the run before any host changes. Nothing
    else re-checks a type or a choice the argument spec declares."
  - "Secrets: present where a role needs them, not a placeholder (C(changeme), C(password), C(${...}), C(sk-...)
    samples, empty), no control character, at least O(secret_min_length) characters (more where a role asks for it),
    hard to guess for the zxcvbn estimator (at least 2^O(secret_min_bits) guesses: dictionary words, names, years,
    dates, keyboard runs and repeats count as what they are), not the same value under two different services, and,
    when C(bulwark_environment=production), coming from Ansible Vault (inline C(!vault) values, or variables of a
    file encrypted with C(ansible-vault encrypt); C({{ vault_x }}) references are followed)."
  - "Values that reach config files: no control characters (a line break would start another setting), no quote or
    backslash inside a quoted value, no blank in a space-separated token, names and paths by pattern; every pattern
    matches the whole value."
  - "Numbers and ranges: ports, pool sizes, memory sizes with units, durations, request rates, CIDR networks."
  - "What the roles checked on each host before: release directory name, artifact and checksum, SSH algorithm lists,
    sysctl names, logrotate rules, HAProxy frontends and backends, nginx upstream group, PgBouncer and PostgreSQL
    users and databases, Redis ACL users and rules, Sentinel group and timings, the C(lb_server) choice."
  - "Cross-field: PgBouncer pools against PostgreSQL C(max_connections) (the pgbouncer role's C(pool_plan)), Sentinel
    quorum against the number of sentinels and a majority (the redis_sentinel role's C(sentinel_check)), Redis
    C(maxmemory) against host RAM (when facts are cached), load-balancer upstreams not empty, firewall sources valid
    (the firewall role's normaliser), TLS certificate and key match, expiry and names."
  - "Topology: every group the services need exists and is not empty; no port is bound twice on a host."
  - Every problem names the variable, where it was set (inventory group or host and file:line), the value (secrets
    masked), why and how to fix it. All problems are reported at once.
options:
  required_groups:
    description:
      - Inventory groups that must exist and have members. Default is every group of the topology's services
        (C(lb), C(app), C(pgbouncer), C(postgres), C(redis) by default).
    type: list
    elements: str
  secret_min_length:
    description: Minimum length of a secret.
    type: int
    default: 12
  secret_min_bits:
    description: Minimum strength of a secret, as log2 of the guesses the zxcvbn estimator needs (48 refuses
      C(Summer2024!Summer), about 2^33).
    type: int
    default: 48
  fail:
    description: Fail the task when there is a problem. With C(false) the problems are only returned.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads the inventory only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller; needs the Python packages C(zxcvbn) (secret strength) and, when
      C(node_exporter_basic_auth_users) is set, C(passlib) and C(bcrypt) there (all pinned in requirements.txt).
author: bulwark.stack maintainers (@bulwark-stack)
"""

EXAMPLES = r"""
- name: Preflight validation of the inventory (controller only), whatever --limit and --tags say
  hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: Validate settings of every inventory host
      bulwark.stack.validate:
      run_once: true
      delegate_to: localhost
      tags: [always]

- name: Report problems without failing
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate, report only
      bulwark.stack.validate:
        fail: false
        required_groups: [app, postgres]
      register: preflight
"""

RETURN = r"""
problems:
  description: Every problem found; empty when the inventory is valid.
  returned: always
  type: list
  elements: dict
  contains:
    variable:
      description: The variable (with the path inside it) at fault, or C(groups.<name>) for a topology problem.
      type: str
      sample: node_exporter_basic_auth_users.prometheus
    where:
      description: Where it was set (inventory group or host, file and line), or C(role default, host <name>).
      type: str
      sample: group all (inventories/production.example/group_vars/all/main.yml:13)
    value:
      description: The value, secrets masked (first character and length).
      type: str
      sample: "'C****' (8 chars)"
    problem:
      description: Why it is refused.
      type: str
      sample: secret is a placeholder/sample value
    fix:
      description: How to fix it.
      type: str
      sample: replace it with a random secret stored in Ansible Vault
hosts:
  description: Number of inventory hosts validated.
  returned: always
  type: int
  sample: 9
environment:
  description: The C(bulwark_environment) the checks applied (C(production) turns on the vault requirement).
  returned: always
  type: str
  sample: lab
msg:
  description: Human-readable report, one numbered line per problem.
  returned: always
  type: str
"""
