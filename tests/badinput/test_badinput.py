# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table-driven bad-input suite for the preflight validation (playbooks/validate.yml).

Each row is one bad setting: where it is set (inventory group or host), the variables, and the exact variables the
validation must name (with the group/host they came from). Rows are packed into as few inventories as possible
(rows that set the same variable go to different ones) and each inventory is validated by ONE real
``ansible-playbook -i <generated inventory> playbooks/validate.yml`` run, which reports all its failures at once.
The suite asserts, for every run: the play failed; exactly the expected variables were named; and no inventory
host was contacted or changed. The inventory hosts use the community.docker.docker connection to containers that
do not exist, so any attempt to reach one would show up as unreachable in the recap.

Run: pytest tests/badinput   (about 15-30 s)
"""

import datetime
import json
import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / 'playbooks' / 'validate.yml'
VAULT_PASSWORD = 'badinput-suite-vault-password'

HOSTS = {'lb': ['lb1'], 'app': ['app1', 'app2'], 'postgres': ['db1'], 'pgbouncer': ['db1'],
         'redis': ['redis1', 'redis2', 'redis3'], 'monitoring': ['mon1']}
GOOD = {  # a valid lab inventory: validates clean
    'bulwark_environment': 'lab',
    'node_exporter_tls_enabled': True,
    'node_exporter_basic_auth_users': {'prometheus': 'Sc7!rape-Qw9#good-Lx2'},
}


def _pem_pair(name='www.example.com', days=90, key=None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())


CERT, KEY = _pem_pair()
OTHER_CERT, OTHER_KEY = _pem_pair()
OLD_CERT, OLD_KEY = _pem_pair(days=-3)
SOON_CERT, SOON_KEY = _pem_pair(days=5)

# (id, scope, settings, expected variables). scope: 'all', a group name, 'host:<name>', or 'groups' (inventory
# structure: settings = {group: [members] or None to delete}); 'production' rows run with bulwark_environment=production.
NE = 'node_exporter_basic_auth_users.'
ROWS = [
    # secrets: empty, placeholders, weak
    ('secret-empty', 'all', {NE + 'u01': ''}, [NE + 'u01']),
    ('secret-changeme', 'all', {NE + 'u02': 'changeme'}, [NE + 'u02']),
    ('secret-CHANGEME', 'all', {NE + 'u03': 'CHANGEME'}, [NE + 'u03']),
    ('secret-password', 'all', {NE + 'u04': 'password'}, [NE + 'u04']),
    ('secret-shell-template', 'all', {NE + 'u05': '${SCRAPE_PASSWORD}'}, [NE + 'u05']),
    ('secret-sk-sample', 'all', {NE + 'u06': 'sk-...-...'}, [NE + 'u06']),
    ('secret-sk-xxxx', 'all', {NE + 'u07': 'sk-xxxx-xxxx'}, [NE + 'u07']),
    ('secret-too-short', 'all', {NE + 'u08': 'aB3$x9'}, [NE + 'u08']),
    ('secret-low-entropy', 'all', {NE + 'u09': 'aaaaaaaaaaaaaaaaaaab'}, [NE + 'u09']),
    ('secret-angle-placeholder', 'all', {NE + 'u10': '<password>'}, [NE + 'u10']),
    ('secret-replace-me', 'all', {NE + 'u11': 'replace-me-before-prod'}, [NE + 'u11']),
    ('secret-elided-sample', 'all', {NE + 'u12': 'Ab3...Xy9...Qq'}, [NE + 'u12']),
    ('secret-redis-changeme', 'redis', {'redis_acl_app_password': 'changeme'}, ['redis_acl_app_password']),
    ('secret-sentinel-empty', 'redis', {'redis_sentinel_password': ''}, ['redis_sentinel_password']),
    ('secret-postgres-user', 'postgres', {'postgresql_users': [{'name': 'app', 'password': 'password'}]}, ['postgresql_users[0].password']),
    ('secret-pgbouncer-user', 'pgbouncer', {'pgbouncer_admin_password': '${PGPASS}'}, ['pgbouncer_admin_password']),
    ('secret-app-env-key', 'app', {'app_environment': {'SECRET_KEY': 'CHANGEME-please'}}, ['app_environment.SECRET_KEY']),
    ('secret-haproxy-stats', 'lb', {'haproxy_stats_users': {'admin': 'Ab1!short'}}, ['haproxy_stats_users.admin']),
    ('secret-host-scoped', 'host:app2', {'app_redis_password': 'changeme'}, ['app_redis_password']),
    ('secret-group-scoped', 'redis', {'redis_acl_replication_password': 'xxxxxxxxxxxxxx'}, ['redis_acl_replication_password']),
    ('secret-undefined-vault-ref', 'pgbouncer', {'pgbouncer_stats_password': '{{ vault_pgbouncer_stats_password }}'}, ['pgbouncer_stats_password']),
    ('secret-reused', 'all', {'haproxy_stats_users': {'ops': 'Re8#used-Secret-Zk4!'}, 'redis_sentinel_password': 'Re8#used-Secret-Zk4!'},
     ['redis_sentinel_password']),
    # numbers and ranges
    ('port-zero', 'all', {'node_exporter_port': 0}, ['node_exporter_port']),
    ('port-too-high', 'all', {'node_exporter_port': 70000}, ['node_exporter_port']),
    ('port-not-number', 'app', {'app_port': 'http'}, ['app_port']),
    ('bcrypt-rounds-low', 'all', {'node_exporter_bcrypt_rounds': 4}, ['node_exporter_bcrypt_rounds']),
    ('bcrypt-rounds-high', 'all', {'node_exporter_bcrypt_rounds': 31}, ['node_exporter_bcrypt_rounds']),
    ('memory-unit-unknown', 'redis', {'redis_maxmemory': '2 parsecs'}, ['redis_maxmemory']),
    ('memory-percent-too-high', 'redis', {'redis_maxmemory': '95%'}, ['redis_maxmemory']),
    ('memory-zero', 'redis', {'redis_maxmemory': '0'}, ['redis_maxmemory']),
    ('duration-words', 'app', {'app_stop_timeout': 'soon'}, ['app_stop_timeout']),
    ('duration-negative', 'app', {'app_start_timeout': -5}, ['app_start_timeout']),
    ('rate-format', 'lb', {'nginx_limit_req_rate': '10/s'}, ['nginx_limit_req_rate']),
    ('burst-negative', 'lb', {'nginx_limit_req_burst': -1}, ['nginx_limit_req_burst']),
    ('body-size-words', 'lb', {'nginx_client_max_body_size': 'big'}, ['nginx_client_max_body_size']),
    ('proxy-timeout-words', 'lb', {'nginx_proxy_read_timeout': '60 seconds'}, ['nginx_proxy_read_timeout']),
    ('pool-size-zero', 'pgbouncer', {'pgbouncer_default_pool_size': 0}, ['pgbouncer_default_pool_size']),
    ('max-client-conn-zero', 'pgbouncer', {'pgbouncer_max_client_conn': 0}, ['pgbouncer_max_client_conn']),
    ('reserve-pool-words', 'pgbouncer', {'pgbouncer_reserve_pool_size': 'five'}, ['pgbouncer_reserve_pool_size']),
    ('max-connections-low', 'postgres', {'postgresql_max_connections': 5}, ['postgresql_max_connections']),
    ('superuser-reserved-high', 'postgres', {'postgresql_superuser_reserved_connections': 500}, ['postgresql_superuser_reserved_connections']),
    ('backup-retention-zero', 'postgres', {'postgresql_backup_retention_days': 0}, ['postgresql_backup_retention_days']),
    ('sentinel-down-after-tiny', 'redis', {'redis_sentinel_down_after_milliseconds': 10}, ['redis_sentinel_down_after_milliseconds']),
    ('sentinel-parallel-syncs-zero', 'redis', {'redis_sentinel_parallel_syncs': 0}, ['redis_sentinel_parallel_syncs']),
    ('ssh-max-auth-tries', 'all', {'baseline_ssh_max_auth_tries': 50}, ['baseline_ssh_max_auth_tries']),
    ('ssh-grace-words', 'all', {'baseline_ssh_login_grace_time': 'forever'}, ['baseline_ssh_login_grace_time']),
    ('journald-size-words', 'all', {'baseline_journald_system_max_use': 'lots'}, ['baseline_journald_system_max_use']),
    ('keep-releases-zero', 'app', {'app_keep_releases': 0}, ['app_keep_releases']),
    ('upstream-max-fails-negative', 'lb', {'nginx_upstream_max_fails': -1}, ['nginx_upstream_max_fails']),
    ('haproxy-check-inter-words', 'lb', {'haproxy_check_inter': 'often'}, ['haproxy_check_inter']),
    ('redis-somaxconn-low', 'redis', {'redis_somaxconn': 16}, ['redis_somaxconn']),
    ('internal-network-host-bits', 'all', {'bulwark_internal_network': '10.20.0.5/24'}, ['bulwark_internal_network']),
    ('internal-address-not-ip', 'host:app1', {'bulwark_internal_address': 'app-one'}, ['bulwark_internal_address']),
    # firewall sources
    ('admin-network-host-bits', 'all', {'firewall_admin_networks': ['10.0.0.5/24']}, ['firewall_admin_networks[0]']),
    ('admin-network-name', 'all', {'firewall_admin_networks': ['office']}, ['firewall_admin_networks[0]']),
    ('extra-rule-bad-source', 'all', {'firewall_extra_rules': [{'port': 60001, 'from': 'nowhere'}]}, ['firewall_extra_rules[0].from']),
    ('extra-rule-unknown-group', 'all', {'firewall_extra_rules': [{'port': 9187, 'from': 'group:ghosts'}]}, ['firewall_extra_rules[0].from']),
    ('extra-rule-bad-port', 'all', {'firewall_extra_rules': [{'port': 70000, 'from': 'any'}]}, ['firewall_extra_rules[0].port']),
    ('extra-rule-not-mapping', 'all', {'firewall_extra_rules': ['22/tcp']}, ['firewall_extra_rules[0]']),
    # load balancer upstreams
    ('upstream-down-not-app', 'lb', {'nginx_upstream_down': ['db1']}, ['nginx_upstream_down']),
    ('upstream-all-down', 'lb', {'nginx_upstream_down': ['app1', 'app2']}, ['nginx_upstream_down']),
    ('haproxy-backend-empty', 'lb', {'haproxy_backends': [{'name': 'app', 'servers': []}]}, ['haproxy_backends[0].servers']),
    ('server-name-invalid', 'lb', {'nginx_server_name': 'bad name!'}, ['nginx_server_name']),
    # TLS
    ('tls-cert-not-pem', 'lb', {'nginx_tls_cert': 'not a certificate', 'nginx_tls_key': KEY}, ['nginx_tls_cert']),
    ('tls-key-mismatch', 'lb', {'haproxy_tls_cert': CERT, 'haproxy_tls_key': OTHER_KEY, 'haproxy_server_name': 'www.example.com'},
     ['haproxy_tls_key']),
    ('tls-expired', 'postgres', {'postgresql_tls_cert': OLD_CERT, 'postgresql_tls_key': OLD_KEY}, ['postgresql_tls_cert']),
    ('tls-wrong-name', 'lb', {'nginx_tls_cert': CERT, 'nginx_tls_key': KEY, 'nginx_server_name': 'shop.example.com'}, ['nginx_tls_cert']),
    ('tls-cert-without-key', 'all', {'node_exporter_tls_cert': CERT}, ['node_exporter_tls_key']),
    ('tls-key-placeholder', 'postgres', {'postgresql_tls_key': 'CHANGEME'}, ['postgresql_tls_cert', 'postgresql_tls_key']),
    ('tls-expires-soon', 'lb', {'haproxy_tls_cert': SOON_CERT, 'haproxy_tls_key': SOON_KEY}, ['haproxy_tls_cert']),
    # cross-field
    ('pgbouncer-pools-exceed', 'pgbouncer', {'pgbouncer_default_pool_size': 60, 'pgbouncer_reserve_pool_size': 50,
                                             'pgbouncer_databases': [{'name': 'app'}], 'pgbouncer_users': [{'name': 'app'}]},
     ['pgbouncer_default_pool_size']),
    ('pgbouncer-auth-query-without-cert-user', 'pgbouncer', {'pgbouncer_auth_mode': 'auth_query'},
     ['pgbouncer_auth_mode']),
    ('sentinel-quorum-minority', 'redis', {'redis_sentinel_quorum': 1}, ['redis_sentinel_quorum']),
    ('sentinel-quorum-unreachable', 'redis', {'redis_sentinel_quorum': 5}, ['redis_sentinel_quorum']),
    ('sentinel-names-disagree', 'host:redis3', {'redis_sentinel_master_name': 'other', 'redis_sentinel_quorum': 2},
     ['redis_sentinel_master_name']),
    ('redis-maxmemory-over-ram', 'host:redis1', {'ansible_memtotal_mb': 1024, 'redis_maxmemory': '4gb'}, ['redis_maxmemory']),
    # topology
    ('group-empty', 'groups', {'app': []}, ['groups.app']),
    ('group-missing', 'groups', {'postgres': None}, ['groups.postgres', 'bulwark_services.postgresql.allow_from[1]']),
    ('port-bound-twice-override', 'all', {'bulwark_services': {'redis_sentinel': {'port': 6379}}}, ['bulwark_services.redis_sentinel.port']),
    ('port-bound-twice-role-var', 'app', {'node_exporter_port': 8000}, ['node_exporter_port']),
    ('topology-bad-port', 'all', {'bulwark_services': {'app': {'port': 'x'}}}, ['bulwark_services']),
    ('topology-unknown-group', 'all', {'bulwark_services': {'app': {'allow_from': ['lb', 'ghosts']}}}, ['bulwark_services.app.allow_from[1]']),
    # production: secrets must come from Ansible Vault
    ('production-plain-secret', 'production', {'redis_acl_admin_password': 'Pl4in!Text-Secret-Zz9'}, ['redis_acl_admin_password']),
    ('production-plain-tls-key', 'production', {'node_exporter_tls_cert': CERT, 'node_exporter_tls_key': KEY}, ['node_exporter_tls_key']),
]


# rows that change which port a service binds (or break the topology table): one per inventory, so a collision
# is never hidden by another row's unparsable port
PORT_ROWS = ('port-not-number', 'port-bound-twice-override', 'port-bound-twice-role-var', 'topology-bad-port')


def _scope_label(scope):
    if scope in ('all', 'production'):
        return 'group all'
    if scope.startswith('host:'):
        return 'host ' + scope[5:]
    if scope == 'groups':
        return None
    return 'group ' + scope


def _keys(row):
    ident, scope, settings, dummy = row
    if scope == 'groups':
        return set(('groups', g) for g in settings)
    keys = set()
    if ident in PORT_ROWS:
        keys.add('ports')
    for path in settings:
        if path.startswith(NE):  # distinct users of one mapping can share an inventory
            keys.add((scope, path))
        else:
            keys |= {(scope, path.split('.')[0]), ('var', path.split('.')[0])}
    return keys


def batches():
    """Pack rows into few inventories: no two rows of a batch set the same variable; production rows together."""
    packed = []
    for row in ROWS:
        production = row[1] == 'production'
        structural = row[1] == 'groups'  # inventory structure changes get an inventory of their own
        for batch in packed:
            if batch['production'] == production and batch['structural'] == structural and not (batch['keys'] & _keys(row)):
                break
        else:
            batch = {'production': production, 'structural': structural, 'keys': set(), 'rows': []}
            packed.append(batch)
        batch['rows'].append(row)
        batch['keys'] |= _keys(row)
    return packed


def _set(tree, path, value):
    parts = path.split('.')
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
    tree[parts[-1]] = value


def _vaulted(text):
    from ansible.parsing.vault import VaultLib, VaultSecret
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    return VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(VAULT_PASSWORD.encode()))]).encrypt(text).decode()


def write_inventory(directory, rows, production=False):
    groups = {k: list(v) for k, v in HOSTS.items()}
    group_vars = {'all': json.loads(json.dumps(GOOD))}
    host_vars = {}
    for ident, scope, settings, dummy in rows:
        if scope == 'groups':
            for group, members in settings.items():
                if members is None:
                    groups.pop(group)
                else:
                    groups[group] = members
            continue
        target = host_vars.setdefault(scope[5:], {}) if scope.startswith('host:') else \
            group_vars.setdefault('all' if scope == 'production' else scope, {})
        for path, value in settings.items():
            _set(target, path, value)
    children = {}
    all_hosts = sorted(set(h for members in HOSTS.values() for h in members))
    for group, members in groups.items():
        children[group] = {'hosts': dict((h, None) for h in members)}
    inventory = {'all': {'hosts': dict((h, {'ansible_host': 'bulwark-badinput-no-such-container-%s' % h}) for h in all_hosts),
                         'vars': {'ansible_connection': 'community.docker.docker'}, 'children': children}}
    (directory / 'hosts.yml').write_text(yaml.safe_dump(inventory))
    if production:
        group_vars['all']['bulwark_environment'] = 'production'
    for kind, table in (('group_vars', group_vars), ('host_vars', host_vars)):
        (directory / kind).mkdir(exist_ok=True)
        for name, values in table.items():
            (directory / kind / name).mkdir()
            (directory / kind / name / 'main.yml').write_text(yaml.safe_dump(values))
    if production:  # the good secret comes from an encrypted vault file, as production inventories do
        group_vars['all'].pop('node_exporter_basic_auth_users')
        (directory / 'group_vars' / 'all' / 'main.yml').write_text(yaml.safe_dump(dict(
            group_vars['all'], node_exporter_basic_auth_users={'prometheus': '{{ vault_node_exporter_password }}'})))
        (directory / 'group_vars' / 'all' / 'vault.yml').write_text(_vaulted(yaml.safe_dump(
            {'vault_node_exporter_password': GOOD['node_exporter_basic_auth_users']['prometheus']})))
    return directory


def run_validate(inventory_dir, tmp_path):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'),
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    password_file = tmp_path / 'vault-pass'
    password_file.write_text(VAULT_PASSWORD)
    result = subprocess.run(['ansible-playbook', '-i', str(inventory_dir), '--vault-password-file', str(password_file), str(PLAYBOOK)],
                            capture_output=True, text=True, env=env, check=False, cwd=str(ROOT))
    assert '{' in result.stdout, result.stderr[-3000:]
    report = json.JSONDecoder().raw_decode(result.stdout, result.stdout.index('{'))[0]
    problems, touched = [], set()
    for play in report['plays']:
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                touched.add(host)
                problems.extend(res.get('problems', []))
    return result.returncode, problems, report['stats'], touched


BATCHES = batches()


def test_the_table_has_at_least_60_distinct_bad_settings():
    assert len(set(r[0] for r in ROWS)) == len(ROWS) >= 60
    assert len(BATCHES) <= 8, 'too many ansible-playbook runs; pack the rows better'


def test_a_good_inventory_validates(tmp_path):
    rc, problems, stats, touched = run_validate(write_inventory(tmp_path, []), tmp_path)
    assert (rc, problems) == (0, [])
    assert touched == {'localhost'}


@pytest.mark.parametrize('batch', BATCHES, ids=['batch%d' % i for i in range(len(BATCHES))])
def test_bad_settings_are_named_before_any_host_is_touched(batch, tmp_path):
    rc, problems, stats, touched = run_validate(write_inventory(tmp_path, batch['rows'], batch['production']), tmp_path)
    assert rc != 0, 'validation passed an inventory with: %s' % [r[0] for r in batch['rows']]
    # no host changed: only the controller ran anything, nothing was unreachable (no connection was even tried)
    assert touched == {'localhost'} and set(stats) == {'localhost'}, stats
    assert stats['localhost']['changed'] == 0 and stats['localhost']['unreachable'] == 0
    named = {}
    for problem in problems:
        named.setdefault(problem['variable'], []).append(problem)
    missing = []
    for ident, scope, settings, expected in batch['rows']:
        label = _scope_label(scope)
        for variable in expected:
            found = named.get(variable, [])
            if not found or (label and not any(p['where'].startswith(label) for p in found)):
                missing.append('%s: %s (%s) not named; got %s' % (ident, variable, label, [(p['variable'], p['where']) for p in found]))
            for p in found:
                assert p['problem'] and p['fix'], p
    assert not missing, '\n'.join(missing)
    expected_all = set(v for row in batch['rows'] for v in row[3])
    assert set(named) == expected_all, 'unexpected problems: %s' % ['%s: %s' % (v, named[v][0]['problem']) for v in set(named) - expected_all]
    # secrets are masked in the report
    for ident, scope, settings, expected in batch['rows']:
        for value in settings.values():
            if isinstance(value, str) and len(value) > 4 and ident.startswith(('secret', 'production')):
                assert all(value not in p['value'] for p in problems), ident


def test_production_example_is_refused_listing_its_placeholders(tmp_path):
    rc, problems, stats, touched = run_validate(ROOT / 'inventories' / 'production.example', tmp_path)
    assert rc != 0 and touched == {'localhost'}
    placeholders = dict((p['variable'], p) for p in problems if 'placeholder' in p['problem'])
    assert 'node_exporter_basic_auth_users.prometheus' in placeholders
    assert 'vault_node_exporter_password' in placeholders['node_exporter_basic_auth_users.prometheus']['where']
    assert all('CHANGEME' not in p['value'] for p in placeholders.values())
