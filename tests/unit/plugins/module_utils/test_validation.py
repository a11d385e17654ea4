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
          'pgbouncer': ['db1'], 'redis': ['r1', 'r2', 'r3'], 'monitoring': ['mon1']}
GOOD_SECRET = 'Vq8#kLm2!vB7rT9xWp4'


def inventory(common=None, per_host=None, groups=None, environment='lab', vaulted=False):
    groups = groups or GROUPS
    hosts = {}
    for name in groups['all']:
        variables = dict(common or {})
        variables.update((per_host or {}).get(name, {}))
        variables.setdefault('bulwark_environment', environment)
        origins = dict((k, 'group all (test)') for k in variables)
        vault = dict((p, vaulted) for p, dummy in v.secret_leaves(variables))
        hosts[name] = v.Host(name, variables, origins, vault, memtotal_mb=1024)
    return v.Inventory(hosts, groups)


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
    assert 'predictable' in str(v.validate(inventory({'redis_password': 'aaaaaaaaaaaaaaaabbbb'})))


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


def test_production_requires_vault():
    problems = v.validate(inventory({'redis_password': GOOD_SECRET}, environment='production'))
    assert variables_of(problems) == ['redis_password'] and 'Vault' in problems[0].fix
    assert v.validate(inventory({'redis_password': GOOD_SECRET}, environment='production', vaulted=True)) == []


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
