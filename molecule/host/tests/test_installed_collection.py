"""The Galaxy tarball works on its own: installed into an empty project whose Python environment holds only
ansible-core and the collection's shipped meta/ee-requirements.txt (what an execution environment gets), a playbook
of that project runs the preflight validation (zxcvbn) and re-applies node_exporter to a converged host: bcrypt
hashes of web.yml (passlib, bcrypt) and the internal CA's certificate check on the controller (cryptography).
Nothing of the repository's own venv or of its .cache/collections link to the working tree is on the way.

The dependency collections cannot come from Galaxy offline: they are linked from the pinned `ansible` package
(scripts/collection_checks.py link-dependencies, as in scripts/test's execution_environment), then
`ansible-galaxy collection install --offline` installs the tarball and resolves galaxy.yml's dependencies against
them."""

import json
import os
import re
import shutil
import subprocess
import sys

from testlib import changed_tasks

HOST = 'host-debian12'
ROOT = os.environ.get('MOLECULE_PROJECT_DIRECTORY') or os.path.abspath(os.path.join(os.path.dirname(__file__), '../../..'))

PLAYBOOK = """---
- name: Preflight validation of the inventory (controller only)
  hosts: all
  gather_facts: false
  tasks:
    - name: Validate settings of every inventory host
      bulwark.stack.validate:
        required_groups: [monitoring]
      run_once: true
      delegate_to: localhost

- name: Node exporter
  hosts: all
  tasks:
    - name: Apply bulwark.stack.node_exporter
      ansible.builtin.include_role:
        name: bulwark.stack.node_exporter
"""
# The topology's other groups, empty: the scenario has only the monitoring group, and the validation refuses a
# service rule that names a group the inventory lacks.
GROUPS = 'all:\n  children:\n' + ''.join('    %s:\n' % g for g in ('lb', 'app', 'postgres', 'pgbouncer', 'redis', 'backup'))
CONFIG = '[defaults]\ninterpreter_python = auto_silent\n\n[connection]\npipelining = true\n'


def run(*args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, '%s\n%s\n%s' % (' '.join(args), result.stdout[-3000:], result.stderr[-3000:])
    return result


def test_tarball_in_an_empty_project_applies_a_role(tmp_path):
    with open(os.path.join(ROOT, 'requirements.txt')) as handle:
        core = re.search(r'^ansible-core==\S+', handle.read(), re.M).group(0)
    dist, project, venv = tmp_path / 'dist', tmp_path / 'project', tmp_path / 'venv'
    collections = project / 'collections'
    collections.mkdir(parents=True)
    run(shutil.which('ansible-galaxy'), 'collection', 'build', '--output-path', str(dist), ROOT)
    tarball = str(next(dist.glob('bulwark-stack-*.tar.gz')))

    # The project's own environment: an empty venv, ansible-core, then the installed collection's requirements only.
    # No Ansible setting of Molecule's (its config, roles and collections paths) and nothing of the repository's venv
    # on PATH: only the project's venv and the docker CLI (the community.docker.docker connection runs `docker exec`).
    env = {k: v for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME'))}
    env.update(PATH=os.pathsep.join([str(venv / 'bin'), os.path.dirname(shutil.which('docker')), '/usr/sbin:/usr/bin:/sbin:/bin']),
               ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(project / 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1', PIP_DISABLE_PIP_VERSION_CHECK='1')
    run(sys.executable, '-m', 'venv', str(venv))
    run(str(venv / 'bin/pip'), 'install', '-q', core, env=env)
    run(sys.executable, os.path.join(ROOT, 'scripts/collection_checks.py'), 'link-dependencies', tarball, str(collections))
    run(str(venv / 'bin/ansible-galaxy'), 'collection', 'install', '--offline', '-p', str(collections), tarball,
        env=env, cwd=str(project))
    installed = collections / 'ansible_collections/bulwark/stack'
    assert not installed.is_symlink() and (installed / 'MANIFEST.json').is_file()
    run(str(venv / 'bin/pip'), 'install', '-q', '-r', str(installed / 'meta/ee-requirements.txt'), env=env)

    (project / 'ansible.cfg').write_text(CONFIG)
    (project / 'groups.yml').write_text(GROUPS)
    (project / 'site.yml').write_text(PLAYBOOK)
    inventory = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])  # the scenario's: same host vars, same CA
    result = subprocess.run([str(venv / 'bin/ansible-playbook'), '-i', inventory, '-i', 'groups.yml', '-l', HOST,
                             'site.yml'], capture_output=True, text=True, check=False, cwd=str(project),
                            env=dict(env, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json'))
    out = result.stdout[-4000:] + result.stderr[-4000:]
    assert result.returncode == 0 and '{' in result.stdout, out
    report = json.JSONDecoder().raw_decode(result.stdout, result.stdout.index('{'))[0]
    stats = report['stats']
    assert list(stats) == [HOST], stats
    assert stats[HOST]['changed'] == 0 and stats[HOST]['failures'] == 0 and stats[HOST]['ok'] > 10, \
        (stats, changed_tasks(report))
    # Tasks of a role are named "<role> : <task>".
    results = [(task['task']['name'].split(' : ')[-1], task['hosts'][HOST]) for play in report['plays']
               for task in play['tasks'] if HOST in task['hosts']]
    ran = [name for name, res in results if not res.get('skipped')]
    for name in ('Validate settings of every inventory host',  # zxcvbn
                 "Which of the role's files are already as wanted (one run for all)"):  # web.yml: passlib, bcrypt
        assert name in ran, ran
    # cryptography: the exporter's certificate is read on the controller (x509_certificate_info) and found current,
    # so neither a signing request nor a signing follows.
    signing = [res for name, res in results if name.startswith('Signing request for ')]
    assert signing and all(res.get('skipped') for res in signing), results
