# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tls_name_matches filter adapter: registration, pass-through and error conversion."""

from __future__ import absolute_import, division, print_function

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.filter import tls_name_matches as filter_plugin

__metaclass__ = type


def _filter():
    return filter_plugin.FilterModule().filters()['tls_name_matches']


def test_passes_through():
    assert _filter()('lb1.example.org', ['DNS:*.example.org']) is True
    assert _filter()('lb1.example.org', ['DNS:example.org']) is False


def test_bad_input_becomes_a_filter_error():
    with pytest.raises(AnsibleFilterError, match='tls_name_matches: subject_alt_names'):
        _filter()('lb1', 'DNS:lb1')


def test_documentation_is_yaml():
    for block in (filter_plugin.DOCUMENTATION, filter_plugin.EXAMPLES, filter_plugin.RETURN):
        assert yaml.safe_load(block)
