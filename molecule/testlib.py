"""Helpers and constants shared by the testinfra tests of the Molecule scenarios under molecule/.

molecule/conftest.py puts this directory on sys.path, so a scenario's tests do `from testlib import ...` (a test module
cannot import conftest). Everything reads the scenario from Molecule's environment when called, not at import.
"""

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


# --- a load balancer with the lab CA, seen from a client container (haproxy and nginx scenarios) -------------------

LAB_CA = '/tmp/bulwark-lab-ca.pem'  # on the client: the LB's lab CA, the only one curl and openssl trust
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
        trust_lab_ca(cli, lb_name)
        return cli

    @pytest.fixture(scope='module', name='handshakes')
    def handshakes(client):
        return run_handshakes(client, lb_name)

    return lb, client, handshakes


def trust_lab_ca(client, lb_name):
    """Make the LB's lab CA the one (LAB_CA) that curl and openssl on the client trust."""
    pem = get_host(lb_name).file('/etc/ssl/bulwark-lab-ca/ca.crt').content_string
    client.run('cat > %s <<"EOF"\n%sEOF' % (LAB_CA, pem))


def run_handshakes(client, lb_name):
    """Every handshake of TLS_CASES against lb_name, run in one go on the client (one remote command, not dozens),
    trusting only that LB's lab CA; {case: [returncode, output tail]}."""
    trust_lab_ca(client, lb_name)
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


class RedisCluster:
    """redis-cli views of a scenario's Redis + Sentinel hosts (one primary, replicas, a Sentinel on each).

    ``admin`` and ``app`` are (user, password) pairs of Redis ACL users; addresses are the hosts' internal addresses.
    """

    def __init__(self, hosts, admin, app, sentinel_password, name='bulwark', port=6379, sentinel_port=26379):
        self.hosts, self.admin, self.app = list(hosts), admin, app
        self.sentinel_password, self.name, self.port, self.sentinel_port = sentinel_password, name, port, sentinel_port
        self._ips = {}

    def ip(self, name):
        if name not in self._ips:
            self._ips[name] = internal_ip(get_host(name))
        return self._ips[name]

    def cli(self, client, address, *args, user=None, password=None, port=None):
        """redis-cli on testinfra host ``client`` against address:port; stdout + stderr, stripped. The password goes
        through the environment, never the command line."""
        env = 'REDISCLI_AUTH=%s ' % shlex.quote(password) if password else ''
        who = '--user %s ' % shlex.quote(user) if user else ''
        result = client.run('%sredis-cli --no-auth-warning -h %s -p %d %s%s' % (
            env, address, port or self.port, who, ' '.join(shlex.quote(str(a)) for a in args)))
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
