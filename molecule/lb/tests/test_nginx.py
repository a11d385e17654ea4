"""Behaviour of bulwark.stack.nginx, seen from a client container: balancing, failover, rate limit, validated
reloads and the upstream entry point. Its TLS profile, redirect and headers: test_lb_profile.py."""

import os
import time

import pytest

from testlib import ansible_playbook, bodies, codes, curl, get_host, lb_fixtures

SCENARIO = os.environ['MOLECULE_SCENARIO_DIRECTORY']
LB, CLIENT, APPS = 'nginx-lb', 'lb-app1', ('lb-app1', 'lb-app2')
testinfra_hosts = ['ansible://' + LB]
URL = 'https://%s' % LB

lb, client, handshakes = lb_fixtures(LB, CLIENT)  # module fixtures: the LB, the client with the lab CA, TLS handshakes


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


def test_a_503_on_the_health_path_takes_no_app_host_out(client):
    """Every app host answers 503 on /health (a dependency they share, such as Redis, failing over): nginx passes
    the 503 on and counts no failed attempt, so / is served by both hosts right after. Retried on the other host,
    each 503 would count against both, and after max_fails (3) every request would get 502 for fail_timeout."""
    apps = [get_host(name) for name in APPS]
    for app in apps:
        app.check_output('touch /tmp/unhealthy')
    try:
        health = bodies(client, URL, 12, '/health')
    finally:
        for app in apps:
            app.check_output('rm -f /tmp/unhealthy')
    assert {code for _, code in health} == {'503'}, health
    results = bodies(client, URL, 10)
    assert all(code == '200' for _, code in results), results
    assert {body for body, _ in results} == set(APPS)


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
    for path in ('/etc/nginx/tls/server.key', '/etc/nginx/tls/acme-account.key'):
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
