# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.redis_topology import (
    IncompleteReply,
    RedisTopologyError,
    RespError,
    decide_primary,
    encode_command,
    failover_in_progress,
    pairs_to_dict,
    parse_reply,
    sentinel_check,
)

NAMES3 = {'redis1': 'bulwark', 'redis2': 'bulwark', 'redis3': 'bulwark'}


def test_encode_command():
    assert encode_command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'bulwark') == (
        b'*3\r\n$8\r\nSENTINEL\r\n$23\r\nGET-MASTER-ADDR-BY-NAME\r\n$7\r\nbulwark\r\n')
    assert encode_command('AUTH', 'pässword') == b'*2\r\n$4\r\nAUTH\r\n$9\r\np\xc3\xa4ssword\r\n'


@pytest.mark.parametrize('raw, value', [
    (b'+OK\r\n', 'OK'),
    (b'-NOAUTH Authentication required.\r\n', RespError('NOAUTH Authentication required.')),
    (b':26379\r\n', 26379),
    (b'$-1\r\n', None),
    (b'*-1\r\n', None),
    (b'_\r\n', None),
    (b'$4\r\nab\r\n\r\n', 'ab\r\n'),
    (b'*2\r\n$10\r\n172.30.0.2\r\n$4\r\n6379\r\n', ['172.30.0.2', '6379']),
    (b'%1\r\n+flags\r\n+master\r\n', {'flags': 'master'}),
    (b'*2\r\n*1\r\n:1\r\n*0\r\n', [[1], []]),
])
def test_parse_reply(raw, value):
    assert parse_reply(raw) == (value, len(raw))


@pytest.mark.parametrize('raw', [b'', b'+OK', b'$5\r\nab', b'*2\r\n:1\r\n'])
def test_parse_incomplete(raw):
    with pytest.raises(IncompleteReply):
        parse_reply(raw)


def test_parse_rejects_garbage():
    with pytest.raises(ValueError):
        parse_reply(b'HTTP/1.1 400\r\n')


def test_pairs_to_dict():
    assert pairs_to_dict(['name', 'bulwark', 'flags', 'master']) == {'name': 'bulwark', 'flags': 'master'}
    assert pairs_to_dict({'a': 1}) == {'a': 1}
    assert pairs_to_dict(None) == {}


def sentinel(label, state, primary=None, error=''):
    return {'sentinel': label, 'state': state, 'primary': primary, 'error': error}


def node(host, state, following=None, error=''):
    return {'node': host, 'port': 6379, 'state': state, 'following': following, 'error': error}


P, R1, R2 = '10.0.0.2', '10.0.0.3', '10.0.0.4'
HEALTHY = [node(P, 'master'), node(R1, 'replica', [P, 6379]), node(R2, 'replica', [P, 6379])]
NOTHING = [node(h, 'refused') for h in (P, R1, R2)]


def test_nothing_listening_anywhere_means_bootstrap():
    assert decide_primary([sentinel(s, 'refused') for s in 'abc'], NOTHING) is None
    # A sentinel that answers but monitors no such name, with no Redis running: still nothing to follow.
    assert decide_primary([sentinel('a', 'unmonitored'), sentinel('b', 'refused'), sentinel('c', 'refused')],
                          NOTHING) is None


def test_majority_confirmed_by_role():
    answers = [sentinel('a', 'primary', [P, '6379']), sentinel('b', 'primary', [P, 6379]), sentinel('c', 'refused')]
    assert decide_primary(answers, HEALTHY) == {'host': P, 'port': 6379}


def test_majority_wins_over_a_stale_sentinel():
    # The old primary's sentinel was partitioned during the failover and still names it.
    nodes = [node(P, 'replica', [R1, 6379]), node(R1, 'master'), node(R2, 'replica', [R1, 6379])]
    answers = [sentinel('a', 'primary', [P, 6379]), sentinel('b', 'primary', [R1, 6379]), sentinel('c', 'primary', [R1, 6379])]
    assert decide_primary(answers, nodes) == {'host': R1, 'port': 6379}


def test_a_single_answering_sentinel_is_not_a_majority():
    answers = [sentinel('a', 'primary', [P, 6379]), sentinel('b', 'error', error='timed out'), sentinel('c', 'refused')]
    with pytest.raises(RedisTopologyError, match=r'no address is named by a majority \(2 of 3\).*b: timed out'):
        decide_primary(answers, HEALTHY)


def test_disagreement_without_majority_fails():
    answers = [sentinel('a', 'primary', [P, 6379]), sentinel('b', 'primary', [R1, 6379]), sentinel('c', 'refused')]
    with pytest.raises(RedisTopologyError, match='majority'):
        decide_primary(answers, HEALTHY)


def test_refused_credentials_fail_before_anything_else():
    answers = [sentinel('a', 'auth', error='AUTH refused: WRONGPASS'), sentinel('b', 'primary', [P, 6379]),
               sentinel('c', 'primary', [P, 6379])]
    with pytest.raises(RedisTopologyError, match='a refused the credentials.*rotation runbook'):
        decide_primary(answers, HEALTHY)
    answers = [sentinel(s, 'primary', [P, 6379]) for s in 'abc']
    with pytest.raises(RedisTopologyError, match='10.0.0.4 refused the credentials'):
        decide_primary(answers, HEALTHY[:2] + [node(R2, 'auth', error='AUTH refused: WRONGPASS')])


def test_named_primary_must_answer_role_as_master():
    answers = [sentinel(s, 'primary', [P, 6379]) for s in 'abc']
    with pytest.raises(RedisTopologyError, match='answers ROLE as replica'):
        decide_primary(answers, [node(P, 'replica', [R1, 6379])] + HEALTHY[1:])
    with pytest.raises(RedisTopologyError, match='answers ROLE as error'):
        decide_primary(answers, [node(P, 'error', error='timed out')] + HEALTHY[1:])


def test_a_second_master_fails():
    answers = [sentinel(s, 'primary', [P, 6379]) for s in 'abc']
    with pytest.raises(RedisTopologyError, match='10.0.0.4 also answer'):
        decide_primary(answers, HEALTHY[:2] + [node(R2, 'master')])


def test_sentinels_down_while_redis_runs_fails_closed():
    down = [sentinel(s, 'refused') for s in 'abc']
    with pytest.raises(RedisTopologyError, match='no sentinel names a primary.*Redis runs on 10.0.0.2, 10.0.0.3'):
        decide_primary(down, HEALTHY)
    # A host that cannot be reached is not proof that nothing runs there.
    with pytest.raises(RedisTopologyError, match='cannot reach 10.0.0.4'):
        decide_primary(down, NOTHING[:2] + [node(R2, 'error', error='timed out')])


def test_bootstrap_from_role_only_when_every_node_agrees():
    down = [sentinel(s, 'refused') for s in 'abc']
    assert decide_primary(down, HEALTHY, bootstrap_from_role=True) == {'host': P, 'port': 6379}
    with pytest.raises(RedisTopologyError):
        decide_primary(down, HEALTHY[:2] + [node(R2, 'replica', [R1, 6379])], bootstrap_from_role=True)
    with pytest.raises(RedisTopologyError):
        decide_primary(down, HEALTHY[:2] + [node(R2, 'refused')], bootstrap_from_role=True)


@pytest.mark.parametrize('info, expected', [
    ({'flags': 'master', 'failover-state': 'none'}, False),
    ({'flags': 'master'}, False),
    ({'flags': 'master,s_down'}, True),
    ({'flags': 'master,s_down,o_down'}, True),
    ({'flags': 'master,failover_in_progress'}, True),
    ({'flags': 'master', 'failover-state': 'wait_promotion'}, True),
])
def test_failover_in_progress(info, expected):
    assert failover_in_progress(info) is expected


def test_sound_deployment_has_no_problems():
    assert sentinel_check(NAMES3, 2, production=True) == []
    assert sentinel_check(dict(NAMES3, redis4='bulwark', redis5='bulwark'), 3, production=True) == []


@pytest.mark.parametrize('quorum, fragment', [
    (4, 'redis_sentinel_quorum is 4 but there are 3 sentinels'),
    (0, 'redis_sentinel_quorum is 0 but there are 3 sentinels'),
    (1, 'redis_sentinel_quorum is 1, not a majority of the 3 sentinels'),
    ('two', "redis_sentinel_quorum is 'two'"),
])
def test_bad_quorum(quorum, fragment):
    problems = sentinel_check(NAMES3, quorum)
    assert len(problems) == 1 and fragment in problems[0], problems


def test_even_number_of_sentinels_needs_more_than_half():
    names = dict(NAMES3, redis4='bulwark')
    assert 'use at least 3' in sentinel_check(names, 2)[0]
    assert sentinel_check(names, 3) == []


def test_production_needs_three_sentinels():
    names = {'redis1': 'bulwark', 'redis2': 'bulwark'}
    assert sentinel_check(names, 2) == []
    problems = sentinel_check(names, 2, production=True)
    assert len(problems) == 1 and 'only 2 sentinel(s) in a production inventory' in problems[0]


def test_monitored_names_must_agree():
    problems = sentinel_check(dict(NAMES3, redis3='cache'), 2)
    assert len(problems) == 1
    assert 'redis1=bulwark, redis2=bulwark, redis3=cache' in problems[0]


def test_running_sentinels_must_monitor_the_name():
    assert sentinel_check(NAMES3, 2, running_names={'10.0.0.2:26379': ['bulwark']}) == []
    problems = sentinel_check(NAMES3, 2, running_names={'10.0.0.2:26379': ['mymaster']})
    assert len(problems) == 1 and 'monitors mymaster, not bulwark' in problems[0]


def test_empty_group():
    assert 'group is empty' in sentinel_check({}, 2)[0]
