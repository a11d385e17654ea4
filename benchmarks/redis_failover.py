#!/usr/bin/env python3
"""Redis Sentinel failover, measured: write continuously as the application user, stop the primary's redis-server,
and report how long writes were refused and how many acknowledged writes are missing afterwards.

Runs against three converged containers (bulwark.stack.redis + bulwark.stack.redis_sentinel), by default those of
the Molecule scenario `redis`:

    molecule converge -s redis
    python benchmarks/redis_failover.py [--hosts redis-a,redis-b,redis-c] [--seconds 30]

The writer runs inside one of the containers (the controller talks to the containers only through `docker exec`), so
all traffic stays on the scenario's network. It speaks RESP over TLS sockets (no client library; certificates
verified against the internal CA, --ca-file; --ca-file "" for a plaintext group), finds the primary
through the sentinels, writes `SET bench:<n> <n>` in a loop, and on any error asks the sentinels again, exactly as a
Sentinel-aware client does. Figures, not a test: it prints them and leaves the old primary running as a replica.
"""

import argparse
import json
import subprocess
import sys
import time

WRITER = r'''
import json, socket, ssl, sys, time
sentinels, name, user, password, spw, seconds, ca = json.loads(sys.argv[1])
context = ssl.create_default_context(cafile=ca) if ca else None

def enc(*a):
    out = b"*%d\r\n" % len(a)
    for x in a:
        x = str(x).encode()
        out += b"$%d\r\n%s\r\n" % (len(x), x)
    return out

class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), 0.5)
        if context:
            self.s = context.wrap_socket(self.s, server_hostname=host)
        self.s.settimeout(0.5)
        self.f = self.s.makefile("rb")
    def call(self, *a):
        self.s.sendall(enc(*a))
        return self.read()
    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("closed")
        t, rest = line[:1], line[1:-2].decode()
        if t == b"+": return rest
        if t == b"-": raise RuntimeError(rest)
        if t == b":": return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0: return None
            data = self.f.read(n + 2)
            return data[:-2].decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)
    def close(self):
        self.s.close()

def primary():
    for host in sentinels:
        try:
            c = Conn(host, 26379)
            c.call("AUTH", spw)
            addr = c.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
            c.close()
            if addr:
                return addr[0], int(addr[1])
        except Exception:
            pass
    return None

def connect():
    addr = primary()
    if not addr:
        return None, None
    c = Conn(*addr)
    c.call("AUTH", user, password)
    return c, addr[0]

acks, errors, n, conn, server = [], {}, 0, None, None
start = time.time()
while time.time() - start < seconds:
    try:
        if conn is None:
            conn, server = connect()
            if conn is None:
                time.sleep(0.05)
                continue
        n += 1
        if conn.call("SET", "bench:%d" % n, n) == "OK":
            acks.append((n, time.time(), server))
    except Exception as exc:
        key = str(exc).split(" ")[0][:40] or type(exc).__name__
        errors[key] = errors.get(key, 0) + 1
        try:
            conn.close()
        except Exception:
            pass
        conn = None
        time.sleep(0.02)
    time.sleep(0.002)

# Afterwards: which acknowledged writes does the (new) primary have?
time.sleep(1)
conn, server = connect()
missing = []
ids = [a[0] for a in acks]
for i in range(0, len(ids), 500):
    chunk = ids[i:i + 500]
    values = conn.call("MGET", *["bench:%d" % k for k in chunk])
    missing += [k for k, v in zip(chunk, values) if v != str(k)]
print(json.dumps({"acks": [[a[1], a[2]] for a in acks], "attempts": n, "errors": errors, "missing": len(missing),
                  "final_primary": server}))
'''


def docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=check)


def internal_ip(container):
    dev = docker('exec', container, 'sh', '-c', "ip -4 -o route show default | awk '{print $5}'").stdout.strip()
    return docker('exec', container, 'sh', '-c',
                  "ip -4 -o addr show dev %s | awk '{print $4}' | cut -d/ -f1 | head -n1" % dev).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--hosts', default='redis-a,redis-b,redis-c', help='the three containers')
    parser.add_argument('--name', default='bulwark', help='monitored name')
    parser.add_argument('--app-user', default='app')
    parser.add_argument('--app-password', default='molecule-app-secret-3d4e5f')
    parser.add_argument('--sentinel-password', default='molecule-sentinel-secret-2a3b4c')
    parser.add_argument('--ca-file', default='/etc/ssl/bulwark/ca.crt', help='internal CA in the containers ("" = plaintext)')
    parser.add_argument('--seconds', type=float, default=30.0, help='length of the write run')
    parser.add_argument('--stop-after', type=float, default=5.0, help='seconds of writes before the primary stops')
    opts = parser.parse_args()

    hosts = opts.hosts.split(',')
    ips = {h: internal_ip(h) for h in hosts}
    by_ip = {ip: h for h, ip in ips.items()}
    tls = ['--tls', '--cacert', opts.ca_file] if opts.ca_file else []
    ask = docker('exec', '-e', 'REDISCLI_AUTH=' + opts.sentinel_password, hosts[0], 'redis-cli', '--no-auth-warning', *tls,
                 '-h', ips[hosts[0]], '-p', '26379', 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', opts.name).stdout.split()
    old = by_ip[ask[0]]
    writer_host = [h for h in hosts if h != old][0]
    down_after = docker('exec', '-e', 'REDISCLI_AUTH=' + opts.sentinel_password, hosts[0], 'redis-cli',
                        '--no-auth-warning', *tls, '-h', ips[hosts[0]], '-p', '26379', 'SENTINEL', 'MASTER',
                        opts.name).stdout.split()
    settings = dict(zip(down_after[0::2], down_after[1::2]))
    print('primary before: %s (%s); writer on %s; down-after-milliseconds %s, min-replicas-to-write from redis.conf'
          % (old, ips[old], writer_host, settings.get('down-after-milliseconds')))

    arg = json.dumps([list(ips.values()), opts.name, opts.app_user, opts.app_password, opts.sentinel_password,
                      opts.seconds, opts.ca_file])
    writer = subprocess.Popen(['docker', 'exec', writer_host, 'python3', '-c', WRITER, arg],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(opts.stop_after)
    t_stop = time.time()
    docker('exec', old, 'systemctl', 'stop', 'redis-server')
    t_stopped = time.time()
    out, err = writer.communicate()
    docker('exec', old, 'systemctl', 'start', 'redis-server')
    if writer.returncode != 0:
        sys.exit('writer failed: %s' % err)
    result = json.loads(out)
    acks = result['acks']
    before = [a for a in acks if a[0] < t_stop]
    after_new = [a for a in acks if a[0] >= t_stop and a[1] != ips[old]]
    if not after_new:
        sys.exit('no write was accepted by a new primary within %.0f s' % opts.seconds)
    recovered = after_new[0][0] - t_stop
    gap = after_new[0][0] - (before[-1][0] if before else t_stop)
    print('stop command took            : %.2f s' % (t_stopped - t_stop))
    print('new primary                  : %s (%s)' % (by_ip.get(after_new[0][1], '?'), after_new[0][1]))
    print('writes attempted / acked     : %d / %d' % (result['attempts'], len(acks)))
    print('acked before stop / after    : %d / %d' % (len(before), len(acks) - len(before)))
    print('write errors by kind         : %s' % json.dumps(result['errors'], sort_keys=True))
    print('seconds until writes accepted: %.2f (from the stop command; last ack -> first ack on new primary %.2f)'
          % (recovered, gap))
    print('acknowledged writes missing  : %d' % result['missing'])
    print('goal                         : <= 8 s and 0 missing -> %s'
          % ('met' if recovered <= 8 and result['missing'] == 0 else 'NOT met'))


if __name__ == '__main__':
    main()
