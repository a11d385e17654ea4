# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit checks of plugins/module_utils/audit.py against a fake host."""

from __future__ import absolute_import, division, print_function

import fnmatch
import os

import pytest
import yaml

from ansible_collections.bulwark.stack.plugins.module_utils import audit
from ansible_collections.bulwark.stack.plugins.modules import audit as audit_module

__metaclass__ = type

NE_ARGS = 'ARGS="--web.listen-address=10.0.0.5:9100 --web.config.file=/etc/prometheus/node-exporter/web.yml"\n'
WEB = 'tls_server_config:\n  cert_file: x\nbasic_auth_users:\n  "prometheus": "$2b$10$x"\n'


CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n'

# a hardened Debian 12 host (bulwark.stack.baseline applied): the host-hardening checks stay silent on it
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
DEBIAN_SOURCES = ('Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n'
                  'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n'
                  'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n'
                  'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n')
PAM_SU = ('#%PAM-1.0\nauth       sufficient pam_rootok.so\nauth       required   pam_wheel.so group=sudo\n'
          '@include common-auth\n')
SSHD_OK = ('port 22\npermitrootlogin no\npasswordauthentication no\ndisableforwarding yes\nallowtcpforwarding no\n'
           'allowagentforwarding no\nx11forwarding no\nallowstreamlocalforwarding no\npermittunnel no\n')
MODPROBE_OK = ''.join('install %s /bin/false\n' % m.replace('-', '_') for m in audit.DISABLED_MODULES) + 'alias fs-cramfs cramfs\n'
HARDENED_FILES = {'/etc/os-release': OS_RELEASE, '/etc/apt/sources.list.d/debian.sources': DEBIAN_SOURCES,
                  '/etc/pam.d/su': PAM_SU, '/etc/login.defs': 'MAIL_DIR /var/mail\nUMASK\t\t027\n',
                  '/usr/sbin/auditd': '', '/etc/audit/rules.d/bulwark.rules': '-D\n-w /etc/passwd -p wa -k identity\n-e 2\n',
                  '/var/lib/aide/aide.db': ''}


class FakeHost:
    def __init__(self, files=None, modes=None, listeners=None, users=None, commands=None):
        self.files = dict(files or {})
        self.modes = dict(modes or {})
        self._listeners = listeners or []
        self.users = users or {}
        self.commands = commands or {}

    def read(self, path):
        return self.files.get(path)

    def stat(self, path):
        return {'mode': self.modes.get(path, 0o640), 'uid': 0, 'isreg': True} if path in self.files else None

    def glob(self, pattern):
        pattern = pattern.replace('**/', '')
        return sorted(p for p in self.files if fnmatch.fnmatch(p, pattern))

    def listeners(self):
        return self._listeners

    def units(self, pattern):
        return sorted(u for u in self.users if fnmatch.fnmatch(u, pattern))

    def service_user(self, unit):
        return self.users.get(unit)

    def run(self, argv):
        return self.commands.get(argv[0])


def clean_host(**changes):
    """The clean host with ``changes``: files, modes, users and commands are merged into its own (None removes one)."""
    files = {'/etc/default/prometheus-node-exporter': NE_ARGS, '/etc/prometheus/node-exporter/web.yml': WEB,
             '/etc/prometheus/node-exporter/tls.key': 'KEY'}
    files.update(HARDENED_FILES)
    kwargs = dict(files=files, modes={}, listeners=[('10.0.0.5', 9100, '')],
                  users={'prometheus-node-exporter': 'prometheus', 'auditd': 'root'},
                  commands={'sshd': (0, SSHD_OK, ''), 'modprobe': (0, MODPROBE_OK, '')})
    for key, value in changes.items():
        if isinstance(kwargs.get(key), dict):
            kwargs[key].update(value)
            for name in [n for n, content in kwargs[key].items() if content is None]:
                del kwargs[key][name]
        else:
            kwargs[key] = value
    return FakeHost(**kwargs)


def ids(host, **options):
    options.setdefault('internal_address', '10.0.0.5')
    return sorted(set(f.id for f in audit.audit(host, options)))


def test_clean_host_has_no_finding():
    assert ids(clean_host()) == []


def test_ids_are_unique_and_well_formed():
    all_ids = [c[0] for c in audit.CHECKS]
    assert len(all_ids) == len(set(all_ids))
    assert all(i.startswith('BW-') for i in all_ids)


HAPROXY_OLD = ('global\n  ssl-default-bind-options ssl-min-ver TLSv1.1\nfrontend f\n'
               '  bind :443 ssl crt x\n  http-response set-header Strict-Transport-Security x\n')
UFW_ACTIVE = (0, 'Status: active\nDefault: deny (incoming), allow (outgoing), deny (routed)\n', '')
NGINX_OK = ('http {\nserver_tokens off;\nserver { listen 443 ssl; ssl_protocols TLSv1.2 TLSv1.3;\n'
            'add_header Strict-Transport-Security "max-age=63072000" always;\n}\n}\n')

AM_ARGS = 'ARGS="--web.listen-address=10.0.0.5:9093 --web.config.file=/etc/prometheus/alertmanager-web.yml"\n'
TLS_ONLY = 'tls_server_config:\n  cert_file: x\n'

CASES = [
    ('BW-NEX-001', dict(listeners=[('0.0.0.0', 9100, '')])),
    ('BW-NEX-001', dict(listeners=[('172.17.0.2', 9100, '')])),
    ('BW-NEX-002', dict(files={'/etc/default/prometheus-node-exporter': 'ARGS="--web.listen-address=10.0.0.5:9100"\n'})),
    ('BW-NEX-002', dict(files={'/etc/prometheus/node-exporter/web.yml': 'tls_server_config:\n  cert_file: x\n'})),
    ('BW-MON-001', dict(listeners=[('10.0.0.5', 9100, ''), ('0.0.0.0', 9090, '')])),
    ('BW-MON-001', dict(listeners=[('10.0.0.5', 9100, ''), ('203.0.113.7', 9093, '')])),
    ('BW-MON-003', dict(listeners=[('10.0.0.5', 9100, ''), ('::', 9113, '')])),
    ('BW-MON-003', dict(listeners=[('10.0.0.5', 9100, ''), ('172.17.0.9', 8001, '')])),
    ('BW-MON-002', dict(files={'/etc/default/prometheus': 'ARGS="--web.listen-address=10.0.0.5:9090"\n'},
                        users={'prometheus-node-exporter': 'prometheus', 'prometheus': 'prometheus'})),
    ('BW-MON-002', dict(files={'/etc/default/prometheus-alertmanager': AM_ARGS, '/etc/prometheus/alertmanager-web.yml': TLS_ONLY},
                        users={'prometheus-node-exporter': 'prometheus', 'prometheus-alertmanager': 'prometheus'})),
    ('BW-PROC-001', dict(users={'prometheus-node-exporter': 'prometheus', 'prometheus': 'root'})),
    ('BW-FILE-001', dict(files={'/etc/prometheus/scrape-secrets/node.password': 'x'},
                         modes={'/etc/prometheus/scrape-secrets/node.password': 0o644})),
    ('BW-FILE-001', dict(modes={'/etc/prometheus/node-exporter/tls.key': 0o644})),
    ('BW-FILE-001', dict(files={'/etc/haproxy/tls/site.pem': CERT + KEY}, modes={'/etc/haproxy/tls/site.pem': 0o644})),
    ('BW-FILE-001', dict(files={'/etc/haproxy/tls/site.pem.key': KEY}, modes={'/etc/haproxy/tls/site.pem.key': 0o644})),
    ('BW-FILE-001', dict(files={'/etc/bulwark-app/app.env': 'DATABASE_URL=x\n'}, modes={'/etc/bulwark-app/app.env': 0o644})),
    ('BW-FILE-001', dict(files={'/etc/postgresql/ssl/server.key': KEY}, modes={'/etc/postgresql/ssl/server.key': 0o644})),
    ('BW-FILE-001', dict(files={'/etc/pgbouncer/tls/auth-user.key': KEY},
                         modes={'/etc/pgbouncer/tls/auth-user.key': 0o644})),
    ('BW-PROC-001', dict(users={'prometheus-node-exporter': 'root'})),
    ('BW-PROC-001', dict(users={'prometheus-node-exporter': 'prometheus', 'redis-server': 'root'})),
    ('BW-LOG-001', dict(files={'/usr/sbin/nginx': '', '/etc/nginx/nginx.conf': NGINX_OK})),
    ('BW-FW-001', dict(commands={'ufw': (0, 'Status: inactive\n', '')})),
    ('BW-FW-002', dict(commands={'ufw': (0, 'Status: active\nDefault: allow (incoming), allow (outgoing)\n', '')})),
    ('BW-SSH-001', dict(commands={'sshd': (0, 'passwordauthentication yes\npermitrootlogin prohibit-password\n', '')})),
    ('BW-TLS-001', dict(files={'/etc/nginx/nginx.conf': NGINX_OK.replace('TLSv1.2 TLSv1.3', 'TLSv1 TLSv1.2')})),
    ('BW-TLS-001', dict(files={'/etc/haproxy/haproxy.cfg': HAPROXY_OLD})),
    ('BW-TLS-002', dict(files={'/etc/nginx/nginx.conf': NGINX_OK.replace('add_header Strict-Transport-Security', '# no')})),
    ('BW-TLS-003', dict(files={'/etc/nginx/nginx.conf': NGINX_OK.replace('server_tokens off', 'server_tokens on')})),
    ('BW-RDS-001', dict(files={'/etc/redis/redis.conf': 'bind 10.0.0.5\nprotected-mode yes\n'})),
    ('BW-RDS-001', dict(files={'/etc/redis/redis.conf': 'bind 10.0.0.5\nuser default on nopass ~* +@all\n'})),
    ('BW-RDS-002', dict(files={'/etc/redis/redis.conf': 'bind 0.0.0.0\nrequirepass x\n'})),
    ('BW-RDS-002', dict(files={'/etc/redis/redis.conf': 'bind 10.0.0.5\nprotected-mode no\nrequirepass x\n'})),
    ('BW-RDS-003', dict(files={'/etc/redis/redis.conf': 'bind 10.0.0.5\nuser default off\nport 6379\n'})),
    ('BW-RDS-003', dict(files={'/etc/redis/redis.conf': 'bind 10.0.0.5\nuser default off\nport 0\ntls-port 6379\n',
                               '/etc/redis/sentinel.conf': 'bind 10.0.0.5\ntls-port 26379\n'})),
    ('BW-PG-001', dict(files={'/etc/postgresql/15/main/pg_hba.conf': 'local all postgres peer\nhost all all 10.0.0.0/24 md5\n'})),
    ('BW-PG-001', dict(files={'/etc/postgresql/15/main/pg_hba.conf': 'local all all trust\n'})),
    ('BW-PGB-001', dict(files={'/etc/pgbouncer/userlist.txt': '"app" "hunter2"\n'})),
    ('BW-PGB-001', dict(files={'/etc/pgbouncer/pgbouncer.ini': '[pgbouncer]\nauth_type = plain\n'})),
]


@pytest.mark.parametrize('expected,change', CASES, ids=['%s-%d' % (c[0], i) for i, c in enumerate(CASES)])
def test_each_misconfiguration_is_reported_by_id(expected, change):
    assert expected in ids(clean_host(**change))


def test_good_service_configs_are_clean():
    files = {'/etc/nginx/nginx.conf': NGINX_OK, '/etc/redis/redis.conf': 'bind 10.0.0.5\nuser default off\nport 0\ntls-port 6379\n',
             '/etc/postgresql/15/main/pg_hba.conf': 'local all postgres peer\nhostssl all all 10.0.0.0/24 scram-sha-256\n',
             '/etc/pgbouncer/userlist.txt': '"app" "SCRAM-SHA-256$4096:abc$def:ghi"\n',
             '/etc/pgbouncer/pgbouncer.ini': 'auth_type = scram-sha-256\n',
             '/etc/default/prometheus': 'ARGS="--web.listen-address=10.0.0.5:9090 --web.config.file=/etc/prometheus/web.yml"\n',
             '/etc/prometheus/web.yml': WEB, '/etc/default/prometheus-alertmanager': AM_ARGS,
             '/etc/prometheus/alertmanager-web.yml': WEB}
    users = {'prometheus-node-exporter': 'prometheus', 'prometheus': 'prometheus', 'prometheus-alertmanager': 'prometheus'}
    listeners = [('10.0.0.5', 9100, ''), ('10.0.0.5', 9090, ''), ('10.0.0.5', 9093, '')]
    assert ids(clean_host(files=files, users=users, listeners=listeners, commands={'ufw': UFW_ACTIVE})) == []


def test_skip_fail_on_and_report():
    host = clean_host(listeners=[('0.0.0.0', 9100, '')], commands={'ufw': (0, 'Status: inactive', '')})
    assert ids(host, skip=['BW-NEX-001']) == ['BW-FW-001']
    findings = audit.audit(host, {'internal_address': '10.0.0.5'})
    assert audit.should_fail(findings, 'error') and not audit.should_fail(findings, 'never')
    assert not audit.should_fail([f for f in findings if f.severity == 'warning'], 'error')
    lines = audit.report('h1', findings)
    assert lines[0].startswith('h1: 2 finding(s)') and any('BW-NEX-001' in line for line in lines[1:])
    assert audit.report('h1', []) == ['h1: audit clean (%d checks, 0 findings)' % len(audit.CHECKS)]


def test_firewall_expected_but_missing():
    assert ids(clean_host(), expect_firewall=True) == ['BW-FW-001']


def test_nginx_settings_in_included_files_count():
    # The nginx role keeps the server block (and its HSTS header) in a file nginx.conf includes.
    site = NGINX_OK.split('http {\n', 1)[1].rsplit('}', 1)[0]
    host = FakeHost(files={'/etc/nginx/nginx.conf': 'http {\ninclude /etc/nginx/bulwark/*.conf;\n}\n',
                           '/etc/nginx/bulwark/site.conf': site})
    ids = {f.id for f in audit.audit(host, {})}
    assert 'BW-TLS-002' not in ids and 'BW-TLS-003' not in ids
    without = FakeHost(files={'/etc/nginx/nginx.conf': 'http {\ninclude /etc/nginx/bulwark/*.conf;\n}\n',
                              '/etc/nginx/bulwark/site.conf': site.replace('add_header Strict-Transport-Security', '# no')})
    assert 'BW-TLS-002' in {f.id for f in audit.audit(without, {})}


def test_world_readable_certificate_without_key_is_not_a_secret():
    host = clean_host(files={'/etc/haproxy/tls/site.pem': CERT, '/etc/haproxy/tls/site.pem.key': KEY},
                      modes={'/etc/haproxy/tls/site.pem': 0o644, '/etc/haproxy/tls/site.pem.key': 0o600})
    assert [f.id for f in audit.audit(host, {})] == []


# ---------------------------------------------------------------------------------------------------------------
# host hardening
# ---------------------------------------------------------------------------------------------------------------

def details(host, check_id, **options):
    return [f.detail for f in audit.audit(host, options) if f.id == check_id]


def sshd(**settings):
    text = ''.join('%s %s\n' % item for item in sorted(settings.items()))
    return {'sshd': (0, SSHD_OK.replace('disableforwarding yes\n', '') + text.lower(), '')}


NO_SOURCES = {'/etc/apt/sources.list.d/debian.sources': None}
MAIN_ONLY = 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\n'
SECURITY_LIST = ('deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] '
                 'http://security.debian.org/debian-security bookworm-security main\n')
SECURITY_OFF = '# ' + SECURITY_LIST + SECURITY_LIST.replace('deb ', 'deb-src ')
SOURCES_SECURITY_DISABLED = DEBIAN_SOURCES.replace('Suites: bookworm-security', 'Enabled: no\nSuites: bookworm-security')
SOURCES_SECURITY_SRC_ONLY = DEBIAN_SOURCES.replace('Types: deb\nURIs: http://deb.debian.org/debian-security',
                                                   'Types: deb-src\nURIs: http://deb.debian.org/debian-security')
PAM_SU_DEBIAN = ('#%PAM-1.0\nauth       sufficient pam_rootok.so\n# Uncomment this to force users to be a member of group wheel\n'
                 '# auth       required   pam_wheel.so\n@include common-auth\n')

HARDENING_BAD = [
    ('BW-APT-001', dict(files=dict(NO_SOURCES, **{'/etc/apt/sources.list': MAIN_ONLY}))),
    ('BW-APT-001', dict(files=dict(NO_SOURCES, **{'/etc/apt/sources.list': MAIN_ONLY + SECURITY_OFF}))),
    ('BW-APT-001', dict(files={'/etc/apt/sources.list.d/debian.sources': SOURCES_SECURITY_DISABLED})),
    ('BW-APT-001', dict(files={'/etc/apt/sources.list.d/debian.sources': SOURCES_SECURITY_SRC_ONLY})),
    ('BW-APT-001', dict(files={'/etc/os-release': OS_RELEASE.replace('bookworm', 'trixie').replace('12', '13')})),
    ('BW-SSH-002', dict(commands=sshd(allowtcpforwarding='yes'))),
    ('BW-SSH-002', dict(commands=sshd(x11forwarding='yes'))),
    ('BW-SSH-002', dict(commands=sshd(permittunnel='point-to-point'))),
    ('BW-SSH-002', dict(commands=sshd(allowstreamlocalforwarding='all', disableforwarding='no'))),
    ('BW-SSH-003', dict(commands=sshd(permitrootlogin='prohibit-password'))),
    ('BW-SSH-003', dict(commands=sshd(permitrootlogin='without-password'))),
    ('BW-SSH-003', dict(commands=sshd(permitrootlogin='forced-commands-only'))),
    ('BW-MOD-001', dict(commands={'modprobe': (0, MODPROBE_OK.replace('install sctp /bin/false', 'blacklist sctp'), '')})),
    ('BW-MOD-001', dict(commands={'modprobe': (0, MODPROBE_OK.replace('install cramfs /bin/false', 'install cramfs /bin/echo'), '')})),
    ('BW-MOD-001', dict(commands={'modprobe': (0, '', '')})),
    ('BW-AUTH-001', dict(files={'/etc/pam.d/su': PAM_SU_DEBIAN})),
    ('BW-AUTH-001', dict(files={'/etc/pam.d/su': PAM_SU.replace('required   pam_wheel.so', 'sufficient pam_wheel.so trust')})),
    ('BW-AUTH-002', dict(files={'/etc/login.defs': 'UMASK\t\t022\n'})),
    ('BW-AUTH-002', dict(files={'/etc/login.defs': 'UMASK 007\n'})),
    ('BW-AUTH-002', dict(files={'/etc/login.defs': 'MAIL_DIR /var/mail\n#UMASK 027\n'})),
    ('BW-AUDIT-001', dict(files={'/usr/sbin/auditd': None})),
    ('BW-AUDIT-001', dict(users={'auditd': None})),
    ('BW-AUDIT-001', dict(files={'/etc/audit/rules.d/bulwark.rules': '# -w /etc/passwd -p wa\n-D\n-b 8192\n-e 2\n'})),
    ('BW-AUDIT-001', dict(files={'/etc/audit/rules.d/bulwark.rules': None})),
    ('BW-INT-001', dict(files={'/var/lib/aide/aide.db': None})),
]


@pytest.mark.parametrize('expected,change', HARDENING_BAD, ids=['%s-%d' % (c[0], i) for i, c in enumerate(HARDENING_BAD)])
def test_each_weak_hardening_control_is_reported_by_id(expected, change):
    assert expected in ids(clean_host(**change))


HARDENING_GOOD = [
    dict(files=dict(NO_SOURCES, **{'/etc/apt/sources.list': MAIN_ONLY, '/etc/apt/sources.list.d/security.list': SECURITY_LIST})),
    dict(files=dict(NO_SOURCES, **{'/etc/apt/sources.list': 'deb [ arch=amd64 ] http://mirror.example/debian-security bookworm-security main\n'})),
    dict(files={'/etc/apt/sources.list.d/debian.sources': 'Types: deb deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n'
                                                          ' bookworm-updates\n bookworm-security\nComponents: main\nEnabled: yes\n'}),
    dict(files=dict(NO_SOURCES, **{'/etc/os-release': 'ID=ubuntu\nVERSION_CODENAME=noble\n'})),
    dict(files=dict(NO_SOURCES, **{'/etc/os-release': None})),
    dict(commands=sshd(allowtcpforwarding='yes', x11forwarding='yes', permittunnel='yes', disableforwarding='yes')),
    dict(commands=sshd(disableforwarding='no')),
    dict(commands=sshd(permitrootlogin='no')),
    dict(commands={'sshd': None}),
    dict(commands={'sshd': (255, '', 'sshd: no hostkeys available')}),
    dict(commands={'modprobe': (0, MODPROBE_OK.replace('install usb_storage /bin/false', 'install usb-storage /usr/bin/true  '), '')}),
    dict(commands={'modprobe': None}),
    dict(commands={'modprobe': (1, '', 'modprobe: FATAL')}),
    dict(files={'/etc/pam.d/su': 'auth requisite /lib/x86_64-linux-gnu/security/pam_wheel.so group=sudo\n'}),
    dict(files={'/etc/pam.d/su': None}),
    dict(files={'/etc/login.defs': 'UMASK 077\n'}),
    dict(files={'/etc/login.defs': 'UMASK 022\nUMASK 0027\n'}),
    dict(files={'/etc/login.defs': None}),
    dict(files={'/usr/sbin/auditd': None, '/sbin/auditd': ''}),
    dict(files={'/etc/audit/rules.d/bulwark.rules': None, '/etc/audit/rules.d/10-exec.rules': '-a always,exit -F arch=b64 -S execve\n'}),
]


@pytest.mark.parametrize('change', HARDENING_GOOD, ids=[str(i) for i in range(len(HARDENING_GOOD))])
def test_good_hardening_variants_are_clean(change):
    assert ids(clean_host(**change)) == []


def test_hardening_details():
    assert details(clean_host(commands=sshd(allowtcpforwarding='yes', x11forwarding='yes')), 'BW-SSH-002') == [
        'forwarding on: allowtcpforwarding yes, x11forwarding yes']
    host = clean_host(commands={'modprobe': (0, 'install cramfs /bin/true\ninstall usb_storage /bin/false\n', '')})
    assert details(host, 'BW-MOD-001', disabled_modules=['cramfs', 'usb-storage', 'sctp', 'udf']) == ['not disabled: sctp, udf']
    assert details(host, 'BW-MOD-001', disabled_modules=['cramfs', 'usb_storage']) == []
    assert details(host, 'BW-MOD-001', disabled_modules=[]) == []
    assert details(clean_host(files={'/etc/login.defs': 'MAIL_DIR /var/mail\n'}), 'BW-AUTH-002') == ['no UMASK in /etc/login.defs (022 applies)']
    assert details(clean_host(files={'/etc/login.defs': 'UMASK 022\n'}), 'BW-AUTH-002') == ['UMASK 022 in /etc/login.defs']
    assert details(clean_host(commands=sshd(permitrootlogin='yes')), 'BW-SSH-003') == []  # BW-SSH-001's
    assert details(clean_host(files={'/usr/sbin/auditd': None}, users={'auditd': None}), 'BW-AUDIT-001') == ['auditd is not installed']
    assert len(details(clean_host(users={'auditd': None}, files={'/etc/audit/rules.d/bulwark.rules': None}), 'BW-AUDIT-001')) == 2
    assert details(clean_host(files={'/var/lib/aide/aide.db': None}), 'BW-INT-001') == ['no AIDE database at /var/lib/aide/aide.db']


@pytest.mark.parametrize('marker', ['/run/systemd/container', '/.dockerenv'])
def test_auditd_is_not_checked_in_a_container(marker):
    host = clean_host(files={marker: 'docker\n', '/usr/sbin/auditd': None}, users={'auditd': None})
    assert 'BW-AUDIT-001' not in ids(host)
    assert 'BW-AUDIT-001' in ids(clean_host(files={'/usr/sbin/auditd': None}))


def test_the_module_documents_every_id_and_the_modules_default():
    doc = yaml.safe_load(audit_module.DOCUMENTATION)
    text = ' '.join(doc['description'])
    assert [c[0] for c in audit.CHECKS if 'C(%s)' % c[0] not in text] == []
    assert doc['options']['disabled_modules']['default'] == list(audit.DISABLED_MODULES)


def test_the_audits_default_is_the_baselines_default():
    # The audit also runs on hosts no role converged, so it keeps its own list; this keeps the two lists one list.
    defaults = os.path.join(os.path.dirname(__file__), '../../../../roles/baseline/defaults/main.yml')
    with open(defaults, encoding='utf-8') as handle:
        assert yaml.safe_load(handle)['baseline_disabled_modules'] == list(audit.DISABLED_MODULES)
