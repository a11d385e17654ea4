"""Shared testinfra fixtures for every Molecule scenario under molecule/ (pytest loads this conftest for all)."""

import json
import os
import subprocess

import pytest


@pytest.fixture(scope='session')
def check_mode_recap():
    """Run the scenario's converge.yml in check + diff mode against the converged hosts; return per-host stats.

    The standard: `--check --diff` on a converged host reports no changes. Molecule's own `check` step only proves
    that check mode does not fail on a fresh host, so this asserts the converged case.
    """
    inventory = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])
    playbook = os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml')
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1')
    config = os.path.join(os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', ''), 'ansible.cfg')
    if os.path.isfile(config):
        env['ANSIBLE_CONFIG'] = config
    result = subprocess.run(['ansible-playbook', '--check', '--diff', '-i', inventory, playbook],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, 'check mode failed:\n%s\n%s' % (result.stdout[-4000:], result.stderr[-4000:])
    report = json.JSONDecoder().raw_decode(result.stdout, result.stdout.index('{'))[0]
    changed_tasks = {}
    for play in report['plays']:
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                if res.get('changed'):
                    changed_tasks.setdefault(host, []).append(task['task']['name'])
    return {host: dict(stats, changed_tasks=changed_tasks.get(host, [])) for host, stats in report['stats'].items()}
