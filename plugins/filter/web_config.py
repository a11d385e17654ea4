# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: web_config
version_added: 0.1.0
short_description: The exporter-toolkit web configuration (TLS, bcrypt basic-auth users) of a Prometheus component
description:
  - Returns the YAML file that Prometheus, Alertmanager and the exporters built on the exporter-toolkit read with
    C(--web.config.file) (node-exporter, postgres_exporter, ...), the one place the collection writes it.
  - With O(cert_file), a C(tls_server_config) with that certificate and key and TLS 1.2 or later; with O(client_ca_file)
    the server also requires a client certificate that chains to it.
  - Each user of the input becomes a bcrypt hash (salt derived from O(salt) and the user name, so a re-run changes
    nothing); the passwords themselves are not in the result.
options:
  _input:
    description: Basic-auth users, name to password (from Ansible Vault). Empty means no basic auth.
    type: dict
    required: true
  salt:
    description: Public, per-host string the salts derive from (C(<salt>:<user>)), e.g. the inventory hostname.
    type: str
    required: true
  rounds:
    description: bcrypt cost factor, 10 to 16.
    type: int
    default: 10
  cert_file:
    description: Path of the server certificate (with chain); empty means plain HTTP.
    type: str
    default: ""
  key_file:
    description: Path of its key.
    type: str
    default: ""
  client_ca_file:
    description: Require client certificates that chain to this CA file; empty means none.
    type: str
    default: ""
  managed_by:
    description: The role that writes the file; the first line says so (a file not from a template has no
      C(ansible_managed) header of its own).
    type: str
    default: bulwark.stack
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Web configuration (TLS and bcrypt-hashed basic-auth users)
  ansible.builtin.copy:
    content: >-
      {{ node_exporter_basic_auth_users | bulwark.stack.web_config(salt=inventory_hostname,
         cert_file='/etc/prometheus/node-exporter/tls.crt', key_file='/etc/prometheus/node-exporter/tls.key',
         managed_by='bulwark.stack.node_exporter') }}
    dest: /etc/prometheus/node-exporter/web.yml
    owner: root
    group: prometheus
    mode: "0640"
  no_log: true
"""

RETURN = r"""
_value:
  description: The file's text (YAML), ending with a newline.
  type: str
"""

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils.secrets import SecretError, bcrypt_hash


def web_config(users, salt, rounds=10, cert_file='', key_file='', client_ca_file='', managed_by='bulwark.stack'):
    if not isinstance(users, dict):
        raise AnsibleFilterError('web_config: the users must be a mapping of name to password, got %s'
                                 % type(users).__name__)
    if bool(cert_file) != bool(key_file):
        raise AnsibleFilterError('web_config: give both cert_file and key_file, or neither')
    lines = ['# Ansible managed (%s): changes made here are overwritten.' % ' '.join(str(managed_by).split()),
             '# exporter-toolkit web configuration (--web.config.file); passwords only as bcrypt hashes.']
    if cert_file:
        lines += ['tls_server_config:', '  cert_file: %s' % json.dumps(str(cert_file)),
                  '  key_file: %s' % json.dumps(str(key_file)), '  min_version: TLS12']
        if client_ca_file:
            lines += ['  client_auth_type: RequireAndVerifyClientCert',
                      '  client_ca_file: %s' % json.dumps(str(client_ca_file))]
    if users:
        lines.append('basic_auth_users:')
        for user in sorted(users):
            try:
                hashed = bcrypt_hash(users[user], '%s:%s' % (salt, user), rounds=int(rounds))
            except (SecretError, ValueError) as exc:
                raise AnsibleFilterError('web_config: user %s: %s' % (user, exc)) from exc
            lines.append('  %s: %s' % (json.dumps(str(user)), json.dumps(hashed)))
    return '\n'.join(lines) + '\n'


class FilterModule:
    def filters(self):
        return {'web_config': web_config}
