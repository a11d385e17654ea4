# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.module_utils.tls_names import name_matches

DOCUMENTATION = r"""
name: tls_name_matches
short_description: Whether a certificate's subject alternative names cover a server name
version_added: 0.1.0
description:
  - Matches a DNS name or IP address against C(subjectAltName) entries as returned by
    C(community.crypto.x509_certificate_info) (C(DNS:example.org), C(DNS:*.example.org), C(IP:192.0.2.1)).
  - A wildcard covers exactly one left-most label (RFC 6125). The subject common name is not consulted.
options:
  _input:
    description: The server name (DNS name or IP address).
    type: string
    required: true
  subject_alt_names:
    description: The certificate's subject alternative names.
    type: list
    elements: string
    required: true
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Operator certificate covers the server name
  ansible.builtin.assert:
    that: "'www.example.org' | bulwark.stack.tls_name_matches(['DNS:*.example.org'])"
"""

RETURN = r"""
_value:
  description: True when one entry covers the name.
  type: bool
"""


def tls_name_matches(name, subject_alt_names):
    """Jinja2 filter: ``'www.example.org' | bulwark.stack.tls_name_matches(cert.subject_alt_name)``."""
    try:
        return name_matches(name, subject_alt_names)
    except ValueError as exc:
        raise AnsibleFilterError('tls_name_matches: %s' % exc) from exc


class FilterModule(object):
    """bulwark.stack certificate name filter."""

    def filters(self):
        return {'tls_name_matches': tls_name_matches}
