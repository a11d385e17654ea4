# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.module_utils.haproxy_stat import admin_down, backend_servers, serving

DOCUMENTATION = r"""
name: haproxy_server
short_description: One server of an HAProxy backend as the runtime API's C(show stat) sees it, and its peers
version_added: 0.1.0
description:
  - Parses the CSV that HAProxy's runtime API answers to C(show stat) and returns, for server O(server) of backend
    O(backend), its status, whether it takes traffic (C(UP)), whether it was taken out (C(MAINT), C(DRAIN)), and
    which other servers of the backend take traffic.
  - Fails when the output is not C(show stat) or the backend has no servers. A server missing from the backend is
    returned with status C(absent).
options:
  _input:
    description: The C(show stat) output (text or list of lines).
    type: raw
    required: true
  backend:
    description: The backend (C(pxname)).
    type: string
    required: true
  server:
    description: The server (C(svname)); for the app backend, the inventory hostname.
    type: string
    required: true
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Refuse to drain app1 when no other server of backend app takes traffic
  ansible.builtin.assert:
    that: (stat.stdout | bulwark.stack.haproxy_server('app', 'app1')).others_serving | length > 0
"""

RETURN = r"""
_value:
  description: The server's status and its peers that take traffic.
  type: dict
  sample: {"status": "UP", "serving": true, "admin_down": false, "others_serving": ["app3"]}
"""


def haproxy_server(show_stat, backend, server):
    """Jinja2 filter: ``stat.stdout | bulwark.stack.haproxy_server('app', inventory_hostname)``."""
    try:
        servers = backend_servers(show_stat, backend)
    except ValueError as exc:
        raise AnsibleFilterError('haproxy_server: %s' % exc) from exc
    status = servers.get(server, 'absent')
    return {'status': status, 'serving': serving(status), 'admin_down': admin_down(status),
            'others_serving': sorted(name for name, other in servers.items() if name != server and serving(other))}


class FilterModule(object):
    """bulwark.stack HAProxy runtime filter."""

    def filters(self):
        return {'haproxy_server': haproxy_server}
