"""bulwark.stack.audit on converged hosts: clean audit, then each deliberate misconfiguration is reported by ID.

The audit runs through playbooks/audit.yml (the way operators run it), with the JSON callback, against the
scenario's own inventory. Each misconfiguration is made on every host, audited once, and restored.
"""

import json
import os
import subprocess

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
HOSTS = sorted(testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts('all'))
testinfra_hosts = HOSTS
PLAYBOOK = os.path.join(os.environ.get('MOLECULE_PROJECT_DIRECTORY', os.getcwd()), 'playbooks', 'audit.yml')
DEFAULTS = '/etc/default/prometheus-node-exporter'
KEY = '/etc/prometheus/node-exporter/tls.key'
DROPIN = '/etc/systemd/system/prometheus-node-exporter.service.d/zz-audit-test-root.conf'


def get_host(name):
    return testinfra.get_host('ansible://' + name, ansible_inventory=INVENTORY)


def run_audit(*extra):
    """Run playbooks/audit.yml; return (returncode, {host: [ids]}, stats)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1')
    config = os.path.join(os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', ''), 'ansible.cfg')
    if os.path.isfile(config):
        env['ANSIBLE_CONFIG'] = config
    result = subprocess.run(['ansible-playbook', '-i', os.path.dirname(INVENTORY), PLAYBOOK] + list(extra),
                            capture_output=True, text=True, env=env, check=False)
    report = json.JSONDecoder().raw_decode(result.stdout, result.stdout.index('{'))[0]
    ids = {}
    for play in report['plays']:
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                if 'findings' in res:
                    ids[host] = sorted(set(f['id'] for f in res['findings']))
    return result.returncode, ids, report['stats']


def on_all(command):
    for name in HOSTS:
        get_host(name).check_output(command)


def restart():
    on_all('systemctl daemon-reload && systemctl restart prometheus-node-exporter && sleep 1')


def test_converged_hosts_audit_clean():
    rc, ids, stats = run_audit('-e', 'bulwark_audit_fail_on=error')
    assert rc == 0
    assert ids == {name: [] for name in HOSTS}
    assert all(s['changed'] == 0 for s in stats.values()), stats


def test_audit_changes_nothing_in_check_mode():
    before = {name: get_host(name).check_output('find /etc -xdev -newer /etc/hostname -type f | sort | md5sum') for name in HOSTS}
    rc, ids, stats = run_audit('--check')
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
        rc, ids, dummy = run_audit('-e', 'bulwark_audit_fail_on=error')
        assert rc != 0, 'CI mode must fail on an error finding'
        for name in HOSTS:
            assert finding in ids[name], (name, ids[name])
    finally:
        on_all(restores)
        if needs_restart:
            restart()
    rc, ids, dummy = run_audit()
    assert ids == {name: [] for name in HOSTS}, 'restoring did not bring the audit back to clean'


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, host):
    stats = check_mode_recap[host.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']
