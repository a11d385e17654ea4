# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: firewall_rules
version_added: 0.1.0
short_description: The ufw allow rules a host needs, derived from the stack topology
description:
  - Returns the sorted, de-duplicated list of ufw rules the input host needs, for community.general.ufw.
  - The service table is the bulwark.stack topology (C(plugins/module_utils/topology.py)) merged with O(services)
    (C(bulwark_services)). For every service whose group contains the host (C(all) means every host), each group
    in the service's C(allow_from) gives one rule per member host, from that member's internal address; C(any)
    gives one rule from any address. A host never gets a rule from itself (loopback is always accepted).
  - SSH rules come first, from each network of O(admin_networks) or from C(any) when it is empty, with
    C(limit=true) (ufw C(limit)). Apply them before setting the default incoming policy to deny.
  - O(extra_rules) adds operator rules. Rules are de-duplicated on port, proto and source; the first one wins, in
    the order SSH, services by name, extra rules.
  - "Every rule's comment starts with C(bulwark: ) (C(bulwark: <service> from <group-or-source>)), so the role can
    recognise the rules it manages and prune the others."
  - Internal addresses are computed by the topology (C(bulwark_internal_address), else the first address in
    O(network), else the default IPv4 address), so facts of the peer hosts must be gathered.
  - Fails with a message naming the variable (for example C(bulwark_services.redis.allow_from[1]),
    C(firewall_extra_rules[2].from), C(firewall_admin_networks[0])), the bad value and the fix.
options:
  _input:
    description: The host to compute rules for, normally C(inventory_hostname).
    type: str
    required: true
  groups:
    description: The inventory groups, pass Ansible's C(groups). A group named in C(allow_from) must exist (it may be empty).
    type: dict
    required: true
  hostvars:
    description:
      - Pass Ansible's C(hostvars). Only the hosts that are sources of a rule are read, and only
        C(bulwark_internal_address), C(ansible_all_ipv4_addresses), C(ansible_default_ipv4) and C(inventory_hostname).
    type: dict
    required: true
  services:
    description: Overrides of the service table, C(bulwark_services) (change a service, add one, or set one to null to remove it).
    type: dict
    required: false
    default: {}
  network:
    description: The internal network, C(bulwark_internal_network), a CIDR. Empty means the default IPv4 address of each host.
    type: str
    required: false
    default: ''
  extra_rules:
    description:
      - Operator rules, C(firewall_extra_rules). Each item has C(port) (1-65535, required), C(proto) (C(tcp) or C(udp),
        default C(tcp)), C(from) (required; C(any), an IP address, a CIDR network without host bits, or C(group:<name>)
        for every member of an inventory group) and an optional short C(comment) (used in place of C(extra) in the
        rule comment).
    type: list
    elements: dict
    required: false
    default: []
  admin_networks:
    description: Networks or addresses allowed to reach SSH, C(firewall_admin_networks). Empty means any address.
    type: list
    elements: str
    required: false
    default: []
  ssh_port:
    description: The SSH port.
    type: int
    required: false
    default: 22
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Allow what the topology needs on this host
  community.general.ufw:
    rule: "{{ 'limit' if item.limit else 'allow' }}"
    port: "{{ item.port }}"
    proto: "{{ item.proto }}"
    from_ip: "{{ item.from }}"
    comment: "{{ item.comment }}"
  loop: >-
    {{ inventory_hostname | bulwark.stack.firewall_rules(groups, hostvars, bulwark_services | default({}),
       network=bulwark_internal_network | default(''), extra_rules=firewall_extra_rules,
       admin_networks=firewall_admin_networks) }}
  loop_control:
    label: "{{ item.comment }} ({{ item.port }}/{{ item.proto }} from {{ item.from }})"

# firewall_admin_networks: [10.8.0.0/24]
# firewall_extra_rules:
#   - {port: 60001, proto: udp, from: 10.8.0.0/24, comment: mosh}
#   - {port: 9187, from: "group:monitoring"}
"""

RETURN = r"""
_value:
  description:
    - The rules, SSH first, then ordered by port, proto and source. Every rule has the same keys.
  type: list
  elements: dict
  contains:
    port:
      description: Destination port on this host.
      type: int
      sample: 6432
    proto:
      description: C(tcp) or C(udp).
      type: str
      sample: tcp
    from:
      description: Source, C(any), an IP address or a CIDR network.
      type: str
      sample: 172.30.90.21
    service:
      description: The service the rule is for (C(ssh) for SSH, C(extra) for extra rules).
      type: str
      sample: pgbouncer
    limit:
      description: True for the SSH rules (ufw C(limit)), false otherwise (ufw C(allow)).
      type: bool
      sample: false
    comment:
      description: "The label marking a managed rule, C(bulwark: <service> from <group-or-source>)."
      type: str
      sample: "bulwark: pgbouncer from app"
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils import topology
from ansible_collections.bulwark.stack.plugins.module_utils.firewall import FirewallError, firewall_rules as _firewall_rules

# the host variables topology.internal_address reads
ADDRESS_KEYS = ('bulwark_internal_address', 'ansible_all_ipv4_addresses', 'ansible_default_ipv4', 'inventory_hostname')


class _AddressVars:
    """A lazy view of Ansible's hostvars: ``view[host]`` is a small dict of that host's ADDRESS_KEYS only.

    Reading only these keys avoids templating every variable of every host.
    """

    def __init__(self, hostvars):
        self._hostvars = hostvars

    def __contains__(self, host):
        return host in self._hostvars

    def __getitem__(self, host):
        source = self._hostvars[host]
        view = {key: source[key] for key in ADDRESS_KEYS if key in source}
        view.setdefault('inventory_hostname', host)
        return view


def firewall_rules(host, groups, hostvars, services=None, network=None, extra_rules=None, admin_networks=None, ssh_port=22):
    try:
        table = topology.services(services or None)
        return _firewall_rules(host, groups, _AddressVars(hostvars), table, network=network or None,
                               extra_rules=extra_rules, admin_networks=admin_networks, ssh_port=ssh_port)
    except (FirewallError, topology.TopologyError) as exc:
        raise AnsibleFilterError('firewall_rules: %s' % exc) from exc


class FilterModule:
    def filters(self):
        return {'firewall_rules': firewall_rules}
