# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight validation of a whole inventory, before any host is touched.

Pure Python (no Ansible imports): the ``bulwark.stack.validate`` action plugin collects each host's variables (and
where each one came from, and whether it came from Ansible Vault) into a plain :class:`Inventory`, then calls
:func:`validate`, which returns *every* problem at once as :class:`Problem` records. Unit tests call it directly.

Extending it for a role is one small entry in one of the tables below:

* :data:`RANGE_RULES` - a variable name and its kind (``port``, ``('int', lo, hi)``, ``size``, ``duration`` ...);
  variables not listed are still checked by suffix (:data:`SUFFIX_RULES`: ``*_port``, ``*_timeout``,
  ``*_pool_size``, ``*_maxmemory``...).
* :data:`SECRET_MAPS` - variables that map names to passwords (``node_exporter_basic_auth_users``); any leaf whose key
  looks like a secret (``*password*``, ``*secret*``, ``*token*``) is a secret anyway.
* :data:`TLS_PAIRS` - (certificate variable, key variable, server-name variable or None).
* :data:`CROSS_CHECKS` - functions ``check(inventory) -> [Problem]`` for rules that span variables or hosts.

Only what is set (in the inventory) or defaulted (plain values of ``roles/*/defaults/main.yml``) is checked, so a
role that does not exist yet, or an inventory without its settings, never breaks validation.
"""

from __future__ import absolute_import, division, print_function

import datetime
import ipaddress
import math
import re

from ansible_collections.bulwark.stack.plugins.module_utils import topology
from ansible_collections.bulwark.stack.plugins.module_utils import firewall
from ansible_collections.bulwark.stack.plugins.module_utils import pgbouncer_pools
from ansible_collections.bulwark.stack.plugins.module_utils import redis_topology

__metaclass__ = type

SECRET_MIN_LENGTH = 12
SECRET_MIN_BITS = 48
CERT_MIN_DAYS = 14

# ----------------------------------------------------------------------------------------------------------------
# tables: one entry per setting
# ----------------------------------------------------------------------------------------------------------------

# variable -> kind. Kinds: 'port'; ('int', lo, hi); 'size' (memory with unit: 512mb, 2GB, 1073741824);
# 'size_or_percent' (also 50%); 'duration' (seconds, or with unit: 500ms, 30s, 5m, 1h, 7d); 'cidr' (a network or
# address); 'cidr_list'; 'ip'.
RANGE_RULES = {
    'bulwark_internal_network': 'cidr',
    'bulwark_internal_address': 'ip',
    'node_exporter_bcrypt_rounds': ('int', 10, 16),
    'firewall_admin_networks': 'cidr_list',
    'baseline_ssh_max_auth_tries': ('int', 1, 10),
    'baseline_ssh_login_grace_time': 'duration',
    'baseline_journald_system_max_use': 'size',
    'logrotate_default_rotate': ('int', 1, 365),
    'logrotate_default_maxsize': 'size',
    'postgresql_max_connections': ('int', 10, 10000),
    'postgresql_superuser_reserved_connections': ('int', 0, 100),
    'postgresql_backup_retention_days': ('int', 1, 3650),
    'pgbouncer_max_client_conn': ('int', 1, 100000),
    'pgbouncer_default_pool_size': ('int', 1, 10000),
    'pgbouncer_min_pool_size': ('int', 0, 10000),
    'pgbouncer_reserve_pool_size': ('int', 0, 10000),
    'pgbouncer_reserve_pool_timeout': 'duration',
    'pgbouncer_server_lifetime': 'duration',
    'pgbouncer_server_idle_timeout': 'duration',
    'redis_maxmemory': 'size_or_percent',
    'redis_sentinel_quorum': ('int', 1, 100),
    'redis_sentinel_down_after_milliseconds': ('int', 100, 3600000),
    'redis_sentinel_failover_timeout': ('int', 1000, 36000000),
    'redis_sentinel_parallel_syncs': ('int', 1, 100),
    'nginx_limit_req_rate': 'rate',
    'nginx_limit_req_burst': ('int', 0, 1000000),
    'nginx_client_max_body_size': 'size',
    'nginx_upstream_max_fails': ('int', 0, 1000),
    'nginx_upstream_keepalive': ('int', 0, 100000),
    'nginx_limit_conn': ('int', 1, 1000000),
    'nginx_worker_connections': ('int', 1, 1000000),
    'nginx_lab_cert_days': ('int', 1, 3650),
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
    'haproxy_lab_cert_days': ('int', 1, 3650),
    'postgresql_log_min_duration_statement': ('int', -1, 86400000),
    'postgresql_backup_compress_level': ('int', 0, 9),
    'redis_min_replicas_to_write': ('int', 0, 100),
    'redis_min_replicas_max_lag': ('int', 1, 3600),
    'redis_somaxconn': ('int', 128, 65535),
    'redis_password_min_length': ('int', 12, 128),
    'baseline_ssh_client_alive_interval': ('int', 0, 86400),
    'baseline_ssh_client_alive_count_max': ('int', 0, 100),
    'baseline_journald_system_max_file_size': 'size',
    'pgbouncer_limit_nofile': ('int', 1024, 10485760),
    'app_keep_releases': ('int', 1, 100),
    'app_stop_timeout': 'duration',
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
    'nginx': 'lb', 'haproxy': 'lb', 'app': 'app',
}

# variables whose values are name -> password mappings (or lists of {name, password} items)
SECRET_MAPS = ('node_exporter_basic_auth_users', 'postgresql_users', 'pgbouncer_users', 'redis_users',
               'redis_acl_users', 'haproxy_stats_users')
# list variables whose items ({name, password}) are accounts of one system: the same account name under two of these
# variables is ONE credential (PgBouncer authenticates PostgreSQL's own roles), so its password is not "reused"
CREDENTIAL_NAMESPACES = {'postgresql_users': 'postgresql-role', 'pgbouncer_users': 'postgresql-role'}
# variables that hold ONE credential seen from two sides (the server's account and the client's copy of its
# password): equal values there are expected, not reuse. One tuple per credential.
SHARED_CREDENTIALS = (
    ('redis_acl_app_password', 'app_redis_password'),
    ('redis_sentinel_password', 'app_redis_sentinel_password', 'redis_discovery_password'),
    ('redis_acl_sentinel_password', 'redis_sentinel_auth_password'),
)
# a leaf (variable or key inside one) whose name matches this is a secret
SECRET_NAME = re.compile(r'(^|_)(password|passwd|passphrase|secret|token|api_key|secret_key|masterauth|requirepass)s?($|_)',
                         re.IGNORECASE)
# ... except these (hashing parameters, file paths, switches)
NOT_SECRET_NAME = re.compile(r'(_path|_file|_dir|_rounds|_encryption|_min_length|_enabled|_auth_type|_length)$', re.IGNORECASE)
# PEM private keys: checked as keys, not as passwords
PEM_KEY_NAME = re.compile(r'_(tls|ssl)_key$|_private_key$')

# (certificate variable, key variable, variable holding the server name(s) the certificate must cover, or None)
TLS_PAIRS = (
    ('node_exporter_tls_cert', 'node_exporter_tls_key', None),
    ('nginx_tls_cert', 'nginx_tls_key', 'nginx_server_name'),
    ('haproxy_tls_cert', 'haproxy_tls_key', 'haproxy_server_name'),
    ('postgresql_tls_cert', 'postgresql_tls_key', None),
)

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
    re.compile(r'^<.*>$'),                           # <password>
    re.compile(r'\{\{.*\}\}'),                       # an untemplated Jinja expression
    re.compile(r'^x+$', re.I),
)

_SIZE = re.compile(r'^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b?|b)?\s*$', re.IGNORECASE)
_PERCENT = re.compile(r'^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$')
_DURATION = re.compile(r'^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|min|h|d)?\s*$', re.IGNORECASE)
_SIZE_FACTORS = {'': 1, 'b': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3, 't': 1024 ** 4}
_DURATION_FACTORS = {'': 1.0, 's': 1.0, 'ms': 0.001, 'm': 60.0, 'min': 60.0, 'h': 3600.0, 'd': 86400.0}
_HOSTNAME = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$')


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
    ``memtotal_mb``: the host's RAM when known (cached facts), else None.
    """

    def __init__(self, name, variables=None, origins=None, vaulted=None, sources=None, memtotal_mb=None, defaulted=()):
        self.name = name
        self.defaulted = set(defaulted)
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

    def __init__(self, hosts, groups, environment=None, required_groups=None):
        self.hosts = hosts
        self.groups = {k: list(v) for k, v in (groups or {}).items()}
        if environment is None:
            envs = [h.variables.get('bulwark_environment') for h in hosts.values()]
            environment = 'production' if 'production' in envs else (envs[0] if envs else 'lab')
        self.environment = environment
        self.required_groups = required_groups

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


def entropy_bits(value):
    """A conservative strength estimate: length x Shannon entropy per character (bits)."""
    text = str(value)
    if not text:
        return 0.0
    counts = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    per_char = -sum((n / len(text)) * math.log(n / len(text), 2) for n in counts.values())
    return per_char * len(text)


def parse_size(value):
    """Bytes from 1073741824, '512mb', '2GB', '1.5g', '64KiB'; None when not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
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
    match = _DURATION.match(str(value))
    if not match:
        return None
    return float(match.group(1)) * _DURATION_FACTORS[(match.group(2) or '').lower()]


def as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r'^\s*-?[0-9]+\s*$', value):
        return int(value)
    return None


def kind_for(variable):
    if variable in RANGE_RULES:
        return RANGE_RULES[variable]
    for suffix, kind in SUFFIX_RULES:
        if variable.endswith(suffix):
            return kind
    return None


def check_kind(variable, value, kind):
    """(problem, fix) when ``value`` is not of ``kind``, else None."""
    if kind == 'port':
        port = as_int(value)
        if port is None or not 1 <= port <= 65535:
            return 'not a TCP/UDP port', 'use an integer from 1 to 65535 (ports come from the topology: change them in bulwark_services)'
        return None
    if isinstance(kind, tuple) and kind[0] == 'int':
        number = as_int(value)
        if number is None:
            return 'not an integer', 'use an integer from %d to %d' % (kind[1], kind[2])
        if not kind[1] <= number <= kind[2]:
            return 'out of range', 'use an integer from %d to %d' % (kind[1], kind[2])
        return None
    if kind in ('size', 'size_or_percent'):
        if kind == 'size_or_percent' and isinstance(value, str) and _PERCENT.match(value):
            percent = float(_PERCENT.match(value).group(1))
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
    if kind == 'rate':
        if not re.match(r'^[1-9][0-9]*r/[sm]$', str(value)):
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
    if kind == 'cidr_list':
        if not isinstance(value, (list, tuple)):
            return 'not a list', 'use a list of CIDR networks or addresses, e.g. [10.8.0.0/24]'
        return None  # the items are checked by the firewall module (cross check below)
    return None


# ----------------------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------------------

def _problems_of_host_ranges(inv, host):
    out = []
    for variable in sorted(host.variables):
        kind = kind_for(variable)
        if kind is None:
            continue
        value = host.variables[variable]
        if value is None or value == '':
            if variable in RANGE_RULES and kind not in ('ip',):
                out.append(Problem(variable, host.where(variable), show(value), 'is empty',
                                   'set a value or remove the variable to use the role default'))
            continue
        result = check_kind(variable, value, kind)
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


def _problems_of_secrets(inv, host, min_length, min_bits):
    out = []
    for path, value in secret_leaves(host.variables):
        where = host.where(path)
        root = re.split(r'[.\[]', path, maxsplit=1)[0]
        if root in host.defaulted and (value is None or str(value).strip() == ''):
            continue  # not set, the role's empty default: the role decides whether it needs one
        if value is None or str(value).strip() == '':
            out.append(Problem(path, where, "''", 'secret is empty',
                               'set it from Ansible Vault (ansible-vault encrypt_string) to a random value of at least %d characters' % min_length))
            continue
        text = str(value)
        if is_placeholder(text):
            out.append(Problem(path, where, mask(text), 'secret is a placeholder/sample value',
                               'replace it with a random secret, e.g. `openssl rand -base64 24`, stored in Ansible Vault'))
            continue
        if len(text) < min_length:
            out.append(Problem(path, where, mask(text), 'secret is shorter than %d characters' % min_length,
                               'use a random secret of at least %d characters (openssl rand -base64 24)' % min_length))
            continue
        if entropy_bits(text) < min_bits:
            out.append(Problem(path, where, mask(text), 'secret is too predictable (about %d bits of entropy, need %d)'
                               % (entropy_bits(text), min_bits),
                               'use a random secret with varied characters (openssl rand -base64 24)'))
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
            source = host.sources.get(path, path)
            service = source.split('.')[0].split('[')[0]
            for group in SHARED_CREDENTIALS:
                if source in group:  # where the value really comes from (a literal, or a reference followed)
                    source = service = 'credential:%s' % group[0]
            item = re.match(r'^(\w+)\[(\d+)\]\.password$', path)
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
        bound = {}
        for service in sorted(table):
            entry = table[service]
            if entry['group'] != 'all' and name not in inv.groups.get(entry['group'], []):
                continue
            var = '%s_port' % service
            port = as_int(host.variables.get(var, entry['port']))
            if port is None:
                continue
            key = (port, entry.get('proto', 'tcp'))
            if key in bound:
                other = bound[key]
                if service not in (overrides or {}) and other in (overrides or {}) and '%s_port' % other not in host.variables:
                    service, other = other, service
                    var = '%s_port' % service
                out.append(Problem(var if var in host.variables else 'bulwark_services.%s.port' % service,
                                   host.where(var) if var in host.variables else (where if overrides else 'host %s' % name), str(port),
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


def check_pgbouncer_pools(inv):
    """PgBouncer pools + reserve vs PostgreSQL max_connections - superuser_reserved_connections (pgbouncer role's check)."""
    out = []
    pg_host, max_conn = inv.first('postgres', 'postgresql_max_connections')
    if pg_host is None:
        return out
    reserved = inv.hosts[pg_host].variables.get('postgresql_superuser_reserved_connections', 3)
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
        if value in (None, '', 0) or not host.memtotal_mb or (isinstance(value, str) and _PERCENT.match(value)):
            continue
        size = parse_size(value)
        if size and size > host.memtotal_mb * 1024 * 1024 * 0.9:
            out.append(Problem('redis_maxmemory', host.where('redis_maxmemory'), show(value),
                               'more than 90%% of the %d MB of RAM of %s' % (host.memtotal_mb, name),
                               'lower it, or use a share like 50%'))
    return out


def check_upstreams(inv):
    out = []
    if inv.members('lb') and 'app' in inv.groups and not inv.members('app'):
        out.append(Problem('groups.app', 'inventory', '[]', 'the load balancers have no upstream: group app is empty',
                           'add the application hosts to group app'))
    for name in inv.members('lb'):
        host = inv.hosts[name]
        down = host.variables.get('nginx_upstream_down')
        if isinstance(down, list) and down:
            unknown = [h for h in down if h not in inv.members('app')]
            if unknown:
                out.append(Problem('nginx_upstream_down', host.where('nginx_upstream_down'), show(down),
                                   'not app hosts: %s' % ', '.join(map(str, unknown)), 'list inventory hostnames of group app'))
            elif set(down) >= set(inv.members('app')):
                out.append(Problem('nginx_upstream_down', host.where('nginx_upstream_down'), show(down),
                                   'every upstream would be down', 'leave at least one app host up'))
        backends = host.variables.get('haproxy_backends')
        if isinstance(backends, list):
            for index, backend in enumerate(backends):
                if isinstance(backend, dict) and 'servers' in backend and not backend.get('servers'):
                    out.append(Problem('haproxy_backends[%d].servers' % index, host.where('haproxy_backends'), '[]',
                                       'backend %s has no servers' % backend.get('name', index), 'list at least one server'))
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


def check_hostnames(inv):
    out = []
    for name in sorted(inv.hosts):
        host = inv.hosts[name]
        for var in sorted(host.variables):
            if var.endswith('_server_name') and host.variables[var]:
                values = host.variables[var] if isinstance(host.variables[var], list) else [host.variables[var]]
                for value in values:
                    if not isinstance(value, str) or not (_HOSTNAME.match(value.lstrip('*.')) or value == '_'):
                        out.append(Problem(var, host.where(var), show(value), 'not a host name', 'use a DNS name such as www.example.com'))
    return out


# cross checks, each check(inventory) -> [Problem]; add a role's check here
CROSS_CHECKS = [
    check_topology,
    check_secret_reuse,
    check_firewall_sources,
    check_pgbouncer_pools,
    check_pgbouncer_auth_query,
    check_sentinel,
    check_redis_memory,
    check_upstreams,
    check_tls_pairs,
    check_hostnames,
]


def validate(inv, min_length=SECRET_MIN_LENGTH, min_bits=SECRET_MIN_BITS):
    """Every problem of the inventory, de-duplicated (a group variable is reported once, not once per host)."""
    problems = []
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
