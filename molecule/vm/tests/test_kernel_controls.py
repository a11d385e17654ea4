"""bulwark.stack.baseline on virtual machines (Debian 12 and 13): the controls that belong to a kernel of the host's own (audit,
process accounting, module loading, host-wide sysctls, mounts), exercised where containers cannot show them."""

import time
import uuid

import pytest

from testlib import scenario_hosts

testinfra_hosts = scenario_hosts()
USER = 'bulwark'  # the login user (ansible_become: every command below runs as root in that user's SSH session)


def wait_for_output(host, command, needle, tries=20):
    """The output of `command` once it holds `needle` (the audit and accounting logs are written asynchronously),
    or its last output after `tries` half-second waits."""
    for _ in range(tries):
        output = host.run(command).stdout
        if needle in output:
            break
        time.sleep(0.5)
    return output


def assert_mounted_noexec_nosuid_nodev(host, path):
    """`path` is a mount with the three options, and a program copied there is refused."""
    options = host.check_output('findmnt -no OPTIONS %s', path).split(',')
    assert {'noexec', 'nosuid', 'nodev'} <= set(options), options
    probe = '%s/bwprobe' % path
    host.check_output('install -m 0755 /bin/true %s', probe)
    try:
        result = host.run(probe)
        assert result.rc != 0 and 'Permission denied' in result.stderr, result.stderr
    finally:
        host.run('rm -f %s', probe)


def test_it_is_a_virtual_machine_not_a_container(host):
    assert host.check_output('systemd-detect-virt --vm') != 'none'
    assert host.run('systemd-detect-virt --container').rc != 0


def test_auditd_runs_with_the_roles_rules_loaded(host):
    assert host.service('auditd').is_running and host.service('auditd').is_enabled
    loaded = host.check_output('auditctl -l')
    for rule in ('-w /etc/passwd -p wa -k identity', '-w /etc/sudoers -p wa -k scope', '-w /etc/pam.d -p wa -k pam',
                 '-w /etc/ssh/sshd_config -p wa -k sshd', '-w /etc/localtime -p wa -k time-change'):
        assert rule in loaded, loaded
    # the system-call rules, for both ABIs of x86_64 (the kernel prints them back in its own order)
    for key in ('time-change', 'modules', 'mounts', 'perm_mod'):
        for arch in ('b64', 'b32'):
            assert [line for line in loaded.splitlines() if 'arch=%s' % arch in line and 'key=%s' % key in line], (key, arch)
    status = host.check_output('auditctl -s')
    assert 'enabled 1' in status, status


def test_a_journald_restart_leaves_auditing_on(host):
    # Debian builds journald with Audit=no: every journald start switched the kernel's auditing off, auditd still
    # running and recording nothing (found here). The role's journald drop-in says Audit=yes where auditd runs.
    host.check_output('systemctl restart systemd-journald')
    status = host.check_output('auditctl -s')
    assert 'enabled 1' in status, status


def test_a_watched_change_is_recorded(host):
    # A new account writes /etc/passwd: the identity rule records it, with the account's name in the event.
    name = 'audit%s' % uuid.uuid4().hex[:6]
    host.check_output('useradd --no-create-home --shell /usr/sbin/nologin %s', name)
    try:
        found = wait_for_output(host, 'ausearch --input-logs -k identity -i --start recent', name)
        assert name in found, found[-2000:]
    finally:
        host.run('userdel %s', name)


def test_a_users_permission_change_is_recorded(host):
    # perm_mod covers what logged-in users do (auid >= 1000), not services: a chmod in the login user's session is
    # recorded under that user's login name, even after sudo.
    marker = 'perm-%s' % uuid.uuid4().hex[:6]
    host.check_output('runuser -u %s -- sh -c "touch /tmp/%s && chmod 600 /tmp/%s"', USER, marker, marker)
    found = wait_for_output(host, 'ausearch --input-logs -k perm_mod -i --start recent', marker)
    host.run('rm -f /tmp/%s', marker)
    assert marker in found and 'auid=%s' % USER in found, found[-2000:]


def test_process_accounting_records_commands(host):
    assert host.service('acct').is_running and host.service('acct').is_enabled
    probe = '/usr/local/bin/bwprobe%s' % uuid.uuid4().hex[:4]
    host.check_output('install -m 0755 /bin/true %s && %s', probe, probe)
    command = probe.rsplit('/', 1)[1][:15]  # the kernel keeps 15 characters of a command's name
    found = wait_for_output(host, 'lastcomm --command %s' % command, command)
    host.run('rm -f %s', probe)
    assert command in found, found


@pytest.mark.parametrize('module', ['dccp', 'sctp', 'udf'])  # Debian builds no cramfs module
def test_disabled_modules_do_not_load_although_they_exist(host, module):
    # The module is on disk (modinfo finds it), and modprobe refuses it by the role's install line.
    assert host.run('modinfo -n %s', module).rc == 0
    result = host.run('modprobe %s', module)
    assert result.rc != 0 and '/bin/false' in result.stderr, result.stderr
    assert module not in host.check_output('cut -d" " -f1 /proc/modules').split()


def test_other_modules_still_load(host):
    # the refusal is the role's list, not a broken module loader
    host.check_output('modprobe dummy')
    try:
        assert 'dummy' in host.check_output('cut -d" " -f1 /proc/modules').split()
    finally:
        host.run('modprobe -r dummy')


@pytest.mark.parametrize('key, value', [
    ('kernel.kptr_restrict', '2'), ('kernel.dmesg_restrict', '1'), ('kernel.sysrq', '0'),
    ('kernel.kexec_load_disabled', '1'), ('kernel.randomize_va_space', '2'), ('fs.protected_symlinks', '1'),
    ('fs.suid_dumpable', '0'), ('dev.tty.ldisc_autoload', '0'), ('net.core.bpf_jit_harden', '2'),
])
def test_host_wide_sysctls_are_live(host, key, value):
    assert host.check_output('sysctl -n %s', key) == value


def test_dmesg_is_refused_to_users(host):
    assert host.run('runuser -u %s -- dmesg', USER).rc != 0
    assert host.run('dmesg').rc == 0


def test_dev_shm_is_mounted_noexec_nosuid_nodev(host):
    assert_mounted_noexec_nosuid_nodev(host, '/dev/shm')
    assert '/dev/shm' in host.file('/etc/fstab').content_string


def test_tmp_is_noexec_where_it_is_a_mount(host):
    # Debian 13 mounts /tmp as a tmpfs (Debian 12 keeps it on the root filesystem, which the role leaves alone).
    if host.system_info.codename == 'bookworm':
        assert host.run('findmnt /tmp').rc != 0
        return
    assert_mounted_noexec_nosuid_nodev(host, '/tmp')


def test_no_failed_unit(host):
    failed = host.check_output('systemctl list-units --failed --plain --no-legend')
    assert failed == '', failed
