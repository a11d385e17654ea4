# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy's runtime `show stat` CSV, as pure logic (no Ansible, no sockets): the servers of one backend and their
status, and which of them take traffic. Used by playbooks/deploy.yml through the filter
``bulwark.stack.haproxy_servers``, unit-tested in tests/unit."""

from __future__ import annotations

import csv
import io

# Statuses of a server that takes new traffic: "UP", and "UP 1/3" (up, failing checks, still in rotation).
# "DRAIN" (admin drain), "MAINT" (maintenance, also "MAINT (via ...)"), "NOLB", "DOWN" and "no check" take none or
# are unknown.
SERVING = ('UP',)
ADMIN_DOWN = ('MAINT', 'DRAIN')


def backend_servers(show_stat, backend):
    """``{server name: status}`` for the servers of ``backend`` in ``show stat`` output (header line starts '# ')."""
    text = show_stat if isinstance(show_stat, str) else '\n'.join(show_stat)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith('# '):
        raise ValueError('not the output of HAProxy "show stat" (no "# pxname,svname,..." header)')
    reader = csv.DictReader(io.StringIO('\n'.join([lines[0][2:]] + lines[1:])))
    servers = {}
    for row in reader:
        if row.get('pxname') == backend and row.get('svname') not in ('FRONTEND', 'BACKEND'):
            servers[row['svname']] = (row.get('status') or '').strip()
    if not servers:
        raise ValueError('backend %r has no servers in "show stat"' % backend)
    return servers


def serving(status):
    """True when a server with this status takes new traffic."""
    return status == 'UP' or status.startswith('UP ')


def admin_down(status):
    """True when an operator (or a deploy) took the server out: MAINT or DRAIN."""
    return any(status == state or status.startswith(state + ' ') for state in ADMIN_DOWN)
