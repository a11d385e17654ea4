# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.filter.web_config import web_config
from ansible_collections.bulwark.stack.plugins.module_utils.secrets import bcrypt_hash

passlib_bcrypt = pytest.importorskip('passlib.hash').bcrypt


def test_tls_and_hashed_users_with_a_header():
    text = web_config({'prometheus': 'Scrape-Pass-1234', 'ops': 'Other-Pass-5678'}, salt='db1', rounds=10,
                      cert_file='/etc/x/tls.crt', key_file='/etc/x/tls.key', managed_by='bulwark.stack.x')
    assert text.startswith('# Ansible managed (bulwark.stack.x)') and '\ntls_server_config:\n' in text
    data = yaml.safe_load(text)
    assert data['tls_server_config'] == {'cert_file': '/etc/x/tls.crt', 'key_file': '/etc/x/tls.key', 'min_version': 'TLS12'}
    assert list(data['basic_auth_users']) == ['ops', 'prometheus']
    assert passlib_bcrypt.verify('Scrape-Pass-1234', data['basic_auth_users']['prometheus'])
    assert not passlib_bcrypt.verify('Scrape-Pass-1235', data['basic_auth_users']['prometheus'])
    assert 'Scrape-Pass-1234' not in text
    # the same inputs give the same file (a re-run changes nothing); the salt follows salt:user
    assert text == web_config({'prometheus': 'Scrape-Pass-1234', 'ops': 'Other-Pass-5678'}, salt='db1', rounds=10,
                              cert_file='/etc/x/tls.crt', key_file='/etc/x/tls.key', managed_by='bulwark.stack.x')
    assert data['basic_auth_users']['prometheus'] == bcrypt_hash('Scrape-Pass-1234', 'db1:prometheus', rounds=10)


def test_client_certificates_and_no_users():
    assert yaml.safe_load(web_config({}, salt='r1')) is None  # comments only: no TLS, no auth
    data = yaml.safe_load(web_config({}, salt='r1', cert_file='/c', key_file='/k', client_ca_file='/etc/ssl/ca.crt'))
    assert data == {'tls_server_config': {'cert_file': '/c', 'key_file': '/k', 'min_version': 'TLS12',
                                          'client_auth_type': 'RequireAndVerifyClientCert', 'client_ca_file': '/etc/ssl/ca.crt'}}


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError, match='both cert_file and key_file'):
        web_config({}, salt='x', cert_file='/c')
    with pytest.raises(AnsibleFilterError, match='mapping'):
        web_config(['prometheus'], salt='x')
