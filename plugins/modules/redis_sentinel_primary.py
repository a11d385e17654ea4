#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_sentinel_primary
version_added: 0.1.0
short_description: Ask running Redis Sentinels which host is the current primary, checked against ROLE
description:
  - Connects to each given Sentinel, authenticates, and asks C(SENTINEL GET-MASTER-ADDR-BY-NAME) and
    C(SENTINEL MASTER) for O(master_name); then asks C(ROLE) on each of O(redis_nodes). Read-only; changes nothing.
  - Fails closed. The address named by a strict majority of all given sentinels is returned as RV(primary) only when
    that node answers C(ROLE) as master and no other node does. RV(primary) is null (the caller bootstraps from its
    configured initial primary) only when provably nothing runs yet, that is when no sentinel and no Redis node
    listens. In every other case (credentials refused, no majority, sentinels down while Redis runs, hosts
    unreachable, a second master) the module fails and says what each sentinel and node answered, so a play never
    templates replicas or sentinels against a primary it is not sure of.
  - Speaks the Redis protocol over a TCP socket, over TLS with O(tls_ca_file); needs no Python Redis client on the
    target.
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
    description: Sentinel password (of the sentinels' default user). Empty sends no AUTH.
    type: str
    default: ""
  redis_nodes:
    description:
      - Addresses of the Redis hosts (C(host) or C(host:port)), asked C(ROLE). Empty skips the check against ROLE.
    type: list
    elements: str
    default: []
  redis_port:
    description: Default Redis port for O(redis_nodes) entries without one.
    type: int
    default: 6379
  redis_username:
    description: ACL user for C(ROLE) on the Redis nodes (the sentinel user is allowed it).
    type: str
    default: ""
  redis_password:
    description: Password of O(redis_username). Empty sends no AUTH.
    type: str
    default: ""
  sentinel_config:
    description:
      - Path of this host's sentinel.conf. When it exists, the passwords it holds are tried after O(password) (its
        C(sentinel-pass), else C(requirepass)) and after O(redis_password) (its C(auth-pass) for O(master_name)).
        While a run replaces them, the sentinels and Redis still accept only the values in effect.
      - Empty tries the given passwords only.
    type: path
    default: ""
  bootstrap_from_role:
    description:
      - When no sentinel answers but Redis runs, take the one master C(ROLE) reports, provided every node answers
        and every replica follows it. Only for finishing a first deployment that stopped before its sentinels
        started; without it that case fails.
    type: bool
    default: false
  tls_ca_file:
    description:
      - CA certificate (PEM) of the sentinels' and Redis nodes' TLS certificates. Set, every connection is TLS, and
        the peer's certificate must chain to this CA and name the address connected to; a host that answers
        otherwise is reported as an error, never trusted. The file is read only once a connection is accepted, so
        on hosts where nothing listens yet (a first run) it need not exist.
      - Empty speaks plaintext.
    type: path
    default: ""
  timeout:
    description: Seconds to wait for each sentinel or node to connect and answer.
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
- name: Current primary according to a majority of the sentinels, confirmed by ROLE
  bulwark.stack.redis_sentinel_primary:
    sentinels: "{{ groups['redis'] | map('extract', hostvars) | map('bulwark.stack.internal_address') | list }}"
    master_name: bulwark
    password: "{{ vault_redis_sentinel_password }}"
    redis_nodes: "{{ groups['redis'] | map('extract', hostvars) | map('bulwark.stack.internal_address') | list }}"
    redis_username: sentinel
    redis_password: "{{ vault_redis_sentinel_user_password }}"
  register: redis_discovered
  run_once: true

- name: Bootstrap from the first host when no sentinel runs yet
  ansible.builtin.set_fact:
    redis_primary_address: "{{ redis_discovered.primary.host if redis_discovered.primary else groups['redis'][0] }}"
"""

RETURN = r"""
primary:
  description: The current primary, or null when provably nothing runs yet (no sentinel and no Redis listens).
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
    - {"sentinel": "172.30.90.13:26379", "primary": null, "flags": "", "masters": [], "state": "refused",
       "error": "ConnectionRefusedError: [Errno 111] Connection refused"}
nodes:
  description: What each Redis node answered to ROLE.
  returned: always
  type: list
  elements: dict
  sample:
    - {"node": "172.30.90.12", "port": 6379, "state": "master", "following": null, "error": ""}
    - {"node": "172.30.90.13", "port": 6379, "state": "replica", "following": ["172.30.90.12", 6379], "error": ""}
"""

import os
import socket
import ssl

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bulwark.stack.plugins.module_utils.redis_files import sentinel_secrets
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


def tls_context(ca_file):
    """A client context that verifies the peer's certificate against ``ca_file`` and its name (TLS 1.2 or later)."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Connection(object):
    def __init__(self, host, port, timeout, tls_ca_file=''):
        self.sock = socket.create_connection((host, port), timeout)
        if tls_ca_file:
            try:
                self.sock = tls_context(tls_ca_file).wrap_socket(self.sock, server_hostname=host)
            except Exception:
                self.sock.close()
                raise
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


class AuthRefused(Exception):
    """The server refused the credentials (or the command for lack of them)."""


def authenticate(conn, username, passwords):
    """AUTH with the first of ``passwords`` the server accepts (none sent when the first is empty)."""
    passwords = [p for p in passwords if p] if passwords and passwords[0] else []
    refusal = None
    for password in passwords:
        reply = conn.call(*(['AUTH', username, password] if username else ['AUTH', password]))
        if not isinstance(reply, RespError):
            return
        refusal = reply
    if refusal is not None:
        raise AuthRefused('AUTH refused: %s' % refusal.message)


def ask(host, port, params):
    """One sentinel's view: (primary [host, port] or None, master flags dict, monitored names)."""
    conn = Connection(host, port, params['timeout'], params.get('tls_ca_file', ''))
    try:
        authenticate(conn, params['username'], [params['password'], params.get('held_password', '')])
        masters = conn.call('SENTINEL', 'MASTERS')
        if isinstance(masters, RespError):
            raise AuthRefused('SENTINEL MASTERS refused: %s' % masters.message)
        names = sorted(str(pairs_to_dict(item).get('name')) for item in masters or [])
        addr = conn.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', params['master_name'])
        if isinstance(addr, RespError) or not addr:
            return None, {}, names
        info = conn.call('SENTINEL', 'MASTER', params['master_name'])
        info = {} if isinstance(info, RespError) else pairs_to_dict(info)
        return [str(addr[0]), int(addr[1])], info, names
    finally:
        conn.close()


def role(host, port, params):
    """One Redis node's answer to ROLE: ('master', None) or ('replica', [primary host, port])."""
    conn = Connection(host, port, params['timeout'], params.get('tls_ca_file', ''))
    try:
        authenticate(conn, params['redis_username'], [params['redis_password'], params.get('held_auth_pass', '')])
        reply = conn.call('ROLE')
        if isinstance(reply, RespError):
            raise AuthRefused('ROLE refused: %s' % reply.message)
        if reply and reply[0] == 'master':
            return 'master', None
        if reply and reply[0] == 'slave':
            return 'replica', [str(reply[1]), int(reply[2])]
        raise ValueError('unexpected ROLE reply %r' % (reply,))
    finally:
        conn.close()


def failure(exc):
    """The report state and text for an exception while asking a sentinel or node."""
    state = 'auth' if isinstance(exc, AuthRefused) else 'refused' if isinstance(exc, ConnectionRefusedError) else 'error'
    return state, '%s: %s' % (type(exc).__name__, exc) if state != 'auth' else str(exc)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sentinels=dict(type='list', elements='str', required=True),
            port=dict(type='int', default=26379),
            master_name=dict(type='str', required=True),
            username=dict(type='str', default=''),
            password=dict(type='str', default='', no_log=True),
            redis_nodes=dict(type='list', elements='str', default=[]),
            redis_port=dict(type='int', default=6379),
            redis_username=dict(type='str', default=''),
            redis_password=dict(type='str', default='', no_log=True),
            sentinel_config=dict(type='path', default=''),
            bootstrap_from_role=dict(type='bool', default=False),
            tls_ca_file=dict(type='path', default=''),
            timeout=dict(type='float', default=2.0),
        ),
        supports_check_mode=True,
    )
    params = dict(module.params)
    held = {'password': '', 'auth_pass': ''}
    if params['sentinel_config'] and os.path.exists(params['sentinel_config']):
        try:
            with open(params['sentinel_config'], encoding='utf-8') as handle:
                held = sentinel_secrets(handle.read(), params['master_name'])
        except (OSError, ValueError) as exc:
            module.fail_json(msg='cannot read %s: %s' % (params['sentinel_config'], exc))
    params['held_password'], params['held_auth_pass'] = held['password'], held['auth_pass']
    report, nodes, in_failover, answering = [], [], False, 0
    for entry in params['sentinels']:
        try:
            host, port = split_address(entry, params['port'])
        except ValueError:
            module.fail_json(msg='sentinels entry %r is not host or host:port' % entry)
        label = '%s:%d' % (host, port)
        primary, info, names, state, error = None, {}, [], '', ''
        try:
            primary, info, names = ask(host, port, params)
            state = 'primary' if primary else 'unmonitored'
            answering += 1
        except (AuthRefused, OSError, ValueError) as exc:
            state, error = failure(exc)
        if primary and failover_in_progress(info):
            in_failover = True
        report.append(dict(sentinel=label, primary=primary, flags=str(info.get('flags', '')), masters=names,
                           state=state, error=error))
    for entry in params['redis_nodes']:
        try:
            host, port = split_address(entry, params['redis_port'])
        except ValueError:
            module.fail_json(msg='redis_nodes entry %r is not host or host:port' % entry)
        following, error = None, ''
        try:
            state, following = role(host, port, params)
        except (AuthRefused, OSError, ValueError) as exc:
            state, error = failure(exc)
        nodes.append(dict(node=host, port=port, state=state, following=following, error=error))
    try:
        primary = decide_primary(report, nodes, params['bootstrap_from_role'])
    except RedisTopologyError as exc:
        module.fail_json(msg=str(exc), sentinels=report, nodes=nodes, failover_in_progress=in_failover,
                         answering=answering)
    module.exit_json(changed=False, primary=primary, answering=answering, failover_in_progress=in_failover,
                     sentinels=report, nodes=nodes)


if __name__ == '__main__':
    main()
