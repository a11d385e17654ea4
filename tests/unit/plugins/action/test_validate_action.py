# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the bulwark.stack.validate action plugin: role defaults, reference following, collection of hosts."""

from __future__ import absolute_import, division, print_function

from ansible_collections.bulwark.stack.plugins.action import validate as action

__metaclass__ = type


class FakeHostvars:
    def __init__(self, raw):
        self.raw = raw

    def raw_get(self, host):
        return self.raw[host]


def test_role_defaults_keep_only_plain_values(tmp_path):
    (tmp_path / 'demo' / 'defaults').mkdir(parents=True)
    (tmp_path / 'demo' / 'defaults' / 'main.yml').write_text(
        'demo_port: "{{ 1 + 1 }}"\ndemo_pool_size: 5\ndemo_users: {a: "{{ x }}"}\ndemo_list: [1, 2]\n')
    defaults, names = action.role_defaults(str(tmp_path))
    assert names == ['demo'] and defaults == {'demo': {'demo_pool_size': 5, 'demo_list': [1, 2]}}


def test_the_collection_roles_defaults_load():
    defaults, names = action.role_defaults()
    assert 'node_exporter' in names
    assert defaults['node_exporter']['node_exporter_bcrypt_rounds'] == 10
    assert 'node_exporter_port' not in defaults['node_exporter']  # templated: needs the topology filter


def test_references_are_followed_to_their_source():
    raw = {'a': '{{ b }}', 'b': '{{ vault_c }}', 'vault_c': 'S3cret', 'd': {'u': '{{ vault_c }}'}}
    assert action._follow(raw, raw['a'], 'a') == ('vault_c', 'S3cret')
    assert action._raw_leaf(raw, 'd', 'd.u') == ('vault_c', 'S3cret')
    assert action._follow(raw, '{{ b | upper }}', 'x') == ('x', '{{ b | upper }}')


def test_collect_applies_role_defaults_only_to_the_role_group():
    raw = {'app1': {'app_keep_releases': 0, 'other_setting': 1}, 'db1': {}}
    defaults = {'app': {'app_keep_releases': 3, 'app_stop_timeout': 30}, 'node_exporter': {'node_exporter_bcrypt_rounds': 10}}
    groups = {'all': ['app1', 'db1'], 'app': ['app1']}
    hosts = action.collect(FakeHostvars(raw), ['app1', 'db1'], groups, lambda h, v: raw[h][v], defaults, ('app', 'node_exporter'))
    assert hosts['app1'].variables == {'app_keep_releases': 0, 'app_stop_timeout': 30, 'node_exporter_bcrypt_rounds': 10}
    assert hosts['db1'].variables == {'node_exporter_bcrypt_rounds': 10}
    assert hosts['app1'].defaulted == {'app_stop_timeout', 'node_exporter_bcrypt_rounds'}
    assert hosts['app1'].where('app_stop_timeout') == 'role default, host app1'
