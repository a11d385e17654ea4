"""Helpers and constants shared by the testinfra tests of the Molecule scenarios under molecule/.

molecule/conftest.py puts this directory on sys.path, so a scenario's tests do `from testlib import ...` (a test module
cannot import conftest). Everything reads the scenario from Molecule's environment when called, not at import.
"""

import datetime
import json
import os
import re
import shlex
import subprocess
import time

import pytest
import testinfra
import testinfra.utils.ansible_runner


def scenario_hosts(pattern='all'):
    """Sorted names of the scenario inventory's hosts matching ``pattern``."""
    runner = testinfra.utils.ansible_runner.AnsibleRunner.get_runner(os.environ['MOLECULE_INVENTORY_FILE'])
    return sorted(runner.get_hosts(pattern))


def get_host(name):
    """The testinfra host ``name`` of the scenario inventory."""
    return testinfra.get_host('ansible://' + name, ansible_inventory=os.environ['MOLECULE_INVENTORY_FILE'])


def internal_ip(host):
    """The address of the interface carrying the default route (what the roles and the topology compute by default)."""
    dev = host.check_output("ip -4 -o route show default | awk '{print $5}'")
    return host.check_output("ip -4 -o addr show dev %s | awk '{print $4}' | cut -d/ -f1 | head -n1" % dev)


def peer_fixtures(hosts):
    """Fixtures ``target`` (the host under test) and ``client`` (the other host) for a scenario of two ``hosts``.

    Use as ``target, client = peer_fixtures(HOSTS)`` in the test module: pytest finds them under those names.
    """
    @pytest.fixture(name='target')
    def target(host):
        return host

    @pytest.fixture(name='client')
    def client(host):
        other = [h for h in hosts if h != host.backend.host]
        assert other, 'this scenario needs two hosts'
        return get_host(other[0])

    return target, client


# --- running playbooks ---------------------------------------------------------------------------------------------

def ansible_playbook(playbook, *args, json_output=False):
    """Run ansible-playbook against the scenario's own inventory, with Molecule's ansible.cfg; return the result.

    With json_output the ansible.posix.json callback is used and ``result.report`` holds the parsed report.
    """
    inventory = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    if json_output:
        env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    config = os.path.join(os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', ''), 'ansible.cfg')
    if os.path.isfile(config):
        env['ANSIBLE_CONFIG'] = config
    result = subprocess.run(['ansible-playbook', '-i', inventory] + list(args) + [playbook],
                            capture_output=True, text=True, env=env, check=False)
    result.report = None
    if json_output and '{' in result.stdout:
        result.report = json.JSONDecoder().raw_decode(result.stdout, result.stdout.index('{'))[0]
    return result


def changed_tasks(report):
    """{host: [names of the tasks that reported a change]} from an ansible.posix.json report."""
    changed = {}
    for play in report['plays']:
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                if res.get('changed'):
                    changed.setdefault(host, []).append(task['task']['name'])
    return changed


def run_audit(playbook, *extra):
    """Run an audit playbook with the JSON callback; return (returncode, {host: sorted finding IDs}, host stats)."""
    result = ansible_playbook(playbook, *extra, json_output=True)
    assert result.report, result.stdout[-3000:] + result.stderr[-3000:]
    ids = {}
    for play in result.report['plays']:
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                if 'findings' in res:
                    ids[host] = sorted(set(f['id'] for f in res['findings']))
    return result.returncode, ids, result.report['stats']


# --- traffic between the scenario's containers ---------------------------------------------------------------------

# Runs on a source host: connect to every "address:port" given, all at once, and print
# {"address:port": "open" | "refused" | "timeout" | "<error>"}. "refused" means the firewall let the SYN through and
# nothing listens; "timeout" means ufw dropped it.
PROBE = r'''
import concurrent.futures, json, socket, sys
timeout, targets = float(sys.argv[1]), sys.argv[2:]
def probe(target):
    address, port = target.rsplit(":", 1)
    try:
        socket.create_connection((address, int(port)), timeout=timeout).close()
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    except OSError as exc:
        return type(exc).__name__
with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
    print(json.dumps(dict(zip(targets, pool.map(probe, targets)))))
'''


def probe(source, targets, timeout=3):
    """{'address:port': result} for every 'address:port' in targets, probed from testinfra host `source` in one go."""
    out = source.check_output('python3 -c %s %s %s' % (shlex.quote(PROBE), timeout, ' '.join(targets)))
    return json.loads(out)


# Runs on the client host: GET a URL (optionally trusting only `cafile`, with basic auth `user:password`), print
# {"status", "body", "headers"} or {"error"}; the body is cut to `limit` characters unless that is 0.
HTTP_GET = r'''
import base64, json, ssl, sys, urllib.error, urllib.request
url, cafile, auth, timeout, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]) or None
req = urllib.request.Request(url)
if auth:
    req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
ctx = ssl.create_default_context(cafile=cafile) if cafile else None
try:
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
        print(json.dumps({"status": resp.status, "body": resp.read().decode()[:limit], "headers": dict(resp.headers)}))
except urllib.error.HTTPError as exc:
    print(json.dumps({"status": exc.code, "body": exc.read().decode()[:limit], "headers": dict(exc.headers)}))
except Exception as exc:
    print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))
'''


def http_get(client, url, cafile='', auth='', timeout=10, limit=0):
    """GET ``url`` from the testinfra host ``client``; return {"status", "body", "headers"} or {"error"}."""
    out = client.check_output('python3 -c %s %s %s %s %s %d' % (
        shlex.quote(HTTP_GET), shlex.quote(url), shlex.quote(cafile), shlex.quote(auth), timeout, limit))
    return json.loads(out)


# --- a load balancer with its public certificate over ACME, seen from a client container (lb scenario) --------------

LAB_CA = '/tmp/bulwark-lb-ca.pem'  # on the client: the root of the ACME CA (pebble), the only one curl and openssl trust
PEBBLE = 'lb-app2'  # the ACME CA of the lb scenario (prepare.yml); its own HTTPS certificate is in PEBBLE_CERT
PEBBLE_CERT = '/etc/ssl/pebble-directory.pem'
# Mozilla intermediate, ECDSA certificate: the TLS 1.2 suites it allows, and some it must not.
TLS12_ALLOWED = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']
TLS12_REFUSED = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256',
                 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-CCM', 'ECDHE-ECDSA-ARIA128-GCM-SHA256']
TLS13_ALLOWED = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']

# Runs on the client: every openssl s_client handshake of the cases given, prints {case: [returncode, output tail]}.
TLS_SCRIPT = r'''
import json, subprocess, sys
host, ca, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
out = {}
for name, args in cases.items():
    proc = subprocess.run(["timeout", "10", "openssl", "s_client", "-connect", host + ":443", "-servername", host,
                           "-CAfile", ca, "-verify_return_error"] + args, input="", capture_output=True, text=True, errors="replace", check=False)
    out[name] = [proc.returncode, proc.stdout[-2500:] + proc.stderr[-1000:]]
print(json.dumps(out))
'''
TLS_CASES = {'old:' + v: [v, '-cipher', 'DEFAULT:@SECLEVEL=0'] for v in ('-tls1', '-tls1_1')}
TLS_CASES.update({'tls12:' + c: ['-tls1_2', '-cipher', c] for c in TLS12_ALLOWED})
TLS_CASES.update({'tls12-refused:' + c: ['-tls1_2', '-cipher', c + ':@SECLEVEL=0'] for c in TLS12_REFUSED})
TLS_CASES.update({'tls13:' + s: ['-tls1_3', '-ciphersuites', s] for s in TLS13_ALLOWED})
TLS_CASES.update({'group:X25519': ['-tls1_3', '-groups', 'X25519'],
                  'group:ffdhe2048': ['-tls1_3', '-groups', 'ffdhe2048'],
                  'alpn': ['-alpn', 'h2,http/1.1']})


def lb_fixtures(lb_name, client_name):
    """Module fixtures ``lb``, ``client`` (with the LB's lab CA at LAB_CA) and ``handshakes`` (every TLS_CASES one).

    Use as ``lb, client, handshakes = lb_fixtures(LB, CLIENT)`` in the test module: pytest finds them under those names.
    """
    @pytest.fixture(scope='module', name='lb')
    def lb():
        return get_host(lb_name)

    @pytest.fixture(scope='module', name='client')
    def client():
        cli = get_host(client_name)
        trust_lb_ca(cli)
        return cli

    @pytest.fixture(scope='module', name='handshakes')
    def handshakes(client):
        return run_handshakes(client, lb_name)

    return lb, client, handshakes


def trust_lb_ca(client):
    """Make the root of the ACME CA that issued the LBs' certificates the one (LAB_CA) that curl and openssl on the
    client trust. Pebble makes a new root each time it starts: it is fetched from its management port, verified."""
    client.check_output('curl -sS --fail --cacert %s https://%s:15000/roots/0 -o %s' % (PEBBLE_CERT, PEBBLE, LAB_CA))


def run_handshakes(client, lb_name):
    """Every handshake of TLS_CASES against lb_name, run in one go on the client (one remote command, not dozens),
    trusting only that LB's lab CA; {case: [returncode, output tail]}."""
    trust_lb_ca(client)
    out = client.check_output('python3 -c %s %s %s %s' % (
        shlex.quote(TLS_SCRIPT), lb_name, LAB_CA, shlex.quote(json.dumps(TLS_CASES))))
    return json.loads(out)


def handshake(handshakes, name):
    return tuple(handshakes[name])


def curl(client, *args):
    return client.run('curl -sS --cacert %s --max-time 10 %s' % (LAB_CA, ' '.join(args)))


def bodies(client, base, count, path='/'):
    """[body, status code] of ``count`` requests to ``base + path``, one after the other."""
    out = curl(client, '-w "|%{http_code}\\n"', *([base + path] * count)).stdout
    return [list(pair) for pair in re.findall(r'([^\n|]*)\n?\|(\d{3})', out)]


def codes(client, base, count, parallel=10):
    """Status codes of ``count`` requests to ``base + '/'``, ``parallel`` at a time (fast even on a loaded machine)."""
    out = curl(client, '--parallel', '--parallel-max', str(parallel), '-w', '"%{http_code}\\n"',
               *(['-o', '/dev/null', base + '/'] * count)).stdout
    return out.split()


# --- internal certificates (bulwark.stack.internal_ca) ---------------------------------------------------------------

def served_certificate(on, address, port, starttls=None):
    """Serial and end date (`openssl x509 -serial -enddate`) of the certificate a TLS server presents to testinfra
    host ``on``; ``starttls``: openssl's protocol name (postgres) for servers that switch to TLS in their protocol."""
    return on.check_output('openssl s_client %s-connect %s:%d </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate'
                           % ('-starttls %s ' % starttls if starttls else '', address, port))


# On a client: GET each URL in turn (verified against the CA file; basic auth from /tmp/load.auth when it is there)
# until /tmp/stop-load exists; writes "<ok> <failed>" to /tmp/load.out. A steady trickle, one request at a time, so
# that a renewal run is not slowed by it.
LOAD_LOOP = """
import base64, json, os, ssl, sys, urllib.request
urls, context, ok, failed = json.loads(sys.argv[1]), ssl.create_default_context(cafile=sys.argv[2]), 0, 0
headers = {}
if os.path.exists('/tmp/load.auth'):
    headers['Authorization'] = 'Basic ' + base64.b64encode(open('/tmp/load.auth', 'rb').read().strip()).decode()
while not os.path.exists('/tmp/stop-load'):
    for url in urls:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10, context=context) as reply:
                reply.read()
                ok, failed = (ok + 1, failed) if reply.status == 200 else (ok, failed + 1)
        except Exception:
            failed += 1
open('/tmp/load.out', 'w').write('%d %d' % (ok, failed))
"""


def start_load_loop(client, urls, cafile, auth=''):
    """Start LOAD_LOOP on testinfra host ``client`` in the background, against ``urls`` trusting only ``cafile``,
    with basic auth ``user:password`` when given (kept in a root-only file, not on the command line)."""
    client.check_output('rm -f /tmp/stop-load /tmp/load.out /tmp/load.auth')
    if auth:
        client.check_output('umask 077; printf %%s %s > /tmp/load.auth' % shlex.quote(auth))
    client.check_output('setsid nohup python3 -c %s %s %s >/dev/null 2>&1 &'
                        % (shlex.quote(LOAD_LOOP), shlex.quote(json.dumps(urls)), shlex.quote(cafile)))


def stop_load_loop(client):
    """Stop LOAD_LOOP; (requests answered 200, requests failed)."""
    client.run('touch /tmp/stop-load')
    return tuple(int(n) for n in client.check_output('sleep 2; cat /tmp/load.out').split())


def run_forced_renewal(inventory, hosts, roles, tmp_path):
    """Apply ``roles`` (bulwark.stack.<role>) to ``hosts`` as site.yml does (import_role, so the roles' tags apply)
    with `--tags tls` and every internal certificate due (internal_ca_renew_days above the remaining lifetime of
    3650 days); fail when the run fails. Waits 2 s before and after, so load started before it spans the run."""
    time.sleep(2)
    playbook = tmp_path / 'tls.yml'
    playbook.write_text(json.dumps([{'name': 'TLS part of ' + ', '.join(roles), 'hosts': hosts, 'tasks': [
        {'name': 'Apply bulwark.stack.' + role, 'ansible.builtin.import_role': {'name': 'bulwark.stack.' + role}}
        for role in roles]}]))
    result = subprocess.run(
        ['ansible-playbook', '-i', inventory, str(playbook), '--tags', 'tls',
         '-e', 'internal_ca_renew_days=3000', '-e', 'internal_ca_cert_lifetime_days=3650'],
        capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    assert result.returncode == 0, result.stdout[-3000:]
    time.sleep(2)


def assert_renewed(label, before, after):
    """``before``/``after``: served_certificate() of one service: another serial, and the renewal's lifetime."""
    assert before.splitlines()[0] != after.splitlines()[0], (label, before, after)
    end = datetime.datetime.strptime(after.splitlines()[1].split('=', 1)[1], '%b %d %H:%M:%S %Y %Z')
    assert end - datetime.datetime.utcnow() > datetime.timedelta(days=3640), (label, after)


# --- what crosses the network in clear ------------------------------------------------------------------------------

# Runs on a host: records every TCP segment the host sends or receives, on every interface (loopback included), from
# a packet socket (Python only: no capture tool to install), until /root/capture.stop exists. Segments are joined per
# direction of each connection, and each stream is searched for the needles of /root/capture.json ({label: hex}).
# Writes /root/capture.out: packets per TCP port of interest ("ports"), and which needles were found, in how many
# streams, with the ports of the first one ("found").
CAPTURE = r'''
import binascii, json, os, socket, struct
with open("/root/capture.json") as handle:
    cfg = json.load(handle)
needles = {label: binascii.unhexlify(value) for label, value in cfg["needles"].items()}
watch = set(cfg["ports"])
sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.ntohs(0x0003))
sock.settimeout(0.5)
streams, packets, total = {}, {}, 0
while not os.path.exists("/root/capture.stop"):
    try:
        frame, addr = sock.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[1] == 0x0800 and len(frame) >= 20 and frame[9] == 6:
        ihl = (frame[0] & 15) * 4
        src, dst, tcp = frame[12:16], frame[16:20], frame[ihl:]
    elif addr[1] == 0x86DD and len(frame) >= 40 and frame[6] == 6:
        src, dst, tcp = frame[8:24], frame[24:40], frame[40:]
    else:
        continue
    if len(tcp) < 20:
        continue
    sport, dport = struct.unpack("!HH", tcp[:4])
    payload = tcp[(tcp[12] >> 4) * 4:]
    for port in {sport, dport} & watch:
        packets[port] = packets.get(port, 0) + 1
    if payload and total < 64 * 1024 * 1024:
        streams.setdefault((src, sport, dst, dport), bytearray()).extend(payload)
        total += len(payload)
found = {}
for (src, sport, dst, dport), data in streams.items():
    for label, needle in needles.items():
        if needle in data:
            entry = found.setdefault(label, {"streams": 0, "ports": [sport, dport]})
            entry["streams"] += 1
with open("/root/capture.out", "w") as handle:
    json.dump({"ports": packets, "found": found, "bytes": total}, handle)
'''


def start_capture(hosts, needles, ports):
    """Start CAPTURE on each testinfra host of ``hosts`` ({name: host}); ``needles``: {label: bytes}, ``ports``:
    the TCP ports to count packets of."""
    config = json.dumps({'needles': {label: value.hex() for label, value in needles.items()}, 'ports': list(ports)})
    for host in hosts.values():
        host.check_output('rm -f /root/capture.stop /root/capture.out; cat > /root/capture.py <<"EOF"\n%sEOF' % CAPTURE)
        host.check_output('cat > /root/capture.json <<"EOF"\n%s\nEOF' % config)
        host.check_output('systemd-run --unit bulwark-capture --collect python3 /root/capture.py')


def stop_capture(hosts):
    """Stop CAPTURE on each host; {name: its result}."""
    for host in hosts.values():
        host.check_output('touch /root/capture.stop')
    results = {}
    for name, host in hosts.items():
        wait_for(lambda host=host: host.file('/root/capture.out').exists, 60, 'no capture result on %s' % name)
        results[name] = json.loads(host.file('/root/capture.out').content_string)
    return results


# --- Redis with Sentinel ---------------------------------------------------------------------------------------------

def wait_for(predicate, timeout, message):
    """Call ``predicate`` once a second until it returns something true (returned); fail with ``message`` after
    ``timeout`` seconds."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.time() < deadline, message
        time.sleep(1)


# Runs on a Redis host: a client that opens a new connection for every INCR (so every write logs in and, with "ca",
# makes a verified TLS handshake), with the old app password until Redis refuses it, then the new one. With
# "sentinels" (host:port list) and "sentinel_password", each write first asks the sentinels in turn for the primary,
# as an application does; otherwise it writes to "host". Counts acknowledged writes and errors until
# /root/writer.stop exists (state in /root/writer.state).
REDIS_WRITER = r'''
import json, socket, ssl, sys, time
with open("/root/writer.json") as handle:
    cfg = json.load(handle)
state = {"acked": 0, "last": 0, "errors": {}, "switched": False, "sentinel_fallbacks": 0}
password = cfg["old"]
context = ssl.create_default_context(cafile=cfg["ca"]) if cfg.get("ca") else None
def connect(host, port):
    sock = socket.create_connection((host, int(port)), timeout=3)
    return context.wrap_socket(sock, server_hostname=host) if context else sock
def call(sock, stream, *args):
    sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args)))
    return stream.readline().decode().rstrip("\r\n")
def primary():
    if not cfg.get("sentinels"):
        return cfg["host"], cfg["port"]
    for index, entry in enumerate(cfg["sentinels"]):
        host, port = entry.rsplit(":", 1)
        try:
            with connect(host, port) as sock:
                stream = sock.makefile("rb")
                if call(sock, stream, "AUTH", cfg["sentinel_password"]) != "+OK":
                    continue
                call(sock, stream, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", cfg["name"])
                address = [stream.readline().decode().rstrip("\r\n") for _ in range(4)][1::2]
            state["sentinel_fallbacks"] += index
            return address[0], address[1]
        except OSError:
            continue
    raise OSError("no sentinel answered")
while True:
    try:
        with connect(*primary()) as sock:
            stream = sock.makefile("rb")
            auth = call(sock, stream, "AUTH", cfg["user"], password)
            if auth.startswith("-WRONGPASS") and password == cfg["old"]:
                password, state["switched"] = cfg["new"], True
                continue
            reply = call(sock, stream, "INCR", "rotation:writes") if auth == "+OK" else auth
        if reply.startswith(":"):
            state["acked"] += 1
            state["last"] = int(reply[1:])
        else:
            state["errors"][reply[:40]] = state["errors"].get(reply[:40], 0) + 1
    except OSError as exc:
        state["errors"][type(exc).__name__] = state["errors"].get(type(exc).__name__, 0) + 1
    with open("/root/writer.state", "w") as handle:
        json.dump(state, handle)
    try:
        open("/root/writer.stop").close()
        break
    except OSError:
        time.sleep(0.05)
'''


class RedisCluster:
    """redis-cli views of a scenario's Redis + Sentinel hosts (one primary, replicas, a Sentinel on each).

    ``admin`` and ``app`` are (user, password) pairs of Redis ACL users; addresses are the hosts' internal addresses.
    Redis and Sentinel take TLS only (the roles' default): redis-cli connects with TLS and verifies the certificate
    against ``ca_file``.
    """

    def __init__(self, hosts, admin, app, sentinel_password, name='bulwark', port=6379, sentinel_port=26379,
                 ca_file='/etc/ssl/bulwark/ca.crt'):
        self.hosts, self.admin, self.app, self.ca_file = list(hosts), admin, app, ca_file
        self.sentinel_password, self.name, self.port, self.sentinel_port = sentinel_password, name, port, sentinel_port
        self._ips = {}

    def ip(self, name):
        if name not in self._ips:
            self._ips[name] = internal_ip(get_host(name))
        return self._ips[name]

    def cli(self, client, address, *args, user=None, password=None, port=None, tls='verified'):
        """redis-cli on testinfra host ``client`` against address:port; stdout + stderr, stripped. The password goes
        through the environment, never the command line. ``tls``: 'verified' (against ca_file), a path of another CA
        file to verify against, or None for plaintext."""
        env = 'REDISCLI_AUTH=%s ' % shlex.quote(password) if password else ''
        who = '--user %s ' % shlex.quote(user) if user else ''
        secure = '--tls --cacert %s ' % shlex.quote(self.ca_file if tls == 'verified' else tls) if tls else ''
        result = client.run('%sredis-cli --no-auth-warning %s-h %s -p %d %s%s' % (
            env, secure, address, port or self.port, who, ' '.join(shlex.quote(str(a)) for a in args)))
        return (result.stdout + result.stderr).strip()

    def sentinel_primary(self, client, address):
        out = self.cli(client, address, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', self.name,
                       password=self.sentinel_password, port=self.sentinel_port)
        return out.splitlines()[0] if out else ''

    def name_of(self, ip):
        return [h for h in self.hosts if self.ip(h) == ip][0]

    def current_primary(self):
        """The primary's inventory name, as the sentinels say (all must agree)."""
        client = get_host(self.hosts[0])
        answers = {self.sentinel_primary(client, self.ip(h)) for h in self.hosts}
        assert len(answers) == 1, answers
        return self.name_of(answers.pop())

    def info(self, name, section='replication'):
        out = self.cli(get_host(name), self.ip(name), 'INFO', section, user=self.admin[0], password=self.admin[1])
        return dict(line.split(':', 1) for line in out.splitlines() if ':' in line and not line.startswith('#'))

    def assert_replication_follows(self, name, primary):
        """Host name's replication.conf: no replicaof on the primary, replicaof the primary on a replica."""
        replication = get_host(name).file('/etc/redis/replication.conf').content_string
        if name == primary:
            assert 'replicaof' not in replication, (name, replication)
        else:
            assert 'replicaof %s %d' % (self.ip(primary), self.port) in replication, (name, replication)
        return replication

    def fail_over(self):
        """Stop the primary's redis-server until Sentinel elects another, start it again; return (old, new) once the
        old primary is a replica of the new one with every replica linked. A key written before is read after."""
        old = self.current_primary()
        others = [h for h in self.hosts if h != old]
        client = get_host(others[0])
        user, password = self.app
        assert self.cli(client, self.ip(old), 'SET', 'before-failover', 'kept', user=user, password=password) == 'OK'
        get_host(old).check_output('systemctl stop redis-server')
        try:
            new_ip = wait_for(lambda: {self.sentinel_primary(client, self.ip(h)) for h in others} - {self.ip(old), ''},
                              40, 'no new primary elected within 40 s')
            assert len(new_ip) == 1, new_ip
            new = self.name_of(new_ip.pop())
            assert new != old
            wait_for(lambda: self.info(new).get('role') == 'master', 20, '%s never became master' % new)
        finally:
            get_host(old).check_output('systemctl start redis-server')
        # The old primary comes back as a replica of the new one.
        wait_for(lambda: self.info(old).get('role') == 'slave' and self.info(old).get('master_host') == self.ip(new)
                 and self.info(old).get('master_link_status') == 'up', 60,
                 '%s did not rejoin as replica of %s' % (old, new))
        replicas = str(len(self.hosts) - 1)
        wait_for(lambda: self.info(new).get('connected_slaves') == replicas, 30, 'new primary has not %s replicas' % replicas)
        assert self.cli(client, self.ip(new), 'GET', 'before-failover', user=user, password=password) == 'kept'
        assert self.cli(client, self.ip(new), 'SET', 'after-failover', 'ok', user=user, password=password) == 'OK'
        return old, new

    def assert_follows_after_reconverge(self, old, new):
        """After a re-converge: Sentinel still names ``new``, every host's replication.conf and sentinel.conf follow
        it, and nothing points back at ``old``."""
        assert self.current_primary() == new
        for name in self.hosts:
            replication = self.assert_replication_follows(name, new)
            assert 'replicaof %s ' % self.ip(old) not in replication
            sentinel_conf = get_host(name).file('/etc/redis/sentinel.conf').content_string
            assert 'sentinel monitor %s %s %d 2' % (self.name, self.ip(new), self.port) in sentinel_conf, sentinel_conf
        assert self.info(new)['connected_slaves'] == str(len(self.hosts) - 1)
        assert self.info(old)['role'] == 'slave' and self.info(old)['master_host'] == self.ip(new)
