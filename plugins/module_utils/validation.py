# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight validation of a whole inventory, before any host is touched: the one place for every check that does
not need the host.

Pure Python (no Ansible imports at module level): the ``bulwark.stack.validate`` action plugin collects each host's
variables (and where each one came from, and whether it came from Ansible Vault) into a plain :class:`Inventory`,
with the roles' argument specs, then calls :func:`validate`, which returns *every* problem at once as
:class:`Problem` records. Unit tests call it directly.

One layer per kind of check:

* types, choices, required: the roles' ``meta/argument_specs.yml``, applied here to every host of the role's group
  (:func:`check_argument_specs`, Ansible's own ``ArgumentSpecValidator``) and again by Ansible when a role starts;
  nothing below re-checks a type or a choice the argument spec declares;
* everything that compares values, hosts or groups: the tables and checks of this module;
* what needs the host (distribution release, installed versions, addresses, the Ansible user's groups): the roles'
  ``tasks/preflight.yml``.

Extending it for a role is one small entry in one of the tables below:

* :data:`RANGE_RULES` - a variable name and its kind (``port``, ``('int', lo, hi)``, ``size``, ``duration`` ...);
  variables not listed are still checked by suffix (:data:`SUFFIX_RULES`: ``*_port``, ``*_timeout``,
  ``*_pool_size``, ``*_maxmemory``...).
* :data:`CONFIG_TEXT` - every free-form value a template renders into a config file, with the class of characters
  it may hold there (no control characters anywhere; no quote or backslash inside a quoted value; no blank in a
  space-separated token; names and paths by pattern).
* :data:`SECRET_MAPS` - variables that map names to passwords (``node_exporter_basic_auth_users``); any leaf whose key
  looks like a secret (``*password*``, ``*secret*``, ``*token*``) is a secret anyway. :data:`REQUIRED_SECRETS` -
  secrets a role cannot run without.
* :data:`TLS_PAIRS` - (certificate variable, key variable, server-name variable or None).
* :data:`CROSS_CHECKS` - functions ``check(inventory) -> [Problem]`` for rules that span variables or hosts.

Only what is set (in the inventory) or defaulted (values of ``roles/*/defaults/main.yml``, templated where the
inventory alone allows it) is checked, so a role that does not exist yet, or an inventory without its settings, never
breaks validation. Every pattern is matched against the whole value (``re.fullmatch`` or ``\\Z``): ``$`` would
also match before a trailing newline.
"""

from __future__ import absolute_import, division, print_function

import datetime
import ipaddress
import math
import re
import socket

from ansible_collections.bulwark.stack.plugins.module_utils import topology
from ansible_collections.bulwark.stack.plugins.module_utils import firewall
from ansible_collections.bulwark.stack.plugins.module_utils import pgbouncer_pools
from ansible_collections.bulwark.stack.plugins.module_utils import redis_topology
from ansible_collections.bulwark.stack.plugins.module_utils import secrets

__metaclass__ = type

SECRET_MIN_LENGTH = 12
# log2 of the guesses the zxcvbn estimator needs (dictionary words, names, keyboard runs, years, dates, repeats and
# sequences count as what they are, not as random characters). 48 bits = about 2.8e14 guesses: `Summer2024!Summer`
# (about 2^33) is refused, `openssl rand -base64 24` (far above 2^100) passes.
SECRET_MIN_BITS = 48
# zxcvbn refuses longer input; a longer secret is judged by its first 72 characters (never weaker than that prefix)
ZXCVBN_MAX_LENGTH = 72
CERT_MIN_DAYS = 14

# ----------------------------------------------------------------------------------------------------------------
# tables: one entry per setting
# ----------------------------------------------------------------------------------------------------------------

# variable -> kind. Kinds: 'port'; ('int', lo, hi); 'size' (memory with unit: 512mb, 2GB, 1073741824);
# 'size_or_percent' (also 50%); 'redis_memory' (what redis.conf takes: 512mb, 2gb, or 1%-90% of RAM);
# 'journald_size' (1G, 500M); 'duration' (seconds, or with unit: 500ms, 30s, 5m, 1h, 7d); 'rate' (10r/s);
# 'cidr' (a network or address); 'ip'; 'systemd_size' (512M, 2G, or infinity); 'cpu_quota' (a percentage of one
# CPU such as 150%, or '' for none). Ranges only: a type the argument spec declares is checked there.
RANGE_RULES = {
    'bulwark_internal_network': 'cidr',
    'bulwark_internal_address': 'ip',
    # addresses services bind to (default: the host's internal address, from facts)
    'app_listen_address': 'ip', 'haproxy_stats_address': 'ip', 'nginx_metrics_address': 'ip',
    'node_exporter_listen_address': 'ip', 'postgres_exporter_listen_address': 'ip', 'redis_exporter_listen_address': 'ip',
    'pgbouncer_exporter_listen_address': 'ip',
    'pgbouncer_listen_address': 'ip', 'postgresql_listen_address': 'ip', 'redis_bind_address': 'ip',
    'redis_sentinel_listen_address': 'ip',
    'node_exporter_bcrypt_rounds': ('int', 10, 16),
    'prometheus_bcrypt_rounds': ('int', 10, 16),
    'alertmanager_bcrypt_rounds': ('int', 10, 16),
    'haproxy_password_hash_rounds': ('int', 1000, 1000000),
    'prometheus_listen_address': 'ip', 'alertmanager_listen_address': 'ip',
    'prometheus_alert_memory_ratio': ('float', 0.01, 1.0),
    'prometheus_alert_disk_free_ratio': ('float', 0.001, 0.99),
    'prometheus_alert_disk_predict_hours': ('int', 1, 8760),
    'prometheus_alert_restarts': ('int', 1, 1000),
    'prometheus_alert_certificate_days': ('int', 1, 365),
    'prometheus_alert_backup_age_hours': ('int', 1, 8760),
    'prometheus_alert_http_error_ratio': ('float', 0.001, 1.0),
    'nginx_metrics_bcrypt_rounds': ('int', 10, 16),
    'postgres_exporter_bcrypt_rounds': ('int', 10, 16),
    'pgbouncer_exporter_bcrypt_rounds': ('int', 10, 16),
    'prometheus_alert_pgbouncer_waiting_clients': ('int', 0, 100000),
    'prometheus_alert_postgres_connections_ratio': ('float', 0.01, 1.0),
    'prometheus_alert_sentinel_quorum': ('int', 1, 100),
    'baseline_ssh_max_auth_tries': ('int', 1, 10),
    'baseline_ssh_login_grace_time': ('int', 1, 3600),
    'baseline_journald_system_max_use': 'journald_size',
    'postgresql_max_connections': ('int', 10, 10000),
    'internal_ca_lifetime_days': ('int', 30, 36500),
    'internal_ca_cert_lifetime_days': ('int', 2, 3650),
    'internal_ca_renew_days': ('int', 1, 3650),
    'postgresql_superuser_reserved_connections': ('int', 1, 100),
    'postgresql_backup_retention_days': ('int', 1, 3650),
    'postgresql_backup_keep_min': ('int', 1, 1000),
    'pgbouncer_max_client_conn': ('int', 1, 100000),
    'pgbouncer_default_pool_size': ('int', 1, 10000),
    'pgbouncer_min_pool_size': ('int', 0, 10000),
    'pgbouncer_reserve_pool_size': ('int', 0, 10000),
    'pgbouncer_reserve_pool_timeout': ('int', 0, 86400),
    'pgbouncer_server_lifetime': ('int', 0, 31536000),
    'pgbouncer_server_idle_timeout': ('int', 0, 31536000),
    'redis_maxmemory': 'redis_memory',
    'redis_sentinel_quorum': ('int', 1, 100),
    'redis_sentinel_down_after_milliseconds': ('int', 1000, 3600000),
    'redis_sentinel_failover_timeout': ('int', 1000, 36000000),
    'redis_sentinel_parallel_syncs': ('int', 1, 100),
    'nginx_limit_req_rate': 'rate',
    'nginx_limit_req_burst': ('int', 0, 1000000),
    'nginx_client_max_body_size': 'size',
    'nginx_upstream_max_fails': ('int', 0, 1000),
    'nginx_upstream_keepalive': ('int', 0, 100000),
    'nginx_limit_conn': ('int', 1, 1000000),
    'nginx_worker_connections': ('int', 1, 1000000),
    'haproxy_maxconn': ('int', 1, 10000000),
    'haproxy_max_body_size': 'size',
    'haproxy_check_inter': 'duration',
    'haproxy_check_fall': ('int', 1, 100),
    'haproxy_check_rise': ('int', 1, 100),
    'haproxy_rate_limit_requests': ('int', 1, 10000000),
    'haproxy_rate_limit_period': 'duration',
    'haproxy_timeout_connect': 'duration',
    'haproxy_timeout_client': 'duration',
    'haproxy_timeout_server': 'duration',
    'haproxy_timeout_http_request': 'duration',
    'lb_certificate_acme_renew_days': ('int', 1, 3650),
    'postgresql_log_min_duration_statement': ('int', -1, 86400000),
    'postgresql_backup_compress_level': ('int', 0, 9),
    'redis_min_replicas_to_write': ('int', 0, 100),
    'redis_min_replicas_max_lag': ('int', 1, 3600),
    'redis_somaxconn': ('int', 128, 65535),
    'redis_password_min_length': ('int', 12, 128),
    'baseline_ssh_client_alive_interval': ('int', 0, 86400),
    'baseline_ssh_client_alive_count_max': ('int', 0, 100),
    'baseline_password_max_days': ('int', 1, 99999), 'baseline_password_min_days': ('int', 0, 99999),
    'baseline_password_warn_age': ('int', 0, 99999), 'baseline_password_yescrypt_cost_factor': ('int', 1, 11),
    'baseline_journald_system_max_file_size': 'journald_size',
    'pgbouncer_limit_nofile': ('int', 1024, 10485760),
    'app_keep_releases': ('int', 1, 100),
    'app_stop_timeout': ('int', 1, 86400),
    'app_start_timeout': ('int', 1, 86400),
    'app_memory_max': 'systemd_size',
    'app_cpu_quota': 'cpu_quota',
    'app_tasks_max': ('int', 16, 1000000),
    'app_tmp_size': 'systemd_size',
    # pgbackrest: expiry keeps at least one full backup; the restore test and archiving bound what can be lost
    'pgbackrest_retention_full': ('int', 1, 9999),
    'pgbackrest_retention_diff': ('int', 1, 9999),
    'pgbackrest_process_max': ('int', 1, 64),
    'postgresql_archive_timeout': ('int', 1, 3600),
    'prometheus_alert_restore_test_age_hours': ('int', 1, 8760),
    'prometheus_alert_wal_archive_pending_seconds': ('int', 60, 86400),
    # the address the hosts see the controller's SSH connections come from ('' = the controller's route to each host)
    'firewall_controller_address': 'ip',
}

# suffix -> kind, for variables of any role not listed above. First match wins.
SUFFIX_RULES = (
    ('_port', 'port'),
    ('_timeout', 'duration'),
    ('_pool_size', ('int', 0, 10000)),
    ('_maxmemory', 'size_or_percent'),
    ('_max_connections', ('int', 1, 100000)),
)

# role -> the inventory group whose hosts run it (role defaults apply only there). A new role: one line here.
ROLE_GROUPS = {
    'baseline': 'all', 'firewall': 'all', 'logrotate': 'all', 'node_exporter': 'all',
    'postgresql': 'postgres', 'pgbouncer': 'pgbouncer', 'redis': 'redis', 'redis_sentinel': 'redis',
    'nginx': 'lb', 'haproxy': 'lb', 'lb_certificate': 'lb', 'app': 'app', 'internal_ca': 'all',
    'prometheus': 'monitoring', 'alertmanager': 'monitoring', 'postgres_exporter': 'postgres',
    'redis_exporter': 'redis', 'pgbouncer_exporter': 'pgbouncer', 'pgbackrest': 'backup',
}

# How the controller reaches a host (Ansible's connection variables, not a role's): the action plugin collects them for
# check_lockout only (no other check reads them; the range check skips them). Where Ansible reads two names, the
# second (ansible_ssh_*) wins, as in its ssh connection plugin.
CONNECTION_VARIABLES = ('ansible_connection', 'ansible_user', 'ansible_ssh_user', 'ansible_host', 'ansible_ssh_host',
                        'ansible_port', 'ansible_ssh_port')
# connection plugins that log in over SSH (sshd's settings and the SSH firewall rule decide whether they get in);
# a host without ansible_connection uses Ansible's default, ssh
SSH_CONNECTIONS = frozenset(('ssh', 'paramiko', 'paramiko_ssh', 'smart', 'ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh',
                             'ansible.netcommon.libssh'))

# variables whose values are name -> password mappings (or lists of {name, password} items)
SECRET_MAPS = ('node_exporter_basic_auth_users', 'postgresql_users', 'pgbouncer_users', 'redis_users',
               'redis_acl_users', 'haproxy_stats_users', 'prometheus_basic_auth_users', 'alertmanager_basic_auth_users',
               'app_metrics_users', 'nginx_metrics_users', 'haproxy_metrics_users', 'postgres_exporter_basic_auth_users',
               'pgbouncer_exporter_basic_auth_users')
# list variables whose items ({name, password}) are accounts of one system: the same account name under two of these
# variables is ONE credential (PgBouncer authenticates PostgreSQL's own roles), so its password is not "reused"
CREDENTIAL_NAMESPACES = {'postgresql_users': 'postgresql-role', 'pgbouncer_users': 'postgresql-role'}
# variables that hold ONE credential seen from two sides (the server's account and the client's copy of its
# password): equal values there are expected, not reuse. One tuple per credential.
SHARED_CREDENTIALS = (
    ('redis_acl_app_password', 'app_redis_password'),
    ('redis_sentinel_password', 'app_redis_sentinel_password', 'redis_discovery_password'),
    ('redis_acl_sentinel_password', 'redis_sentinel_auth_password'),
    ('redis_acl_monitor_password', 'redis_exporter_redis_password'),
    ('pgbouncer_stats_password', 'pgbouncer_exporter_stats_password'),
)
# a leaf (variable or key inside one) whose name matches this is a secret
SECRET_NAME = re.compile(r'(^|_)(password|passwd|pass|passphrase|secret|token|api_key|secret_key|masterauth|requirepass)s?(\Z|_)',
                         re.IGNORECASE)
# ... except these (hashing parameters, file paths, switches)
NOT_SECRET_NAME = re.compile(r'(_path|_file|_dir|_rounds|_encryption|_min_length|_enabled|_auth_type|_length|_days|_warn_age|_method|_cost_factor)\Z',
                             re.IGNORECASE)
# PEM private keys: checked as keys, not as passwords
PEM_KEY_NAME = re.compile(r'_(tls|ssl)_key\Z|_private_key\Z')

# (certificate variable, key variable, variable holding the server name(s) the certificate must cover, or None)
TLS_PAIRS = (
    ('node_exporter_tls_cert', 'node_exporter_tls_key', None),
    ('nginx_tls_cert', 'nginx_tls_key', 'nginx_server_name'),
    ('pgbouncer_auth_tls_cert', 'pgbouncer_auth_tls_key', None),
    ('haproxy_tls_cert', 'haproxy_tls_key', 'haproxy_server_name'),
    ('postgresql_tls_cert', 'postgresql_tls_key', None),
)

# a role's marker variable (one of its defaults): a host "runs" the role when it is in the role's group and has it
ROLE_MARKERS = {
    'app': 'app_sample_never_ready', 'baseline': 'baseline_coredumps_disabled', 'firewall': 'firewall_logging',
    'haproxy': 'haproxy_maxconn', 'internal_ca': 'internal_ca_renew_days', 'lb_certificate': 'lb_certificate_acme_renew_days',
    'logrotate': 'logrotate_timer_oncalendar', 'nginx': 'nginx_worker_connections',
    'node_exporter': 'node_exporter_systemd_hardening', 'pgbouncer': 'pgbouncer_limit_nofile',
    'postgresql': 'postgresql_backup_compress_level', 'redis': 'redis_host_tuning',
    'redis_sentinel': 'redis_sentinel_min_production_sentinels',
    'prometheus': 'prometheus_retention_time', 'alertmanager': 'alertmanager_retention',
    'postgres_exporter': 'postgres_exporter_bcrypt_rounds', 'redis_exporter': 'redis_exporter_extra_args',
    'pgbouncer_exporter': 'pgbouncer_exporter_bcrypt_rounds', 'pgbackrest': 'pgbackrest_retention_diff',
}

# secrets a role cannot run without: role -> ((variable, the variable its default copies or None), ...). A variable
# left at a default that copies another one is checked at that other one.
REQUIRED_SECRETS = {
    'redis': (('redis_acl_admin_password', None), ('redis_acl_app_password', None),
              ('redis_acl_replication_password', None), ('redis_acl_sentinel_password', None),
              ('redis_discovery_password', 'redis_sentinel_password')),
    'redis_sentinel': (('redis_sentinel_password', None), ('redis_sentinel_auth_password', 'redis_acl_sentinel_password')),
    'pgbackrest': (('pgbackrest_cipher_pass', None),),
}
# secrets with a stricter minimum length than SECRET_MIN_LENGTH: a number, or (the variable that holds it, its default)
SECRET_MIN_LENGTHS = {
    'redis_acl_admin_password': ('redis_password_min_length', 16), 'redis_acl_app_password': ('redis_password_min_length', 16),
    'redis_acl_replication_password': ('redis_password_min_length', 16),
    'redis_acl_sentinel_password': ('redis_password_min_length', 16),
    'redis_acl_monitor_password': ('redis_password_min_length', 16),
    'redis_sentinel_password': 16, 'redis_sentinel_auth_password': 16,
}

# Characters allowed in values that reach a config file, by class. Every class refuses control characters (a line
# break ends the line and starts another setting); the classes add what would end the value's quoting or token.
TEXT_CLASSES = {
    # class: (regex the whole value must match or None, characters refused, what the value is / how to write it)
    'line': (None, '', 'single-line text'),
    'dquoted': (None, '"\\', 'text inside double quotes: no " or \\'),
    'squoted': (None, '\\', "text inside single quotes: no \\ (a ' is doubled by the template)"),
    'token': (None, ' \t"\'\\', 'one word: no blanks, quotes or \\'),
    'name': (r'[A-Za-z0-9_][A-Za-z0-9_.-]*', '', 'a name of letters, digits, _ . - (starting with a letter, digit or _)'),
    'pgname': (r'[a-z_][a-z0-9_]*', '', 'a plain PostgreSQL name: lowercase letters, digits and _'),
    'envname': (r'[A-Za-z_][A-Za-z0-9_]*', '', 'an environment variable name: letters, digits and _'),
    'header': (r'[A-Za-z0-9-]+', '', 'an HTTP header name: letters, digits and -'),
    'keyword': (r'[A-Za-z][A-Za-z0-9]*', '', 'an sshd_config keyword such as MaxSessions'),
    'sysctl': (r'[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)+', '', 'a dotted sysctl name such as net.core.somaxconn'),
    'guc': (r'[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?', '', 'a PostgreSQL setting name such as work_mem'),
    'algorithm': (r'[A-Za-z0-9][A-Za-z0-9@._+-]*', '', 'an OpenSSH algorithm name such as curve25519-sha256'),
    'path': (r'/[^\s"\'\\;{}#]*', '', 'an absolute path without blanks, quotes, \\ ; { } #'),
    'urlpath': (r'/[A-Za-z0-9._~%!$&*+,=:@/-]*', '', 'a URL path such as /health'),
    'mime': (r'[A-Za-z0-9.+-]+/[A-Za-z0-9.+*-]+', '', 'a MIME type such as text/css'),
    'hhmm': (r'([01][0-9]|2[0-3]):[0-5][0-9]', '', 'a time of day as HH:MM'),
    'release': (r'[A-Za-z0-9][A-Za-z0-9._+-]*', '', 'a release name of letters, digits and . _ + - such as 2.4.1'),
    'host': (None, ' \t"\'\\', 'a host name or address'),
    'save': (r'[1-9][0-9]* [0-9]+', '', '"<seconds> <changes>" such as "900 1"'),
    'buffers': (r'[1-9][0-9]* [1-9][0-9]*[kKmM]?', '', '"<number> <size>" such as "8 16k"'),
    'directive': (None, '', 'one nginx directive (or block) with balanced braces'),
    'script': (None, '', 'a shell script (line breaks allowed, no line "endscript")'),
    'ufw_comment': (None, '"\'\\', 'a single-line comment without quotes or \\'),
    'promduration': (r'([0-9]+(ms|s|m|h|d|w|y))+', '', 'a Prometheus duration such as 30s, 5m, 15d or 1h30m'),
    'promsize': (r'[0-9]+(B|KB|MB|GB|TB|PB|EB)', '', 'a size such as 512MB or 10GB'),
    'label': (r'[A-Za-z_][A-Za-z0-9_]*', '', 'a Prometheus label name: letters, digits and _'),
    'url': (r'https?://[^\s"\'\\<>]+', '', 'an http:// or https:// URL without blanks or quotes'),
    'email': (r'[^\s@"\'\\<>,;]+@[^\s@"\'\\<>,;]+', '', 'an email address such as ops@example.org'),
    'maxstartups': (r'[1-9][0-9]*(:[0-9]{1,3}:[1-9][0-9]*)?', '', 'start or start:rate:full such as 10:30:60'),
    'umask': (r'0?[0-7]{3}', '', 'an octal umask such as 027'),
}
# value path -> (class, the file it lands in). Paths: `var`, `var[*]` (list items), `var.*` (dict values),
# `var.<keys>` (dict keys), and nested fields (`haproxy_backends[*].servers[*].name`).
CONFIG_TEXT = {
    # app: app.env (double-quoted, escaped by the template), bulwark-app.service, the release directory
    'app_version': ('release', 'the release directory name'),
    'app_database_url': ('line', '/etc/bulwark-app/app.env'),
    'app_redis_sentinels[*]': ('token', '/etc/bulwark-app/app.env'),
    'app_redis_master_name': ('name', '/etc/bulwark-app/app.env'),
    'app_redis_username': ('line', '/etc/bulwark-app/app.env'),
    'app_redis_tls_ca_file': ('line', '/etc/bulwark-app/app.env'),
    'app_environment.<keys>': ('envname', '/etc/bulwark-app/app.env'),
    'app_environment.*': ('line', '/etc/bulwark-app/app.env'),
    'app_command[*]': ('line', 'ExecStart= of bulwark-app.service'),
    'app_artifact': ('line', 'the artifact download'),
    # baseline: sshd drop-in, sysctl.d, journald.conf, timesyncd.conf, apt.conf.d
    'baseline_ssh_allow_groups[*]': ('name', 'AllowGroups in the sshd drop-in'),
    'baseline_ssh_kex_algorithms[*]': ('algorithm', 'KexAlgorithms in the sshd drop-in'),
    'baseline_ssh_ciphers[*]': ('algorithm', 'Ciphers in the sshd drop-in'),
    'baseline_ssh_macs[*]': ('algorithm', 'MACs in the sshd drop-in'),
    'baseline_ssh_extra_settings.<keys>': ('keyword', 'the sshd drop-in'),
    'baseline_ssh_extra_settings.*': ('line', 'the sshd drop-in'),
    'baseline_sysctl_extra.<keys>': ('sysctl', '/etc/sysctl.d'),
    'baseline_sysctl_extra.*': ('line', '/etc/sysctl.d'),
    'baseline_journald_max_retention': ('line', 'journald.conf'),
    'baseline_timesync_servers[*]': ('host', 'NTP= in timesyncd.conf'),
    'baseline_unattended_upgrades_origins[*]': ('dquoted', 'the unattended-upgrades origins in apt.conf.d'),
    'baseline_unattended_upgrades_reboot_time': ('hhmm', 'the unattended-upgrades settings in apt.conf.d'),
    'baseline_ssh_max_startups': ('maxstartups', 'MaxStartups in the sshd drop-in'),
    'baseline_apt_security_mirror': ('url', 'URIs in bulwark-security.sources'),
    'baseline_apt_security_components[*]': ('name', 'Components in bulwark-security.sources'),
    'baseline_auditd_rules_extra[*]': ('line', '/etc/audit/rules.d/50-bulwark.rules'),
    'baseline_umask': ('umask', 'UMASK in /etc/login.defs'),
    'baseline_su_group': ('name', 'the pam_wheel line of /etc/pam.d/su'),
    'baseline_disabled_modules[*]': ('name', '/etc/modprobe.d/bulwark-disabled.conf'),
    'baseline_banner_text': ('line', '/etc/issue and /etc/issue.net'),
    'baseline_mount_options.<keys>': ('path', '/etc/fstab'),
    'baseline_mount_options.*': ('token', '/etc/fstab'),
    'baseline_package_integrity_schedule': ('line', 'OnCalendar= in bulwark-package-integrity.timer'),
    # firewall: ufw rule comments
    'firewall_extra_rules[*].comment': ('ufw_comment', "ufw's rules (comment '<text>')"),
    # haproxy: haproxy.cfg
    'haproxy_hsts': ('dquoted', 'haproxy.cfg'),
    'haproxy_security_headers.<keys>': ('header', 'haproxy.cfg'),
    'haproxy_security_headers.*': ('dquoted', 'haproxy.cfg'),
    'haproxy_health_path': ('urlpath', 'haproxy.cfg'),
    'haproxy_balance': ('line', 'haproxy.cfg'),
    'haproxy_frontends[*].name': ('name', 'haproxy.cfg'),
    'haproxy_frontends[*].default_backend': ('name', 'haproxy.cfg'),
    'haproxy_frontends[*].use_backends[*].backend': ('name', 'haproxy.cfg'),
    'haproxy_frontends[*].use_backends[*].if': ('line', 'haproxy.cfg'),
    'haproxy_backends[*].name': ('name', 'haproxy.cfg'),
    'haproxy_backends[*].balance': ('line', 'haproxy.cfg'),
    'haproxy_backends[*].health_path': ('urlpath', 'haproxy.cfg'),
    'haproxy_backends[*].group': ('name', 'haproxy.cfg'),
    'haproxy_backends[*].tls_name': ('name', 'haproxy.cfg'),
    'nginx_upstream_tls_name': ('name', 'site.conf'),
    'app_tls_name': ('name', 'the app certificate (subjectAltName)'),
    'haproxy_backends[*].servers[*].name': ('name', 'haproxy.cfg'),
    'haproxy_backends[*].servers[*].address': ('host', 'haproxy.cfg'),
    'haproxy_stats_users.<keys>': ('name', 'the stats userlist in haproxy.cfg'),
    # logrotate: /etc/logrotate.d/bulwark-<rule> (see check_logrotate_rules for the rules themselves)
    'logrotate_timer_oncalendar': ('line', 'the logrotate.timer drop-in'),
    'node_exporter_textfile_dir': ('path', 'the node-exporter flags and bulwark-certificate-expiry.service'),
    'node_exporter_certificate_dirs[*]': ('path', 'ExecStart= of bulwark-certificate-expiry.service'),
    'node_exporter_certificate_expiry_oncalendar': ('line', 'bulwark-certificate-expiry.timer'),
    # nginx: nginx.conf, site.conf, upstream.conf
    'nginx_hsts': ('dquoted', 'site.conf'),
    'nginx_security_headers.<keys>': ('header', 'site.conf'),
    'nginx_security_headers.*': ('dquoted', 'site.conf'),
    'nginx_health_path': ('urlpath', 'site.conf'),
    'nginx_acme_root': ('path', 'site.conf'),
    'nginx_proxy_buffer_size': ('token', 'site.conf'),
    'nginx_proxy_buffers': ('buffers', 'site.conf'),
    'nginx_gzip_types[*]': ('mime', 'nginx.conf'),
    'nginx_extra_server_directives[*]': ('directive', 'site.conf'),
    'nginx_upstream_group': ('name', 'upstream.conf'),
    # node_exporter: /etc/default/prometheus-node-exporter (ARGS="..." split on blanks), web.yml
    'node_exporter_collectors_enabled[*]': ('name', 'ARGS in /etc/default/prometheus-node-exporter'),
    'node_exporter_collectors_disabled[*]': ('name', 'ARGS in /etc/default/prometheus-node-exporter'),
    'node_exporter_extra_args[*]': ('token', 'ARGS in /etc/default/prometheus-node-exporter'),
    'node_exporter_filesystem_mount_points_exclude': ('token', 'ARGS in /etc/default/prometheus-node-exporter'),
    'node_exporter_basic_auth_users.<keys>': ('name', 'web.yml'),
    'app_metrics_users.<keys>': ('name', '/etc/bulwark-app/app.env'),
    'nginx_metrics_users.<keys>': ('name', "nginx's metrics password file"),
    'haproxy_metrics_users.<keys>': ('name', 'the metrics userlist in haproxy.cfg'),
    'postgres_exporter_basic_auth_users.<keys>': ('name', "postgres_exporter's web.yml"),
    'postgres_exporter_extra_args[*]': ('token', '/etc/default/prometheus-postgres-exporter'),
    'redis_exporter_extra_args[*]': ('token', '/etc/default/prometheus-redis-exporter'),
    'redis_exporter_redis_user': ('name', '/etc/default/prometheus-redis-exporter'),
    'redis_exporter_redis_password': ('dquoted', '/etc/default/prometheus-redis-exporter'),
    'pgbouncer_exporter_basic_auth_users.<keys>': ('name', "pgbouncer_exporter's web.yml"),
    'pgbouncer_exporter_stats_user': ('name', '/etc/default/prometheus-pgbouncer-exporter'),
    'prometheus_alert_pgbouncer_waiting_for': ('promduration', 'the alert rules'),
    'postgresql_monitoring_user': ('pgname', 'pg_hba.conf and the exporter connection'),
    'prometheus_alert_postgres_down_for': ('promduration', 'the alert rules'),
    'prometheus_alert_postgres_connections_for': ('promduration', 'the alert rules'),
    'prometheus_alert_redis_down_for': ('promduration', 'the alert rules'),
    'prometheus_alert_redis_replicas_for': ('promduration', 'the alert rules'),
    'prometheus_alert_sentinel_for': ('promduration', 'the alert rules'),
    # prometheus: /etc/default/prometheus (ARGS="..." split on blanks), prometheus.yml, the rules, the scrape
    # password files (named after the job)
    'prometheus_retention_time': ('promduration', 'ARGS in /etc/default/prometheus'),
    'prometheus_retention_size': ('promsize', 'ARGS in /etc/default/prometheus'),
    'prometheus_scrape_interval': ('promduration', 'prometheus.yml'),
    'prometheus_scrape_timeout': ('promduration', 'prometheus.yml'),
    'prometheus_evaluation_interval': ('promduration', 'prometheus.yml'),
    'prometheus_scrape_username': ('name', 'prometheus.yml and the targets\' web configurations'),
    'prometheus_scrape_jobs[*].name': ('name', 'prometheus.yml and the name of its password file'),
    'prometheus_scrape_jobs[*].service': ('name', 'the topology (bulwark_services)'),
    'prometheus_scrape_jobs[*].metrics_path': ('urlpath', 'prometheus.yml'),
    'prometheus_basic_auth_users.<keys>': ('name', '/etc/prometheus/web.yml'),
    'prometheus_alert_host_down_for': ('promduration', 'the alert rules'),
    'prometheus_alert_target_down_for': ('promduration', 'the alert rules'),
    'prometheus_alert_memory_for': ('promduration', 'the alert rules'),
    'prometheus_alert_service_down_for': ('promduration', 'the alert rules'),
    'prometheus_alert_services[*]': ('line', 'the alert rules'),
    'prometheus_alert_disk_for': ('promduration', 'the alert rules'),
    'prometheus_alert_restarts_window': ('promduration', 'the alert rules'),
    'prometheus_alert_http_error_for': ('promduration', 'the alert rules'),
    'prometheus_alert_http_window': ('promduration', 'the alert rules'),
    'prometheus_alert_http_latency_p95[*].for': ('promduration', 'the alert rules'),
    'prometheus_alert_http_latency_p95[*].severity': ('label', 'the alert rules'),
    'prometheus_alert_labels.<keys>': ('label', 'the alert rules'),
    'prometheus_alert_labels.*': ('line', 'the alert rules'),
    # alertmanager: /etc/default/prometheus-alertmanager, alertmanager.yml
    'alertmanager_retention': ('promduration', 'ARGS in /etc/default/prometheus-alertmanager'),
    'alertmanager_group_by[*]': ('label', 'alertmanager.yml'),
    'alertmanager_group_wait': ('promduration', 'alertmanager.yml'),
    'alertmanager_group_interval': ('promduration', 'alertmanager.yml'),
    'alertmanager_repeat_interval': ('promduration', 'alertmanager.yml'),
    'alertmanager_webhook_urls[*]': ('url', 'alertmanager.yml'),
    'alertmanager_email_to[*]': ('email', 'alertmanager.yml'),
    'alertmanager_email_from': ('email', 'alertmanager.yml'),
    'alertmanager_email_smarthost': ('host', 'alertmanager.yml'),
    'alertmanager_email_auth_username': ('line', 'alertmanager.yml'),
    'alertmanager_basic_auth_users.<keys>': ('name', '/etc/prometheus/alertmanager-web.yml'),
    # pgbouncer: pgbouncer.ini, userlist.txt
    'pgbouncer_databases[*].name': ('name', 'pgbouncer.ini'),
    'pgbouncer_databases[*].dbname': ('name', 'pgbouncer.ini'),
    'pgbouncer_ignore_startup_parameters[*]': ('pgname', 'ignore_startup_parameters in pgbouncer.ini'),
    'pgbouncer_auth_user': ('pgname', 'auth_user in pgbouncer.ini'),
    'pgbouncer_admin_user': ('pgname', 'admin_users in pgbouncer.ini'),
    'pgbouncer_stats_user': ('pgname', 'stats_users in pgbouncer.ini'),
    'pgbouncer_server_tls_ca_file': ('path', 'pgbouncer.ini'),
    'pgbouncer_server_address': ('host', 'pgbouncer.ini'),
    'pgbouncer_users[*].name': ('dquoted', 'userlist.txt'),
    # postgresql: conf.d/bulwark.conf, pg_hba.conf, the backup unit's files
    'postgresql_settings.<keys>': ('guc', 'conf.d/bulwark.conf'),
    'postgresql_settings.*': ('squoted', 'conf.d/bulwark.conf'),
    'postgresql_cert_auth_users[*]': ('pgname', 'pg_hba.conf'),
    'postgresql_hba_groups[*]': ('name', 'pg_hba.conf'),
    'postgresql_backup_dir': ('path', 'the backup environment file'),
    'postgresql_backup_databases[*]': ('token', 'the backup environment file'),
    'postgresql_backup_on_calendar': ('line', 'the backup timer'),
    'postgresql_users[*].name': ('line', 'the PostgreSQL role'),
    'postgresql_databases[*].name': ('line', 'the PostgreSQL database'),
    'postgresql_databases[*].owner': ('line', 'the PostgreSQL database'),
    # redis: redis.conf, replication.conf, the aclfile
    'redis_save[*]': ('save', 'redis.conf'),
    'redis_extra_config[*]': ('line', 'redis.conf'),
    'redis_group': ('name', 'the inventory group'),
    'redis_acl_admin_user': ('name', 'the aclfile'),
    'redis_acl_app_user': ('name', 'the aclfile'),
    'redis_acl_replication_user': ('name', 'the aclfile and replication.conf'),
    'redis_acl_sentinel_user': ('name', 'the aclfile'),
    'redis_acl_monitor_user': ('name', 'the aclfile and the exporter flags'),
    'redis_acl_app_rules': ('line', 'the aclfile'),
    'redis_acl_replication_password': ('token', 'masterauth in replication.conf'),
    'redis_discovery_master_name': ('name', 'the Sentinel query'),
    # redis_sentinel: sentinel.conf
    'redis_sentinel_master_name': ('name', 'sentinel.conf'),
    'redis_sentinel_password': ('token', 'requirepass in sentinel.conf'),
    'redis_sentinel_auth_password': ('token', 'sentinel auth-pass in sentinel.conf'),
    'redis_sentinel_auth_user': ('name', 'sentinel.conf'),
    'redis_sentinel_group': ('name', 'the inventory group'),
    # pgbackrest: pgbackrest.conf, the backup and restore-test units and their settings
    'pgbackrest_stanza': ('name', 'pgbackrest.conf and the backup units'),
    'pgbackrest_primary': ('name', 'pgbackrest.conf (pg1-host)'),
    'pgbackrest_repository_host': ('name', 'pgbackrest.conf (repo1-host)'),
    'pgbackrest_repo_path': ('path', 'pgbackrest.conf'),
    'pgbackrest_cipher_pass': ('line', 'pgbackrest.conf (repo1-cipher-pass)'),
    'pgbackrest_full_on_calendar': ('line', 'bulwark-pgbackrest-full.timer'),
    'pgbackrest_diff_on_calendar': ('line', 'bulwark-pgbackrest-diff.timer'),
    'pgbackrest_restore_test_on_calendar': ('line', 'bulwark-pgbackrest-restore-test.timer'),
    'pgbackrest_restore_test_query': ('dquoted', '/etc/default/bulwark-pgbackrest'),
    'pgbackrest_restore_test_dir': ('path', '/etc/default/bulwark-pgbackrest'),
    'pgbackrest_textfile_dir': ('path', 'the backup units'),
    'postgresql_archive_command': ('squoted', 'conf.d/bulwark.conf'),
    'prometheus_alert_wal_archive_for': ('promduration', 'the alert rules'),
    # collection-wide
    'lb_server': ('name', 'the load balancer choice'),
}
# values every ACL password is compared with: the aclfile stores only a hash, but the other Redis users' passwords
# are rendered where blanks split them (masterauth, requirepass, auth-pass)
for _name in ('redis_acl_admin_password', 'redis_acl_app_password', 'redis_acl_sentinel_password',
              'redis_acl_monitor_password'):
    CONFIG_TEXT.setdefault(_name, ('token', 'the Redis clients that send it (redis-cli, Sentinel)'))

_CONTROL = re.compile(u'[\x00-\x1f\x7f-\x9f\u2028\u2029]')
_CONTROL_NAMES = {'\n': 'a line break (\\n)', '\r': 'a carriage return (\\r)', '\t': 'a tab (\\t)', '\x00': 'a NUL byte'}

PLACEHOLDERS = frozenset((
    'changeme', 'change-me', 'change_me', 'password', 'passw0rd', 'secret', 'admin', 'default', 'todo', 'fixme',
    'xxx', 'replaceme', 'replace-me', 'replace_me', 'example', 'test', '123456', '12345678', 'qwerty', 'letmein',
    'none', 'null', 'undefined', 'your-password', 'yourpassword', 'mypassword', 'p@ssw0rd',
))
_PLACEHOLDER_PATTERNS = (
    re.compile(r'changeme|change_me|change-me|replace[_-]?me|fill[_-]?me|your[_-](password|secret|token|key)', re.I),
    re.compile(r'\$\{[^}]*\}'),                      # ${VAR} shell/env template left unexpanded
    re.compile(r'^sk-(\.\.\.|x{3,}|your|example|test)', re.I),   # sk-...-... sample API keys
    re.compile(r'\.\.\.'),                           # "..." elided sample
    re.compile(r'\A<.*>\Z', re.S),                    # <password>
    re.compile(r'\{\{.*\}\}'),                       # an untemplated Jinja expression
    re.compile(r'\Ax+\Z', re.I),
)

# sizes, shares and durations: matched with fullmatch (no surrounding blanks: the value is rendered as it is)
_SIZE = re.compile(r'([0-9]+(?:\.[0-9]+)?)([kmgt]i?b?|b)?', re.IGNORECASE)
_PERCENT = re.compile(r'([0-9]+(?:\.[0-9]+)?)%')
_DURATION = re.compile(r'([0-9]+(?:\.[0-9]+)?)(ms|s|m|min|h|d)?', re.IGNORECASE)
_SIZE_FACTORS = {'': 1, 'b': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3, 't': 1024 ** 4}
_DURATION_FACTORS = {'': 1.0, 's': 1.0, 'ms': 0.001, 'm': 60.0, 'min': 60.0, 'h': 3600.0, 'd': 86400.0}
_HOSTNAME = re.compile(r'(?=.{1,253}\Z)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?')


class Problem:
    """One validation failure: the variable, where it came from, the (masked) value, why, and the fix."""

    __slots__ = ('variable', 'where', 'value', 'problem', 'fix')

    def __init__(self, variable, where, value, problem, fix):
        self.variable = variable
        self.where = where
        self.value = value
        self.problem = problem
        self.fix = fix

    def key(self):
        return (self.variable, self.where, self.problem)

    def as_dict(self):
        return {'variable': self.variable, 'where': self.where, 'value': self.value, 'problem': self.problem,
                'fix': self.fix}

    def __str__(self):
        return '%s (%s) = %s: %s. Fix: %s' % (self.variable, self.where, self.value, self.problem, self.fix)

    __repr__ = __str__


class Host:
    """What validation knows of one inventory host.

    ``variables``: templated values of the variables set for it (inventory) merged over plain role defaults.
    ``origins``: variable -> where it was set ('group all (inventories/lab/group_vars/all/x.yml:3)'); missing means
    a role default. ``vaulted``: variable or leaf path -> True when the value comes from Ansible Vault.
    ``sources``: leaf path -> the name of the variable the value really comes from (following ``{{ other }}``
    references), so two services that share one vaulted secret on purpose are not reported as reuse.
    ``memtotal_mb``: the host's RAM when known (cached facts), else None. ``defaulted``: variables that come from a
    role default; ``templated``: those of them whose default is a template (templated without facts).
    """

    def __init__(self, name, variables=None, origins=None, vaulted=None, sources=None, memtotal_mb=None, defaulted=(),
                 templated=(), raw=None):
        self.name = name
        self.defaulted = set(defaulted)
        self.templated = set(templated)  # role defaults with Jinja, templated from the inventory (no facts)
        self.raw = dict(raw or {})  # variable -> untemplated value, for variables that need facts to be templated
        self.variables = dict(variables or {})
        self.origins = dict(origins or {})
        self.vaulted = dict(vaulted or {})
        self.sources = dict(sources or {})
        self.memtotal_mb = memtotal_mb
        self.unresolved = {}  # variable -> templating error (an undefined variable it refers to)

    def where(self, variable):
        root = re.split(r'[.\[]', variable, maxsplit=1)[0]
        origin = self.origins.get(variable) or self.origins.get(root)
        if origin:
            return origin
        if root in self.variables and root not in self.origins:
            return 'role default, host %s' % self.name
        return 'host %s' % self.name


class Inventory:
    """The inventory as validation sees it: hosts (name -> :class:`Host`), groups (name -> host names)."""

    def __init__(self, hosts, groups, environment=None, required_groups=None, argument_specs=None):
        self.hosts = hosts
        # role -> the options of its meta/argument_specs.yml entry point `main` (check_argument_specs)
        self.argument_specs = dict(argument_specs or {})
        self.spec_rejected = set()  # (host, variable) the argument specs refused: not checked again by kind
        self.groups = {k: list(v) for k, v in (groups or {}).items()}
        if environment is None:
            envs = [h.variables.get('bulwark_environment') for h in hosts.values()]
            environment = 'production' if 'production' in envs else (envs[0] if envs else 'lab')
        self.environment = environment
        self.required_groups = required_groups

    def runs(self, name, role, marker=True):
        """True when host ``name`` runs ``role``: it is in the role's group (ROLE_GROUPS) and, with ``marker``, has the
        role's settings (its defaults were applied, or the inventory sets its marker variable)."""
        if name not in self.members(ROLE_GROUPS.get(role, 'all')):
            return False
        return not marker or ROLE_MARKERS.get(role, '') in self.hosts[name].variables

    def spec_type(self, variable):
        """The type a role's argument spec declares for ``variable``, or None."""
        for options in self.argument_specs.values():
            if variable in options:
                return options[variable].get('type', 'str')
        return None

    def members(self, group):
        if group == 'all':
            return sorted(self.hosts)
        return [h for h in self.groups.get(group, []) if h in self.hosts]

    def first(self, group, variable):
        """(host, value) of the first member of ``group`` that has ``variable``, or (None, None)."""
        for name in self.members(group):
            if variable in self.hosts[name].variables:
                return name, self.hosts[name].variables[variable]
        return None, None


# ----------------------------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------------------------

def mask(value):
    """A secret shown safely: its length and first character only."""
    if value is None:
        return '(unset)'
    text = str(value)
    if not text:
        return "''"
    if len(text) <= 4:
        return "'****' (%d chars)" % len(text)
    return "'%s****' (%d chars)" % (text[0], len(text))


def show(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def is_placeholder(value):
    """True when ``value`` is a sample value rather than a real secret."""
    if value is None:
        return True
    text = str(value).strip()
    if not text or text.lower() in PLACEHOLDERS:
        return True
    return any(p.search(text) for p in _PLACEHOLDER_PATTERNS)


_PATTERN_WORDS = {'dictionary': 'a dictionary word, name or common password', 'spatial': 'a keyboard run',
                  'repeat': 'a repeat', 'sequence': 'a sequence such as abc or 123', 'date': 'a date',
                  'regex': 'a year'}


def secret_strength(value):
    """(bits, [what makes it guessable]) from the zxcvbn estimator: log2 of the guesses it needs. None without zxcvbn.

    The reasons name the kinds of pattern found (a dictionary word, a keyboard run, a year...), never the secret's
    characters, so they can be shown in a report.
    """
    text = str(value)
    if text not in _STRENGTH:  # a group variable is judged once, not once per host
        _STRENGTH[text] = _zxcvbn_strength(text)
    return _STRENGTH[text]


_STRENGTH = {}


def _zxcvbn_strength(value):
    try:
        from zxcvbn import zxcvbn  # imported lazily: only the controller needs it (requirements.txt)
    except ImportError:
        return None
    text = str(value)[:ZXCVBN_MAX_LENGTH]
    result = zxcvbn(text, max_length=ZXCVBN_MAX_LENGTH)
    bits = float(result['guesses_log10']) * math.log(10, 2)
    reasons = []
    for match in result.get('sequence', ()):
        words = _PATTERN_WORDS.get(match.get('pattern'))
        if match.get('pattern') == 'dictionary' and match.get('l33t'):
            words = 'a dictionary word with look-alike substitutions'
        if words and words not in reasons:
            reasons.append(words)
    return bits, reasons


def parse_size(value):
    """Bytes from 1073741824, '512mb', '2GB', '1.5g', '64KiB'; None when not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    match = _SIZE.fullmatch(str(value))
    if not match:
        return None
    unit = (match.group(2) or '').lower().rstrip('b').rstrip('i')
    return int(float(match.group(1)) * _SIZE_FACTORS[unit])


def parse_duration(value):
    """Seconds from 30, '500ms', '30s', '5m', '1h', '7d'; None when not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.fullmatch(str(value))
    if not match:
        return None
    return float(match.group(1)) * _DURATION_FACTORS[(match.group(2) or '').lower()]


def as_bool(value, default=None):
    """A boolean setting as Ansible reads it (true/yes/on/1 and their opposites), or ``default`` when unset or not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value, default)
    if isinstance(value, str):
        return {'true': True, 'yes': True, 'on': True, '1': True,
                'false': False, 'no': False, 'off': False, '0': False}.get(value.strip().lower(), default)
    return default


def as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r'-?[0-9]+', value):
        return int(value)
    return None


def kind_for(variable):
    if variable in RANGE_RULES:
        return RANGE_RULES[variable]
    for suffix, kind in SUFFIX_RULES:
        if variable.endswith(suffix):
            return kind
    return None


def check_kind(variable, value, kind, typed=False):
    """(problem, fix) when ``value`` is not of ``kind``, else None.

    ``typed``: the variable's argument spec declares an integer type, so a value that is no integer at all is the
    argument spec's to refuse (check_argument_specs), not reported twice.
    """
    if kind == 'port':
        port = as_int(value)
        if port is None and typed:
            return None
        if port is None or not 1 <= port <= 65535:
            return 'not a TCP/UDP port', 'use an integer from 1 to 65535 (ports come from the topology: change them in bulwark_services)'
        return None
    if isinstance(kind, tuple) and kind[0] == 'int':
        number = as_int(value)
        if number is None and typed:
            return None
        if number is None:
            return 'not an integer', 'use an integer from %d to %d' % (kind[1], kind[2])
        if not kind[1] <= number <= kind[2]:
            return 'out of range', 'use an integer from %d to %d' % (kind[1], kind[2])
        return None
    if isinstance(kind, tuple) and kind[0] == 'float':
        try:
            number = None if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            number = None
        if number is None and typed:
            return None
        if number is None or not kind[1] <= number <= kind[2]:
            return 'not a number from %g to %g' % (kind[1], kind[2]), 'use a share such as %g' % ((kind[1] + kind[2]) / 2)
        return None
    if kind in ('size', 'size_or_percent'):
        if kind == 'size_or_percent' and isinstance(value, str) and _PERCENT.fullmatch(value):
            percent = float(_PERCENT.fullmatch(value).group(1))
            if not 1 <= percent <= 90:
                return 'a share of host RAM outside 1-90%', 'use a share from 1% to 90% (leave room for the OS and forks)'
            return None
        size = parse_size(value)
        if size is None:
            return 'not a memory size', 'use a number of bytes or a number with a unit: 512mb, 2gb%s' % (
                ', or a share of RAM like 50%' if kind == 'size_or_percent' else '')
        if size <= 0:
            return 'zero or negative size', 'use a positive size such as 256mb'
        return None
    if kind == 'redis_memory':
        text = str(value)
        if _PERCENT.fullmatch(text) and not re.fullmatch(r'([1-9]|[1-8][0-9]|90)%', text):
            return 'a share of host RAM outside 1-90%', 'use a whole share from 1% to 90% (leave room for the OS and forks)'
        if not re.fullmatch(r'([1-9]|[1-8][0-9]|90)%|[1-9][0-9]*([kmg]b?)', text, re.IGNORECASE):
            return 'not a Redis memory cap', 'use a share of RAM from 1% to 90% ("50%") or a size with a unit ("512mb", "2gb")'
        return None
    if kind == 'journald_size':
        if not re.fullmatch(r'[1-9][0-9]*[KMGT]?', str(value)):
            return 'not a journald size', 'use a whole number with K, M, G or T, such as 500M or 1G'
        return None
    if kind == 'systemd_size':
        if not re.fullmatch(r'[1-9][0-9]*[KMGT]?|infinity', str(value)):
            return 'not a systemd size', 'use a whole number with K, M, G or T, such as 512M or 2G, or infinity'
        return None
    if kind == 'cpu_quota':
        if not re.fullmatch(r'(|[1-9][0-9]{0,4}%)', str(value)):
            return 'not a CPU quota', 'use a percentage of one CPU such as 50% or 200%, or "" for no quota'
        return None
    if kind == 'rate':
        if not re.fullmatch(r'[1-9][0-9]*r/[sm]', str(value)):
            return 'not a request rate', 'use requests per second or minute, such as 10r/s or 600r/m'
        return None
    if kind == 'duration':
        seconds = parse_duration(value)
        if seconds is None:
            return 'not a duration', 'use seconds (30) or a number with a unit: 500ms, 30s, 5m, 1h, 7d'
        if seconds < 0:
            return 'negative duration', 'use a duration of zero or more'
        return None
    if kind == 'ip':
        try:
            ipaddress.ip_address(str(value))
        except ValueError:
            return 'not an IP address', 'use an address such as 10.0.0.5'
        return None
    if kind == 'cidr':
        try:
            ipaddress.ip_network(str(value), strict=True)
        except ValueError as exc:
            return 'not a CIDR network (%s)' % exc, 'use a network without host bits, such as 10.20.0.0/24'
        return None
    return None


# ----------------------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------------------

def _problems_of_host_ranges(inv, host):
    out = []
    for variable in sorted(host.variables):
        kind = kind_for(variable)
        if kind is None or variable in CONNECTION_VARIABLES:  # ansible_port: Ansible's, read by check_lockout only
            continue
        if (host.name, variable) in inv.spec_rejected:
            continue  # its argument spec refused the type: reported there
        value = host.variables[variable]
        if value is None or value == '':
            if variable in RANGE_RULES and kind not in ('ip',):
                out.append(Problem(variable, host.where(variable), show(value), 'is empty',
                                   'set a value or remove the variable to use the role default'))
            continue
        result = check_kind(variable, value, kind, typed=inv.spec_type(variable) in ('int', 'float'))
        if result:
            out.append(Problem(variable, host.where(variable), show(value), result[0], result[1]))
    return out


def secret_leaves(variables):
    """Yield (path, value) for every secret in a host's variables."""
    for name in sorted(variables):
        value = variables[name]
        if name in SECRET_MAPS or name.endswith('_basic_auth_users'):
            yield from _walk(name, value, in_map=True)
        elif SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name) and not name.startswith('vault_'):
            if isinstance(value, (dict, list)):
                yield from _walk(name, value, in_map=True)
            else:
                yield name, value
        elif isinstance(value, (dict, list)) and not name.startswith(('ansible_', 'vault_', 'hostvars', 'groups')):
            yield from _walk(name, value, in_map=False)


def _walk(path, value, in_map):
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            child = '%s.%s' % (path, key)
            if in_map and not isinstance(value[key], (dict, list)):
                if not NOT_SECRET_NAME.search(str(key)) and str(key) not in ('name', 'user', 'username', 'db', 'database', 'pool_mode', 'acl', 'rules'):
                    yield child, value[key]
                continue
            secret_key = SECRET_NAME.search(str(key)) and not NOT_SECRET_NAME.search(str(key))
            if secret_key and not isinstance(value[key], (dict, list)):
                yield child, value[key]
            else:
                yield from _walk(child, value[key], in_map and isinstance(value[key], (dict, list)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            child = '%s[%d]' % (path, index)
            if isinstance(item, dict):
                yield from _walk(child, item, False)


def secret_min_length(host, path, min_length):
    """The minimum length for the secret at ``path``: the collection's, or a role's stricter one."""
    root = re.split(r'[.\[]', path, maxsplit=1)[0]
    if root in SECRET_MIN_LENGTHS:
        wanted = SECRET_MIN_LENGTHS[root]
        if not isinstance(wanted, int):  # the variable holding it (redis_password_min_length) and its default
            wanted = as_int(host.variables.get(wanted[0], wanted[1])) or wanted[1]
        return max(min_length, wanted)
    return min_length


def _problems_of_secrets(inv, host, min_length, min_bits):
    out = []
    for path, value in secret_leaves(host.variables):
        where = host.where(path)
        root = re.split(r'[.\[]', path, maxsplit=1)[0]
        if root in host.templated:
            continue  # a role default that copies another variable (redis_discovery_password): checked at its source
        if root in host.defaulted and (value is None or str(value).strip() == ''):
            continue  # not set, the role's empty default: REQUIRED_SECRETS says where a role needs one
        if value is None or str(value).strip() == '':
            out.append(Problem(path, where, "''", 'secret is empty',
                               'set it from Ansible Vault (ansible-vault encrypt_string) to a random value of at least %d characters' % min_length))
            continue
        text = str(value)
        if _CONTROL.search(text):
            out.append(Problem(path, where, mask(text), 'secret contains a control character (%s)' % _control_name(text),
                               'remove it: a copied secret often ends with a line break (openssl rand -base64 24 | tr -d "\\n")'))
            continue
        if is_placeholder(text):
            out.append(Problem(path, where, mask(text), 'secret is a placeholder/sample value',
                               'replace it with a random secret, e.g. `openssl rand -base64 24`, stored in Ansible Vault'))
            continue
        wanted = secret_min_length(host, path, min_length)
        if len(text) < wanted:
            out.append(Problem(path, where, mask(text), 'secret is shorter than %d characters' % wanted,
                               'use a random secret of at least %d characters (openssl rand -base64 24)' % wanted))
            continue
        strength = secret_strength(text)
        if strength is None:
            out.append(Problem(path, where, mask(text), 'secret strength cannot be judged: the zxcvbn package is missing '
                               'on the controller', 'pip install zxcvbn==4.5.0 (pinned in requirements.txt)'))
            continue
        bits, reasons = strength
        if bits < min_bits:
            built = ' (it is built from %s)' % ', '.join(reasons) if reasons else ''
            out.append(Problem(path, where, mask(text), 'secret is easy to guess: the zxcvbn estimator needs about 2^%d '
                               'guesses, fewer than 2^%d%s' % (bits, min_bits, built),
                               'use a random secret (openssl rand -base64 24): no words, names, years, dates, keyboard '
                               'runs or repeats'))
            continue
        if inv.environment == 'production' and not host.vaulted.get(path, host.vaulted.get(path.split('.')[0].split('[')[0], False)):
            out.append(Problem(path, where, mask(text), 'secret is in plain text in a production inventory (bulwark_environment=production)',
                               'move it to Ansible Vault: ansible-vault encrypt_string, or reference a variable of an encrypted vault.yml'))
    return out


def _problems_of_tls_keys(inv, host):
    out = []
    for name in sorted(host.variables):
        if not PEM_KEY_NAME.search(name):
            continue
        value = host.variables[name]
        if not value:
            continue
        text = str(value)
        if is_placeholder(text) or 'PRIVATE KEY-----' not in text:
            out.append(Problem(name, host.where(name), mask(text), 'not a PEM private key',
                               'paste the PEM key (-----BEGIN ... PRIVATE KEY-----) from Ansible Vault, or leave it empty to generate one'))
        elif inv.environment == 'production' and not host.vaulted.get(name, False):
            out.append(Problem(name, host.where(name), mask(text), 'private key is in plain text in a production inventory',
                               'move it to Ansible Vault (ansible-vault encrypt_string or an encrypted vault.yml)'))
    return out


def check_secret_reuse(inv):
    """The same secret value under two different source variables (two services sharing one password)."""
    seen = {}
    out = []
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        for path, value in secret_leaves(host.variables):
            if value is None or str(value) == '' or is_placeholder(value):
                continue
            if re.split(r'[.\[]', path, maxsplit=1)[0] in host.templated:
                continue  # a role default copying another variable: the same credential, not reuse
            source = host.sources.get(path, path)
            service = source.split('.')[0].split('[')[0]
            for group in SHARED_CREDENTIALS:
                if source in group:  # where the value really comes from (a literal, or a reference followed)
                    source = service = 'credential:%s' % group[0]
            item = re.fullmatch(r'(\w+)\[(\d+)\]\.password', path)
            if item and item.group(1) in CREDENTIAL_NAMESPACES:
                entry = (host.variables.get(item.group(1)) or [None] * (int(item.group(2)) + 1))[int(item.group(2))]
                if isinstance(entry, dict) and entry.get('name'):
                    source = service = '%s:%s' % (CREDENTIAL_NAMESPACES[item.group(1)], entry['name'])
            first = seen.setdefault(str(value), (path, source, service, host))
            if first[1] != source and first[2] != service:
                out.append(Problem(path, host.where(path), mask(value),
                                   'same secret as %s (%s): a secret is reused across services' % (first[0], first[3].where(first[0])),
                                   'give each service its own random secret'))
    return out


def check_topology(inv):
    out = []
    overrides, where = None, 'inventory'
    for name in sorted(inv.hosts):
        if 'bulwark_services' in inv.hosts[name].variables:
            overrides = inv.hosts[name].variables['bulwark_services']
            where = inv.hosts[name].where('bulwark_services')
            break
    try:
        table = topology.services(overrides or None)
    except topology.TopologyError as exc:
        return [Problem('bulwark_services', where, show(overrides), str(exc), 'fix the entry (see plugins/module_utils/topology.py)')]
    required = inv.required_groups
    if required is None:
        required = sorted(set(e['group'] for e in table.values() if e['group'] != 'all'))
    for group in required:
        if group not in inv.groups:
            out.append(Problem('groups.%s' % group, 'inventory', '(missing)', 'group %s is needed by the topology but is not in the inventory' % group,
                               'add group %s with at least one host to the inventory (or remove its services through bulwark_services)' % group))
        elif not inv.members(group):
            out.append(Problem('groups.%s' % group, 'inventory', '[]', 'group %s is empty' % group,
                               'add at least one host to group %s' % group))
    for service in sorted(table):
        for index, group in enumerate(table[service]['allow_from']):
            if group not in ('any', 'all') and group not in inv.groups:
                out.append(Problem('bulwark_services.%s.allow_from[%d]' % (service, index), where, show(group),
                                   'group %s is not in the inventory' % group, 'add the group (it may be empty) or fix the name'))
    # no port bound twice on a host
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        # a role's port variable set by the inventory; its default (templated from the topology) is the topology's port
        own = set(v for v in host.variables if v not in host.templated)
        bound = {}
        for service in sorted(table):
            entry = table[service]
            if entry['group'] != 'all' and name not in inv.groups.get(entry['group'], []):
                continue
            var = '%s_port' % service
            port = as_int(host.variables[var] if var in own else entry['port'])
            if port is None:
                continue
            key = (port, entry.get('proto', 'tcp'))
            if key in bound:
                other = bound[key]
                if service not in (overrides or {}) and other in (overrides or {}) and '%s_port' % other not in own:
                    service, other = other, service
                    var = '%s_port' % service
                out.append(Problem(var if var in own else 'bulwark_services.%s.port' % service,
                                   host.where(var) if var in own else (where if overrides else 'host %s' % name), str(port),
                                   'port %d/%s on host %s is also used by service %s' % (port, key[1], name, other),
                                   'give one of the two services another port (bulwark_services.<service>.port)'))
            else:
                bound[key] = service
    return out


def check_firewall_sources(inv):
    """firewall_admin_networks and firewall_extra_rules[*].from, with the firewall role's own normaliser."""
    out = []
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        nets = host.variables.get('firewall_admin_networks')
        if isinstance(nets, (list, tuple)):
            for index, value in enumerate(nets):
                try:
                    firewall._source(value, 'firewall_admin_networks[%d]' % index)
                except firewall.FirewallError as exc:
                    out.append(Problem('firewall_admin_networks[%d]' % index, host.where('firewall_admin_networks'), show(value),
                                       str(exc).split(';', maxsplit=1)[0], 'use an IP address (203.0.113.7) or a CIDR network (10.8.0.0/24)'))
        extra = host.variables.get('firewall_extra_rules')
        if isinstance(extra, (list, tuple)):
            for index, rule in enumerate(extra):
                var = 'firewall_extra_rules[%d]' % index
                if not isinstance(rule, dict):
                    out.append(Problem(var, host.where('firewall_extra_rules'), show(rule), 'not a mapping',
                                       'use {port: N, proto: tcp, from: <cidr|address|any|group:NAME>}'))
                    continue
                source = rule.get('from')
                if isinstance(source, str) and source.startswith('group:'):
                    if source[6:] not in inv.groups:
                        out.append(Problem(var + '.from', host.where('firewall_extra_rules'), show(source),
                                           'group %s is not in the inventory' % source[6:], 'fix the group name or add the group'))
                else:
                    try:
                        firewall._source(source, var + '.from')
                    except firewall.FirewallError as exc:
                        out.append(Problem(var + '.from', host.where('firewall_extra_rules'), show(source), str(exc).split(';', maxsplit=1)[0],
                                           "use 'any', an IP address, a CIDR network or group:<name>"))
                problem = check_kind(var + '.port', rule.get('port'), 'port')
                if problem:
                    out.append(Problem(var + '.port', host.where('firewall_extra_rules'), show(rule.get('port')), problem[0], problem[1]))
    return out


def route_source(address, port):
    """The source address this controller's routing table picks to reach ``address``, or None when it cannot tell.
    Only for an IP literal: the validation stays offline (no DNS query), so a host reached by name needs
    firewall_controller_address to be checked. A UDP socket's connect() only chooses the route and the source
    address: no packet is sent."""
    try:
        ipaddress.ip_address(str(address).split('%', 1)[0])
    except ValueError:
        return None
    try:
        candidates = socket.getaddrinfo(str(address), port, 0, socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    for family, socktype, proto, dummy, sockaddr in candidates:
        try:
            sock = socket.socket(family, socktype, proto)
        except OSError:
            continue
        try:
            sock.connect(sockaddr)
            return str(sock.getsockname()[0]).split('%', 1)[0]  # without an IPv6 zone (fe80::1%eth0)
        except OSError:
            continue
        finally:
            sock.close()
    return None


def _connection_value(host, *names):
    """(known, value) of an Ansible connection setting read from ``names``, the last one set winning (as in Ansible's
    ssh connection plugin); value None when none is set, known False when the winning one cannot be templated here."""
    for name in reversed(names):
        if name in host.unresolved or name in host.raw:
            return False, None  # reported as untemplatable (or needs facts): not guessed
        if host.variables.get(name) is not None:
            return True, host.variables[name]
    return True, None


def _ssh_connection(host):
    """(user, address, port) of the controller's SSH login to ``host``, or None when it does not log in over SSH.
    user is None when the inventory does not name it; address and port are None when they cannot be known here."""
    known, connection = _connection_value(host, 'ansible_connection')
    if not known or (connection is not None and str(connection) not in SSH_CONNECTIONS):
        return None  # docker, local, winrm...: sshd and the SSH firewall rule never stand in its way
    dummy, user = _connection_value(host, 'ansible_user', 'ansible_ssh_user')
    known, address = _connection_value(host, 'ansible_host', 'ansible_ssh_host')
    if known and address in (None, ''):
        address = host.name  # Ansible connects to the inventory hostname
    known_port, port = _connection_value(host, 'ansible_port', 'ansible_ssh_port')
    port = (22 if port is None else as_int(port)) if known_port else None
    return (None if user is None else str(user), None if address is None else str(address),
            port if port is not None and 1 <= port <= 65535 else None)


def _admits(sources, address):
    """True when ``address`` is one of the firewall's normalised SSH sources (``any``, an address or a network)."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(source == firewall.ANY or ip in ipaddress.ip_network(source) for source in sources)


def check_lockout(inv):
    """A run must not cut its own SSH connection: before any host changes, refuse sshd and firewall settings that
    would shut out the very login this run uses (hosts reached over SSH only; docker, local... are never concerned).

    * root login: baseline writes PermitRootLogin no while the run logs in as root;
    * firewall sources: firewall_admin_networks would not admit the controller's address (firewall_controller_address,
      else the source address of the controller's route to the host);
    * firewall port: the firewall opens firewall_ssh_port while the run connects on another port.

    Hosts whose problem reads alike (same variable, origin, value and address) are named in one problem."""
    found = {}  # (variable, where, value, problem with %s for the hosts, fix) -> [host, ...]
    routes = {}  # (address, port) -> the controller's source address, looked up once per run

    def add(variable, where, value, problem, fix, name):
        found.setdefault((variable, where, value, problem, fix), []).append(name)

    for name in sorted(inv.hosts):
        host, v = inv.hosts[name], inv.hosts[name].variables
        ssh = _ssh_connection(host)
        if ssh is None:
            continue
        user, address, port = ssh
        # Root login. Without ansible_user (ansible_ssh_user) Ansible logs in as whatever the controller picks: the
        # controller's current user (getpass.getuser()), remote_user from ansible.cfg or the environment, or User in
        # ~/.ssh/config. That is unknown here, so an unnamed user is not refused.
        permit = v.get('baseline_ssh_permit_root_login')
        if inv.runs(name, 'baseline') and user == 'root' and isinstance(permit, str) and permit.strip().lower() == 'no' \
                and as_bool(v.get('baseline_ssh_enabled'), True) and (name, 'baseline_ssh_permit_root_login') not in inv.spec_rejected \
                and 'baseline_ssh_permit_root_login' not in host.unresolved:
            add('baseline_ssh_permit_root_login',
                _where(host, 'baseline_ssh_permit_root_login', 'ansible_ssh_user' if v.get('ansible_ssh_user') is not None else 'ansible_user'),
                show(permit), 'the run logs in to %s as root over SSH and PermitRootLogin no would lock it out after the reload',
                'log in as an admin user with sudo (ansible_user) or set baseline_ssh_permit_root_login: prohibit-password', name)
        if not inv.runs(name, 'firewall'):
            continue
        # Firewall sources: [] admits SSH from anywhere; a list the firewall module refuses is reported by
        # check_firewall_sources, not guessed at here.
        networks = v.get('firewall_admin_networks')
        sources = None
        if isinstance(networks, (list, tuple)) and networks and 'firewall_admin_networks' not in host.unresolved \
                and (name, 'firewall_admin_networks') not in inv.spec_rejected:
            try:
                sources = [firewall._source(value, 'firewall_admin_networks[%d]' % index) for index, value in enumerate(networks)]
            except firewall.FirewallError:
                sources = None
        if sources:
            controller, how = str(v.get('firewall_controller_address') or '').strip(), 'firewall_controller_address'
            if 'firewall_controller_address' in host.unresolved or not _is_ip(controller):
                controller = ''  # not an address: the 'ip' kind reports it
            if not controller and address is not None and port is not None:
                if (address, port) not in routes:
                    routes[(address, port)] = route_source(address, port)
                controller, how = routes[(address, port)] or '', "the controller's source address on its route there"
            # No address (a host reached by name: the validation makes no DNS query; or no route): nothing to
            # compare, and refusing would only guess. firewall_controller_address makes the check apply.
            if controller and _is_ip(controller) and not _admits(sources, controller):
                add('firewall_admin_networks', _where(host, 'firewall_admin_networks', 'ansible_host'), show(networks),
                    'the firewall admits SSH only from %s, but this run reaches %%s from %s (%s): the run would cut its own '
                    'connection' % (', '.join(sources), controller, how),
                    'add %s (or its network) to firewall_admin_networks, or set firewall_controller_address when the host '
                    'sees the controller behind NAT (or a jump host)' % controller,
                    name if address == name else '%s (%s)' % (name, address))
        # Firewall port: the SSH rule opens firewall_ssh_port only, before the default incoming policy turns to deny.
        wanted = as_int(v.get('firewall_ssh_port', 22))
        if port is not None and wanted is not None and 1 <= wanted <= 65535 and wanted != port \
                and (name, 'firewall_ssh_port') not in inv.spec_rejected and 'firewall_ssh_port' not in host.unresolved:
            port_var = 'ansible_ssh_port' if v.get('ansible_ssh_port') is not None else 'ansible_port'
            add('firewall_ssh_port', _where(host, 'firewall_ssh_port', port_var), show(v.get('firewall_ssh_port', 22)),
                'the firewall would open SSH on port %d while this run connects to %%s on port %d: the run would cut its '
                'own connection' % (wanted, port),
                'set firewall_ssh_port: %d (the port sshd listens on), or correct %s' % (port, port_var), name)
    return [Problem(variable, where, value, problem % ', '.join(names), fix)
            for (variable, where, value, problem, fix), names in found.items()]


def check_pgbouncer_pools(inv):
    """PgBouncer pools + reserve vs PostgreSQL max_connections - superuser_reserved_connections (pgbouncer role's check)."""
    out = []
    pg_host, max_conn = inv.first('postgres', 'postgresql_max_connections')
    if pg_host is None:
        return out
    reserved = inv.hosts[pg_host].variables.get('postgresql_superuser_reserved_connections', 3)
    if not _in_range(pg_host and inv.hosts[pg_host], 'postgresql_max_connections', 'postgresql_superuser_reserved_connections'):
        return out  # a limit out of its range is reported by the range check; the sum would only repeat it
    for name in inv.members('pgbouncer'):
        v = inv.hosts[name].variables
        if 'pgbouncer_default_pool_size' not in v:
            continue  # no pgbouncer settings (role absent)
        try:
            pgbouncer_pools.pool_plan(v.get('pgbouncer_databases') or [], v.get('pgbouncer_users') or [],
                                      v.get('pgbouncer_default_pool_size'), v.get('pgbouncer_reserve_pool_size', 0),
                                      max_conn, reserved)
        except pgbouncer_pools.PoolSizeError as exc:
            problem, dummy, fix = str(exc).partition(' Fix: ') if ' Fix: ' in str(exc) else str(exc).partition('; ')
            named = re.match(r'^(pgbouncer_\w+|postgresql_\w+)', str(exc))
            variable = named.group(1) if named else 'pgbouncer_default_pool_size'
            host = pg_host if variable.startswith('postgresql_') else name
            out.append(Problem(variable, inv.hosts[host].where(variable), show(inv.hosts[host].variables.get(variable)),
                               '%s (PostgreSQL on %s: postgresql_max_connections=%s, %s)'
                               % (problem.rstrip('.'), pg_host, max_conn, inv.hosts[pg_host].where('postgresql_max_connections')),
                               fix or 'lower the pool sizes or raise postgresql_max_connections'))
    return out


def check_pgbouncer_auth_query(inv):
    """auth_query's user logs in with a client certificate only: it must be a cert user of the PostgreSQL host."""
    out = []
    postgres = inv.members('postgres')
    for name in inv.members('pgbouncer'):
        v = inv.hosts[name].variables
        if v.get('pgbouncer_auth_mode') != 'auth_query' or not postgres:
            continue
        pg_host = v.get('pgbouncer_postgres_host')
        if pg_host not in inv.hosts:  # the role's default: this host when it runs PostgreSQL, else the first one
            pg_host = name if name in postgres else postgres[0]
        user = v.get('pgbouncer_auth_user', 'pgbouncer_auth')
        cert_users = inv.hosts[pg_host].variables.get('postgresql_cert_auth_users') or []
        if user not in cert_users:
            out.append(Problem('pgbouncer_auth_mode', inv.hosts[name].where('pgbouncer_auth_mode'), 'auth_query',
                               'PgBouncer on %s runs auth_query as %s, which can log in to PostgreSQL on %s only with a '
                               'client certificate, but postgresql_cert_auth_users there (%s, %s) does not name it'
                               % (name, user, pg_host, show(cert_users),
                                  inv.hosts[pg_host].where('postgresql_cert_auth_users')),
                               'add %s to postgresql_cert_auth_users for %s, or set pgbouncer_auth_mode: userlist'
                               % (user, pg_host)))
    return out


def check_sentinel(inv):
    """Quorum vs sentinel count and majority, one monitored name, 3+ sentinels in production (redis_sentinel's check)."""
    names, quorum, where = {}, None, None
    first = inv.members('redis')[:1]
    group = inv.hosts[first[0]].variables.get('redis_sentinel_group', 'redis') if first else 'redis'
    for name in inv.members(str(group)):
        v = inv.hosts[name].variables
        if 'redis_sentinel_quorum' not in v and 'redis_sentinel_master_name' not in v:
            continue
        names[name] = v.get('redis_sentinel_master_name', 'mymaster')
        if quorum is None and 'redis_sentinel_quorum' in v:
            quorum, where = v['redis_sentinel_quorum'], inv.hosts[name].where('redis_sentinel_quorum')
    if not names:
        return []
    out = []
    for text in redis_topology.sentinel_check(names, quorum if quorum is not None else len(names) // 2 + 1,
                                              production=inv.environment == 'production'):
        variable = 'redis_sentinel_master_name' if 'monitored names' in text else (
            'groups.redis' if 'sentinel(s)' in text else 'redis_sentinel_quorum')
        problem, dummy, fix = text.partition('; ')
        place = where
        if variable == 'redis_sentinel_master_name':
            counts = {}
            for value in names.values():
                counts[value] = counts.get(value, 0) + 1
            odd = [h for h in sorted(names) if counts[names[h]] == min(counts.values())][0]
            place = inv.hosts[odd].where(variable)
        out.append(Problem(variable, place or 'inventory', show(quorum) if variable == 'redis_sentinel_quorum' else str(len(names)),
                           problem, fix or 'see the redis_sentinel role README'))
    return out


def check_redis_memory(inv):
    out = []
    for name in inv.members('redis'):
        host = inv.hosts[name]
        value = host.variables.get('redis_maxmemory')
        if value in (None, '', 0) or not host.memtotal_mb or (isinstance(value, str) and _PERCENT.fullmatch(value)):
            continue
        size = parse_size(value)
        if size and size > host.memtotal_mb * 1024 * 1024 * 0.9:
            out.append(Problem('redis_maxmemory', host.where('redis_maxmemory'), show(value),
                               'more than 90%% of the %d MB of RAM of %s' % (host.memtotal_mb, name),
                               'lower it, or use a share like 50%'))
    return out


def check_upstreams(inv):
    """The load balancers have an upstream; nginx_upstream_down names only hosts of nginx_upstream_group."""
    out = []
    if inv.members('lb') and 'app' in inv.groups and not inv.members('app'):
        out.append(Problem('groups.app', 'inventory', '[]', 'the load balancers have no upstream: group app is empty',
                           'add the application hosts to group app'))
    for name in inv.members('lb'):
        host = inv.hosts[name]
        group = str(host.variables.get('nginx_upstream_group', 'app'))
        members = inv.members(group)
        down = host.variables.get('nginx_upstream_down')
        if isinstance(down, list) and down:
            unknown = [h for h in down if h not in members]
            if unknown:
                out.append(Problem('nginx_upstream_down', host.where('nginx_upstream_down'), show(down),
                                   'not hosts of group %s (nginx_upstream_group): %s' % (group, ', '.join(map(str, unknown))),
                                   'list inventory hostnames of group %s' % group))
            elif set(down) >= set(members):
                out.append(Problem('nginx_upstream_down', host.where('nginx_upstream_down'), show(down),
                                   'every upstream would be down', 'leave at least one %s host up' % group))
    return out


def _names_of(cert):
    from cryptography import x509  # imported lazily: only needed when certificates are given
    names = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names.extend(ext.get_values_for_type(x509.DNSName))
        names.extend(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names.extend(a.value for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME))
    return names


def _covers(names, wanted):
    for name in names:
        if name == wanted or (name.startswith('*.') and wanted.split('.', 1)[-1] == name[2:] and '.' in wanted):
            return True
    return False


def check_tls_pairs(inv, now=None):
    out = []
    now = now or datetime.datetime.now(datetime.timezone.utc)
    done = set()
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        for cert_var, key_var, name_var in TLS_PAIRS:
            cert_pem, key_pem = host.variables.get(cert_var), host.variables.get(key_var)
            if not cert_pem and not key_pem:
                continue
            origin = host.where(cert_var if cert_var in host.origins else key_var)
            if (origin, cert_var) in done:
                continue
            done.add((origin, cert_var))
            if bool(cert_pem) != bool(key_pem):
                missing = key_var if cert_pem else cert_var
                out.append(Problem(missing, host.where(missing) if missing in host.origins else origin, "''",
                                   'certificate and key must be given together',
                                   'set both %s and %s, or neither (a certificate is then generated)' % (cert_var, key_var)))
                continue
            try:
                from cryptography import x509
                from cryptography.hazmat.primitives import serialization
            except ImportError:
                continue
            try:
                cert = x509.load_pem_x509_certificate(str(cert_pem).encode())
            except Exception as exc:  # any parse error
                out.append(Problem(cert_var, origin, show(str(cert_pem)[:30]), 'not a PEM certificate (%s)' % exc.__class__.__name__,
                                   'paste the PEM certificate (-----BEGIN CERTIFICATE-----), leaf first'))
                continue
            try:
                key = serialization.load_pem_private_key(str(key_pem).encode(), password=None)
            except Exception:  # pylint: disable=broad-except
                key = None  # reported by _problems_of_tls_keys
            if key is not None:
                pub = serialization.PublicFormat.SubjectPublicKeyInfo
                enc = serialization.Encoding.DER
                if key.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
                    out.append(Problem(key_var, host.where(key_var), mask('x' * len(str(key_pem))),
                                       'the key does not match the certificate in %s' % cert_var,
                                       'use the key the certificate was issued for'))
            not_after = getattr(cert, 'not_valid_after_utc', None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
            if not_after <= now:
                out.append(Problem(cert_var, origin, 'expires %s' % not_after.date(), 'the certificate has expired',
                                   'renew the certificate'))
            elif (not_after - now).days < CERT_MIN_DAYS:
                out.append(Problem(cert_var, origin, 'expires %s' % not_after.date(),
                                   'the certificate expires in less than %d days' % CERT_MIN_DAYS, 'renew the certificate'))
            wanted = host.variables.get(name_var) if name_var else None
            if wanted:
                names = _names_of(cert)
                for server in ([wanted] if isinstance(wanted, str) else list(wanted)):
                    if not _covers(names, str(server)):
                        out.append(Problem(cert_var, origin, 'names %s' % ', '.join(names),
                                           'the certificate does not cover %s (%s)' % (server, name_var),
                                           'issue a certificate whose subjectAltName includes %s' % server))
    return out


# Address ranges an internal network may use in production: private (RFC 1918, RFC 4193, ...) and the shared
# address space of carrier-grade NAT and overlay networks (RFC 6598).
_SHARED_SPACE = ipaddress.ip_network('100.64.0.0/10')


def check_internal_network(inv):
    """Production binds every internal service to an address inside a private bulwark_internal_network; without
    it the internal address falls back to the default-route address, which on many clouds is public."""
    if inv.environment != 'production':
        return []
    out = []
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        if 'bulwark_internal_network' in host.unresolved or 'bulwark_internal_network' in host.raw:
            continue
        value = host.variables.get('bulwark_internal_network')
        if value is None or str(value).strip() == '':
            out.append(Problem('bulwark_internal_network', host.where('bulwark_internal_network') if 'bulwark_internal_network' in host.origins
                               else 'not set (group all)', "''",
                               'a production inventory must name its internal network: without it services bind to the '
                               'default-route address, which on many clouds is public',
                               "set bulwark_internal_network (group all) to the private CIDR of the hosts' internal "
                               'interfaces, e.g. 10.20.0.0/24'))
            continue
        try:
            net = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            continue  # not a CIDR: the 'cidr' kind reports it
        if not (net.is_private or (net.version == 4 and net.subnet_of(_SHARED_SPACE))):
            out.append(Problem('bulwark_internal_network', host.where('bulwark_internal_network'), show(value),
                               'not a private network: services would listen where the internet can reach them',
                               'use the private CIDR of the internal interfaces (10.0.0.0/8, 172.16.0.0/12, '
                               '192.168.0.0/16, fd00::/8 or 100.64.0.0/10)'))
        override = host.variables.get('bulwark_internal_address')
        if override in (None, '') or 'bulwark_internal_address' in host.unresolved:
            continue
        try:
            address = ipaddress.ip_address(str(override))
        except ValueError:
            continue  # the 'ip' kind reports it
        if address.version != net.version or address not in net:
            out.append(Problem('bulwark_internal_address', host.where('bulwark_internal_address'), show(override),
                               'outside bulwark_internal_network %s, so the host would bind its services elsewhere' % net,
                               "use the host's address on the internal network, or remove the override"))
    return out


# The internal CA lives on the controller, one per inventory: bulwark.stack.internal_ca reads these once per run (from
# the play's first host), so every host must agree on them.
INTERNAL_CA_SHARED = ('internal_ca_dir', 'internal_ca_generate', 'internal_ca_passphrase', 'internal_ca_common_name',
                      'internal_ca_lifetime_days', 'internal_ca_cert_lifetime_days', 'internal_ca_renew_days')


def check_internal_ca(inv):
    """One CA setting for the whole inventory; renewal before the end of a certificate's life, not at every run; in
    production the CA key is encrypted (a passphrase from Ansible Vault)."""
    out = []
    names = sorted(inv.hosts)
    if not names:
        return out
    first = inv.hosts[names[0]]
    for variable in INTERNAL_CA_SHARED:
        if variable in first.unresolved:
            continue
        for name in names[1:]:
            host = inv.hosts[name]
            if variable in host.unresolved or host.variables.get(variable) == first.variables.get(variable):
                continue
            secret = 'passphrase' in variable
            out.append(Problem(variable, host.where(variable),
                               mask(host.variables.get(variable)) if secret else show(host.variables.get(variable)),
                               'differs between %s and %s, but the internal CA is one per inventory and the run reads '
                               'it once' % (names[0], name),
                               'set %s once, in group all' % variable))
            break
    lifetime = as_int(first.variables.get('internal_ca_cert_lifetime_days'))
    renew = as_int(first.variables.get('internal_ca_renew_days'))
    if lifetime is not None and renew is not None and renew >= lifetime:
        out.append(Problem('internal_ca_renew_days', _where(first, 'internal_ca_renew_days', 'internal_ca_cert_lifetime_days'),
                           show(renew), 'not less than internal_ca_cert_lifetime_days (%d): every run would sign every '
                           'certificate anew' % lifetime,
                           'renew a few weeks before the end, e.g. internal_ca_renew_days: 30 with a lifetime of 365'))
    if inv.environment == 'production' and as_bool(first.variables.get('internal_ca_generate'), True) \
            and 'internal_ca_passphrase' not in first.unresolved and 'internal_ca_passphrase' not in first.origins \
            and str(first.variables.get('internal_ca_passphrase') or '').strip() == '':
        # not set at all (an empty value set in the inventory is reported by the secrets check)
        out.append(Problem('internal_ca_passphrase', 'not set (group all)', "''",
                           'empty in production: the internal CA key would lie unencrypted on the controller',
                           'set internal_ca_passphrase (group all) from Ansible Vault to a random value of at least '
                           '%d characters (openssl rand -base64 33), or use your own CA (internal_ca_generate: false)'
                           % SECRET_MIN_LENGTH))
    return out


def check_hostnames(inv):
    out = []
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        for var in sorted(host.variables):
            if var.endswith('_server_name') and host.variables[var]:
                values = host.variables[var] if isinstance(host.variables[var], list) else [host.variables[var]]
                for value in values:
                    if isinstance(value, str) and _CONTROL.search(value):
                        out.append(Problem(var, host.where(var), show(value), 'contains %s, which would end the line in '
                                           'the config file and start another setting' % _control_name(value),
                                           'use a DNS name such as www.example.com, on one line'))
                    elif not isinstance(value, str) or not (_HOSTNAME.fullmatch(value[2:] if value.startswith('*.') else value)
                                                            or value == '_'):
                        out.append(Problem(var, host.where(var), show(value), 'not a host name', 'use a DNS name such as www.example.com'))
    return out


# ----------------------------------------------------------------------------------------------------------------
# argument specs: types, choices, required (the roles' contracts, applied on the controller before any host)
# ----------------------------------------------------------------------------------------------------------------

def _spec_variable(message, options):
    """The option an ArgumentSpecValidator message is about (the longest option name it mentions)."""
    for option in sorted(options, key=len, reverse=True):
        if re.search(r'(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])' % re.escape(option), message):
            return option
    return None


def _spec_fix(option):
    if option.get('choices'):
        return 'use one of: %s' % ', '.join(str(c) for c in option['choices'])
    kind = option.get('type', 'str')
    if option.get('elements'):
        return 'use a %s of %s values' % (kind, option['elements'])
    return 'use a value of type %s' % kind


def check_argument_specs(inv):
    """Each role's meta/argument_specs.yml (entry point main) against the variables of every host that runs it.

    The same validator Ansible runs when the role starts, here on the controller for the whole inventory at once, so
    a wrong type or choice stops the run before any host changes. Variables it refuses are not checked again by kind.
    """
    if not inv.argument_specs:
        return []
    try:
        from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    except ImportError:  # pragma: no cover - the action plugin always runs inside Ansible
        return []
    out = []
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        for role in sorted(inv.argument_specs):
            options = inv.argument_specs[role]
            if not inv.runs(name, role, marker=False):
                continue
            params = dict((k, host.variables[k]) for k in options if host.variables.get(k) is not None)
            if not params:
                continue
            result = ArgumentSpecValidator(options).validate(params)
            for error in result.errors:
                message = str(getattr(error, 'error_message', None) or error)
                variable = _spec_variable(message, options)
                if variable is None:
                    continue
                inv.spec_rejected.add((name, variable))
                value = params.get(variable)
                secret = options[variable].get('no_log') or SECRET_NAME.search(variable)
                if secret and value not in (None, ''):
                    message = message.replace(str(value), '****')  # Ansible's message may quote the value
                out.append(Problem(variable, host.where(variable), mask(value) if secret else show(value),
                                   '%s (argument spec of bulwark.stack.%s)' % (message.rstrip('.'), role),
                                   _spec_fix(options[variable])))
    return out


# ----------------------------------------------------------------------------------------------------------------
# characters of values that reach config files
# ----------------------------------------------------------------------------------------------------------------

_STEP = re.compile(r'\[\*\]|\.\*|\.<keys>|\.([A-Za-z_][A-Za-z0-9_]*)')
_CHAR_NAMES = {' ': 'a blank', '\t': 'a tab', '"': 'a double quote', "'": 'a single quote', '\\': 'a backslash'}


def _control_name(text):
    match = _CONTROL.search(str(text))
    if not match:
        return ''
    char = match.group()
    return _CONTROL_NAMES.get(char, 'the control character U+%04X' % ord(char))


def _key_path(path, key):
    text = str(key)
    if re.fullmatch(r'[A-Za-z0-9_.@:/-]+', text):
        return '%s.%s' % (path, text)
    return '%s[%r]' % (path, text)


def walk_values(path, value, rest):
    """(path, value) for every value a CONFIG_TEXT pattern's rest (``[*]``, ``.*``, ``.<keys>``, ``.field``) reaches."""
    if not rest:
        yield path, value
        return
    match = _STEP.match(rest)
    if not match:
        return
    step, tail = match.group(0), rest[match.end():]
    if step == '[*]':
        if isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from walk_values('%s[%d]' % (path, index), item, tail)
    elif step in ('.*', '.<keys>'):
        if isinstance(value, dict):
            for key in sorted(value, key=str):
                if step == '.<keys>':
                    yield _key_path(path, key), key
                else:
                    yield from walk_values(_key_path(path, key), value[key], tail)
    elif isinstance(value, dict) and match.group(1) in value:
        yield from walk_values('%s.%s' % (path, match.group(1)), value[match.group(1)], tail)


def _balanced(text):
    depth = 0
    for char in text:
        depth += {'{': 1, '}': -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def text_problem(value, cls):
    """(problem, fix) when ``value`` may not be written where TEXT_CLASSES[cls] says, else None. Empty values pass."""
    if value is None or isinstance(value, (bool, dict, list, tuple)):
        return None
    if not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    if text == '':
        return None
    regex, refused, what = TEXT_CLASSES[cls]
    if cls == 'script':
        if _CONTROL.search(text.replace('\n', '').replace('\t', '')):
            return 'contains %s' % _control_name(text.replace('\n', '').replace('\t', '')), 'write %s' % what
        if any(line.strip() == 'endscript' for line in text.splitlines()):
            return ('contains a line "endscript", which would end the script and turn the lines after it into '
                    'directives'), 'write %s' % what
        return None
    if _CONTROL.search(text):
        return ('contains %s, which would end the line in the file and start another setting' % _control_name(text),
                'write it on one line without control characters (%s)' % what)
    for char in refused:
        if char in text:
            return 'contains %s, which would end the value there' % _CHAR_NAMES.get(char, repr(char)), 'use %s' % what
    if regex and not re.fullmatch(regex, text):
        return 'is not %s' % what, 'use %s' % what
    if cls == 'directive' and not (_balanced(text) and text.rstrip().endswith((';', '}'))):
        return ('is not one complete directive (unbalanced braces or no final ;), so it could close the server '
                'block'), 'write one directive ending with ; (or a block with balanced braces)'
    if cls == 'host' and not (_HOSTNAME.fullmatch(text) or _is_ip(text)):
        return 'is not a host name or IP address', 'use a DNS name such as ntp1.example.com or an address'
    return None


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_secret_path(path):
    root = re.split(r'[.\[]', path, maxsplit=1)[0]
    last = re.split(r'[.\[]', path)[-1]
    return bool(SECRET_NAME.search(root) and not NOT_SECRET_NAME.search(root)) or bool(
        SECRET_NAME.search(last) and not NOT_SECRET_NAME.search(last))


def check_config_text(inv):
    """Every CONFIG_TEXT value: control characters, quote-ending characters, names and paths by pattern."""
    out = []
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        for pattern in sorted(CONFIG_TEXT):
            cls, target = CONFIG_TEXT[pattern]
            root = re.split(r'[.\[]', pattern, maxsplit=1)[0]
            if root not in host.variables or root in host.templated:
                continue  # unset, or a role default computed from other (checked) variables
            for path, value in walk_values(root, host.variables[root], pattern[len(root):]):
                found = text_problem(value, cls)
                if not found:
                    continue
                secret = _is_secret_path(path)
                if secret and _CONTROL.search(str(value)):
                    continue  # reported by the secret checks (without showing the value)
                out.append(Problem(path, host.where(root), mask(value) if secret else show(value),
                                   '%s (it is written to %s)' % (found[0], target), found[1]))
    return out


# ----------------------------------------------------------------------------------------------------------------
# role checks: what the roles' preflight asserted before, now once on the controller
# ----------------------------------------------------------------------------------------------------------------

def _hosts_running(inv, role):
    return [inv.hosts[name] for name in inv.members(ROLE_GROUPS.get(role, 'all')) if inv.runs(name, role)]


def _static_shape(raw):
    """A template with every {{ ... }} / {% ... %} replaced by 'x': what is left is the operator's literal text."""
    return re.sub(r'\{%.*?%\}', '', re.sub(r'\{\{.*?\}\}', 'x', str(raw), flags=re.S), flags=re.S)


def check_required_secrets(inv):
    """REQUIRED_SECRETS: a role that runs on a host needs these secrets set (from Ansible Vault)."""
    out = []
    for role in sorted(REQUIRED_SECRETS):
        for host in _hosts_running(inv, role):
            for variable, copies in REQUIRED_SECRETS[role]:
                if variable in host.unresolved or variable in host.raw:
                    continue  # reported as not templatable / needs facts
                if copies and variable in host.defaulted:
                    continue  # the default copies `copies`, which is checked itself
                value = host.variables.get(variable)
                if value is None or str(value).strip() == '':
                    where = host.where(variable) if variable in host.origins else 'not set (group %s)' % ROLE_GROUPS[role]
                    out.append(Problem(variable, where, "''",
                                       'secret is empty, but bulwark.stack.%s needs it on %s' % (role, ROLE_GROUPS[role]),
                                       'set it from Ansible Vault to a random value of at least %d characters '
                                       '(openssl rand -base64 33)' % secret_min_length(host, variable, SECRET_MIN_LENGTH)))
    return out


def _prom_seconds(text):
    """Seconds of a Prometheus duration (5m, 1h30m), or None."""
    parts = re.findall(r'([0-9]+)(ms|s|m|h|d|w|y)', str(text))
    if not parts or ''.join(n + u for n, u in parts) != str(text):
        return None
    factor = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'y': 31536000}
    return sum(int(n) * factor[u] for n, u in parts)


# (user map of a scraped role, that role): Prometheus scrapes its hosts as prometheus_scrape_username.
SCRAPED_USER_MAPS = (('app_metrics_users', 'app'), ('nginx_metrics_users', 'nginx'), ('haproxy_metrics_users', 'haproxy'),
                     ('postgres_exporter_basic_auth_users', 'postgres_exporter'),
                     ('pgbouncer_exporter_basic_auth_users', 'pgbouncer_exporter'))


def check_monitoring(inv):
    """The monitoring tier: one Alertmanager (no cluster), a receiver in production, the scrape user present where
    basic auth is on, scrape jobs that name topology services, a scrape timeout within the interval, complete email
    settings."""
    out = []
    alertmanagers = _hosts_running(inv, 'alertmanager')
    if len(alertmanagers) > 1:
        out.append(Problem('monitoring', 'inventory group', ', '.join(h.name for h in alertmanagers),
                           'more than one host runs bulwark.stack.alertmanager: without a cluster (its gossip would '
                           'travel unencrypted) every alert would be notified once per host',
                           'keep one host in the monitoring group'))
    try:
        table = topology.services(inv.hosts[inv.members('monitoring')[0]].variables.get('bulwark_services')
                                  if inv.members('monitoring') else None)
    except topology.TopologyError:
        table = None  # reported by check_topology
    for host in alertmanagers:
        v = host.variables
        if inv.environment == 'production' and not v.get('alertmanager_webhook_urls') and not v.get('alertmanager_email_to'):
            out.append(Problem('alertmanager_webhook_urls', _where(host, 'alertmanager_webhook_urls', 'alertmanager_email_to'),
                               '[]', 'no receiver in production: alerts would reach nobody',
                               'list a webhook in alertmanager_webhook_urls or addresses in alertmanager_email_to'))
        if v.get('alertmanager_email_to'):
            for variable in ('alertmanager_email_from', 'alertmanager_email_smarthost'):
                if not str(v.get(variable) or '').strip():
                    out.append(Problem(variable, _where(host, variable, 'alertmanager_email_to'), "''",
                                       'empty, but alertmanager_email_to is set: the email could not be sent',
                                       'set alertmanager_email_from (sender) and alertmanager_email_smarthost (host:port)'))
        smarthost = v.get('alertmanager_email_smarthost')
        if smarthost and not re.fullmatch(r'[^\s:]+:[0-9]+|\[[0-9a-fA-F:]+\]:[0-9]+', str(smarthost)):
            out.append(Problem('alertmanager_email_smarthost', host.where('alertmanager_email_smarthost'), show(smarthost),
                               'not host:port', 'write the SMTP relay as host:port, e.g. smtp.example.org:587'))
    for host in _hosts_running(inv, 'prometheus'):
        v = host.variables
        user = v.get('prometheus_scrape_username', 'prometheus')
        for variable, role in (('prometheus_basic_auth_users', 'prometheus'), ('alertmanager_basic_auth_users', 'alertmanager')):
            users = v.get(variable)
            if isinstance(users, dict) and users and user not in users and inv.runs(host.name, role):
                out.append(Problem(variable, host.where(variable), show(sorted(users)),
                                   'has no entry for %s, the user Prometheus scrapes %s as: its target would be down'
                                   % (user, 'itself' if role == 'prometheus' else 'and sends alerts to Alertmanager'),
                                   'add %s: <password from the vault> (or set prometheus_scrape_username)' % user))
        # The scraped tiers' metrics users: Prometheus sends the password it sees; each target must accept it.
        for variable, role in SCRAPED_USER_MAPS:
            mine = v.get(variable)
            for target in _hosts_running(inv, role):
                theirs = target.variables.get(variable)
                if role in ('nginx', 'haproxy') and target.variables.get('lb_server', 'nginx') != role:
                    continue  # the other load balancer runs there
                if not isinstance(theirs, dict) or variable in target.unresolved:
                    continue
                if not theirs and not (isinstance(mine, dict) and mine.get(user)):
                    continue  # no metrics listener there, and Prometheus leaves the job out
                if theirs and user not in theirs:
                    out.append(Problem(variable, target.where(variable), show(sorted(theirs)),
                                       'has no entry for %s, the user Prometheus (%s) scrapes %s as: that target '
                                       'would be down' % (user, host.name, target.name),
                                       'add %s: <password from the vault> (or set prometheus_scrape_username)' % user))
                elif not theirs:
                    out.append(Problem(variable, target.where(variable), '{}',
                                       'empty on %s (no metrics listener there), but Prometheus (%s) holds a password '
                                       'for it and scrapes it: that target would be down' % (target.name, host.name),
                                       'set %s once for both (e.g. in group_vars/all, from the vault)' % variable))
                elif not isinstance(mine, dict) or mine.get(user) != theirs.get(user):
                    out.append(Problem(variable, target.where(variable), '(secret)',
                                       'the %s password %s holds differs from the one Prometheus (%s) sends: that '
                                       'target would refuse the scrape' % (user, target.name, host.name),
                                       'set %s once for both (e.g. in group_vars/all, from the vault)' % variable))
        redis_exporters = [t.name for t in _hosts_running(inv, 'redis_exporter') if t.variables.get('redis_exporter_redis_password')]
        if redis_exporters and not as_bool(v.get('prometheus_tls_enabled', True), True):
            out.append(Problem('prometheus_tls_enabled', host.where('prometheus_tls_enabled'), 'false',
                               'the Redis exporters (%s) require a client certificate, and Prometheus presents its own '
                               'TLS certificate, which it has only with TLS on' % ', '.join(redis_exporters),
                               'set prometheus_tls_enabled: true'))
        jobs = v.get('prometheus_scrape_jobs')
        if isinstance(jobs, (list, tuple)):
            names = [job.get('name') for job in jobs if isinstance(job, dict)]
            for index, job in enumerate(jobs):
                if not isinstance(job, dict):
                    continue
                if names.count(job.get('name')) > 1:
                    out.append(Problem('prometheus_scrape_jobs[%d].name' % index, host.where('prometheus_scrape_jobs'),
                                       show(job.get('name')), 'two scrape jobs have this name', 'give every job its own name'))
                if table is not None and job.get('service') not in table:
                    out.append(Problem('prometheus_scrape_jobs[%d].service' % index, host.where('prometheus_scrape_jobs'),
                                       show(job.get('service')), 'not a service of the topology: it has no hosts or port',
                                       'use one of %s, or add the service to bulwark_services' % ', '.join(sorted(table))))
        interval, timeout = (_prom_seconds(v.get('prometheus_scrape_interval', '30s')),
                             _prom_seconds(v.get('prometheus_scrape_timeout', '10s')))
        if interval is not None and timeout is not None and timeout > interval:
            out.append(Problem('prometheus_scrape_timeout', _where(host, 'prometheus_scrape_timeout', 'prometheus_scrape_interval'),
                               show(v.get('prometheus_scrape_timeout')),
                               'longer than prometheus_scrape_interval (%s): Prometheus refuses the configuration'
                               % v.get('prometheus_scrape_interval'), 'use a timeout no longer than the interval'))
    return out


def check_exporters(inv):
    """An exporter switched on needs its login on the service it reads."""
    out = []
    for host in _hosts_running(inv, 'pgbouncer_exporter'):
        v = host.variables
        if v.get('pgbouncer_exporter_basic_auth_users') and not v.get('pgbouncer_exporter_stats_password'):
            out.append(Problem('pgbouncer_stats_password', _where(host, 'pgbouncer_stats_password', 'pgbouncer_exporter_basic_auth_users'),
                               "''", 'empty, but the PgBouncer exporter is on (pgbouncer_exporter_basic_auth_users): it '
                               'logs in to the console as the stats user', 'set pgbouncer_stats_password (from the vault)'))
    for host in _hosts_running(inv, 'postgres_exporter'):
        v = host.variables
        if v.get('postgres_exporter_basic_auth_users') and not v.get('postgres_exporter_database_user', 'prometheus'):
            out.append(Problem('postgresql_monitoring_user', _where(host, 'postgresql_monitoring_user', 'postgres_exporter_basic_auth_users'),
                               "''", 'empty, but the PostgreSQL exporter is on (postgres_exporter_basic_auth_users): it '
                               'logs in as that role', 'leave postgresql_monitoring_user at prometheus'))
    return out


def check_lb_server(inv):
    out = []
    for name in inv.members('lb'):
        host = inv.hosts[name]
        value = host.variables.get('lb_server', 'nginx')
        if value not in ('nginx', 'haproxy'):
            out.append(Problem('lb_server', host.where('lb_server'), show(value),
                               'not a load balancer this collection installs', 'set it to nginx or haproxy'))
    return out


def _in_range(host, *variables):
    """True when none of ``variables`` of ``host`` breaks its RANGE_RULES kind (a cross check then adds nothing)."""
    return not any(variable in host.variables and check_kind(variable, host.variables[variable], RANGE_RULES[variable])
                   for variable in variables)


def _where(host, variable, because):
    """Where to look for a problem with ``variable``: where it was set, else where ``because`` (which made it a
    problem) was set."""
    return host.where(variable) if variable in host.origins else host.where(because)


def check_app(inv):
    out = []
    for host in _hosts_running(inv, 'app'):
        v = host.variables
        artifact, checksum = v.get('app_artifact') or '', v.get('app_artifact_checksum') or ''
        if bool(artifact) != bool(checksum):
            missing, present = ('app_artifact_checksum', 'app_artifact') if artifact else ('app_artifact', 'app_artifact_checksum')
            out.append(Problem(missing, _where(host, missing, present), "''",
                               'app_artifact and app_artifact_checksum must be given together',
                               'give app_artifact (tarball URL or controller path), app_artifact_checksum ("sha256:<hex>") '
                               'and app_command, or none of them for the sample application'))
        if checksum and not re.fullmatch(r'(md5|sha1|sha224|sha256|sha384|sha512):[0-9a-fA-F]+', str(checksum)):
            out.append(Problem('app_artifact_checksum', host.where('app_artifact_checksum'), show(checksum),
                               'not <algorithm>:<hex digits>', 'use e.g. sha256:<64 hex digits> (sha256sum of the tarball)'))
        if artifact and not v.get('app_command'):
            out.append(Problem('app_command', _where(host, 'app_command', 'app_artifact'), show(v.get('app_command')),
                               'empty, but app_artifact is set: nothing would start the application',
                               'set app_command to the argv that starts it, e.g. [/opt/bulwark-app/current/bin/myapp, serve]'))
        url = v.get('app_database_url')
        if url is None and 'app_database_url' in host.raw:
            url = _static_shape(host.raw['app_database_url'])  # needs facts: check the literal text around them
        if url and not re.match(r'postgres(ql)?://[^/]+/', str(url)):
            out.append(Problem('app_database_url', host.where('app_database_url'), mask(url),
                               'not a postgresql:// URL with a database',
                               'use postgresql://user:password@pgbouncer-host:6432/database (in the vault)'))
        elif url and not (re.search(r'[?&]sslmode=verify-full(&|\Z)', str(url)) and re.search(r'[?&]sslrootcert=[^&]', str(url))):
            out.append(Problem('app_database_url', host.where('app_database_url'), mask(url),
                               'does not ask for a verified TLS connection: PgBouncer refuses plaintext clients, and a '
                               'client that does not check the certificate and name can be sent to an impostor',
                               'end the URL with ?sslmode=verify-full&sslrootcert=/etc/ssl/bulwark/ca.crt (the '
                               "internal CA; or your CA's file when PgBouncer has your certificate)"))
        sentinels = v.get('app_redis_sentinels')
        if isinstance(sentinels, (list, tuple)):
            for index, item in enumerate(sentinels):
                if not re.fullmatch(r'[^:\s]+:[0-9]+', str(item)):
                    out.append(Problem('app_redis_sentinels[%d]' % index, host.where('app_redis_sentinels'), show(item),
                                       'not host:port', 'list the sentinels as "host:port", e.g. 10.20.0.21:26379'))
        if 'app_redis_master_name' in v and not str(v.get('app_redis_master_name') or '').strip():
            out.append(Problem('app_redis_master_name', host.where('app_redis_master_name'), "''", 'is empty',
                               'set the name the sentinels monitor (redis_sentinel_master_name)'))
    return out


def check_baseline(inv):
    out = []
    for host in _hosts_running(inv, 'baseline'):
        v = host.variables
        for variable in ('baseline_ssh_kex_algorithms', 'baseline_ssh_ciphers', 'baseline_ssh_macs'):
            if isinstance(v.get(variable), (list, tuple)) and not v[variable]:
                out.append(Problem(variable, host.where(variable), '[]', 'is empty: sshd would get no algorithm list',
                                   'list at least one algorithm (see `ssh -Q kex|cipher|mac`), or remove the variable '
                                   'to use the role default'))
        if v.get('baseline_unattended_upgrades_enabled', True) and v.get('baseline_unattended_upgrades_origins') == []:
            out.append(Problem('baseline_unattended_upgrades_origins', host.where('baseline_unattended_upgrades_origins'),
                               '[]', 'is empty while baseline_unattended_upgrades_enabled is true: nothing would be upgraded',
                               'list the origins (the role default: Debian security), or set '
                               'baseline_unattended_upgrades_enabled: false'))
        users = v.get('baseline_service_users')
        if isinstance(users, (list, tuple)):
            for index, user in enumerate(users):
                if not isinstance(user, dict) or not str(user.get('name') or '').strip():
                    out.append(Problem('baseline_service_users[%d].name' % index, host.where('baseline_service_users'),
                                       show(user), 'a service user without a name',
                                       'give every entry a name: {name: myservice, groups: [...]}'))
    return out


def _chain_needs_cert(host, prefix):
    chain, cert = '%s_tls_chain' % prefix, '%s_tls_cert' % prefix
    if host.variables.get(chain) and not host.variables.get(cert):
        return [Problem(chain, host.where(chain), show(str(host.variables[chain])[:30]),
                        'a certificate chain without a certificate',
                        'set %s and %s_tls_key too, or leave %s empty (a certificate is then generated)' % (cert, prefix, chain))]
    return []


def check_nginx(inv):
    out = []
    for host in _hosts_running(inv, 'nginx'):
        out.extend(_chain_needs_cert(host, 'nginx'))
        group = host.variables.get('nginx_upstream_group', 'app')
        if 'nginx_upstream_group' not in host.defaulted and group != 'app' and not inv.members(str(group)):
            out.append(Problem('nginx_upstream_group', host.where('nginx_upstream_group'), show(group),
                               'group %s %s' % (group, 'has no hosts' if group in inv.groups else 'is not in the inventory'),
                               'name the inventory group of the application hosts (app)'))
    return out


def _upstream_tls_problems(inv, lb, variable, group, name, label):
    """The load balancer ``lb`` expects TLS with ``name`` ('' = plain HTTP) from the hosts of ``group``: each of them
    must serve what it expects (bulwark.stack.app's app_tls_enabled and app_tls_name)."""
    out = []
    for member in inv.members(group):
        app = inv.hosts[member]
        if not inv.runs(member, 'app') or 'app_tls_enabled' in app.unresolved or 'app_tls_name' in app.unresolved:
            continue
        serves_tls = as_bool(app.variables.get('app_tls_enabled'), False)
        served_name = app.variables.get('app_tls_name')
        if not name and serves_tls:
            out.append(Problem(variable, lb.where(variable), "''", '%s speaks plain HTTP to %s, which serves HTTPS (app_tls_enabled)' % (label, member),
                               'set %s to the app hosts\' app_tls_name (%s)' % (variable, served_name)))
            break
        if name and not serves_tls:
            out.append(Problem('app_tls_enabled', _where(app, 'app_tls_enabled', 'app_tls_name'), show(app.variables.get('app_tls_enabled')),
                               '%s serves plain HTTP, but %s on %s expects TLS (%s)' % (member, label, lb.name, variable),
                               'enable app_tls_enabled, or set %s to "" on %s' % (variable, lb.name)))
            break
        if name and served_name != name:
            out.append(Problem(variable, lb.where(variable), show(name), '%s checks the name %r, but the certificate of %s carries app_tls_name %r'
                               % (label, name, member, served_name),
                               'use one name: set %s and app_tls_name to the same value' % variable))
            break
    return out


def check_upstream_tls(inv):
    """LB to app over TLS: the name each load balancer checks is the one every app host's certificate carries."""
    out = []
    for lb in _hosts_running(inv, 'nginx'):
        if 'nginx_upstream_tls_name' in lb.unresolved or 'nginx_upstream_group' in lb.unresolved:
            continue
        out.extend(_upstream_tls_problems(inv, lb, 'nginx_upstream_tls_name', str(lb.variables.get('nginx_upstream_group', 'app')),
                                          str(lb.variables.get('nginx_upstream_tls_name') or ''), 'nginx'))
    for lb in _hosts_running(inv, 'haproxy'):
        backends = lb.variables.get('haproxy_backends')
        if 'haproxy_backends' in lb.unresolved or not isinstance(backends, (list, tuple)):
            continue
        for index, backend in enumerate(backends):
            if isinstance(backend, dict) and backend.get('name') and backend.get('group') and 'servers' not in backend:
                out.extend(_upstream_tls_problems(inv, lb, 'haproxy_backends[%d].tls_name' % index, str(backend['group']),
                                                  str(backend.get('tls_name') or ''), 'HAProxy backend %s' % backend.get('name')))
    seen = set()  # an app host that both load balancers expect otherwise: once
    return [p for p in out if not ((p.variable, p.where) in seen or seen.add((p.variable, p.where)))]


def check_haproxy(inv):
    out = []
    for host in _hosts_running(inv, 'haproxy'):
        v = host.variables
        out.extend(_chain_needs_cert(host, 'haproxy'))
        backends, frontends = v.get('haproxy_backends'), v.get('haproxy_frontends')
        names = []
        for variable, items in (('haproxy_backends', backends), ('haproxy_frontends', frontends)):
            if isinstance(items, (list, tuple)) and not items:
                out.append(Problem(variable, host.where(variable), '[]', 'is empty',
                                   'declare at least one entry, or remove the variable to use the role default'))
        for index, backend in enumerate(backends if isinstance(backends, (list, tuple)) else []):
            path = 'haproxy_backends[%d]' % index
            if not isinstance(backend, dict) or not backend.get('name'):
                out.append(Problem(path + '.name', host.where('haproxy_backends'), show(backend), 'a backend without a name',
                                   'give every backend a name: {name: app, group: app, port: 8000}'))
                continue
            names.append(backend['name'])
            if 'servers' in backend:
                if not backend.get('servers'):
                    out.append(Problem(path + '.servers', host.where('haproxy_backends'), '[]',
                                       'backend %s has no servers' % backend['name'], 'list at least one server'))
            elif 'haproxy_backends' in host.origins and not inv.members(str(backend.get('group', ''))):
                group = backend.get('group', '')
                out.append(Problem(path + '.group', host.where('haproxy_backends'), show(group),
                                   'backend %s has no servers: group %r %s' % (
                                       backend['name'], group, 'has no hosts' if group in inv.groups else 'is not in the inventory'),
                                   "set 'servers' (list of name/address/port) or 'group' to an inventory group with hosts"))
        for index, frontend in enumerate(frontends if isinstance(frontends, (list, tuple)) else []):
            path = 'haproxy_frontends[%d]' % index
            if not isinstance(frontend, dict) or not frontend.get('name'):
                out.append(Problem(path + '.name', host.where('haproxy_frontends'), show(frontend), 'a frontend without a name',
                                   'give every frontend a name and a default_backend'))
                continue
            if not frontend.get('default_backend'):
                out.append(Problem(path + '.default_backend', host.where('haproxy_frontends'), show(frontend),
                                   'frontend %s has no default_backend' % frontend['name'], 'name one of haproxy_backends'))
            used = [('default_backend', frontend.get('default_backend'))] + [
                ('use_backends[%d].backend' % i, rule.get('backend') if isinstance(rule, dict) else rule)
                for i, rule in enumerate(frontend.get('use_backends') or [])]
            for field, backend in used:
                if backend and names and backend not in names and isinstance(backends, (list, tuple)):
                    out.append(Problem('%s.%s' % (path, field), host.where('haproxy_frontends'), show(backend),
                                       'backend %s is not declared in haproxy_backends' % backend,
                                       'declare it in haproxy_backends or fix the name'))
    return out


LOGROTATE_RULE_KEYS = ('paths', 'detect', 'frequency', 'maxsize', 'rotate', 'maxage', 'compress', 'delaycompress',
                       'copytruncate', 'create', 'su', 'postrotate', 'sharedscripts', 'replaces', 'enabled')
LOGROTATE_FREQUENCIES = ('hourly', 'daily', 'weekly', 'monthly', 'yearly')


def _merge(base, extra):
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merge(merged[key], value) if isinstance(merged.get(key), dict) and isinstance(value, dict) else value
    return merged


def _logrotate_rule_problems(name, rule, defaults, path_of):
    out = []
    if not re.fullmatch(r'[A-Za-z0-9_.-]+', str(name)):
        out.append((path_of(None), 'the rule name %r is not a file name' % name, 'use letters, digits, _ . - (it names '
                    '/etc/logrotate.d/bulwark-<name>)'))
    if not isinstance(rule, dict):
        return out + [(path_of(None), 'not a mapping', 'use {paths: [...], detect: /path, ...} or null to drop the rule')]
    unknown = sorted(str(k) for k in rule if k not in LOGROTATE_RULE_KEYS)
    if unknown:
        out.append((path_of(None), 'unknown keys %s' % ', '.join(unknown), 'use only %s' % ', '.join(LOGROTATE_RULE_KEYS)))
    paths = rule.get('paths')
    if not isinstance(paths, (list, tuple)) or not paths:
        out.append((path_of('paths'), 'missing or not a non-empty list', 'list the log files (absolute paths or globs)'))
    else:
        for index, item in enumerate(paths):
            found = text_problem(item, 'path') or (None if str(item).startswith('/') else ('not an absolute path', ''))
            if found or not str(item):
                out.append((path_of('paths') + '[%d]' % index, (found or ('is empty',))[0],
                            'use an absolute path or glob without blanks, such as /var/log/app/*.log'))
    detect = rule.get('detect')
    found = text_problem(detect, 'path') if detect else ('missing', '')
    if found:
        out.append((path_of('detect'), found[0], 'use an absolute path whose existence means the service is installed'))
    effective = dict(defaults if isinstance(defaults, dict) else {})
    effective.update(rule)

    def where(key):
        return path_of(key) if key in rule else 'logrotate_defaults.%s' % key
    if effective.get('frequency') not in LOGROTATE_FREQUENCIES:
        out.append((where('frequency'), 'not a logrotate frequency', 'use one of %s' % ', '.join(LOGROTATE_FREQUENCIES)))
    if not re.fullmatch(r'[0-9]+[kMG]?', str(effective.get('maxsize', ''))):
        out.append((where('maxsize'), 'not a logrotate size', 'use a number with k, M or G, such as 100M'))
    for key in ('rotate', 'maxage'):
        value = effective.get(key)
        if isinstance(value, bool) or not re.fullmatch(r'[0-9]+', str(value)):
            out.append((where(key), 'not a whole number', 'use a whole number of files / days, such as 7'))
    if effective.get('copytruncate') is True and effective.get('create'):
        out.append((where('create'), 'create together with copytruncate', 'use one of them: copytruncate keeps the file, '
                    'create replaces it'))
    for key, regex, form in (('create', r'0?[0-7]{3} [^\s]+ [^\s]+', '"0640 user group"'),
                             ('su', r'[^\s]+ [^\s]+', '"user group"'),
                             ('replaces', r'[A-Za-z0-9_.+-]*', 'the name of a file in /etc/logrotate.d')):
        value = effective.get(key)
        if value in (None, ''):
            continue
        if _CONTROL.search(str(value)) or not re.fullmatch(regex, str(value)):
            out.append((where(key), 'not %s' % form, 'use %s' % form))
    found = text_problem(effective.get('postrotate'), 'script')
    if found:
        out.append((where('postrotate'), found[0], found[1]))
    return out


def check_logrotate_rules(inv):
    """logrotate_rules merged with logrotate_rules_extra (as the role merges them), and the timer schedule."""
    out = []
    for host in _hosts_running(inv, 'logrotate'):
        v = host.variables
        rules, extra = v.get('logrotate_rules') or {}, v.get('logrotate_rules_extra') or {}
        if not isinstance(rules, dict) or not isinstance(extra, dict):
            continue  # the argument spec refuses it
        merged = _merge(rules, extra)
        for name in sorted(merged, key=str):
            rule = merged[name]
            if rule is None or (isinstance(rule, dict) and rule.get('enabled') is False):
                continue

            def path_of(key, name=name):
                from_extra = name in extra and (name not in rules or key is None or not isinstance(extra[name], dict)
                                                or key in extra[name])
                base = 'logrotate_rules_extra' if from_extra else 'logrotate_rules'
                return '%s.%s' % (base, name) if key is None else '%s.%s.%s' % (base, name, key)
            for path, problem, fix in _logrotate_rule_problems(name, rule, v.get('logrotate_defaults'), path_of):
                root = path.split('.')[0]
                shown = show(rule.get(path.split('.')[-1].split('[')[0]) if isinstance(rule, dict) else rule)
                out.append(Problem(path, host.where(root), shown, problem, fix or 'see the logrotate role README'))
        if 'logrotate_timer_oncalendar' in v and not str(v.get('logrotate_timer_oncalendar') or '').strip():
            out.append(Problem('logrotate_timer_oncalendar', host.where('logrotate_timer_oncalendar'), "''", 'is empty',
                               'use a systemd OnCalendar expression such as hourly or daily'))
    return out


def _named_entries(host, variable, what, need_password=False):
    out = []
    items = host.variables.get(variable)
    for index, item in enumerate(items if isinstance(items, (list, tuple)) else []):
        if not isinstance(item, dict) or not str(item.get('name') or '').strip():
            out.append(Problem('%s[%d].name' % (variable, index), host.where(variable), '(hidden)' if need_password else show(item),
                               '%s without a name' % what, 'give every entry of %s a name' % variable))
        elif need_password and not isinstance(item.get('password'), str):
            out.append(Problem('%s[%d].password' % (variable, index), host.where(variable), "''",
                               '%s %s has no password (or not a string)' % (what, item['name']),
                               'set its password from Ansible Vault (a random string of at least %d characters)'
                               % SECRET_MIN_LENGTH))
    return out


def check_pgbouncer(inv):
    out = []
    for host in _hosts_running(inv, 'pgbouncer'):
        v = host.variables
        out.extend(_named_entries(host, 'pgbouncer_users', 'a PgBouncer user', need_password=True))
        target = v.get('pgbouncer_postgres_host')
        if target is not None and 'pgbouncer_postgres_host' not in host.templated and target not in inv.members('postgres'):
            out.append(Problem('pgbouncer_postgres_host', host.where('pgbouncer_postgres_host'), show(target),
                               'not a host of group postgres (%s)' % ', '.join(inv.members('postgres')),
                               'name the inventory host that runs PostgreSQL for this PgBouncer'))
        if v.get('pgbouncer_server_tls_sslmode') in ('verify-ca', 'verify-full') and not v.get('pgbouncer_server_tls_ca_file'):
            out.append(Problem('pgbouncer_server_tls_ca_file',
                               _where(host, 'pgbouncer_server_tls_ca_file', 'pgbouncer_server_tls_sslmode'), "''",
                               'empty, but pgbouncer_server_tls_sslmode is %s' % v['pgbouncer_server_tls_sslmode'],
                               "set the CA file that signed PostgreSQL's certificate, or use sslmode require"))
        if v.get('pgbouncer_auth_mode') == 'auth_query' and not v.get('pgbouncer_auth_tls_cert'):
            postgres = inv.members('postgres')
            pg_host = v.get('pgbouncer_postgres_host')
            if pg_host not in inv.hosts and postgres:
                pg_host = host.name if host.name in postgres else postgres[0]
            if pg_host in inv.hosts and inv.hosts[pg_host].variables.get('postgresql_tls_client_ca_cert'):
                out.append(Problem('pgbouncer_auth_tls_cert', _where(host, 'pgbouncer_auth_tls_cert', 'pgbouncer_auth_mode'), "''",
                                   'empty, but PostgreSQL on %s uses an operator client CA (postgresql_tls_client_ca_cert), '
                                   'so the auth_query user needs a certificate that CA signed' % pg_host,
                                   'set pgbouncer_auth_tls_cert and pgbouncer_auth_tls_key (CN = %s)'
                                   % v.get('pgbouncer_auth_user', 'pgbouncer_auth')))
    return out


def check_postgresql(inv):
    out = []
    for host in _hosts_running(inv, 'postgresql'):
        v = host.variables
        maximum, reserved = as_int(v.get('postgresql_max_connections')), as_int(v.get('postgresql_superuser_reserved_connections'))
        if maximum is not None and reserved is not None and maximum <= reserved and \
                _in_range(host, 'postgresql_max_connections', 'postgresql_superuser_reserved_connections'):
            out.append(Problem('postgresql_max_connections', host.where('postgresql_max_connections'), show(maximum),
                               'not greater than postgresql_superuser_reserved_connections (%d)' % reserved,
                               'raise postgresql_max_connections or lower postgresql_superuser_reserved_connections'))
        out.extend(_named_entries(host, 'postgresql_users', 'a login role', need_password=True))
        out.extend(_named_entries(host, 'postgresql_databases', 'a database'))
        users = [u.get('name') for u in v.get('postgresql_users') or [] if isinstance(u, dict)] + ['postgres']
        databases = [d.get('name') for d in v.get('postgresql_databases') or [] if isinstance(d, dict)] + ['postgres']
        for index, database in enumerate(v.get('postgresql_databases') or []):
            if isinstance(database, dict) and database.get('owner') is not None and database['owner'] not in users:
                out.append(Problem('postgresql_databases[%d].owner' % index, host.where('postgresql_databases'),
                                   show(database['owner']), 'owner %s is not one of postgresql_users' % database['owner'],
                                   'add the role to postgresql_users, or use postgres'))
        backups = v.get('postgresql_backup_databases')
        for index, database in enumerate(backups if isinstance(backups, (list, tuple)) else []):
            if database not in databases:
                out.append(Problem('postgresql_backup_databases[%d]' % index, host.where('postgresql_backup_databases'),
                                   show(database), 'database %s is not declared in postgresql_databases' % database,
                                   'back up databases of postgresql_databases (or postgres)'))
    return out


def check_pgbackrest(inv):
    """The repository is a host of group backup that is not a database host, and the primary is a database host."""
    out = []
    postgres = inv.members('postgres')
    for host in _hosts_running(inv, 'pgbackrest'):
        v = host.variables
        repository, primary = v.get('pgbackrest_repository_host'), v.get('pgbackrest_primary')
        if 'pgbackrest_repository_host' not in host.raw and repository not in inv.members('backup'):
            out.append(Problem('pgbackrest_repository_host', host.where('pgbackrest_repository_host'), show(repository),
                               'not a host of group backup (%s)' % (', '.join(inv.members('backup')) or 'empty'),
                               'set it to the inventory hostname of the repository host, in group backup'))
        elif repository in postgres:
            out.append(Problem('pgbackrest_repository_host', host.where('pgbackrest_repository_host'), show(repository),
                               'is also a database host (group postgres): losing it would lose the backups too',
                               'put the repository on another host (the lab uses mon1)'))
        if 'pgbackrest_primary' not in host.raw and postgres and primary not in postgres:
            out.append(Problem('pgbackrest_primary', host.where('pgbackrest_primary'), show(primary),
                               'not a host of group postgres (%s)' % ', '.join(postgres),
                               'set it to the inventory hostname of the PostgreSQL primary'))
    return out


def _in_group(inv, host, group_var, default_group, primary_var, role):
    """The host is in its group variable's group, and the initial primary is one of that group's hosts."""
    out = []
    group = str(host.variables.get(group_var, default_group))
    if host.name not in inv.groups.get(group, []):
        out.append(Problem(group_var, host.where(group_var), show(group),
                           '%s runs bulwark.stack.%s but is not in group %s%s' % (
                               host.name, role, group, '' if group in inv.groups else ' (no such group)'),
                           'add the host to group %s, or set %s to the group that holds your Redis hosts' % (group, group_var)))
    elif primary_var in host.variables and primary_var not in host.templated and \
            host.variables[primary_var] not in inv.groups.get(group, []):
        out.append(Problem(primary_var, host.where(primary_var), show(host.variables[primary_var]),
                           'not a host of group %s (%s)' % (group, ', '.join(inv.groups.get(group, []))),
                           'set it to one of those inventory hostnames'))
    return out


def check_redis(inv):
    out = []
    for host in _hosts_running(inv, 'redis'):
        v = host.variables
        out.extend(_in_group(inv, host, 'redis_group', 'redis', 'redis_initial_primary', 'redis'))
        seen = {}
        for variable, default in (('redis_acl_admin_user', 'admin'), ('redis_acl_app_user', 'app'),
                                  ('redis_acl_replication_user', 'replica'), ('redis_acl_sentinel_user', 'sentinel'),
                                  ('redis_acl_monitor_user', 'monitor')):
            user = str(v.get(variable, default))
            if user == 'default':
                out.append(Problem(variable, host.where(variable), show(user), "the role disables Redis's default user",
                                   'use another name'))
            elif user in seen:
                out.append(Problem(variable, host.where(variable), show(user), 'the same user as %s' % seen[user],
                                   'give the ACL users (admin, app, replication, sentinel, monitor) different names'))
            seen.setdefault(user, variable)
        rules = v.get('redis_acl_app_rules')
        if rules is not None and not re.search(r'-@(dangerous|all)\Z', str(rules)):
            out.append(Problem('redis_acl_app_rules', host.where('redis_acl_app_rules'), show(rules),
                               'does not end with -@dangerous, so FLUSHALL, CONFIG, DEBUG, KEYS... could be allowed',
                               'end the rules with -@dangerous'))
        groups = v.get('redis_rotation_client_groups', [])
        for index, group in enumerate(groups if isinstance(groups, list) else []):
            if str(group) not in inv.groups:
                out.append(Problem('redis_rotation_client_groups[%d]' % index, host.where('redis_rotation_client_groups'), show(group),
                                   'group %s is not in the inventory, so a rotation would not wait for the hosts that '
                                   'hold the Redis passwords' % group, 'name the groups of the hosts that use Redis (app)'))
    return out


def check_redis_sentinel(inv):
    out = []
    for host in _hosts_running(inv, 'redis_sentinel'):
        v = host.variables
        out.extend(_in_group(inv, host, 'redis_sentinel_group', 'redis', 'redis_sentinel_initial_primary', 'redis_sentinel'))
        down, failover = as_int(v.get('redis_sentinel_down_after_milliseconds')), as_int(v.get('redis_sentinel_failover_timeout'))
        if down is not None and failover is not None and failover <= down:
            out.append(Problem('redis_sentinel_failover_timeout', host.where('redis_sentinel_failover_timeout'), show(failover),
                               'not larger than redis_sentinel_down_after_milliseconds (%d)' % down,
                               'use a failover timeout larger than the down-after time (default 10000 vs 5000)'))
    return out


def check_redis_tls(inv):
    """Redis, its sentinels and the app speak one protocol: TLS everywhere (redis_tls_enabled, the default) or
    plaintext everywhere. A replica, a sentinel or an app that speaks the other one cannot connect."""
    out = []
    redis_hosts = [inv.hosts[name] for name in inv.members('redis') if inv.runs(name, 'redis')
                   and 'redis_tls_enabled' not in inv.hosts[name].unresolved]
    tls = {host.name: as_bool(host.variables.get('redis_tls_enabled'), True) for host in redis_hosts}
    if len(set(tls.values())) > 1:
        odd = [host for host in redis_hosts if tls[host.name] != tls[redis_hosts[0].name]][0]
        out.append(Problem('redis_tls_enabled', odd.where('redis_tls_enabled'), show(odd.variables.get('redis_tls_enabled')),
                           'differs from %s (%s): replicas and the primary would speak different protocols'
                           % (redis_hosts[0].name, tls[redis_hosts[0].name]),
                           'set redis_tls_enabled once for the whole Redis group'))
    group_tls = tls[redis_hosts[0].name] if redis_hosts else None  # the rest is checked against the first host's
    for host in _hosts_running(inv, 'redis_sentinel'):
        if 'redis_sentinel_tls_enabled' in host.unresolved or group_tls is None:
            continue
        redis_tls = tls.get(host.name, group_tls)  # the Redis on the same host (a mixed group is reported above)
        sentinel_tls = as_bool(host.variables.get('redis_sentinel_tls_enabled'), redis_tls)
        if sentinel_tls != redis_tls:
            out.append(Problem('redis_sentinel_tls_enabled', host.where('redis_sentinel_tls_enabled'),
                               show(host.variables.get('redis_sentinel_tls_enabled')),
                               'Sentinel would speak %s to Redis, which speaks %s (redis_tls_enabled)'
                               % (('TLS', 'plaintext') if sentinel_tls else ('plaintext', 'TLS')),
                               'remove redis_sentinel_tls_enabled (it follows redis_tls_enabled) or set both alike'))
    for name in inv.members('app'):
        host = inv.hosts[name]
        # app_redis_sentinels is often a template of the hosts' addresses (it needs facts): set is what counts here
        if group_tls is None or not inv.runs(name, 'app') or 'app_redis_tls_ca_file' in host.unresolved \
                or not (host.variables.get('app_redis_sentinels') or 'app_redis_sentinels' in host.raw):
            continue
        ca_file = str(host.variables.get('app_redis_tls_ca_file') or '')
        if group_tls and not ca_file:
            out.append(Problem('app_redis_tls_ca_file', host.where('app_redis_tls_ca_file'), "''",
                               'the app would speak plaintext to Sentinel and Redis, which take TLS only (redis_tls_enabled)',
                               'remove app_redis_tls_ca_file (default: the internal CA, /etc/ssl/bulwark/ca.crt)'))
        elif not group_tls and ca_file:
            out.append(Problem('app_redis_tls_ca_file', host.where('app_redis_tls_ca_file'), show(ca_file),
                               'the app would speak TLS to Sentinel and Redis, which speak plaintext (redis_tls_enabled is false)',
                               'set app_redis_tls_ca_file to "" while redis_tls_enabled is false'))
    return out  # a group variable reported for each host is reported once by validate()


def check_controller_hashing(inv):
    """node_exporter_basic_auth_users are bcrypt-hashed on the controller (passlib + bcrypt, in this Python): the
    controller can hash, and no password is longer than the 72 bytes bcrypt reads."""
    out = []
    users = [(name, inv.hosts[name]) for name in sorted(inv.hosts)
             if isinstance(inv.hosts[name].variables.get('node_exporter_basic_auth_users'), dict)
             and inv.hosts[name].variables['node_exporter_basic_auth_users']]
    if not users:
        return out
    for name, host in users:
        for user, password in sorted(host.variables['node_exporter_basic_auth_users'].items(), key=str):
            if isinstance(password, str) and len(password.encode('utf-8')) > 72:
                out.append(Problem('node_exporter_basic_auth_users.%s' % user, host.where('node_exporter_basic_auth_users'),
                                   mask(password), 'longer than the 72 bytes bcrypt reads',
                                   'use a random password of at most 72 bytes (openssl rand -base64 33 gives 44)'))
    try:
        secrets.bcrypt_hash('probe-password', 'probe', rounds=secrets.BCRYPT_MIN_ROUNDS)
    except secrets.SecretError as exc:
        host = users[0][1]
        out.append(Problem('node_exporter_basic_auth_users', host.where('node_exporter_basic_auth_users'), '(set)',
                           'the controller cannot compute the bcrypt hashes: %s' % exc,
                           'pip install passlib bcrypt on the controller (both pinned in requirements.txt)'))
    return out


# An ACME directory is an https URL; an ACME account's contact address.
ACME_DIRECTORY = re.compile(r'https://[^\s/?#@]+(/[^\s]*)?\Z')
ACME_EMAIL = re.compile(r'[^@\s<>"\',;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z')


def check_lb_certificate(inv):
    """The LB's public certificate (bulwark.stack.lb_certificate): one source per LB, ACME settings complete, and in
    production a certificate that browsers trust (the operator's or one over ACME, not the internal CA's)."""
    out = []
    for host in [inv.hosts[name] for name in inv.members('lb')]:
        v = host.variables
        server = v.get('lb_server') if v.get('lb_server') in ('nginx', 'haproxy') else 'nginx'
        cert_var = '%s_tls_cert' % server
        directory, email = v.get('lb_certificate_acme_directory') or '', v.get('lb_certificate_acme_email') or ''
        if any(name in host.unresolved for name in ('lb_certificate_acme_directory', cert_var)):
            continue
        if directory and not ACME_DIRECTORY.match(str(directory)):
            out.append(Problem('lb_certificate_acme_directory', host.where('lb_certificate_acme_directory'), show(directory),
                               'is not an https URL (the ACME directory, RFC 8555)',
                               'give the directory URL of your ACME CA, for example https://acme-v02.api.letsencrypt.org/directory'))
        if email and not ACME_EMAIL.match(str(email)):
            out.append(Problem('lb_certificate_acme_email', host.where('lb_certificate_acme_email'), show(email),
                               'is not an e-mail address', 'give one address (ops@example.org), or "" for none'))
        if directory and v.get(cert_var):
            out.append(Problem('lb_certificate_acme_directory', host.where('lb_certificate_acme_directory'), show(directory),
                               '%s has its own certificate (%s), which would be served and the ACME one never asked for' % (host.name, cert_var),
                               'set either %s (and its key) or lb_certificate_acme_directory for this host, not both' % cert_var))
        if directory and not as_bool(v.get('lb_certificate_acme_terms_agreed'), False):
            out.append(Problem('lb_certificate_acme_terms_agreed', _where(host, 'lb_certificate_acme_terms_agreed', 'lb_certificate_acme_directory'),
                               show(v.get('lb_certificate_acme_terms_agreed', False)),
                               'the ACME CA refuses an account whose holder has not agreed to its terms of service',
                               "read the CA's terms, then set lb_certificate_acme_terms_agreed: true"))
        if directory and server == 'nginx' and v.get('nginx_acme_root'):
            out.append(Problem('nginx_acme_root', host.where('nginx_acme_root'), show(v.get('nginx_acme_root')),
                               'nginx would answer the ACME challenges from this directory and for lb_certificate_acme_directory at once',
                               'leave nginx_acme_root empty when the collection orders the certificate (lb_certificate_acme_directory)'))
        if inv.environment == 'production' and not directory and not v.get(cert_var):
            out.append(Problem(cert_var, _where(host, cert_var, 'lb_certificate_acme_directory'), "''",
                               'no public certificate: %s would serve one from the internal CA, which browsers do not trust' % host.name,
                               'set %s and %s_tls_key (your CA), or lb_certificate_acme_directory (ACME)' % (cert_var, server)))
    return out


# cross checks, each check(inventory) -> [Problem]; add a role's check here
CROSS_CHECKS = [
    check_config_text,
    check_required_secrets,
    check_lb_server,
    check_app,
    check_baseline,
    check_nginx,
    check_haproxy,
    check_lb_certificate,
    check_logrotate_rules,
    check_pgbouncer,
    check_postgresql,
    check_pgbackrest,
    check_redis,
    check_redis_sentinel,
    check_controller_hashing,
    check_topology,
    check_secret_reuse,
    check_firewall_sources,
    check_lockout,
    check_pgbouncer_pools,
    check_pgbouncer_auth_query,
    check_sentinel,
    check_redis_memory,
    check_upstreams,
    check_tls_pairs,
    check_hostnames,
    check_internal_network,
    check_internal_ca,
    check_upstream_tls,
    check_redis_tls,
    check_monitoring,
    check_exporters,
]


def validate(inv, min_length=SECRET_MIN_LENGTH, min_bits=SECRET_MIN_BITS):
    """Every problem of the inventory, de-duplicated (a group variable is reported once, not once per host)."""
    inv.spec_rejected = set()
    problems = check_argument_specs(inv)  # first: the ranges below skip what it refused
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        problems.extend(_problems_of_host_ranges(inv, host))
        problems.extend(_problems_of_secrets(inv, host, min_length, min_bits))
        problems.extend(_problems_of_tls_keys(inv, host))
        for variable, error in sorted(host.unresolved.items()):
            problems.append(Problem(variable, host.where(variable), '(cannot be templated)', error,
                                    'define the variable it refers to (for a secret: in the vault file), or fix the name'))
    for check in CROSS_CHECKS:
        problems.extend(check(inv))
    unique, seen = [], set()
    for problem in problems:
        if problem.key() not in seen:
            seen.add(problem.key())
            unique.append(problem)
    return unique


def report(problems):
    """Human-readable summary: one numbered line per problem."""
    if not problems:
        return 'preflight validation: no problems'
    lines = ['preflight validation: %d problem(s), nothing was changed on any host:' % len(problems)]
    lines.extend('%d. %s' % (i, p) for i, p in enumerate(problems, 1))
    return '\n'.join(lines)
