"""Behaviour of bulwark.stack.logrotate: forced rotations rotate and compress, and the services keep logging."""

import os
import time

import pytest
import testinfra.utils.ansible_runner

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
testinfra_hosts = sorted(testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts('all'))

GET = ('python3 -c "import sys, urllib.request, urllib.error\n'
       'try: urllib.request.urlopen(\'http://127.0.0.1\' + sys.argv[1], timeout=5)\n'
       'except urllib.error.HTTPError: pass" %s')


def wait_for(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def test_whole_configuration_is_clean(host):
    result = host.run('logrotate -d /etc/logrotate.conf')
    assert result.rc == 0, result.stderr
    assert 'error:' not in result.stderr, result.stderr  # (error.log is a file name in the output)
    assert 'duplicate' not in result.stderr.lower()
    assert 'considering log /var/log/nginx/access.log' in result.stderr


def test_only_installed_services_get_a_rule(host):
    present = sorted(f for f in host.file('/etc/logrotate.d').listdir() if f.startswith('bulwark-'))
    assert present == ['bulwark-app', 'bulwark-nginx']


def test_debian_nginx_rule_is_diverted_not_duplicated(host):
    assert not host.file('/etc/logrotate.d/nginx').exists
    assert host.file('/etc/logrotate.d/nginx.disabled').exists
    assert '/etc/logrotate.d/nginx.disabled' in host.check_output('dpkg-divert --list /etc/logrotate.d/nginx')
    rule = host.file('/etc/logrotate.d/bulwark-nginx').content_string
    for directive in ('maxsize 100M', 'rotate 10', 'maxage 7', 'compress', 'create 0640 www-data adm', 'postrotate'):
        assert directive in rule


def test_nginx_rotation_signals_and_compresses(host):
    log = '/var/log/nginx/access.log'
    host.check_output(GET % '/before-first-rotation')
    assert wait_for(lambda: 'before-first-rotation' in host.file(log).content_string)
    host.check_output('logrotate -f /etc/logrotate.d/bulwark-nginx')
    assert 'before-first-rotation' in host.file(log + '.1').content_string  # delaycompress: .1 stays plain
    new = host.file(log)
    assert (new.user, new.group, new.mode) == ('www-data', 'adm', 0o640)
    # nginx got USR1 and writes to the new file, not to the renamed one
    host.check_output(GET % '/after-first-rotation')
    assert wait_for(lambda: 'after-first-rotation' in host.file(log).content_string), host.file(log).content_string
    assert 'after-first-rotation' not in host.file(log + '.1').content_string
    host.check_output('logrotate -f /etc/logrotate.d/bulwark-nginx')
    assert host.file(log + '.2.gz').exists
    assert 'before-first-rotation' in host.check_output('zcat %s.2.gz' % log)
    host.check_output(GET % '/after-second-rotation')
    assert wait_for(lambda: 'after-second-rotation' in host.file(log).content_string)


def app_lines(host, path):
    return [int(line.split()[-1]) for line in host.check_output('cat %s' % path).splitlines() if line.startswith('app line')]


def test_app_copytruncate_keeps_the_open_file_and_keeps_count(host):
    log = '/var/log/app/app.log'
    assert host.service('app-logger').is_running
    for round_ in range(5):
        assert wait_for(lambda: host.file(log).size > 0)
        host.check_output('logrotate -f /etc/logrotate.d/bulwark-app')
        assert host.run('gzip -t %s.1.gz' % log).rc == 0, 'round %d' % round_
    rotated = host.check_output('zcat %s.1.gz' % log)
    assert 'app line' in rotated and '\0' not in rotated
    before = app_lines(host, log)
    # the writer still holds its original descriptor: new lines land in the truncated file, without a hole
    assert wait_for(lambda: len(app_lines(host, log)) > len(before) + 3)
    assert host.file(log).size < 100000
    assert not host.check_output('head -c 1 %s | od -An -c' % log).strip() == '\\0'
    # logrotate_rules_extra set rotate 3 for the app: older files are gone
    assert sorted(host.file('/var/log/app').listdir()) == ['app.log', 'app.log.1.gz', 'app.log.2.gz', 'app.log.3.gz']


def test_timer_runs_hourly(host):
    assert host.service('logrotate.timer').is_enabled
    assert host.service('logrotate.timer').is_running
    calendar = host.check_output('systemctl show logrotate.timer -p TimersCalendar --value')
    assert '*-*-* *:00:00' in calendar or 'hourly' in calendar, calendar
    assert 'daily' not in calendar.replace('hourly', '')


@pytest.mark.parametrize('service', ['nginx', 'app-logger'])
def test_services_survived_rotation(host, service):
    assert host.service(service).is_running


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, host):
    stats = check_mode_recap[host.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']
