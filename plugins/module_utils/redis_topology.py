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


def decide_primary(answers, total_sentinels):
    """Which primary the sentinels point at, from each sentinel's answer to SENTINEL GET-MASTER-ADDR-BY-NAME.

    ``answers`` maps a sentinel (any label) to ``[host, port]``, or to None when that sentinel does not answer or
    does not monitor the name. Returns ``{'host': ..., 'port': ...}``, or None when no sentinel names a primary
    (nothing deployed yet: the caller bootstraps from its configured initial primary). When the sentinels that
    answer disagree, the address named by a strict majority of ``total_sentinels`` wins (that is what a failover
    needs too); without such a majority this raises RedisTopologyError, because templating either side could point
    replicas at a stale primary.
    """
    votes = {}
    for sentinel, addr in sorted(answers.items()):
        if not addr:
            continue
        key = (str(addr[0]), int(addr[1]))
        votes.setdefault(key, []).append(sentinel)
    if not votes:
        return None
    if len(votes) == 1:
        host, port = list(votes)[0]
        return {'host': host, 'port': port}
    need = total_sentinels // 2 + 1
    ranked = sorted(votes.items(), key=lambda item: -len(item[1]))
    if len(ranked[0][1]) >= need:
        host, port = ranked[0][0]
        return {'host': host, 'port': port}
    detail = '; '.join('%s:%d named by %s' % (h, p, ', '.join(names)) for (h, p), names in ranked)
    raise RedisTopologyError(
        'the sentinels disagree on the current primary (%s) and no address has a majority of %d of %d sentinels. '
        'A failover may be in progress or the sentinels are partitioned: wait for the failover to finish, check '
        '`SENTINEL MASTERS` on each sentinel, then run again' % (detail, need, total_sentinels))


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
