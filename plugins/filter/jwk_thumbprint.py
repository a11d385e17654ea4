# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.module_utils.jwk import jwk_thumbprint as thumbprint

DOCUMENTATION = r"""
name: jwk_thumbprint
short_description: The JWK thumbprint (RFC 7638) of a public key, as ACME uses it
version_added: 0.1.0
description:
  - Returns the base64url SHA-256 thumbprint of the key's JWK. An ACME HTTP-01 key authorization is the challenge
    token, a dot and this thumbprint of the account key, so a server that knows the thumbprint can answer every
    challenge of that account without a file per token.
  - Accepts RSA keys and EC keys on P-256, P-384 or P-521 (the ACME account key types). Runs on the controller and
    needs the Python library C(cryptography) there.
options:
  _input:
    description: The public key, PEM (for example C(public_key) of C(community.crypto.openssl_privatekey_info)).
    type: string
    required: true
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Thumbprint of the ACME account key
  ansible.builtin.set_fact:
    acme_thumbprint: "{{ account_key_info.public_key | bulwark.stack.jwk_thumbprint }}"
"""

RETURN = r"""
_value:
  description: The thumbprint, base64url without padding (43 characters).
  type: string
"""


def jwk_thumbprint(public_key_pem):
    """Jinja2 filter: ``info.public_key | bulwark.stack.jwk_thumbprint``."""
    try:
        return thumbprint(public_key_pem)
    except ValueError as exc:
        raise AnsibleFilterError('jwk_thumbprint: %s' % exc) from exc


class FilterModule(object):
    """bulwark.stack JWK thumbprint filter."""

    def filters(self):
        return {'jwk_thumbprint': jwk_thumbprint}
