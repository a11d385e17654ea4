# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 6125 name matching used to check that an operator certificate covers the server name."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.tls_names import name_matches

__metaclass__ = type


@pytest.mark.parametrize('name,sans', [
    ('www.example.org', ['DNS:www.example.org']),
    ('WWW.Example.org', ['DNS:www.example.org']),
    ('www.example.org', ['DNS:other.example.org', 'DNS:*.example.org']),
    ('www.example.org.', ['DNS:www.example.org']),
    ('192.0.2.10', ['DNS:lb1', 'IP:192.0.2.10']),
    ('2001:db8::1', ['IP Address:2001:db8:0::1']),
])
def test_covered(name, sans):
    assert name_matches(name, sans) is True


@pytest.mark.parametrize('name,sans', [
    ('www.example.org', []),
    ('www.example.org', None),
    ('www.example.org', ['DNS:example.org']),
    ('a.b.example.org', ['DNS:*.example.org']),   # a wildcard covers one label only
    ('example.org', ['DNS:*.example.org']),
    ('www.example.com', ['DNS:*.org']),           # no wildcard across a public suffix-like single label
    ('192.0.2.10', ['DNS:192.0.2.10']),           # an IP must be in an IP entry
    ('192.0.2.10', ['IP:192.0.2.11']),
    ('lb1', ['email:lb1', 'URI:lb1']),
])
def test_not_covered(name, sans):
    assert name_matches(name, sans) is False


@pytest.mark.parametrize('name,sans', [('', ['DNS:x']), (None, ['DNS:x']), ('x', 'DNS:x'), ('x', {'DNS': 'x'})])
def test_bad_input_names_the_parameter(name, sans):
    with pytest.raises(ValueError, match='name|subject_alt_names'):
        name_matches(name, sans)
