# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis Sentinel topology, as pure logic: the RESP wire format, which primary the sentinels agree on, and the
cross-checks an inventory must pass before any host changes.

No Ansible and no sockets here, so unit tests call every function directly. The module
``bulwark.stack.redis_sentinel_primary`` does the network I/O and the filter ``bulwark.stack.redis_sentinel_check``
exposes the cross-checks to the roles.
"""

from __future__ import annotations


class RedisTopologyError(ValueError):
    """The sentinels' answers do not name one primary; the message says what they said and what to do."""


class RespError(object):
    """An error reply (``-ERR ...``) from the server, kept as a value so callers can report it."""

    def __init__(self, message):
        self.message = message

    def __eq__(self, other):
        return isinstance(other, RespError) and other.message == self.message

    def __repr__(self):
        return 'RespError(%r)' % self.message


class IncompleteReply(Exception):
    """The buffer does not hold a whole reply yet; read more bytes and parse again."""


def encode_command(*args):
    """One command as a RESP array of bulk strings."""
    out = [b'*%d\r\n' % len(args)]
    for arg in args:
        if not isinstance(arg, bytes):
            arg = str(arg).encode('utf-8')
        out.append(b'$%d\r\n%s\r\n' % (len(arg), arg))
    return b''.join(out)


def parse_reply(buf, pos=0):
    """Parse one RESP2/RESP3 reply from ``buf`` at ``pos``; return ``(value, next_pos)``.

    Simple and bulk strings become ``str``, integers ``int``, arrays and sets ``list``, maps ``dict``, nil ``None``
    and error replies ``RespError``. Raises IncompleteReply when ``buf`` ends before the reply does.
    """
    end = buf.find(b'\r\n', pos)
    if end < 0:
        raise IncompleteReply()
    kind, line = buf[pos:pos + 1], buf[pos + 1:end].decode('utf-8', 'replace')
    nxt = end + 2
    if kind == b'+':
        return line, nxt
    if kind in (b'-', b'!'):
        if kind == b'!':
            size = int(line)
            if len(buf) < nxt + size + 2:
                raise IncompleteReply()
            return RespError(buf[nxt:nxt + size].decode('utf-8', 'replace')), nxt + size + 2
        return RespError(line), nxt
    if kind == b':':
        return int(line), nxt
    if kind == b'_':
        return None, nxt
    if kind in (b'$', b'='):
        size = int(line)
        if size < 0:
            return None, nxt
        if len(buf) < nxt + size + 2:
            raise IncompleteReply()
        return buf[nxt:nxt + size].decode('utf-8', 'replace'), nxt + size + 2
    if kind in (b'*', b'~', b'>', b'%'):
        count = int(line)
        if count < 0:
            return None, nxt
        if kind == b'%':
            count *= 2
        items = []
        for dummy in range(count):
            item, nxt = parse_reply(buf, nxt)
            items.append(item)
        if kind == b'%':
            return dict(zip(items[0::2], items[1::2])), nxt
        return items, nxt
    raise ValueError('not a RESP reply (type byte %r)' % kind)


def pairs_to_dict(reply):
    """A flat ``[key, value, key, value, ...]`` reply (SENTINEL MASTER, SENTINEL MASTERS items) as a dict."""
    if isinstance(reply, dict):
        return reply
    if not isinstance(reply, list):
        return {}
    return dict(zip(reply[0::2], reply[1::2]))


# What one sentinel or one Redis node said, as classified by the module (``state`` of each report):
#   sentinels: 'primary' (names one), 'unmonitored' (answers, monitors no such name), 'refused' (nothing listens),
#              'auth' (refused the credentials), 'error' (timeout, unreachable, protocol error);
#   Redis nodes (ROLE): 'master', 'replica', 'refused', 'auth', 'error'.
SILENT = ('refused',)


def decide_primary(sentinels, nodes, bootstrap_from_role=False):
    """The current primary, decided fail-closed from the sentinels' answers checked against ROLE on the Redis nodes.

    ``sentinels``: one report per configured sentinel, ``{'sentinel': label, 'state': ..., 'primary': [host, port]
    or None, 'error': text}``. ``nodes``: one report per Redis host, ``{'node': host, 'state': ..., 'following':
    [host, port] or None, 'error': text}``.

    Returns ``{'host': ..., 'port': ...}``, or None when there is provably no running topology (no sentinel and no
    Redis listens on any Redis host: the caller bootstraps from its configured initial primary). Raises
    RedisTopologyError, saying what each one answered and what to do, whenever the primary cannot be known for sure:
    a sentinel or node refuses the credentials, no strict majority of the configured sentinels names one address,
    the named primary does not answer ROLE as master, another node also claims to be master, or no sentinel answers
    while Redis runs. With ``bootstrap_from_role`` (an operator's explicit choice, to finish a first deployment that
    stopped before the sentinels started) the last case takes the one master ROLE reports when every node answers and
    every replica follows it.
    """
    def said(reports, key):
        return '; '.join('%s: %s' % (r[key], r.get('error') or (
            '%s %s:%s' % (r['state'], r['primary'][0], r['primary'][1]) if r.get('primary') else
            '%s of %s:%s' % (r['state'], r['following'][0], r['following'][1]) if r.get('following') else r['state']))
            for r in reports)

    refused = [r['sentinel'] for r in sentinels if r['state'] == 'auth'] + [r['node'] for r in nodes if r['state'] == 'auth']
    if refused:
        raise RedisTopologyError(
            '%s refused the credentials this run sends (%s). Nothing was changed. If a Sentinel or Redis password is '
            'being rotated, follow the rotation runbook in the README; otherwise check the vault values'
            % (', '.join(refused), said(sentinels, 'sentinel')))
    total = len(sentinels)
    need = total // 2 + 1
    votes = {}
    for report in sentinels:
        if report['state'] == 'primary':
            votes.setdefault((str(report['primary'][0]), int(report['primary'][1])), []).append(report['sentinel'])
    masters = [r for r in nodes if r['state'] == 'master']
    if votes:
        ranked = sorted(votes.items(), key=lambda item: (-len(item[1]), item[0]))
        (host, port), names = ranked[0]
        if len(names) < need:
            raise RedisTopologyError(
                'no address is named by a majority (%d of %d) of the sentinels (%s). A failover may be in progress, '
                'sentinels may be down or partitioned: nothing was changed. Check `SENTINEL MASTERS` on each '
                'sentinel, bring them back, then run again' % (need, total, said(sentinels, 'sentinel')))
        node = [r for r in nodes if r['node'] == host]
        if node and node[0]['state'] != 'master':
            raise RedisTopologyError(
                'the sentinels name %s:%d as the primary, but that host answers ROLE as %s (%s). Nothing was changed: '
                'wait for the failover to finish (or bring the primary back), then run again'
                % (host, port, node[0]['state'], said(nodes, 'node')))
        others = [r['node'] for r in masters if r['node'] != host]
        if others:
            raise RedisTopologyError(
                'the sentinels name %s:%d as the primary, but %s also answer(s) ROLE as master (%s): a split brain or '
                'an old primary not yet reconfigured. Nothing was changed: let Sentinel reconfigure it, then run again'
                % (host, port, ', '.join(others), said(nodes, 'node')))
        return {'host': host, 'port': port}
    unknown = [r['sentinel'] for r in sentinels if r['state'] == 'error'] + \
        [r['node'] for r in nodes if r['state'] == 'error']
    running = [r['node'] for r in nodes if r['state'] not in SILENT]
    if not unknown and not running:
        return None
    if bootstrap_from_role and not unknown and len(masters) == 1 and len(running) == len(nodes):
        primary = masters[0]['node']
        port = masters[0].get('port')
        if all(r['state'] == 'master' or (r.get('following') and str(r['following'][0]) == primary) for r in nodes):
            return {'host': primary, 'port': port}
    raise RedisTopologyError(
        'no sentinel names a primary (sentinels: %s), but %s (Redis: %s). The primary cannot be known for sure, so '
        'nothing was changed. Start the sentinels (systemctl start redis-sentinel) or bring the unreachable hosts '
        'back, then run again. Only if a first deployment stopped before its sentinels started, set '
        'redis_discovery_bootstrap=true once to take the primary that ROLE reports'
        % (said(sentinels, 'sentinel'),
           'cannot reach %s' % ', '.join(unknown) if unknown else 'Redis runs on %s' % ', '.join(running),
           said(nodes, 'node')))


def failover_in_progress(master_info):
    """True when a SENTINEL MASTER reply (dict) shows the primary down or a failover running."""
    flags = str(master_info.get('flags', '')).split(',')
    return any(flag in ('s_down', 'o_down', 'failover_in_progress', 'promoted') for flag in flags) or \
        str(master_info.get('failover-state', 'none')) not in ('none', '')


def sentinel_check(master_names, quorum, production=False, min_production_sentinels=3, running_names=None):
    """Cross-checks of a Sentinel deployment, refused before any change. Returns a list of problems ([] = fine).

    ``master_names`` maps each sentinel host to the monitored name it is configured with; ``quorum`` is the
    Sentinel quorum; ``production`` asks for at least ``min_production_sentinels`` sentinels. ``running_names``
    optionally maps sentinels that already run to the list of names they monitor.
    """
    problems = []
    count = len(master_names)
    if count == 0:
        return ['no sentinel hosts: the sentinel group is empty; add the hosts to the inventory group']
    try:
        quorum = int(quorum)
    except (TypeError, ValueError):
        return ['redis_sentinel_quorum is %r; use a whole number such as %d' % (quorum, count // 2 + 1)]
    majority = count // 2 + 1
    if quorum < 1 or quorum > count:
        problems.append('redis_sentinel_quorum is %d but there are %d sentinels: a quorum above the number of '
                        'sentinels can never be reached; use %d' % (quorum, count, majority))
    elif quorum < majority:
        problems.append('redis_sentinel_quorum is %d, not a majority of the %d sentinels: a minority could declare '
                        'the primary down; use at least %d' % (quorum, count, majority))
    if production and count < min_production_sentinels:
        problems.append('only %d sentinel(s) in a production inventory; run at least %d (on separate hosts) so one '
                        'lost host still leaves a majority' % (count, min_production_sentinels))
    names = sorted(set(str(name) for name in master_names.values()))
    if len(names) != 1:
        detail = ', '.join('%s=%s' % (host, name) for host, name in sorted(master_names.items()))
        problems.append('the sentinels are configured with different monitored names (%s); set one '
                        'redis_sentinel_master_name for the whole group' % detail)
    elif running_names:
        for host, monitored in sorted(running_names.items()):
            if monitored and names[0] not in monitored:
                problems.append('the running sentinel %s monitors %s, not %s; it was set up with another name: '
                                'run SENTINEL REMOVE on it or fix redis_sentinel_master_name'
                                % (host, ', '.join(sorted(monitored)), names[0]))
    return problems
