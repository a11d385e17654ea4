# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall_rules filter adapter: registration, pass-through, hostvars access and error conversion."""

from __future__ import absolute_import, division, print_function

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.filter import firewall_rules as filter_plugin
from ansible_collections.bulwark.stack.plugins.module_utils.firewall import firewall_rules as derive
from ansible_collections.bulwark.stack.plugins.module_utils.topology import services

__metaclass__ = type

GROUPS = {
    'all': ['lb1', 'app1', 'db1', 'mon1'],
    'ungrouped': [],
    'lb': ['lb1'],
    'app': ['app1'],
    'postgres': ['db1'],
    'pgbouncer': ['db1'],
    'redis': [],
    'monitoring': ['mon1'],
    'backup': ['mon1'],
}
ADDRESSES = {'lb1': '172.30.90.10', 'app1': '172.30.90.21', 'db1': '172.30.90.31', 'mon1': '172.30.90.50'}


def _hostvars():
    return {
        host: {
            'inventory_hostname': host,
            'ansible_default_ipv4': {'address': address},
            'ansible_all_ipv4_addresses': [address],
            'unrelated_secret': 'never read',
        }
        for host, address in ADDRESSES.items()
    }


def _filter():
    return filter_plugin.FilterModule().filters()['firewall_rules']


def test_filter_is_registered():
    filters = filter_plugin.FilterModule().filters()
    assert 'firewall_rules' in filters
    assert callable(filters['firewall_rules'])


def test_filter_works_with_plain_dicts_and_role_defaults():
    hostvars = _hostvars()
    result = _filter()('db1', GROUPS, hostvars, {}, network='', extra_rules=[], admin_networks=[])
    assert result == derive('db1', GROUPS, hostvars, services())
    assert [(r['port'], r['from'], r['comment']) for r in result] == [
        (22, 'any', 'bulwark: ssh from any'),
        (6432, '172.30.90.21', 'bulwark: pgbouncer from app'),
        (8432, '172.30.90.50', 'bulwark: pgbackrest_pg from backup'),
        (9100, '172.30.90.50', 'bulwark: node_exporter from monitoring'),
        (9127, '172.30.90.50', 'bulwark: pgbouncer_exporter from monitoring'),
        (9187, '172.30.90.50', 'bulwark: postgres_exporter from monitoring'),
    ]


def test_filter_passes_overrides_and_options():
    overrides = {'pgbouncer': {'port': 6433}, 'node_exporter': None}
    result = _filter()('db1', GROUPS, _hostvars(), overrides, network='172.30.90.0/24',
                       extra_rules=[{'port': 9199, 'from': 'group:monitoring'}], admin_networks=['10.8.0.0/24'], ssh_port=2222)
    assert [(r['port'], r['from'], r['limit'], r['comment']) for r in result] == [
        (2222, '10.8.0.0/24', True, 'bulwark: ssh from 10.8.0.0/24'),
        (6433, '172.30.90.21', False, 'bulwark: pgbouncer from app'),
        (8432, '172.30.90.50', False, 'bulwark: pgbackrest_pg from backup'),
        (9127, '172.30.90.50', False, 'bulwark: pgbouncer_exporter from monitoring'),
        (9187, '172.30.90.50', False, 'bulwark: postgres_exporter from monitoring'),
        (9199, '172.30.90.50', False, 'bulwark: extra from monitoring'),
    ]


def test_filter_reads_only_the_address_keys_of_peer_hosts():
    read = []

    class HostVarsVars(dict):
        def __getitem__(self, key):
            read.append(key)
            return dict.__getitem__(self, key)

    class HostVars(dict):
        def __getitem__(self, host):
            read.append(host)
            return HostVarsVars(dict.__getitem__(self, host))

    _filter()('app1', GROUPS, HostVars(_hostvars()))
    assert 'unrelated_secret' not in read
    assert {'lb1', 'mon1'} <= set(read) and not {'app1', 'db1'} & set(read)


@pytest.mark.parametrize('args, kwargs, variable', [
    ((), {'admin_networks': ['10.8.0.1/24']}, 'firewall_admin_networks[0]'),
    ((), {'extra_rules': [{'port': 80}, {'port': 0, 'from': 'any'}]}, 'firewall_extra_rules[0].from'),
    (({'redis': {'allow_from': ['cache']}},), {}, None),
    (({'pgbouncer': {'allow_from': ['cache']}},), {}, 'bulwark_services.pgbouncer.allow_from[0]'),
    (({'pgbouncer': {'port': 70000}},), {}, 'bulwark_services.pgbouncer.port'),
    ((), {'network': 'not-a-network'}, 'bulwark_internal_network'),
])
def test_errors_become_ansible_filter_error(args, kwargs, variable):
    if variable is None:  # redis runs nowhere on db1: its allow_from is not checked there
        _filter()('db1', GROUPS, _hostvars(), *args, **kwargs)
        return
    with pytest.raises(AnsibleFilterError) as excinfo:
        _filter()('db1', GROUPS, _hostvars(), *args, **kwargs)
    assert str(excinfo.value).startswith('firewall_rules: ')
    assert variable in str(excinfo.value)


def test_documentation_is_valid_yaml():
    doc = yaml.safe_load(filter_plugin.DOCUMENTATION)
    assert doc['name'] == 'firewall_rules'
    assert str(doc['version_added']) == '0.1.0'
    assert doc['author'] == 'bulwark.stack maintainers'
    assert set(doc['options']) == {'_input', 'groups', 'hostvars', 'services', 'network', 'extra_rules', 'admin_networks', 'ssh_port'}
    for option in doc['options'].values():
        assert {'type', 'description', 'required'} <= set(option)
    assert yaml.safe_load(filter_plugin.EXAMPLES)
    returned = yaml.safe_load(filter_plugin.RETURN)['_value']
    assert returned['type'] == 'list'
    assert set(returned['contains']) == {'port', 'proto', 'from', 'service', 'limit', 'comment'}
