"""Behaviour of bulwark.stack.postgresql + bulwark.stack.pgbouncer: SCRAM through PgBouncer from an app host, TLS-only
access from allowed hosts, tuned settings live, no plaintext password on disk, a backup restored."""

import os
import pathlib
import shlex
import subprocess
import sys
import time

import pytest
import testinfra.utils.ansible_runner

from testlib import assert_renewed, get_host, internal_ip, run_forced_renewal, served_certificate

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / '.cache' / 'collections'))
from ansible_collections.bulwark.stack.plugins.module_utils.pg_tune import pg_tune  # noqa: E402

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
DB_HOSTS = sorted(RUNNER.get_hosts('postgres'))
CLIENT = sorted(RUNNER.get_hosts('app'))[0]
testinfra_hosts = DB_HOSTS

APP_PASSWORD = 'molecule-app-password-5d1e'
SECRETS = [APP_PASSWORD, 'molecule-admin-password-8c2f', 'molecule-stats-password-3b7a']
STATS_PASSWORD = SECRETS[2]
VERSIONS = {'12': 15, '13': 17}
AUTH_QUERY_HOSTS = [name for name in DB_HOSTS if name.endswith('-debian13')]
AUTH_CERT = '/etc/pgbouncer/tls/auth-user.crt'
AUTH_KEY = '/etc/pgbouncer/tls/auth-user.key'
CA_FILE = '/etc/ssl/bulwark/ca.crt'  # the internal CA (bulwark.stack.internal_ca), on every host
TLS = 'sslmode=verify-full sslrootcert=%s' % CA_FILE  # how clients reach PgBouncer: TLS, certificate and name checked


def psql(on, conninfo, sql, password=None):
    """Run psql on host ``on`` (a test container) and return the command result."""
    env = 'PGPASSWORD=%s PGCONNECT_TIMEOUT=10 ' % shlex.quote(password) if password else 'PGCONNECT_TIMEOUT=10 '
    return on.run('%spsql -w %s -X -At -v ON_ERROR_STOP=1 -c %s' % (env, shlex.quote(conninfo), shlex.quote(sql)))


def as_postgres(host, sql, db='app'):
    return host.check_output('runuser -u postgres -- psql -X -At -d %s -c %s' % (db, shlex.quote(sql)))


@pytest.fixture()
def client():
    return get_host(CLIENT)


# Speaks the PostgreSQL wire protocol on the client: TLS first (SSLRequest, then a handshake that checks the
# certificate against the internal CA and the address), then a StartupMessage; prints the authentication request
# PgBouncer answers with (code 10 = SASL, followed by the mechanism names).
AUTH_PROBE = r'''
import socket, ssl, struct, sys
raw = socket.create_connection((sys.argv[1], 6432), 10)
raw.sendall(struct.pack("!ii", 8, 80877103))
assert raw.recv(1) == b"S"
s = ssl.create_default_context(cafile="/etc/ssl/bulwark/ca.crt").wrap_socket(raw, server_hostname=sys.argv[1])
body = struct.pack("!I", 196608) + b"user\0app\0database\0app\0\0"
s.sendall(struct.pack("!I", len(body) + 4) + body)
kind = s.recv(1)
length = struct.unpack("!I", s.recv(4))[0]
payload = s.recv(length - 4)
code = struct.unpack("!I", payload[:4])[0]
print(kind.decode(), code, ",".join(m.decode() for m in payload[4:].split(b"\0") if m))
'''


def test_client_authenticates_through_pgbouncer_with_scram(client, host):
    ip = internal_ip(host)
    # PgBouncer offers SCRAM-SHA-256 and nothing else.
    offer = client.check_output('python3 -c %s %s' % (shlex.quote(AUTH_PROBE), ip))
    assert offer == 'R 10 SCRAM-SHA-256', offer
    conn = 'host=%s port=6432 dbname=app user=app %s' % (ip, TLS)
    result = psql(client, conn, 'SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', APP_PASSWORD)
    assert result.rc == 0, result.stderr
    # Logged in as app, and PgBouncer's connection to PostgreSQL is TLS (pg_stat_ssl of the server backend). PgBouncer
    # holds no password, only the verifier: it can log in to PostgreSQL only with the client's SCRAM proof.
    assert result.stdout.strip() == 'app|t'


@pytest.mark.parametrize('user, password', [('app', 'wrong-password-123'), ('intruder', APP_PASSWORD)])
def test_wrong_credentials_fail_at_pgbouncer(client, host, user, password):
    conn = 'host=%s port=6432 dbname=app user=%s %s' % (internal_ip(host), user, TLS)
    result = psql(client, conn, 'SELECT 1', password)
    assert result.rc != 0
    # PgBouncer answers a failed SCRAM exchange (wrong password, or unknown user: mock authentication) like this.
    assert 'SASL authentication failed' in result.stderr or _not_found_by_auth_query(host, result), result.stderr


def _not_found_by_auth_query(host, result):
    """PgBouncer 1.24 answers "bouncer config error" (no password exchange at all) when auth_query finds no role."""
    return host.backend.host in AUTH_QUERY_HOSTS and 'FATAL:  bouncer config error' in result.stderr


@pytest.mark.parametrize('sslmode', ['disable', 'require'])
def test_direct_postgresql_refused_from_app_host(client, host, sslmode):
    conn = 'host=%s port=5432 dbname=app user=app sslmode=%s' % (internal_ip(host), sslmode)
    result = psql(client, conn, 'SELECT 1', APP_PASSWORD)
    assert result.rc != 0
    assert 'no pg_hba.conf entry for host' in result.stderr, result.stderr


def test_allowed_host_needs_tls(host):
    ip = internal_ip(host)
    plain = psql(host, 'host=%s port=5432 dbname=app user=app sslmode=disable' % ip, 'SELECT 1', APP_PASSWORD)
    assert plain.rc != 0 and 'no pg_hba.conf entry' in plain.stderr and 'no encryption' in plain.stderr, plain.stderr
    tls = psql(host, 'host=%s port=5432 dbname=app user=app %s'
               % (ip, TLS), 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', APP_PASSWORD)
    assert tls.rc == 0 and tls.stdout.strip() == 't', tls.stderr


OTHER_CA = ('openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /tmp/other-ca.key '
            '-out /tmp/other-ca.crt -subj /CN=another-ca -days 1')


def test_pgbouncer_takes_only_verified_tls_clients(client, host):
    ip = internal_ip(host)
    base = 'host=%s port=6432 dbname=app user=app ' % ip
    plain = psql(client, base + 'sslmode=disable', 'SELECT 1', APP_PASSWORD)
    assert plain.rc != 0 and 'SSL required' in plain.stderr, plain.stderr
    # A client that trusts another CA, and one that expects another name, stop at the handshake.
    client.check_output(OTHER_CA)
    other = psql(client, base + 'sslmode=verify-full sslrootcert=/tmp/other-ca.crt', 'SELECT 1', APP_PASSWORD)
    assert other.rc != 0 and 'certificate verify failed' in other.stderr, other.stderr
    impostor = psql(client, 'host=db-impostor hostaddr=%s port=6432 dbname=app user=app %s' % (ip, TLS), 'SELECT 1',
                    APP_PASSWORD)
    assert impostor.rc != 0 and 'does not match host name' in impostor.stderr, impostor.stderr
    # Mozilla's intermediate ciphers: an AEAD suite is taken, a CBC one is refused by the server (alert 40).
    handshake = 'openssl s_client -starttls postgres -connect %s:6432 -tls1_2 -CAfile %s -cipher %%s </dev/null' % (ip, CA_FILE)
    assert client.run(handshake % 'ECDHE-ECDSA-AES128-GCM-SHA256').rc == 0
    cbc = client.run(handshake % 'ECDHE-ECDSA-AES128-SHA')
    assert cbc.rc != 0 and 'alert handshake failure' in cbc.stderr, cbc.stderr
    # The key was made on this host and is readable by PgBouncer's user only.
    key = host.file('/etc/pgbouncer/tls/server.key')
    assert (key.user, key.mode) == ('postgres', 0o600)


# Connects through PgBouncer (TLS, verified) in a loop until /tmp/stop-load exists, then writes "<ok> <failed>".
LOAD_LOOP = """
ok=0; failed=0
while [ ! -e /tmp/stop-load ]; do
  for ip in %s; do
    if PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -w "host=$ip port=6432 dbname=app user=app %s" -XAtc 'SELECT 1' \
        >/dev/null 2>>/tmp/load.err; then ok=$((ok+1)); else failed=$((failed+1)); fi
  done
done
echo "$ok $failed" > /tmp/load.out
"""


def test_forced_renewal_reaches_every_service_without_a_failed_query(client, tmp_path):
    """A renewal (forced: internal_ca_renew_days above the remaining lifetime) signs new certificates for PostgreSQL
    and PgBouncer, and a reload puts them in service: new handshakes see them, and clients connecting all along
    through PgBouncer (verify-full) see no failure. Once for the scenario; `--tags tls` is the concern tag."""
    hosts = {name: get_host(name) for name in DB_HOSTS}
    ips = {name: internal_ip(h) for name, h in hosts.items()}
    before = {name: (served_certificate(h, '127.0.0.1', 5432, 'postgres'), served_certificate(client, ips[name], 6432, 'postgres'))
              for name, h in hosts.items()}
    client.check_output('rm -f /tmp/stop-load /tmp/load.out /tmp/load.err')
    client.check_output('setsid nohup sh -c %s >/dev/null 2>&1 &'
                        % shlex.quote(LOAD_LOOP % (' '.join(sorted(ips.values())), shlex.quote(APP_PASSWORD), TLS)))
    try:
        run_forced_renewal(INVENTORY, 'postgres', ['postgresql', 'pgbouncer'], tmp_path)
    finally:
        client.run('touch /tmp/stop-load')
        for unused in range(30):
            if client.file('/tmp/load.out').exists:
                break
            time.sleep(1)
    ok, failed = (int(n) for n in client.check_output('cat /tmp/load.out').split())
    assert failed == 0 and ok >= 10, (ok, failed, client.run('tail -5 /tmp/load.err').stdout)
    for name, h in hosts.items():
        after = (served_certificate(h, '127.0.0.1', 5432, 'postgres'), served_certificate(client, ips[name], 6432, 'postgres'))
        for old, new in zip(before[name], after):
            assert_renewed(name, old, new)


def test_stats_user_reads_pgbouncer_console(client, host):
    conn = 'host=%s port=6432 dbname=pgbouncer user=pgbouncer_stats %s' % (internal_ip(host), TLS)
    result = psql(client, conn, 'SHOW POOLS', STATS_PASSWORD)
    assert result.rc == 0, result.stderr
    assert any(line.startswith('app|app|') for line in result.stdout.splitlines()), result.stdout
    denied = psql(client, conn, 'PAUSE app', STATS_PASSWORD)
    assert denied.rc != 0 and 'admin access needed' in denied.stderr, denied.stderr


def test_listeners(host):
    ip = internal_ip(host)
    pg = sorted(host.check_output("ss -Htln 'sport = :5432' | awk '{print $4}'").split())
    assert pg == sorted(['%s:5432' % ip, '127.0.0.1:5432']) or pg == sorted(['%s:5432' % ip, '127.0.0.1:5432', '[::1]:5432'])
    assert host.check_output("ss -Htln 'sport = :6432' | awk '{print $4}'").split() == ['%s:6432' % ip]


def _kb(value):
    units = {'kB': 1, 'MB': 1024, 'GB': 1024 ** 2, 'TB': 1024 ** 3}
    for unit, factor in units.items():
        if value.endswith(unit):
            return int(value[:-len(unit)]) * factor
    raise ValueError(value)


def test_tuned_values_are_live(host):
    facts = host.ansible('setup', 'gather_subset=!all,hardware')['ansible_facts']
    version = VERSIONS[host.system_info.release.split('.')[0]]
    expected = pg_tune('web', facts['ansible_memtotal_mb'] * 1024 * 1024, facts['ansible_processor_vcpus'], 'ssd',
                       version, max_connections=100)
    rows = as_postgres(host, 'SELECT name, setting, coalesce(unit, \'\') FROM pg_settings', db='postgres')
    live = {name: (setting, unit) for name, setting, unit in (line.split('|') for line in rows.splitlines())}
    checked = 0
    for name, value in expected.items():
        setting, unit = live[name]
        if unit in ('kB', '8kB', 'MB'):
            size = {'kB': 1, '8kB': 8, 'MB': 1024}[unit]
            assert int(setting) * size == _kb(value) // size * size, (name, setting, unit, value)
        elif value in ('on', 'off', 'try', 'lz4'):
            assert setting == value, (name, setting, value)
        else:
            assert float(setting) == float(value), (name, setting, value)
        checked += 1
    assert checked >= 15
    assert live['password_encryption'][0] == 'scram-sha-256'
    assert live['ssl'][0] == 'on'
    assert 'pg_stat_statements' in live['shared_preload_libraries'][0]
    assert as_postgres(host, 'SELECT count(*) FROM pg_settings WHERE pending_restart', db='postgres') == '0'
    assert int(as_postgres(host, 'SELECT count(*) FROM pg_stat_statements')) > 0


def test_running_major_version(host):
    version = VERSIONS[host.system_info.release.split('.')[0]]
    assert as_postgres(host, 'SHOW server_version_num', db='postgres').startswith(str(version))


def test_auth_query_mode_knows_roles_outside_the_userlist(client, host):
    """A role created only in PostgreSQL logs in through PgBouncer when (and only when) it runs auth_query."""
    password = 'reporting-password-7e1a'
    as_postgres(host, "DROP ROLE IF EXISTS reporting; SET password_encryption = 'scram-sha-256'; "
                      "CREATE ROLE reporting LOGIN PASSWORD '%s'" % password, db='postgres')
    try:
        conn = 'host=%s port=6432 dbname=app user=reporting %s' % (internal_ip(host), TLS)
        good = psql(client, conn, 'SELECT current_user', password)
        wrong = psql(client, conn, 'SELECT 1', 'wrong-password-123')
        if host.backend.host in AUTH_QUERY_HOSTS:
            assert good.rc == 0 and good.stdout.strip() == 'reporting', good.stderr
            ini = host.file('/etc/pgbouncer/pgbouncer.ini').content_string
            # One database: it may use all 100 - 3 server connections, whatever roles auth_query finds.
            assert 'auth_user = pgbouncer_auth' in ini and 'max_db_connections = 97' in ini, ini
        else:
            assert good.rc != 0 and 'SASL authentication failed' in good.stderr, good.stderr
        assert wrong.rc != 0 and 'SASL authentication failed' in wrong.stderr, wrong.stderr
    finally:
        as_postgres(host, 'DROP ROLE IF EXISTS reporting', db='postgres')
    # A superuser is never looked up, even with its right password.
    if host.backend.host in AUTH_QUERY_HOSTS:
        as_postgres(host, "DROP ROLE IF EXISTS breakglass; CREATE ROLE breakglass SUPERUSER LOGIN PASSWORD '%s'"
                    % password, db='postgres')
        try:
            su = psql(client, 'host=%s port=6432 dbname=app user=breakglass %s' % (internal_ip(host), TLS),
                      'SELECT 1', password)
            assert su.rc != 0 and _not_found_by_auth_query(host, su), su.stderr
        finally:
            as_postgres(host, 'DROP ROLE IF EXISTS breakglass', db='postgres')


@pytest.mark.parametrize('name', AUTH_QUERY_HOSTS)
def test_auth_user_logs_in_only_with_its_certificate(name):
    host = get_host(name)
    ip = internal_ip(host)
    base = 'host=%s port=5432 dbname=app user=pgbouncer_auth %s' % (ip, TLS)
    # No certificate (and no password exists): refused by the pg_hba `cert` line.
    bare = host.run('runuser -u postgres -- env PGCONNECT_TIMEOUT=10 psql -w %s -X -At -c "SELECT 1"'
                    % shlex.quote(base + ' sslcert=/nonexistent sslkey=/nonexistent'))
    assert bare.rc != 0 and 'certificate' in bare.stderr, bare.stderr
    # With PgBouncer's certificate: in, and the lookup function hides superusers and works for ordinary roles.
    sql = "SELECT coalesce((SELECT phash FROM bulwark_pgbouncer.user_lookup('postgres')), 'none') || ' ' || " \
          "left((SELECT phash FROM bulwark_pgbouncer.user_lookup('app')), 14)"
    cert = host.run('runuser -u postgres -- env PGCONNECT_TIMEOUT=10 psql -w %s -X -At -c %s'
                    % (shlex.quote('%s sslcert=%s sslkey=%s' % (base, AUTH_CERT, AUTH_KEY)), shlex.quote(sql)))
    assert cert.rc == 0 and cert.stdout.strip() == 'none SCRAM-SHA-256$', cert.stderr
    # Nobody else may call it.
    denied = host.run('runuser -u postgres -- psql -X -At -d app -c %s'
                      % shlex.quote("SET ROLE app; SELECT * FROM bulwark_pgbouncer.user_lookup('app')"))
    assert denied.rc != 0 and 'permission denied' in denied.stderr, denied.stderr
    key = host.file(AUTH_KEY)
    assert (key.user, key.mode) == ('postgres', 0o600)
    # The client CA's key stays with PostgreSQL's host, root only.
    ca_key = host.file('/etc/postgresql/ssl/client-ca.key')
    assert (ca_key.user, ca_key.mode) == ('root', 0o600)


def test_no_plaintext_password_in_config(host):
    for secret in SECRETS:
        found = host.run('grep -rlF %s /etc/postgresql /etc/pgbouncer' % shlex.quote(secret))
        assert found.rc == 1 and found.stdout == '', 'plaintext password in %s' % found.stdout
    userlist = host.file('/etc/pgbouncer/userlist.txt')
    assert (userlist.user, userlist.group, userlist.mode) == ('root', 'postgres', 0o640)
    entries = [line for line in userlist.content_string.splitlines() if line.startswith('"')]
    assert len(entries) == 3 and all('"SCRAM-SHA-256$4096:' in line for line in entries), entries
    # PostgreSQL stores exactly the verifier the userlist holds (what SCRAM pass-through needs).
    stored = as_postgres(host, "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'", db='postgres')
    assert '"app" "%s"' % stored in entries
    key = host.file('/etc/postgresql/ssl/server.key')
    assert (key.user, key.mode) == ('postgres', 0o600)


def test_backup_is_made_and_restored(host):
    as_postgres(host, 'DROP TABLE IF EXISTS restore_probe; CREATE TABLE restore_probe AS '
                      "SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 1234) g")
    assert host.run('systemctl is-enabled bulwark-pg-backup.timer').stdout.strip() == 'enabled'
    started = host.run('systemctl start bulwark-pg-backup.service')
    assert started.rc == 0, host.run('journalctl -u bulwark-pg-backup -n 20 --no-pager').stdout
    dump = host.check_output('ls -1t /var/backups/postgresql/app/*.dump | head -n1')
    assert dump and host.file(dump).user == 'postgres'
    target = 'app_restored_%d' % int(time.time())
    result = subprocess.run(
        ['ansible-playbook', '-i', INVENTORY, str(ROOT / 'playbooks' / 'restore.yml'), '-l', host.backend.host,
         '-e', 'restore_dump=%s' % dump, '-e', 'restore_database=%s' % target, '-e', 'restore_source_database=app',
         '-e', 'restore_compare_source=true'], capture_output=True, text=True, check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert 'matches app table by table' in result.stdout
    assert as_postgres(host, 'SELECT count(*), md5(string_agg(payload, \',\' ORDER BY id)) FROM restore_probe', db=target) == \
        as_postgres(host, 'SELECT count(*), md5(string_agg(payload, \',\' ORDER BY id)) FROM restore_probe')
    # Restoring into an existing database is refused.
    again = subprocess.run(
        ['ansible-playbook', '-i', INVENTORY, str(ROOT / 'playbooks' / 'restore.yml'), '-l', host.backend.host,
         '-e', 'restore_dump=%s' % dump, '-e', 'restore_database=%s' % target], capture_output=True, text=True,
        check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    assert again.returncode != 0
    as_postgres(host, 'DROP DATABASE %s' % target, db='postgres')


def test_failed_backups_never_expire_the_last_good_ones(host):
    """Dumps far past the retention survive failing runs; a good run then expires them but keeps the newest 3."""
    old = ['/var/backups/postgresql/app/app-2020010%dT000000Z.dump' % day for day in range(1, 6)]
    for day, path in enumerate(old, start=1):
        host.check_output("install -o postgres -g postgres -m 0600 /dev/null %s && touch -d '%d days ago' %s"
                          % (path, 400 + day, path))
    try:
        # The dump fails (PostgreSQL is asked on a port where nothing listens): every old dump is kept.
        failed = host.run('runuser -u postgres -- env $(grep -v "^#" /etc/default/bulwark-pg-backup | xargs) '
                          'PGPORT=1 /usr/local/sbin/bulwark-pg-backup')
        assert failed.rc != 0 and 'FAILED' in failed.stderr, (failed.rc, failed.stdout, failed.stderr)
        assert all(host.file(path).exists for path in old)
        assert host.run('systemctl start bulwark-pg-backup.service').rc == 0
        kept = host.check_output('ls -1t /var/backups/postgresql/app/*.dump').split()
        assert len(kept) == 3, kept  # the newest dumps, whatever their age (postgresql_backup_keep_min)
        assert not any(host.file(path).exists for path in old[2:])
    finally:
        host.run('rm -f %s' % ' '.join(old))


PGBOUNCER_ONLY = """
- name: PgBouncer alone, with pools that do not fit
  hosts: pgbouncer
  tasks:
    - name: Apply bulwark.stack.pgbouncer
      ansible.builtin.include_role:
        name: bulwark.stack.pgbouncer
"""


def test_pool_oversubscription_is_refused_before_any_change(tmp_path):
    # 1 pool x (93 + 5) > 100 - 3: the role's preflight must fail, naming the variables. Once for the scenario (not
    # per host), PgBouncer's play only, in check mode: nothing could change anyway.
    playbook = tmp_path / 'pgbouncer.yml'
    playbook.write_text(PGBOUNCER_ONLY)
    result = subprocess.run(
        ['ansible-playbook', '--check', '-i', INVENTORY, str(playbook), '-e', 'pgbouncer_default_pool_size=93'],
        capture_output=True, text=True,
        check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json'))
    assert result.returncode != 0
    out = ' '.join(result.stdout.split())
    assert 'Pools fit in the server' in out and 'pgbouncer_default_pool_size' in out and 'allows only 97' in out, out[-3000:]


def test_refused_setting_is_put_back_and_the_server_keeps_running():
    """A value PostgreSQL refuses (work_mem = 'lots') fails the play; the previous file is back, no backup is left,
    and the server still runs its old settings (a later restart would load them, not the bad file). Once for the
    scenario: the converge runs on every database host."""
    conf = '/etc/postgresql/*/main/conf.d/50-bulwark.conf'
    hosts = {name: get_host(name) for name in DB_HOSTS}
    before = {name: (h.check_output('md5sum %s' % conf), as_postgres(h, 'SHOW work_mem')) for name, h in hosts.items()}
    result = subprocess.run(
        ['ansible-playbook', '-i', INVENTORY, str(ROOT / 'molecule' / 'postgresql' / 'converge.yml'),
         '-e', '{"postgresql_settings": {"work_mem": "lots"}}'],
        capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    assert result.returncode != 0
    out = ' '.join((result.stdout + result.stderr).split())
    assert 'PostgreSQL refused the new configuration' in out and 'work_mem' in out, out[-3000:]
    for name, h in hosts.items():
        assert (h.check_output('md5sum %s' % conf), as_postgres(h, 'SHOW work_mem')) == before[name]
        assert h.check_output('ls -A $(dirname %s)' % conf) == '50-bulwark.conf'
        assert h.check_output('runuser -u postgres -- pg_lsclusters -h').split()[3] == 'online'


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, host):
    for name in DB_HOSTS + [CLIENT]:
        stats = check_mode_recap[name]
        assert stats['failures'] == 0 and stats['unreachable'] == 0
        assert stats['changed'] == 0, (name, stats['changed_tasks'])
