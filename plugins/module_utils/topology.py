# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack's topology, declared once: which service listens on which port, on which group, reachable from whom.

Pure Python (no Ansible objects) so unit tests call it directly. Roles read their listen ports from here, the
firewall derives its rules from here, validation checks it, and tests derive their reachability matrix from it.
Adding a service means adding one entry to DEFAULT_SERVICES (or to ``bulwark_services`` in an inventory).
"""

from __future__ import annotations

import copy
import ipaddress

# service name -> where it runs and who may reach it.
#   group: inventory group whose hosts run the service ('all' = every host)
#   port:  TCP/UDP port it listens on
#   proto: 'tcp' (default) or 'udp'
#   allow_from: inventory groups whose members may connect; 'any' = every address (public services)
DEFAULT_SERVICES = {
    'http': {'group': 'lb', 'port': 80, 'proto': 'tcp', 'allow_from': ['any']},
    'https': {'group': 'lb', 'port': 443, 'proto': 'tcp', 'allow_from': ['any']},
    'app': {'group': 'app', 'port': 8000, 'proto': 'tcp', 'allow_from': ['lb']},
    'pgbouncer': {'group': 'pgbouncer', 'port': 6432, 'proto': 'tcp', 'allow_from': ['app']},
    'postgresql': {'group': 'postgres', 'port': 5432, 'proto': 'tcp', 'allow_from': ['pgbouncer', 'postgres']},
    'redis': {'group': 'redis', 'port': 6379, 'proto': 'tcp', 'allow_from': ['app', 'redis']},
    'redis_sentinel': {'group': 'redis', 'port': 26379, 'proto': 'tcp', 'allow_from': ['app', 'redis']},
    'node_exporter': {'group': 'all', 'port': 9100, 'proto': 'tcp', 'allow_from': ['monitoring']},
    'prometheus': {'group': 'monitoring', 'port': 9090, 'proto': 'tcp', 'allow_from': ['monitoring']},
    'alertmanager': {'group': 'monitoring', 'port': 9093, 'proto': 'tcp', 'allow_from': ['monitoring']},
    # Metrics of the load balancers (nginx's stub status through prometheus-nginx-exporter, or HAProxy's built-in
    # exporter) and of the app, each over TLS with basic auth, for Prometheus.
    'lb_metrics': {'group': 'lb', 'port': 9113, 'proto': 'tcp', 'allow_from': ['monitoring']},
    'app_metrics': {'group': 'app', 'port': 8001, 'proto': 'tcp', 'allow_from': ['monitoring']},
    'postgres_exporter': {'group': 'postgres', 'port': 9187, 'proto': 'tcp', 'allow_from': ['monitoring']},
    'redis_exporter': {'group': 'redis', 'port': 9121, 'proto': 'tcp', 'allow_from': ['monitoring']},
    'pgbouncer_exporter': {'group': 'pgbouncer', 'port': 9127, 'proto': 'tcp', 'allow_from': ['monitoring']},
    # pgBackRest's TLS server: on the repository host for the database hosts (archive-push, restore), and on the
    # database hosts for the repository host (backups read the data directory through it).
    'pgbackrest': {'group': 'backup', 'port': 8432, 'proto': 'tcp', 'allow_from': ['postgres']},
    'pgbackrest_pg': {'group': 'postgres', 'port': 8432, 'proto': 'tcp', 'allow_from': ['backup']},
}

SERVICE_KEYS = ('group', 'port', 'proto', 'allow_from')


class TopologyError(ValueError):
    """Bad topology input; the message names the variable, the problem and the fix."""


def services(overrides=None):
    """Return the effective service table: DEFAULT_SERVICES with ``overrides`` (bulwark_services) merged per service.

    An override entry may change some keys of a known service, or add a new service (then 'group' and 'port' are
    required). Setting a service to None removes it.
    """
    table = copy.deepcopy(DEFAULT_SERVICES)
    if overrides is None:
        return table
    if not isinstance(overrides, dict):
        raise TopologyError('bulwark_services must be a mapping of service name to settings, got %s; '
                            'see plugins/module_utils/topology.py for the shape' % type(overrides).__name__)
    for name, entry in overrides.items():
        if entry is None:
            table.pop(name, None)
            continue
        if not isinstance(entry, dict):
            raise TopologyError('bulwark_services.%s must be a mapping with keys %s, got %r'
                                % (name, ', '.join(SERVICE_KEYS), entry))
        unknown = sorted(set(entry) - set(SERVICE_KEYS))
        if unknown:
            raise TopologyError('bulwark_services.%s has unknown keys %s; allowed: %s'
                                % (name, ', '.join(unknown), ', '.join(SERVICE_KEYS)))
        merged = dict(table.get(name, {'proto': 'tcp', 'allow_from': []}))
        merged.update(entry)
        _check_service(name, merged)
        table[name] = merged
    return table


def _check_service(name, entry):
    where = 'bulwark_services.%s' % name
    for key in ('group', 'port'):
        if key not in entry:
            raise TopologyError('%s.%s is missing; a new service needs group and port' % (where, key))
    port = entry['port']
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise TopologyError('%s.port is %r; use an integer from 1 to 65535' % (where, port))
    if entry['proto'] not in ('tcp', 'udp'):
        raise TopologyError("%s.proto is %r; use 'tcp' or 'udp'" % (where, entry['proto']))
    if not isinstance(entry['allow_from'], list) or not all(isinstance(g, str) for g in entry['allow_from']):
        raise TopologyError("%s.allow_from is %r; use a list of inventory group names or 'any'"
                            % (where, entry['allow_from']))


def service_port(name, overrides=None):
    """The port of service ``name`` in the effective table."""
    table = services(overrides)
    if name not in table:
        raise TopologyError('unknown service %r; known services: %s' % (name, ', '.join(sorted(table))))
    return table[name]['port']


def internal_address(hostvars, network=None):
    """The address a host's services bind to and firewall rules name, computed in this one place.

    Precedence: the host's ``bulwark_internal_address`` (operator override); else its first IPv4 address inside
    ``network`` (``bulwark_internal_network``, a CIDR); else the address of its default IPv4 route.
    ``hostvars`` is the host's variables (facts included).
    """
    override = hostvars.get('bulwark_internal_address')
    if override:
        return str(ipaddress.ip_address(str(override)))
    if network:
        try:
            net = ipaddress.ip_network(str(network), strict=False)
        except ValueError as exc:
            raise TopologyError('bulwark_internal_network %r is not a CIDR network (%s); use e.g. 10.0.0.0/24'
                                % (network, exc))
        for addr in hostvars.get('ansible_all_ipv4_addresses') or []:
            if ipaddress.ip_address(addr) in net:
                return addr
        raise TopologyError('host %s has no IPv4 address inside bulwark_internal_network %s (it has %s); set '
                            'bulwark_internal_address for it or fix the network'
                            % (hostvars.get('inventory_hostname', '?'), net,
                               ', '.join(hostvars.get('ansible_all_ipv4_addresses') or []) or 'none'))
    default = (hostvars.get('ansible_default_ipv4') or {}).get('address')
    if not default:
        raise TopologyError('host %s has no default IPv4 address in its facts; gather facts first or set '
                            'bulwark_internal_address' % hostvars.get('inventory_hostname', '?'))
    return default
