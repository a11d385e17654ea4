"""Behaviour of bulwark.stack.haproxy, seen from a client container: ALPN, balancing, health-check failover, admin
socket, stats auth, rate limit and validated reloads. Its TLS profile, redirect and headers: test_lb_profile.py."""

import json
import os
import time

import pytest

from testlib import ansible_playbook, bodies, codes, curl, get_host, handshake, lb_fixtures

SCENARIO = os.environ['MOLECULE_SCENARIO_DIRECTORY']
LB, CLIENT, APPS = 'haproxy-lb', 'lb-app1', ('lb-app1', 'lb-app2')
STATS_AUTH = 'admin:molecule-stats-secret-4b1e'
testinfra_hosts = ['ansible://' + LB]
URL = 'https://%s' % LB

# Runs on the LB: one command on the HAProxy runtime API (admin socket), prints the answer.
RUNTIME = ("python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(\"/run/haproxy/admin.sock\"); "
           "s.sendall(sys.argv[1].encode()+b\"\\n\"); print(b\"\".join(iter(lambda: s.recv(65536), b\"\")).decode())' ")

lb, client, handshakes = lb_fixtures(LB, CLIENT)  # module fixtures: the LB, the client with the lab CA, TLS handshakes


def runtime(lb, command):
    return lb.check_output(RUNTIME + "'%s'" % command)


def server_status(lb, server):
    for line in runtime(lb, 'show stat').splitlines():
        fields = line.split(',')
        if len(fields) > 17 and fields[0] == 'app' and fields[1] == server:
            return fields[17]
    return None


def wait_status(lb, server, wanted, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = server_status(lb, server)
        if status is not None and status.startswith(wanted):
            return status
        time.sleep(0.5)
    raise AssertionError('%s never became %s (is %s)' % (server, wanted, server_status(lb, server)))


def test_alpn_offers_h2(handshakes):
    rc, out = handshake(handshakes, 'alpn')
    assert rc == 0 and 'ALPN protocol: h2' in out, out


def test_requests_reach_both_backends(client):
    results = bodies(client, URL, 10)
    assert all(code == '200' for _, code in results), results
    assert {body for body, _ in results} == set(APPS)


def test_stopped_backend_is_marked_down_and_costs_the_client_nothing(client, lb):
    app2 = get_host('lb-app2')
    app2.check_output('systemctl stop fake-app')
    try:
        wait_status(lb, 'lb-app2', 'DOWN')
        results = bodies(client, URL, 12)
        assert all(code == '200' for _, code in results), results
        assert {body for body, _ in results} == {'lb-app1'}
    finally:
        app2.check_output('systemctl start fake-app')
    wait_status(lb, 'lb-app2', 'UP')
    assert {body for body, _ in bodies(client, URL, 10)} == set(APPS)


def test_admin_socket_drains_and_readies_a_server(client, lb):
    sock = lb.file('/run/haproxy/admin.sock')
    assert sock.is_socket and sock.group == 'haproxy' and sock.mode == 0o660
    runtime(lb, 'set server app/lb-app2 state drain')
    try:
        assert server_status(lb, 'lb-app2') == 'DRAIN'
        assert {body for body, _ in bodies(client, URL, 8)} == {'lb-app1'}
    finally:
        runtime(lb, 'set server app/lb-app2 state ready')
    assert 'lb-app2' in runtime(lb, 'show servers state app')
    assert {body for body, _ in bodies(client, URL, 8)} == set(APPS)


INTERNAL_CA = '/tmp/bulwark-internal-ca.pem'  # on the client: the internal CA, which signed the stats certificate


@pytest.fixture(scope='module')
def stats_client(client, lb):
    client.run('cat > %s <<"EOF"\n%sEOF' % (INTERNAL_CA, lb.file('/etc/ssl/bulwark/ca.crt').content_string))
    return client


@pytest.mark.parametrize('auth,code', [('', '401'), ('admin:wrong', '401'), (STATS_AUTH, '200')])
def test_stats_page_needs_credentials_over_tls(stats_client, auth, code):
    user = '-u %s' % auth if auth else ''
    out = stats_client.check_output('curl -s -o /dev/null -w "%%{http_code}" --cacert %s %s https://%s:8404/stats'
                                    % (INTERNAL_CA, user, LB))
    assert out == code


def test_stats_page_refuses_plain_http(stats_client):
    # The credentials would cross the network in clear: no HTTP answer without TLS.
    out = stats_client.run('curl -s -o /dev/null -w "%%{http_code}" -u %s http://%s:8404/stats' % (STATS_AUTH, LB))
    assert out.rc != 0 and out.stdout == '000', (out.rc, out.stdout)


def test_stats_page_only_on_internal_address(lb):
    res = lb.run('python3 -c "import socket; socket.create_connection((\'127.0.0.1\', 8404), 3)"')
    assert res.rc != 0 and 'ConnectionRefusedError' in res.stderr


def test_refused_configuration_fails_the_play_and_haproxy_keeps_serving(client, lb):
    before = lb.file('/etc/haproxy/haproxy.cfg').content_string
    pid = lb.check_output('systemctl show -p MainPID --value haproxy')
    bad = {'haproxy_frontends': [{'name': 'https', 'default_backend': 'app',
                                  'use_backends': [{'backend': 'app', 'if': '{ no_such_fetch() }'}]}]}
    res = ansible_playbook(os.path.join(SCENARIO, 'converge.yml'), '-e', json.dumps(bad))
    assert res.returncode != 0
    assert 'failed to validate' in res.stdout + res.stderr, res.stdout[-3000:]
    assert lb.file('/etc/haproxy/haproxy.cfg').content_string == before
    assert lb.check_output('systemctl show -p MainPID --value haproxy') == pid
    assert bodies(client, URL, 2, '/health') == [['ok', '200'], ['ok', '200']]


def test_private_keys_are_root_only(lb):
    for path in ('/etc/haproxy/tls/site.pem.key', '/etc/haproxy/tls/internal.pem.key'):
        key = lb.file(path)
        assert (key.user, key.group, key.mode) == ('root', 'root', 0o600)
    cfg = lb.file('/etc/haproxy/haproxy.cfg')
    assert (cfg.user, cfg.group, cfg.mode) == ('root', 'haproxy', 0o640)
    assert 'molecule-stats-secret' not in cfg.content_string and '$6$' in cfg.content_string


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap):
    stats = check_mode_recap[LB]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']


def test_rate_limit_answers_429_with_headers(client):
    time.sleep(11)  # let the 10 s request-rate window forget the tests above
    got = codes(client, URL, 200)
    assert len(got) == 200 and set(got) == {'200', '429'}, got
    assert got.count('200') >= 100 and got.count('429') >= 40, got
    headers = curl(client, '-D', '-', '-o', '/dev/null', URL + '/').stdout.lower()
    assert ' 429' in headers.splitlines()[0] and 'strict-transport-security' in headers, headers
    # ...and lets the client in again once the window has passed (test_lb_profile.py runs after this file).
    deadline = time.time() + 20
    while bodies(client, URL, 1)[0][1] != '200':
        assert time.time() < deadline, 'still refused 20 s after the burst'
        time.sleep(1)
