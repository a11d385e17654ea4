# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tls_profile filter adapter: registration, pass-through and error conversion."""

from __future__ import absolute_import, division, print_function

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.filter import tls_profile as filter_plugin
from ansible_collections.bulwark.stack.plugins.module_utils.tls_profile import tls_profile as render

__metaclass__ = type


def _filter():
    return filter_plugin.FilterModule().filters()['tls_profile']


def test_filter_is_registered():
    filters = filter_plugin.FilterModule().filters()
    assert 'tls_profile' in filters
    assert callable(filters['tls_profile'])


def test_filter_passes_through():
    result = _filter()('intermediate', 'nginx', server_version='1.22.1', openssl_version='3.0.15')
    assert result == render('intermediate', 'nginx', server_version='1.22.1', openssl_version='3.0.15')
    assert result['ssl_protocols'] == 'TLSv1.2 TLSv1.3'
    assert result['ssl_ecdh_curve'] == 'X25519:prime256v1:secp384r1'
    assert _filter()('modern', 'haproxy', '3.0', '3.5.1')['ssl-default-bind-curves'] == 'X25519MLKEM768:X25519:prime256v1:secp384r1'


@pytest.mark.parametrize('args, kwargs, parameter', [
    (('old', 'nginx'), {}, 'profile'),
    (('intermediate', 'apache'), {}, 'server'),
    (('intermediate', 'nginx'), {'server_version': 'latest'}, 'server_version'),
    (('intermediate', 'haproxy'), {'openssl_version': 'x'}, 'openssl_version'),
])
def test_errors_become_ansible_filter_error(args, kwargs, parameter):
    with pytest.raises(AnsibleFilterError) as excinfo:
        _filter()(*args, **kwargs)
    assert (parameter + ':') in str(excinfo.value)


def test_documentation_is_valid_yaml():
    doc = yaml.safe_load(filter_plugin.DOCUMENTATION)
    assert doc['name'] == 'tls_profile'
    assert str(doc['version_added']) == '0.1.0'
    assert doc['author'] == 'bulwark.stack maintainers'
    assert set(doc['options']) == {'_input', 'server', 'server_version', 'openssl_version'}
    for option in doc['options'].values():
        assert {'type', 'description', 'required'} <= set(option)
    assert yaml.safe_load(filter_plugin.EXAMPLES)
    assert yaml.safe_load(filter_plugin.RETURN)['_value']['type'] == 'dict'
