# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table-driven bad-input suite for the preflight validation (playbooks/validate.yml).

Each row is one bad setting: where it is set (inventory group or host), the variables, and the exact variables the
validation must name (with the group/host they came from). Rows are packed into as few inventories as possible
(rows that set the same variable go to different ones) and each inventory is validated by ONE real
``ansible-playbook -i <generated inventory> playbooks/validate.yml`` run, which reports all its failures at once.
The suite asserts, for every run: the play failed; exactly the expected variables were named; and no inventory
host was contacted or changed: every task ran on the controller (delegated to localhost, local connection). The
inventory hosts use the community.docker.docker connection to containers that do not exist, so any attempt to reach
one would show up as unreachable in the recap (the lockout rows give one host each an SSH connection to 127.0.0.1
instead: an attempt to reach it would show up the same way). Each row is also its own test
case (``test_bad_setting_is_refused[<id>]``), so pytest counts the cases.

The rows cover every kind of check of the one validation layer (plugins/module_utils/validation.py, with the roles'
argument specs applied on the controller): secrets (placeholders, length, strength by the zxcvbn estimator, reuse,
vault in production), ranges, types and choices, topology, cross-field, the checks the roles' preflight made before
(one row each), and config-line injection (control and quote-ending characters) for every role that renders
free-form strings.

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
         'redis': ['redis1', 'redis2', 'redis3'], 'monitoring': ['mon1'], 'backup': ['mon1']}
SECRETS = {  # random-looking, distinct: the secrets the roles need (group all, as in the lab)
    'redis_acl_admin_password': 'Ad9#mQ2-vL7!xRt4-Zp8',
    'redis_acl_app_password': 'Ap3$kW8-nF2!qYh6-Jc5',
    'redis_acl_replication_password': 'Rp6%tB1-hM9!sGd3-Xe7',
    'redis_acl_sentinel_password': 'Sn4&vC7-jK2!wPf8-Ub1',
    'redis_sentinel_password': 'Sq2*yD5-gN8!rTk1-Ha6',
    'redis_acl_monitor_password': 'Mn8^fR3-bK6!tZq2-Vd9',
    'internal_ca_passphrase': 'Ca5!pH7-rQ2#zN8-Wt4',
    'pgbackrest_cipher_pass': 'Bk3@wS9-repo!Lh5-Nq2',
}
GOOD = dict({  # a valid lab inventory: validates clean
    'bulwark_environment': 'lab',
    'bulwark_internal_network': '10.20.0.0/24',
    'node_exporter_tls_enabled': True,
    'node_exporter_basic_auth_users': {'prometheus': 'Sc7!rape-Qw9#good-Lx2'},
}, **SECRETS)
STRONG = 'Pw7@zE3-fL6!uVb9-Ko2'  # strong secrets for rows that need one besides the bad setting
STRONG2 = 'Qx5^hT8-cW3!pLm6-Ry9'


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
SSH_TO_LOOPBACK = {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1'}  # lockout rows: loopback only, never contacted
LR = 'logrotate_rules_extra.'


def _rule(name):
    return {'paths': ['/var/log/%s.log' % name], 'detect': '/etc/%s' % name}


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
    ('backup-keep-min-zero', 'postgres', {'postgresql_backup_keep_min': 0}, ['postgresql_backup_keep_min']),
    ('app-memory-max-words', 'app', {'app_memory_max': 'half the RAM'}, ['app_memory_max']),
    ('app-memory-max-injection', 'app', {'app_memory_max': '512M\nUser=root'}, ['app_memory_max']),
    ('app-cpu-quota-not-percent', 'app', {'app_cpu_quota': '2 cpus'}, ['app_cpu_quota']),
    ('app-tasks-max-too-low', 'app', {'app_tasks_max': 2}, ['app_tasks_max']),
    ('app-tmp-size-injection', 'app', {'app_tmp_size': '64M,exec'}, ['app_tmp_size']),
    ('redis-discovery-bootstrap-not-bool', 'redis', {'redis_discovery_bootstrap': 'perhaps'}, ['redis_discovery_bootstrap']),
    ('sentinel-discovery-bootstrap-not-bool', 'redis', {'redis_sentinel_discovery_bootstrap': 'perhaps'},
     ['redis_sentinel_discovery_bootstrap']),
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
    ('extra-rule-not-mapping', 'all', {'firewall_extra_rules': ['22/tcp']}, ['firewall_extra_rules', 'firewall_extra_rules[0]']),
    # lockout: settings that would cut the run's own SSH connection. One host logs in over SSH to loopback (the others
    # keep the docker connection); validate.yml runs on the controller only, so even that host is never contacted.
    ('lockout-root-login-permit-root-login-no', 'host:lb1', dict(SSH_TO_LOOPBACK, ansible_user='root', baseline_ssh_permit_root_login='no'),
     ['baseline_ssh_permit_root_login']),
    ('lockout-admin-networks-shut-out-the-controller', 'host:mon1', dict(SSH_TO_LOOPBACK, firewall_admin_networks=['10.99.0.0/24']),
     ['firewall_admin_networks']),
    ('lockout-firewall-ssh-port-not-the-run-port', 'host:db1', dict(SSH_TO_LOOPBACK, ansible_port=2222), ['firewall_ssh_port']),
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
                                             'pgbouncer_databases': [{'name': 'app'}],
                                             'pgbouncer_users': [{'name': 'app', 'password': STRONG}]},
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
    ('group-missing', 'groups', {'postgres': None}, ['groups.postgres', 'bulwark_services.postgresql.allow_from[1]',
                                                     'bulwark_services.pgbackrest.allow_from[0]']),
    ('port-bound-twice-override', 'all', {'bulwark_services': {'redis_sentinel': {'port': 6379}}}, ['bulwark_services.redis_sentinel.port']),
    ('port-bound-twice-role-var', 'app', {'node_exporter_port': 8000}, ['node_exporter_port']),
    ('topology-bad-port', 'all', {'bulwark_services': {'app': {'port': 'x'}}}, ['bulwark_services']),
    ('topology-unknown-group', 'all', {'bulwark_services': {'app': {'allow_from': ['lb', 'ghosts']}}}, ['bulwark_services.app.allow_from[1]']),
    # production: secrets must come from Ansible Vault
    ('production-plain-secret', 'production', {'redis_acl_admin_password': 'Pl4in!Text-Secret-Zz9'}, ['redis_acl_admin_password']),
    ('production-plain-tls-key', 'production', {'node_exporter_tls_cert': CERT, 'node_exporter_tls_key': KEY}, ['node_exporter_tls_key']),
    # production: services on a private internal network (else they bind to the default-route address)
    ('internal-network-unset-in-production', 'production', {'bulwark_internal_network': ''}, ['bulwark_internal_network']),
    ('internal-network-public-in-production', 'production', {'bulwark_internal_network': '52.0.0.0/16'}, ['bulwark_internal_network']),
    ('internal-address-outside-in-production', 'production', {'bulwark_internal_address': '10.99.0.5'}, ['bulwark_internal_address']),
    # the LB's public certificate (bulwark.stack.lb_certificate): ACME settings, and one browsers trust in production
    ('production-lb-without-public-certificate', 'production', {'lb_certificate_acme_directory': ''}, ['nginx_tls_cert']),
    ('production-alerts-reach-nobody', 'production', {'alertmanager_webhook_urls': []}, ['alertmanager_webhook_urls']),
    # (rows that set a directory also say nginx_tls_cert: '', so that no row with an operator certificate shares
    # their inventory: both at once is a problem of its own)
    ('acme-directory-not-https', 'lb', {'lb_certificate_acme_directory': 'http://acme.example.org/directory',
                                        'lb_certificate_acme_terms_agreed': True, 'nginx_tls_cert': ''},
     ['lb_certificate_acme_directory']),
    ('acme-terms-not-agreed', 'lb', {'lb_certificate_acme_directory': 'https://acme.example.org/directory',
                                     'nginx_tls_cert': ''}, ['lb_certificate_acme_terms_agreed']),
    ('acme-terms-not-a-bool', 'lb', {'lb_certificate_acme_terms_agreed': 'maybe'}, ['lb_certificate_acme_terms_agreed']),
    ('acme-email-newline', 'lb', {'lb_certificate_acme_email': 'ops@example.org\nx'}, ['lb_certificate_acme_email']),
    ('acme-renew-days-zero', 'lb', {'lb_certificate_acme_renew_days': 0}, ['lb_certificate_acme_renew_days']),
    ('acme-with-nginx-acme-root', 'lb', {'nginx_acme_root': '/var/www/acme', 'lb_certificate_acme_directory':
                                         'https://acme.example.org/directory', 'lb_certificate_acme_terms_agreed': True,
                                         'nginx_tls_cert': ''},
     ['nginx_acme_root']),
    # the internal CA: one per inventory, renewed before the end of a certificate's life, its key encrypted
    ('secret-internal-ca-passphrase-empty', 'all', {'internal_ca_passphrase': ''}, ['internal_ca_passphrase']),
    ('internal-ca-renew-not-before-the-end', 'all', {'internal_ca_renew_days': 365}, ['internal_ca_renew_days']),
    ('internal-ca-dir-differs-between-hosts', 'host:redis2', {'internal_ca_dir': '/srv/another-ca'}, ['internal_ca_dir']),
    # LB to app over TLS: the load balancer checks the name the app hosts' certificates carry
    ('lb-upstream-tls-name-not-the-apps', 'lb', {'nginx_upstream_tls_name': 'www.example.com'}, ['nginx_upstream_tls_name']),
    ('app-plain-http-while-lb-expects-tls', 'app', {'app_tls_enabled': 'false'}, ['app_tls_enabled']),
    ('inject-nginx-upstream-tls-name', 'host:lb1', {'nginx_upstream_tls_name': 'app.bulwark.internal;\nproxy_ssl_verify off'},
     ['nginx_upstream_tls_name']),
    # Redis, its sentinels and the app speak one protocol (TLS by default)
    ('redis-one-host-plaintext', 'host:redis2', {'redis_tls_enabled': 'false'}, ['redis_tls_enabled']),
    ('redis-sentinel-plaintext-to-tls-redis', 'redis', {'redis_sentinel_tls_enabled': 'false'}, ['redis_sentinel_tls_enabled']),
    ('app-plaintext-to-tls-redis', 'app', {'app_redis_sentinels': ['10.0.0.1:26379'], 'app_redis_tls_ca_file': ''}, ['app_redis_tls_ca_file']),
    ('inject-app-redis-tls-ca-file', 'app', {'app_redis_tls_ca_file': '/etc/ssl/bulwark/ca.crt\nREDIS_TLS_CA_FILE='},
     ['app_redis_tls_ca_file']),

    # ---- checks the roles' tasks/preflight.yml made on every host before; now once, on the controller ----
    # app
    ('app-version-not-a-directory-name', 'app', {'app_version': '../../etc'}, ['app_version']),
    ('app-artifact-without-checksum', 'host:app1', {'app_artifact': 'https://artifacts.example.com/a.tar.gz',
                                                    'app_command': ['/opt/bulwark-app/current/bin/a']}, ['app_artifact_checksum']),
    ('app-checksum-not-algorithm-hex', 'host:app2', {'app_artifact': '/srv/a.tar.gz', 'app_artifact_checksum': 'sha256:xyz',
                                                     'app_command': ['/opt/bulwark-app/current/bin/a']}, ['app_artifact_checksum']),
    ('app-artifact-without-command', 'app', {'app_artifact': '/srv/a.tar.gz', 'app_artifact_checksum': 'sha256:' + 'ab' * 32},
     ['app_command']),
    ('app-database-url-not-postgresql', 'app', {'app_database_url': 'mysql://app@db1/app'}, ['app_database_url']),
    ('app-database-url-without-verified-tls', 'app', {'app_database_url': 'postgresql://app@db1:6432/app?sslmode=require'},
     ['app_database_url']),
    ('app-redis-sentinel-not-host-port', 'app', {'app_redis_sentinels': ['10.20.0.21']}, ['app_redis_sentinels[0]']),
    ('app-redis-master-name-empty', 'app', {'app_redis_master_name': ''}, ['app_redis_master_name']),
    ('app-stop-timeout-zero', 'app', {'app_stop_timeout': 0}, ['app_stop_timeout']),
    # baseline
    ('ssh-kex-list-empty', 'all', {'baseline_ssh_kex_algorithms': []}, ['baseline_ssh_kex_algorithms']),
    ('ssh-cipher-list-empty', 'all', {'baseline_ssh_ciphers': []}, ['baseline_ssh_ciphers']),
    ('ssh-mac-list-empty', 'all', {'baseline_ssh_macs': []}, ['baseline_ssh_macs']),
    ('ssh-allow-group-not-a-name', 'all', {'baseline_ssh_allow_groups': ['ops team']}, ['baseline_ssh_allow_groups[0]']),
    ('sysctl-extra-key-not-dotted', 'all', {'baseline_sysctl_extra': {'somaxconn': 1024}}, ['baseline_sysctl_extra.somaxconn']),
    ('unattended-origins-empty', 'all', {'baseline_unattended_upgrades_origins': []}, ['baseline_unattended_upgrades_origins']),
    ('unattended-reboot-time-format', 'all', {'baseline_unattended_upgrades_reboot_time': '3:30am'},
     ['baseline_unattended_upgrades_reboot_time']),
    ('journald-size-unit', 'all', {'baseline_journald_system_max_file_size': '128mb'}, ['baseline_journald_system_max_file_size']),
    ('service-user-without-name', 'all', {'baseline_service_users': [{'groups': ['adm']}]}, ['baseline_service_users[0].name']),
    ('umask-not-octal', 'all', {'baseline_umask': '0x27'}, ['baseline_umask']),
    ('ssh-max-startups-format', 'all', {'baseline_ssh_max_startups': '10:30'}, ['baseline_ssh_max_startups']),
    ('yescrypt-cost-out-of-range', 'all', {'baseline_password_yescrypt_cost_factor': 20}, ['baseline_password_yescrypt_cost_factor']),
    ('security-mirror-not-a-url', 'all', {'baseline_apt_security_mirror': 'deb.debian.org/debian-security'},
     ['baseline_apt_security_mirror']),
    # haproxy
    ('haproxy-chain-without-cert', 'lb', {'haproxy_tls_chain': OTHER_CERT}, ['haproxy_tls_chain']),
    ('haproxy-backends-empty', 'lb', {'haproxy_backends': []}, ['haproxy_backends']),
    ('haproxy-frontends-empty', 'lb', {'haproxy_frontends': []}, ['haproxy_frontends']),
    ('haproxy-backend-without-name', 'lb', {'haproxy_backends': [{'group': 'app', 'port': 8000}]}, ['haproxy_backends[0].name']),
    ('haproxy-frontend-without-name', 'lb', {'haproxy_frontends': [{'default_backend': 'app'}]}, ['haproxy_frontends[0].name']),
    ('haproxy-frontend-without-default-backend', 'lb', {'haproxy_frontends': [{'name': 'https'}]},
     ['haproxy_frontends[0].default_backend']),
    ('haproxy-backend-group-without-hosts', 'lb', {'haproxy_backends': [{'name': 'app', 'group': 'web', 'port': 8000}]},
     ['haproxy_backends[0].group']),
    ('haproxy-frontend-unknown-backend', 'lb', {'haproxy_frontends': [{'name': 'https', 'default_backend': 'api'}]},
     ['haproxy_frontends[0].default_backend']),
    # logrotate (rules of logrotate_rules_extra, each otherwise valid: paths and detect)
    ('logrotate-rule-not-mapping', 'all', {LR + 'r01': 'daily'}, [LR + 'r01']),
    ('logrotate-rule-unknown-key', 'all', {LR + 'r02': dict(_rule('r02'), weekly=True)}, [LR + 'r02']),
    ('logrotate-rule-without-paths', 'all', {LR + 'r03': {'detect': '/etc/r03'}}, [LR + 'r03.paths']),
    ('logrotate-path-not-absolute', 'all', {LR + 'r04': dict(_rule('r04'), paths=['var/log/r04.log'])}, [LR + 'r04.paths[0]']),
    ('logrotate-rule-without-detect', 'all', {LR + 'r05': {'paths': ['/var/log/r05.log']}}, [LR + 'r05.detect']),
    ('logrotate-frequency-unknown', 'all', {LR + 'r06': dict(_rule('r06'), frequency='fortnightly')}, [LR + 'r06.frequency']),
    ('logrotate-maxsize-unit', 'all', {LR + 'r07': dict(_rule('r07'), maxsize='100MB')}, [LR + 'r07.maxsize']),
    ('logrotate-rotate-words', 'all', {LR + 'r08': dict(_rule('r08'), rotate='ten')}, [LR + 'r08.rotate']),
    ('logrotate-maxage-negative', 'all', {LR + 'r09': dict(_rule('r09'), maxage=-1)}, [LR + 'r09.maxage']),
    ('logrotate-create-with-copytruncate', 'all', {LR + 'r10': dict(_rule('r10'), copytruncate=True, create='0640 root adm')},
     [LR + 'r10.create']),
    ('logrotate-create-format', 'all', {LR + 'r11': dict(_rule('r11'), create='640 root')}, [LR + 'r11.create']),
    ('logrotate-su-format', 'all', {LR + 'r12': dict(_rule('r12'), su='root')}, [LR + 'r12.su']),
    ('logrotate-replaces-not-a-file-name', 'all', {LR + 'r13': dict(_rule('r13'), replaces='../nginx')}, [LR + 'r13.replaces']),
    ('logrotate-timer-empty', 'all', {'logrotate_timer_oncalendar': ''}, ['logrotate_timer_oncalendar']),
    # nginx
    ('nginx-chain-without-cert', 'lb', {'nginx_tls_chain': OTHER_CERT}, ['nginx_tls_chain']),
    ('nginx-upstream-group-missing', 'lb', {'nginx_upstream_group': 'web'}, ['nginx_upstream_group']),
    # pgbouncer
    ('pgbouncer-user-without-name', 'pgbouncer', {'pgbouncer_users': [{'password': STRONG}]}, ['pgbouncer_users[0].name']),
    ('pgbouncer-auth-user-not-plain', 'pgbouncer', {'pgbouncer_auth_user': 'PgBouncer-Auth'}, ['pgbouncer_auth_user']),
    ('pgbouncer-client-ca-needs-auth-cert', 'host:db1', {'pgbouncer_auth_mode': 'auth_query', 'postgresql_tls_client_ca_cert': OTHER_CERT,
                                                         'postgresql_cert_auth_users': ['pgbouncer_auth']},
     ['pgbouncer_auth_tls_cert']),
    ('pgbouncer-auth-cert-without-key', 'pgbouncer', {'pgbouncer_auth_tls_cert': CERT}, ['pgbouncer_auth_tls_key']),
    ('pgbouncer-verify-without-ca-file', 'pgbouncer', {'pgbouncer_server_tls_sslmode': 'verify-full', 'pgbouncer_server_tls_ca_file': ''},
     ['pgbouncer_server_tls_ca_file']),
    ('pgbouncer-postgres-host-not-postgres', 'pgbouncer', {'pgbouncer_postgres_host': 'redis1'}, ['pgbouncer_postgres_host']),
    ('bind-address-not-ip', 'redis', {'redis_bind_address': 'redis-one'}, ['redis_bind_address']),
    # postgresql
    ('pg-max-connections-not-above-reserved', 'postgres', {'postgresql_max_connections': 20, 'postgresql_superuser_reserved_connections': 20},
     ['postgresql_max_connections']),
    ('pg-superuser-reserved-zero', 'postgres', {'postgresql_superuser_reserved_connections': 0}, ['postgresql_superuser_reserved_connections']),
    ('pg-user-without-name', 'postgres', {'postgresql_users': [{'password': STRONG2}]}, ['postgresql_users[0].name']),
    ('pg-database-without-name', 'postgres', {'postgresql_databases': [{'owner': 'postgres'}]}, ['postgresql_databases[0].name']),
    ('pg-database-owner-undeclared', 'host:db1', {'postgresql_databases': [{'name': 'app', 'owner': 'nobody'}]},
     ['postgresql_databases[0].owner']),
    ('pg-backup-database-undeclared', 'postgres', {'postgresql_backup_databases': ['ghost']}, ['postgresql_backup_databases[0]']),
    # redis
    ('redis-host-outside-redis-group', 'redis', {'redis_group': 'cache'}, ['redis_group']),
    ('redis-initial-primary-outside-group', 'redis', {'redis_initial_primary': 'app1'}, ['redis_initial_primary']),
    ('redis-password-below-min-length', 'redis', {'redis_acl_app_password': 'Vq8#kLm2!vB7rT9'}, ['redis_acl_app_password']),
    ('redis-password-with-blank', 'redis', {'redis_acl_replication_password': 'Vq8#kLm2 vB7rT9x-Wp4'}, ['redis_acl_replication_password']),
    ('redis-acl-users-not-distinct', 'redis', {'redis_acl_app_user': 'admin'}, ['redis_acl_app_user']),
    ('redis-acl-user-default', 'redis', {'redis_acl_sentinel_user': 'default'}, ['redis_acl_sentinel_user']),
    ('redis-acl-user-not-plain', 'redis', {'redis_acl_replication_user': 'replica user'}, ['redis_acl_replication_user']),
    ('redis-app-rules-allow-dangerous', 'redis', {'redis_acl_app_rules': '~* &* +@all'}, ['redis_acl_app_rules']),
    ('redis-maxmemory-without-unit', 'redis', {'redis_maxmemory': '1073741824'}, ['redis_maxmemory']),
    ('redis-discovery-password-empty', 'redis', {'redis_discovery_password': ''}, ['redis_discovery_password']),
    ('redis-rotation-client-group-unknown', 'redis', {'redis_rotation_client_groups': ['apps']}, ['redis_rotation_client_groups[0]']),
    ('redis-admin-previous-password-weak', 'redis', {'redis_acl_admin_password_previous': 'password'},
     ['redis_acl_admin_password_previous']),
    # redis_sentinel
    ('sentinel-host-outside-group', 'redis', {'redis_sentinel_group': 'sentinels'}, ['redis_sentinel_group']),
    ('sentinel-initial-primary-outside-group', 'redis', {'redis_sentinel_initial_primary': 'db1'}, ['redis_sentinel_initial_primary']),
    ('sentinel-password-below-16', 'redis', {'redis_sentinel_password': 'Vq8#kLm2!vB7rT9'}, ['redis_sentinel_password']),
    ('sentinel-auth-password-with-blank', 'redis', {'redis_sentinel_auth_password': 'Vq8#kLm2 vB7rT9x-Wp4q'},
     ['redis_sentinel_auth_password']),
    ('sentinel-down-after-below-1000', 'redis', {'redis_sentinel_down_after_milliseconds': 500}, ['redis_sentinel_down_after_milliseconds']),
    ('sentinel-failover-not-above-down-after', 'redis', {'redis_sentinel_failover_timeout': 4000}, ['redis_sentinel_failover_timeout']),
    # playbooks/site.yml
    ('lb-server-unknown', 'lb', {'lb_server': 'traefik'}, ['lb_server']),
    # node_exporter (the bcrypt filter refused it on the host run)
    ('basic-auth-password-over-72-bytes', 'all', {NE + 'u13': 'Qz4!Lk8@Wm2#Pd6%Rt9&Yv3*Bn7-Hc5+Jx1=Gs8_Fa4~Ke2^Uo6?Ni3>Tb9<Mw5|Dl7/Zr1:Xq'},
     [NE + 'u13']),
    # ---- types and choices: the argument specs, applied on the controller (nothing else re-checks them) ----
    ('spec-nginx-tls-profile-choice', 'lb', {'nginx_tls_profile': 'old'}, ['nginx_tls_profile']),
    ('spec-haproxy-tls-profile-choice', 'lb', {'haproxy_tls_profile': 'legacy'}, ['haproxy_tls_profile']),
    ('spec-pgbouncer-sslmode-choice', 'pgbouncer', {'pgbouncer_server_tls_sslmode': 'disable'}, ['pgbouncer_server_tls_sslmode']),
    ('spec-pgbouncer-pool-mode-choice', 'pgbouncer', {'pgbouncer_pool_mode': 'txn'}, ['pgbouncer_pool_mode']),
    ('spec-bool-type', 'redis', {'redis_appendonly': 'maybe'}, ['redis_appendonly']),
    ('spec-list-type', 'all', {'node_exporter_collectors_enabled': {'systemd': True}}, ['node_exporter_collectors_enabled']),
    # ---- config-line injection: a control or quote-ending character in a value a template renders, every role ----
    ('inject-pgbouncer-startup-parameter', 'pgbouncer', {'pgbouncer_ignore_startup_parameters': ['extra_float_digits\nauth_type = trust']},
     ['pgbouncer_ignore_startup_parameters[0]']),
    ('inject-nginx-server-name-newline', 'lb', {'nginx_server_name': 'www.example.com\n'}, ['nginx_server_name']),
    ('inject-nginx-directive-closes-server', 'lb', {'nginx_extra_server_directives': ['return 204; } server { listen 8080;']},
     ['nginx_extra_server_directives[0]']),
    ('inject-haproxy-header-quote', 'lb', {'haproxy_security_headers.X-Frame-Options': 'DENY"\n    http-request allow'},
     ['haproxy_security_headers.X-Frame-Options']),
    ('inject-app-environment-line', 'app', {'app_environment.LOG_LEVEL': 'info\nDATABASE_URL=postgresql://evil/'},
     ['app_environment.LOG_LEVEL']),
    ('inject-baseline-sshd-setting', 'all', {'baseline_ssh_extra_settings.MaxSessions': '10\nPermitRootLogin yes'},
     ['baseline_ssh_extra_settings.MaxSessions']),
    ('inject-baseline-banner-line', 'all', {'baseline_banner_text': 'Authorized only.\nPermitRootLogin yes'}, ['baseline_banner_text']),
    ('inject-baseline-audit-rule', 'host:db1', {'baseline_auditd_rules_extra': ['-w /etc/x -p wa\n-D']}, ['baseline_auditd_rules_extra[0]']),
    ('inject-baseline-mount-options', 'host:lb1', {'baseline_mount_options': {'/tmp': 'nodev nosuid'}}, ['baseline_mount_options./tmp']),
    ('inject-baseline-apt-origin-quote', 'host:db1', {'baseline_unattended_upgrades_origins': ['origin=Debian";Unattended-Upgrade::Mail "x']},
     ['baseline_unattended_upgrades_origins[0]']),
    ('inject-logrotate-endscript', 'all', {LR + 'r14': dict(_rule('r14'), postrotate='true\nendscript\n/var/log/other.log {\n rotate 0')},
     [LR + 'r14.postrotate']),
    ('inject-node-exporter-argument', 'all', {'node_exporter_extra_args': ['--collector.textfile --web.listen-address=0.0.0.0:9100']},
     ['node_exporter_extra_args[0]']),
    ('inject-postgresql-setting', 'postgres', {'postgresql_settings.work_mem': "64MB'\nlisten_addresses = '*"},
     ['postgresql_settings.work_mem']),
    ('inject-redis-extra-config', 'redis', {'redis_extra_config': ['maxclients 100\nprotected-mode no']}, ['redis_extra_config[0]']),
    ('inject-sentinel-master-name', 'redis', {'redis_sentinel_master_name': 'bulwark\nsentinel down-after-milliseconds bulwark 1'},
     ['redis_sentinel_master_name']),
    ('inject-firewall-comment', 'all', {'firewall_extra_rules': [{'port': 60001, 'from': 'any', 'comment': "ops'\nufw allow 22"}]},
     ['firewall_extra_rules[0].comment']),
    ('secret-trailing-newline', 'redis', {'redis_acl_admin_password': 'Vq8#kLm2!vB7rT9xWp4\n'}, ['redis_acl_admin_password']),
    # ---- the monitoring tier (bulwark.stack.prometheus, bulwark.stack.alertmanager) ----
    ('monitoring-retention-not-a-duration', 'monitoring', {'prometheus_retention_time': '15 days'}, ['prometheus_retention_time']),
    ('monitoring-retention-size-unit', 'monitoring', {'prometheus_retention_size': '10G'}, ['prometheus_retention_size']),
    ('monitoring-memory-ratio-over-one', 'monitoring', {'prometheus_alert_memory_ratio': 90}, ['prometheus_alert_memory_ratio']),
    ('monitoring-scrape-timeout-over-interval', 'monitoring', {'prometheus_scrape_timeout': '1m'}, ['prometheus_scrape_timeout']),
    ('monitoring-scrape-job-unknown-service', 'monitoring',
     {'prometheus_scrape_jobs': [{'name': 'node', 'service': 'node_exporter'}, {'name': 'ghost', 'service': 'ghost_exporter'}]},
     ['prometheus_scrape_jobs[1].service']),
    ('monitoring-scrape-user-missing', 'monitoring', {'prometheus_basic_auth_users': {'ops': 'Mo4!nT7-rGq2#ops-Vw8'}},
     ['prometheus_basic_auth_users']),
    ('monitoring-email-without-relay', 'monitoring', {'alertmanager_email_to': ['ops@example.org']},
     ['alertmanager_email_from', 'alertmanager_email_smarthost']),
    ('monitoring-weak-password', 'monitoring', {'alertmanager_basic_auth_users': {'prometheus': 'Summer2024!Summer'}},
     ['alertmanager_basic_auth_users.prometheus']),
    ('inject-alert-label-line', 'monitoring', {'prometheus_alert_labels': {'team': 'ops\n- alert: Silenced'}},
     ['prometheus_alert_labels.team']),
    ('inject-webhook-url-line', 'monitoring', {'alertmanager_webhook_urls': ['https://hooks.example.org/x\nreceivers: []']},
     ['alertmanager_webhook_urls[0]']),
    ('inject-retention-argument', 'monitoring', {'alertmanager_retention': '120h --web.listen-address=0.0.0.0:9093'},
     ['alertmanager_retention']),
    ('monitoring-two-alertmanagers', 'groups', {'monitoring': ['mon1', 'redis1']}, ['monitoring']),
    # the app's and the load balancers' metrics (Prometheus scrapes them as its scrape user)
    ('monitoring-app-metrics-without-scrape-user', 'app', {'app_metrics_users': {'ops': 'Ap7!mQ2-metrics#Zr9x'}},
     ['app_metrics_users']),
    ('monitoring-lb-metrics-password-differs', 'lb', {'nginx_metrics_users': {'prometheus': 'Lb4!other-Kw9#metrics'}},
     ['nginx_metrics_users']),
    ('monitoring-redis-exporter-without-prometheus-tls', 'host:mon1', {'prometheus_tls_enabled': False}, ['prometheus_tls_enabled']),
    ('secret-short-redis-monitor-password', 'redis', {'redis_acl_monitor_password': 'Mon!t0r-7'}, ['redis_acl_monitor_password']),
    ('monitoring-pgbouncer-exporter-without-stats-password', 'all',
     {'pgbouncer_exporter_basic_auth_users': {'prometheus': 'Pb9#xK2-exporter!Qm4v'}}, ['pgbouncer_stats_password']),
    ('monitoring-http-error-ratio-percent', 'monitoring', {'prometheus_alert_http_error_ratio': 5},
     ['prometheus_alert_http_error_ratio']),
    ('inject-latency-alert-for', 'monitoring',
     {'prometheus_alert_http_latency_p95': [{'seconds': 1, 'for': '5m\n      - alert: Silenced', 'severity': 'warning'}]},
     ['prometheus_alert_http_latency_p95[0].for']),
    # ---- backups (bulwark.stack.pgbackrest) ----
    ('backup-retention-full-zero', 'backup', {'pgbackrest_retention_full': 0}, ['pgbackrest_retention_full']),
    ('backup-retention-diff-zero', 'backup', {'pgbackrest_retention_diff': 0}, ['pgbackrest_retention_diff']),
    ('backup-cipher-pass-missing-production', 'production', {'pgbackrest_cipher_pass': ''}, ['pgbackrest_cipher_pass']),
    ('secret-weak-cipher-pass', 'backup', {'pgbackrest_cipher_pass': 'Summer2024!Summer'}, ['pgbackrest_cipher_pass']),
    ('backup-group-missing', 'groups', {'backup': None}, ['groups.backup', 'bulwark_services.pgbackrest_pg.allow_from[0]']),
    ('backup-host-not-in-inventory', 'host:mon1', {'pgbackrest_repository_host': 'backup9'}, ['pgbackrest_repository_host']),
    ('backup-repository-not-a-backup-host', 'backup', {'pgbackrest_repository_host': 'db1'}, ['pgbackrest_repository_host']),
    ('backup-primary-not-a-database-host', 'backup', {'pgbackrest_primary': 'app1'}, ['pgbackrest_primary']),
    ('backup-archive-timeout-zero', 'postgres', {'postgresql_archive_timeout': 0}, ['postgresql_archive_timeout']),
    ('backup-restore-test-age-zero', 'monitoring', {'prometheus_alert_restore_test_age_hours': 0},
     ['prometheus_alert_restore_test_age_hours']),
    ('backup-stanza-not-a-name', 'all', {'pgbackrest_stanza': 'main db'}, ['pgbackrest_stanza']),
    ('inject-restore-test-query', 'all', {'pgbackrest_restore_test_query': 'SELECT 1"\nExecStartPre=/bin/false'},
     ['pgbackrest_restore_test_query']),
    ('inject-archive-command', 'postgres', {'postgresql_archive_command': "true\nrestore_command = 'cp x %p'"},
     ['postgresql_archive_command']),
    ('inject-backup-calendar', 'backup', {'pgbackrest_full_on_calendar': 'Sun 01:30\nOnBootSec=1'}, ['pgbackrest_full_on_calendar']),
    # ---- weak secrets, judged by the zxcvbn estimator (words, names, years, keyboard runs, repeats) ----
    ('secret-weak-word-year-word', 'redis', {'redis_acl_sentinel_password': 'Summer2024!Summer'}, ['redis_acl_sentinel_password']),
    ('secret-weak-keyboard-run', 'all', {NE + 'u14': 'qwertyuiop123456'}, [NE + 'u14']),
    ('secret-weak-repeat', 'all', {NE + 'u15': 'Password2024Password2024'}, [NE + 'u15']),
    ('secret-weak-dictionary-words', 'host:app1', {'app_redis_sentinel_password': 'correcthorsebattery'}, ['app_redis_sentinel_password']),
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


# mappings whose keys distinct rows may set side by side (in the same scope): {root: {key: ...}}
MAPPINGS = ('node_exporter_basic_auth_users', 'logrotate_rules_extra', 'app_environment', 'baseline_ssh_extra_settings',
            'haproxy_security_headers', 'postgresql_settings')


# variables checked together (one row's value would change what another row's check sees): rows setting variables
# of one set never share an inventory
RELATED = (
    ('nginx_tls_cert', 'nginx_tls_key', 'nginx_tls_chain', 'nginx_server_name'),
    ('haproxy_tls_cert', 'haproxy_tls_key', 'haproxy_tls_chain', 'haproxy_server_name'),
    ('haproxy_backends', 'haproxy_frontends'),
    ('app_artifact', 'app_artifact_checksum', 'app_command'),
    ('redis_group', 'redis_initial_primary'),
    ('redis_sentinel_group', 'redis_sentinel_initial_primary', 'redis_sentinel_quorum', 'redis_sentinel_master_name'),
    ('redis_sentinel_down_after_milliseconds', 'redis_sentinel_failover_timeout'),
    ('pgbouncer_auth_mode', 'pgbouncer_auth_tls_cert', 'pgbouncer_auth_tls_key', 'postgresql_tls_client_ca_cert',
     'postgresql_cert_auth_users'),
    ('pgbouncer_server_tls_sslmode', 'pgbouncer_server_tls_ca_file'),
    ('postgresql_max_connections', 'postgresql_superuser_reserved_connections', 'pgbouncer_default_pool_size',
     'pgbouncer_reserve_pool_size'),
    ('postgresql_users', 'postgresql_databases', 'postgresql_backup_databases'),
    ('baseline_unattended_upgrades_enabled', 'baseline_unattended_upgrades_origins'),
    ('bulwark_internal_network', 'bulwark_internal_address'),
    ('internal_ca_renew_days', 'internal_ca_cert_lifetime_days'),
    ('nginx_upstream_tls_name', 'haproxy_backends', 'app_tls_enabled', 'app_tls_name'),
    ('redis_tls_enabled', 'redis_sentinel_tls_enabled', 'app_redis_tls_ca_file'),
    ('lb_server', 'nginx_metrics_users', 'haproxy_metrics_users'),
    ('pgbouncer_stats_password', 'pgbouncer_exporter_basic_auth_users'),
    ('pgbackrest_repository_host', 'pgbackrest_primary'),
    # how the run logs in over SSH, and the sshd and firewall settings that could shut that login out
    ('ansible_connection', 'ansible_host', 'ansible_user', 'ansible_port', 'baseline_ssh_enabled', 'baseline_ssh_permit_root_login',
     'firewall_admin_networks', 'firewall_ssh_port', 'firewall_controller_address'),
)


def _related(root, other_root):
    return any(root in names and other_root in names for names in RELATED)


def _conflict(row, other):
    """Rows that cannot share an inventory: they set the same (or a related) variable."""
    if (row[0] in PORT_ROWS) and (other[0] in PORT_ROWS):
        return True
    if row[1] not in ('groups',) and other[1] not in ('groups',):
        roots = set(p.split('.')[0] for p in row[2])
        other_roots = set(p.split('.')[0] for p in other[2])
        if any(a != b and _related(a, b) for a in roots for b in other_roots):
            return True
    if row[1] == 'groups' or other[1] == 'groups':
        return row[1] == other[1] and bool(set(row[2]) & set(other[2]))
    for path in row[2]:
        root = path.split('.')[0]
        for other_path in other[2]:
            if other_path.split('.')[0] != root:
                continue
            if root in MAPPINGS and '.' in path and '.' in other_path and row[1] == other[1] and path != other_path:
                continue  # two keys of one mapping in the same scope
            if row[1].startswith('host:') and other[1].startswith('host:') and row[1] != other[1]:
                continue  # the same variable on two different hosts
            return True
    return False


def batches():
    """Pack rows into few inventories: no two rows of a batch set the same variable; production rows together."""
    packed = []
    for row in ROWS:
        production = row[1] == 'production'
        structural = row[1] == 'groups'  # inventory structure changes get an inventory of their own
        for batch in packed:
            if batch['production'] == production and batch['structural'] == structural and \
                    not any(_conflict(row, other) for other in batch['rows']):
                break
        else:
            batch = {'production': production, 'structural': structural, 'rows': []}
            packed.append(batch)
        batch['rows'].append(row)
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
        # a public certificate browsers trust, unless a row says otherwise
        group_vars['all'].setdefault('lb_certificate_acme_directory', 'https://acme.example.org/directory')
        group_vars['all'].setdefault('lb_certificate_acme_terms_agreed', True)
        # someone is told of the monitoring host's alerts, unless a row says otherwise
        group_vars['all'].setdefault('alertmanager_webhook_urls', ['https://hooks.example.org/ops'])
    for kind, table in (('group_vars', group_vars), ('host_vars', host_vars)):
        (directory / kind).mkdir(exist_ok=True)
        for name, values in table.items():
            (directory / kind / name).mkdir()
            (directory / kind / name / 'main.yml').write_text(yaml.safe_dump(values))
    if production:  # the good secrets come from an encrypted vault file, as production inventories do
        vault = {'vault_node_exporter_password': GOOD['node_exporter_basic_auth_users']['prometheus']}
        group_vars['all']['node_exporter_basic_auth_users'] = {'prometheus': '{{ vault_node_exporter_password }}'}
        for name, value in SECRETS.items():
            if group_vars['all'].get(name) == value:  # not replaced by a row
                vault['vault_' + name] = value
                group_vars['all'][name] = '{{ vault_%s }}' % name
        (directory / 'group_vars' / 'all' / 'main.yml').write_text(yaml.safe_dump(group_vars['all']))
        (directory / 'group_vars' / 'all' / 'vault.yml').write_text(_vaulted(yaml.safe_dump(vault)))
    return directory


def run_validate(inventory_dir, tmp_path, *args):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'),
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    # next to the inventory directory, not in it: Ansible would read a file there as one more inventory host
    password_file = tmp_path.parent / (tmp_path.name + '.vault-pass')
    password_file.write_text(VAULT_PASSWORD)
    result = subprocess.run(['ansible-playbook', '-i', str(inventory_dir), '--vault-password-file', str(password_file), str(PLAYBOOK)]
                            + list(args),
                            capture_output=True, text=True, env=env, check=False, cwd=str(ROOT))
    assert '{' in result.stdout, result.stderr[-3000:]
    report = json.JSONDecoder().raw_decode(result.stdout, result.stdout.index('{'))[0]
    problems, touched = [], set()
    for play in report['plays']:
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                # validate.yml runs its tasks once, delegated to the controller, whatever --limit says: a result
                # is reported under the first inventory host, but ran on localhost (local connection)
                delegated = res.get('_ansible_delegated_vars') or {}
                ran_on = 'localhost' if (delegated.get('ansible_host') == 'localhost'
                                         and delegated.get('ansible_connection') == 'local') else host
                touched.add(ran_on)
                problems.extend(res.get('problems', []))
    return result.returncode, problems, report['stats'], touched


BATCHES = batches()
BATCH_OF = dict((row[0], index) for index, batch in enumerate(BATCHES) for row in batch['rows'])
_RESULTS = {}


def batch_result(index, tmp_path_factory):
    """The validate.yml run of batch ``index`` (run once, shared by the batch test and the batch's row tests)."""
    if index not in _RESULTS:
        directory = tmp_path_factory.mktemp('batch%d' % index)
        batch = BATCHES[index]
        _RESULTS[index] = run_validate(write_inventory(directory, batch['rows'], batch['production']), directory)
    return _RESULTS[index]


def test_the_table_has_every_case_once():
    # 84 cases before issue 13; + the checks moved out of the roles' preflight, the argument-spec checks now run on
    # the controller, config-line injection in every role that renders free-form strings, weak secrets
    assert len(set(r[0] for r in ROWS)) == len(ROWS) >= 180
    assert len(BATCHES) <= 12, 'too many ansible-playbook runs; pack the rows better'


def test_a_good_inventory_validates(tmp_path):
    rc, problems, stats, touched = run_validate(write_inventory(tmp_path, []), tmp_path)
    assert (rc, problems) == (0, [])
    assert touched == {'localhost'}


@pytest.mark.parametrize('index', range(len(BATCHES)), ids=['batch%d' % i for i in range(len(BATCHES))])
def test_bad_settings_are_named_before_any_host_is_touched(index, tmp_path_factory):
    batch = BATCHES[index]
    rc, problems, stats, touched = batch_result(index, tmp_path_factory)
    assert rc != 0, 'validation passed an inventory with: %s' % [r[0] for r in batch['rows']]
    # no host changed: only the controller ran anything, nothing was unreachable (no connection was even tried)
    assert touched == {'localhost'}, stats
    assert all(s['changed'] == 0 and s['unreachable'] == 0 for s in stats.values()), stats
    named = {}
    for problem in problems:
        named.setdefault(problem['variable'], []).append(problem)
        assert problem['problem'] and problem['fix'], problem
    expected_all = set(v for row in batch['rows'] for v in row[3])
    assert set(named) == expected_all, 'unexpected problems: %s' % ['%s: %s' % (v, named[v][0]['problem']) for v in set(named) - expected_all]
    # secrets are masked in the report
    for ident, scope, settings, expected in batch['rows']:
        for value in settings.values():
            if isinstance(value, str) and len(value) > 4 and ident.startswith(('secret', 'production')):
                assert all(value not in p['value'] and value.strip() not in p['problem']
                           for p in problems if p['variable'] in expected), ident


@pytest.mark.parametrize('row', ROWS, ids=[row[0] for row in ROWS])
def test_bad_setting_is_refused(row, tmp_path_factory):
    """Each case on its own: its variables are named, from the group or host that set them, with a problem and a fix."""
    ident, scope, settings, expected = row
    rc, problems, stats, touched = batch_result(BATCH_OF[ident], tmp_path_factory)
    assert rc != 0 and touched == {'localhost'}
    label = _scope_label(scope)
    missing = []
    for variable in expected:
        found = [p for p in problems if p['variable'] == variable]
        if not found or (label and not any(p['where'].startswith(label) for p in found)):
            missing.append('%s (%s) not named; got %s' % (variable, label, [(p['variable'], p['where']) for p in found]))
    assert not missing, '\n'.join(missing)


def test_validation_ignores_limit_and_tags(tmp_path):
    # the roles no longer re-check their settings on the host: validate.yml must check the whole inventory even when
    # the run is limited to other hosts or tags (site.yml --limit mon1 --tags nginx)
    row = [r for r in ROWS if r[0] == 'inject-nginx-server-name-newline']
    rc, problems, stats, touched = run_validate(write_inventory(tmp_path, row), tmp_path, '--limit', 'mon1', '--tags', 'nginx')
    assert rc != 0 and touched == {'localhost'}
    assert [p['variable'] for p in problems] == ['nginx_server_name'], problems


def test_production_example_is_refused_listing_its_placeholders(tmp_path):
    rc, problems, stats, touched = run_validate(ROOT / 'inventories' / 'production.example', tmp_path)
    assert rc != 0 and touched == {'localhost'}
    placeholders = dict((p['variable'], p) for p in problems if 'placeholder' in p['problem'])
    assert 'node_exporter_basic_auth_users.prometheus' in placeholders
    assert 'vault_node_exporter_password' in placeholders['node_exporter_basic_auth_users.prometheus']['where']
    assert all('CHANGEME' not in p['value'] for p in placeholders.values())
