#!/usr/bin/env python3
"""Requests/s through the hardened TLS load balancer vs a stock TLS configuration, side by side in one run.

    python3 benchmarks/lb_tls.py [--seconds 8] [--rounds 2] [--connections 32] [--keep]

Creates two containers on a private docker network (bulwark-bench): `bench-lb` (Debian 12 with nginx and HAProxy)
and `bench-client` (wrk). All traffic stays between them. In the LB container one nginx serves both a stock and a
hardened server block, and one HAProxy both a stock and a hardened frontend, all proxying to the same tiny local
backend (nginx `return 200`), so only the TLS front differs:

- stock nginx: Debian's nginx.conf defaults (ssl_protocols TLSv1..TLSv1.3, OpenSSL default ciphers) + proxy_pass;
- hardened nginx: what bulwark.stack.nginx renders: the Mozilla intermediate profile from plugins/module_utils/
  tls_profile.py for the installed versions, HTTP/2 listener, HSTS + security headers, gzip, limit_conn and limit_req
  (rate raised far above the load so the limiter's bookkeeping is measured, not its rejections), keepalive upstream;
- stock HAProxy: Debian's haproxy.cfg global section + `bind ssl crt`;
- hardened HAProxy: the profile (ciphers, suites, curves, options), ALPN, http-response headers, stick-table
  tracking (limit far above the load), httpchk health checks.

Two load shapes: keep-alive (wrk default) and a new TLS handshake per request (`Connection: close`). Each round
runs stock then hardened back to back; the figures are the mean over rounds and the ratio hardened / stock.
The containers are removed at the end unless --keep.
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'plugins', 'module_utils'))
from tls_profile import tls_profile  # noqa: E402  pylint: disable=wrong-import-position

NET, LB, CLIENT = 'bulwark-bench', 'bench-lb', 'bench-client'
IMAGE = 'bulwark/debian-systemd:bookworm'
HEADERS = {
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'strict-origin-when-cross-origin',
    'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
}


def sh(*args, check=True):
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit('command failed: %s\n%s%s' % (' '.join(args), result.stdout, result.stderr))
    return result


def dexec(container, script, check=True):
    return sh('docker', 'exec', container, 'bash', '-ec', script, check=check)


def put(container, path, content):
    subprocess.run(['docker', 'exec', '-i', container, 'bash', '-c', 'cat > %s' % path], input=content, text=True, check=True)


def cleanup():
    sh('docker', 'rm', '-f', LB, CLIENT, check=False)
    sh('docker', 'network', 'rm', NET, check=False)


def setup(reuse=False):
    if reuse and sh('docker', 'exec', CLIENT, 'which', 'wrk', check=False).returncode == 0:
        return versions_of()
    cleanup()
    sh('docker', 'network', 'create', NET)
    for name in (LB, CLIENT):
        sh('docker', 'run', '-d', '--name', name, '--hostname', name, '--network', NET, IMAGE, 'sleep', 'infinity')
    apt = 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq --no-install-recommends %s >/dev/null'
    dexec(LB, apt % 'nginx haproxy openssl ca-certificates')
    dexec(CLIENT, apt % 'wrk ca-certificates')
    dexec(LB, 'mkdir -p /etc/bench && cd /etc/bench && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 '
              '-nodes -keyout site.key -out site.crt -days 30 -subj /CN=%s -addext subjectAltName=DNS:%s 2>/dev/null '
              '&& cp site.key site.crt.key && chmod 600 site.key site.crt.key' % (LB, LB))
    return versions_of()


def versions_of():
    query = "dpkg-query -W -f '${Version}' %s"
    return {name: dexec(LB, query % package).stdout.strip()
            for name, package in (('nginx', 'nginx'), ('haproxy', 'haproxy'), ('openssl', 'libssl3'))}


def nginx_config(versions):
    tls = tls_profile('intermediate', 'nginx', server_version=versions['nginx'], openssl_version=versions['openssl'])
    hardened = ['listen 9443 ssl%s;' % (' http2' if tls['http2'] == 'listen' else '')]
    if tls['http2'] == 'directive':
        hardened.append('http2 on;')
    hardened += ['ssl_protocols %s;' % tls['ssl_protocols'], 'ssl_ciphers %s;' % tls['ssl_ciphers'],
                 'ssl_ecdh_curve %s;' % tls['ssl_ecdh_curve'], 'ssl_prefer_server_ciphers %s;' % tls['ssl_prefer_server_ciphers']]
    for key in ('ssl_session_timeout', 'ssl_session_cache', 'ssl_session_tickets'):
        if tls[key] is not None:
            hardened.append('%s %s;' % (key, tls[key]))
    hardened.append('add_header Strict-Transport-Security "%s" always;' % tls['hsts_header'])
    hardened += ['add_header %s "%s" always;' % item for item in HEADERS.items()]
    hardened += ['client_max_body_size 10m;', 'limit_conn bench_conn 1000;', 'limit_req zone=bench_req burst=1000 nodelay;',
                 'proxy_http_version 1.1;', 'proxy_set_header Connection "";', 'proxy_set_header Host $host;',
                 'proxy_set_header X-Real-IP $remote_addr;', 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
                 'proxy_set_header X-Forwarded-Proto $scheme;', 'proxy_next_upstream error timeout http_502 http_503 http_504;',
                 'location / { proxy_pass http://hardened_backend; }']
    return '''
limit_req_zone $binary_remote_addr zone=bench_req:10m rate=100000r/s;
limit_conn_zone $binary_remote_addr zone=bench_conn:10m;
upstream hardened_backend { least_conn; server 127.0.0.1:8080 max_fails=3 fail_timeout=30s; keepalive 32; }
server { listen 127.0.0.1:8080; access_log off; location / { return 200 "ok\\n"; } }
server {
    listen 8443 ssl;
    ssl_certificate /etc/bench/site.crt;
    ssl_certificate_key /etc/bench/site.key;
    location / { proxy_pass http://127.0.0.1:8080; }
}
server {
    ssl_certificate /etc/bench/site.crt;
    ssl_certificate_key /etc/bench/site.key;
    gzip_types text/plain text/css application/json application/javascript;
    %s
}
''' % '\n    '.join(hardened)


def haproxy_config(versions, stock_global):
    tls = tls_profile('intermediate', 'haproxy', server_version=versions['haproxy'], openssl_version=versions['openssl'])
    headers = '\n'.join('    http-response set-header %s "%s"' % item for item in
                        [('Strict-Transport-Security', tls['hsts_header'])] + list(HEADERS.items()))
    # Stock frontend: Debian's global section as shipped; hardened frontend: the profile on the bind line (the
    # global ssl-default-* would apply to both, so the hardened values go on its bind line instead).
    hardened_bind = 'ssl crt /etc/bench/site.crt alpn %s curves %s ciphers %s ciphersuites %s ssl-min-ver %s prefer-client-ciphers no-tls-tickets' % (
        tls['alpn'], tls['ssl-default-bind-curves'], tls['ssl-default-bind-ciphers'],
        tls['ssl-default-bind-ciphersuites'], tls['protocols'][0])
    return '''%s
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 60s

frontend stock
    bind :8444 ssl crt /etc/bench/site.crt
    default_backend stock

backend stock
    server local 127.0.0.1:8080

backend rate_limit
    stick-table type ipv6 size 100k expire 10s store http_req_rate(10s)

frontend hardened
    bind :9444 %s
    http-request track-sc0 src table rate_limit
    http-request deny deny_status 429 if { sc_http_req_rate(0,rate_limit) gt 100000000 }
    http-request set-header X-Forwarded-Proto https
    option forwardfor
%s
    http-response del-header Server
    default_backend hardened

backend hardened
    balance leastconn
    option httpchk GET /
    http-check expect status 200
    default-server inter 5s fall 3 rise 2
    server local 127.0.0.1:8080 check
''' % (stock_global, hardened_bind, headers)


def wrk(port, seconds, connections, close):
    args = ['docker', 'exec', CLIENT, 'wrk', '-t', '2', '-c', str(connections), '-d', '%ds' % seconds]
    if close:
        args += ['-H', 'Connection: close']
    args.append('https://%s:%d/' % (LB, port))
    out = sh(*args).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    if errors:
        raise SystemExit('port %d answered non-2xx responses (%s); the benchmark is invalid:\n%s' % (port, errors.group(1), out))
    return rps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=int, default=8)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--connections', type=int, default=32)
    parser.add_argument('--keep', action='store_true', help='leave the containers for a later --reuse')
    parser.add_argument('--reuse', action='store_true', help='reuse the containers a --keep run left')
    opts = parser.parse_args()
    started = time.time()
    try:
        versions = setup(opts.reuse)
        put(LB, '/etc/nginx/conf.d/bench.conf', nginx_config(versions))
        dexec(LB, 'rm -f /etc/nginx/sites-enabled/default; nginx -t; (nginx -s stop 2>/dev/null || true); sleep 1; nginx')
        stock_global = dexec(LB, "sed -n '1,/^defaults/p' /etc/haproxy/haproxy.cfg | sed '$d'").stdout
        put(LB, '/etc/bench/haproxy.cfg', haproxy_config(versions, stock_global))
        dexec(LB, 'mkdir -p /run/haproxy && haproxy -c -q -f /etc/bench/haproxy.cfg && (pkill -x haproxy || true) && sleep 1 && haproxy -D -f /etc/bench/haproxy.cfg')
        time.sleep(2)
        print('bench: nginx %(nginx)s, HAProxy %(haproxy)s, OpenSSL %(openssl)s (Debian 12), ECDSA P-256 certificate' % versions)
        print('bench: wrk -t2 -c%d -d%ds per run, %d rounds, client and LB containers on the same host'
              % (opts.connections, opts.seconds, opts.rounds))
        pairs = [('nginx', 8443, 9443), ('haproxy', 8444, 9444)]
        results = {}
        for rnd in range(opts.rounds):
            for close in (False, True):
                for server, stock, hardened in pairs:
                    for kind, port in (('stock', stock), ('hardened', hardened)):
                        rps = wrk(port, opts.seconds, opts.connections, close)
                        results.setdefault((server, close, kind), []).append(rps)
                        print('  round %d %-8s %-10s %-9s %9.0f req/s' % (rnd + 1, server, 'new-conn' if close else 'keepalive', kind, rps))
        print()
        print('%-8s %-10s %12s %12s %7s' % ('server', 'load', 'stock req/s', 'hardened', 'ratio'))
        for server, _stock, _hardened in pairs:
            for close in (False, True):
                stock = sum(results[(server, close, 'stock')]) / opts.rounds
                hard = sum(results[(server, close, 'hardened')]) / opts.rounds
                print('%-8s %-10s %12.0f %12.0f %7.2f' % (server, 'new-conn' if close else 'keepalive', stock, hard, hard / stock))
        print('bench: %.0f s' % (time.time() - started))
    finally:
        if not opts.keep:
            cleanup()


if __name__ == '__main__':
    main()
