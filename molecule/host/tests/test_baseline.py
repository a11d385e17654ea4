"""Behaviour of bulwark.stack.baseline: each host logs in to the other over SSH; kernel, journal and limits live;
the login policy, su, modules, banner, APT security suite and integrity checks are exercised, not just read."""

import re
import shlex

import pytest

from testlib import ansible_playbook, peer_fixtures, scenario_hosts

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
    assert conf['permitrootlogin'] == 'no'
    assert conf['disableforwarding'] == 'yes'
    assert conf['loglevel'] == 'VERBOSE'
    assert conf['maxstartups'] == '10:30:60'
    assert conf['banner'] == '/etc/issue.net'
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


def test_forwarding_is_refused(client, target):
    # A direct-tcpip channel (what -L and -W open) to the target's own sshd: the server refuses it.
    result = ssh_from(client, 'tester', target, '-W 127.0.0.1:22')
    assert result.rc == 255, (result.stdout, result.stderr)
    assert 'administratively prohibited' in result.stderr, result.stderr


def test_banner_is_shown_before_authentication(client, target):
    # outsider is refused (AllowGroups), yet sees the banner: it comes before authentication.
    result = ssh_from(client, 'outsider', target)
    assert result.rc == 255
    assert 'Authorized access only.' in result.stderr, result.stderr
    assert target.file('/etc/issue').content_string.startswith('Authorized access only.')


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
    ('net.ipv6.conf.all.accept_ra', '0'),
    ('net.ipv6.conf.default.accept_ra', '0'),
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
                 'fs.suid_dumpable = 0', 'kernel.sysrq = 0', 'kernel.kexec_load_disabled = 1', 'dev.tty.ldisc_autoload = 0',
                 'net.core.bpf_jit_harden = 2', 'kernel.randomize_va_space = 2'):
        assert line in persisted
    assert target.run('sh -c "echo 2 > /proc/sys/kernel/kptr_restrict"').rc != 0  # really read-only here


def test_unattended_upgrades_allow_only_the_security_archive(target):
    out = target.check_output('unattended-upgrade --dry-run --debug 2>&1 | grep "Allowed origins are:"')
    origins = re.split(r',\s+', out.split('Allowed origins are:', 1)[1].strip())
    assert origins == ['origin=Debian,codename=%s-security,label=Debian-Security' % target.system_info.codename], out
    for timer in ('apt-daily.timer', 'apt-daily-upgrade.timer'):
        assert target.service(timer).is_enabled
    assert target.check_output('apt-config shell X APT::Periodic::Unattended-Upgrade') == "X='1'"


def test_security_suite_index_is_there(target):
    # The lab images list only the main suite: the role added the security suite and refreshed the index, so
    # security updates can arrive (unattended-upgrades allows only that origin).
    policy = target.check_output('apt-cache policy')
    assert re.search(r'n=%s-security,l=Debian-Security' % target.system_info.codename, policy), policy


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


def as_user(target, user, command):
    """A login shell of `user` on the target (su - from root: a PAM session, as ssh and login open one)."""
    return target.run('su - %s -c %s' % (user, shlex.quote(command)))


def test_interactive_sessions_create_files_640_and_directories_750(client, target):
    # Over SSH (sshd's PAM session) and through su: the umask is 027 whatever Debian's own pam_umask does for
    # user-private groups (tester's primary group is its own).
    result = ssh_from(client, 'tester', target, command='umask')
    assert result.rc == 0 and result.stdout.strip() == '0027', (result.stdout, result.stderr)
    made = as_user(target, 'tester', 'd=$(mktemp -d -p ~); touch $d/f; mkdir $d/sub; stat -c "%a %n" $d/f $d/sub; rm -r $d')
    assert made.rc == 0, made.stderr
    assert [line.split()[0] for line in made.stdout.split('\n') if line] == ['640', '750'], made.stdout


SU = r"""
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp('runuser', ['runuser', '-u', sys.argv[1], '--', 'su', '-c', 'id -un', sys.argv[2]])
out, sent, deadline = b'', False, time.time() + 20
while time.time() < deadline:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not sent and b'assword' in out:
        os.write(fd, sys.argv[3].encode() + b'\n')
        sent = True
os.waitpid(pid, 0)
print(out.decode(errors='replace'))
"""


def test_su_is_refused_to_users_outside_the_group(target):
    # sutarget's password is known to both callers: only pam_wheel's group check can tell them apart.
    password = 'su-target-password-481'
    target.check_output('id suadmin >/dev/null 2>&1 || useradd -M -G bulwark-su suadmin; '
                        'id sutarget >/dev/null 2>&1 || useradd -M sutarget; '
                        'echo "sutarget:%s" | chpasswd' % password)
    script = '/root/su-probe.py'
    target.check_output('cat > %s <<"EOF"\n%sEOF' % (script, SU))
    member = target.check_output('python3 %s suadmin sutarget %s' % (script, password))
    outsider = target.check_output('python3 %s tester sutarget %s' % (script, password))
    assert member.strip().endswith('sutarget'), member
    assert 'Permission denied' in outsider and not outsider.strip().endswith('sutarget'), outsider  # pam_wheel's verdict


def test_login_defs_policy_applies_to_new_accounts(target):
    target.check_output('id defsprobe >/dev/null 2>&1 || useradd -M defsprobe; echo "defsprobe:probe-pw-7731" | chpasswd')
    ageing = target.check_output('chage -l defsprobe')
    assert re.search(r'Maximum number of days between password change\s*:\s*365', ageing), ageing
    assert re.search(r'Minimum number of days between password change\s*:\s*1', ageing), ageing
    shadow = target.check_output('getent shadow defsprobe').split(':')[1]
    assert shadow.startswith('$y$'), shadow[:6]  # yescrypt


@pytest.mark.parametrize('module', ['dccp', 'sctp', 'usb-storage', 'cramfs'])
def test_disabled_kernel_modules_cannot_be_loaded(target, module):
    # The container has no modules of its own: what it shows is modprobe refusing by the role's install line, the
    # same refusal a host with the module on disk gets (before the module file is even looked up).
    result = target.run('modprobe %s' % module)
    assert result.rc != 0
    assert '/bin/false' in result.stderr, result.stderr
    assert 'blacklist %s' % module.replace('-', '_') in target.check_output('modprobe -c').replace('-', '_')


def test_container_toggles_leave_no_failed_unit(target):
    # auditd, acct and AIDE's daily check cannot run in a container (the kernel's audit and accounting, and
    # CAP_DAC_READ_SEARCH, are the host's): the role installs the first two nowhere here and keeps the third off.
    assert not target.package('auditd').is_installed and not target.package('acct').is_installed
    assert not target.service('dailyaidecheck.timer').is_enabled
    failed = target.check_output('systemctl list-units --failed --plain --no-legend')
    assert failed == '', failed


def test_package_integrity_check_names_a_changed_file(target):
    unit = 'bulwark-package-integrity.service'
    assert target.service('bulwark-package-integrity.timer').is_enabled
    assert target.run('systemctl start %s' % unit).rc == 0, target.run('journalctl -u %s -n 20 --no-pager' % unit).stdout
    victim = '/usr/share/common-licenses/GPL-3'
    target.check_output('cp -p %s /root/gpl3.bak && echo tampered >> %s' % (victim, victim))
    try:
        result = target.run('systemctl start %s' % unit)
        journal = target.check_output('journalctl -u %s -n 20 --no-pager -o cat' % unit)
        assert result.rc != 0
        assert victim in journal, journal
    finally:
        target.check_output('cp -p /root/gpl3.bak %s && systemctl reset-failed %s' % (victim, unit))
    assert target.run('systemctl start %s' % unit).rc == 0


def test_aide_baseline_reports_a_new_file(target):
    assert target.file('/var/lib/aide/aide.db').exists
    probe_file = '/etc/bulwark-aide-probe'
    target.check_output('echo probe > %s' % probe_file)
    try:
        result = target.run('aide --check --config /etc/aide/aide.conf --limit "^/etc/bulwark-aide-probe"')
    finally:
        target.check_output('rm -f %s' % probe_file)
    assert result.rc & 1, (result.rc, result.stdout[-2000:])  # AIDE's exit code: bit 1 = new files
    assert probe_file in result.stdout, result.stdout[-2000:]


MOUNTS_PLAY = """
- name: The baseline's mount options on a mount this host owns
  hosts: all
  gather_facts: false
  tasks:
    - name: Mount options
      ansible.builtin.include_role:
        name: bulwark.stack.baseline
        tasks_from: mounts
      vars:
        bulwark_container: false  # this mount is the container's own (its mount namespace), not the runtime's
        baseline_mount_options:
          /srv/bulwark-scratch: defaults,nodev,nosuid,noexec
          /srv/bulwark-not-a-mount: defaults,nodev,nosuid,noexec
"""


def test_mount_options_are_set_and_remounted(target, tmp_path):
    # Docker mounts /tmp and /dev/shm noexec already, and the role leaves a container's mounts alone: so the proof
    # uses a tmpfs this container mounts itself (exec allowed), and tells the role it owns it.
    scratch = '/srv/bulwark-scratch'
    target.check_output('mkdir -p %s && (findmnt %s >/dev/null || mount -t tmpfs -o rw,size=1m tmpfs %s) && '
                        'cp /bin/true %s/probe' % (scratch, scratch, scratch, scratch))
    assert target.run('%s/probe' % scratch).rc == 0  # executable before the role runs
    playbook = tmp_path / 'mounts.yml'
    playbook.write_text(MOUNTS_PLAY)
    try:
        first = ansible_playbook(str(playbook), '--limit', target.backend.host)
        again = ansible_playbook(str(playbook), '--limit', target.backend.host)
        assert first.returncode == 0, first.stdout[-3000:]
        assert '/srv/bulwark-not-a-mount: not a separate mount' in ' '.join(first.stdout.split()), first.stdout[-3000:]
        options = target.check_output('findmnt -no OPTIONS %s' % scratch).split(',')
        assert {'nodev', 'nosuid', 'noexec'} <= set(options), options
        assert target.run('%s/probe' % scratch).rc == 126  # noexec: Permission denied
        assert re.search(r'^tmpfs\s+%s\s+tmpfs\s+defaults,nodev,nosuid,noexec\s' % scratch,
                         target.file('/etc/fstab').content_string, re.M)
        assert again.returncode == 0 and re.search(r'changed=0\s', again.stdout), again.stdout[-2000:]
    finally:
        target.run("umount %s; sed -i '\\#%s#d' /etc/fstab" % (scratch, scratch))
