# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.haproxy_stat import admin_down, backend_servers, serving
from ansible_collections.bulwark.stack.plugins.filter.haproxy_server import haproxy_server

HEADER = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight'
STAT = '\n'.join([
    HEADER,
    'https,FRONTEND,,,0,3,,10,0,0,0,0,0,,,,,OPEN,',
    'app,app1,0,0,0,1,,5,0,0,,0,,0,0,0,0,UP,1',
    'app,app2,0,0,0,1,,5,0,0,,0,,0,0,0,0,MAINT,1',
    'app,app3,0,0,0,1,,5,0,0,,0,,0,0,0,0,UP 1/3,1',
    'app,app4,0,0,0,1,,5,0,0,,0,,0,0,0,0,DRAIN,1',
    'app,BACKEND,0,0,0,1,,5,0,0,0,0,,0,0,0,0,UP,3',
    'other,web1,0,0,0,1,,5,0,0,,0,,0,0,0,0,DOWN,1',
    '',
])


def test_backend_servers():
    assert backend_servers(STAT, 'app') == {'app1': 'UP', 'app2': 'MAINT', 'app3': 'UP 1/3', 'app4': 'DRAIN'}
    assert backend_servers(STAT.splitlines(), 'other') == {'web1': 'DOWN'}


@pytest.mark.parametrize('status, takes_traffic, taken_out', [
    ('UP', True, False), ('UP 1/3', True, False), ('DOWN', False, False), ('DOWN 1/2', False, False),
    ('MAINT', False, True), ('MAINT (via app/app1)', False, True), ('DRAIN', False, True), ('NOLB', False, False),
    ('no check', False, False),
])
def test_status_classes(status, takes_traffic, taken_out):
    assert serving(status) is takes_traffic
    assert admin_down(status) is taken_out


def test_not_show_stat_or_unknown_backend_fails():
    with pytest.raises(ValueError, match='header'):
        backend_servers('Unknown command', 'app')
    with pytest.raises(ValueError, match="'nope' has no servers"):
        backend_servers(STAT, 'nope')


def test_filter():
    expected = {'status': 'UP', 'serving': True, 'admin_down': False, 'others_serving': ['app3']}
    assert haproxy_server(STAT, 'app', 'app1') == expected
    assert haproxy_server(STAT, 'app', 'app2')['admin_down'] is True
    assert haproxy_server(STAT, 'app', 'app9')['status'] == 'absent'
