# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Redis' own files say about the passwords in effect, as pure functions (no Ansible, no I/O).

Rotating a password without a gap needs the value the servers accept *now*, and the inventory only has the new one.
Redis' ACL file keeps each user's passwords as SHA-256 hashes (enough to keep accepting them while clients move),
and Sentinel's file keeps the passwords it uses itself in plain text (its sentinel-pass, or the older requirepass,
and the auth-pass it gives Redis), which is enough to log in while they are being replaced.
"""

from __future__ import annotations

_ESCAPES = {'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'a': '\a'}


def split_args(line):
    """Split one config line the way Redis does (sdssplitargs): words, "double quoted" with backslash escapes
    (\\n, \\xHH, ...), 'single quoted' with \\' only. Raises ValueError on unbalanced quotes."""
    words, pos, size = [], 0, len(line)
    while True:
        while pos < size and line[pos].isspace():
            pos += 1
        if pos >= size:
            return words
        word, quote = [], None
        while pos < size:
            char = line[pos]
            if quote == '"':
                if char == '\\' and pos + 3 < size and line[pos + 1] == 'x' and _is_hex(line[pos + 2:pos + 4]):
                    word.append(chr(int(line[pos + 2:pos + 4], 16)))
                    pos += 3
                elif char == '\\' and pos + 1 < size:
                    pos += 1
                    word.append(_ESCAPES.get(line[pos], line[pos]))
                elif char == '"':
                    quote = _closed(line, pos)
                else:
                    word.append(char)
            elif quote == "'":
                if char == '\\' and pos + 1 < size and line[pos + 1] == "'":
                    pos += 1
                    word.append("'")
                elif char == "'":
                    quote = _closed(line, pos)
                else:
                    word.append(char)
            elif char.isspace():
                break
            elif char in '"\'' and not word:
                quote = char
            else:
                word.append(char)
            pos += 1
        if quote:
            raise ValueError('unbalanced quotes')
        words.append(''.join(word))


def _closed(line, pos):
    """A closing quote at pos must end the word (as in Redis); returns the new quote state (none)."""
    if pos + 1 < len(line) and not line[pos + 1].isspace():
        raise ValueError('closing quote must be followed by a space')
    return None


def _is_hex(text):
    return len(text) == 2 and all(c in '0123456789abcdefABCDEF' for c in text)


def _lines(text):
    for line in (text or '').splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            yield split_args(line)


def acl_hashes(text):
    """``{user: ['#<sha256 hex>', ...]}`` from an ACL file (or the ``user`` lines of sentinel.conf), in file order."""
    users = {}
    for words in _lines(text):
        if len(words) > 1 and words[0].lower() == 'user':
            users[words[1]] = [w for w in words[2:] if w.startswith('#') and len(w) == 65]
    return users


def sentinel_secrets(text, master_name):
    """The credentials a sentinel.conf holds in plain text: ``password`` (what Sentinel gives the other sentinels:
    ``sentinel sentinel-pass``, else ``requirepass``), ``sentinel_pass`` and ``requirepass`` (the latter a leftover of files written before hashed
    users, '' when absent), ``auth_user`` and ``auth_pass`` (what it gives Redis for ``master_name``) and
    ``default_hashes`` (the passwords its default user accepts)."""
    found = {'sentinel_pass': '', 'requirepass': '', 'auth_user': '', 'auth_pass': ''}
    for words in _lines(text):
        key = words[0].lower()
        if key == 'requirepass' and len(words) == 2:
            found['requirepass'] = words[1]
        elif key == 'sentinel' and len(words) == 3 and words[1].lower() == 'sentinel-pass':
            found['sentinel_pass'] = words[2]
        elif key == 'sentinel' and len(words) == 4 and words[2] == master_name and words[1].lower() in ('auth-pass', 'auth-user'):
            found[words[1].lower().replace('-', '_')] = words[3]
    return {'password': found['sentinel_pass'] or found['requirepass'], 'sentinel_pass': found['sentinel_pass'],
            'requirepass': found['requirepass'],
            'auth_user': found['auth_user'], 'auth_pass': found['auth_pass'],
            'default_hashes': acl_hashes(text).get('default', [])}
