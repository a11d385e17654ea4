#!/usr/bin/env python3
"""A steady stream of HTTPS requests through load balancers, counted: the client side of a zero-downtime deploy.

Runs inside a lab client host (standard library only) and is copied there by whoever drives it: the Molecule
scenario `stack` (molecule/stack/tests) and benchmarks/rolling_deploy.py.

    python3 loadgen.py --target lb1=10.0.0.2:443 --target lb2=10.0.0.3:443 --cafile /tmp/ca.pem \
        --path /version --workers 4 --out /tmp/loadgen.json [--seconds 60]

Each target gets --workers threads, each with its own keep-alive connection; certificates are verified against
--cafile and the target's name (the name before '='), so an address is dialled but the name is checked, like curl
--resolve. The run ends after --seconds, or on SIGTERM/SIGINT (e.g. `systemctl stop` of a systemd-run unit), and
writes a JSON summary to --out (and stdout):

    {"sent": N, "ok": N, "failed": N, "failures": {"<reason>": N}, "retried": N, "seconds": S,
     "per_target": {name: {"sent", "ok", "failed", "max_seconds"}}, "served_by": {host: N}, "versions": {body: N},
     "failure_log": [{"at": "<UTC start>", "target", "reason", "seconds", "new_connection"}, ...]}

"failure_log" keeps the first 20 failures, with when each request started and how long it took, so a failure can be
matched with the logs of the LB and app hosts; "max_seconds" is the slowest request of each target (failed or not).

A request fails on any non-2xx status, a timeout or a connection error. As any HTTP client does for an idempotent
request, a GET that finds its reused keep-alive connection closed before a single byte of response arrived is sent
once more on a new connection; that is counted in "retried", not in "failed". Nothing else is retried.
"""

import argparse
import collections
import http.client
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

STOP = threading.Event()


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.data = collections.Counter()
        self.failures = collections.Counter()
        self.served_by = collections.Counter()
        self.versions = collections.Counter()
        self.per_target = collections.defaultdict(collections.Counter)
        self.failure_log = []
        self.slowest = {}

    def record(self, target, ok, reason=None, served_by=None, version=None, retried=False, timing=None):
        with self.lock:
            self.data['sent'] += 1
            self.data['ok' if ok else 'failed'] += 1
            self.per_target[target]['sent'] += 1
            self.per_target[target]['ok' if ok else 'failed'] += 1
            if retried:
                self.data['retried'] += 1
            if timing:
                self.slowest[target] = max(self.slowest.get(target, 0.0), timing[1])
            if not ok:
                self.failures[reason] += 1
                if timing and len(self.failure_log) < 20:
                    started, elapsed, new = timing
                    self.failure_log.append({
                        'at': time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(started)) + '.%03dZ' % (started % 1 * 1000),
                        'target': target, 'reason': reason, 'seconds': round(elapsed, 3), 'new_connection': new})
            if served_by:
                self.served_by[served_by] += 1
            if version:
                self.versions[version] += 1


class Connection(http.client.HTTPSConnection):
    """HTTPS to an address, verifying the certificate against a name (like curl --resolve)."""

    def __init__(self, name, address, port, context, timeout):
        super().__init__(address, port, timeout=timeout, context=context)
        self.tls_name = name
        self.tls_context = context

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self.tls_context.wrap_socket(sock, server_hostname=self.tls_name)


def worker(target, address, port, context, args, counter):
    conn = None
    interval = (1.0 / args.rate) if args.rate else 0.0
    while not STOP.is_set():
        started = time.monotonic()
        reused = conn is not None
        retried = False
        for attempt in (1, 2):
            new = conn is None
            if new:
                conn = Connection(target, address, port, context, args.timeout)
            wall, begun = time.time(), time.monotonic()
            try:
                conn.request('GET', args.path, headers={'User-Agent': 'bulwark-loadgen'})
                response = conn.getresponse()
                body = response.read()
                ok = 200 <= response.status < 300
                counter.record(target, ok, reason=None if ok else 'HTTP %d' % response.status,
                               served_by=response.getheader('X-Served-By'),
                               version=body.decode(errors='replace').strip()[:40] if ok else None, retried=retried,
                               timing=(wall, time.monotonic() - begun, new))
                if response.will_close:
                    conn.close()
                    conn = None
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                conn = None
                if attempt == 1 and reused:  # stale keep-alive connection, nothing received: send once more
                    retried = True
                    continue
                counter.record(target, False, reason=type(exc).__name__, retried=retried,
                               timing=(wall, time.monotonic() - begun, new))
            except (OSError, http.client.HTTPException) as exc:
                if conn is not None:
                    conn.close()
                conn = None
                counter.record(target, False, reason=type(exc).__name__, retried=retried,
                               timing=(wall, time.monotonic() - begun, new))
                break
            break
        if interval:
            STOP.wait(max(0.0, interval - (time.monotonic() - started)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--target', action='append', required=True, help='name=address:port (repeatable)')
    parser.add_argument('--cafile', action='append', default=[], help='CA certificate(s) to trust (repeatable)')
    parser.add_argument('--path', default='/version')
    parser.add_argument('--workers', type=int, default=4, help='threads (connections) per target')
    parser.add_argument('--rate', type=float, default=0, help='requests per second per worker; 0 = as fast as possible')
    parser.add_argument('--timeout', type=float, default=10.0)
    parser.add_argument('--seconds', type=float, default=0, help='stop after this long; 0 = until SIGTERM')
    parser.add_argument('--out', help='write the JSON summary here too')
    args = parser.parse_args()

    context = ssl.create_default_context()
    for cafile in args.cafile:
        context.load_verify_locations(cafile)
    counter = Counter()
    threads = []
    for spec in args.target:
        name, _, hostport = spec.partition('=')
        address, _, port = hostport.rpartition(':')
        for _ in range(args.workers):
            thread = threading.Thread(target=worker, args=(name, address.strip('[]'), int(port), context, args, counter))
            thread.start()
            threads.append(thread)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: STOP.set())
    started = time.monotonic()
    STOP.wait(args.seconds or None)
    STOP.set()
    for thread in threads:
        thread.join()
    summary = dict(counter.data, seconds=round(time.monotonic() - started, 1), failures=dict(counter.failures),
                   per_target={k: dict(v, max_seconds=round(counter.slowest.get(k, 0.0), 3)) for k, v in counter.per_target.items()},
                   served_by=dict(counter.served_by), versions=dict(counter.versions),
                   failure_log=counter.failure_log)
    for key in ('sent', 'ok', 'failed', 'retried'):
        summary.setdefault(key, 0)
    text = json.dumps(summary, sort_keys=True)
    if args.out:
        with open(args.out + '.tmp', 'w', encoding='utf-8') as handle:
            handle.write(text + '\n')
        os.replace(args.out + '.tmp', args.out)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
