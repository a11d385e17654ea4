# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.filter.pg_tune import FilterModule, pg_tune
from ansible_collections.bulwark.stack.plugins.module_utils.pg_tune import pg_tune as pg_tune_core

FACTS = {'db_type': 'web', 'memory': 4 * 1024 ** 3, 'cpus': 4, 'storage': 'ssd', 'version': 15}


def test_filter_is_registered():
    assert FilterModule().filters()['pg_tune'] is pg_tune


def test_dict_input_matches_module_utils():
    assert pg_tune(FACTS) == pg_tune_core('web', 4 * 1024 ** 3, 4, 'ssd', 15)
    assert pg_tune(FACTS)['work_mem'] == '5140kB'


def test_keyword_arguments_and_aliases():
    expected = pg_tune(FACTS)
    assert pg_tune({}, db_type='web', memory='4GB', cpus=4, storage='ssd', version=15) == expected
    assert pg_tune({'db_type': 'web', 'total_memory': '4GB', 'cpus': 4, 'storage': 'ssd', 'pg_version': '15'}) == expected
    # keywords win over the dict
    assert pg_tune(dict(FACTS, db_type='dw'), db_type='web') == expected


def test_optional_parameters():
    result = pg_tune(dict(FACTS, cpus=None, max_connections=50, db_size='greater_ram'))
    assert result['max_connections'] == '50'
    assert 'max_worker_processes' not in result


def test_postgresql_18_on_linux_has_no_io_workers():
    # PGTune issue #142: io_workers only goes with io_method=worker; Linux gets io_uring. 16 CPUs used to give
    # io_workers=4 (floor(16/4)); work_mem (16777216-4194304)/((200+16)*3) = 12582912/648 = 19418.07 -> 19418kB.
    result = pg_tune({}, db_type='web', memory='16GB', cpus=16, storage='ssd', version='18')
    assert result['io_method'] == 'io_uring'
    assert 'io_workers' not in result
    assert result['work_mem'] == '19418kB'


def test_overrides_win():
    result = pg_tune(FACTS, overrides={'shared_buffers': '2GB', 'max_connections': 500, 'jit': None, 'wal_level': 'replica'})
    assert result['shared_buffers'] == '2GB'
    assert result['max_connections'] == '500'
    assert 'jit' not in result
    assert result['wal_level'] == 'replica'


@pytest.mark.parametrize('args, kwargs, fragments', [
    ((dict(FACTS, db_type='olap'),), {}, ['bulwark.stack.pg_tune', 'invalid db_type', "'olap'", 'web, oltp']),
    ((dict(FACTS, memory='lots'),), {}, ['invalid memory', "'lots'"]),
    (({'db_type': 'web', 'total_memory': -1, 'cpus': 4, 'storage': 'ssd', 'version': 15},), {}, ['invalid total_memory', '-1']),
    ((FACTS,), {'memory': 0}, ['invalid memory', '0']),
    ((dict(FACTS, cpus='four'),), {}, ['invalid cpus', "'four'"]),
    ((dict(FACTS, storage='tape'),), {}, ['invalid storage', 'nvme']),
    ((dict(FACTS, version=9),), {}, ['invalid version', '9']),
    ((FACTS,), {'overrides': ['x']}, ['invalid overrides']),
    ((dict(FACTS, ram='4GB'),), {}, ['unknown input key', 'ram']),
    (({'db_type': 'web', 'cpus': 4, 'storage': 'ssd'},), {}, ['missing required', 'memory', 'version']),
    ((dict(FACTS, total_memory='4GB'),), {}, ['memory', 'total_memory', 'only one']),
    (('web',), {}, ['input must be a dict']),
])
def test_errors_become_ansible_filter_error(args, kwargs, fragments):
    with pytest.raises(AnsibleFilterError) as excinfo:
        pg_tune(*args, **kwargs)
    message = str(excinfo.value)
    for fragment in fragments:
        assert fragment in message
