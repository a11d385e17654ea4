#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_sentinel_primary
version_added: 0.1.0
short_description: Ask running Redis Sentinels which host is the current primary
description:
  - Connects to each given Sentinel, authenticates, and asks C(SENTINEL GET-MASTER-ADDR-BY-NAME) and
    C(SENTINEL MASTER) for O(master_name). Read-only; changes nothing.
  - When the answering sentinels agree, or a strict majority of all given sentinels names one address, that address
    is returned as RV(primary). When no sentinel answers or none monitors O(master_name) (nothing deployed yet),
    RV(primary) is null and the caller bootstraps from its configured initial primary.
  - When the sentinels disagree without a majority the module fails, naming what each one said, so a play never
    templates replicas or sentinels against a stale primary.
  - Speaks the Redis protocol over a plain TCP socket; needs no Python Redis client on the target.
options:
  sentinels:
    description:
      - Sentinel addresses, as C(host) or C(host:port) (IPv6 as C([addr]:port)). O(port) applies to entries
        without a port.
    type: list
    elements: str
    required: true
  port:
    description: Default Sentinel port.
    type: int
    default: 26379
  master_name:
    description: The name the sentinels monitor (C(sentinel monitor <name> ...)).
    type: str
    required: true
  username:
    description: ACL user to authenticate as on the sentinels. Empty authenticates with the password only.
    type: str
    default: ""
  password:
    description: Sentinel password (C(requirepass) of the sentinels). Empty sends no AUTH.
    type: str
    default: ""
  timeout:
    description: Seconds to wait for each sentinel to connect and answer.
    type: float
    default: 2.0
attributes:
  check_mode:
    description: Can run in check mode and return the same answer (the module only reads).
    support: full
  diff_mode:
    description: Returns no diff (nothing changes).
    support: none
author: bulwark.stack maintainers (@bulwark-stack)
"""

EXAMPLES = r"""
- name: Current primary according to the running sentinels
  bulwark.stack.redis_sentinel_primary:
    sentinels: "{{ groups['redis'] | map('extract', hostvars) | map('bulwark.stack.internal_address') | list }}"
    master_name: bulwark
    password: "{{ vault_redis_sentinel_password }}"
  register: redis_discovered
  run_once: true

- name: Bootstrap from the first host when no sentinel runs yet
  ansible.builtin.set_fact:
    redis_primary_address: "{{ redis_discovered.primary.host if redis_discovered.primary else groups['redis'][0] }}"
"""

RETURN = r"""
primary:
  description: The current primary, or null when no sentinel names one (nothing deployed yet).
  returned: always
  type: dict
  sample: {"host": "172.30.90.12", "port": 6379}
  contains:
    host:
      description: Address the sentinels announce for the primary.
      type: str
    port:
      description: Its Redis port.
      type: int
answering:
  description: How many sentinels answered (authenticated and replied).
  returned: always
  type: int
  sample: 3
failover_in_progress:
  description: True when an answering sentinel sees the primary down or a failover running; retry later.
  returned: always
  type: bool
  sample: false
sentinels:
  description: What each sentinel said.
  returned: always
  type: list
  elements: dict
  sample:
    - {"sentinel": "172.30.90.12:26379", "primary": ["172.30.90.12", 6379], "flags": "master", "masters": ["bulwark"], "error": ""}
    - {"sentinel": "172.30.90.13:26379", "primary": null, "flags": "", "masters": [], "error": "ConnectionRefusedError: [Errno 111] Connection refused"}
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bulwark.stack.plugins.module_utils.redis_topology import (
    IncompleteReply,
    RedisTopologyError,
    RespError,
    decide_primary,
    encode_command,
    failover_in_progress,
    pairs_to_dict,
    parse_reply,
)


def split_address(entry, default_port):
    entry = entry.strip()
    if entry.startswith('['):
        host, rest = entry[1:].split(']', 1)
        return host, int(rest[1:]) if rest.startswith(':') else default_port
    if entry.count(':') == 1:
        host, port = entry.split(':')
        return host, int(port)
    return entry, default_port


class Connection(object):
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b''

    def call(self, *args):
        self.sock.sendall(encode_command(*args))
        while True:
            try:
                value, pos = parse_reply(self.buf)
            except IncompleteReply:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError('connection closed by the server')
                self.buf += chunk
                continue
            self.buf = self.buf[pos:]
            return value

    def close(self):
        self.sock.close()


def ask(host, port, params):
    """One sentinel's view: (primary [host, port] or None, master flags dict, monitored names, error text)."""
    conn = Connection(host, port, params['timeout'])
    try:
        if params['password']:
            auth = ['AUTH', params['username'], params['password']] if params['username'] else ['AUTH', params['password']]
            reply = conn.call(*auth)
            if isinstance(reply, RespError):
                return None, {}, [], 'AUTH refused: %s' % reply.message
        masters = conn.call('SENTINEL', 'MASTERS')
        if isinstance(masters, RespError):
            return None, {}, [], 'SENTINEL MASTERS refused: %s' % masters.message
        names = sorted(str(pairs_to_dict(item).get('name')) for item in masters or [])
        addr = conn.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', params['master_name'])
        if isinstance(addr, RespError) or not addr:
            return None, {}, names, ''
        info = conn.call('SENTINEL', 'MASTER', params['master_name'])
        info = {} if isinstance(info, RespError) else pairs_to_dict(info)
        return [str(addr[0]), int(addr[1])], info, names, ''
    finally:
        conn.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sentinels=dict(type='list', elements='str', required=True),
            port=dict(type='int', default=26379),
            master_name=dict(type='str', required=True),
            username=dict(type='str', default=''),
            password=dict(type='str', default='', no_log=True),
            timeout=dict(type='float', default=2.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    report, answers, in_failover, answering = [], {}, False, 0
    for entry in params['sentinels']:
        try:
            host, port = split_address(entry, params['port'])
        except ValueError:
            module.fail_json(msg='sentinels entry %r is not host or host:port' % entry)
        label = '%s:%d' % (host, port)
        try:
            primary, info, names, error = ask(host, port, params)
        except (OSError, ValueError) as exc:
            primary, info, names, error = None, {}, [], '%s: %s' % (type(exc).__name__, exc)
        if not error:
            answering += 1
        if primary and failover_in_progress(info):
            in_failover = True
        answers[label] = primary
        report.append(dict(sentinel=label, primary=primary, flags=str(info.get('flags', '')), masters=names,
                           error=error))
    try:
        primary = decide_primary(answers, len(params['sentinels']))
    except RedisTopologyError as exc:
        module.fail_json(msg=str(exc), sentinels=report, failover_in_progress=in_failover)
    module.exit_json(changed=False, primary=primary, answering=answering, failover_in_progress=in_failover,
                     sentinels=report)


if __name__ == '__main__':
    main()
