# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit module's host probe parses `ss` output into listeners."""

from __future__ import absolute_import, division, print_function

from ansible_collections.bulwark.stack.plugins.modules import audit

__metaclass__ = type


class FakeModule:
    def __init__(self, outputs):
        self.outputs = outputs

    def get_bin_path(self, name, opt_dirs=None):
        return '/usr/bin/' + name if name in self.outputs else None

    def run_command(self, argv, environ_update=None):
        return 0, self.outputs[argv[0].rsplit('/', 1)[-1]], ''


def test_listeners_from_ss():
    ss = 'LISTEN 0 4096 172.30.90.10:9100 0.0.0.0:*\nLISTEN 0 511 [::]:80 [::]:*\nLISTEN 0 5 0.0.0.0:6379 0.0.0.0:*\n'
    probe = audit.HostProbe(FakeModule({'ss': ss}))
    assert probe.listeners() == [('172.30.90.10', 9100, ''), ('::', 80, ''), ('0.0.0.0', 6379, '')]


def test_missing_program_is_none():
    probe = audit.HostProbe(FakeModule({}))
    assert probe.run(['ufw', 'status']) is None and probe.listeners() == []
