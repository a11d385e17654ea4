# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only security audit of a running host: findings with stable IDs, severities and hints.

Pure Python (no Ansible imports). Every check reads the host through a *probe* object, so unit tests hand it a fake
one and the ``bulwark.stack.audit`` module hands it a real one (files, ``ss``, ``systemctl show``, ``ufw status``).
A probe has:

* ``read(path)`` -> text or None; ``stat(path)`` -> ``{'mode': int, 'uid': int}`` or None; ``glob(pattern)`` -> paths
* ``listeners()`` -> list of ``(address, port, process)`` of listening TCP sockets
* ``service_user(unit)`` -> the user name the unit's main process runs as, or None when it is not running
* ``run(argv)`` -> ``(rc, stdout, stderr)`` of a read-only command, or None when the program is not installed

Adding a check is one function decorated with :func:`check` (ID, severity, title, hint) that returns a list of
detail strings, one per offending item. IDs never change meaning; retired IDs are not reused.
"""

from __future__ import absolute_import, division, print_function

import re

__metaclass__ = type

SEVERITIES = ('error', 'warning', 'info')
CHECKS = []

# files that hold secrets; must not be readable by "other"
SECRET_FILES = (
    '/etc/prometheus/node-exporter/tls.key', '/etc/prometheus/node-exporter/web.yml',
    '/etc/prometheus/tls/tls.key', '/etc/prometheus/alertmanager-tls/tls.key', '/etc/prometheus/web.yml',
    '/etc/prometheus/alertmanager-web.yml', '/etc/prometheus/alertmanager.yml', '/etc/prometheus/scrape-secrets/*',
    '/etc/prometheus/postgres-exporter/tls.key', '/etc/prometheus/postgres-exporter/web.yml',
    '/etc/prometheus/redis-exporter/tls.key', '/etc/default/prometheus-redis-exporter', '/etc/nginx/bulwark/metrics.htpasswd',
    '/etc/pgbouncer-exporter/tls.key', '/etc/pgbouncer-exporter/web.yml',
    '/etc/default/prometheus-pgbouncer-exporter',
    '/etc/pgbackrest.conf', '/etc/pgbackrest-tls/tls.key',
    '/etc/pgbouncer/userlist.txt', '/etc/pgbouncer/pgbouncer.ini',
    '/etc/redis/*.conf', '/etc/redis/*.acl', '/etc/redis/**/*.conf',
    '/etc/ssl/private/*', '/etc/nginx/tls/*.key', '/etc/nginx/ssl/*.key', '/etc/haproxy/*.pem', '/etc/haproxy/**/*.pem',
    '/etc/haproxy/**/*.key',
    '/etc/postgresql/*/main/*.key', '/etc/postgresql/ssl/*.key', '/etc/pgbouncer/tls/*.key',
    '/etc/bulwark/**/*', '/etc/default/bulwark-*', '/srv/app/shared/*.env',
    '/opt/app/shared/*.env', '/etc/app/*.env', '/etc/bulwark-app/*.env',
)
# units that must not run as root (services that drop privileges or run as their own user)
# A .pem/.crt file matched above is a secret only when it holds a private key (HAProxy reads <crt>.key when the
# certificate file has none).
PUBLIC_SUFFIXES = ('.pem', '.crt')
NON_ROOT_UNITS = ('prometheus-node-exporter', 'prometheus', 'prometheus-alertmanager', 'prometheus-postgres-exporter',
                  'prometheus-redis-exporter', 'prometheus-nginx-exporter', 'prometheus-pgbouncer-exporter',
                  'redis-server', 'redis-sentinel', 'pgbouncer', 'postgresql@*',
                  'bulwark-app', 'app', 'pgbackrest')
# kernel modules of filesystems and protocols a server of the stack does not use (BW-MOD-001; the audit module's
# disabled_modules option defaults to this list)
DISABLED_MODULES = ('cramfs', 'freevxfs', 'hfs', 'hfsplus', 'jffs2', 'udf', 'usb-storage', 'dccp', 'sctp', 'rds', 'tipc')
# an `install <module> <command>` line of modprobe's configuration with one of these commands disables the module
NO_OP_COMMANDS = ('/bin/false', '/usr/bin/false', '/bin/true', '/usr/bin/true')
# sshd -T keyword -> OpenSSH's default when sshd -T does not print it (BW-SSH-002)
SSHD_FORWARDING = (('allowtcpforwarding', 'yes'), ('allowagentforwarding', 'yes'), ('x11forwarding', 'no'),
                   ('allowstreamlocalforwarding', 'yes'), ('permittunnel', 'no'))
# service -> (a path that shows it is installed, log paths its logrotate rule must cover)
LOGGED_SERVICES = {
    'nginx': ('/usr/sbin/nginx', ['/var/log/nginx']),
    'haproxy': ('/usr/sbin/haproxy', ['/var/log/haproxy']),
    'postgresql': ('/usr/lib/postgresql', ['/var/log/postgresql']),
    'pgbouncer': ('/usr/sbin/pgbouncer', ['/var/log/postgresql/pgbouncer']),
    'redis': ('/usr/bin/redis-server', ['/var/log/redis']),
    'app': ('/var/log/app', ['/var/log/app']),
}


class Finding:
    __slots__ = ('id', 'severity', 'title', 'detail', 'hint')

    def __init__(self, id, severity, title, detail, hint):  # pylint: disable=redefined-builtin
        self.id, self.severity, self.title, self.detail, self.hint = id, severity, title, detail, hint

    def as_dict(self):
        return {'id': self.id, 'severity': self.severity, 'title': self.title, 'detail': self.detail, 'hint': self.hint}

    def __str__(self):
        return '[%s] %s %s: %s (hint: %s)' % (self.severity.upper(), self.id, self.title, self.detail, self.hint)


def check(id, severity, title, hint):  # pylint: disable=redefined-builtin
    """Register a check: ``fn(probe, options) -> [detail, ...]``."""
    if severity not in SEVERITIES:
        raise ValueError('severity of %s must be one of %s' % (id, ', '.join(SEVERITIES)))

    def register(fn):
        CHECKS.append((id, severity, title, hint, fn))
        return fn
    return register


def _config_lines(text, comment='#'):
    for line in (text or '').splitlines():
        line = line.split(comment, 1)[0].strip()
        if line:
            yield line


def _wildcard(address):
    return address in ('0.0.0.0', '*', '::', '[::]', '')


# ---------------------------------------------------------------------------------------------------------------
# node-exporter
# ---------------------------------------------------------------------------------------------------------------

def _flags(probe, defaults_file):
    """The ARGS="..." flags of a Debian Prometheus-family unit's /etc/default file; None when it is not there."""
    text = probe.read(defaults_file)
    if text is None:
        return None
    match = re.search(r'^\s*ARGS\s*=\s*"(.*)"\s*$', text, re.M)
    return match.group(1).split() if match else []


def _node_exporter_flags(probe):
    return _flags(probe, '/etc/default/prometheus-node-exporter')


def _web_auth_problems(probe, unit, defaults_file):
    """Why the exporter-toolkit web server of ``unit`` lets anyone in (no web config, or one without users)."""
    flags = _flags(probe, defaults_file)
    if flags is None or probe.service_user(unit) is None:
        return []
    config = [f.split('=', 1)[1] for f in flags if f.startswith('--web.config.file=')]
    if not config:
        return ['%s: no --web.config.file in %s' % (unit, defaults_file)]
    text = probe.read(config[0])
    if text is None:
        return ['%s: web config %s is missing' % (unit, config[0])]
    if not re.search(r'^basic_auth_users:\s*$', text, re.M):
        return ['%s: web config %s has no basic_auth_users' % (unit, config[0])]
    return []


def _beyond_internal(probe, options, ports):
    internal = options.get('internal_address')
    return ['listening on %s:%d' % (address, lport) for address, lport, dummy in probe.listeners()
            if lport in ports and (_wildcard(address) or (internal and address not in (internal, '127.0.0.1', '::1')))]


@check('BW-NEX-001', 'error', 'node-exporter reachable beyond the internal address',
       'bind it to the internal address only (node_exporter_listen_address) and let the firewall admit the monitoring group')
def node_exporter_bind(probe, options):
    return _beyond_internal(probe, options, [options.get('node_exporter_port', 9100)])


@check('BW-NEX-002', 'error', 'node-exporter serves metrics without authentication',
       'set node_exporter_basic_auth_users (from Ansible Vault) so the web config with bcrypt users is in place')
def node_exporter_auth(probe, options):
    return _web_auth_problems(probe, 'prometheus-node-exporter', '/etc/default/prometheus-node-exporter')


@check('BW-NEX-003', 'warning', 'node-exporter serves metrics over plain HTTP',
       'set node_exporter_tls_enabled: true (and an operator certificate in production)')
def node_exporter_tls(probe, options):
    flags = _node_exporter_flags(probe)
    if flags is None or probe.service_user('prometheus-node-exporter') is None:
        return []
    config = [f.split('=', 1)[1] for f in flags if f.startswith('--web.config.file=')]
    text = probe.read(config[0]) if config else None
    if text is None or 'tls_server_config:' not in text:
        return ['no tls_server_config in the web config']
    return []


# ---------------------------------------------------------------------------------------------------------------
# the monitoring tier: Prometheus, Alertmanager
# ---------------------------------------------------------------------------------------------------------------

@check('BW-MON-001', 'error', 'Prometheus or Alertmanager reachable beyond the internal address',
       'bind them to the internal address only (prometheus_listen_address, alertmanager_listen_address) and let the '
       'firewall admit the monitoring group')
def monitoring_bind(probe, options):
    return _beyond_internal(probe, options, options.get('monitoring_ports') or [9090, 9093])


@check('BW-MON-002', 'error', 'Prometheus or Alertmanager without authentication',
       'set prometheus_basic_auth_users and alertmanager_basic_auth_users (from Ansible Vault)')
def monitoring_auth(probe, options):
    return (_web_auth_problems(probe, 'prometheus', '/etc/default/prometheus')
            + _web_auth_problems(probe, 'prometheus-alertmanager', '/etc/default/prometheus-alertmanager'))


@check('BW-MON-003', 'error', 'a metrics listener (app, load balancer, exporter) reachable beyond the internal address',
       'bind it to the internal address only (the lb_metrics and app_metrics entries of the topology; Debian\'s '
       'exporters listen on every address until configured) and let the firewall admit the monitoring group')
def metrics_bind(probe, options):
    return _beyond_internal(probe, options, options.get('metrics_ports') or [9113, 8001, 9187, 9121, 9127])


# ---------------------------------------------------------------------------------------------------------------
# files and processes
# ---------------------------------------------------------------------------------------------------------------

@check('BW-FILE-001', 'error', 'secret file readable by every user',
       'chmod o-rwx the file (0600 or 0640 with the service group); the roles write them that way')
def secret_files(probe, options):
    out = []
    seen = set()
    for pattern in tuple(SECRET_FILES) + tuple(options.get('protected_files') or ()):
        for path in probe.glob(pattern):
            if path in seen:
                continue
            seen.add(path)
            st = probe.stat(path)
            if st and st.get('isreg', True) and st['mode'] & 0o004:
                if path.endswith(PUBLIC_SUFFIXES) and 'PRIVATE KEY' not in (probe.read(path) or ''):
                    continue  # a certificate (chain) with its key in another file is public
                out.append('%s is mode %04o' % (path, st['mode'] & 0o7777))
    return out


@check('BW-PROC-001', 'error', 'service running as root that should not',
       'run it as its own user (systemd User=); remove drop-ins that set User=root')
def root_services(probe, options):
    out = []
    for unit in NON_ROOT_UNITS:
        for name in probe.units(unit) if '*' in unit else [unit]:
            if probe.service_user(name) == 'root':
                out.append('%s runs as root' % name)
    return out


@check('BW-LOG-001', 'warning', 'logrotate rule missing for a service log',
       'apply bulwark.stack.logrotate (or restore the package rule in /etc/logrotate.d)')
def logrotate_rules(probe, options):
    rules = ''.join(probe.read(p) or '' for p in probe.glob('/etc/logrotate.d/*'))
    out = []
    for service, (marker, paths) in sorted(LOGGED_SERVICES.items()):
        if not probe.glob(marker):
            continue
        for path in paths:
            if path not in rules:
                out.append('%s is installed but no rule in /etc/logrotate.d covers %s' % (service, path))
    return out


# ---------------------------------------------------------------------------------------------------------------
# firewall, ssh
# ---------------------------------------------------------------------------------------------------------------

@check('BW-FW-001', 'error', 'ufw is installed but inactive', 'apply bulwark.stack.firewall (it enables ufw with default deny)')
def ufw_active(probe, options):
    res = probe.run(['ufw', 'status', 'verbose'])
    if res is None:
        return ['ufw is not installed'] if options.get('expect_firewall') else []
    if 'Status: active' not in res[1]:
        return ['ufw status: %s' % (res[1].strip().splitlines() or ['?'])[0]]
    return []


@check('BW-FW-002', 'error', 'ufw default incoming policy is not deny', 'ufw default deny incoming (the firewall role sets it)')
def ufw_default(probe, options):
    res = probe.run(['ufw', 'status', 'verbose'])
    if res is None or 'Status: active' not in res[1]:
        return []
    match = re.search(r'^Default:\s*(\w+)\s*\(incoming\)', res[1], re.M)
    if match and match.group(1) not in ('deny', 'reject'):
        return ['default incoming policy is %s' % match.group(1)]
    return []


def _sshd_settings(probe):
    """The effective sshd settings (``sshd -T``, keywords and values lower case); None when sshd is missing or fails."""
    res = probe.run(['sshd', '-T'])
    if res is None or res[0] != 0:
        return None
    return dict((line.split(None, 1) + [''])[:2] for line in res[1].lower().splitlines() if line.strip())


@check('BW-SSH-001', 'error', 'sshd allows password or root password logins',
       'apply bulwark.stack.baseline (keys only, PermitRootLogin prohibit-password or no)')
def sshd_auth(probe, options):
    settings = _sshd_settings(probe)
    if settings is None:
        return []
    out = []
    if settings.get('passwordauthentication') == 'yes':
        out.append('passwordauthentication yes')
    if settings.get('permitrootlogin') == 'yes':
        out.append('permitrootlogin yes')
    return out


@check('BW-SSH-002', 'warning', 'sshd allows forwarding',
       'apply bulwark.stack.baseline with baseline_ssh_allow_tcp_forwarding: false (the default): DisableForwarding yes, '
       'no TCP, agent, X11 or stream-local forwarding and no tunnels')
def sshd_forwarding(probe, options):
    settings = _sshd_settings(probe)
    if settings is None or settings.get('disableforwarding') == 'yes':
        return []
    on = ['%s %s' % (key, settings.get(key, default)) for key, default in SSHD_FORWARDING if settings.get(key, default) != 'no']
    return ['forwarding on: %s' % ', '.join(on)] if on else []


@check('BW-SSH-003', 'warning', 'sshd permits root login',
       'set baseline_ssh_permit_root_login: "no" (the default) and log in as a named user with sudo')
def sshd_root_login(probe, options):
    settings = _sshd_settings(probe)
    value = (settings or {}).get('permitrootlogin')
    if value in ('prohibit-password', 'without-password', 'forced-commands-only'):
        return ['permitrootlogin %s' % value]
    return []  # "yes" is BW-SSH-001's


# ---------------------------------------------------------------------------------------------------------------
# host hardening: APT, kernel modules, su, umask, auditd, AIDE
# ---------------------------------------------------------------------------------------------------------------

def _in_container(probe):
    """True inside a container (systemd's /run/systemd/container, Docker's /.dockerenv): the host's kernel is not ours."""
    return probe.read('/run/systemd/container') is not None or probe.stat('/.dockerenv') is not None


def _os_release(probe):
    """The KEY=value pairs of /etc/os-release (quotes removed); {} when it is missing."""
    out = {}
    for line in (probe.read('/etc/os-release') or '').splitlines():
        key, sep, value = line.strip().partition('=')
        if sep and not key.startswith('#'):
            out[key.strip()] = value.strip().strip('"\'')
    return out


def _deb822_stanzas(text):
    """The stanzas of a deb822 file (blank-line separated) as dicts with lower-case field names."""
    stanza, key = {}, None
    for line in (text or '').splitlines() + ['']:
        if line.lstrip().startswith('#'):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
        elif line[0] in ' \t':
            if key:
                stanza[key] += ' ' + line.strip()
        elif ':' in line:
            key, value = line.split(':', 1)
            key = key.strip().lower()
            stanza[key] = value.strip()


def _apt_deb_suites(probe):
    """The suites of every enabled ``deb`` entry in the one-line (.list) and deb822 (.sources) APT sources."""
    suites = set()
    for path in ['/etc/apt/sources.list'] + probe.glob('/etc/apt/sources.list.d/*.list'):
        for line in _config_lines(probe.read(path)):
            match = re.match(r'deb\s+(?:\[[^\]]*\]\s*)?\S+\s+(\S+)', line)
            if match:
                suites.add(match.group(1))
    for path in probe.glob('/etc/apt/sources.list.d/*.sources'):
        for stanza in _deb822_stanzas(probe.read(path)):
            if stanza.get('enabled', 'yes').lower() == 'no' or 'deb' not in stanza.get('types', '').split():
                continue
            suites.update(stanza.get('suites', '').split())
    return suites


@check('BW-APT-001', 'error', 'no Debian security suite in the APT sources',
       'security updates cannot arrive: set baseline_apt_security_enabled: true (baseline_apt_security_mirror for a mirror)')
def apt_security(probe, options):
    release = _os_release(probe)
    codename = release.get('VERSION_CODENAME')
    if release.get('ID') != 'debian' or not codename:
        return []
    if codename + '-security' in _apt_deb_suites(probe):
        return []
    return ['no enabled deb entry for %s-security in /etc/apt/sources.list or /etc/apt/sources.list.d' % codename]


@check('BW-MOD-001', 'warning', 'kernel modules of unused filesystems and protocols can be loaded',
       'set baseline_disabled_modules (install <module> /bin/false in /etc/modprobe.d) for the modules the host does not need')
def kernel_modules(probe, options):
    wanted = options.get('disabled_modules')
    wanted = DISABLED_MODULES if wanted is None else wanted
    res = probe.run(['modprobe', '-c']) if wanted else None
    if res is None or res[0] != 0:
        return []
    disabled = set()
    for line in res[1].splitlines():
        fields = line.split(None, 2)
        if len(fields) == 3 and fields[0] == 'install' and fields[2].strip() in NO_OP_COMMANDS:
            disabled.add(fields[1].replace('-', '_'))
    loadable = [name for name in wanted if name.replace('-', '_') not in disabled]
    return ['not disabled: %s' % ', '.join(loadable)] if loadable else []


@check('BW-AUTH-001', 'warning', 'su is not restricted to a group',
       'set baseline_su_restricted: true (pam_wheel.so in /etc/pam.d/su; baseline_su_group names the group)')
def su_restricted(probe, options):
    text = probe.read('/etc/pam.d/su')
    if text is None:
        return []
    for line in _config_lines(text):
        if re.match(r'auth\s+(required|requisite)\s+(\S*/)?pam_wheel\.so(\s|$)', line):
            return []
    return ['/etc/pam.d/su has no active "auth required pam_wheel.so" line']


@check('BW-AUTH-002', 'warning', 'default umask weaker than 027', 'set baseline_umask (027 or stricter; UMASK in /etc/login.defs)')
def login_umask(probe, options):
    text = probe.read('/etc/login.defs')
    if text is None:
        return []
    values = [line.split()[1] for line in _config_lines(text) if line.split()[0] == 'UMASK' and len(line.split()) > 1]
    if not values:
        return ['no UMASK in /etc/login.defs (022 applies)']
    try:
        umask = int(values[-1], 8)
    except ValueError:
        return ['UMASK %s in /etc/login.defs is not an octal number' % values[-1]]
    if umask & 0o027 != 0o027:
        return ['UMASK %s in /etc/login.defs' % values[-1]]
    return []


@check('BW-AUDIT-001', 'warning', 'auditd is not running',
       'set baseline_auditd_enabled: true (auditd installed and running with rules in /etc/audit/rules.d)')
def auditd_running(probe, options):
    if _in_container(probe):
        return []  # the audit subsystem belongs to the host's kernel
    if probe.stat('/sbin/auditd') is None and probe.stat('/usr/sbin/auditd') is None:
        return ['auditd is not installed']
    out = []
    if probe.service_user('auditd') is None:
        out.append('the auditd unit is not running')
    rules = ''.join((probe.read(p) or '') + '\n' for p in probe.glob('/etc/audit/rules.d/*.rules'))
    if not any(line.startswith(('-w', '-a')) for line in _config_lines(rules)):
        out.append('no audit rule (-w or -a) in /etc/audit/rules.d/*.rules')
    return out


@check('BW-INT-001', 'warning', 'no file-integrity baseline', 'set baseline_aide_enabled: true (AIDE with its database initialised)')
def aide_database(probe, options):
    if probe.stat('/var/lib/aide/aide.db') is None:
        return ['no AIDE database at /var/lib/aide/aide.db']
    return []


# ---------------------------------------------------------------------------------------------------------------
# TLS front ends
# ---------------------------------------------------------------------------------------------------------------

def _read_with_includes(probe, path, include_re, base_dir, seen=None):
    """The text of ``path`` followed by every file its include directives name (recursively, each file once).

    ``include_re`` captures the included path or glob; relative ones are taken from ``base_dir``. Returns None when
    ``path`` does not exist.
    """
    seen = set() if seen is None else seen
    if path in seen:
        return ''
    seen.add(path)
    text = probe.read(path)
    if text is None:
        return None
    parts = [text]
    for include in re.findall(include_re, text, re.M):
        pattern = include if include.startswith('/') else base_dir.rstrip('/') + '/' + include
        for included in probe.glob(pattern):
            parts.append(_read_with_includes(probe, included, include_re, base_dir, seen) or '')
    return '\n'.join(parts)


def _nginx_config(probe):
    """nginx.conf with every file it includes (the site, upstream, conf.d and sites-enabled files)."""
    return _read_with_includes(probe, '/etc/nginx/nginx.conf', r'^\s*include\s+([^;\s]+)\s*;', '/etc/nginx')


def _haproxy_config(probe):
    return probe.read('/etc/haproxy/haproxy.cfg')


@check('BW-TLS-001', 'error', 'TLS below 1.2 enabled', 'use the Mozilla intermediate profile (bulwark.stack.tls_profile): TLS 1.2 and 1.3 only')
def tls_old_protocols(probe, options):
    out = []
    nginx = '\n'.join(_config_lines(_nginx_config(probe)))
    for protocols in re.findall(r'\bssl_protocols\s+([^;]+);', nginx):
        old = [p for p in protocols.split() if p in ('SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1')]
        if old:
            out.append('nginx: ssl_protocols %s' % protocols)
    haproxy = _haproxy_config(probe)
    for line in _config_lines(haproxy):
        if re.search(r'ssl-min-ver\s+(SSLv3|TLSv1\.0|TLSv1\.1)\b', line) or \
                re.search(r'\bforce-(sslv3|tlsv10|tlsv11)\b', line):
            out.append('haproxy: %s' % line)
    return out


@check('BW-TLS-002', 'warning', 'HSTS missing', 'send Strict-Transport-Security (max-age=63072000) on every HTTPS response')
def tls_hsts(probe, options):
    out = []
    nginx = _nginx_config(probe)
    if nginx and re.search(r'listen\s+[^;]*\bssl\b', nginx) and 'Strict-Transport-Security' not in nginx:
        out.append('nginx serves HTTPS without Strict-Transport-Security')
    haproxy = _haproxy_config(probe)
    if haproxy and re.search(r'^\s*bind\s+[^\n]*\bssl\b', haproxy, re.M) and 'Strict-Transport-Security' not in haproxy:
        out.append('haproxy serves HTTPS without Strict-Transport-Security')
    return out


@check('BW-TLS-003', 'warning', 'nginx server_tokens on', 'server_tokens off; in the http block (the nginx role sets it)')
def nginx_server_tokens(probe, options):
    nginx = _nginx_config(probe)
    if nginx is None:
        return []
    if not re.search(r'^\s*server_tokens\s+off\s*;', nginx, re.M):
        return ['server_tokens is not off (nginx shows its version)']
    return []


# ---------------------------------------------------------------------------------------------------------------
# data tier
# ---------------------------------------------------------------------------------------------------------------

def _redis_config(probe):
    """redis.conf with every file it includes."""
    return _read_with_includes(probe, '/etc/redis/redis.conf', r'^\s*include\s+(\S+)', '/etc/redis')


@check('BW-RDS-001', 'error', 'Redis without authentication', 'protect the default user (requirepass / ACL user default off) with a vaulted password')
def redis_auth(probe, options):
    text = _redis_config(probe)
    if text is None:
        return []
    lines = list(_config_lines(text))
    acl_text = ''
    for line in lines:
        if line.startswith('aclfile '):
            acl_text = probe.read(line.split(None, 1)[1]) or ''
    users = [l for l in lines + list(_config_lines(acl_text)) if l.startswith('user default ')]
    if users:
        spec = users[-1].split()
        if 'off' in spec or not ('nopass' in spec):
            return []
        return ['user default is on with nopass']
    if any(l.startswith('requirepass ') for l in lines):
        return []
    return ['no requirepass and no ACL for the default user']


@check('BW-RDS-002', 'error', 'Redis bound publicly or protected-mode off', 'bind the internal address only and keep protected-mode yes')
def redis_bind(probe, options):
    text = _redis_config(probe)
    if text is None:
        return []
    out = []
    for line in _config_lines(text):
        if line.startswith('bind '):
            public = [a for a in line.split()[1:] if _wildcard(a.lstrip('-'))]
            if public:
                out.append('bind %s' % ' '.join(public))
        if re.match(r'protected-mode\s+no\b', line):
            out.append('protected-mode no')
    return out


@check('BW-RDS-003', 'warning', 'Redis or Sentinel takes plaintext connections',
       'serve TLS only: port 0 and tls-port (bulwark.stack.redis redis_tls_enabled, the default)')
def redis_plaintext(probe, options):
    out = []
    for name, text, default in (('redis.conf', _redis_config(probe), '6379'),
                                ('sentinel.conf', probe.read('/etc/redis/sentinel.conf'), '26379')):
        if text is None:
            continue
        ports = [line.split()[1] for line in _config_lines(text) if line.split()[0] == 'port' and len(line.split()) > 1]
        port = ports[-1] if ports else default
        if port != '0':
            out.append('%s: plaintext port %s' % (name, port))
    return out


@check('BW-PG-001', 'error', 'PostgreSQL pg_hba allows trust/md5/password', 'use scram-sha-256 (hostssl) for network clients and peer for local')
def pg_hba(probe, options):
    out = []
    for path in probe.glob('/etc/postgresql/*/main/pg_hba.conf'):
        for line in _config_lines(probe.read(path)):
            fields = line.split()
            if fields and fields[0] in ('local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc'):
                method = fields[3] if fields[0] == 'local' and len(fields) > 3 else (fields[4] if len(fields) > 4 else '')
                if method in ('trust', 'md5', 'password'):
                    out.append('%s: %s' % (path, line))
    return out


@check('BW-PGB-001', 'error', 'PgBouncer userlist holds plaintext passwords',
       'store SCRAM secrets (the pgbouncer role computes them) and auth_type scram-sha-256')
def pgbouncer_userlist(probe, options):
    out = []
    text = probe.read('/etc/pgbouncer/userlist.txt')
    for line in _config_lines(text, comment=';'):
        match = re.match(r'^"([^"]*)"\s+"([^"]*)"', line)
        if match and match.group(2) and not match.group(2).startswith(('SCRAM-SHA-256$', 'md5')):
            out.append('user %s has a plaintext password' % match.group(1))
    ini = probe.read('/etc/pgbouncer/pgbouncer.ini')
    match = re.search(r'^\s*auth_type\s*=\s*(\S+)', ini or '', re.M)
    if match and match.group(1) in ('plain', 'trust', 'any'):
        out.append('auth_type = %s' % match.group(1))
    return out


def audit(probe, options=None):
    """Run every check; return the findings (sorted by severity then ID). ``options['skip']`` lists IDs to skip."""
    options = options or {}
    skip = set(options.get('skip') or ())
    findings = []
    for check_id, severity, title, hint, fn in CHECKS:
        if check_id in skip:
            continue
        for detail in fn(probe, options):
            findings.append(Finding(check_id, severity, title, detail, hint))
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.id, f.detail))
    return findings


def summary(findings):
    counts = dict((s, 0) for s in SEVERITIES)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def report(host, findings):
    """Human-readable report lines."""
    if not findings:
        return ['%s: audit clean (%d checks, 0 findings)' % (host, len(CHECKS))]
    counts = summary(findings)
    lines = ['%s: %d finding(s): %s' % (host, len(findings), ', '.join('%d %s' % (counts[s], s) for s in SEVERITIES if counts[s]))]
    lines.extend('  ' + str(f) for f in findings)
    return lines


def should_fail(findings, fail_on):
    """True when a finding reaches the ``fail_on`` level (never, error, warning, info)."""
    if fail_on in (None, 'never'):
        return False
    limit = SEVERITIES.index(fail_on)
    return any(SEVERITIES.index(f.severity) <= limit for f in findings)
