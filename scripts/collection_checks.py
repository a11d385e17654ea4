#!/usr/bin/env python3
"""Checks of the built collection as others consume it, shared by scripts/test and molecule/host:

    python scripts/collection_checks.py link-dependencies TARBALL COLLECTIONS_DIR
        Link the collections TARBALL's MANIFEST.json depends on (and theirs, recursively) into
        COLLECTIONS_DIR/ansible_collections from the pinned `ansible` package: Galaxy is offline on the test machines,
        so this stands in for what `ansible-galaxy collection install` would fetch.
    python scripts/collection_checks.py ee-requirements INTROSPECTED_REQUIREMENTS_TXT
        Every Python package the controller-side plugins import (plus passlib's bcrypt backend) reaches the EE from
        this collection (`ansible-builder introspect --write-pip` output), in a range that admits the version
        requirements.txt pins.
    python scripts/collection_checks.py ee-context CONTEXT_DIR
        The build context of `ansible-builder create` requires this collection and every collection galaxy.yml
        depends on, and the EE definition installs the ansible-core requirements.txt pins.

Run from the repository root with the repository's venv. Exit status 1 and a message naming what is wrong.
"""

import ast
import glob
import importlib.metadata
import json
import os
import re
import sys
import tarfile

import yaml
from packaging.requirements import Requirement


def link_dependencies(tarball, collections):
    import ansible_collections  # the pinned `ansible` package's collections, in this venv
    with tarfile.open(tarball) as tar:
        todo = list(json.load(tar.extractfile('MANIFEST.json'))['collection_info']['dependencies'])
    shipped = [p for p in ansible_collections.__path__ if os.path.isdir(os.path.join(p, 'community'))][0]
    while todo:
        namespace, name = todo.pop().split('.')
        dest = os.path.join(collections, 'ansible_collections', namespace, name)
        if os.path.lexists(dest):
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.symlink(os.path.join(shipped, namespace, name), dest)
        with open(os.path.join(dest, 'MANIFEST.json'), encoding='utf-8') as handle:
            todo += list(json.load(handle)['collection_info'].get('dependencies') or [])
    return []


def controller_imports():
    """Distribution names of what plugins/ imports outside the standard library and Ansible (modules excluded: they
    run on the managed hosts)."""
    dists = importlib.metadata.packages_distributions()
    needed = set()
    for path in glob.glob('plugins/**/*.py', recursive=True):
        if path.startswith('plugins/modules/'):
            continue
        with open(path, encoding='utf-8') as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for top in {n.split('.')[0] for n in names}:
                if top in sys.stdlib_module_names or top in ('ansible', 'ansible_collections', '__future__'):
                    continue
                needed.update(d.lower() for d in dists.get(top, [top]))
    return needed


def ee_requirements(introspected):
    ours = {}
    with open(introspected, encoding='utf-8') as handle:
        for line in handle:
            req, _, source = line.partition('# from collection ')
            if source.strip() == 'bulwark.stack':
                requirement = Requirement(req.strip())
                ours[requirement.name.lower()] = requirement
    needed = controller_imports() | {'bcrypt'}  # bcrypt: passlib's backend, never imported by name
    provided = {'pyyaml', 'jinja2', 'markupsafe'}  # ansible-core's own requirements
    pins = {}
    with open('requirements.txt', encoding='utf-8') as handle:
        for line in handle:
            if line.strip() and not line.startswith('#'):
                requirement = Requirement(line.split('#')[0].strip())
                pins.update({requirement.name.lower(): s.version for s in requirement.specifier if s.operator == '=='})
    bad = []
    for name in sorted(needed - provided):
        if name not in ours:
            bad.append('%s: imported on the controller, missing from meta/ee-requirements.txt' % name)
        elif name in pins and not ours[name].specifier.contains(pins[name], prereleases=True):
            bad.append('%s: requirements.txt pins %s, outside %s' % (name, pins[name], ours[name].specifier))
    print('EE python requirements of bulwark.stack: ' + ', '.join(str(r) for r in ours.values()))
    return bad


def ee_context(context):
    with open(os.path.join(context, '_build', 'requirements.yml'), encoding='utf-8') as handle:
        names = {c['name'] for c in yaml.safe_load(handle)['collections']}
    with open('galaxy.yml', encoding='utf-8') as handle:
        missing = ({'bulwark.stack'} | set(yaml.safe_load(handle)['dependencies'])) - names
    with open('execution-environment/execution-environment.yml', encoding='utf-8') as handle:
        core = yaml.safe_load(handle)['dependencies']['ansible_core']['package_pip']
    with open('requirements.txt', encoding='utf-8') as handle:
        pin = [line.strip() for line in handle if re.match(r'ansible-core==', line)]
    bad = ['build context: requirements.yml lacks %s' % sorted(missing)] if missing else []
    if [core] != pin:
        bad.append('execution-environment.yml has %s, requirements.txt %s' % (core, pin))
    return bad


COMMANDS = {'link-dependencies': (link_dependencies, 2), 'ee-requirements': (ee_requirements, 1),
            'ee-context': (ee_context, 1)}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS or len(argv) - 2 != COMMANDS[argv[1]][1]:
        sys.exit(__doc__)
    problems = COMMANDS[argv[1]][0](*argv[2:])
    sys.exit('\n'.join(problems) or None)


if __name__ == '__main__':
    main(sys.argv)
