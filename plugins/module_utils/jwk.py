# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JWK thumbprint (RFC 7638) of a public key: the part of an ACME HTTP-01 key authorization that does not change."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the controller requirement; reported by the caller
    HAS_CRYPTOGRAPHY = False

# RFC 7518 section 6.2.1.1: the curves ACME account keys use, and their coordinate size in bytes.
CURVES = {'secp256r1': ('P-256', 32), 'secp384r1': ('P-384', 48), 'secp521r1': ('P-521', 66)}


def b64url(data):
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _uint(number, size=None):
    size = size or max(1, (number.bit_length() + 7) // 8)
    return b64url(number.to_bytes(size, 'big'))


def public_jwk(public_key_pem):
    """The required members of the JWK of a PEM public key (RSA or EC on P-256/384/521); ValueError otherwise."""
    if not HAS_CRYPTOGRAPHY:
        raise ValueError('the Python library cryptography is required on the controller')
    if isinstance(public_key_pem, str):
        public_key_pem = public_key_pem.encode('ascii')
    key = serialization.load_pem_public_key(public_key_pem)
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {'e': _uint(numbers.e), 'kty': 'RSA', 'n': _uint(numbers.n)}
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in CURVES:
        crv, size = CURVES[key.curve.name]
        numbers = key.public_numbers()
        return {'crv': crv, 'kty': 'EC', 'x': _uint(numbers.x, size), 'y': _uint(numbers.y, size)}
    raise ValueError('an RSA key or an EC key on P-256, P-384 or P-521 is required, not %s' % type(key).__name__)


def jwk_thumbprint(public_key_pem):
    """RFC 7638: SHA-256 over the required members in lexical order, no whitespace; base64url."""
    canonical = json.dumps(public_jwk(public_key_pem), sort_keys=True, separators=(',', ':'))
    return b64url(hashlib.sha256(canonical.encode('ascii')).digest())
