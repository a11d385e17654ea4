#!/usr/bin/env python3
"""pgbench side by side on the lab's database host (bulwark.stack.postgresql + bulwark.stack.pgbouncer on db1):

    scripts/lab up
    .venv/bin/python benchmarks/pgbench.py [--server db1] [--bench-from db1] [--seconds 20]

(The converged containers of the Molecule scenario `postgresql` work too: --server postgresql-debian12
--bench-from postgresql-debian13 --password molecule-app-password-5d1e.)

(a) connect-per-transaction (pgbench -C, select-only) through PgBouncer vs directly to PostgreSQL: TPS ratio.
    Direct means what pg_hba.conf allows: TLS + SCRAM for every connection. Through PgBouncer the client does SCRAM
    without TLS to PgBouncer, which keeps its TLS server connections open.
(b) 1000 concurrent clients through PgBouncer while PostgreSQL has max_connections 100: errors (goal 0).
(c) the tuned configuration vs Debian's default postgresql.conf (the role's conf.d file with the PGTune keys removed;
    listen/TLS/logging settings kept identical), same host and data, TPC-B-like: TPS ratio. The tuned file is put
    back and the server restarted at the end.

pgbench runs inside the --bench-from container (a host of the postgres group, so pg_hba.conf lets it connect
directly); the controller only uses `docker exec`, so all traffic stays on the scenario's network. Figures, not a
test.
"""

import argparse
import re
import shlex
import subprocess
import sys

TUNED_KEYS = ('shared_buffers', 'effective_cache_size', 'maintenance_work_mem', 'checkpoint_completion_target',
              'wal_buffers', 'default_statistics_target', 'random_page_cost', 'effective_io_concurrency', 'work_mem',
              'huge_pages', 'jit', 'wal_compression', 'min_wal_size', 'max_wal_size', 'max_worker_processes',
              'max_parallel_workers_per_gather', 'max_parallel_workers', 'max_parallel_maintenance_workers',
              'autovacuum_max_workers', 'autovacuum_work_mem', 'io_method', 'io_workers')


class OPTS:  # pylint: disable=too-few-public-methods
    """Options the helpers need (set in main)."""
    password = ''


def sh(container, command, check=True):
    result = subprocess.run(['docker', 'exec', container, 'bash', '-c', command], capture_output=True, text=True,
                            check=False)
    if check and result.returncode != 0:
        sys.exit('%s: %s failed:\n%s%s' % (container, command, result.stdout[-2000:], result.stderr[-2000:]))
    return result


def address(container):
    dev = sh(container, "ip -4 -o route show default | awk '{print $5}'").stdout.strip()
    return sh(container, "ip -4 -o addr show dev %s | awk '{print $4}' | cut -d/ -f1 | head -n1" % dev).stdout.strip()


def pgbench(client, conninfo, args):
    # pgbench from the client's newest PostgreSQL; --no-vacuum: the tables are vacuumed once after init.
    cmd = ('ulimit -n 8192; PGPASSWORD=%s $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pgbench '
           '--no-vacuum %s %s 2>&1' % (shlex.quote(OPTS.password), args, shlex.quote(conninfo)))
    out = sh(client, cmd, check=False).stdout
    tps = re.search(r'tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing|including)', out)
    tps = tps or re.search(r'tps = ([0-9.]+)', out)
    failed = re.search(r'number of failed transactions: (\d+)', out)
    done = re.search(r'number of transactions actually processed: (\d+)', out)
    errors = len(re.findall(r'(?im)^.*(error|fatal|aborted).*$', out))
    connect = re.search(r'initial connection time = ([0-9.]+) ms', out)
    return {'tps': float(tps.group(1)) if tps else 0.0, 'failed': int(failed.group(1)) if failed else None,
            'connect_s': float(connect.group(1)) / 1000 if connect else None,
            'processed': int(done.group(1)) if done else 0, 'error_lines': errors, 'raw': out}


def pg(server, sql, db='app'):
    return sh(server, 'runuser -u postgres -- psql -X -At -d %s -c %s' % (db, shlex.quote(sql))).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--server', default='db1', help='container with PostgreSQL + PgBouncer')
    parser.add_argument('--bench-from', default='db1', help='container pgbench runs in (a postgres-group host)')
    parser.add_argument('--password', default='lab-app-db-password-not-for-production',
                        help="the app user's password (the lab's, inventories/lab/group_vars/all/postgresql.yml)")
    parser.add_argument('--seconds', type=int, default=20)
    parser.add_argument('--scale', type=int, default=10)
    parser.add_argument('--clients-seconds', type=int, default=150,
                        help='length of run (b), including the 1000 clients connecting')
    opts = parser.parse_args()
    OPTS.password = opts.password
    server, client, secs = opts.server, opts.bench_from, opts.seconds
    ip = address(server)
    version = sh(server, "ls /etc/postgresql").stdout.split()[0]
    conf_dir = '/etc/postgresql/%s/main/conf.d' % version
    direct = 'host=%s port=5432 dbname=app user=app sslmode=require' % ip
    bouncer = 'host=%s port=6432 dbname=app user=app sslmode=disable' % ip
    print('server %s (PostgreSQL %s) at %s, pgbench in %s, %d s per run, scale %d' % (server, version, ip, client, secs, opts.scale))
    print('max_connections=%s, nproc=%s' % (pg(server, 'SHOW max_connections'), sh(server, 'nproc').stdout.strip()))

    init = sh(client, 'PGPASSWORD=%s $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pgbench -i -q -s %d %s 2>&1'
              % (shlex.quote(OPTS.password), opts.scale, shlex.quote(direct)), check=False)
    if init.returncode != 0:
        sys.exit('pgbench -i failed:\n' + init.stdout[-2000:])
    pg(server, 'VACUUM ANALYZE')

    # (a) connection per transaction
    a_bouncer = pgbench(client, bouncer, '-C -S -c 8 -j 2 -T %d' % secs)
    a_direct = pgbench(client, direct, '-C -S -c 8 -j 2 -T %d' % secs)
    # (b) 1000 clients through PgBouncer, max_connections 100 on the server
    # 1000 SCRAM handshakes come first (about a minute on 2 busy cores; pgbench's -T includes them), so this run is
    # longer: --clients-seconds.
    b = pgbench(client, bouncer, '-S -c 1000 -j 4 -T %d' % opts.clients_seconds)
    server_conns = pg(server, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")
    # (c) tuned vs Debian default, direct, TPC-B-like, persistent connections
    c_tuned = pgbench(client, direct, '-c 16 -j 2 -T %d' % secs)
    keys = '|'.join(TUNED_KEYS)
    sh(server, "cd %s && mv 50-bulwark.conf /root/50-bulwark.conf.tuned && grep -Ev '^(%s) = ' /root/50-bulwark.conf.tuned "
               "> 50-bulwark.conf && chown postgres:postgres 50-bulwark.conf && systemctl restart postgresql@%s-main"
       % (conf_dir, keys, version))
    baseline_sb = pg(server, 'SHOW shared_buffers')
    try:
        c_default = pgbench(client, direct, '-c 16 -j 2 -T %d' % secs)
    finally:
        sh(server, 'mv /root/50-bulwark.conf.tuned %s/50-bulwark.conf && systemctl restart postgresql@%s-main'
           % (conf_dir, version))
    tuned_sb = pg(server, 'SHOW shared_buffers')

    def ratio(x, y):
        return x / y if y else float('nan')

    print()
    print('(a) pgbench -C -S -c 8, %d s: PgBouncer %.1f tps, direct %.1f tps -> ratio %.2fx (errors: %d / %d lines)'
          % (secs, a_bouncer['tps'], a_direct['tps'], ratio(a_bouncer['tps'], a_direct['tps']),
             a_bouncer['error_lines'], a_direct['error_lines']))
    print('(b) pgbench -S -c 1000 through PgBouncer, max_connections 100, %d s (all 1000 connected after %s s): '
          '%.1f tps, %d transactions, failed=%s, error lines=%d, server connections of app after the run=%s'
          % (opts.clients_seconds, b['connect_s'], b['tps'], b['processed'], b['failed'], b['error_lines'], server_conns))
    if not b['processed']:
        print('    (b) processed nothing; pgbench said:\n' + b['raw'][-1500:])
    print('(c) pgbench TPC-B -c 16 direct, %d s: tuned (shared_buffers %s) %.1f tps, Debian default (shared_buffers %s) '
          '%.1f tps -> ratio %.2fx' % (secs, tuned_sb, c_tuned['tps'], baseline_sb, c_default['tps'],
                                       ratio(c_tuned['tps'], c_default['tps'])))
    if b['error_lines']:
        print('\n(b) error output:\n' + '\n'.join(line for line in b['raw'].splitlines()
                                                   if re.search('(?i)error|fatal|aborted', line))[:3000])


if __name__ == '__main__':
    main()
