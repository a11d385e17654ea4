"""Every role keeps the collection's contract: specs, documented defaults, README in sync, managed templates."""

import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in ROOT.glob('roles/*/tasks/main.yml'))


def test_there_are_roles():
    assert ROLES, 'no roles found under roles/'


@pytest.mark.parametrize('role', ROLES, ids=lambda p: p.name)
def test_role_has_contract_files(role):
    for rel in ('meta/argument_specs.yml', 'meta/main.yml', 'defaults/main.yml', 'README.md'):
        assert (role / rel).is_file(), '%s/%s is missing' % (role.name, rel)


@pytest.mark.parametrize('role', ROLES, ids=lambda p: p.name)
def test_defaults_match_argument_specs_and_are_prefixed(role):
    defaults = yaml.safe_load((role / 'defaults/main.yml').read_text()) or {}
    spec = yaml.safe_load((role / 'meta/argument_specs.yml').read_text())['argument_specs']['main']['options']
    assert set(defaults) == set(spec), 'defaults/main.yml and meta/argument_specs.yml disagree: %s' % (
        sorted(set(defaults) ^ set(spec)))
    unprefixed = [name for name in spec if not name.startswith(role.name + '_')]
    assert not unprefixed, 'variables must start with %s_: %s' % (role.name, unprefixed)
    for name, opt in spec.items():
        assert opt.get('description'), '%s has no description in argument_specs' % name
        if 'default' in opt:
            assert opt['default'] == defaults[name], '%s: argument_specs default %r != defaults/main.yml %r' % (
                name, opt['default'], defaults[name])


@pytest.mark.parametrize('role', ROLES, ids=lambda p: p.name)
def test_templates_start_with_ansible_managed(role):
    for template in sorted(role.glob('templates/**/*.j2')):
        first = template.read_text().splitlines()[0]
        assert first == '{{ ansible_managed | comment }}', '%s does not start with the ansible_managed header' % template


def test_role_readmes_are_generated_from_specs():
    result = subprocess.run([sys.executable, str(ROOT / 'scripts/role_docs.py'), '--check'], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
