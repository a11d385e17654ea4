# -*- coding: utf-8 -*-
"""Counts, per host, the task results of a playbook run and how many of them ran a module on the host.

Used by benchmarks/lab_converge.py (not part of the collection): enable it with
  ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins ANSIBLE_CALLBACKS_ENABLED=bulwark_task_count
  BULWARK_TASK_COUNT_OUT=/path/counts.json
A loop counts one result per item. Actions that run only on the controller (set_fact, assert, debug, include_*,
meta ...) are counted as results but not as module runs on the host.
"""

from __future__ import annotations

DOCUMENTATION = '''
name: bulwark_task_count
type: aggregate
short_description: per-host task and module-run counts, written as JSON
description: Benchmark helper of bulwark.stack; writes the counts to the file named by BULWARK_TASK_COUNT_OUT.
'''

import json
import os
from collections import defaultdict

from ansible.plugins.callback import CallbackBase

CONTROLLER_ONLY = {
    'set_fact', 'assert', 'debug', 'fail', 'meta', 'include_tasks', 'import_tasks', 'include_role',
    'import_role', 'include_vars', 'add_host', 'group_by', 'set_stats', 'pause', 'validate_argument_spec',
    'end_play', 'end_host', 'noop',
}


def _short(action):
    return (action or '').rsplit('.', 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bulwark_task_count'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.counts = defaultdict(lambda: defaultdict(int))

    def _count(self, result, status):
        host = result._host.get_name()
        action = _short(result._task.action)
        items = result._result.get('results') if isinstance(result._result, dict) else None
        if status != 'skipped' and isinstance(items, list) and result._task.loop is not None:
            ran = [i for i in items if not i.get('skipped')]
            n = len(ran)
            self.counts[host]['skipped'] += len(items) - n
        else:
            n = 1
        self.counts[host][status] += n if status != 'skipped' else 1
        if status != 'skipped' and action not in CONTROLLER_ONLY and not result._task.delegate_to:
            self.counts[host]['module_runs'] += n

    def v2_runner_on_ok(self, result):
        self._count(result, 'changed' if result._result.get('changed') else 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._count(result, 'skipped')

    def v2_playbook_on_stats(self, stats):
        out = os.environ.get('BULWARK_TASK_COUNT_OUT')
        if out:
            with open(out, 'w', encoding='utf-8') as handle:
                json.dump({host: dict(c) for host, c in sorted(self.counts.items())}, handle, indent=1, sort_keys=True)
