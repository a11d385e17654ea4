"""Unit tests for the topology table and the internal-address rule."""

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils import topology


def test_defaults_cover_the_stack():
    table = topology.services()
    assert table['node_exporter'] == {'group': 'all', 'port': 9100, 'proto': 'tcp', 'allow_from': ['monitoring']}
    assert table['pgbouncer']['allow_from'] == ['app']
    assert {s['port'] for s in table.values()} >= {80, 443, 5432, 6432, 6379, 26379, 9100}


def test_defaults_are_not_mutated_by_callers():
    topology.services()['redis']['port'] = 1
    assert topology.DEFAULT_SERVICES['redis']['port'] == 6379


def test_override_merges_per_key_adds_and_removes():
    table = topology.services({
        'node_exporter': {'port': 9110},
        'memcached': {'group': 'app', 'port': 11211, 'allow_from': ['app']},
        'http': None,
    })
    assert table['node_exporter'] == {'group': 'all', 'port': 9110, 'proto': 'tcp', 'allow_from': ['monitoring']}
    assert table['memcached']['proto'] == 'tcp'
    assert 'http' not in table
    assert topology.service_port('node_exporter', {'node_exporter': {'port': 9110}}) == 9110


@pytest.mark.parametrize('overrides, fragment', [
    ([], 'bulwark_services must be a mapping'),
    ({'redis': 6380}, 'bulwark_services.redis must be a mapping'),
    ({'redis': {'prot': 'tcp'}}, 'bulwark_services.redis has unknown keys prot'),
    ({'redis': {'port': 0}}, 'bulwark_services.redis.port is 0'),
    ({'redis': {'port': '6379'}}, "bulwark_services.redis.port is '6379'"),
    ({'redis': {'port': True}}, 'bulwark_services.redis.port is True'),
    ({'redis': {'proto': 'sctp'}}, "bulwark_services.redis.proto is 'sctp'"),
    ({'redis': {'allow_from': 'app'}}, "bulwark_services.redis.allow_from is 'app'"),
    ({'new': {'port': 1234}}, 'bulwark_services.new.group is missing'),
])
def test_bad_overrides_name_the_variable(overrides, fragment):
    with pytest.raises(topology.TopologyError, match=fragment.replace('.', r'\.')):
        topology.services(overrides)


def test_unknown_service_port():
    with pytest.raises(topology.TopologyError, match="unknown service 'nope'"):
        topology.service_port('nope')


FACTS = {
    'inventory_hostname': 'app1',
    'ansible_default_ipv4': {'address': '192.0.2.10'},
    'ansible_all_ipv4_addresses': ['192.0.2.10', '10.20.0.5'],
}


def test_internal_address_precedence():
    assert topology.internal_address(FACTS) == '192.0.2.10'
    assert topology.internal_address(FACTS, '10.20.0.0/24') == '10.20.0.5'
    assert topology.internal_address(dict(FACTS, bulwark_internal_address='10.9.9.9'), '10.20.0.0/24') == '10.9.9.9'


@pytest.mark.parametrize('hostvars, network, fragment', [
    (FACTS, '10.30.0.0/24', 'host app1 has no IPv4 address inside bulwark_internal_network 10.30.0.0/24'),
    (FACTS, 'not-a-net', "bulwark_internal_network 'not-a-net' is not a CIDR"),
    ({'inventory_hostname': 'x'}, None, 'host x has no default IPv4 address'),
])
def test_internal_address_errors(hostvars, network, fragment):
    with pytest.raises(topology.TopologyError, match=fragment):
        topology.internal_address(hostvars, network)


def test_internal_address_override_must_be_an_ip():
    with pytest.raises(ValueError):
        topology.internal_address({'bulwark_internal_address': 'db.example'})
