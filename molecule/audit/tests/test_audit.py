"""bulwark.stack.audit on converged hosts: clean audit, then each deliberate misconfiguration is reported by ID.

The audit runs through playbooks/audit.yml (the way operators run it), with the JSON callback, against the
scenario's own inventory. Each misconfiguration is made on every host, audited once, and restored.
"""

import os

import pytest

from testlib import get_host, run_audit, scenario_hosts

HOSTS = scenario_hosts()
testinfra_hosts = HOSTS
PLAYBOOK = os.path.join(os.environ.get('MOLECULE_PROJECT_DIRECTORY', os.getcwd()), 'playbooks', 'audit.yml')
DEFAULTS = '/etc/default/prometheus-node-exporter'
KEY = '/etc/prometheus/node-exporter/tls.key'
DROPIN = '/etc/systemd/system/prometheus-node-exporter.service.d/zz-audit-test-root.conf'


def on_all(command):
    for name in HOSTS:
        get_host(name).check_output(command)


def restart():
    on_all('systemctl daemon-reload && systemctl restart prometheus-node-exporter && sleep 1')


def test_converged_hosts_audit_clean():
    rc, ids, stats = run_audit(PLAYBOOK, '-e', 'bulwark_audit_fail_on=error')
    assert rc == 0
    assert ids == {name: [] for name in HOSTS}
    assert all(s['changed'] == 0 for s in stats.values()), stats


def test_audit_changes_nothing_in_check_mode():
    before = {name: get_host(name).check_output('find /etc -xdev -newer /etc/hostname -type f | sort | md5sum') for name in HOSTS}
    rc, ids, stats = run_audit(PLAYBOOK, '--check')
    assert rc == 0 and set(ids) == set(HOSTS)
    assert all(s['changed'] == 0 and s['failures'] == 0 for s in stats.values()), stats
    after = {name: get_host(name).check_output('find /etc -xdev -newer /etc/hostname -type f | sort | md5sum') for name in HOSTS}
    assert before == after


MISCONFIGURATIONS = {
    'BW-NEX-001': (
        "cp %s /root/ne.bak && sed -i -E 's/--web.listen-address=[^ \"]+/--web.listen-address=0.0.0.0:9100/' %s" % (DEFAULTS, DEFAULTS),
        'cp /root/ne.bak %s' % DEFAULTS, True),
    'BW-NEX-002': (
        "cp %s /root/ne.bak && sed -i -E 's/ --web.config.file=[^ \"]+//' %s" % (DEFAULTS, DEFAULTS),
        'cp /root/ne.bak %s' % DEFAULTS, True),
    'BW-FILE-001': ('chmod 0644 %s' % KEY, 'chmod 0640 %s' % KEY, False),
    'BW-PROC-001': ("printf '[Service]\\nUser=root\\nGroup=root\\n' > %s" % DROPIN, 'rm -f %s' % DROPIN, True),
}


@pytest.mark.parametrize('finding', sorted(MISCONFIGURATIONS))
def test_misconfiguration_is_reported(finding):
    breaks, restores, needs_restart = MISCONFIGURATIONS[finding]
    on_all(breaks)
    try:
        if needs_restart:
            restart()
        rc, ids, dummy = run_audit(PLAYBOOK, '-e', 'bulwark_audit_fail_on=error')
        assert rc != 0, 'CI mode must fail on an error finding'
        for name in HOSTS:
            assert finding in ids[name], (name, ids[name])
    finally:
        on_all(restores)
        if needs_restart:
            restart()
    rc, ids, dummy = run_audit(PLAYBOOK)
    assert ids == {name: [] for name in HOSTS}, 'restoring did not bring the audit back to clean'


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, host):
    stats = check_mode_recap[host.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']
