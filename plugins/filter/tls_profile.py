# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter adapter for plugins/module_utils/tls_profile.py (the data and logic live there)."""

from __future__ import absolute_import, division, print_function

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.module_utils.tls_profile import TlsProfileError
from ansible_collections.bulwark.stack.plugins.module_utils.tls_profile import tls_profile as _render_tls_profile

__metaclass__ = type

DOCUMENTATION = r"""
name: tls_profile
version_added: 0.1.0
short_description: Render a Mozilla Server Side TLS profile as nginx or HAProxy settings
description:
  - Takes a Mozilla Server Side TLS profile name (guidelines version 6.0) and returns a dictionary of
    ready-to-template settings for C(nginx) or C(haproxy).
  - Follows the conditions of the Mozilla SSL Configuration Generator for the given server and OpenSSL
    versions, for example TLS 1.3 is dropped for servers or OpenSSL releases without it, the hybrid
    post-quantum group C(X25519MLKEM768) is dropped for OpenSSL older than 3.5.0, and HAProxy
    C(ssl-default-server-curves) is only rendered for HAProxy 2.9 and later.
  - Every key for the chosen server is always present; a directive the generator would not render for
    the given versions is returned as C(none).
options:
  _input:
    description:
      - The profile name, C(intermediate) (recommended for general-purpose servers) or C(modern) (TLS 1.3 only).
      - The C(old) configuration is not part of guidelines 6.0 and is rejected.
    type: string
    required: true
    choices: [intermediate, modern]
  server:
    description:
      - The server software to render the settings for.
    type: string
    required: true
    choices: [nginx, haproxy]
  server_version:
    description:
      - Version of nginx or HAProxy, for example C(1.22.1) or C(2.8). Quote it in YAML so it stays a string.
      - When omitted, the generator's latest known version is assumed (nginx C(1.27.3), HAProxy C(3.0)).
    type: string
    required: false
  openssl_version:
    description:
      - Version of the OpenSSL library the server is linked against, for example C(3.0.15) or C(3.5.1).
      - When omitted, a current OpenSSL (C(4.0.1)) is assumed, which keeps the hybrid C(X25519MLKEM768) group.
    type: string
    required: false
notes:
  - OCSP stapling is opt-in in the generator, so nginx C(ssl_stapling) is C(off) (or C(none) where nginx is too old).
seealso:
  - name: Mozilla Server Side TLS guidelines
    description: The published recommendations this filter renders.
    link: https://wiki.mozilla.org/Security/Server_Side_TLS
  - name: Mozilla SSL Configuration Generator
    description: The generator whose rendering conditions this filter follows.
    link: https://ssl-config.mozilla.org/
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Settings for an nginx 1.22 on Debian 12 (OpenSSL 3.0)
  ansible.builtin.set_fact:
    nginx_tls: "{{ 'intermediate' | bulwark.stack.tls_profile('nginx', server_version='1.22.1', openssl_version='3.0.15') }}"
# nginx_tls.ssl_protocols == 'TLSv1.2 TLSv1.3'
# nginx_tls.ssl_ecdh_curve == 'X25519:prime256v1:secp384r1'
# nginx_tls.ssl_session_tickets == 'off'

- name: Settings for HAProxy 3.0 linked against OpenSSL 3.5
  ansible.builtin.set_fact:
    haproxy_tls: "{{ 'intermediate' | bulwark.stack.tls_profile('haproxy', server_version='3.0.11', openssl_version='3.5.1') }}"
# haproxy_tls['ssl-default-bind-curves'] == 'X25519MLKEM768:X25519:prime256v1:secp384r1'
# haproxy_tls['ssl-default-bind-options'] == 'prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets'

- name: Use it in a template
  ansible.builtin.debug:
    msg: >-
      ssl_protocols {{ nginx_tls.ssl_protocols }};
      {% if nginx_tls.ssl_ciphers is not none %}ssl_ciphers {{ nginx_tls.ssl_ciphers }};{% endif %}
"""

RETURN = r"""
_value:
  description:
    - Settings for the chosen server. Keys common to both servers are C(profile), C(server), C(server_version),
      C(openssl_version), C(guidelines_version), C(protocols), C(ciphers), C(ciphersuites), C(groups) (lists),
      C(hsts_max_age) (int, 63072000), C(hsts_header) (C(max-age=63072000)) and C(redirect_code) (308).
    - For nginx also C(ssl_protocols), C(ssl_ciphers), C(ssl_ecdh_curve), C(ssl_prefer_server_ciphers),
      C(ssl_session_timeout), C(ssl_session_cache), C(ssl_session_tickets), C(ssl_stapling), C(ssl_stapling_verify),
      C(ocsp_stapling_supported) (bool), C(hsts_always) (bool, add the header with C(always)) and C(http2)
      (C(directive) for C(http2 on;), C(listen) for C(listen 443 ssl http2;), or none).
    - For HAProxy C(ssl-default-bind-curves), C(ssl-default-bind-ciphers), C(ssl-default-bind-ciphersuites),
      C(ssl-default-bind-options), the matching C(ssl-default-server-*) keys and C(alpn).
    - A value of none means the generator does not render that directive for the given profile and versions.
  type: dict
"""


def tls_profile(profile, server, server_version=None, openssl_version=None):
    """Jinja2 filter: ``'intermediate' | bulwark.stack.tls_profile('nginx', server_version='1.22.1')``."""
    try:
        return _render_tls_profile(profile, server, server_version=server_version, openssl_version=openssl_version)
    except TlsProfileError as exc:
        raise AnsibleFilterError('tls_profile: %s' % exc) from exc


class FilterModule(object):
    """bulwark.stack TLS profile filter."""

    def filters(self):
        return {
            'tls_profile': tls_profile,
        }
