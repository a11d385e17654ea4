"""The scram_sha256 and pgbouncer_pools filters wrap module_utils and turn errors into AnsibleFilterError."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.filter.pgbouncer_pools import FilterModule as PoolsFilters
from ansible_collections.bulwark.stack.plugins.filter.scram_sha256 import FilterModule as ScramFilters
from ansible_collections.bulwark.stack.plugins.module_utils.scram import scram_sha256


def test_scram_filter():
    f = ScramFilters().filters()['scram_sha256']
    assert f('pw', 'db1:app') == scram_sha256('pw', 'db1:app')
    assert f('pw', 'db1:app', '5000').startswith('SCRAM-SHA-256$5000:')
    with pytest.raises(AnsibleFilterError, match='scram_sha256: .*empty'):
        f('', 'db1:app')


def test_pools_filter():
    f = PoolsFilters().filters()['pgbouncer_pools']
    assert f([{'name': 'app'}], [{'name': 'app'}], 25, 5, 100)['total'] == 30
    with pytest.raises(AnsibleFilterError, match='pgbouncer_pools: .*allows only 27'):
        f([{'name': 'app'}], [{'name': 'app'}], 25, 5, 30)
