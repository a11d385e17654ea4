"""Behaviour of bulwark.stack.baseline: each host logs in to the other over SSH; kernel, journal and limits live."""

import re

import pytest

from testlib import peer_fixtures, scenario_hosts

HOSTS = scenario_hosts()
testinfra_hosts = HOSTS

SSH = 'ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10'
ROUTER = 'host-debian13'  # baseline_sysctl_ip_forward: true in molecule.yml

target, client = peer_fixtures(HOSTS)  # the host under test, and the other host of the scenario


def ssh_from(client, user, target, options='', command='true'):
    """Run ssh on the client container as `user` (with that user's own key) to the target container."""
    return client.run("runuser -u %s -- %s %s %s@%s '%s'" % (user, SSH, options, user, target.backend.host, command))


def sshd_config(target):
    return dict(line.split(' ', 1) for line in target.check_output('/usr/sbin/sshd -T').splitlines() if ' ' in line)


def test_sshd_effective_configuration(target):
    conf = sshd_config(target)
    assert conf['passwordauthentication'] == 'no'
    assert conf['kbdinteractiveauthentication'] == 'no'
    assert conf['permitrootlogin'] in ('prohibit-password', 'without-password')
    assert conf['permitemptypasswords'] == 'no'
    assert conf['maxauthtries'] == '4'
    assert conf['logingracetime'] == '20'
    assert conf['allowgroups'] == 'sshusers'
    assert conf['x11forwarding'] == 'no'
    kex = conf['kexalgorithms'].split(',')
    assert 'curve25519-sha256' in kex
    assert not [k for k in kex if 'sha1' in k or 'group14' in k or 'nistp' in k], kex
    assert not [c for c in conf['ciphers'].split(',') if 'cbc' in c or '3des' in c], conf['ciphers']
    assert all(m.endswith('-etm@openssh.com') for m in conf['macs'].split(',')), conf['macs']
    if target.system_info.codename == 'trixie':  # OpenSSH 10: the post-quantum hybrid is offered first
        assert kex[0] == 'mlkem768x25519-sha256', kex
    else:  # OpenSSH 9.2 has no ML-KEM: the role left it out, and sshd accepted the result
        assert 'mlkem768x25519-sha256' not in kex


def test_key_login_works_and_session_has_no_core_dumps(client, target):
    result = ssh_from(client, 'tester', target, command='id -un; ulimit -Hc')
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == ['tester', '0']


def test_password_login_is_refused(client, target):
    # tester has a valid password: only the server's configuration can refuse it. The server offers publickey only.
    result = ssh_from(client, 'tester', target,
                      '-o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive')
    assert result.rc == 255
    assert 'Permission denied (publickey)' in result.stderr, result.stderr


def test_root_cannot_log_in_with_a_password(client, target):
    result = client.run('%s -o PubkeyAuthentication=no -o PreferredAuthentications=password root@%s true'
                        % (SSH, target.backend.host))
    assert result.rc == 255 and 'Permission denied (publickey)' in result.stderr, result.stderr


def test_user_outside_allow_groups_is_refused_even_with_a_valid_key(client, target):
    result = ssh_from(client, 'outsider', target)
    assert result.rc == 255 and 'Permission denied' in result.stderr, result.stderr


@pytest.mark.parametrize('options,error', [
    ('-o KexAlgorithms=diffie-hellman-group14-sha256,diffie-hellman-group-exchange-sha1', 'no matching key exchange'),
    ('-o Ciphers=aes128-cbc,3des-cbc', 'no matching cipher'),
    ('-o Ciphers=aes128-ctr -o MACs=hmac-sha1,hmac-sha2-256', 'no matching MAC'),
])
def test_weak_algorithms_are_refused(client, target, options, error):
    result = ssh_from(client, 'tester', target, options)
    assert result.rc == 255 and error in result.stderr, result.stderr


def sysctl(target, key):
    return target.file('/proc/sys/' + key.replace('.', '/')).content_string.strip()


@pytest.mark.parametrize('key,value', [
    ('net.ipv4.conf.all.accept_redirects', '0'),
    ('net.ipv4.conf.all.send_redirects', '0'),
    ('net.ipv4.conf.all.accept_source_route', '0'),
    ('net.ipv4.conf.all.log_martians', '1'),
    ('net.ipv4.tcp_syncookies', '1'),
    ('net.ipv6.conf.all.accept_redirects', '0'),
])
def test_network_sysctls_are_live(target, key, value):
    assert sysctl(target, key) == value


def test_forwarding_switch(target):
    router = target.backend.host == ROUTER
    assert sysctl(target, 'net.ipv4.ip_forward') == ('1' if router else '0')
    assert sysctl(target, 'net.ipv4.conf.all.rp_filter') == ('2' if router else '1')


def test_host_wide_sysctls_are_persisted_for_boot(target):
    # kernel.* and fs.* are the host kernel's: a container cannot set them (/proc/sys is read-only here), so the
    # role only writes them for systemd-sysctl, and must not have failed on them.
    persisted = target.file('/etc/sysctl.d/60-bulwark-hardening.conf').content_string
    for line in ('kernel.kptr_restrict = 2', 'kernel.dmesg_restrict = 1', 'fs.protected_symlinks = 1',
                 'fs.suid_dumpable = 0'):
        assert line in persisted
    assert target.run('sh -c "echo 2 > /proc/sys/kernel/kptr_restrict"').rc != 0  # really read-only here


def test_unattended_upgrades_allow_only_the_security_archive(target):
    out = target.check_output('unattended-upgrade --dry-run --debug 2>&1 | grep "Allowed origins are:"')
    origins = re.split(r',\s+', out.split('Allowed origins are:', 1)[1].strip())
    assert origins == ['origin=Debian,codename=%s-security,label=Debian-Security' % target.system_info.codename], out
    for timer in ('apt-daily.timer', 'apt-daily-upgrade.timer'):
        assert target.service(timer).is_enabled
    assert target.check_output('apt-config shell X APT::Periodic::Unattended-Upgrade') == "X='1'"


def test_timesyncd_is_enabled_and_only_the_container_condition_stops_it(target):
    svc = target.service('systemd-timesyncd')
    assert svc.is_enabled
    props = target.check_output('systemctl show systemd-timesyncd -p ConditionResult -p ActiveState')
    if target.check_output('systemd-detect-virt --container || true') not in ('', 'none'):
        # systemd-timesyncd.service has ConditionVirtualization=!container: a container's clock is the host's.
        assert 'ConditionResult=no' in props
    else:
        assert 'ActiveState=active' in props


def test_journal_is_persistent_and_capped(target):
    marker = 'bulwark-baseline-journal-check-%s' % target.backend.host
    target.check_output('logger -t bulwarktest %s && journalctl --flush' % marker)
    persisted = target.run('journalctl -D /var/log/journal -t bulwarktest --no-pager -q')
    assert marker in persisted.stdout, persisted.stderr
    usage = target.check_output('journalctl -b -u systemd-journald --no-pager -q | grep "System Journal" | tail -n1')
    # journald prints the cap as 'max 200.0M' (Debian 12) or 'max 200M' (Debian 13).
    assert re.search(r'max 200(\.0)?M\b', usage), usage


def test_services_get_no_core_dumps(target):
    assert target.check_output('systemctl show -p DefaultLimitCORE --value') == '0'
    assert target.check_output('systemd-run --wait --pipe --quiet sh -c "ulimit -Hc"') == '0'


@pytest.mark.parametrize('name', ['bulwark-demo', 'bulwark-worker'])
def test_service_users_cannot_log_in(target, name):
    user = target.user(name)
    assert user.exists and user.uid < 1000
    assert user.shell == '/usr/sbin/nologin'
    assert user.home == '/nonexistent' and not target.file('/nonexistent').exists
    result = target.run('su %s -c true' % name)
    assert result.rc != 0 and 'not available' in result.stdout + result.stderr


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, target):
    stats = check_mode_recap[target.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']
