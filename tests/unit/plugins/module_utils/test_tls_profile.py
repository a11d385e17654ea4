# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered values checked against the published Mozilla Server Side TLS guidelines 6.0 and the rendering
conditions of the Mozilla SSL Configuration Generator (helpers/nginx.js, helpers/haproxy.js, state.js).

The expected strings are written out literally here (not read from the module) so a wrong edit of the data
structure is caught.
"""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.tls_profile import (
    MOZILLA_TLS_GUIDELINES,
    TlsProfileError,
    guidelines,
    tls_profile,
)

__metaclass__ = type

# https://ssl-config.mozilla.org/guidelines/6.0.json, intermediate ciphers.openssl, in published order
INTERMEDIATE_CIPHERS = (
    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:'
    'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:'
    'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305'
)
CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'
GROUPS_PQ = 'X25519MLKEM768:X25519:prime256v1:secp384r1'
GROUPS_CLASSIC = 'X25519:prime256v1:secp384r1'
HSTS = 63072000

NGINX_KEYS = {
    'profile', 'server', 'server_version', 'openssl_version', 'guidelines_version', 'protocols', 'ciphers',
    'ciphersuites', 'groups', 'hsts_max_age', 'hsts_header', 'redirect_code',
    'ssl_protocols', 'ssl_ciphers', 'ssl_ecdh_curve', 'ssl_prefer_server_ciphers', 'ssl_session_timeout',
    'ssl_session_cache', 'ssl_session_tickets', 'ssl_stapling', 'ssl_stapling_verify', 'ocsp_stapling_supported',
    'hsts_always', 'http2',
}
HAPROXY_KEYS = {
    'profile', 'server', 'server_version', 'openssl_version', 'guidelines_version', 'protocols', 'ciphers',
    'ciphersuites', 'groups', 'hsts_max_age', 'hsts_header', 'redirect_code',
    'ssl-default-bind-curves', 'ssl-default-bind-ciphers', 'ssl-default-bind-ciphersuites', 'ssl-default-bind-options',
    'ssl-default-server-curves', 'ssl-default-server-ciphers', 'ssl-default-server-ciphersuites',
    'ssl-default-server-options', 'alpn',
}


# --------------------------------------------------------------------------------------------------
# The data structure
# --------------------------------------------------------------------------------------------------

def test_guidelines_version_and_profiles():
    assert MOZILLA_TLS_GUIDELINES['version'] == '6.0'
    assert MOZILLA_TLS_GUIDELINES['href'] == 'https://ssl-config.mozilla.org/guidelines/6.0.json'
    assert sorted(MOZILLA_TLS_GUIDELINES['configurations']) == ['intermediate', 'modern']


def test_guidelines_published_values():
    conf = MOZILLA_TLS_GUIDELINES['configurations']
    assert list(conf['intermediate']['tls_versions']) == ['TLSv1.2', 'TLSv1.3']
    assert list(conf['modern']['tls_versions']) == ['TLSv1.3']
    assert ':'.join(conf['intermediate']['ciphers']['openssl']) == INTERMEDIATE_CIPHERS
    assert list(conf['intermediate']['ciphers']['iana']) == [
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
        'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
    ]
    assert list(conf['modern']['ciphers']['openssl']) == []
    for name in ('intermediate', 'modern'):
        assert ':'.join(conf[name]['ciphersuites']) == CIPHERSUITES
        assert ':'.join(conf[name]['tls_curves']) == GROUPS_PQ
        assert conf[name]['hsts_min_age'] == HSTS
        assert conf[name]['server_preferred_order'] is False
        assert conf[name]['ocsp_staple'] is True
    assert conf['intermediate']['dh_param_size'] == 2048
    assert conf['modern']['dh_param_size'] is None
    assert list(conf['modern']['certificate_types']) == ['ecdsa']
    assert list(conf['intermediate']['certificate_types']) == ['ecdsa', 'rsa']


def test_guidelines_returns_a_copy():
    data = guidelines()
    data['configurations']['modern']['hsts_min_age'] = 1
    assert MOZILLA_TLS_GUIDELINES['configurations']['modern']['hsts_min_age'] == HSTS


def test_results_do_not_share_mutable_state():
    first = tls_profile('intermediate', 'nginx', '1.22.1', '3.0.15')
    first['groups'].append('bogus')
    first['ciphers'].clear()
    second = tls_profile('intermediate', 'nginx', '1.22.1', '3.0.15')
    assert ':'.join(second['groups']) == GROUPS_CLASSIC
    assert ':'.join(second['ciphers']) == INTERMEDIATE_CIPHERS


# --------------------------------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------------------------------

def test_nginx_intermediate_debian12():
    # nginx 1.22.1 + OpenSSL 3.0.15: no ML-KEM hybrid group, tickets still disabled (< 1.23.2)
    assert tls_profile('intermediate', 'nginx', server_version='1.22.1', openssl_version='3.0.15') == {
        'profile': 'intermediate',
        'server': 'nginx',
        'server_version': '1.22.1',
        'openssl_version': '3.0.15',
        'guidelines_version': '6.0',
        'protocols': ['TLSv1.2', 'TLSv1.3'],
        'ciphers': INTERMEDIATE_CIPHERS.split(':'),
        'ciphersuites': CIPHERSUITES.split(':'),
        'groups': GROUPS_CLASSIC.split(':'),
        'hsts_max_age': HSTS,
        'hsts_header': 'max-age=63072000',
        'redirect_code': 308,
        'ssl_protocols': 'TLSv1.2 TLSv1.3',
        'ssl_ciphers': INTERMEDIATE_CIPHERS,
        'ssl_ecdh_curve': GROUPS_CLASSIC,
        'ssl_prefer_server_ciphers': 'off',
        'ssl_session_timeout': '1d',
        'ssl_session_cache': 'shared:MozSSL:10m',
        'ssl_session_tickets': 'off',
        'ssl_stapling': 'off',
        'ssl_stapling_verify': 'off',
        'ocsp_stapling_supported': True,
        'hsts_always': True,
        'http2': 'listen',
    }


def test_nginx_intermediate_openssl_35_keeps_hybrid_group():
    result = tls_profile('intermediate', 'nginx', server_version='1.26.3', openssl_version='3.5.1')
    assert result['ssl_ecdh_curve'] == GROUPS_PQ
    assert result['groups'] == GROUPS_PQ.split(':')
    assert result['ssl_protocols'] == 'TLSv1.2 TLSv1.3'
    assert result['ssl_ciphers'] == INTERMEDIATE_CIPHERS
    # nginx >= 1.23.2 rotates session ticket keys itself: the generator no longer disables tickets
    assert result['ssl_session_tickets'] is None
    assert result['ssl_session_timeout'] == '1d'
    assert result['ssl_session_cache'] == 'shared:MozSSL:10m'
    assert result['http2'] == 'directive'
    assert set(result) == NGINX_KEYS


def test_nginx_modern():
    result = tls_profile('modern', 'nginx', server_version='1.26.3', openssl_version='3.5.0')
    assert result['ssl_protocols'] == 'TLSv1.3'
    assert result['ssl_ciphers'] is None
    assert result['ciphers'] == []
    assert result['ssl_ecdh_curve'] == GROUPS_PQ
    assert result['ssl_prefer_server_ciphers'] == 'off'
    # commented out by the generator when ssl_protocols is TLSv1.3 only
    assert result['ssl_session_timeout'] is None
    assert result['ssl_session_cache'] is None
    assert result['hsts_max_age'] == HSTS
    assert result['redirect_code'] == 308
    assert set(result) == NGINX_KEYS


def test_nginx_modern_old_openssl_drops_hybrid_group():
    result = tls_profile('modern', 'nginx', server_version='1.22.1', openssl_version='3.0.15')
    assert result['ssl_ecdh_curve'] == GROUPS_CLASSIC
    assert result['ssl_protocols'] == 'TLSv1.3'


@pytest.mark.parametrize('openssl_version, groups', [
    ('3.4.1', GROUPS_CLASSIC),
    ('3.4.99', GROUPS_CLASSIC),
    ('3.5.0', GROUPS_PQ),
    ('3.5.1', GROUPS_PQ),
    ('3.6.0', GROUPS_PQ),
    ('4.0.0', GROUPS_PQ),
    ('1.1.1w', GROUPS_CLASSIC),
    ('3.0.15-1~deb12u1', GROUPS_CLASSIC),
    ('3.5.1-1', GROUPS_PQ),
])
def test_hybrid_group_threshold(openssl_version, groups):
    for server in ('nginx', 'haproxy'):
        assert ':'.join(tls_profile('intermediate', server, None, openssl_version)['groups']) == groups
    assert tls_profile('intermediate', 'nginx', '1.26.3', openssl_version)['ssl_ecdh_curve'] == groups
    assert tls_profile('intermediate', 'haproxy', '3.0', openssl_version)['ssl-default-bind-curves'] == groups


@pytest.mark.parametrize('server_version, openssl_version, tickets', [
    ('1.23.1', '3.0.15', 'off'),
    ('1.23.2', '3.0.15', None),
    ('1.5.9', '1.0.2l', 'off'),
    ('1.5.8', '1.0.2l', None),
    ('1.22.1', '1.0.2k', None),
    ('1.22.1', '1.0.2u', 'off'),
])
def test_nginx_session_tickets_conditions(server_version, openssl_version, tickets):
    assert tls_profile('intermediate', 'nginx', server_version, openssl_version)['ssl_session_tickets'] == tickets


def test_nginx_intermediate_without_tls13():
    # nginx < 1.13.0 or OpenSSL < 1.1.1: the generator drops TLSv1.3 from the protocols
    assert tls_profile('intermediate', 'nginx', '1.12.2', '1.1.1k')['ssl_protocols'] == 'TLSv1.2'
    assert tls_profile('intermediate', 'nginx', '1.20.1', '1.0.2u')['ssl_protocols'] == 'TLSv1.2'
    assert tls_profile('intermediate', 'nginx', '1.13.0', '1.1.1')['ssl_protocols'] == 'TLSv1.2 TLSv1.3'


@pytest.mark.parametrize('server_version, http2, always, stapling', [
    ('1.25.1', 'directive', True, 'off'),
    ('1.25.0', 'listen', True, 'off'),
    ('1.9.5', 'listen', True, 'off'),
    ('1.9.4', None, True, 'off'),
    ('1.7.4', None, False, 'off'),
    ('1.3.6', None, False, None),
])
def test_nginx_version_dependent_directives(server_version, http2, always, stapling):
    result = tls_profile('intermediate', 'nginx', server_version, '1.0.2u')
    assert result['http2'] == http2
    assert result['hsts_always'] is always
    assert result['ssl_stapling'] == stapling
    assert result['ssl_stapling_verify'] == stapling
    assert result['ocsp_stapling_supported'] is (stapling is not None)


def test_nginx_defaults_to_latest_versions():
    result = tls_profile('intermediate', 'nginx')
    assert result['server_version'] == '1.27.3'
    assert result['openssl_version'] == '4.0.1'
    assert result['ssl_ecdh_curve'] == GROUPS_PQ
    assert result['ssl_session_tickets'] is None


# --------------------------------------------------------------------------------------------------
# HAProxy
# --------------------------------------------------------------------------------------------------

def test_haproxy_intermediate_28_openssl30():
    assert tls_profile('intermediate', 'haproxy', server_version='2.8.5', openssl_version='3.0.13') == {
        'profile': 'intermediate',
        'server': 'haproxy',
        'server_version': '2.8.5',
        'openssl_version': '3.0.13',
        'guidelines_version': '6.0',
        'protocols': ['TLSv1.2', 'TLSv1.3'],
        'ciphers': INTERMEDIATE_CIPHERS.split(':'),
        'ciphersuites': CIPHERSUITES.split(':'),
        'groups': GROUPS_CLASSIC.split(':'),
        'hsts_max_age': HSTS,
        'hsts_header': 'max-age=63072000',
        'redirect_code': 308,
        'ssl-default-bind-curves': GROUPS_CLASSIC,
        'ssl-default-bind-ciphers': INTERMEDIATE_CIPHERS,
        'ssl-default-bind-ciphersuites': CIPHERSUITES,
        'ssl-default-bind-options': 'prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets',
        # ssl-default-server-curves only exists from HAProxy 2.9.0 on
        'ssl-default-server-curves': None,
        'ssl-default-server-ciphers': INTERMEDIATE_CIPHERS,
        'ssl-default-server-ciphersuites': CIPHERSUITES,
        'ssl-default-server-options': 'ssl-min-ver TLSv1.2 no-tls-tickets',
        'alpn': 'h2,http/1.1',
    }


def test_haproxy_intermediate_30_openssl35():
    result = tls_profile('intermediate', 'haproxy', server_version='3.0', openssl_version='3.5.1')
    assert result['ssl-default-bind-curves'] == GROUPS_PQ
    assert result['ssl-default-server-curves'] == GROUPS_PQ
    assert result['ssl-default-bind-ciphers'] == INTERMEDIATE_CIPHERS
    assert result['ssl-default-server-ciphers'] == INTERMEDIATE_CIPHERS
    assert result['ssl-default-bind-ciphersuites'] == CIPHERSUITES
    assert result['ssl-default-server-ciphersuites'] == CIPHERSUITES
    assert result['ssl-default-bind-options'] == 'prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets'
    assert result['ssl-default-server-options'] == 'ssl-min-ver TLSv1.2 no-tls-tickets'
    assert result['hsts_max_age'] == HSTS
    assert result['redirect_code'] == 308
    assert set(result) == HAPROXY_KEYS


def test_haproxy_modern():
    result = tls_profile('modern', 'haproxy', server_version='2.9.0', openssl_version='3.0.15')
    assert result['ssl-default-bind-ciphers'] is None
    assert result['ssl-default-server-ciphers'] is None
    assert result['ssl-default-bind-ciphersuites'] == CIPHERSUITES
    assert result['ssl-default-server-ciphersuites'] == CIPHERSUITES
    assert result['ssl-default-bind-curves'] == GROUPS_CLASSIC
    assert result['ssl-default-server-curves'] == GROUPS_CLASSIC
    assert result['ssl-default-bind-options'] == 'prefer-client-ciphers ssl-min-ver TLSv1.3 no-tls-tickets'
    assert result['ssl-default-server-options'] == 'ssl-min-ver TLSv1.3 no-tls-tickets'
    assert set(result) == HAPROXY_KEYS


def test_haproxy_modern_openssl35():
    result = tls_profile('modern', 'haproxy', server_version='3.2.4', openssl_version='3.5.0')
    assert result['ssl-default-bind-curves'] == GROUPS_PQ
    assert result['ssl-default-server-curves'] == GROUPS_PQ


@pytest.mark.parametrize('server_version, server_curves', [
    ('2.8.15', None),
    ('2.9', GROUPS_CLASSIC),
    ('2.9.0', GROUPS_CLASSIC),
    ('3.0.11', GROUPS_CLASSIC),
])
def test_haproxy_server_curves_need_29(server_version, server_curves):
    result = tls_profile('intermediate', 'haproxy', server_version, '3.0.15')
    assert result['ssl-default-bind-curves'] == GROUPS_CLASSIC
    assert result['ssl-default-server-curves'] == server_curves


def test_haproxy_before_22_uses_no_tlsv_options():
    result = tls_profile('intermediate', 'haproxy', '2.1.12', '1.1.1k')
    assert result['ssl-default-bind-options'] == 'prefer-client-ciphers no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets'
    assert result['ssl-default-server-options'] == 'no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets'
    modern = tls_profile('modern', 'haproxy', '2.0.33', '1.1.1k')
    assert modern['ssl-default-bind-options'] == 'prefer-client-ciphers no-sslv3 no-tlsv10 no-tlsv11 no-tlsv12 no-tls-tickets'
    assert modern['ssl-default-server-options'] == 'no-sslv3 no-tlsv10 no-tlsv11 no-tlsv12 no-tls-tickets'
    assert tls_profile('intermediate', 'haproxy', '2.2.0', '1.1.1k')['ssl-default-bind-options'] == (
        'prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets'
    )


def test_haproxy_ciphersuites_need_19_and_openssl_111():
    assert tls_profile('intermediate', 'haproxy', '1.8.30', '1.1.1k')['ssl-default-bind-ciphersuites'] is None
    assert tls_profile('intermediate', 'haproxy', '1.9.0', '1.1.0l')['ssl-default-bind-ciphersuites'] is None
    assert tls_profile('intermediate', 'haproxy', '1.9.0', '1.1.1')['ssl-default-bind-ciphersuites'] == CIPHERSUITES


def test_haproxy_before_18():
    result = tls_profile('intermediate', 'haproxy', '1.7.14', '1.1.1k')
    # no TLS 1.3 before HAProxy 1.8.0; no prefer-client-ciphers or ALPN either
    assert result['protocols'] == ['TLSv1.2']
    assert result['ssl-default-bind-options'] == 'no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets'
    assert result['alpn'] is None


def test_haproxy_defaults_to_latest_versions():
    result = tls_profile('modern', 'haproxy')
    assert result['server_version'] == '3.0'
    assert result['ssl-default-server-curves'] == GROUPS_PQ


def test_profile_and_server_are_case_insensitive():
    assert tls_profile(' Intermediate ', 'NGINX', '1.22.1', '3.0.15') == tls_profile('intermediate', 'nginx', '1.22.1', '3.0.15')


# --------------------------------------------------------------------------------------------------
# Bad input: the message names the parameter (and the accepted values where there is a list)
# --------------------------------------------------------------------------------------------------

def _error(*args, **kwargs):
    with pytest.raises(TlsProfileError) as excinfo:
        tls_profile(*args, **kwargs)
    assert isinstance(excinfo.value, ValueError)
    return str(excinfo.value)


@pytest.mark.parametrize('profile', ['old', 'strict', '', 'intermediat'])
def test_unknown_profile(profile):
    message = _error(profile, 'nginx')
    assert message.startswith('profile:')
    assert 'intermediate, modern' in message


def test_old_profile_explains_removal():
    assert "'old' configuration is not part of Mozilla guidelines 6.0" in _error('old', 'haproxy')


@pytest.mark.parametrize('profile', [None, 1, ['intermediate']])
def test_profile_wrong_type(profile):
    message = _error(profile, 'nginx')
    assert message.startswith('profile:')
    assert 'intermediate, modern' in message


@pytest.mark.parametrize('server', ['apache', 'caddy', '', None])
def test_unknown_server(server):
    message = _error('intermediate', server)
    assert message.startswith('server:')
    assert 'haproxy, nginx' in message


@pytest.mark.parametrize('version', ['latest', '1', 'one.two', '1.22.x', '', '1..2'])
def test_bad_server_version(version):
    message = _error('intermediate', 'nginx', server_version=version)
    assert message.startswith('server_version:')
    assert repr(version) in message


@pytest.mark.parametrize('version', ['3', 'openssl', '3.x', '3.0.15 beta!'])
def test_bad_openssl_version(version):
    message = _error('intermediate', 'haproxy', server_version='2.8', openssl_version=version)
    assert message.startswith('openssl_version:')


@pytest.mark.parametrize('parameter', ['server_version', 'openssl_version'])
@pytest.mark.parametrize('value', [2.8, 3, True])
def test_non_string_versions(parameter, value):
    message = _error('intermediate', 'nginx', **{parameter: value})
    assert message.startswith(parameter + ':')
    assert 'quote' in message


def test_haproxy_without_tls():
    message = _error('intermediate', 'haproxy', server_version='1.4.27')
    assert message.startswith('server_version:')
    assert '1.5.0' in message


def test_modern_needs_tls13_capable_server():
    message = _error('modern', 'nginx', server_version='1.12.2', openssl_version='3.0.15')
    assert message.startswith('server_version:')
    assert '1.13.0' in message
    message = _error('modern', 'haproxy', server_version='1.7.14', openssl_version='3.0.15')
    assert message.startswith('server_version:')
    assert '1.8.0' in message


def test_modern_needs_tls13_capable_openssl():
    message = _error('modern', 'nginx', server_version='1.22.1', openssl_version='1.1.0l')
    assert message.startswith('openssl_version:')
    assert '1.1.1' in message
