"""Behaviour of bulwark.stack.app: endpoints seen from the other host, sandbox, releases, graceful stop."""

import json
import os
import shlex

from testlib import ansible_playbook, get_host, http_get, internal_ip, peer_fixtures, scenario_hosts, start_load_loop, stop_load_loop

HOSTS = scenario_hosts()
testinfra_hosts = HOSTS

PORT = 8000
CA = '/etc/ssl/bulwark/ca.crt'  # the internal CA: the app serves HTTPS with a certificate from it (app_tls_enabled)
SERVICE = 'bulwark-app'
BASE = '/opt/bulwark-app'

target, client = peer_fixtures(HOSTS)  # the host under test, and the other host of the scenario


def fetch(client, target, path):
    """GET path from the app on target, sent by client (traffic stays between the two containers of this scenario)."""
    return http_get(client, 'https://%s:%d%s' % (internal_ip(target), PORT, path), cafile=CA, timeout=15)


def converge(version):
    """Re-run converge.yml with another release version (what an operator's deploy does)."""
    playbook = os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml')
    result = ansible_playbook(playbook, '-e', 'molecule_app_version=%s' % version)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


# First: the later tests deploy other releases, after which converge.yml (release 1.0.0) would rightly report changes.
def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, target):
    stats = check_mode_recap[target.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']


def test_endpoints_from_other_host(client, target):
    hostname = target.check_output('hostname')
    version = fetch(client, target, '/version')
    assert (version.get('status'), version.get('body')) == (200, '1.0.0\n'), version
    assert version['headers'].get('X-Served-By') == hostname
    root = fetch(client, target, '/')
    assert root.get('status') == 200 and '1.0.0' in root['body'] and hostname in root['body'], root
    for path in ('/health/live', '/health/ready'):
        assert fetch(client, target, path).get('status') == 200, path
    health = fetch(client, target, '/health')
    assert health.get('status') == 200, health
    checks = json.loads(health['body'])
    assert checks['status'] == 'healthy'
    # Nothing configured in this scenario: both checks say so and do not make the app unhealthy.
    assert checks['checks']['pgbouncer']['status'] == 'not configured'
    assert checks['checks']['redis']['status'] == 'not configured'
    assert fetch(client, target, '/nope').get('status') == 404


def test_https_only_and_a_renewed_certificate_is_served_without_a_restart():
    """The app speaks TLS only; a renewal of its certificate (forced: internal_ca_renew_days above the remaining
    lifetime) is served at the next connection by the same process, and requests sent all along see no failure.
    Once for the scenario (the converge renews both hosts' certificates): the first host serves, the other asks."""
    target, client = get_host(HOSTS[0]), get_host(HOSTS[1])
    url = 'https://%s:%d/version' % (internal_ip(target), PORT)
    plain = http_get(client, url.replace('https://', 'http://'), timeout=5)
    assert 'status' not in plain, plain  # no HTTP answer on the plain scheme
    served = ('openssl s_client -connect %s:%d -CAfile %s -verify_return_error </dev/null 2>/dev/null '
              '| openssl x509 -noout -serial' % (internal_ip(target), PORT, CA))
    before, pid = client.check_output(served), target.check_output('systemctl show -p MainPID --value %s' % SERVICE)
    start_load_loop(client, [url], CA)
    try:
        result = ansible_playbook(os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml'),
                                  '-e', 'internal_ca_renew_days=3000', '-e', 'internal_ca_cert_lifetime_days=3650')
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    finally:
        ok, failed = stop_load_loop(client)
    assert failed == 0 and ok >= 10, (ok, failed)
    assert client.check_output(served) != before  # a new certificate, served by the same process
    assert target.check_output('systemctl show -p MainPID --value %s' % SERVICE) == pid


def test_health_turns_503_when_a_dependency_is_unreachable(target):
    # Run a second copy of the release with a database URL pointing at a closed port: /health must say 503.
    script = r'''
import os, subprocess, sys, time, urllib.error, urllib.request
env = dict(os.environ, APP_LISTEN_ADDRESS="127.0.0.1", APP_PORT="18999", DATABASE_URL="postgresql://u:p@127.0.0.1:1/db")
proc = subprocess.Popen([sys.executable, "/opt/bulwark-app/current/bulwark_sample_app.py"], env=env)
try:
    for attempt in range(50):
        try:
            urllib.request.urlopen("http://127.0.0.1:18999/health", timeout=5)
            print(200)
            break
        except urllib.error.HTTPError as exc:
            print(exc.code, exc.read().decode())
            break
        except OSError:
            time.sleep(0.1)
finally:
    proc.terminate()
    proc.wait()
'''
    out = target.check_output('python3 -c %s' % shlex.quote(script))
    assert out.startswith('503') and '"failing"' in out, out


def test_listens_only_on_internal_address(target):
    listeners = target.check_output("ss -Htln 'sport = :%d' | awk '{print $4}'" % PORT).split()
    assert listeners == ['%s:%d' % (internal_ip(target), PORT)]
    loopback = target.run('python3 -c "import socket; socket.create_connection((\'127.0.0.1\', %d), 3)"' % PORT)
    assert loopback.rc != 0 and 'ConnectionRefusedError' in loopback.stderr


def test_service_user_and_sandbox(target):
    props = dict(line.split('=', 1) for line in target.check_output(
        'systemctl show %s -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p CapabilityBoundingSet '
        '-p ReadWritePaths -p KillSignal -p TimeoutStopUSec -p ActiveState -p MemoryMax -p CPUQuotaPerSecUSec '
        '-p TasksMax' % SERVICE
    ).splitlines())
    assert props['ActiveState'] == 'active'
    assert props['User'] == 'bulwark-app'
    assert props['NoNewPrivileges'] == 'yes'
    assert props['ProtectSystem'] == 'strict'
    assert props['ProtectHome'] == 'yes'
    # Resource limits (defaults): 512M of memory, two CPUs, 512 tasks.
    assert (props['MemoryMax'], props['CPUQuotaPerSecUSec'], props['TasksMax']) == (str(512 * 1024 ** 2), '2s', '512')
    assert props['CapabilityBoundingSet'] == ''
    assert props['ReadWritePaths'] == '/var/lib/bulwark-app'
    assert props['KillSignal'] == '15'
    assert props['TimeoutStopUSec'] == '30s'
    pid = target.check_output('systemctl show -p MainPID --value %s' % SERVICE)
    assert target.check_output('ps -o user= -p %s' % pid) == 'bulwark-app'
    assert target.user('bulwark-app').shell == '/usr/sbin/nologin'
    # The sandbox really bites: the service sees the system read-only but its state directory, its capability set empty.
    status = target.check_output('cat /proc/%s/status' % pid)
    assert 'CapEff:\t0000000000000000' in status and 'NoNewPrivs:\t1' in status
    mounts = dict(line.split()[4:6] for line in target.check_output('cat /proc/%s/mountinfo' % pid).splitlines())
    assert mounts['/'].split(',')[0] == 'ro', mounts['/']  # the whole system, /opt/bulwark-app included
    assert mounts['/var/lib/bulwark-app'].split(',')[0] == 'rw', mounts
    # Its /tmp is its own size-capped tmpfs, mounted noexec in the service's mount namespace (the kernel's view of
    # the running service; entering that namespace from the test needs capabilities docker exec does not have).
    tmp = [line.split(' - ')[1].split() for line in target.check_output('cat /proc/%s/mountinfo' % pid).splitlines()
           if line.split()[4] == '/tmp'][-1]
    assert tmp[0] == 'tmpfs' and 'size=65536k' in tmp[2].split(','), tmp
    assert {'noexec', 'nosuid', 'nodev'} <= set(mounts['/tmp'].split(',')), mounts['/tmp']


def test_environment_file_is_root_only_and_read_by_the_app(target):
    env = target.file('/etc/bulwark-app/app.env')
    assert (env.user, env.group, env.mode) == ('root', 'root', 0o600)
    assert target.file('/etc/bulwark-app').mode == 0o700
    denied = target.run('runuser -u bulwark-app -- cat /etc/bulwark-app/app.env')
    assert denied.rc != 0
    pid = target.check_output('systemctl show -p MainPID --value %s' % SERVICE)
    environ = target.check_output("tr '\\0' '\\n' < /proc/%s/environ" % pid)
    assert 'APP_GREETING=molecule' in environ.splitlines()


def test_sigterm_lets_an_in_flight_request_finish(target):
    # A 3 s request is in flight when systemd stops the service; it must complete with 200 and the unit exit cleanly.
    script = r'''
import ssl, subprocess, threading, time, urllib.request
result = {}
def slow():
    try:
        context = ssl.create_default_context(cafile="/etc/ssl/bulwark/ca.crt")
        with urllib.request.urlopen("https://%s:%d/slow?ms=3000", timeout=20, context=context) as resp:
            result["status"], result["body"] = resp.status, resp.read().decode().strip()
    except Exception as exc:
        result["error"] = repr(exc)
worker = threading.Thread(target=slow)
worker.start()
time.sleep(0.7)
started = time.time()
subprocess.run(["systemctl", "stop", "bulwark-app"], check=True)
result["stop_seconds"] = round(time.time() - started, 1)
worker.join()
print(result)
''' % (internal_ip(target), PORT)
    try:
        out = target.check_output('python3 -c %s' % shlex.quote(script))
        result = eval(out)  # pylint: disable=eval-used  # our own repr of a dict of str/int/float
        assert result.get('status') == 200 and result.get('body') == 'slept 3000 ms', result
        assert result['stop_seconds'] >= 1.5, result  # the stop waited for the request
        assert target.check_output('systemctl show -p Result --value %s' % SERVICE) == 'success'
        assert 'stopped cleanly' in target.check_output('journalctl -u %s -n 20 --no-pager' % SERVICE)
    finally:
        target.run('systemctl start %s' % SERVICE)


def test_release_switch_is_atomic_and_old_releases_are_pruned():
    hosts = [get_host(name) for name in HOSTS]
    # Watch the link on every host while the releases switch: readlink must never fail.
    # The count is written at start and on each miss only: a write per check would burn a core per host.
    watcher = ('import os, time\nmisses, end = 0, time.time() + 300\n'
               'def report():\n    with open("/tmp/link-misses", "w") as out:\n        out.write(str(misses))\n'
               'report()\nwhile time.time() < end:\n'
               '    try:\n        os.readlink("%s/current")\n    except OSError:\n        misses += 1\n        report()\n'
               '    time.sleep(0.0005)\n' % BASE)
    for h in hosts:
        h.run('rm -f /tmp/link-misses; nohup python3 -c %s >/dev/null 2>&1 & echo $! > /tmp/watcher.pid'
              % shlex.quote(watcher))
    for version in ('2.0.0', '3.0.0'):
        converge(version)
    for h in hosts:
        h.run('kill "$(cat /tmp/watcher.pid)"')
        misses = h.check_output('cat /tmp/link-misses')
        assert misses == '0', 'current link was missing %s times during switches on %s' % (misses, h.backend.host)
        assert h.file(BASE + '/current').linked_to == BASE + '/releases/3.0.0'
        releases = sorted(h.check_output('ls %s/releases' % BASE).split())
        assert releases == ['2.0.0', '3.0.0'], releases  # current + app_keep_releases (1); 1.0.0 pruned
    for h in hosts:
        other = get_host([n for n in HOSTS if n != h.backend.host][0])
        version = fetch(other, h, '/version')
        assert version.get('body') == '3.0.0\n', version  # the service restarted into the new release
