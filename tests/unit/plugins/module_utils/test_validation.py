# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure checks of plugins/module_utils/validation.py on small in-memory inventories."""

from __future__ import absolute_import, division, print_function

import datetime

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils import validation as v

__metaclass__ = type

GROUPS = {'all': ['lb1', 'app1', 'db1', 'r1', 'r2', 'r3', 'mon1'], 'lb': ['lb1'], 'app': ['app1'], 'postgres': ['db1'],
          'pgbouncer': ['db1'], 'redis': ['r1', 'r2', 'r3'], 'monitoring': ['mon1'], 'backup': ['mon1']}
GOOD_SECRET = 'Vq8#kLm2!vB7rT9xWp4'


def inventory(common=None, per_host=None, groups=None, environment='lab', vaulted=False):
    groups = groups or GROUPS
    hosts = {}
    for name in groups['all']:
        variables = dict(common or {})
        variables.update((per_host or {}).get(name, {}))
        variables.setdefault('bulwark_environment', environment)
        if variables['bulwark_environment'] == 'production':
            variables.setdefault('internal_ca_passphrase', 'Xq7#vLp2$Wm9!rTz4&Kd')  # the CA key is encrypted there
            if name in groups.get('lb', []):  # a public certificate browsers trust
                variables.setdefault('lb_certificate_acme_directory', ACME_DIRECTORY)
                variables.setdefault('lb_certificate_acme_terms_agreed', True)
        origins = dict((k, 'group all (test)') for k in variables)
        vault = dict((p, vaulted) for p, dummy in v.secret_leaves(variables))
        hosts[name] = v.Host(name, variables, origins, vault, memtotal_mb=1024)
    return v.Inventory(hosts, groups)


ACME_DIRECTORY = 'https://acme.example.org/directory'


def variables_of(problems):
    return sorted(set(p.variable for p in problems))


def test_clean_inventory_has_no_problem():
    assert v.validate(inventory({'node_exporter_basic_auth_users': {'prometheus': GOOD_SECRET}})) == []


@pytest.mark.parametrize('value', ['', 'changeme', 'CHANGEME', 'password', '${NODE_PASSWORD}', 'sk-...-...', 'sk-xxxx-xxxx',
                                   'please-changeme-now', '<password>', '{{ vault_missing }}'])
def test_placeholder_secrets_are_refused(value):
    problems = v.validate(inventory({'node_exporter_basic_auth_users': {'prometheus': value}}))
    assert variables_of(problems) == ['node_exporter_basic_auth_users.prometheus']
    assert value not in str(problems) or value == ''  # masked


def test_short_and_low_entropy_secrets():
    assert 'shorter' in str(v.validate(inventory({'redis_password': 'aB3$x'})))
    assert 'easy to guess' in str(v.validate(inventory({'redis_password': 'aaaaaaaaaaaaaaaabbbb'})))


@pytest.mark.parametrize('value,reason', [
    ('Summer2024!Summer', 'dictionary word'), ('qwertyuiop123456', ''), ('Password2024Password2024', 'repeat'),
    ('correcthorsebattery', 'dictionary word'), ('zxcvbnm,./asdfghjkl', 'keyboard run'), ('abcdefgh12345678', 'sequence'),
])
def test_weak_secrets_are_judged_by_the_estimator(value, reason):
    problems = v.validate(inventory({'redis_acl_admin_password': value}))
    assert variables_of(problems) == ['redis_acl_admin_password']
    assert 'easy to guess' in problems[0].problem and reason in problems[0].problem
    assert value not in str(problems)  # the reasons name kinds of pattern, never the secret's characters


def test_strong_secrets_pass_and_the_threshold_is_the_option():
    for value in (GOOD_SECRET, 'lab-redis-admin-not-for-production', 'Qz4!Lk8@Wm2#Pd6%Rt9&Yv3*Bn7-Hc5+Jx1=Gs8_Fa4~Ke2^Uo6?Ni3>Tb9'):
        assert v.validate(inventory({'redis_acl_admin_password': value})) == []
    bits, reasons = v.secret_strength('Summer2024!Summer')
    assert 30 < bits < v.SECRET_MIN_BITS and 'a dictionary word, name or common password' in reasons
    assert v.validate(inventory({'redis_acl_admin_password': 'Summer2024!Summer'}), min_bits=30) == []


def test_secret_strength_needs_zxcvbn(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_zxcvbn(name, *args, **kwargs):
        if name == 'zxcvbn':
            raise ImportError('No module named zxcvbn')
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, '__import__', no_zxcvbn)
    monkeypatch.setattr(v, '_STRENGTH', {})
    problems = v.validate(inventory({'redis_password': GOOD_SECRET}))
    assert variables_of(problems) == ['redis_password'] and 'zxcvbn' in problems[0].fix


def test_secret_with_a_control_character():
    problems = v.validate(inventory({'redis_password': GOOD_SECRET + '\n'}))
    assert variables_of(problems) == ['redis_password'] and 'line break' in problems[0].problem
    assert GOOD_SECRET not in str(problems)


def test_secret_reuse_across_services():
    problems = v.validate(inventory({'redis_password': GOOD_SECRET, 'postgresql_users': [{'name': 'app', 'password': GOOD_SECRET}]}))
    assert [p.variable for p in problems] == ['redis_password']
    assert 'postgresql_users[0].password' in problems[0].problem


def test_same_database_account_in_postgresql_and_pgbouncer_is_not_reuse():
    users = [{'name': 'app', 'password': GOOD_SECRET}]
    assert v.validate(inventory({'postgresql_users': users, 'pgbouncer_users': users})) == []
    other = [{'name': 'report', 'password': GOOD_SECRET}]
    assert variables_of(v.validate(inventory({'postgresql_users': users, 'pgbouncer_users': other}))) == ['postgresql_users[0].password']


def test_client_copy_of_a_server_credential_is_not_reuse():
    assert v.validate(inventory({'redis_acl_app_password': GOOD_SECRET, 'app_redis_password': GOOD_SECRET})) == []


def test_shared_source_is_not_reuse():
    inv = inventory({'redis_password': GOOD_SECRET, 'app_redis_password': GOOD_SECRET})
    for host in inv.hosts.values():
        host.sources = {'redis_password': 'vault_redis', 'app_redis_password': 'vault_redis'}
    assert v.validate(inv) == []


PRIVATE = {'bulwark_internal_network': '10.20.0.0/24'}


def test_production_requires_vault():
    problems = v.validate(inventory(dict(PRIVATE, redis_password=GOOD_SECRET), environment='production'))
    assert variables_of(problems) == ['internal_ca_passphrase', 'redis_password']
    assert all('Vault' in p.fix for p in problems)
    assert v.validate(inventory(dict(PRIVATE, redis_password=GOOD_SECRET), environment='production', vaulted=True)) == []


@pytest.mark.parametrize('settings, variable', [
    ({}, 'bulwark_internal_network'),
    ({'bulwark_internal_network': '52.0.0.0/16'}, 'bulwark_internal_network'),
    (dict(PRIVATE, bulwark_internal_address='10.99.0.5'), 'bulwark_internal_address'),
    (dict(PRIVATE, bulwark_internal_address='fd00::5'), 'bulwark_internal_address'),
])
def test_production_binds_to_a_private_internal_network(settings, variable):
    assert variables_of(v.validate(inventory(settings, environment='production', vaulted=True))) == [variable]


@pytest.mark.parametrize('network', ['10.20.0.0/24', '172.16.5.0/24', '192.168.1.0/24', '100.64.0.0/16', 'fd00:1::/64'])
def test_production_accepts_private_and_shared_address_space(network):
    assert v.validate(inventory({'bulwark_internal_network': network}, environment='production', vaulted=True)) == []
    assert v.validate(inventory({}, environment='lab')) == []  # outside production the default route still serves


def test_role_default_empty_secret_is_not_reported():
    inv = inventory()
    inv.hosts['app1'].variables['app_redis_password'] = ''
    inv.hosts['app1'].defaulted = {'app_redis_password'}
    assert v.validate(inv) == []


@pytest.mark.parametrize('var,value', [
    ('node_exporter_port', 0), ('node_exporter_port', 70000), ('node_exporter_port', 'http'),
    ('node_exporter_bcrypt_rounds', 4), ('redis_maxmemory', '2 parsecs'), ('redis_maxmemory', '95%'),
    ('app_stop_timeout', 'soon'), ('nginx_limit_req_rate', '10/s'), ('haproxy_timeout_client', '30 secs'), ('bulwark_internal_network', '10.0.0.5/24'),
    ('pgbouncer_default_pool_size', -1), ('nginx_client_max_body_size', 'big'),
])
def test_numbers_and_ranges(var, value):
    assert variables_of(v.validate(inventory({var: value}))) == [var]


def test_units_parse():
    assert v.parse_size('512mb') == 512 * 1024 ** 2 and v.parse_size('2G') == 2 * 1024 ** 3 and v.parse_size('64KiB') == 65536
    assert v.parse_duration('500ms') == 0.5 and v.parse_duration('5m') == 300 and v.parse_duration('bad') is None


def test_missing_and_empty_groups():
    groups = dict(GROUPS, app=[])
    del groups['postgres']
    names = variables_of(v.validate(inventory(groups=groups)))
    assert 'groups.app' in names and 'groups.postgres' in names


def test_port_bound_twice():
    problems = v.validate(inventory({'bulwark_services': {'app': {'port': 9100}}}))
    assert any('also used by service' in p.problem for p in problems)


def test_bad_topology_override():
    assert variables_of(v.validate(inventory({'bulwark_services': {'app': {'port': 'x'}}}))) == ['bulwark_services']


def test_pgbouncer_pools_vs_max_connections():
    per = {'db1': {'postgresql_max_connections': 50, 'pgbouncer_default_pool_size': 40, 'pgbouncer_reserve_pool_size': 10,
                   'pgbouncer_databases': [{'name': 'app'}], 'pgbouncer_users': [{'name': 'app'}]}}
    problems = v.validate(inventory(per_host=per))
    assert variables_of(problems) == ['pgbouncer_default_pool_size'] and 'db1' in problems[0].problem


def test_pgbouncer_auth_query_needs_its_user_among_the_certificate_users():
    per = {'db1': {'pgbouncer_auth_mode': 'auth_query', 'pgbouncer_auth_user': 'pgbouncer_auth'}}
    problems = v.validate(inventory(per_host=per))
    assert variables_of(problems) == ['pgbouncer_auth_mode'] and 'postgresql_cert_auth_users' in problems[0].fix
    per['db1']['postgresql_cert_auth_users'] = ['someone_else']
    assert variables_of(v.validate(inventory(per_host=per))) == ['pgbouncer_auth_mode']
    per['db1']['postgresql_cert_auth_users'] = ['pgbouncer_auth']
    assert v.validate(inventory(per_host=per)) == []
    assert v.validate(inventory(per_host={'db1': {'pgbouncer_auth_mode': 'userlist'}})) == []


def test_sentinel_quorum():
    per = dict((h, {'redis_sentinel_quorum': 1, 'redis_sentinel_master_name': 'mymaster'}) for h in ('r1', 'r2', 'r3'))
    assert variables_of(v.validate(inventory(per_host=per))) == ['redis_sentinel_quorum']
    per['r3'] = {'redis_sentinel_quorum': 2, 'redis_sentinel_master_name': 'other'}
    per['r1']['redis_sentinel_quorum'] = per['r2']['redis_sentinel_quorum'] = 2
    assert variables_of(v.validate(inventory(per_host=per))) == ['redis_sentinel_master_name']


def test_redis_maxmemory_vs_ram():
    assert variables_of(v.validate(inventory(per_host={'r1': {'redis_maxmemory': '4gb'}}))) == ['redis_maxmemory']
    assert v.validate(inventory(per_host={'r1': {'redis_maxmemory': '256mb'}})) == []


def test_firewall_sources():
    problems = v.validate(inventory({'firewall_admin_networks': ['10.0.0.5/24'],
                                     'firewall_extra_rules': [{'port': 1, 'from': 'nowhere'}, {'port': 2, 'from': 'group:ghosts'}]}))
    assert variables_of(problems) == ['firewall_admin_networks[0]', 'firewall_extra_rules[0].from', 'firewall_extra_rules[1].from']


def test_upstream_down_list():
    assert variables_of(v.validate(inventory({'nginx_upstream_down': ['app1']}))) == ['nginx_upstream_down']
    assert variables_of(v.validate(inventory({'nginx_upstream_down': ['db1']}))) == ['nginx_upstream_down']


def _cert(name, days, key=None):
    pytest.importorskip('cryptography')
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=400)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key, key


def test_tls_pair_checks():
    cert, key, dummy = _cert('www.example.com', 90)
    assert v.validate(inventory({'nginx_tls_cert': cert, 'nginx_tls_key': key, 'nginx_server_name': 'www.example.com'})) == []
    other_cert, other_key, dummy = _cert('www.example.com', 90)
    problems = v.validate(inventory({'nginx_tls_cert': cert, 'nginx_tls_key': other_key, 'nginx_server_name': 'shop.example.com'}))
    assert sorted(p.problem.split(' (')[0] for p in problems) == ['the certificate does not cover shop.example.com',
                                                                  'the key does not match the certificate in nginx_tls_cert']
    old_cert, old_key, dummy = _cert('www.example.com', -1)
    assert 'expired' in str(v.validate(inventory({'nginx_tls_cert': old_cert, 'nginx_tls_key': old_key})))
    assert variables_of(v.validate(inventory({'nginx_tls_cert': cert}))) == ['nginx_tls_key']
    assert variables_of(v.validate(inventory({'nginx_tls_cert': 'junk', 'nginx_tls_key': 'CHANGEME'}))) == ['nginx_tls_cert', 'nginx_tls_key']


def test_all_problems_reported_at_once_and_deduplicated():
    problems = v.validate(inventory({'node_exporter_port': 0, 'redis_password': 'changeme', 'app_stop_timeout': 'x'}))
    assert variables_of(problems) == ['app_stop_timeout', 'node_exporter_port', 'redis_password']
    assert len(problems) == 3  # a group variable is reported once, not once per host
    assert v.report(problems).count('\n') == 3


def test_mask_never_shows_the_secret():
    assert v.mask('Vq8#kLm2!vB7rT9x') == "'V****' (16 chars)" and v.mask('abc') == "'****' (3 chars)"


# ---------------------------------------------------------------------------------------------------------------
# the checks the roles' tasks/preflight.yml made on the host before: now once, on the controller
# ---------------------------------------------------------------------------------------------------------------

REDIS_SECRETS = {'redis_acl_admin_password': 'Ad9#mQ2-vL7!xRt4-Zp8', 'redis_acl_app_password': 'Ap3$kW8-nF2!qYh6-Jc5',
                 'redis_acl_replication_password': 'Rp6%tB1-hM9!sGd3-Xe7', 'redis_acl_sentinel_password': 'Sn4&vC7-jK2!wPf8-Ub1',
                 'redis_sentinel_password': 'Sq2*yD5-gN8!rTk1-Ha6'}
REDIS_SECRETS.update(redis_sentinel_auth_password=REDIS_SECRETS['redis_acl_sentinel_password'],  # the roles' defaults
                     redis_discovery_password=REDIS_SECRETS['redis_sentinel_password'])
MARKERS = {  # every role runs where its group says (the markers' default values)
    'app_sample_never_ready': False, 'baseline_coredumps_disabled': True, 'firewall_logging': 'low', 'haproxy_maxconn': 4096,
    'logrotate_timer_oncalendar': 'hourly', 'nginx_worker_connections': 4096, 'node_exporter_systemd_hardening': True,
    'pgbouncer_limit_nofile': 8192, 'postgresql_backup_compress_level': 6, 'redis_host_tuning': True,
    'redis_sentinel_min_production_sentinels': 3,
}


def role_inventory(settings, per_host=None):
    return inventory(dict(MARKERS, **dict(REDIS_SECRETS, **settings)), per_host=per_host)


def test_every_role_runs_clean_with_its_markers():
    assert v.validate(role_inventory({})) == []


LOGROTATE_RULE = {'paths': ['/var/log/x.log'], 'detect': '/etc/x'}
MOVED = [
    # app
    ({'app_version': '../x'}, 'app_version'),
    ({'app_artifact': '/srv/a.tgz', 'app_command': ['/a']}, 'app_artifact_checksum'),
    ({'app_artifact': '/srv/a.tgz', 'app_artifact_checksum': 'sha256:zz', 'app_command': ['/a']}, 'app_artifact_checksum'),
    ({'app_artifact': '/srv/a.tgz', 'app_artifact_checksum': 'sha256:ab'}, 'app_command'),
    ({'app_database_url': 'mysql://db/app'}, 'app_database_url'),
    ({'app_redis_sentinels': ['10.0.0.1']}, 'app_redis_sentinels[0]'),
    ({'app_redis_master_name': ''}, 'app_redis_master_name'),
    ({'app_stop_timeout': 0}, 'app_stop_timeout'),
    # baseline
    ({'baseline_ssh_kex_algorithms': []}, 'baseline_ssh_kex_algorithms'),
    ({'baseline_ssh_ciphers': []}, 'baseline_ssh_ciphers'),
    ({'baseline_ssh_macs': []}, 'baseline_ssh_macs'),
    ({'baseline_ssh_allow_groups': ['a b']}, 'baseline_ssh_allow_groups[0]'),
    ({'baseline_sysctl_extra': {'somaxconn': 1}}, 'baseline_sysctl_extra.somaxconn'),
    ({'baseline_unattended_upgrades_origins': []}, 'baseline_unattended_upgrades_origins'),
    ({'baseline_unattended_upgrades_reboot_time': '24:00'}, 'baseline_unattended_upgrades_reboot_time'),
    ({'baseline_journald_system_max_use': '1gb'}, 'baseline_journald_system_max_use'),
    ({'baseline_service_users': [{'groups': []}]}, 'baseline_service_users[0].name'),
    # haproxy
    ({'haproxy_tls_chain': 'PEM'}, 'haproxy_tls_chain'),
    ({'haproxy_backends': []}, 'haproxy_backends'),
    ({'haproxy_frontends': []}, 'haproxy_frontends'),
    ({'haproxy_backends': [{'group': 'app'}]}, 'haproxy_backends[0].name'),
    ({'haproxy_frontends': [{'default_backend': 'app'}]}, 'haproxy_frontends[0].name'),
    ({'haproxy_frontends': [{'name': 'https'}]}, 'haproxy_frontends[0].default_backend'),
    ({'haproxy_backends': [{'name': 'app', 'group': 'ghosts'}]}, 'haproxy_backends[0].group'),
    ({'haproxy_backends': [{'name': 'app', 'group': 'app'}], 'haproxy_frontends': [{'name': 'h', 'default_backend': 'api'}]},
     'haproxy_frontends[0].default_backend'),
    # logrotate
    ({'logrotate_rules_extra': {'x': 'daily'}}, 'logrotate_rules_extra.x'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, weekly=True)}}, 'logrotate_rules_extra.x'),
    ({'logrotate_rules_extra': {'x': {'detect': '/etc/x'}}}, 'logrotate_rules_extra.x.paths'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, paths=['x.log'])}}, 'logrotate_rules_extra.x.paths[0]'),
    ({'logrotate_rules_extra': {'x': {'paths': ['/var/log/x.log']}}}, 'logrotate_rules_extra.x.detect'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, frequency='often')}}, 'logrotate_rules_extra.x.frequency'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, maxsize='1 G')}}, 'logrotate_rules_extra.x.maxsize'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, rotate='x')}}, 'logrotate_rules_extra.x.rotate'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, maxage=-2)}}, 'logrotate_rules_extra.x.maxage'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, copytruncate=True, create='0640 a b')}}, 'logrotate_rules_extra.x.create'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, create='0640 a')}}, 'logrotate_rules_extra.x.create'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, su='a\nb c')}}, 'logrotate_rules_extra.x.su'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, replaces='a/b')}}, 'logrotate_rules_extra.x.replaces'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, postrotate='a\n  endscript\nb')}}, 'logrotate_rules_extra.x.postrotate'),
    ({'logrotate_rules': {'nginx': dict(LOGROTATE_RULE, rotate='x')}}, 'logrotate_rules.nginx.rotate'),
    ({'logrotate_timer_oncalendar': ''}, 'logrotate_timer_oncalendar'),
    # nginx
    ({'nginx_tls_chain': 'PEM'}, 'nginx_tls_chain'),
    ({'nginx_upstream_group': 'web'}, 'nginx_upstream_group'),
    # pgbouncer
    ({'pgbouncer_users': [{'password': GOOD_SECRET}]}, 'pgbouncer_users[0].name'),
    ({'pgbouncer_users': [{'name': 'app'}]}, 'pgbouncer_users[0].password'),
    ({'pgbouncer_auth_user': 'Auth-User'}, 'pgbouncer_auth_user'),
    ({'pgbouncer_server_tls_sslmode': 'verify-ca'}, 'pgbouncer_server_tls_ca_file'),
    ({'pgbouncer_postgres_host': 'app1'}, 'pgbouncer_postgres_host'),
    ({'redis_bind_address': 'redis-one'}, 'redis_bind_address'),
    ({'pgbouncer_server_address': 'db 1'}, 'pgbouncer_server_address'),
    # postgresql
    ({'postgresql_max_connections': 10, 'postgresql_superuser_reserved_connections': 10}, 'postgresql_max_connections'),
    ({'postgresql_superuser_reserved_connections': 0}, 'postgresql_superuser_reserved_connections'),
    ({'postgresql_users': [{'password': GOOD_SECRET}]}, 'postgresql_users[0].name'),
    ({'postgresql_databases': [{'owner': 'postgres'}]}, 'postgresql_databases[0].name'),
    ({'postgresql_databases': [{'name': 'app', 'owner': 'ghost'}]}, 'postgresql_databases[0].owner'),
    ({'postgresql_backup_databases': ['ghost']}, 'postgresql_backup_databases[0]'),
    # redis
    ({'redis_group': 'cache'}, 'redis_group'),
    ({'redis_initial_primary': 'app1'}, 'redis_initial_primary'),
    ({'redis_acl_app_password': 'Vq8#kLm2!vB7rT9'}, 'redis_acl_app_password'),
    ({'redis_password_min_length': 24}, 'redis_acl_admin_password'),
    ({'redis_acl_app_password': 'Vq8#kLm2 vB7rT9xWp4'}, 'redis_acl_app_password'),
    ({'redis_acl_app_user': 'admin'}, 'redis_acl_app_user'),
    ({'redis_acl_app_user': 'default'}, 'redis_acl_app_user'),
    ({'redis_acl_app_user': 'a b'}, 'redis_acl_app_user'),
    ({'redis_acl_app_rules': '+@all'}, 'redis_acl_app_rules'),
    ({'redis_acl_app_rules': '+@all -@dangerous\n'}, 'redis_acl_app_rules'),
    ({'redis_maxmemory': '1.5g'}, 'redis_maxmemory'),
    ({'redis_discovery_password': ''}, 'redis_discovery_password'),
    # redis_sentinel
    ({'redis_sentinel_group': 'sentinels'}, 'redis_sentinel_group'),
    ({'redis_sentinel_initial_primary': 'db1'}, 'redis_sentinel_initial_primary'),
    ({'redis_sentinel_password': 'Vq8#kLm2!vB7rT9'}, 'redis_sentinel_password'),
    ({'redis_sentinel_down_after_milliseconds': 999}, 'redis_sentinel_down_after_milliseconds'),
    ({'redis_sentinel_failover_timeout': 3000, 'redis_sentinel_down_after_milliseconds': 5000}, 'redis_sentinel_failover_timeout'),
    # site.yml
    ({'lb_server': 'caddy'}, 'lb_server'),
]


@pytest.mark.parametrize('settings,variable', MOVED, ids=['%s-%d' % (m[1], i) for i, m in enumerate(MOVED)])
def test_checks_moved_from_the_roles(settings, variable):
    assert variable in variables_of(v.validate(role_inventory(settings)))


def test_required_secrets_of_a_role_that_runs():
    secrets = dict(REDIS_SECRETS)
    del secrets['redis_acl_replication_password']
    inv = inventory(dict(MARKERS, **secrets))
    problems = v.validate(inv)
    assert variables_of(problems) == ['redis_acl_replication_password'] and 'not set (group redis)' == problems[0].where
    # a default that copies another variable is checked at that variable
    for host in inv.hosts.values():
        host.variables['redis_acl_replication_password'] = 'Rp6%tB1-hM9!sGd3-Xe7'
        host.variables['redis_discovery_password'] = ''
        host.defaulted.add('redis_discovery_password')
        host.templated.add('redis_discovery_password')
    assert v.validate(inv) == []


def test_controller_hashing(monkeypatch):
    long_password = 'Qz4!Lk8@Wm2#Pd6%Rt9&Yv3*Bn7-Hc5+Jx1=Gs8_Fa4~Ke2^Uo6?Ni3>Tb9<Mw5|Dl7/Zr1:Xq'
    assert variables_of(v.validate(inventory({'node_exporter_basic_auth_users': {'p': long_password}}))) == \
        ['node_exporter_basic_auth_users.p']

    def broken(*args, **kwargs):
        raise v.secrets.SecretError('passlib is required on the controller')
    monkeypatch.setattr(v.secrets, 'bcrypt_hash', broken)
    problems = v.validate(inventory({'node_exporter_basic_auth_users': {'p': GOOD_SECRET}}))
    assert variables_of(problems) == ['node_exporter_basic_auth_users'] and 'pip install passlib bcrypt' in problems[0].fix


# ---------------------------------------------------------------------------------------------------------------
# characters of values that reach config files; patterns anchored at the true end of the value
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('settings,variable', [
    ({'pgbouncer_ignore_startup_parameters': ['extra_float_digits\nauth_type = trust']}, 'pgbouncer_ignore_startup_parameters[0]'),
    ({'nginx_server_name': 'www.example.com\n'}, 'nginx_server_name'),
    ({'haproxy_server_name': ['www.example.com', 'shop.example.com\n']}, 'haproxy_server_name'),
    ({'nginx_security_headers': {'X-A': 'a"b'}}, 'nginx_security_headers.X-A'),
    ({'nginx_security_headers': {'X A': 'b'}}, "nginx_security_headers['X A']"),
    ({'nginx_extra_server_directives': ['location /x { return 204; }}']}, 'nginx_extra_server_directives[0]'),
    ({'haproxy_hsts': 'max-age=1\\'}, 'haproxy_hsts'),
    ({'haproxy_frontends': [{'name': 'https', 'default_backend': 'app', 'use_backends': [{'backend': 'app', 'if': 'x\ny'}]}],
      'haproxy_backends': [{'name': 'app', 'group': 'app'}]}, 'haproxy_frontends[0].use_backends[0].if'),
    ({'app_environment': {'A': 'x\ny'}}, 'app_environment.A'),
    ({'app_environment': {'A-B': 'x'}}, 'app_environment.A-B'),
    ({'app_command': ['/bin/app', 'x\ny']}, 'app_command[1]'),
    ({'baseline_sysctl_extra': {'net.core.somaxconn': '1\nkernel.x = 1'}}, 'baseline_sysctl_extra.net.core.somaxconn'),
    ({'baseline_timesync_servers': ['ntp1 ntp2']}, 'baseline_timesync_servers[0]'),
    ({'baseline_unattended_upgrades_origins': ['a"b']}, 'baseline_unattended_upgrades_origins[0]'),
    ({'node_exporter_extra_args': ['--a --b']}, 'node_exporter_extra_args[0]'),
    ({'node_exporter_filesystem_mount_points_exclude': '^/(a|b) x'}, 'node_exporter_filesystem_mount_points_exclude'),
    ({'postgresql_settings': {'work_mem': '64MB\\'}}, 'postgresql_settings.work_mem'),
    ({'postgresql_settings': {'work mem': '64MB'}}, "postgresql_settings['work mem']"),
    ({'postgresql_cert_auth_users': ['a b']}, 'postgresql_cert_auth_users[0]'),
    ({'redis_save': ['900 1\nsave 1 1']}, 'redis_save[0]'),
    ({'redis_extra_config': ['a\rb']}, 'redis_extra_config[0]'),
    ({'redis_sentinel_master_name': 'a b'}, 'redis_sentinel_master_name'),
    ({'firewall_extra_rules': [{'port': 1, 'from': 'any', 'comment': "a'b"}]}, 'firewall_extra_rules[0].comment'),
    ({'logrotate_rules_extra': {'x': dict(LOGROTATE_RULE, paths=['/var/log/a b.log'])}}, 'logrotate_rules_extra.x.paths[0]'),
    ({'app_version': '2.0.0\n'}, 'app_version'),
    ({'nginx_limit_req_rate': '10r/s\n'}, 'nginx_limit_req_rate'),
    ({'redis_maxmemory': '50%\n'}, 'redis_maxmemory'),
    ({'node_exporter_bcrypt_rounds': '12\n'}, 'node_exporter_bcrypt_rounds'),
])
def test_values_that_reach_config_files(settings, variable):
    assert variable in variables_of(v.validate(role_inventory(settings)))


def test_text_classes():
    assert v.text_problem('extra_float_digits', 'pgname') is None
    assert v.text_problem('a\u2028b', 'line')[0].startswith('contains the control character U+2028')
    assert v.text_problem('', 'name') is None and v.text_problem(5, 'name') is None
    assert v.text_problem('x', 'path')[0] == 'is not an absolute path without blanks, quotes, \\ ; { } #'
    assert v.text_problem('location /x { return 204; }', 'directive') is None
    assert 'endscript' in v.text_problem('endscript', 'script')[0] and v.text_problem('a\n\tb', 'script') is None
    assert list(v.walk_values('h', [{'s': [{'n': 1}, {'n': 2}]}], '[*].s[*].n')) == [('h[0].s[0].n', 1), ('h[0].s[1].n', 2)]
    assert list(v.walk_values('d', {'a': 1}, '.<keys>')) == [('d.a', 'a')]


def test_config_text_table_names_known_variables():
    import os
    import yaml
    roles = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles')
    known = set(['lb_server'])
    for role in os.listdir(roles):
        path = os.path.join(roles, role, 'meta', 'argument_specs.yml')
        if os.path.isfile(path):
            with open(path) as handle:
                known |= set(yaml.safe_load(handle)['argument_specs']['main'].get('options', {}))
            with open(os.path.join(roles, role, 'defaults', 'main.yml')) as handle:
                defaults = yaml.safe_load(handle) or {}
            if role in v.ROLE_MARKERS:
                assert v.ROLE_MARKERS[role] in defaults, role
    for pattern in list(v.CONFIG_TEXT) + list(v.RANGE_RULES) + list(v.SECRET_MIN_LENGTHS):
        root = pattern.split('.')[0].split('[')[0]
        assert root in known or root.startswith('bulwark_'), pattern


# ---------------------------------------------------------------------------------------------------------------
# argument specs: types and choices, applied on the controller; not re-checked by kind
# ---------------------------------------------------------------------------------------------------------------

SPECS = {'nginx': {'nginx_tls_profile': {'type': 'str', 'choices': ['intermediate', 'modern']},
                   'nginx_worker_connections': {'type': 'int'}},
         'redis': {'redis_appendonly': {'type': 'bool'}, 'redis_acl_app_password': {'type': 'int', 'no_log': True}}}


def test_argument_specs_are_applied_to_the_hosts_of_the_role():
    inv = inventory({'nginx_tls_profile': 'old', 'nginx_worker_connections': 'many', 'redis_appendonly': 'maybe'})
    inv.argument_specs = SPECS
    problems = v.validate(inv)
    assert variables_of(problems) == ['nginx_tls_profile', 'nginx_worker_connections', 'redis_appendonly']
    by_name = dict((p.variable, p) for p in problems)
    assert by_name['nginx_tls_profile'].fix == 'use one of: intermediate, modern'
    assert 'argument spec of bulwark.stack.nginx' in by_name['nginx_tls_profile'].problem
    assert len([p for p in problems if p.variable == 'nginx_worker_connections']) == 1  # not again as "not an integer"


def test_argument_specs_mask_no_log_values():
    inv = inventory({'redis_acl_app_password': 'Ap3$kW8-nF2!qYh6-Jc5'})
    inv.argument_specs = SPECS
    problems = [p for p in v.validate(inv) if 'argument spec' in p.problem]
    assert variables_of(problems) == ['redis_acl_app_password'] and 'Ap3$kW8' not in str(problems)


def test_production_encrypts_the_internal_ca_key():
    def without_passphrase(settings):
        inv = inventory(settings, environment='production', vaulted=True)
        for host in inv.hosts.values():
            del host.variables['internal_ca_passphrase'], host.origins['internal_ca_passphrase']
        return v.validate(inv)
    problems = without_passphrase(PRIVATE)
    assert variables_of(problems) == ['internal_ca_passphrase'] and 'unencrypted' in problems[0].problem
    assert without_passphrase(dict(PRIVATE, internal_ca_generate=False)) == []  # the operator's own CA
    problems = v.validate(inventory(dict(PRIVATE, internal_ca_passphrase=''), environment='production', vaulted=True))
    assert variables_of(problems) == ['internal_ca_passphrase']


def test_one_internal_ca_per_inventory():
    names = GROUPS['all']
    problems = v.validate(inventory(per_host={names[-1]: {'internal_ca_dir': '/elsewhere'}}))
    assert variables_of(problems) == ['internal_ca_dir'] and 'one per inventory' in problems[0].problem


@pytest.mark.parametrize('renew, lifetime, refused', [(30, 365, False), (364, 365, False), (365, 365, True), (400, 90, True)])
def test_internal_ca_renews_before_the_end_not_at_every_run(renew, lifetime, refused):
    problems = v.validate(inventory({'internal_ca_renew_days': renew, 'internal_ca_cert_lifetime_days': lifetime}))
    assert variables_of(problems) == (['internal_ca_renew_days'] if refused else [])


APP = {'app_sample_never_ready': False, 'app_tls_enabled': True, 'app_tls_name': 'app.bulwark.internal'}
NGINX = {'nginx_worker_connections': 1024, 'nginx_upstream_group': 'app', 'nginx_upstream_tls_name': 'app.bulwark.internal'}
HAPROXY = {'haproxy_maxconn': 4096,
           'haproxy_backends': [{'name': 'app', 'group': 'app', 'port': 8000, 'tls_name': 'app.bulwark.internal'}],
           'haproxy_frontends': [{'name': 'https', 'default_backend': 'app'}]}


@pytest.mark.parametrize('lb, app, refused', [
    (NGINX, APP, []),
    (HAPROXY, APP, []),
    (dict(NGINX, nginx_upstream_tls_name='other.name'), APP, ['nginx_upstream_tls_name']),
    (dict(NGINX, nginx_upstream_tls_name=''), APP, ['nginx_upstream_tls_name']),
    (NGINX, dict(APP, app_tls_enabled=False), ['app_tls_enabled']),
    (dict(NGINX, nginx_upstream_tls_name=''), dict(APP, app_tls_enabled=False), []),
    (dict(HAPROXY, haproxy_backends=[{'name': 'app', 'group': 'app', 'port': 8000}]), APP, ['haproxy_backends[0].tls_name']),
    (dict(HAPROXY, haproxy_backends=[{'name': 'app', 'group': 'app', 'port': 8000, 'tls_name': 'x.y'}]), APP,
     ['haproxy_backends[0].tls_name']),
], ids=['nginx-same-name', 'haproxy-same-name', 'nginx-other-name', 'nginx-plain-to-https', 'nginx-tls-to-plain',
        'both-plain', 'haproxy-plain-to-https', 'haproxy-other-name'])
def test_load_balancers_check_the_name_the_app_certificates_carry(lb, app, refused):
    assert variables_of(v.validate(inventory(per_host={'lb1': lb, 'app1': app}))) == refused


REDIS_RUNS = {'redis_host_tuning': True, 'redis_sentinel_min_production_sentinels': 3}
APP_REDIS = {'app_sample_never_ready': False, 'app_redis_sentinels': ['10.0.0.1:26379'], 'app_redis_tls_ca_file': '/etc/ssl/bulwark/ca.crt'}


@pytest.mark.parametrize('redis, r3, app, refused', [
    ({}, {}, {}, []),
    ({'redis_tls_enabled': False}, {}, {'app_redis_tls_ca_file': ''}, []),
    ({}, {'redis_tls_enabled': 'no'}, {}, ['redis_tls_enabled']),
    ({}, {'redis_sentinel_tls_enabled': False}, {}, ['redis_sentinel_tls_enabled']),
    ({'redis_tls_enabled': 'false'}, {'redis_sentinel_tls_enabled': True}, {'app_redis_tls_ca_file': ''}, ['redis_sentinel_tls_enabled']),
    ({}, {}, {'app_redis_tls_ca_file': ''}, ['app_redis_tls_ca_file']),
    ({'redis_tls_enabled': False}, {}, {}, ['app_redis_tls_ca_file']),
    ({}, {}, {'app_redis_tls_ca_file': '', 'app_redis_sentinels': []}, []),
], ids=['tls-everywhere', 'plaintext-everywhere', 'mixed-group', 'sentinel-plaintext', 'sentinel-tls-to-plaintext',
        'app-plaintext-to-tls', 'app-tls-to-plaintext', 'app-without-redis'])
def test_redis_sentinel_and_app_speak_one_protocol(redis, r3, app, refused):
    per_host = {name: dict(REDIS_RUNS, **redis) for name in GROUPS['redis']}
    per_host['r3'].update(r3)
    per_host['app1'] = dict(APP_REDIS, **app)
    problems = v.check_redis_tls(inventory(per_host=per_host))
    assert variables_of(problems) == refused
    assert all(p.fix for p in problems)


@pytest.mark.parametrize('value, expected', [
    (True, True), ('yes', True), ('True', True), ('on', True), (1, True), (False, False), ('no', False), ('false', False),
    ('off', False), (0, False), (None, None), ('maybe', None), (2, None),
])
def test_as_bool_reads_booleans_as_ansible_does(value, expected):
    assert v.as_bool(value) is expected


def lb_problems(settings, environment='lab', per_host=None):
    return [p for p in v.validate(inventory(settings, per_host=per_host, environment=environment, vaulted=True))
            if p.variable.startswith(('lb_certificate', 'nginx_', 'haproxy_'))]


@pytest.mark.parametrize('settings, variable, words', [
    ({'lb_certificate_acme_directory': 'http://acme.example.org/dir', 'lb_certificate_acme_terms_agreed': True},
     'lb_certificate_acme_directory', 'https URL'),
    ({'lb_certificate_acme_directory': 'https://acme.example.org/dir\nx', 'lb_certificate_acme_terms_agreed': True},
     'lb_certificate_acme_directory', 'https URL'),
    ({'lb_certificate_acme_directory': ACME_DIRECTORY}, 'lb_certificate_acme_terms_agreed', 'terms of service'),
    ({'lb_certificate_acme_directory': ACME_DIRECTORY, 'lb_certificate_acme_terms_agreed': 'no'},
     'lb_certificate_acme_terms_agreed', 'terms of service'),
    ({'lb_certificate_acme_directory': ACME_DIRECTORY, 'lb_certificate_acme_terms_agreed': True,
      'lb_certificate_acme_email': 'ops@example.org\nx'}, 'lb_certificate_acme_email', 'e-mail'),
    ({'lb_certificate_acme_directory': ACME_DIRECTORY, 'lb_certificate_acme_terms_agreed': True,
      'nginx_acme_root': '/var/www/acme'}, 'nginx_acme_root', 'at once'),
    ({'lb_certificate_acme_directory': ACME_DIRECTORY, 'lb_certificate_acme_terms_agreed': True,
      'nginx_tls_cert': 'PEM'}, 'lb_certificate_acme_directory', 'not both'),
])
def test_lb_certificate_acme_settings_are_checked(settings, variable, words):
    problems = [p for p in lb_problems(settings) if 'tls_cert' not in p.variable or variable == p.variable]
    assert variable in variables_of(problems) and any(words in p.problem + p.fix for p in problems), problems


def test_lb_certificate_good_acme_settings_pass():
    assert lb_problems({'lb_certificate_acme_directory': ACME_DIRECTORY, 'lb_certificate_acme_terms_agreed': 'yes',
                        'lb_certificate_acme_email': 'ops@example.org'}) == []


def test_production_lb_needs_a_certificate_browsers_trust():
    problems = lb_problems({'lb_certificate_acme_directory': ''}, environment='production')
    assert variables_of(problems) == ['nginx_tls_cert'] and 'internal CA' in problems[0].problem
    haproxy = lb_problems({'lb_certificate_acme_directory': ''}, environment='production',
                          per_host={'lb1': {'lb_server': 'haproxy'}})
    assert variables_of(haproxy) == ['haproxy_tls_cert']
    assert lb_problems({}, environment='production') == []  # ACME (the inventory helper's production default)


def test_pgbackrest_repository_may_not_be_a_database_host():
    """Backups that survive losing the database host: a repository host in group postgres is refused."""
    groups = dict(GROUPS, backup=['db1'])
    common = {'pgbackrest_retention_diff': 7, 'pgbackrest_cipher_pass': GOOD_SECRET}
    per_host = {'db1': {'pgbackrest_repository_host': 'db1', 'pgbackrest_primary': 'db1'}}
    problems = v.check_pgbackrest(inventory(common, per_host, groups=groups))
    assert [(p.variable, 'also a database host' in p.problem) for p in problems] == [('pgbackrest_repository_host', True)]
    per_host = {'mon1': {'pgbackrest_repository_host': 'mon1', 'pgbackrest_primary': 'db1'}}
    assert v.check_pgbackrest(inventory(common, per_host)) == []


# ---------------------------------------------------------------------------------------------------------------
# lockout: a run never cuts its own SSH connection (sshd's PermitRootLogin, the firewall's SSH sources and port)
# ---------------------------------------------------------------------------------------------------------------

SSH_LOGIN = {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1'}


@pytest.fixture
def routes(monkeypatch):
    """The controller's source address per (address, port), without asking the real routing table."""
    asked = []

    def route_source(address, port):
        asked.append((address, port))
        return routes.table.get(address)
    routes.table = {'127.0.0.1': '127.0.0.1', '10.20.0.5': '192.0.2.10'}
    monkeypatch.setattr(v, 'route_source', route_source)
    routes.asked = asked
    return routes


def lockout(settings=None, per_host=None):
    return v.check_lockout(role_inventory(dict(settings or {}), per_host=per_host))


def test_root_login_that_permit_root_login_no_would_lock_out(routes):
    problems = lockout({'baseline_ssh_permit_root_login': 'no'}, {'db1': dict(SSH_LOGIN, ansible_user='root')})
    assert [(p.variable, p.value) for p in problems] == [('baseline_ssh_permit_root_login', "'no'")]
    assert 'logs in to db1 as root over SSH' in problems[0].problem and 'PermitRootLogin no' in problems[0].problem
    assert 'prohibit-password' in problems[0].fix and 'ansible_user' in problems[0].fix
    assert variables_of(v.validate(role_inventory({'baseline_ssh_permit_root_login': 'no'},
                                                  per_host={'db1': dict(SSH_LOGIN, ansible_user='root')}))) == \
        ['baseline_ssh_permit_root_login']


def test_root_login_hosts_alike_are_named_in_one_problem(routes):
    problems = lockout({'baseline_ssh_permit_root_login': 'no', 'ansible_user': 'root'})  # no ansible_connection: ssh
    assert len(problems) == 1 and 'logs in to %s as root' % ', '.join(sorted(GROUPS['all'])) in problems[0].problem


@pytest.mark.parametrize('settings', [
    {'ansible_user': 'deploy'},
    {},  # no ansible_user: the controller's user, remote_user or ~/.ssh/config decide (unknown here)
    {'ansible_user': 'root', 'ansible_ssh_user': 'deploy'},  # ansible_ssh_user wins, as in the ssh plugin
    {'ansible_user': 'root', 'baseline_ssh_permit_root_login': 'prohibit-password'},
    {'ansible_user': 'root', 'baseline_ssh_enabled': False},  # sshd left alone
    {'ansible_user': 'root', 'ansible_connection': 'community.docker.docker'},
    {'ansible_user': 'root', 'ansible_connection': 'local'},
], ids=['admin-user', 'user-unknown', 'ssh-user-wins', 'prohibit-password', 'sshd-untouched', 'docker', 'local'])
def test_root_login_not_refused(settings, routes):
    permit = {} if 'baseline_ssh_permit_root_login' in settings else {'baseline_ssh_permit_root_login': 'no'}
    per_host = {'db1': dict(dict(SSH_LOGIN, **settings), **permit)}
    assert lockout(per_host=per_host) == []


@pytest.mark.parametrize('connection', sorted(v.SSH_CONNECTIONS))
def test_every_ssh_like_connection_is_concerned(connection, routes):
    per_host = {'db1': dict(SSH_LOGIN, ansible_connection=connection, ansible_ssh_user='root', baseline_ssh_permit_root_login='no')}
    assert variables_of(lockout(per_host=per_host)) == ['baseline_ssh_permit_root_login']


def test_firewall_admin_networks_that_shut_out_the_controller(routes):
    per_host = {'db1': dict(SSH_LOGIN, ansible_host='10.20.0.5', firewall_admin_networks=['10.99.0.0/24', '10.98.0.7'])}
    problems = lockout(per_host=per_host)
    assert [(p.variable, p.value) for p in problems] == [('firewall_admin_networks', "['10.99.0.0/24', '10.98.0.7']")]
    assert 'admits SSH only from 10.99.0.0/24, 10.98.0.7, but this run reaches db1 (10.20.0.5) from 192.0.2.10' in problems[0].problem
    assert 'cut its own connection' in problems[0].problem
    assert 'add 192.0.2.10 (or its network) to firewall_admin_networks' in problems[0].fix
    assert 'firewall_controller_address' in problems[0].fix
    assert routes.asked == [('10.20.0.5', 22)]


@pytest.mark.parametrize('settings', [
    {'firewall_admin_networks': ['192.0.2.0/24']},
    {'firewall_admin_networks': ['10.99.0.0/24', '192.0.2.10']},
    {'firewall_admin_networks': ['10.99.0.0/24', 'any']},
    {'firewall_admin_networks': []},  # SSH from anywhere
    {'firewall_admin_networks': ['10.99.0.0/24'], 'firewall_controller_address': '10.99.0.7'},  # NAT: what the host sees
    {'firewall_admin_networks': ['10.99.0.0/24'], 'ansible_host': 'no-route.invalid'},  # no address: not guessed
    {'firewall_admin_networks': ['10.99.0.0/24'], 'ansible_connection': 'community.docker.docker'},
], ids=['network', 'address', 'any', 'empty', 'controller-address', 'no-route', 'docker'])
def test_firewall_admin_networks_that_admit_the_controller(settings, routes):
    per_host = {'db1': dict(dict(SSH_LOGIN, ansible_host='10.20.0.5'), **settings)}
    assert lockout(per_host=per_host) == []
    if 'firewall_controller_address' in settings or 'ansible_connection' in settings:
        assert routes.asked == []  # the routing table is not consulted


def test_firewall_controller_address_is_the_address_compared(routes):
    per_host = {'db1': dict(SSH_LOGIN, firewall_admin_networks=['10.99.0.0/24'], firewall_controller_address='203.0.113.9')}
    problems = lockout(per_host=per_host)
    assert variables_of(problems) == ['firewall_admin_networks'] and 'from 203.0.113.9 (firewall_controller_address)' in problems[0].problem
    assert routes.asked == []


def test_firewall_admin_networks_the_firewall_refuses_are_reported_once(routes):
    problems = v.validate(role_inventory({}, per_host={'db1': dict(SSH_LOGIN, firewall_admin_networks=['office'])}))
    assert variables_of(problems) == ['firewall_admin_networks[0]']  # check_firewall_sources, not the lockout too


def test_firewall_controller_address_must_be_an_address(routes):
    problems = v.validate(role_inventory({}, per_host={'db1': dict(SSH_LOGIN, firewall_controller_address='vpn-gateway')}))
    assert variables_of(problems) == ['firewall_controller_address'] and problems[0].problem == 'not an IP address'


def test_firewall_ssh_port_other_than_the_port_the_run_connects_on(routes):
    problems = lockout(per_host={'db1': dict(SSH_LOGIN, ansible_port=2222)})
    assert [(p.variable, p.value) for p in problems] == [('firewall_ssh_port', '22')]
    assert 'open SSH on port 22 while this run connects to db1 on port 2222' in problems[0].problem
    assert 'firewall_ssh_port: 2222' in problems[0].fix
    problems = lockout({'firewall_ssh_port': 2222}, per_host={'db1': dict(SSH_LOGIN)})
    assert [(p.variable, p.value) for p in problems] == [('firewall_ssh_port', '2222')]
    assert len(problems[0].problem.split(' on port 22:')[0].split(', ')) == len(GROUPS['all'])  # one problem, every host
    others = lockout({'firewall_ssh_port': 2222}, per_host={'db1': dict(SSH_LOGIN, ansible_port='2222')})
    assert len(others) == 1 and 'db1' not in others[0].problem and 'app1, lb1' in others[0].problem
    assert lockout({'firewall_ssh_port': 2222, 'ansible_port': 2222}) == []
    assert lockout({'firewall_ssh_port': 2222, 'ansible_port': 22, 'ansible_ssh_port': 2222}) == []  # ansible_ssh_port wins
    assert lockout({'firewall_ssh_port': 2222, 'ansible_connection': 'community.docker.docker'}) == []


def test_connection_variables_are_read_by_the_lockout_check_only(routes):
    # ansible_port ends with _port, but it is Ansible's: no range check; a port that is no port is not compared
    assert v.validate(role_inventory({'ansible_port': 'x', 'ansible_connection': 'ssh', 'ansible_user': 'deploy'})) == []
    assert v.validate(role_inventory({'ansible_port': 0, 'ansible_connection': 'community.docker.docker'})) == []


def test_a_role_that_does_not_run_is_not_checked(routes):
    per_host = {'db1': dict(SSH_LOGIN, ansible_user='root', ansible_port=2222, baseline_ssh_permit_root_login='no',
                            firewall_admin_networks=['10.99.0.0/24'])}
    assert variables_of(v.check_lockout(inventory(per_host=per_host))) == []  # no role markers: neither role runs


def test_route_source_asks_the_routing_table_without_sending():
    assert v.route_source('127.0.0.1', 22) == '127.0.0.1'
    assert v.route_source('no-such-host.invalid', 22) is None  # a name: no DNS query, not checked
