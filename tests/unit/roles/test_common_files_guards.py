"""Every task guarded by bulwark.stack.common's file check names its own path.

A role lists its files for `tasks_from: files` and shares each entry with the task that writes the file through a
YAML anchor; the task then runs only `when: <its path> not in common_files_ok.stdout_lines`. A `when` that named
another listed path would skip a real change, so for every guarded task this checks that:
- its module arguments are one of the entries the file check was given (the same YAML object), or, for a loop over
  `item`, its loop items are (the `when` then names item.path or item.dest, and so do the arguments);
- the path in its `when` is the path in its arguments (both rendered with every variable standing for its name).
"""

import glob
import os
import re

import jinja2
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TASK_FILES = sorted(glob.glob(os.path.join(ROOT, 'roles', '*', 'tasks', '*.yml')))
FILE_MODULES = ('ansible.builtin.template', 'ansible.builtin.copy', 'ansible.builtin.file')
GUARD = re.compile(r'^(?P<path>.+?)\s+not in common_files_ok\.stdout_lines$')


class _Name(jinja2.Undefined):
    """An undefined variable renders as <its name>, so two expressions of the same variables can be compared."""

    def __str__(self):
        return '<%s>' % self._undefined_name

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return _Name(name='%s.%s' % (self._undefined_name, name))


ENV = jinja2.Environment(undefined=_Name)


def tasks(items):
    for task in items or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ('block', 'rescue', 'always'):
            yield from tasks(task.get(key))


def dicts(value):
    """Every mapping inside value (the entries given to the file check, wherever the import's vars hold them)."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from dicts(item)


def guarded(path):
    with open(path, encoding='utf-8') as handle:
        loaded = yaml.safe_load(handle) or []
    entries, checked = [], []
    for task in tasks(loaded):
        role = task.get('ansible.builtin.import_role') or {}
        if role.get('tasks_from') == 'files':
            entries.extend(dicts(task.get('vars', {}).get('common_files')))
            entries.extend(d for name, v in task.get('vars', {}).items() if name != 'common_files' for d in dicts(v))
            checked.append(str(task.get('vars', {}).get('common_files')))
        conditions = task.get('when') if isinstance(task.get('when'), list) else [task.get('when')]
        for condition in conditions:
            match = GUARD.match(str(condition or '').strip())
            if match:
                yield task, match.group('path'), entries, checked


CASES = [(os.path.relpath(p, ROOT), t, w, e, c) for p in TASK_FILES for t, w, e, c in guarded(p)]


def test_the_guards_are_found():
    assert len(CASES) >= 40, 'the file check guards fewer tasks than expected: is the pattern still right?'


@pytest.mark.parametrize('where, task, when_path, entries, checked', CASES,
                         ids=['%s: %s' % (c[0], c[1].get('name')) for c in CASES])
def test_guarded_task_names_its_own_path(where, task, when_path, entries, checked):
    module = [m for m in FILE_MODULES if m in task]
    assert len(module) == 1, '%s: %r is guarded by the file check but is no template/copy/file task' % (where, task.get('name'))
    args = task[module[0]]
    if when_path.strip() in ('item.path', 'item.dest'):
        assert args.get('path', args.get('dest')) == '{{ %s }}' % when_path.strip(), where
        loop = task.get('loop')
        if isinstance(loop, list):
            assert all(any(item is e for e in entries) for item in loop), \
                '%s: %r loops over items the file check was not given' % (where, task.get('name'))
        else:
            names = re.findall(r'[A-Za-z_][A-Za-z0-9_]*', str(loop))
            assert any(n in ' '.join(checked) for n in names if n not in ('item',)), \
                '%s: %r loops over %s, which the file check was not given' % (where, task.get('name'), loop)
        return
    assert any(args is e for e in entries), \
        '%s: %r does not share its arguments with an entry of the file check (use the entry\'s YAML anchor)' % (
            where, task.get('name'))
    written = ENV.from_string(str(args.get('dest', args.get('path')))).render()
    named = ENV.from_string('{{ %s }}' % when_path).render()
    assert named == written, '%s: %r writes %s but its when names %s' % (where, task.get('name'), written, named)
