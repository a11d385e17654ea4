# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ufw rules and the reachability matrix derived from the topology, on the lab inventory.

The expected rule lists are written out literally (not derived from DEFAULT_SERVICES) so a wrong edit of the
topology or of the derivation is caught.
"""

from __future__ import absolute_import, division, print_function

import copy

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.firewall import (
    COMMENT_PREFIX,
    FirewallError,
    firewall_rules,
    reachability_matrix,
)
from ansible_collections.bulwark.stack.plugins.module_utils.topology import services

__metaclass__ = type

# inventories/lab/hosts.yml, with default IPv4 addresses in the lab subnet
LAB_ADDRESSES = {
    'lb1': '172.30.90.10',
    'app1': '172.30.90.21',
    'app2': '172.30.90.22',
    'app3': '172.30.90.23',
    'db1': '172.30.90.31',
    'redis1': '172.30.90.41',
    'redis2': '172.30.90.42',
    'redis3': '172.30.90.43',
    'mon1': '172.30.90.50',
}
LAB_GROUPS = {
    'lb': ['lb1'],
    'app': ['app1', 'app2', 'app3'],
    'postgres': ['db1'],
    'pgbouncer': ['db1'],
    'redis': ['redis1', 'redis2', 'redis3'],
    'monitoring': ['mon1'],
    'backup': ['mon1'],
}

LB1, APP1, APP2, APP3, DB1 = '172.30.90.10', '172.30.90.21', '172.30.90.22', '172.30.90.23', '172.30.90.31'
REDIS1, REDIS2, REDIS3, MON1 = '172.30.90.41', '172.30.90.42', '172.30.90.43', '172.30.90.50'


def inventory(groups=None, addresses=None):
    """Ansible-like ``groups`` (with 'all' and 'ungrouped') and ``hostvars`` with default-route facts."""
    groups = copy.deepcopy(LAB_GROUPS if groups is None else groups)
    addresses = dict(LAB_ADDRESSES if addresses is None else addresses)
    everyone = []
    for members in groups.values():
        for host in members:
            if host not in everyone:
                everyone.append(host)
    groups['all'] = everyone
    groups['ungrouped'] = []
    hostvars = {}
    for host in everyone:
        hostvars[host] = {
            'inventory_hostname': host,
            'ansible_default_ipv4': {'address': addresses[host], 'interface': 'eth0'},
            'ansible_all_ipv4_addresses': [addresses[host]],
        }
    return groups, hostvars


def rules_for(host, groups=None, hostvars=None, overrides=None, **kwargs):
    if groups is None:
        groups, hostvars = inventory()
    return firewall_rules(host, groups, hostvars, services(overrides), **kwargs)


def ssh(source='any', port=22):
    return {'port': port, 'proto': 'tcp', 'from': source, 'service': 'ssh', 'limit': True, 'comment': 'bulwark: ssh from %s' % source}


def allow(port, source, service, group, proto='tcp'):
    return {'port': port, 'proto': proto, 'from': source, 'service': service, 'limit': False,
            'comment': 'bulwark: %s from %s' % (service, group)}


def extra(port, source, label, from_label, proto='tcp'):
    return {'port': port, 'proto': proto, 'from': source, 'service': 'extra', 'limit': False,
            'comment': 'bulwark: %s from %s' % (label, from_label)}


EXPECTED = {
    'lb1': [
        ssh(),
        allow(80, 'any', 'http', 'any'),
        allow(443, 'any', 'https', 'any'),
        allow(9100, MON1, 'node_exporter', 'monitoring'),
        allow(9113, MON1, 'lb_metrics', 'monitoring'),
    ],
    'app1': [
        ssh(),
        allow(8000, LB1, 'app', 'lb'),
        allow(8001, MON1, 'app_metrics', 'monitoring'),
        allow(9100, MON1, 'node_exporter', 'monitoring'),
    ],
    'db1': [
        ssh(),
        # postgresql (5432) is allowed from pgbouncer and postgres, whose only member is db1 itself: no rule
        allow(6432, APP1, 'pgbouncer', 'app'),
        allow(6432, APP2, 'pgbouncer', 'app'),
        allow(6432, APP3, 'pgbouncer', 'app'),
        allow(8432, MON1, 'pgbackrest_pg', 'backup'),
        allow(9100, MON1, 'node_exporter', 'monitoring'),
        allow(9127, MON1, 'pgbouncer_exporter', 'monitoring'),
        allow(9187, MON1, 'postgres_exporter', 'monitoring'),
    ],
    'redis2': [
        ssh(),
        allow(6379, APP1, 'redis', 'app'),
        allow(6379, APP2, 'redis', 'app'),
        allow(6379, APP3, 'redis', 'app'),
        allow(6379, REDIS1, 'redis', 'redis'),
        allow(6379, REDIS3, 'redis', 'redis'),
        allow(9100, MON1, 'node_exporter', 'monitoring'),
        allow(9121, MON1, 'redis_exporter', 'monitoring'),
        allow(26379, APP1, 'redis_sentinel', 'app'),
        allow(26379, APP2, 'redis_sentinel', 'app'),
        allow(26379, APP3, 'redis_sentinel', 'app'),
        allow(26379, REDIS1, 'redis_sentinel', 'redis'),
        allow(26379, REDIS3, 'redis_sentinel', 'redis'),
    ],
    # node_exporter on mon1 is allowed from monitoring = mon1 itself: SSH, and pgBackRest's repository for db1
    'mon1': [
        ssh(),
        allow(8432, DB1, 'pgbackrest', 'postgres'),
    ],
}


def all_rules(groups, hostvars, overrides=None, **kwargs):
    return {host: firewall_rules(host, groups, hostvars, services(overrides), **kwargs) for host in groups['all']}


def rule_set(rules):
    return {(r['port'], r['proto'], r['from'], r['service'], r['comment']) for r in rules}


# ---------------------------------------------------------------------------------------------------------------
# the lab topology
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('host', sorted(EXPECTED))
def test_lab_rules_are_exact(host):
    assert rules_for(host) == EXPECTED[host]


@pytest.mark.parametrize('host', ['app2', 'app3', 'redis1', 'redis3'])
def test_lab_rules_of_the_other_members_mirror_their_peers(host):
    rules = rules_for(host)
    if host.startswith('app'):
        assert rules == EXPECTED['app1']
    else:
        own = LAB_ADDRESSES[host]
        assert own not in {r['from'] for r in rules}
        assert {r['from'] for r in rules if r['port'] == 6379} == {APP1, APP2, APP3, REDIS1, REDIS2, REDIS3} - {own}


def test_rules_are_sorted_unique_ssh_first_and_labelled():
    groups, hostvars = inventory()
    for host, rules in all_rules(groups, hostvars, admin_networks=['10.8.0.0/24', '192.0.2.0/24']).items():
        assert rules[0]['service'] == 'ssh' and rules[1]['service'] == 'ssh', host
        assert all(r['limit'] for r in rules[:2]) and not any(r['limit'] for r in rules[2:]), host
        keys = [(r['port'], r['proto'], r['from']) for r in rules]
        assert len(keys) == len(set(keys)), host
        assert [r['port'] for r in rules[2:]] == sorted(r['port'] for r in rules[2:]), host
        for rule in rules:
            assert set(rule) == {'port', 'proto', 'from', 'service', 'limit', 'comment'}
            assert rule['comment'].startswith(COMMENT_PREFIX)
            assert rule['comment'] == 'bulwark: %s from %s' % (rule['service'], rule['comment'].split(' from ')[1])


def test_no_host_gets_a_rule_from_itself():
    groups, hostvars = inventory()
    overrides = {'postgresql': {'allow_from': ['pgbouncer', 'postgres', 'all']}}
    for host, rules in all_rules(groups, hostvars, overrides).items():
        assert LAB_ADDRESSES[host] not in {r['from'] for r in rules}, host


def test_a_host_in_several_allow_from_groups_gets_one_rule_labelled_with_the_first_group():
    groups = dict(LAB_GROUPS, postgres=['db1', 'db2'], pgbouncer=['db1', 'db2'])
    groups, hostvars = inventory(groups, dict(LAB_ADDRESSES, db2='172.30.90.32'))
    rules = [r for r in rules_for('db1', groups, hostvars) if r['port'] == 5432]
    assert rules == [allow(5432, '172.30.90.32', 'postgresql', 'pgbouncer')]


def test_any_and_group_sources_of_the_same_port_are_both_kept():
    rules = rules_for('lb1', overrides={'http': {'allow_from': ['any', 'monitoring']}})
    assert [r for r in rules if r['port'] == 80] == [allow(80, 'any', 'http', 'any'), allow(80, MON1, 'http', 'monitoring')]


# ---------------------------------------------------------------------------------------------------------------
# adding and removing hosts
# ---------------------------------------------------------------------------------------------------------------

def test_adding_an_app_host_adds_exactly_its_rules_on_its_peers():
    groups, hostvars = inventory()
    before = all_rules(groups, hostvars)
    groups, hostvars = inventory(dict(LAB_GROUPS, app=['app1', 'app2', 'app3', 'app4']), dict(LAB_ADDRESSES, app4='172.30.90.24'))
    after = all_rules(groups, hostvars)
    app4 = '172.30.90.24'
    added = {host: rule_set(after[host]) - rule_set(before.get(host, [])) for host in after}
    removed = {host: rule_set(before[host]) - rule_set(after[host]) for host in before}
    assert not any(removed.values())
    assert added.pop('app4') == rule_set(EXPECTED['app1'])
    assert added == {
        'lb1': set(), 'app1': set(), 'app2': set(), 'app3': set(), 'mon1': set(),
        'db1': {(6432, 'tcp', app4, 'pgbouncer', 'bulwark: pgbouncer from app')},
        'redis1': {(6379, 'tcp', app4, 'redis', 'bulwark: redis from app'),
                   (26379, 'tcp', app4, 'redis_sentinel', 'bulwark: redis_sentinel from app')},
        'redis2': {(6379, 'tcp', app4, 'redis', 'bulwark: redis from app'),
                   (26379, 'tcp', app4, 'redis_sentinel', 'bulwark: redis_sentinel from app')},
        'redis3': {(6379, 'tcp', app4, 'redis', 'bulwark: redis from app'),
                   (26379, 'tcp', app4, 'redis_sentinel', 'bulwark: redis_sentinel from app')},
    }


def test_removing_a_redis_host_removes_exactly_its_rules_on_its_peers():
    groups, hostvars = inventory()
    before = all_rules(groups, hostvars)
    groups, hostvars = inventory(dict(LAB_GROUPS, redis=['redis1', 'redis2']))
    after = all_rules(groups, hostvars)
    assert set(after) == set(before) - {'redis3'}
    assert all(rule_set(after[host]) <= rule_set(before[host]) for host in after)
    removed = {host: rule_set(before[host]) - rule_set(after[host]) for host in after}
    gone = {(6379, 'tcp', REDIS3, 'redis', 'bulwark: redis from redis'),
            (26379, 'tcp', REDIS3, 'redis_sentinel', 'bulwark: redis_sentinel from redis')}
    assert removed == {'lb1': set(), 'app1': set(), 'app2': set(), 'app3': set(), 'db1': set(), 'mon1': set(),
                       'redis1': gone, 'redis2': gone}


def test_an_added_monitoring_host_is_allowed_on_every_host_including_the_first_one():
    groups, hostvars = inventory(dict(LAB_GROUPS, monitoring=['mon1', 'mon2']), dict(LAB_ADDRESSES, mon2='172.30.90.51'))
    rules = all_rules(groups, hostvars)
    for host, host_rules in rules.items():
        sources = {r['from'] for r in host_rules if r['port'] == 9100}
        assert sources == {MON1, '172.30.90.51'} - {hostvars[host]['ansible_default_ipv4']['address']}, host


def test_an_empty_group_gives_no_rules_and_no_error():
    groups, hostvars = inventory(dict(LAB_GROUPS, monitoring=[]))
    assert rules_for('lb1', groups, hostvars) == [ssh(), allow(80, 'any', 'http', 'any'), allow(443, 'any', 'https', 'any')]


def test_a_service_whose_group_is_missing_runs_nowhere():
    groups = {k: v for k, v in LAB_GROUPS.items() if k != 'redis'}
    groups, hostvars = inventory(groups)
    for host, rules in all_rules(groups, hostvars).items():
        assert not {6379, 26379} & {r['port'] for r in rules}, host


# ---------------------------------------------------------------------------------------------------------------
# addresses
# ---------------------------------------------------------------------------------------------------------------

def test_network_picks_the_internal_address_of_each_peer():
    groups, hostvars = inventory(addresses={h: '203.0.113.%d' % (i + 1) for i, h in enumerate(LAB_ADDRESSES)})
    for host, address in LAB_ADDRESSES.items():
        hostvars[host]['ansible_all_ipv4_addresses'] = [hostvars[host]['ansible_default_ipv4']['address'],
                                                        address.replace('172.30.90.', '10.10.0.')]
    rules = rules_for('db1', groups, hostvars, network='10.10.0.0/24')
    assert [r['from'] for r in rules] == ['any', '10.10.0.21', '10.10.0.22', '10.10.0.23'] + ['10.10.0.50'] * 4


def test_bulwark_internal_address_overrides_the_facts():
    groups, hostvars = inventory()
    hostvars['mon1']['bulwark_internal_address'] = '10.99.0.5'
    hostvars['lb1']['bulwark_internal_address'] = '10.99.0.1'
    assert rules_for('app1', groups, hostvars) == [ssh(), allow(8000, '10.99.0.1', 'app', 'lb'),
                                                   allow(8001, '10.99.0.5', 'app_metrics', 'monitoring'),
                                                   allow(9100, '10.99.0.5', 'node_exporter', 'monitoring')]


def test_only_peer_hostvars_are_read():
    groups, hostvars = inventory()
    read = []

    class Recording(dict):
        def __getitem__(self, host):
            read.append(host)
            return dict.__getitem__(self, host)

    rules_for('db1', groups, Recording(hostvars))
    assert sorted(set(read)) == ['app1', 'app2', 'app3', 'mon1']


# ---------------------------------------------------------------------------------------------------------------
# SSH and admin networks
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('admin_networks, expected', [
    (None, [ssh()]),
    ([], [ssh()]),
    (['10.8.0.0/24'], [ssh('10.8.0.0/24')]),
    (['192.0.2.7/32', '10.8.0.0/24', '2001:db8::/32', '10.8.0.0/24'], [ssh('10.8.0.0/24'), ssh('192.0.2.7'), ssh('2001:db8::/32')]),
    (['203.0.113.9', ' ANY '], [ssh('any'), ssh('203.0.113.9')]),
])
def test_admin_networks_restrict_ssh(admin_networks, expected):
    rules = rules_for('mon1', admin_networks=admin_networks)
    assert rules == expected + [allow(8432, DB1, 'pgbackrest', 'postgres')]


def test_ssh_port_is_used_and_ssh_wins_over_an_equal_extra_rule():
    rules = rules_for('mon1', ssh_port='2222', extra_rules=[{'port': 2222, 'from': 'any'}])
    assert rules == [ssh(port=2222), allow(8432, DB1, 'pgbackrest', 'postgres')]


# ---------------------------------------------------------------------------------------------------------------
# extra rules
# ---------------------------------------------------------------------------------------------------------------

def test_extra_rules():
    extra_rules = [
        {'port': 60001, 'proto': 'udp', 'from': '10.8.0.0/24', 'comment': 'mosh'},
        {'port': 9199, 'from': 'group:monitoring'},
        {'port': 8443, 'from': 'any', 'comment': 'admin ui'},
        {'port': 6432, 'from': 'group:app', 'comment': 'duplicate of pgbouncer'},
        {'port': '5432', 'from': '198.51.100.4/32'},
        {'port': 5432, 'from': 'group:postgres'},
    ]
    assert rules_for('db1', extra_rules=extra_rules) == [
        ssh(),
        extra(5432, '198.51.100.4', 'extra', '198.51.100.4'),
        allow(6432, APP1, 'pgbouncer', 'app'),
        allow(6432, APP2, 'pgbouncer', 'app'),
        allow(6432, APP3, 'pgbouncer', 'app'),
        allow(8432, MON1, 'pgbackrest_pg', 'backup'),
        extra(8443, 'any', 'admin ui', 'any'),
        allow(9100, MON1, 'node_exporter', 'monitoring'),
        allow(9127, MON1, 'pgbouncer_exporter', 'monitoring'),
        allow(9187, MON1, 'postgres_exporter', 'monitoring'),
        extra(9199, MON1, 'extra', 'monitoring'),
        extra(60001, '10.8.0.0/24', 'mosh', '10.8.0.0/24', proto='udp'),
    ]


def test_extra_group_rule_skips_the_host_itself():
    assert rules_for('mon1', extra_rules=[{'port': 9090, 'from': 'group:monitoring'}]) == EXPECTED['mon1']


# ---------------------------------------------------------------------------------------------------------------
# bulwark_services overrides
# ---------------------------------------------------------------------------------------------------------------

def test_override_changes_a_port():
    rules = rules_for('redis2', overrides={'redis': {'port': 6380}})
    assert {r['port'] for r in rules} == {22, 6380, 9100, 9121, 26379}
    assert [r for r in rules if r['port'] == 6380] == [dict(r, port=6380) for r in EXPECTED['redis2'] if r['port'] == 6379]


def test_override_adds_a_service():
    overrides = {
        'custom_exporter': {'group': 'postgres', 'port': 9199, 'allow_from': ['monitoring']},
        'syslog': {'group': 'monitoring', 'port': 514, 'proto': 'udp', 'allow_from': ['all']},
    }
    assert rules_for('db1', overrides=overrides) == EXPECTED['db1'] + [allow(9199, MON1, 'custom_exporter', 'monitoring')]
    assert rules_for('mon1', overrides=overrides) == [ssh()] + [
        allow(514, LAB_ADDRESSES[h], 'syslog', 'all', proto='udp') for h in ('lb1', 'app1', 'app2', 'app3', 'db1', 'redis1', 'redis2', 'redis3')
    ] + [allow(8432, DB1, 'pgbackrest', 'postgres')]


def test_override_removes_a_service():
    rules = rules_for('redis2', overrides={'redis_sentinel': None, 'node_exporter': None})
    assert rules == [r for r in EXPECTED['redis2'] if r['port'] in (22, 6379, 9121)]


def test_override_changes_allow_from():
    rules = rules_for('app1', overrides={'app': {'allow_from': ['any']}})
    assert rules == [ssh(), allow(8000, 'any', 'app', 'any'), allow(8001, MON1, 'app_metrics', 'monitoring'),
                     allow(9100, MON1, 'node_exporter', 'monitoring')]


# ---------------------------------------------------------------------------------------------------------------
# errors: each names the variable, the value and the fix
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, variable, value', [
    ({'admin_networks': ['10.0.0.300/24']}, 'firewall_admin_networks[0]', '10.0.0.300/24'),
    ({'admin_networks': ['10.8.0.0/24', 'office']}, 'firewall_admin_networks[1]', 'office'),
    ({'admin_networks': ['10.8.0.1/24']}, 'firewall_admin_networks[0]', '10.8.0.0/24'),
    ({'admin_networks': [None]}, 'firewall_admin_networks[0]', 'None'),
    ({'admin_networks': '10.8.0.0/24'}, 'firewall_admin_networks', '10.8.0.0/24'),
    ({'ssh_port': 0}, 'firewall_ssh_port', '0'),
    ({'ssh_port': 65536}, 'firewall_ssh_port', '65536'),
    ({'ssh_port': True}, 'firewall_ssh_port', 'True'),
    ({'ssh_port': 'ssh'}, 'firewall_ssh_port', 'ssh'),
    ({'extra_rules': {'port': 80}}, 'firewall_extra_rules', '80'),
    ({'extra_rules': ['80/tcp']}, 'firewall_extra_rules[0]', '80/tcp'),
    ({'extra_rules': [{'port': 80, 'from': 'any'}, {'port': 0, 'from': 'any'}]}, 'firewall_extra_rules[1].port', '0'),
    ({'extra_rules': [{'port': 70000, 'from': 'any'}]}, 'firewall_extra_rules[0].port', '70000'),
    ({'extra_rules': [{'port': '80:90', 'from': 'any'}]}, 'firewall_extra_rules[0].port', '80:90'),
    ({'extra_rules': [{'from': 'any'}]}, 'firewall_extra_rules[0].port', 'missing'),
    ({'extra_rules': [{'port': 80}]}, 'firewall_extra_rules[0].from', 'missing'),
    ({'extra_rules': [{'port': 80, 'from': 'any', 'proto': 'icmp'}]}, 'firewall_extra_rules[0].proto', 'icmp'),
    ({'extra_rules': [{'port': 80, 'from': 'any', 'to': 'any'}]}, 'firewall_extra_rules[0]', 'to'),
    ({'extra_rules': [{'port': 80, 'from': 'any'}, {'port': 81, 'from': 'any'}, {'port': 82, 'from': '10.0.0.0/33'}]},
     'firewall_extra_rules[2].from', '10.0.0.0/33'),
    ({'extra_rules': [{'port': 80, 'from': '203.0.113.9/24'}]}, 'firewall_extra_rules[0].from', '203.0.113.0/24'),
    ({'extra_rules': [{'port': 80, 'from': 'group:nope'}]}, 'firewall_extra_rules[0].from', 'nope'),
    ({'extra_rules': [{'port': 80, 'from': 'group:'}]}, 'firewall_extra_rules[0].from', 'group:'),
    ({'extra_rules': [{'port': 80, 'from': 'any', 'comment': "it's"}]}, 'firewall_extra_rules[0].comment', "it's"),
    ({'extra_rules': [{'port': 80, 'from': 'any', 'comment': 'a\nb'}]}, 'firewall_extra_rules[0].comment', 'a\\nb'),
    ({'extra_rules': [{'port': 80, 'from': 'any', 'comment': 'x' * 65}]}, 'firewall_extra_rules[0].comment', 'xxxx'),
])
def test_invalid_firewall_input(kwargs, variable, value):
    with pytest.raises(FirewallError) as excinfo:
        rules_for('db1', **kwargs)
    message = str(excinfo.value)
    assert message.startswith(variable + ' ') or message.startswith(variable + ':'), message
    assert value in message


def test_allow_from_group_missing_from_the_inventory():
    with pytest.raises(FirewallError) as excinfo:
        rules_for('redis1', overrides={'redis': {'allow_from': ['app', 'cache']}})
    message = str(excinfo.value)
    assert message.startswith('bulwark_services.redis.allow_from[1] ')
    assert "'cache'" in message and 'service redis' in message and 'add the group to the inventory' in message


def test_a_missing_allow_from_group_only_fails_the_hosts_running_the_service():
    assert rules_for('lb1', overrides={'redis': {'allow_from': ['app', 'cache']}}) == EXPECTED['lb1']


def test_missing_monitoring_group_fails_every_host():
    groups = {k: v for k, v in LAB_GROUPS.items() if k != 'monitoring'}
    groups, hostvars = inventory(groups)
    for host in groups['all']:
        with pytest.raises(FirewallError, match=r"^bulwark_services\.[a-z_]+\.allow_from\[0\] names group 'monitoring'"):
            rules_for(host, groups, hostvars)


def test_a_peer_without_facts_is_named():
    groups, hostvars = inventory()
    del hostvars['app2']['ansible_default_ipv4']
    with pytest.raises(FirewallError) as excinfo:
        rules_for('db1', groups, hostvars)
    message = str(excinfo.value)
    assert message.startswith('bulwark_services.pgbouncer.allow_from[0]: cannot compute the internal address of app2')
    assert 'gather facts' in message


def test_a_peer_outside_the_network_is_named():
    groups, hostvars = inventory()
    with pytest.raises(FirewallError, match=r'^bulwark_services\.app\.allow_from\[0\]: .*lb1.*10\.10\.0\.0/24'):
        rules_for('app1', groups, hostvars, network='10.10.0.0/24')


def test_an_unknown_peer_is_named():
    groups, hostvars = inventory()
    del hostvars['mon1']
    with pytest.raises(FirewallError, match=r'^bulwark_services\.lb_metrics\.allow_from\[0\]: host mon1 has no hostvars'):
        rules_for('lb1', groups, hostvars)


@pytest.mark.parametrize('entry, variable', [
    ({'group': 'lb', 'port': 0, 'proto': 'tcp', 'allow_from': ['any']}, 'bulwark_services.http.port'),
    ({'group': 'lb', 'port': 80, 'proto': 'sctp', 'allow_from': ['any']}, 'bulwark_services.http.proto'),
    ({'group': 'lb', 'port': 80, 'proto': 'tcp', 'allow_from': 'any'}, 'bulwark_services.http.allow_from'),
    ({'group': 'lb', 'port': 80, 'proto': 'tcp', 'allow_from': ['']}, 'bulwark_services.http.allow_from[0]'),
])
def test_an_unvalidated_table_is_still_checked(entry, variable):
    groups, hostvars = inventory()
    with pytest.raises(FirewallError, match='^' + variable.replace('.', r'\.').replace('[', r'\[').replace(']', r'\]') + ' '):
        firewall_rules('lb1', groups, hostvars, {'http': entry})


def test_groups_must_be_a_mapping():
    with pytest.raises(FirewallError, match='^groups must be'):
        firewall_rules('lb1', ['lb1'], {}, services())


# ---------------------------------------------------------------------------------------------------------------
# reachability matrix
# ---------------------------------------------------------------------------------------------------------------

def test_reachability_matrix_on_the_lab():
    groups = inventory()[0]
    matrix = reachability_matrix(groups, services())
    assert ('app1', 'db1', 6432) in matrix
    assert ('lb1', 'db1', 6432) not in matrix
    assert ('lb1', 'db1', 5432) not in matrix
    assert ('app1', 'db1', 5432) not in matrix
    assert ('lb1', 'app2', 8000) in matrix
    assert ('app1', 'app2', 8000) not in matrix
    assert ('redis1', 'redis3', 26379) in matrix
    assert ('db1', 'redis1', 6379) not in matrix
    for host in groups['all']:
        assert ('mon1', host, 9100) in matrix or host == 'mon1'
        assert ('app1', host, 9100) not in matrix
        assert (host, host, 9100) not in matrix
        assert (host, 'lb1', 80) in matrix or host == 'lb1'
    # 8 node_exporter targets, 8 sources each for http and https, 3 app, 3 pgbouncer, 2 x (3 app + 2 redis) x 3 redis,
    # the metrics of 1 load balancer, 3 app hosts, the database host's 2 exporters and 3 Redis hosts, pgBackRest both
    # ways between db1 and mon1
    assert ('db1', 'mon1', 8432) in matrix and ('mon1', 'db1', 8432) in matrix
    assert len(matrix) == 8 + 8 + 8 + 3 + 3 + 2 * 5 * 3 + 1 + 3 + 2 + 3 + 2


def test_reachability_matrix_matches_the_rules_of_every_host():
    """The matrix and the firewall rules agree, pair by pair, on every service port (so the complement is closed)."""
    groups, hostvars = inventory()
    address_of = {address: host for host, address in LAB_ADDRESSES.items()}
    derived = set()
    for dest, rules in all_rules(groups, hostvars).items():
        for rule in rules:
            if rule['service'] == 'ssh':
                continue
            sources = [h for h in groups['all'] if h != dest] if rule['from'] == 'any' else [address_of[rule['from']]]
            derived.update((source, dest, rule['port']) for source in sources)
    assert derived == reachability_matrix(groups, services())


def test_reachability_matrix_errors_like_the_rules():
    groups = inventory()[0]
    with pytest.raises(FirewallError, match=r"^bulwark_services\.redis\.allow_from\[1\] names group 'cache'"):
        reachability_matrix(groups, services({'redis': {'allow_from': ['app', 'cache']}}))
    empty = dict(groups, redis=[])
    assert not {triple[2] for triple in reachability_matrix(empty, services({'redis': {'allow_from': ['cache']}}))} & {6379}
