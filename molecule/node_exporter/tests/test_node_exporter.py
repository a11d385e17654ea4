"""Behaviour of bulwark.stack.node_exporter: each host scrapes the other, with and without credentials."""

import json
import os
import shlex

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
HOSTS = sorted(testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts('all'))
testinfra_hosts = HOSTS

PORT = 9100
USER, PASSWORD = 'prometheus', 'molecule-scrape-secret-7f3a'
CONFIG_DIR = '/etc/prometheus/node-exporter'

# Runs on the *client* container: GET a URL with the target's own certificate as the only trusted CA, optionally
# with basic auth, and print {"status": ..., "body": ...} or {"error": ...}. Traffic stays between the two lab
# containers this scenario created.
CLIENT = r'''
import base64, json, ssl, sys, urllib.error, urllib.request
url, cafile, auth = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url)
if auth:
    req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
ctx = ssl.create_default_context(cafile=cafile) if cafile else None
try:
    with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
        print(json.dumps({"status": resp.status, "body": resp.read().decode()[:200000]}))
except urllib.error.HTTPError as exc:
    print(json.dumps({"status": exc.code, "body": ""}))
except Exception as exc:
    print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))
'''


def get_host(name):
    return testinfra.get_host('ansible://' + name, ansible_inventory=INVENTORY)


def internal_ip(host):
    """The address of the interface carrying the default route (what the role computes by default)."""
    dev = host.check_output("ip -4 -o route show default | awk '{print $5}'")
    return host.check_output("ip -4 -o addr show dev %s | awk '{print $4}' | cut -d/ -f1 | head -n1" % dev)


@pytest.fixture()
def target(host):
    return host


@pytest.fixture()
def client(host):
    other = [h for h in HOSTS if h != host.backend.host]
    assert other, 'this scenario needs two hosts'
    return get_host(other[0])


def scrape(client, target, scheme='https', auth=USER + ':' + PASSWORD, trust=True):
    cafile = ''
    if trust:
        cafile = '/tmp/ca-%s.pem' % target.backend.host
        pem = target.file(CONFIG_DIR + '/tls.crt').content_string
        client.run('cat > %s <<"EOF"\n%sEOF' % (cafile, pem))
    url = '%s://%s:%d/metrics' % (scheme, internal_ip(target), PORT)
    out = client.check_output('python3 -c %s %s %s %s' % (shlex.quote(CLIENT), url, shlex.quote(cafile), shlex.quote(auth)))
    return json.loads(out)


def test_service_running(target):
    svc = target.service('prometheus-node-exporter')
    journal = target.run('journalctl -u prometheus-node-exporter --no-pager -n 30').stdout
    assert svc.is_running, journal
    assert svc.is_enabled


def test_metrics_with_credentials_from_other_host(client, target):
    result = scrape(client, target)
    assert result.get('status') == 200, result
    assert 'node_exporter_build_info' in result['body']
    assert 'node_systemd_unit_state' in result['body']  # the systemd collector is on


@pytest.mark.parametrize('auth', ['', USER + ':wrong-password', 'intruder:' + PASSWORD])
def test_metrics_refused_without_valid_credentials(client, target, auth):
    assert scrape(client, target, auth=auth).get('status') == 401


def test_plain_http_is_not_served(client, target):
    result = scrape(client, target, scheme='http', trust=False)
    assert result.get('status') != 200, result


def test_certificate_is_verified_against_the_host_certificate(client, target):
    # Trusting nothing (system CAs only) must fail the handshake: the exporter really serves its own certificate.
    result = scrape(client, target, trust=False)
    assert 'CERTIFICATE_VERIFY_FAILED' in result.get('error', ''), result


def test_listens_only_on_internal_address(target):
    listeners = target.check_output("ss -Htln 'sport = :%d' | awk '{print $4}'" % PORT).split()
    assert listeners == ['%s:%d' % (internal_ip(target), PORT)]
    loopback = target.run('python3 -c "import socket; socket.create_connection((\'127.0.0.1\', %d), 3)"' % PORT)
    assert loopback.rc != 0 and 'ConnectionRefusedError' in loopback.stderr


def test_config_files_modes_and_no_plaintext(target):
    web = target.file(CONFIG_DIR + '/web.yml')
    assert (web.user, web.group, web.mode) == ('root', 'prometheus', 0o640)
    assert PASSWORD not in web.content_string
    assert '$2b$10$' in web.content_string
    key = target.file(CONFIG_DIR + '/tls.key')
    assert (key.user, key.group, key.mode) == ('root', 'prometheus', 0o640)
    assert target.file(CONFIG_DIR).mode == 0o750


def test_systemd_sandbox(target):
    props = dict(line.split('=', 1) for line in target.check_output(
        'systemctl show prometheus-node-exporter -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome '
        '-p PrivateTmp -p CapabilityBoundingSet -p RestrictSUIDSGID').splitlines())
    assert props['User'] == 'prometheus'
    assert props['NoNewPrivileges'] == 'yes'
    assert props['ProtectSystem'] == 'strict'
    assert props['PrivateTmp'] == 'yes'
    assert props['CapabilityBoundingSet'] == ''
    assert props['RestrictSUIDSGID'] == 'yes'
    pid = target.check_output('systemctl show -p MainPID --value prometheus-node-exporter')
    assert target.check_output('ps -o user= -p %s' % pid) == 'prometheus'


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, target):
    stats = check_mode_recap[target.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']
