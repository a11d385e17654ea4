#!/usr/bin/env python3
"""bulwark.stack sample application: a small HTTP service, Python standard library only.

Endpoints
  GET /              "bulwark-sample-app <version> on <hostname>"
  GET /version       the release version as plain text (header X-Served-By: <hostname>)
  GET /health/live   200 while the process runs
  GET /health/ready  200 when started, not shutting down and /health is healthy; 503 otherwise
  GET /health        200 healthy / 503 unhealthy, JSON body with one entry per check:
                       pgbouncer: TCP connect to the DATABASE_URL host:port and a PostgreSQL SSLRequest answered;
                                  with sslmode require/verify-ca/verify-full in its query, a TLS handshake (verified
                                  against sslrootcert, and the name for verify-full)
                       redis:     ask REDIS_SENTINELS for the master of REDIS_MASTER_NAME, then PING it (AUTH with
                                  REDIS_USERNAME/REDIS_PASSWORD when set); with REDIS_TLS_CA_FILE, both over TLS,
                                  each certificate verified against that CA and for the address connected to
                     A check whose variable is not set reports "not configured" and does not make the app unhealthy.
  GET /slow?ms=N     answers after N milliseconds (at most 60000); used to test graceful stops
  GET /status/N      answers with HTTP status N (200-599); used to rehearse error-rate alerts

Metrics (Prometheus text format) on a second listener, APP_METRICS_PORT (same address, same TLS certificate), path
/metrics, basic auth against APP_METRICS_USERS: a JSON object of user name -> SCRAM-SHA-256 verifier (RFC 7677, what
PostgreSQL stores; the password itself is never on the host). Unset = no metrics listener.
  bulwark_app_http_requests_total{code,path}                  requests answered, by status code and route
  bulwark_app_http_request_duration_seconds_bucket{path,le}   time to answer, as a histogram (p95 in Prometheus)

Configuration (environment): APP_LISTEN_ADDRESS, APP_PORT, APP_TLS_CERT + APP_TLS_KEY (serve HTTPS; the certificate is
re-read when its file changes), DATABASE_URL, REDIS_SENTINELS ("host:port,host:port"),
REDIS_MASTER_NAME, REDIS_USERNAME + REDIS_PASSWORD (Redis ACL user), REDIS_SENTINEL_PASSWORD, REDIS_TLS_CA_FILE,
APP_METRICS_PORT + APP_METRICS_USERS, APP_CHECK_TIMEOUT (seconds, default 2). The version comes from the VERSION file of the release directory this file
lives in; a file NEVER_READY next to it keeps /health/ready at 503 (rehearsing a broken release).

On SIGTERM the server stops accepting connections, finishes the requests in flight, and exits 0.
"""

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RELEASE_DIR = os.path.dirname(os.path.realpath(__file__))
HOSTNAME = socket.gethostname()


def _read(name, default=''):
    try:
        with open(os.path.join(RELEASE_DIR, name), encoding='utf-8') as handle:
            return handle.read().strip()
    except OSError:
        return default


VERSION = _read('VERSION', 'unknown')
NEVER_READY = os.path.exists(os.path.join(RELEASE_DIR, 'NEVER_READY'))
TIMEOUT = float(os.environ.get('APP_CHECK_TIMEOUT', '2'))
STATE = {'ready': False, 'stopping': False}
_CONTEXTS = {}
_CONTEXTS_LOCK = threading.Lock()


def client_context(cafile, verify=True, check_hostname=True):
    """A TLS client context (TLS 1.2 or later), kept while the CA file is unchanged: load balancers run /health every
    few seconds, and loading the CA for each check would cost more than the handshake."""
    try:
        stamp = os.stat(cafile).st_mtime_ns if cafile else None
    except OSError:
        stamp = None
    key = (cafile, verify, check_hostname)
    with _CONTEXTS_LOCK:
        kept = _CONTEXTS.get(key)
        if kept and kept[0] == stamp:
            return kept[1]
        context = ssl.create_default_context(cafile=cafile or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = check_hostname
        if not verify:
            context.verify_mode = ssl.CERT_NONE
        _CONTEXTS[key] = (stamp, context)
        return context


def check_pgbouncer():
    url = os.environ.get('DATABASE_URL', '')
    if not url:
        return None, 'not configured (DATABASE_URL unset)'
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or 'localhost', parsed.port or 5432
    query = dict(urllib.parse.parse_qsl(parsed.query))
    sslmode = query.get('sslmode', 'prefer')  # libpq's names and default
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(struct.pack('!ii', 8, 80877103))  # SSLRequest: any PostgreSQL protocol speaker answers S or N
        answer = sock.recv(1)
        if answer not in (b'S', b'N'):
            return False, '%s:%d did not answer like PgBouncer/PostgreSQL (%r)' % (host, port, answer)
        if sslmode not in ('require', 'verify-ca', 'verify-full'):
            return True, '%s:%d answers' % (host, port)
        if answer != b'S':
            return False, '%s:%d refuses TLS, and sslmode is %s' % (host, port, sslmode)
        # verify-full: the certificate chains to sslrootcert and names the host; verify-ca: the chain only.
        context = client_context(query.get('sslrootcert', ''), sslmode != 'require', sslmode == 'verify-full')
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                return True, '%s:%d answers over %s (%s)' % (
                    host, port, tls.version(), 'certificate verified' if sslmode != 'require' else 'not verified')
        except (ssl.SSLError, ssl.CertificateError) as exc:
            return False, '%s:%d TLS handshake failed: %s' % (host, port, exc)


def _resp_command(sock, *args):
    payload = b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in (x.encode() for x in args))
    sock.sendall(payload)
    return sock.makefile('rb')


def _resp_read(stream):
    line = stream.readline().rstrip(b'\r\n')
    kind, rest = line[:1], line[1:]
    if kind in (b'+', b'-', b':'):
        return (kind + rest).decode()
    if kind == b'$':
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2].decode()
    if kind == b'*':
        size = int(rest)
        return None if size < 0 else [_resp_read(stream) for unused_index in range(size)]
    raise ValueError('unexpected reply %r' % line)


def _redis_connect(host, port):
    """A connection to a sentinel or Redis: over TLS with REDIS_TLS_CA_FILE (certificate and address verified)."""
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    cafile = os.environ.get('REDIS_TLS_CA_FILE', '')
    if not cafile:
        return sock
    try:
        return client_context(cafile).wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def check_redis():
    sentinels = [s.strip() for s in os.environ.get('REDIS_SENTINELS', '').split(',') if s.strip()]
    if not sentinels:
        return None, 'not configured (REDIS_SENTINELS unset)'
    name = os.environ.get('REDIS_MASTER_NAME', 'mymaster')
    errors = []
    for sentinel in sentinels:
        host, _sep, port = sentinel.rpartition(':')
        try:
            with _redis_connect(host, port) as sock:
                sentinel_password = os.environ.get('REDIS_SENTINEL_PASSWORD', '')
                if sentinel_password:
                    auth = _resp_read(_resp_command(sock, 'AUTH', sentinel_password))
                    if auth != '+OK':
                        errors.append('%s: sentinel refused AUTH' % sentinel)
                        continue
                master = _resp_read(_resp_command(sock, 'SENTINEL', 'get-master-addr-by-name', name))
            if not isinstance(master, list) or len(master) != 2:
                errors.append('%s: no master %r (%r)' % (sentinel, name, master))
                continue
            with _redis_connect(master[0], master[1]) as sock:
                over = ' over %s' % sock.version() if isinstance(sock, ssl.SSLSocket) else ''
                stream = None
                password = os.environ.get('REDIS_PASSWORD', '')
                if password:
                    username = os.environ.get('REDIS_USERNAME', '')
                    stream = _resp_command(sock, 'AUTH', *([username, password] if username else [password]))
                    auth = _resp_read(stream)
                    if auth != '+OK':
                        return False, 'master %s:%s refused AUTH' % tuple(master)
                stream = _resp_command(sock, 'PING')
                pong = _resp_read(stream)
            if pong == '+PONG':
                return True, 'master %s:%s via sentinel %s answers PING%s' % (master[0], master[1], sentinel, over)
            return False, 'master %s:%s answered %r' % (master[0], master[1], pong)
        except (OSError, ValueError) as exc:
            errors.append('%s: %s' % (sentinel, exc))
    return False, '; '.join(errors)


def health():
    checks, healthy = {}, True
    for name, check in (('pgbouncer', check_pgbouncer), ('redis', check_redis)):
        try:
            ok, detail = check()
        except (OSError, ValueError) as exc:
            ok, detail = False, '%s: %s' % (type(exc).__name__, exc)
        checks[name] = {'status': {None: 'not configured', True: 'ok', False: 'failing'}[ok], 'detail': detail}
        healthy = healthy and ok is not False
    return healthy, checks


ROUTES = ('/', '/version', '/health/live', '/health/ready', '/health', '/slow', '/status')
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts by status and route, and a latency histogram by route; routes outside ROUTES count as 'other'
    so a scan of random paths cannot grow the series without bound."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}   # (code, path) -> requests
        self._buckets = {}  # path -> [count per bucket]
        self._sums = {}     # path -> [seconds, requests]

    @staticmethod
    def route(path):
        if path.startswith('/status/'):
            return '/status'
        return path if path in ROUTES else 'other'

    def observe(self, path, code, seconds):
        route = self.route(path)
        with self._lock:
            self._counts[(str(code), route)] = self._counts.get((str(code), route), 0) + 1
            buckets = self._buckets.setdefault(route, [0] * len(BUCKETS))
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    buckets[index] += 1
            total = self._sums.setdefault(route, [0.0, 0])
            total[0] += seconds
            total[1] += 1

    def render(self):
        out = ['# HELP bulwark_app_http_requests_total Requests answered, by status code and route.',
               '# TYPE bulwark_app_http_requests_total counter']
        with self._lock:
            for (code, route), count in sorted(self._counts.items()):
                out.append('bulwark_app_http_requests_total{code="%s",path="%s"} %d' % (code, route, count))
            out += ['# HELP bulwark_app_http_request_duration_seconds Time to answer a request, by route.',
                    '# TYPE bulwark_app_http_request_duration_seconds histogram']
            for route in sorted(self._buckets):
                for bound, count in zip(BUCKETS, self._buckets[route]):
                    out.append('bulwark_app_http_request_duration_seconds_bucket{path="%s",le="%s"} %d'
                               % (route, repr(bound), count))
                seconds, requests = self._sums[route]
                out.append('bulwark_app_http_request_duration_seconds_bucket{path="%s",le="+Inf"} %d' % (route, requests))
                out.append('bulwark_app_http_request_duration_seconds_sum{path="%s"} %r' % (route, seconds))
                out.append('bulwark_app_http_request_duration_seconds_count{path="%s"} %d' % (route, requests))
        return '\n'.join(out) + '\n'


METRICS = Metrics()


def scram_matches(verifier, password):
    """Whether password matches a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>,
    base64), by recomputing StoredKey = H(HMAC(PBKDF2(password, salt, iterations), 'Client Key'))."""
    try:
        method, params, keys = verifier.split('$')
        iterations, salt = params.split(':')
        stored = keys.split(':')[0]
        if method != 'SCRAM-SHA-256':
            return False
        salted = hashlib.pbkdf2_hmac('sha256', password.encode(), base64.b64decode(salt), int(iterations))
        client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
        return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored))
    except (ValueError, TypeError):
        return False


class MetricsHandler(BaseHTTPRequestHandler):
    """GET /metrics with basic auth; every other path is 404."""
    server_version = 'bulwark-sample-app'
    sys_version = ''
    users = {}  # user name -> SCRAM-SHA-256 verifier (APP_METRICS_USERS)
    _good = set()  # Authorization headers already verified (a scrape every few seconds need not rerun PBKDF2)

    def _authorized(self):
        header = self.headers.get('Authorization', '')
        if header in self._good:
            return True
        if not header.startswith('Basic '):
            return False
        try:
            user, _sep, password = base64.b64decode(header[6:], validate=True).decode().partition(':')
        except (ValueError, UnicodeDecodeError):
            return False
        if user in self.users and scram_matches(self.users[user], password):
            if len(self._good) < 16:
                self._good.add(header)
            return True
        return False

    def do_GET(self):  # noqa: N802
        if not self._authorized():
            body, status, extra = b'unauthorized\n', 401, [('WWW-Authenticate', 'Basic realm="metrics"')]
        elif urllib.parse.urlsplit(self.path).path != '/metrics':
            body, status, extra = b'not found\n', 404, []
        else:
            body, status, extra = METRICS.render().encode(), 200, []
        self.send_response(status)
        for name, value in extra + [('Content-Type', 'text/plain; version=0.0.4; charset=utf-8'),
                                    ('Content-Length', str(len(body))), ('Connection', 'close')]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


class Handler(BaseHTTPRequestHandler):
    server_version = 'bulwark-sample-app'
    sys_version = ''

    def _send(self, status, body, content_type='text/plain; charset=utf-8'):
        METRICS.observe(urllib.parse.urlsplit(self.path).path, status, time.monotonic() - self.started)
        data = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('X-Served-By', HOSTNAME)
        self.send_header('X-App-Version', VERSION)
        self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def do_HEAD(self):  # noqa: N802 (http.server naming)
        self.do_GET()

    def do_GET(self):  # noqa: N802
        self.started = time.monotonic()  # pylint: disable=attribute-defined-outside-init
        url = urllib.parse.urlsplit(self.path)
        if url.path == '/':
            self._send(200, 'bulwark-sample-app %s on %s\n' % (VERSION, HOSTNAME))
        elif url.path == '/version':
            self._send(200, VERSION + '\n')
        elif url.path == '/health/live':
            self._send(200, 'live\n')
        elif url.path == '/health/ready':
            healthy = health()[0]
            ready = STATE['ready'] and not STATE['stopping'] and not NEVER_READY and healthy
            self._send(200 if ready else 503, ('ready' if ready else 'not ready') + '\n')
        elif url.path == '/health':
            healthy, checks = health()
            body = json.dumps({'status': 'healthy' if healthy else 'unhealthy', 'version': VERSION,
                               'hostname': HOSTNAME, 'checks': checks}, sort_keys=True)
            self._send(200 if healthy else 503, body + '\n', 'application/json')
        elif url.path == '/slow':
            try:
                millis = min(int(urllib.parse.parse_qs(url.query).get('ms', ['1000'])[0]), 60000)
            except ValueError:
                self._send(400, 'ms must be an integer\n')
                return
            time.sleep(max(millis, 0) / 1000.0)
            self._send(200, 'slept %d ms\n' % millis)
        elif url.path.startswith('/status/') and url.path[8:].isdigit() and 200 <= int(url.path[8:]) <= 599:
            self._send(int(url.path[8:]), 'status %s\n' % url.path[8:])
        else:
            self._send(404, 'not found\n')

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if os.environ.get('APP_ACCESS_LOG', '') == '1':
            sys.stderr.write('%s %s\n' % (self.address_string(), format % args))


class Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the request threads: in-flight requests finish
    block_on_close = True
    request_queue_size = 128
    tls = None  # TlsFiles when APP_TLS_CERT and APP_TLS_KEY are set

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake happens in the request's thread (first read), not in the accepting one.
            sock = self.tls.context().wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class TlsFiles:
    """The certificate and key, re-read when the certificate file changes: a renewed certificate serves the next
    connection, with no restart and no dropped request."""

    def __init__(self, cert, key):
        self.cert, self.key = cert, key
        self._stamp, self._context, self._lock = None, None, threading.Lock()

    def context(self):
        stamp = os.stat(self.cert).st_mtime_ns
        with self._lock:
            if stamp != self._stamp:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                try:
                    context.load_cert_chain(self.cert, self.key)
                except (OSError, ssl.SSLError) as exc:
                    if self._context is None:
                        raise
                    # Half-written (a new key before its certificate): keep serving the last good pair, retry later.
                    sys.stderr.write('TLS files not usable yet (%s); still serving the previous certificate\n' % exc)
                    return self._context
                self._stamp, self._context = stamp, context
            return self._context


def main():
    address = os.environ.get('APP_LISTEN_ADDRESS', '127.0.0.1')
    port = int(os.environ.get('APP_PORT', '8000'))
    Server.address_family = socket.AF_INET6 if ':' in address else socket.AF_INET
    server = Server((address, port), Handler)
    if os.environ.get('APP_TLS_CERT') and os.environ.get('APP_TLS_KEY'):
        server.tls = TlsFiles(os.environ['APP_TLS_CERT'], os.environ['APP_TLS_KEY'])
        server.tls.context()  # fail at start, not at the first request, when the files are unusable

    def stop(signum, _frame):
        STATE['stopping'] = True
        sys.stderr.write('signal %d: finishing in-flight requests, then exiting\n' % signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    metrics = None
    if os.environ.get('APP_METRICS_PORT'):
        MetricsHandler.users = json.loads(os.environ.get('APP_METRICS_USERS') or '{}')
        metrics = Server((address, int(os.environ['APP_METRICS_PORT'])), MetricsHandler)
        metrics.tls = server.tls
        threading.Thread(target=metrics.serve_forever, kwargs={'poll_interval': 0.5}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    STATE['ready'] = True
    sys.stderr.write('bulwark-sample-app %s listening on %s:%d (%s)\n'
                     % (VERSION, address, port, 'TLS' if server.tls else 'plain HTTP'))
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    if metrics is not None:
        metrics.shutdown()
        metrics.server_close()
    sys.stderr.write('stopped cleanly\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
