"""Behaviour of bulwark.stack.firewall: the connectivity matrix between the scenario's hosts is exactly the one the
topology allows, group changes open and close access after a re-converge, and unmanaged rules are pruned.

Every host runs a listener on every service port of the topology (prepare.yml), so a port that does not connect is
closed by the firewall, not by a missing service. Traffic only goes between this scenario's containers.
"""

import os
import pathlib
import sys

import pytest
import testinfra.utils.ansible_runner

from testlib import ansible_playbook, get_host, internal_ip, probe as probe_from

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(':')[0] or str(ROOT / '.cache' / 'collections'))
from ansible_collections.bulwark.stack.plugins.module_utils.firewall import reachability_matrix  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.bulwark.stack.plugins.module_utils.topology import services  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
HOSTS = sorted(RUNNER.get_hosts('all'))
testinfra_hosts = HOSTS

TABLE = services()
PORTS = sorted({entry['port'] for entry in TABLE.values()})
SSH_PORT = 22
TIMEOUT = 3.0  # seconds a probe waits for a connection: "timeout" means ufw dropped it


def inventory_groups(extra_members=None):
    """Ansible's `groups` for the scenario inventory (plus extra memberships {group: [hosts]})."""
    names = ['lb', 'app', 'postgres', 'pgbouncer', 'redis', 'monitoring', 'backup']
    groups = {name: sorted(RUNNER.get_hosts(name)) for name in names}
    for group, members in (extra_members or {}).items():
        groups[group] = sorted(set(groups[group]) | set(members))
    groups['all'] = HOSTS
    groups['ungrouped'] = []
    return groups


@pytest.fixture(scope='module')
def addresses():
    return {name: internal_ip(get_host(name)) for name in HOSTS}


def probe(source, targets):
    """{'address:port': result} for every (address, port) in targets, probed from host `source` in one go."""
    return probe_from(get_host(source), ['%s:%d' % (address, port) for address, port in targets], TIMEOUT)


def matrix_row(source, addresses, groups):
    """What `source` must reach, from the topology: {'address:port': 'open' | 'timeout' | 'refused'}."""
    allowed = reachability_matrix(groups, TABLE)
    expected = {}
    for dest in HOSTS:
        if dest == source:
            continue
        for port in PORTS:
            expected['%s:%d' % (addresses[dest], port)] = 'open' if (source, dest, port) in allowed else 'timeout'
        expected['%s:%d' % (addresses[dest], SSH_PORT)] = 'refused'  # SSH open to any (no sshd listens)
    return expected


def observed_row(source, expected):
    targets = [tuple(key.rsplit(':', 1)) for key in expected]
    return probe(source, [(address, int(port)) for address, port in targets])


def converge(*extra_args):
    """Run the scenario's converge.yml again (same inventory and config as Molecule)."""
    return ansible_playbook(os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml'), *extra_args)


def test_scenario_covers_both_releases_and_every_tier():
    releases = {get_host(name).system_info.release.split('.')[0] for name in HOSTS}
    assert {'12', '13'} <= releases, releases
    groups = inventory_groups()
    assert all(groups[name] for name in ('lb', 'app', 'postgres', 'pgbouncer', 'redis', 'monitoring')), groups


def test_ufw_active_with_default_deny(host):
    status = host.check_output('ufw status verbose')
    assert 'Status: active' in status
    assert 'Default: deny (incoming), allow (outgoing), deny (routed)' in status
    assert 'Logging: on (low)' in status
    assert host.service('ufw').is_enabled


def test_every_rule_is_labelled_and_ssh_is_rate_limited(host):
    added = [line for line in host.check_output('ufw show added').splitlines() if line.startswith('ufw ')]
    assert added, 'no rules at all'
    assert all("comment 'bulwark: " in line for line in added), added
    assert "ufw limit 22/tcp comment 'bulwark: ssh from any'" in added, added


@pytest.mark.parametrize('source', HOSTS)
def test_connectivity_matrix(source, addresses):
    """Every allowed (source, destination, port) connects; every other one is dropped (times out)."""
    expected = matrix_row(source, addresses, inventory_groups())
    observed = observed_row(source, expected)
    wrong = {key: (observed.get(key), want) for key, want in expected.items() if observed.get(key) != want}
    assert not wrong, 'from %s, (observed, expected): %s' % (source, wrong)


def test_loopback_and_own_address_are_open(host, addresses):
    own = addresses[host.backend.host]
    result = probe(host.backend.host, [(own, port) for port in PORTS])
    assert set(result.values()) == {'open'}, result


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, host):
    stats = check_mode_recap[host.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']


def test_missing_peer_facts_fail_clearly_before_any_change():
    db = get_host('firewall-db')
    before = db.check_output('ufw show added')
    result = converge('--limit', 'firewall-db')  # facts of the db host only: its peers' addresses are unknown
    assert result.returncode != 0
    output = ' '.join((result.stdout + result.stderr).split())  # the callback may wrap long messages
    assert 'gather facts on all hosts first' in output, output[-3000:]
    assert 'cannot compute the internal address of firewall-' in output, output[-3000:]
    assert 'Install ufw' not in result.stdout  # failed in preflight, before the install
    assert db.check_output('ufw show added') == before


# the hosts whose rules change when a host joins or leaves `app` (pgbouncer and redis accept app's members)
PEERS_OF_APP = 'firewall-db:firewall-redis'


def test_group_changes_open_and_close_access_and_unmanaged_rules_are_pruned(addresses, tmp_path):
    db, lb, mon = 'firewall-db', 'firewall-lb', 'firewall-mon'
    pgbouncer = (addresses[db], 6432)
    assert probe(mon, [pgbouncer]) == {'%s:%d' % pgbouncer: 'timeout'}

    extra = tmp_path / 'mon-joins-app.yml'
    extra.write_text('all:\n  children:\n    app:\n      hosts:\n        %s: {}\n' % mon)
    try:
        result = converge('-i', str(extra), '-e', 'firewall_converge_hosts=' + PEERS_OF_APP)
        assert result.returncode == 0, result.stdout[-3000:]
        # mon's whole row now follows the topology with mon in app: pgbouncer and redis open to it
        expected = matrix_row(mon, addresses, inventory_groups({'app': [mon]}))
        assert expected['%s:%d' % pgbouncer] == 'open'
        assert expected['%s:%d' % (addresses['firewall-redis'], 6379)] == 'open'
        observed = observed_row(mon, expected)
        assert observed == expected

        # rules added by hand: an unlabelled one and a forged bulwark one that the topology does not derive
        get_host(db).check_output('ufw allow from %s to any port 6432 proto tcp' % addresses[lb])
        get_host(db).check_output("ufw allow from %s to any port 5432 proto tcp comment 'bulwark: postgresql from lb'"
                                  % addresses[lb])
        assert set(probe(lb, [pgbouncer, (addresses[db], 5432)]).values()) == {'open'}
    finally:
        result = converge('-e', 'firewall_converge_hosts=' + PEERS_OF_APP)  # the scenario inventory: mon leaves app
    assert result.returncode == 0, result.stdout[-3000:]
    expected = matrix_row(mon, addresses, inventory_groups())
    assert expected['%s:%d' % pgbouncer] == 'timeout'
    assert observed_row(mon, expected) == expected
    assert set(probe(lb, [pgbouncer, (addresses[db], 5432)]).values()) == {'timeout'}
    added = get_host(db).check_output('ufw show added')
    assert addresses[lb] not in added and addresses[mon] in added  # mon keeps node_exporter, lb has nothing
