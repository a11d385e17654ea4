# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.bulwark.stack.plugins.module_utils.jwk import jwk_thumbprint, public_jwk

# RFC 7638 section 3.1: the example RSA key and its thumbprint.
RFC7638_N = (
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs'
    'tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr'
    'n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw')
RFC7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'


def pem(public_key):
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def b64url_int(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + '=' * (-len(text) % 4)), 'big')


def test_rfc7638_example_key_gives_the_rfc_thumbprint():
    key = rsa.RSAPublicNumbers(65537, b64url_int(RFC7638_N)).public_key()
    assert jwk_thumbprint(pem(key)) == RFC7638_THUMBPRINT
    assert jwk_thumbprint(pem(key).encode()) == RFC7638_THUMBPRINT


@pytest.mark.parametrize('curve, crv, size', [(ec.SECP256R1(), 'P-256', 32), (ec.SECP384R1(), 'P-384', 48),
                                              (ec.SECP521R1(), 'P-521', 66)])
def test_ec_keys_use_fixed_size_coordinates_in_canonical_order(curve, crv, size):
    key = ec.generate_private_key(curve).public_key()
    jwk = public_jwk(pem(key))
    assert jwk['crv'] == crv and jwk['kty'] == 'EC'
    numbers = key.public_numbers()
    # Leading zero bytes are kept (RFC 7518 6.2.1.2): the coordinate is always the curve's size.
    assert len(base64.urlsafe_b64decode(jwk['x'] + '==')) == size
    assert b64url_int(jwk['x']) == numbers.x and b64url_int(jwk['y']) == numbers.y
    canonical = '{"crv":"%s","kty":"EC","x":"%s","y":"%s"}' % (crv, jwk['x'], jwk['y'])
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b'=').decode()
    assert jwk_thumbprint(pem(key)) == expected and len(expected) == 43


def test_other_key_types_are_refused():
    with pytest.raises(ValueError, match='RSA key or an EC key'):
        jwk_thumbprint(pem(ed25519.Ed25519PrivateKey.generate().public_key()))
    with pytest.raises(ValueError, match='RSA key or an EC key'):
        jwk_thumbprint(pem(ec.generate_private_key(ec.SECP256K1()).public_key()))


def test_garbage_is_refused():
    with pytest.raises(ValueError):
        jwk_thumbprint('-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n')
