# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a certificate cover a server name? RFC 6125 matching of a DNS name against subjectAltName entries.

Pure Python (no Ansible imports) so the filter and unit tests share it.
"""

from __future__ import absolute_import, division, print_function

import ipaddress

__metaclass__ = type


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _dns_match(name, pattern):
    """``pattern`` may start with one ``*.`` label, which matches exactly one non-empty left-most label."""
    name = name.rstrip('.').lower()
    pattern = pattern.rstrip('.').lower()
    if pattern.startswith('*.'):
        if _is_ip(name):
            return False
        head, sep, tail = name.partition('.')
        return bool(head) and bool(sep) and tail == pattern[2:] and '.' in pattern[2:]
    return name == pattern


def name_matches(name, subject_alt_names):
    """True when ``name`` (a DNS name or an IP address) is covered by one of ``subject_alt_names``.

    ``subject_alt_names`` is a list of strings as community.crypto returns them: ``DNS:example.org``,
    ``DNS:*.example.org``, ``IP:192.0.2.1``. Other entry types are ignored; the subject CN is not consulted
    (browsers have ignored it since 2017).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError('name: expected a non-empty DNS name or IP address, got %r' % (name,))
    if subject_alt_names is None:
        subject_alt_names = []
    if isinstance(subject_alt_names, str) or not isinstance(subject_alt_names, (list, tuple)):
        raise ValueError('subject_alt_names: expected a list such as ["DNS:example.org"], got %r' % (subject_alt_names,))
    name = name.strip()
    for entry in subject_alt_names:
        kind, sep, value = str(entry).partition(':')
        if not sep:
            continue
        kind = kind.strip().upper()
        value = value.strip()
        if kind == 'DNS' and not _is_ip(name) and _dns_match(name, value):
            return True
        if kind in ('IP', 'IP ADDRESS') and _is_ip(name) and _is_ip(value):
            if ipaddress.ip_address(name) == ipaddress.ip_address(value):
                return True
    return False
