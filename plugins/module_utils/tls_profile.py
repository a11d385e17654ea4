# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mozilla Server Side TLS profiles, rendered as ready-to-template settings for nginx and HAProxy.

Pure Python (no Ansible imports) so it can be used by filters, modules and unit tests alike.

The profile data is the published Mozilla Server Side TLS guidelines, version 6.0
(https://ssl-config.mozilla.org/guidelines/6.0.json, kept in mozilla/ssl-config-generator
src/static/guidelines/6.0.json). Version 6.0 only publishes the ``modern`` and ``intermediate``
configurations; the ``old`` configuration was dropped by that release.

How a profile turns into directives follows the configuration generator (mozilla/ssl-config-generator,
now continued as tlsref/configurator): ``src/js/state.js`` derives the protocol, cipher and group lists
for a given server/OpenSSL version, and ``src/js/helpers/nginx.js`` / ``src/js/helpers/haproxy.js``
decide which directives are emitted for which server version.

Every returned dict always carries the same keys for a given server. A directive the generator would not
emit for the given versions/profile is returned as ``None``, so templates can test ``is not none``.
"""

from __future__ import absolute_import, division, print_function

import copy
import re

__metaclass__ = type

# --------------------------------------------------------------------------------------------------
# The published profiles: Mozilla Server Side TLS guidelines, version 6.0
# (https://ssl-config.mozilla.org/guidelines/6.0.json). Copied value for value from that JSON; keep
# key names identical to the JSON so a future guideline can be diffed against it.
# --------------------------------------------------------------------------------------------------
MOZILLA_TLS_GUIDELINES = {
    'version': '6.0',
    'href': 'https://ssl-config.mozilla.org/guidelines/6.0.json',
    'configurations': {
        'modern': {
            'certificate_curves': ('prime256v1', 'secp384r1'),
            'certificate_signatures': ('ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512'),
            'certificate_types': ('ecdsa',),
            'ciphers': {
                'iana': (),
                'openssl': (),
            },
            'ciphersuites': (
                'TLS_AES_128_GCM_SHA256',
                'TLS_AES_256_GCM_SHA384',
                'TLS_CHACHA20_POLY1305_SHA256',
            ),
            'dh_param_size': None,
            'ecdh_param_size': 256,
            'hsts_min_age': 63072000,
            'maximum_certificate_lifespan': 90,
            'ocsp_staple': True,
            'oldest_clients': (
                'Firefox 63', 'Android 10.0', 'Chrome 70', 'Edge 75', 'Java 11', 'OpenSSL 1.1.1', 'Opera 57', 'Safari 12.1',
            ),
            'recommended_certificate_lifespan': 90,
            'rsa_key_size': None,
            'server_preferred_order': False,
            'tls_curves': ('X25519MLKEM768', 'X25519', 'prime256v1', 'secp384r1'),
            'tls_versions': ('TLSv1.3',),
        },
        'intermediate': {
            'certificate_curves': ('prime256v1', 'secp384r1'),
            'certificate_signatures': ('sha256WithRSAEncryption', 'ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512'),
            'certificate_types': ('ecdsa', 'rsa'),
            'ciphers': {
                'iana': (
                    'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
                    'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
                    'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
                    'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
                    'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
                    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
                ),
                'openssl': (
                    'ECDHE-ECDSA-AES128-GCM-SHA256',
                    'ECDHE-RSA-AES128-GCM-SHA256',
                    'ECDHE-ECDSA-AES256-GCM-SHA384',
                    'ECDHE-RSA-AES256-GCM-SHA384',
                    'ECDHE-ECDSA-CHACHA20-POLY1305',
                    'ECDHE-RSA-CHACHA20-POLY1305',
                ),
            },
            'ciphersuites': (
                'TLS_AES_128_GCM_SHA256',
                'TLS_AES_256_GCM_SHA384',
                'TLS_CHACHA20_POLY1305_SHA256',
            ),
            'dh_param_size': 2048,
            'ecdh_param_size': 256,
            'hsts_min_age': 63072000,
            'maximum_certificate_lifespan': 366,
            'ocsp_staple': True,
            'oldest_clients': (
                'Firefox 31.3.0', 'Android 4.4.2', 'Chrome 49', 'Edge 15 on Windows 10', 'IE 11 on Windows 10', 'Java 8u161',
                'OpenSSL 1.0.1l', 'Opera 20', 'Safari 9',
            ),
            'recommended_certificate_lifespan': 90,
            'rsa_key_size': 2048,
            'server_preferred_order': False,
            'tls_curves': ('X25519MLKEM768', 'X25519', 'prime256v1', 'secp384r1'),
            'tls_versions': ('TLSv1.2', 'TLSv1.3'),
        },
    },
}

PROFILES = tuple(sorted(MOZILLA_TLS_GUIDELINES['configurations']))
SERVERS = ('haproxy', 'nginx')

# Versions the generator assumes when none is given (configs.js ``latestVersion``).
DEFAULT_VERSIONS = {
    'nginx': '1.27.3',
    'haproxy': '3.0',
    'openssl': '4.0.1',
}

# Generator facts used below (state.js / configs.js / helpers/*.js).
_OPENSSL_TLS13 = '1.1.1'            # configs.openssl.tls13: TLS 1.3 needs OpenSSL >= 1.1.1
_OPENSSL_MLKEM = '3.5.0'            # state.js: X25519MLKEM768 dropped from the groups below OpenSSL 3.5.0
_HYBRID_GROUPS = ('X25519MLKEM768',)
_SERVER_TLS13 = {'nginx': '1.13.0', 'haproxy': '1.8.0'}   # configs.<server>.tls13
_NGINX_OCSP_STAPLING = '1.3.7'      # configs.nginx.supportsOcspStapling
_HSTS_REDIRECT_CODE = 308           # state.js output.hstsRedirectCode
_NGINX_SESSION_CACHE = 'shared:MozSSL:10m'   # "about 40000 sessions"
_NGINX_SESSION_TIMEOUT = '1d'
_HAPROXY_MIN_TLS = '1.5.0'          # "Only version 1.5.0 and newer support TLS"
_HAPROXY_ALPN = 'h2,http/1.1'

_VERSION_RE = re.compile(
    r'^\s*v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?P<letter>[a-z]{1,2})?(?:[-+~_ ][0-9A-Za-z.+~_:-]*)?\s*$',
    re.IGNORECASE,
)


class TlsProfileError(ValueError):
    """Raised for an unknown profile/server or an unusable version; the message names the parameter."""


_VERSION_EXAMPLES = {
    'server_version': "'1.22.1' or '2.8'",
    'openssl_version': "'3.0.15' or '1.1.1k'",
}


def _parse_version(value, parameter):
    """Return a comparable tuple for a version string such as '1.22.1', '2.8', '3.0.15' or '1.1.1k'.

    OpenSSL letter releases sort after the plain release (1.0.2 < 1.0.2a < 1.0.2l < 1.0.2za), as the
    generator's normalizever() does. A distribution suffix after '-', '+', '~', '_' or a space is ignored
    (e.g. '3.0.15-1~deb12u1').
    """
    example = _VERSION_EXAMPLES.get(parameter, "'1.22.1'")
    if isinstance(value, bool) or not isinstance(value, str):
        raise TlsProfileError(
            '%s: expected a version string such as %s, got %s %r (quote versions in YAML)'
            % (parameter, example, type(value).__name__, value)
        )
    match = _VERSION_RE.match(value)
    if not match:
        raise TlsProfileError(
            '%s: cannot parse %r as a version; expected MAJOR.MINOR[.PATCH] such as %s' % (parameter, value, example)
        )
    letter = (match.group('letter') or '').lower()
    return (
        int(match.group('major')),
        int(match.group('minor')),
        int(match.group('patch') or 0),
        (len(letter), letter),
    )


def _at_least(version, minimum):
    """True when the parsed ``version`` is >= the version string ``minimum``."""
    return version >= _parse_version(minimum, 'minimum')


def _choice(value, parameter, accepted):
    if not isinstance(value, str):
        raise TlsProfileError(
            '%s: expected a string, got %s %r; accepted values: %s'
            % (parameter, type(value).__name__, value, ', '.join(accepted))
        )
    normalized = value.strip().lower()
    if normalized not in accepted:
        hint = ''
        if parameter == 'profile' and normalized == 'old':
            hint = " (the 'old' configuration is not part of Mozilla guidelines %s)" % MOZILLA_TLS_GUIDELINES['version']
        raise TlsProfileError(
            '%s: unknown value %r%s; accepted values: %s' % (parameter, value, hint, ', '.join(accepted))
        )
    return normalized


def _derive(profile, server, server_version, openssl_version):
    """The generator's state.js step: lists adjusted to what the server and OpenSSL support."""
    conf = MOZILLA_TLS_GUIDELINES['configurations'][profile]

    protocols = list(conf['tls_versions'])
    tls13_server = _at_least(server_version, _SERVER_TLS13[server])
    tls13_openssl = _at_least(openssl_version, _OPENSSL_TLS13)
    if not (tls13_server and tls13_openssl):
        protocols = [p for p in protocols if p != 'TLSv1.3']
    if not protocols:
        if not tls13_server:
            raise TlsProfileError(
                "server_version: profile %r is TLS 1.3 only, which needs %s >= %s"
                % (profile, server, _SERVER_TLS13[server])
            )
        raise TlsProfileError(
            "openssl_version: profile %r is TLS 1.3 only, which needs OpenSSL >= %s" % (profile, _OPENSSL_TLS13)
        )

    groups = list(conf['tls_curves'])
    if not _at_least(openssl_version, _OPENSSL_MLKEM):
        groups = [g for g in groups if g not in _HYBRID_GROUPS]

    return {
        'protocols': protocols,
        'ciphers': list(conf['ciphers']['openssl']),
        'ciphersuites': list(conf['ciphersuites']),
        'groups': groups,
        'server_preferred_order': conf['server_preferred_order'],
        'hsts_max_age': conf['hsts_min_age'],
    }


def _render_nginx(state, version, openssl):
    """helpers/nginx.js."""
    tls13_only = state['protocols'][0] == 'TLSv1.3'
    tickets_off = (
        not _at_least(version, '1.23.2')
        and _at_least(version, '1.5.9')
        and _at_least(openssl, '1.0.2l')
    )
    stapling = _at_least(version, _NGINX_OCSP_STAPLING)
    if _at_least(version, '1.25.1'):
        http2 = 'directive'       # "http2 on;"
    elif _at_least(version, '1.9.5'):
        http2 = 'listen'          # "listen 443 ssl http2;"
    else:
        http2 = None
    return {
        'ssl_protocols': ' '.join(state['protocols']),
        'ssl_ciphers': ':'.join(state['ciphers']) or None,
        'ssl_ecdh_curve': ':'.join(state['groups']),
        'ssl_prefer_server_ciphers': 'on' if state['server_preferred_order'] else 'off',
        # Only emitted (uncommented) when ssl_protocols includes TLSv1.2 or earlier.
        'ssl_session_timeout': None if tls13_only else _NGINX_SESSION_TIMEOUT,
        'ssl_session_cache': None if tls13_only else _NGINX_SESSION_CACHE,
        # nginx >= 1.23.2 rotates ticket keys itself, so the generator stops disabling tickets there.
        'ssl_session_tickets': 'off' if tickets_off else None,
        # OCSP stapling is an opt-in checkbox in the generator, unchecked by default, so the default output
        # leaves it off (the guideline JSON still says ocsp_staple: true). The directives need nginx >= 1.3.7.
        'ssl_stapling': 'off' if stapling else None,
        'ssl_stapling_verify': 'off' if stapling else None,
        'ocsp_stapling_supported': stapling,
        'hsts_always': _at_least(version, '1.7.5'),
        'http2': http2,
    }


def _render_haproxy(state, version, openssl):
    """helpers/haproxy.js: the global ssl-default-bind-* / ssl-default-server-* block."""
    protocols = state['protocols']
    with_ciphersuites = _at_least(version, '1.9.0') and _at_least(openssl, '1.1.1')

    if _at_least(version, '2.2.0'):
        min_ver = 'TLSv1.0' if protocols[0] == 'TLSv1' else protocols[0]
        version_options = ['ssl-min-ver', min_ver]
    else:
        version_options = []
        for protocol, option in (('SSLv3', 'no-sslv3'), ('TLSv1', 'no-tlsv10'), ('TLSv1.1', 'no-tlsv11'), ('TLSv1.2', 'no-tlsv12')):
            if protocol not in protocols:
                version_options.append(option)

    settings = {}
    for tag in ('bind', 'server'):
        prefix = 'ssl-default-%s-' % tag
        # ssl-default-server-curves only exists since HAProxy 2.9.0 (generator PR #312).
        curves = tag == 'bind' or _at_least(version, '2.9.0')
        options = []
        if tag == 'bind' and _at_least(version, '1.8.0') and not state['server_preferred_order']:
            options.append('prefer-client-ciphers')
        options.extend(version_options)
        options.append('no-tls-tickets')
        settings[prefix + 'curves'] = ':'.join(state['groups']) if curves else None
        settings[prefix + 'ciphers'] = ':'.join(state['ciphers']) or None
        settings[prefix + 'ciphersuites'] = ':'.join(state['ciphersuites']) if with_ciphersuites else None
        settings[prefix + 'options'] = ' '.join(options)
    settings['alpn'] = _HAPROXY_ALPN if _at_least(version, '1.8.0') else None
    return settings


def tls_profile(profile, server, server_version=None, openssl_version=None):
    """Render a Mozilla TLS profile for ``server`` ('nginx' or 'haproxy').

    :param profile: 'intermediate' or 'modern'.
    :param server: 'nginx' or 'haproxy'.
    :param server_version: the server version string (e.g. '1.22.1', '2.8'); None means the generator's
        latest known version.
    :param openssl_version: the OpenSSL version the server is linked against (e.g. '3.0.15', '3.5.1');
        None means the generator's latest known version.
    :returns: a dict of settings; keys depend on ``server`` but are always all present.
    :raises TlsProfileError: for an unknown profile/server, an unparsable version, or a combination the
        generator cannot render (HAProxy < 1.5, or the TLS 1.3-only modern profile without TLS 1.3 support).
    """
    profile = _choice(profile, 'profile', PROFILES)
    server = _choice(server, 'server', SERVERS)
    if server_version is None:
        server_version = DEFAULT_VERSIONS[server]
    if openssl_version is None:
        openssl_version = DEFAULT_VERSIONS['openssl']
    server_parsed = _parse_version(server_version, 'server_version')
    openssl_parsed = _parse_version(openssl_version, 'openssl_version')
    if server == 'haproxy' and not _at_least(server_parsed, _HAPROXY_MIN_TLS):
        raise TlsProfileError(
            'server_version: HAProxy %s has no TLS support; HAProxy >= %s is required'
            % (server_version.strip(), _HAPROXY_MIN_TLS)
        )

    state = _derive(profile, server, server_parsed, openssl_parsed)

    result = {
        'profile': profile,
        'server': server,
        'server_version': server_version.strip(),
        'openssl_version': openssl_version.strip(),
        'guidelines_version': MOZILLA_TLS_GUIDELINES['version'],
        'protocols': list(state['protocols']),
        'ciphers': list(state['ciphers']),
        'ciphersuites': list(state['ciphersuites']),
        'groups': list(state['groups']),
        'hsts_max_age': state['hsts_max_age'],
        'hsts_header': 'max-age=%d' % state['hsts_max_age'],
        'redirect_code': _HSTS_REDIRECT_CODE,
    }
    if server == 'nginx':
        result.update(_render_nginx(state, server_parsed, openssl_parsed))
    else:
        result.update(_render_haproxy(state, server_parsed, openssl_parsed))
    return result


def guidelines():
    """A deep copy of the published guideline data (so callers cannot mutate the module's copy)."""
    return copy.deepcopy(MOZILLA_TLS_GUIDELINES)
