# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ufw allow rules derived from the stack topology (plugins/module_utils/topology.py).

Pure Python (no Ansible imports) so unit tests call it directly; the ``bulwark.stack.firewall_rules`` filter is a
thin adapter over :func:`firewall_rules`. The firewall role applies the returned rules with community.general.ufw.

Rule shape (every rule has the same keys)::

    {'port': 6432, 'proto': 'tcp', 'from': '172.30.90.21', 'service': 'pgbouncer', 'limit': False,
     'comment': 'bulwark: pgbouncer from app'}

Design decisions:

* Self rules are never emitted: a host is not given a rule from its own address, for its own services (a host in
  both ``postgres`` and ``postgresql.allow_from``) nor for ``group:<name>`` extra rules. Traffic a host sends to
  itself goes over the loopback interface, which ufw's before.rules always accept. :func:`reachability_matrix`
  follows the same rule and contains no (host, host, port) triples.
* ``'any'`` in ``allow_from`` is one rule from ``any``; member rules for the same port/proto are still emitted
  (they are harmless and keep the rule list a plain function of the table). In :func:`reachability_matrix`
  ``'any'`` means every inventory host.
* Rules are de-duplicated on (port, proto, from). When two sources produce the same triple the first one wins, in
  this order: SSH, services by name, ``allow_from`` groups in their listed order, extra rules in their order.
* The comment is ``bulwark: <service> from <group-or-source>`` (:data:`COMMENT_PREFIX` + label): the group name for
  rules derived from ``allow_from`` or ``group:<name>``, else the normalised source (``any``, an address or a
  CIDR). For extra rules, ``<service>`` is the rule's own ``comment`` (default ``extra``). The role recognises
  managed rules by :data:`COMMENT_PREFIX` and prunes the ones it did not write.
* The SSH rule(s) come first and carry ``'limit': True`` (ufw ``limit``: rate-limited allow). They are from each
  network in ``firewall_admin_networks``, or from ``any`` when that list is empty. The role applies them before
  it sets the default incoming policy to deny and enables ufw, so the play cannot lock itself out.
* Sources are normalised: single-host networks (``/32``, ``/128``) become plain addresses, networks must not have
  host bits set (``10.0.0.5/24`` is an error that suggests ``10.0.0.0/24`` or ``10.0.0.5``).
* A group named in ``allow_from`` (of a service this host runs) or in ``group:<name>`` must exist in the
  inventory; an existing but empty group is fine and gives no rules. A service whose own group is not in the
  inventory simply runs nowhere.
"""

from __future__ import absolute_import, division, print_function

import ipaddress
import re

from ansible_collections.bulwark.stack.plugins.module_utils.topology import TopologyError, internal_address

__metaclass__ = type

COMMENT_PREFIX = 'bulwark: '
ANY = 'any'
GROUP_PREFIX = 'group:'
SSH_SERVICE = 'ssh'
EXTRA_SERVICE = 'extra'
EXTRA_RULE_KEYS = ('port', 'proto', 'from', 'comment')
PROTOS = ('tcp', 'udp')
MAX_COMMENT_LENGTH = 64

_DIGITS = re.compile(r'^[0-9]+$')
# community.general.ufw passes the comment as "comment '<text>'" on a command line: no quotes, backslashes or
# control characters.
_BAD_COMMENT = re.compile(r'[\'"\\\x00-\x1f\x7f]')


class FirewallError(ValueError):
    """Bad firewall input; the message names the variable, the bad value and the fix."""


def comment_label(service, source):
    """The comment that marks a managed rule: ``bulwark: <service> from <source>``."""
    return '%s%s from %s' % (COMMENT_PREFIX, service, source)


def firewall_rules(host, groups, hostvars, services_table, network=None, extra_rules=None, admin_networks=None, ssh_port=22):
    """The sorted, de-duplicated ufw allow rules ``host`` needs.

    ``groups`` maps group name -> host names (Ansible's ``groups``), ``hostvars`` maps host name -> that host's
    variables (facts included), ``services_table`` is the effective table from ``topology.services()``,
    ``network`` is ``bulwark_internal_network``. ``extra_rules`` is ``firewall_extra_rules`` (list of
    ``{port, proto, from, comment}``), ``admin_networks`` is ``firewall_admin_networks`` (list of CIDRs/addresses).

    SSH rules come first, then the rest ordered by port, proto and source. Raises FirewallError.
    """
    _check_groups(groups)
    port = _port(ssh_port, 'firewall_ssh_port')
    rules = {}
    addresses = {}

    def add(rule):
        rules.setdefault((rule['port'], rule['proto'], rule['from']), rule)

    for source in _admin_sources(admin_networks):
        add(_rule(port, 'tcp', source, SSH_SERVICE, comment_label(SSH_SERVICE, source), limit=True))

    for name in sorted(services_table):
        entry = services_table[name]
        where = 'bulwark_services.%s' % name
        if not _runs_on(host, entry.get('group'), groups):
            continue
        svc_port = _port(entry.get('port'), where + '.port')
        proto = _proto(entry.get('proto', 'tcp'), where + '.proto')
        for index, group in enumerate(_allow_from(entry, where)):
            if group == ANY:
                add(_rule(svc_port, proto, ANY, name, comment_label(name, ANY)))
                continue
            group_where = '%s.allow_from[%d]' % (where, index)
            for peer in _members(groups, group, group_where, 'service %s' % name):
                if peer == host:
                    continue
                source = _peer_address(peer, hostvars, network, addresses, group_where)
                add(_rule(svc_port, proto, source, name, comment_label(name, group)))

    for index, extra in enumerate(_list(extra_rules, 'firewall_extra_rules')):
        where = 'firewall_extra_rules[%d]' % index
        for rule in _extra_rule(extra, where, host, groups, hostvars, network, addresses):
            add(rule)

    return sorted(rules.values(), key=_rule_key)


def reachability_matrix(groups, services_table):
    """The set of allowed ``(source_host, dest_host, port)`` triples between inventory hosts.

    Derived from the same table as :func:`firewall_rules`: for every service, every host of its group accepts its
    port from every member of each ``allow_from`` group; ``'any'`` means every inventory host. Self pairs are left
    out (loopback is always open). SSH and ``firewall_extra_rules`` are not part of the matrix, so a test asserting
    the complement closed should check the service ports of the table only. Raises FirewallError like
    :func:`firewall_rules` for a missing ``allow_from`` group of a service that runs somewhere.
    """
    _check_groups(groups)
    everyone = _all_hosts(groups)
    allowed = set()
    for name in sorted(services_table):
        entry = services_table[name]
        where = 'bulwark_services.%s' % name
        dests = [h for h in everyone if _runs_on(h, entry.get('group'), groups)]
        if not dests:
            continue
        svc_port = _port(entry.get('port'), where + '.port')
        for index, group in enumerate(_allow_from(entry, where)):
            if group == ANY:
                sources = everyone
            else:
                sources = _members(groups, group, '%s.allow_from[%d]' % (where, index), 'service %s' % name)
            for dest in dests:
                for source in sources:
                    if source != dest:
                        allowed.add((source, dest, svc_port))
    return allowed


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------

def _rule(port, proto, source, service, comment, limit=False):
    return {'port': port, 'proto': proto, 'from': source, 'service': service, 'comment': comment, 'limit': limit}


def _source_key(source):
    if source == ANY:
        return (0, 0, 0, 0)
    net = ipaddress.ip_network(source)
    return (1, net.version, int(net.network_address), net.prefixlen)


def _rule_key(rule):
    return (0 if rule['limit'] else 1, rule['port'], rule['proto'], _source_key(rule['from']), rule['service'], rule['comment'])


def _check_groups(groups):
    if not hasattr(groups, 'get') or not hasattr(groups, 'keys'):
        raise FirewallError('groups must be the inventory mapping of group name to host names (pass Ansible\'s '
                            '`groups`), got %s' % type(groups).__name__)


def _all_hosts(groups):
    if 'all' in groups:
        return list(groups['all'])
    seen = []
    for name in sorted(groups):
        for member in groups[name]:
            if member not in seen:
                seen.append(member)
    return seen


def _runs_on(host, group, groups):
    if group == 'all':
        return host in _all_hosts(groups)
    return group in groups and host in groups[group]


def _allow_from(entry, where):
    allow_from = entry.get('allow_from') or []
    if not isinstance(allow_from, (list, tuple)):
        raise FirewallError("%s.allow_from is %r; use a list of inventory group names or 'any'" % (where, allow_from))
    return allow_from


def _members(groups, group, where, owner):
    if not isinstance(group, str) or not group:
        raise FirewallError("%s is %r; use an inventory group name or 'any'" % (where, group))
    if group == 'all':
        return _all_hosts(groups)
    if group not in groups:
        known = ', '.join(sorted(g for g in groups if g not in ('all', 'ungrouped'))) or 'none'
        raise FirewallError("%s names group %r (for %s), which is not in the inventory (groups: %s); fix the name, "
                            "add the group to the inventory (it may be empty), or use 'any'" % (where, group, owner, known))
    return list(groups[group])


def _peer_address(peer, hostvars, network, cache, where):
    if peer in cache:
        return cache[peer]
    if peer not in hostvars:
        raise FirewallError('%s: host %s has no hostvars; it must be an inventory host' % (where, peer))
    try:
        address = internal_address(hostvars[peer], network)
    except TopologyError as exc:
        raise FirewallError('%s: cannot compute the internal address of %s: %s' % (where, peer, exc))
    try:
        address = str(ipaddress.ip_address(str(address)))
    except ValueError:
        raise FirewallError('%s: the internal address of %s is %r, not an IP address; fix bulwark_internal_address '
                            'or the facts of %s' % (where, peer, address, peer))
    cache[peer] = address
    return address


def _port(value, where):
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise FirewallError('%s is %r; use an integer port from 1 to 65535' % (where, value))
    return int(value)


def _proto(value, where):
    if value not in PROTOS:
        raise FirewallError("%s is %r; use 'tcp' or 'udp'" % (where, value))
    return str(value)


def _list(value, where):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise FirewallError('%s is %r; use a list (or [] for none)' % (where, value))
    return list(value)


def _source(value, where):
    """Normalise an address/CIDR/'any' source: 'any', a plain address, or a network without host bits."""
    if not isinstance(value, str) or not value.strip():
        raise FirewallError("%s is %r; use 'any', an IP address (203.0.113.7) or a CIDR network (10.0.0.0/8)"
                            % (where, value))
    text = value.strip()
    if text.lower() == ANY:
        return ANY
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            iface = ipaddress.ip_interface(text)
        except ValueError:
            raise FirewallError("%s is %r, not an IP address or CIDR network (%s); use 'any', an IP address "
                                "(203.0.113.7) or a CIDR network (10.0.0.0/8)" % (where, value, exc))
        raise FirewallError('%s is %r, which has host bits set; use the network %s, or %s for that single host'
                            % (where, value, iface.network, iface.ip))
    if net.num_addresses == 1:
        return str(net.network_address)
    return str(net)


def _admin_sources(admin_networks):
    networks = _list(admin_networks, 'firewall_admin_networks')
    if not networks:
        return [ANY]
    return [_source(value, 'firewall_admin_networks[%d]' % index) for index, value in enumerate(networks)]


def _extra_rule(extra, where, host, groups, hostvars, network, addresses):
    if not isinstance(extra, dict):
        raise FirewallError('%s is %r; use a mapping with keys %s' % (where, extra, ', '.join(EXTRA_RULE_KEYS)))
    unknown = sorted(str(k) for k in set(extra) - set(EXTRA_RULE_KEYS))
    if unknown:
        raise FirewallError('%s has unknown keys %s; allowed: %s' % (where, ', '.join(unknown), ', '.join(EXTRA_RULE_KEYS)))
    for key in ('port', 'from'):
        if key not in extra:
            raise FirewallError("%s.%s is missing; an extra rule needs port and from ('any', an IP address, a CIDR "
                                "network or group:<name>)" % (where, key))
    port = _port(extra['port'], where + '.port')
    proto = _proto(extra.get('proto', 'tcp'), where + '.proto')
    label = EXTRA_SERVICE
    if extra.get('comment') is not None:
        label = extra['comment']
        if (not isinstance(label, str) or not label.strip() or len(label) > MAX_COMMENT_LENGTH
                or _BAD_COMMENT.search(label)):
            raise FirewallError('%s.comment is %r; use a short single-line text (at most %d characters, no quotes or '
                                'backslashes), e.g. mosh' % (where, label, MAX_COMMENT_LENGTH))
        label = label.strip()
    source = extra['from']
    if isinstance(source, str) and source.strip().startswith(GROUP_PREFIX):
        group = source.strip()[len(GROUP_PREFIX):].strip()
        if not group:
            raise FirewallError('%s.from is %r; name the group after group:, e.g. group:monitoring' % (where, source))
        rules = []
        for peer in _members(groups, group, where + '.from', 'an extra rule'):
            if peer == host:
                continue
            address = _peer_address(peer, hostvars, network, addresses, where + '.from')
            rules.append(_rule(port, proto, address, EXTRA_SERVICE, comment_label(label, group)))
        return rules
    source = _source(source, where + '.from')
    return [_rule(port, proto, source, EXTRA_SERVICE, comment_label(label, source))]
