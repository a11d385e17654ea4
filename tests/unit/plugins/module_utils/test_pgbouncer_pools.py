"""PgBouncer pool sizing cross-check."""

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.pgbouncer_pools import PoolSizeError, pool_plan

DBS = [{'name': 'app'}, {'name': 'reports', 'pool_size': 10}]


def test_one_pool_fits():
    plan = pool_plan([{'name': 'app'}], [{'name': 'app'}], 25, 5, 100, 3)
    assert plan['total'] == 30 and plan['limit'] == 97
    assert plan['pools'] == [{'database': 'app', 'user': 'app', 'pool_size': 25, 'reserve_pool_size': 5,
                              'connections': 30}]


def test_precedence_user_then_database_then_default():
    users = [{'name': 'app', 'pool_size': 7}, {'name': 'bi', 'databases': ['reports']}, {'name': 'web', 'databases': ['app']}]
    plan = pool_plan(DBS, users, 25, 5, 200, 3)
    sizes = {(p['database'], p['user']): p['pool_size'] for p in plan['pools']}
    assert sizes == {('app', 'app'): 7, ('reports', 'app'): 7, ('reports', 'bi'): 10, ('app', 'web'): 25}
    assert plan['total'] == 7 + 7 + 10 + 25 + 4 * 5


def test_exact_fit_passes_and_one_more_fails():
    # 3 pools of 25 + 5 = 90 <= 93 - 3
    users = [{'name': 'a'}, {'name': 'b'}, {'name': 'c'}]
    assert pool_plan([{'name': 'app'}], users, 25, 5, 93, 3)['total'] == 90
    with pytest.raises(PoolSizeError) as err:
        pool_plan([{'name': 'app'}], users, 25, 5, 92, 3)
    message = str(err.value)
    for name in ('pgbouncer_default_pool_size', 'pgbouncer_reserve_pool_size', 'pgbouncer_server_max_connections',
                 'pgbouncer_server_superuser_reserved_connections', 'postgresql_max_connections', 'app/a=30'):
        assert name in message


def test_reserved_connections_count():
    with pytest.raises(PoolSizeError, match='allows only 70'):
        pool_plan([{'name': 'app'}], [{'name': 'a'}, {'name': 'b'}, {'name': 'c'}], 25, 5, 100, 30)


@pytest.mark.parametrize('dbs, users, default, message', [
    ([{'name': 'app'}], [{'name': 'u', 'databases': ['nope']}], 25, 'not in pgbouncer_databases'),
    ([{}], [{'name': 'u'}], 25, r'pgbouncer_databases\[0\]'),
    ([{'name': 'app'}], [{'pool_size': 3}], 25, r'pgbouncer_users\[0\] needs a name'),
    ([{'name': 'app'}], [{'name': 'u'}], 0, 'pgbouncer_default_pool_size'),
    ([{'name': 'app'}], [{'name': 'u'}], 'lots', 'pgbouncer_default_pool_size'),
    ({'app': {}}, [{'name': 'u'}], 25, 'must be lists'),
])
def test_bad_input(dbs, users, default, message):
    with pytest.raises(PoolSizeError, match=message):
        pool_plan(dbs, users, default, 5, 100, 3)
