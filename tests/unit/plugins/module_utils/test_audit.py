# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit checks of plugins/module_utils/audit.py against a fake host."""

from __future__ import absolute_import, division, print_function

import fnmatch

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils import audit

__metaclass__ = type

NE_ARGS = 'ARGS="--web.listen-address=10.0.0.5:9100 --web.config.file=/etc/prometheus/node-exporter/web.yml"\n'
WEB = 'tls_server_config:\n  cert_file: x\nbasic_auth_users:\n  "prometheus": "$2b$10$x"\n'


CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n'


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
    files = {'/etc/default/prometheus-node-exporter': NE_ARGS, '/etc/prometheus/node-exporter/web.yml': WEB,
             '/etc/prometheus/node-exporter/tls.key': 'KEY'}
    kwargs = dict(files=files, listeners=[('10.0.0.5', 9100, '')], users={'prometheus-node-exporter': 'prometheus'})
    for key, value in changes.items():
        if key == 'files':
            files.update(value)
            for path in [p for p, content in files.items() if content is None]:
                del files[path]
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
