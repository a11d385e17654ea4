# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.filter.redis_sentinel_check import FilterModule, redis_sentinel_check

NAMES3 = {'redis1': 'bulwark', 'redis2': 'bulwark', 'redis3': 'bulwark'}


def test_filter_is_registered():
    assert FilterModule().filters()['redis_sentinel_check'] is redis_sentinel_check


def test_sound_deployment():
    assert redis_sentinel_check(NAMES3, 2, production=True) == []


def test_problems_are_returned():
    problems = redis_sentinel_check({'redis1': 'bulwark', 'redis2': 'other'}, '3', production=True,
                                    min_production_sentinels='3', running_names=None)
    assert len(problems) == 3
    assert any('quorum is 3 but there are 2 sentinels' in p for p in problems)
    assert any('production' in p for p in problems)
    assert any('different monitored names' in p for p in problems)


def test_input_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match='must map sentinel hosts'):
        redis_sentinel_check(['redis1'], 2)
