#!/usr/bin/env python3
"""pgbench side by side on the lab's database host (bulwark.stack.postgresql + bulwark.stack.pgbouncer on db1):

    scripts/lab up
    .venv/bin/python benchmarks/pgbench.py [--server db1] [--bench-from db1] [--seconds 20] [--scale 10]
        [--only a|b|c ...] [--rounds 1]

(The converged containers of the Molecule scenario `postgresql` work too: --server postgresql-debian12
--bench-from postgresql-debian13 --password molecule-app-password-5d1e.)

(a) connect-per-transaction (pgbench -C, select-only) through PgBouncer vs directly to PostgreSQL: TPS ratio.
    Direct means what pg_hba.conf allows: TLS + SCRAM for every connection. Through PgBouncer the client does the
    same (PgBouncer takes TLS clients only, verify-full against the internal CA), and PgBouncer keeps its TLS server
    connections to PostgreSQL open.
(b) 1000 concurrent clients through PgBouncer while PostgreSQL has max_connections 100: errors (goal 0).
(c) the tuned configuration vs Debian's default postgresql.conf (the role's conf.d file with the PGTune keys removed;
    listen/TLS/logging settings kept identical), same host and data, TPC-B-like: TPS ratio. Runs go tuned, default,
    default, tuned (--rounds times), each after a restart and a 5 s warm-up; the tuned file is put back and the server
    restarted at the end. Use a scale whose data outgrows Debian's 128 MB shared_buffers (--scale 100: about 1.5 GB).

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
    parser.add_argument('--only', choices=['a', 'b', 'c'], action='append',
                        help='run only these comparisons (repeatable; default all three)')
    parser.add_argument('--rounds', type=int, default=1,
                        help='(c) in tuned/default/default/tuned order, this many times (ABBA cancels drift); '
                             'each figure is the mean of its runs')
    opts = parser.parse_args()
    only = set(opts.only or ['a', 'b', 'c'])
    OPTS.password = opts.password
    server, client, secs = opts.server, opts.bench_from, opts.seconds
    ip = address(server)
    version = sh(server, "ls /etc/postgresql").stdout.split()[0]
    conf_dir = '/etc/postgresql/%s/main/conf.d' % version
    direct = 'host=%s port=5432 dbname=app user=app sslmode=verify-full sslrootcert=/etc/ssl/bulwark/ca.crt' % ip
    bouncer = 'host=%s port=6432 dbname=app user=app sslmode=verify-full sslrootcert=/etc/ssl/bulwark/ca.crt' % ip
    print('server %s (PostgreSQL %s) at %s, pgbench in %s, %d s per run, scale %d' % (server, version, ip, client, secs, opts.scale))
    print('max_connections=%s, nproc=%s' % (pg(server, 'SHOW max_connections'), sh(server, 'nproc').stdout.strip()))

    init = sh(client, 'PGPASSWORD=%s $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pgbench -i -q -s %d %s 2>&1'
              % (shlex.quote(OPTS.password), opts.scale, shlex.quote(direct)), check=False)
    if init.returncode != 0:
        sys.exit('pgbench -i failed:\n' + init.stdout[-2000:])
    pg(server, 'VACUUM ANALYZE')

    def ratio(x, y):
        return x / y if y else float('nan')

    if 'a' in only:  # connection per transaction
        a_bouncer = pgbench(client, bouncer, '-C -S -c 8 -j 2 -T %d' % secs)
        a_direct = pgbench(client, direct, '-C -S -c 8 -j 2 -T %d' % secs)
        print('(a) pgbench -C -S -c 8, %d s: PgBouncer %.1f tps, direct %.1f tps -> ratio %.2fx (errors: %d / %d lines)'
              % (secs, a_bouncer['tps'], a_direct['tps'], ratio(a_bouncer['tps'], a_direct['tps']),
                 a_bouncer['error_lines'], a_direct['error_lines']), flush=True)
    if 'b' in only:  # 1000 clients through PgBouncer, max_connections 100 on the server
        # 1000 SCRAM handshakes come first (about a minute on 2 busy cores; pgbench's -T includes them), so this run
        # is longer: --clients-seconds.
        b = pgbench(client, bouncer, '-S -c 1000 -j 4 -T %d' % opts.clients_seconds)
        server_conns = pg(server, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")
        print('(b) pgbench -S -c 1000 through PgBouncer, max_connections 100, %d s (all 1000 connected after %s s): '
              '%.1f tps, %d transactions, failed=%s, error lines=%d, server connections of app after the run=%s'
              % (opts.clients_seconds, b['connect_s'], b['tps'], b['processed'], b['failed'], b['error_lines'],
                 server_conns), flush=True)
        if not b['processed']:
            print('    (b) processed nothing; pgbench said:\n' + b['raw'][-1500:])
        if b['error_lines']:
            print('\n(b) error output:\n' + '\n'.join(line for line in b['raw'].splitlines()
                                                       if re.search('(?i)error|fatal|aborted', line))[:3000])
    if 'c' in only:  # tuned vs Debian default, direct, TPC-B-like, persistent connections
        keys = '|'.join(TUNED_KEYS)
        tuned_file, conf = '/root/50-bulwark.conf.tuned', conf_dir + '/50-bulwark.conf'
        sh(server, 'cp -p %s %s' % (conf, tuned_file))

        def use(kind):
            """Put the tuned file, or the same file without the PGTune keys, in place and restart."""
            if kind == 'tuned':
                sh(server, 'cp -p %s %s' % (tuned_file, conf))
            else:
                sh(server, "grep -Ev '^(%s) = ' %s > %s && chown postgres:postgres %s" % (keys, tuned_file, conf, conf))
            sh(server, 'systemctl restart postgresql@%s-main' % version)
            return pg(server, 'SHOW shared_buffers')

        runs = {'tuned': [], 'default': []}
        shared_buffers = {}
        try:
            for _ in range(opts.rounds):
                for kind in ('tuned', 'default', 'default', 'tuned'):
                    shared_buffers[kind] = use(kind)
                    pgbench(client, direct, '-c 16 -j 2 -T 5')  # warm-up after the restart, not counted
                    runs[kind].append(pgbench(client, direct, '-c 16 -j 2 -T %d' % secs)['tps'])
                    print('    (c) %s: %.1f tps' % (kind, runs[kind][-1]), flush=True)
        finally:
            use('tuned')
        tuned, default = (sum(runs[k]) / len(runs[k]) for k in ('tuned', 'default'))
        print('(c) pgbench TPC-B -c 16 direct, scale %d, %d x %d s each: tuned (shared_buffers %s) %.1f tps, Debian '
              'default (shared_buffers %s) %.1f tps -> ratio %.2fx' % (opts.scale, len(runs['tuned']), secs,
                                                                      shared_buffers['tuned'], tuned,
                                                                      shared_buffers['default'], default,
                                                                      ratio(tuned, default)))


if __name__ == '__main__':
    main()
