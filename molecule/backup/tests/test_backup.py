"""Behaviour of bulwark.stack.pgbackrest: mutual TLS between the database hosts and the repository, an encrypted
repository, the recovery point under load, archiving through a repository outage, point-in-time and fresh-host
restores with playbooks/restore.yml, the restore test and the metrics of each step.

The tests run in file order and build on each other (rows written before a time T are the ones a restore to T
returns)."""

import json
import os
import pathlib
import shlex
import subprocess
import time
import uuid

import testinfra.utils.ansible_runner

from testlib import get_host, internal_ip

ROOT = pathlib.Path(__file__).resolve().parents[3]
INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
PRIMARY, FRESH, REPO = 'backup-db', 'backup-fresh', 'backup-repo'
testinfra_hosts = [PRIMARY]

PASSPHRASE = 'molecule-repository-passphrase-4e9a'
ARCHIVE_TIMEOUT = 60  # postgresql_archive_timeout's default
TEXTFILE = '/var/lib/prometheus/node-exporter'
MARKER = 'bulwark-row-%s' % uuid.uuid4().hex  # a value no repository file may show in clear


def sql(host, query, db='postgres'):
    return host.check_output('runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -d %s -c %s' % (db, shlex.quote(query)))


def restore(target_host, *extra):
    result = subprocess.run(['ansible-playbook', '-i', INVENTORY, str(ROOT / 'playbooks' / 'restore.yml'), '-l', target_host]
                            + list(extra), capture_output=True, text=True, check=False,
                            env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result.stdout


def archived_through(host):
    """Switch to a new WAL segment and wait until the repository has every segment before it; return the seconds."""
    segment = sql(host, 'SELECT pg_walfile_name(pg_switch_wal())')
    start = time.time()
    while time.time() - start < 180:
        if sql(host, 'SELECT coalesce(last_archived_wal, \'\') FROM pg_stat_archiver') >= segment:
            return time.time() - start
        time.sleep(1)
    raise AssertionError('segment %s was not archived within 180 s' % segment)


# A self-signed certificate named like the repository host (CN=backup-repo): the name alone must not be enough.
IMPOSTOR = r"""
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backup-repo")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
open("/tmp/impostor.key", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
open("/tmp/impostor.crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
"""


def pg_host_check(on, cert, key):
    """pgBackRest on ``on`` reaching the primary's TLS server as the repository host does (check), with this client
    certificate; no configuration file, so nothing else is used."""
    return on.run('runuser -u postgres -- pgbackrest --config=/dev/null --stanza=main --log-level-console=warn '
                  '--repo1-path=/tmp/no-repo --pg1-host=backup-db --pg1-host-type=tls --pg1-host-port=8432 '
                  '--pg1-host-ca-file=/etc/ssl/bulwark/ca.crt --pg1-host-cert-file=%s --pg1-host-key-file=%s '
                  '--pg1-path=/var/lib/postgresql/15/main check' % (cert, key))


def test_tls_servers_accept_only_the_authorized_peer(host):
    """The TLS servers listen on the internal address only. The primary's server serves the repository host's
    certificate, refuses another certificate of the same CA (the fresh host's: not authorized there), and refuses a
    certificate from elsewhere even when it carries the repository host's name."""
    repo, fresh = get_host(REPO), get_host(FRESH)
    for on in (repo, host):
        assert on.socket('tcp://%s:8432' % internal_ip(on)).is_listening
        assert not on.socket('tcp://0.0.0.0:8432').is_listening
    other = pg_host_check(fresh, '/etc/pgbackrest-tls/tls.crt', '/etc/pgbackrest-tls/tls.key')
    assert other.rc != 0 and 'access denied' in other.stdout + other.stderr, other.stdout + other.stderr
    fresh.check_output('python3 -c %s && chown postgres /tmp/impostor.key /tmp/impostor.crt' % shlex.quote(IMPOSTOR))
    impostor = pg_host_check(fresh, '/tmp/impostor.crt', '/tmp/impostor.key')
    assert impostor.rc != 0, impostor.stdout
    assert 'access denied' not in impostor.stdout + impostor.stderr  # refused earlier: in the TLS handshake
    # the authorized pair works both ways: the repository reads the primary, the primary reaches the repository
    assert 'status: ok' in repo.check_output('runuser -u pgbackrest -- pgbackrest --stanza=main info')
    assert 'status: ok' in host.check_output('runuser -u postgres -- pgbackrest --stanza=main info')


def test_passphrase_stays_on_the_repository_host(host):
    fresh = get_host(FRESH)
    for db in (host, fresh):
        assert PASSPHRASE not in db.check_output('cat /etc/pgbackrest.conf')
        assert 'cipher' not in db.check_output('cat /etc/pgbackrest.conf')
    config = get_host(REPO).file('/etc/pgbackrest.conf')
    assert (config.user, config.group, config.mode) == ('root', 'pgbackrest', 0o640)


def test_a_changed_passphrase_is_refused_before_any_change(run_playbook):
    """pgBackRest cannot re-encrypt a repository: a new pgbackrest_cipher_pass stops the run, the file unchanged."""
    repo = get_host(REPO)
    before = repo.check_output('sha256sum /etc/pgbackrest.conf')
    result = run_playbook(os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml'),
                          '-e', 'pgbackrest_cipher_pass=Another-Passphrase-9d2K-x7Qm')
    assert result.returncode != 0
    assert 'differs from the passphrase the repository' in result.stdout + result.stderr
    assert 'Another-Passphrase' not in result.stdout + result.stderr
    assert repo.check_output('sha256sum /etc/pgbackrest.conf') == before


def test_recovery_point_under_load_is_bounded_by_archive_timeout(host, capsys):
    """pgbench writes for 40 s (300 transactions a second); every second the current WAL segment is sampled. Each sample's lag is the time until
    the repository held its segment; the largest must stay within archive_timeout plus a few seconds."""
    sql(host, 'DROP DATABASE IF EXISTS bench')
    sql(host, 'CREATE DATABASE bench')
    host.check_output('runuser -u postgres -- /usr/lib/postgresql/15/bin/pgbench -q -i -s 5 bench')
    # 300 transactions a second (-R): a steady load that leaves CPU to the scenario running beside this one in CI
    host.check_output('runuser -u postgres -- bash -c "nohup /usr/lib/postgresql/15/bin/pgbench -c 4 -R 300 -T 40 bench '
                      '> /tmp/pgbench-lag.log 2>&1 &"')
    samples = []
    start = time.time()
    while time.time() - start < 110:
        row = sql(host, 'SELECT pg_walfile_name(pg_current_wal_lsn()), coalesce(last_archived_wal, \'\') FROM pg_stat_archiver')
        current, archived = row.split('|')
        samples.append((time.time(), current, archived))
        if time.time() - start > 45 and all(any(a >= c for _, _, a in samples[i:]) for i, (_, c, _) in enumerate(samples)):
            break
        time.sleep(1)
    lags = []
    for index, (at, segment, _) in enumerate(samples):
        done = [t for t, _, archived in samples[index:] if archived >= segment]
        if done:
            lags.append(done[0] - at)
    covered = [s for s in samples if s[0] - start <= 40]
    assert len(lags) >= len(covered), 'segments sampled under load never reached the repository: %s' % samples[-3:]
    with capsys.disabled():  # the figure goes into the scenario's log (README: recovery point)
        print('\nrecovery point under pgbench load: max %.1f s, mean %.1f s over %d samples, %d WAL segments' % (
            max(lags), sum(lags) / len(lags), len(lags), len(set(s[1] for s in samples))))
    assert max(lags) <= ARCHIVE_TIMEOUT + 10, lags
    log = host.check_output('cat /tmp/pgbench-lag.log')
    assert 'number of failed transactions: 0' in log, log


def test_repository_outage_loses_no_transaction_and_archiving_catches_up(host, capsys):
    """The repository host is frozen (docker pause: every process stopped, its address kept) for 90 s while pgbench
    writes: no client transaction fails; the waiting segments, then the failed archive command (pgBackRest gives up
    on a segment after 60 s) show in the metrics and PostgreSQL's log; after the host returns every segment reaches
    the repository."""
    host.check_output('runuser -u postgres -- bash -c "nohup /usr/lib/postgresql/15/bin/pgbench -c 4 -R 300 -T 100 bench '
                      '> /tmp/pgbench-outage.log 2>&1 &"')
    time.sleep(5)
    subprocess.run(['docker', 'pause', REPO], check=True)
    try:
        sql(host, 'SELECT pg_switch_wal()')  # a finished segment to archive now, not at the next archive_timeout
        time.sleep(85)
        host.check_output('systemctl start bulwark-pg-archive-status.service')
        during = host.check_output('cat %s/bulwark_pg_archive.prom' % TEXTFILE)
    finally:
        subprocess.run(['docker', 'unpause', REPO], check=True)
    metrics = dict(line.split() for line in during.splitlines() if not line.startswith('#'))
    assert metrics['bulwark_pg_archive_failing'] == '1', during
    assert int(metrics['bulwark_pg_archive_pending_segments']) >= 1, during
    assert int(metrics['bulwark_pg_archive_oldest_pending_seconds']) >= 40, during
    assert sql(host, 'SELECT 1') == '1'  # PostgreSQL kept serving
    assert 'archive command failed' in host.check_output('cat /var/log/postgresql/postgresql-15-main.log')
    for _ in range(40):
        if 'number of failed transactions' in host.check_output('cat /tmp/pgbench-outage.log'):
            break
        time.sleep(2)
    log = host.check_output('cat /tmp/pgbench-outage.log')
    assert 'number of failed transactions: 0' in log, log
    caught_up = archived_through(host)
    with capsys.disabled():
        print('\narchiving caught up %.1f s after pgbench ended (the repository host back for about 10 s)' % caught_up)
    host.check_output('systemctl start bulwark-pg-archive-status.service')
    after = host.check_output('cat %s/bulwark_pg_archive.prom' % TEXTFILE)
    assert 'bulwark_pg_archive_failing 0' in after and 'bulwark_pg_archive_pending_segments 0' in after, after


def test_point_in_time_restore_and_fresh_host_restore(host):
    """Rows before T, then rows after T. A fresh host restored to the latest state has all of them; the primary,
    its data directory destroyed, restored to T has exactly the rows committed before T."""
    sql(host, 'DROP TABLE IF EXISTS pitr_probe; CREATE TABLE pitr_probe (id int PRIMARY KEY, note text)', db='app')
    sql(host, "INSERT INTO pitr_probe SELECT g, '%s' FROM generate_series(1, 100) g" % MARKER, db='app')
    time.sleep(2)
    target = sql(host, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
    time.sleep(2)
    sql(host, "INSERT INTO pitr_probe SELECT g, 'after T' FROM generate_series(101, 150) g", db='app')
    archived_through(host)

    fresh = get_host(FRESH)
    out = restore(FRESH, '-e', 'restore_overwrite=true')
    assert 'backup_set' in out and 'latest' in out, out[-3000:]
    assert sql(fresh, 'SELECT count(*) FROM pitr_probe', db='app') == '150'
    assert sql(fresh, 'SELECT pg_is_in_recovery()') == 'f'

    # a running cluster is not replaced without restore_overwrite
    refused = subprocess.run(['ansible-playbook', '-i', INVENTORY, str(ROOT / 'playbooks' / 'restore.yml'), '-l', PRIMARY],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and 'restore_overwrite=true' in refused.stdout + refused.stderr, refused.stdout[-2000:]
    assert sql(host, 'SELECT count(*) FROM pitr_probe', db='app') == '150'

    host.check_output('systemctl stop postgresql@15-main && rm -rf /var/lib/postgresql/15/main')
    out = restore(PRIMARY, '-e', json.dumps({'restore_target': 'time', 'restore_target_value': target}))
    assert target in out, out[-3000:]
    assert sql(host, 'SELECT count(*), min(id), max(id) FROM pitr_probe', db='app') == '100|1|100'
    assert sql(host, 'SELECT pg_is_in_recovery()') == 'f'
    # the restored primary archives again (a new timeline)
    archived_through(host)


def test_repository_holds_no_readable_row_data(host):
    repo = get_host(REPO)
    archived_through(host)
    found = repo.run('grep -rl %s /var/lib/pgbackrest' % shlex.quote(MARKER))
    assert found.rc == 1 and found.stdout == '', found.stdout
    # not only compressed: every file is encrypted (OpenSSL's salted header), and listed readable to its user only
    files = repo.check_output("find /var/lib/pgbackrest -type f -size +0 ! -name '*.copy'").split()
    assert len(files) > 5, files
    plain = [f for f in files if repo.check_output('head -c 8 %s' % shlex.quote(f)) != 'Salted__']
    assert plain == [], plain
    assert repo.file('/var/lib/pgbackrest').mode == 0o750
    assert repo.file('/var/lib/pgbackrest').user == 'pgbackrest'


def test_backups_restore_test_and_metrics(host):
    """A differential backup, the scheduled restore test, and the time of each success for the monitoring tier."""
    repo = get_host(REPO)
    repo.check_output('systemctl start bulwark-pgbackrest-backup@diff.service')
    info = repo.check_output('runuser -u pgbackrest -- pgbackrest --stanza=main info')
    assert 'diff backup' in info and 'full backup' in info, info
    host.check_output('systemctl start bulwark-pgbackrest-restore-test.service')
    journal = host.check_output('journalctl --no-pager -u bulwark-pgbackrest-restore-test.service')
    assert 'restored and promoted; check query returned' in journal, journal[-2000:]
    assert not host.file('/var/lib/postgresql/bulwark-restore-test').exists
    now = time.time()
    # the full backup is the converge's first one; the others were made by this test
    for on, kind, age in ((repo, 'full', 3600), (repo, 'diff', 300), (host, 'restore_test', 300), (host, 'archive', 600)):
        text = on.check_output('cat %s/bulwark_backup_%s.prom' % (TEXTFILE, kind))
        value = float(text.split('{kind="%s"} ' % kind)[1].split()[0])
        assert now - age < value <= now + 5, (kind, text)
    for timer in ('bulwark-pgbackrest-restore-test.timer', 'bulwark-pg-archive-status.timer'):
        assert host.service(timer).is_enabled
    for timer in ('bulwark-pgbackrest-full.timer', 'bulwark-pgbackrest-diff.timer'):
        assert repo.service(timer).is_enabled
