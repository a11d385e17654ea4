"""Shared testinfra fixtures for every Molecule scenario under molecule/ (pytest loads this conftest for all)."""

import json
import os
import subprocess

import pytest


def ansible_playbook(playbook, *args, json_output=False):
    """Run ansible-playbook against the scenario's own inventory, with Molecule's ansible.cfg; return the result.

    With json_output the ansible.posix.json callback is used and ``result.report`` holds the parsed report.
    """
    inventory = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])
    env = dict(os.environ, ANSIBLE_NOCOLOR='1')
    if json_output:
        env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.posix.json'
    config = os.path.join(os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', ''), 'ansible.cfg')
    if os.path.isfile(config):
        env['ANSIBLE_CONFIG'] = config
    result = subprocess.run(['ansible-playbook', '-i', inventory] + list(args) + [playbook],
                            capture_output=True, text=True, env=env, check=False)
    result.report = None
    if json_output and '{' in result.stdout:
        result.report = json.JSONDecoder().raw_decode(result.stdout, result.stdout.index('{'))[0]
    return result


@pytest.fixture(scope='session')
def run_playbook():
    """The ansible_playbook helper, for tests that run a playbook of the collection against the scenario."""
    return ansible_playbook


@pytest.fixture(scope='session')
def check_mode_recap():
    """Run the scenario's converge.yml in check + diff mode against the converged hosts; return per-host stats.

    The standard: `--check --diff` on a converged host reports no changes. Molecule's own `check` step only proves
    that check mode does not fail on a fresh host, so this asserts the converged case.
    """
    playbook = os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml')
    result = ansible_playbook(playbook, '--check', '--diff', json_output=True)
    assert result.returncode == 0, 'check mode failed:\n%s\n%s' % (result.stdout[-4000:], result.stderr[-4000:])
    report = result.report
    changed_tasks = {}
    for play in report['plays']:
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                if res.get('changed'):
                    changed_tasks.setdefault(host, []).append(task['task']['name'])
    return {host: dict(stats, changed_tasks=changed_tasks.get(host, [])) for host, stats in report['stats'].items()}
