"""Shared testinfra fixtures for every Molecule scenario under molecule/ (pytest loads this conftest for all)."""

import os
import sys

import pytest

# Scenario tests cannot import this conftest: they import the shared helpers of molecule/testlib.py instead. pytest
# imports this file before any scenario test module, so putting its directory on sys.path here is enough.
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from testlib import ansible_playbook, changed_tasks  # noqa: E402  pylint: disable=wrong-import-position


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
    changed = changed_tasks(result.report)
    return {host: dict(stats, changed_tasks=changed.get(host, [])) for host, stats in result.report['stats'].items()}
