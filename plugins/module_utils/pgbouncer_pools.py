# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgBouncer pool sizing cross-check against the PostgreSQL server it pools for (pure Python).

PgBouncer keeps one pool per (database, user) pair. At worst every pool opens pool_size + reserve_pool_size
server connections, and that must fit in what PostgreSQL lets ordinary roles use:
max_connections - superuser_reserved_connections (the reserved slots are for superusers only).
"""

from __future__ import annotations


class PoolSizeError(ValueError):
    """Pools do not fit, or the input is malformed; the message names the variables and the fix."""


def _int(value, name, minimum=0):
    if isinstance(value, bool):
        raise PoolSizeError('%s is %r; use an integer >= %d' % (name, value, minimum))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PoolSizeError('%s is %r; use an integer >= %d' % (name, value, minimum))
    if number < minimum or (isinstance(value, float) and not value.is_integer()):
        raise PoolSizeError('%s is %r; use an integer >= %d' % (name, value, minimum))
    return number


def pool_plan(databases, users, default_pool_size, reserve_pool_size, max_connections,
              superuser_reserved_connections=3):
    """Return {'pools': [...], 'total': N, 'limit': M}; raise PoolSizeError when total > limit.

    ``databases``: list of {'name': str, 'pool_size': int (optional)} (pgbouncer_databases).
    ``users``: list of {'name': str, 'databases': [names] (optional, default all), 'pool_size': int (optional)}
    (pgbouncer_users). A pool's size is the user's pool_size, else the database's, else default_pool_size,
    like PgBouncer's precedence (user, database, default).
    """
    default_pool_size = _int(default_pool_size, 'pgbouncer_default_pool_size', 1)
    reserve_pool_size = _int(reserve_pool_size, 'pgbouncer_reserve_pool_size', 0)
    max_connections = _int(max_connections, 'pgbouncer_server_max_connections', 1)
    reserved = _int(superuser_reserved_connections, 'pgbouncer_server_superuser_reserved_connections', 0)
    if not isinstance(databases, list) or not isinstance(users, list):
        raise PoolSizeError('pgbouncer_databases and pgbouncer_users must be lists of mappings with a name')
    db_sizes = {}
    for index, db in enumerate(databases):
        if not isinstance(db, dict) or not db.get('name'):
            raise PoolSizeError('pgbouncer_databases[%d] is %r; each entry needs a name' % (index, db))
        db_sizes[db['name']] = (_int(db['pool_size'], 'pgbouncer_databases[%d].pool_size' % index, 1)
                                if db.get('pool_size') is not None else None)
    pools = []
    for index, user in enumerate(users):
        if not isinstance(user, dict) or not user.get('name'):
            raise PoolSizeError('pgbouncer_users[%d] needs a name' % index)
        wanted = user.get('databases')
        names = sorted(db_sizes) if wanted is None else list(wanted)
        unknown = [n for n in names if n not in db_sizes]
        if unknown:
            raise PoolSizeError('pgbouncer_users[%d] (%s) lists databases %s that are not in pgbouncer_databases; '
                                'add them there or fix the list' % (index, user['name'], ', '.join(unknown)))
        user_size = (_int(user['pool_size'], 'pgbouncer_users[%d].pool_size' % index, 1)
                     if user.get('pool_size') is not None else None)
        for name in names:
            size = user_size or db_sizes[name] or default_pool_size
            pools.append({'database': name, 'user': user['name'], 'pool_size': size,
                          'reserve_pool_size': reserve_pool_size, 'connections': size + reserve_pool_size})
    total = sum(p['connections'] for p in pools)
    limit = max_connections - reserved
    if total > limit:
        detail = ', '.join('%s/%s=%d' % (p['database'], p['user'], p['connections']) for p in pools)
        raise PoolSizeError(
            'PgBouncer pools need up to %d server connections (sum over database/user pools of pool size + '
            'pgbouncer_reserve_pool_size: %s) but PostgreSQL allows only %d (pgbouncer_server_max_connections %d - '
            'pgbouncer_server_superuser_reserved_connections %d). Fix: lower pgbouncer_default_pool_size, the '
            'pool_size of pgbouncer_databases/pgbouncer_users entries or pgbouncer_reserve_pool_size, or raise '
            'postgresql_max_connections.' % (total, detail, limit, max_connections, reserved))
    return {'pools': pools, 'total': total, 'limit': limit}
