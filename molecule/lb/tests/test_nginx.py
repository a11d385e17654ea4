"""Behaviour of bulwark.stack.nginx, seen from a client container: TLS profile, redirect, headers, balancing,
failover, rate limit, validated reloads and the upstream entry point."""

import os
import time

import pytest

from testlib import (TLS12_ALLOWED, TLS12_REFUSED, TLS13_ALLOWED, ansible_playbook, bodies, codes, curl, get_host,
                     handshake, lb_fixtures)

SCENARIO = os.environ['MOLECULE_SCENARIO_DIRECTORY']
LB, CLIENT, APPS = 'nginx-lb', 'lb-app1', ('lb-app1', 'lb-app2')
testinfra_hosts = ['ansible://' + LB]
URL = 'https://%s' % LB

lb, client, handshakes = lb_fixtures(LB, CLIENT)  # module fixtures: the LB, the client with the lab CA, TLS handshakes


@pytest.mark.parametrize('version', ['-tls1', '-tls1_1'])
def test_old_tls_versions_are_refused(handshakes, version):
    rc, out = handshake(handshakes, 'old:' + version)
    assert rc != 0, out
    assert 'Cipher is (NONE)' in out or 'alert protocol version' in out or 'no protocols available' in out, out


@pytest.mark.parametrize('cipher', TLS12_ALLOWED)
def test_tls12_profile_ciphers_succeed(handshakes, cipher):
    rc, out = handshake(handshakes, 'tls12:' + cipher)
    assert rc == 0 and 'Cipher is %s' % cipher in out and 'Verify return code: 0 (ok)' in out, out


@pytest.mark.parametrize('cipher', TLS12_REFUSED)
def test_tls12_other_ciphers_are_refused(handshakes, cipher):
    rc, out = handshake(handshakes, 'tls12-refused:' + cipher)
    assert rc != 0, out


@pytest.mark.parametrize('suite', TLS13_ALLOWED)
def test_tls13_profile_suites_succeed(handshakes, suite):
    rc, out = handshake(handshakes, 'tls13:' + suite)
    assert rc == 0 and 'TLSv1.3' in out and 'Cipher is %s' % suite in out, out


def test_tls13_groups_follow_the_profile(handshakes):
    assert handshake(handshakes, 'group:X25519')[0] == 0
    rc, out = handshake(handshakes, 'group:ffdhe2048')
    assert rc != 0, out


def test_http_redirects_with_308(client):
    out = client.check_output('curl -s -o /dev/null -w "%%{http_code} %%{redirect_url}" "http://%s/some/path?q=1"' % LB)
    assert out == '308 https://%s/some/path?q=1' % LB


def test_http2_and_security_headers(client):
    res = curl(client, '--http2', '-D', '-', '-o', '/dev/null', '-w', '"%{http_version}"', URL + '/')
    headers = res.stdout.lower()
    assert res.stdout.endswith('2'), res.stdout
    assert 'strict-transport-security: max-age=63072000' in headers
    assert 'x-frame-options: deny' in headers
    assert 'x-content-type-options: nosniff' in headers
    assert 'referrer-policy: strict-origin-when-cross-origin' in headers
    assert "content-security-policy: default-src 'self'" in headers
    assert 'server: nginx\r\n' in headers  # server_tokens off: no version


def test_requests_reach_both_backends(client):
    results = bodies(client, URL, 10)
    assert all(code == '200' for _, code in results), results
    assert {body for body, _ in results} == set(APPS)


def test_health_is_passed_through_without_access_log(client, lb):
    marker = 'probe-%d' % time.time()
    assert bodies(client, URL, 1, '/health?' + marker) == [['ok', '200']]
    assert bodies(client, URL, 1, '/?' + marker)[0][1] == '200'
    time.sleep(1)
    log = lb.check_output('cat /var/log/nginx/access.log')
    assert '/?%s' % marker in log          # ordinary requests are logged (the check below can fail)
    assert '/health?%s' % marker not in log


def test_stopped_backend_costs_the_client_nothing(client):
    app2 = get_host('lb-app2')
    app2.check_output('systemctl stop fake-app')
    try:
        results = bodies(client, URL, 12)
        assert all(code == '200' for _, code in results), results
        assert {body for body, _ in results} == {'lb-app1'}
    finally:
        app2.check_output('systemctl start fake-app')
    time.sleep(6)  # nginx_upstream_fail_timeout is 5s in this scenario
    assert {body for body, _ in bodies(client, URL, 10)} == set(APPS)


def test_upstream_entry_point_takes_a_host_out_and_back(client, lb):
    res = ansible_playbook(os.path.join(SCENARIO, 'upstream.yml'), '-e', '{"nginx_upstream_down": ["lb-app2"]}')
    assert res.returncode == 0, res.stdout[-3000:]
    try:
        assert 'down;' in lb.file('/etc/nginx/bulwark/upstream.conf').content_string
        assert {body for body, _ in bodies(client, URL, 8)} == {'lb-app1'}
    finally:
        res = ansible_playbook(os.path.join(SCENARIO, 'upstream.yml'))
        assert res.returncode == 0, res.stdout[-3000:]
    assert {body for body, _ in bodies(client, URL, 8)} == set(APPS)


def test_refused_configuration_fails_the_play_and_nginx_keeps_serving(client, lb):
    before = lb.file('/etc/nginx/bulwark/site.conf').content_string
    pid = lb.check_output('cat /run/nginx.pid')
    res = ansible_playbook(os.path.join(SCENARIO, 'converge.yml'),
                           '-e', '{"nginx_extra_server_directives": ["no_such_directive on;"]}')
    assert res.returncode != 0
    assert 'nginx -t refused the new configuration' in res.stdout + res.stderr, res.stdout[-3000:]
    assert lb.file('/etc/nginx/bulwark/site.conf').content_string == before
    assert lb.run('nginx -t').rc == 0
    assert lb.check_output('cat /run/nginx.pid') == pid
    assert lb.check_output('ls /etc/nginx/bulwark') == 'site.conf\nupstream.conf'  # no stray backups
    assert bodies(client, URL, 2, '/health') == [['ok', '200'], ['ok', '200']]


def test_private_keys_are_root_only(lb):
    for path in ('/etc/nginx/tls/server.key', '/etc/ssl/bulwark-lab-ca/ca.key'):
        key = lb.file(path)
        assert (key.user, key.group, key.mode) == ('root', 'root', 0o600)


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap):
    stats = check_mode_recap[LB]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']


def test_rate_limit_answers_429(client):
    time.sleep(3)  # let the burst bucket refill after the tests above
    got = codes(client, URL, 100)
    assert len(got) == 100 and set(got) == {'200', '429'}, got
    assert got.count('200') >= 21 and got.count('429') >= 20, got
    time.sleep(3)
    assert bodies(client, URL, 1)[0][1] == '200'
