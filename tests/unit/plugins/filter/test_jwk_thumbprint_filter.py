# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ansible_collections.bulwark.stack.plugins.filter.jwk_thumbprint import FilterModule


def pem(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_filter_is_registered_and_gives_a_43_character_thumbprint():
    thumbprint = FilterModule().filters()['jwk_thumbprint'](pem(ec.generate_private_key(ec.SECP256R1())))
    assert len(thumbprint) == 43 and '=' not in thumbprint


def test_filter_error_names_itself():
    with pytest.raises(AnsibleFilterError, match='^jwk_thumbprint: .*RSA key or an EC key'):
        FilterModule().filters()['jwk_thumbprint'](pem(ed25519.Ed25519PrivateKey.generate()))
