# -*- coding: utf-8 -*-
"""What Redis' ACL file and Sentinel's file say about the passwords in effect (module_utils/redis_files.py)."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.redis_files import acl_hashes, sentinel_secrets, split_args


def sha(text):
    return '#' + hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize('line, words', [
    ('user app on #ab ~* +@all', ['user', 'app', 'on', '#ab', '~*', '+@all']),
    ('requirepass "a b\\"c"', ['requirepass', 'a b"c']),
    ('requirepass "x\\x41y\\n"', ['requirepass', 'xAy\n']),
    ("sentinel sentinel-pass 'it\\'s'", ['sentinel', 'sentinel-pass', "it's"]),
    ('  dir   "/var/lib/redis"  ', ['dir', '/var/lib/redis']),
    ('', []),
])
def test_split_args_reads_lines_as_redis_does(line, words):
    assert split_args(line) == words


@pytest.mark.parametrize('line', ['requirepass "open', "requirepass 'open", 'requirepass "a"b'])
def test_split_args_refuses_broken_quoting(line):
    with pytest.raises(ValueError):
        split_args(line)


def test_acl_hashes_lists_every_hash_of_every_user_in_order():
    text = '\n'.join([
        'user default off resetkeys resetchannels -@all',
        'user app on %s %s ~* &* -@all +@read' % (sha('new'), sha('old')),
        'user admin on %s ~* &* +@all' % sha('admin'),
        '# a comment line',
    ])
    assert acl_hashes(text) == {'default': [], 'app': [sha('new'), sha('old')], 'admin': [sha('admin')]}
    assert acl_hashes('') == {}


def test_acl_hashes_ignores_words_that_only_look_like_hashes():
    assert acl_hashes('user app on #short ~#key* +@all') == {'app': []}


REWRITTEN = '''# bulwark.stack.redis_sentinel: created once; Sentinel owns this file now
port 26379
requirepass "old-sentinel-password"
sentinel monitor bulwark 10.0.0.1 6379 2
sentinel auth-user bulwark sentinel
sentinel auth-pass bulwark sentinel-user-password
sentinel auth-pass other not-this-one
user default on sanitize-payload %s %s ~* &* +@all
sentinel sentinel-pass new-sentinel-password
''' % (sha('new-sentinel-password'), sha('old-sentinel-password'))


def test_sentinel_secrets_prefers_sentinel_pass_and_reports_leftovers():
    found = sentinel_secrets(REWRITTEN, 'bulwark')
    assert found == {'password': 'new-sentinel-password', 'sentinel_pass': 'new-sentinel-password',
                     'requirepass': 'old-sentinel-password', 'auth_user': 'sentinel',
                     'auth_pass': 'sentinel-user-password',
                     'default_hashes': [sha('new-sentinel-password'), sha('old-sentinel-password')]}


def test_sentinel_secrets_of_an_older_file_use_requirepass():
    found = sentinel_secrets('requirepass only-this\nsentinel auth-pass bulwark x\n', 'bulwark')
    assert (found['password'], found['sentinel_pass'], found['requirepass'], found['default_hashes']) == \
        ('only-this', '', 'only-this', [])


def test_sentinel_secrets_of_no_file_are_empty():
    assert sentinel_secrets('', 'bulwark') == {'password': '', 'sentinel_pass': '', 'requirepass': '', 'auth_user': '',
                                               'auth_pass': '', 'default_hashes': []}
