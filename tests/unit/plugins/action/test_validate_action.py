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


def test_argument_specs_of_the_roles_load_without_descriptions():
    specs = action.argument_specs()
    assert specs['nginx']['nginx_tls_profile'] == {'type': 'str', 'default': 'intermediate', 'choices': ['intermediate', 'modern']}
    assert all('description' not in option for options in specs.values() for option in options.values())


def test_role_defaults_raw_are_trusted_templates(tmp_path):
    (tmp_path / 'demo' / 'defaults').mkdir(parents=True)
    (tmp_path / 'demo' / 'defaults' / 'main.yml').write_text('demo_name: "{{ inventory_hostname }}"\ndemo_list: ["{{ x }}"]\n')
    raw = action.role_defaults_raw(str(tmp_path))
    from ansible.template import is_trusted_as_template
    assert is_trusted_as_template(raw['demo']['demo_name']) and is_trusted_as_template(raw['demo']['demo_list'][0])


def test_collect_marks_templated_defaults_and_values_that_need_facts():
    raw = {'lb1': {'nginx_tls_profile': 'modern'}}
    groups = {'all': ['lb1'], 'lb': ['lb1']}

    def template_defaults(host, roles):
        assert roles == ['nginx']
        return {'nginx_server_name': host, 'nginx_tls_profile': 'from-default'}
    hosts = action.collect(FakeHostvars(raw), ['lb1'], groups, lambda h, v: raw[h][v], {'nginx': {'nginx_hsts': ''}},
                           ('nginx',), template_defaults)
    host = hosts['lb1']
    assert host.variables == {'nginx_hsts': '', 'nginx_server_name': 'lb1', 'nginx_tls_profile': 'modern'}
    assert host.templated == {'nginx_server_name'} and host.defaulted == {'nginx_hsts', 'nginx_server_name'}


def test_collect_reads_the_connection_variables_for_the_lockout_check():
    raw = {'db1': {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1', 'ansible_user': 'root', 'ansible_port': 2222,
                   'ansible_ssh_user': 'deploy', 'ansible_ssh_port': 22, 'ansible_python_interpreter': '/usr/bin/python3',
                   'ansible_password': 'not-collected'}}
    hosts = action.collect(FakeHostvars(raw), ['db1'], {'all': ['db1']}, lambda h, v: raw[h][v], {}, ('baseline',))
    assert set(hosts['db1'].variables) == {'ansible_connection', 'ansible_host', 'ansible_user', 'ansible_port', 'ansible_ssh_user',
                                           'ansible_ssh_port'}
    assert set(action.EXTRA_NAMES) >= set(action.validation.CONNECTION_VARIABLES)
