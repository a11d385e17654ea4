# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.bulwark.stack.plugins.module_utils.redis_files import acl_hashes, sentinel_secrets


def _call(function, *args):
    try:
        return function(*args)
    except ValueError as exc:
        raise AnsibleFilterError('%s: %s' % (function.__name__, exc)) from exc


def redis_acl_hashes(text):
    """Jinja2 filter: ``content | bulwark.stack.redis_acl_hashes``."""
    return _call(acl_hashes, text or '')


def redis_sentinel_secrets(text, master_name):
    """Jinja2 filter: ``content | bulwark.stack.redis_sentinel_secrets('bulwark')``."""
    return _call(sentinel_secrets, text or '', master_name)


class FilterModule(object):
    def filters(self):
        return {'redis_acl_hashes': redis_acl_hashes, 'redis_sentinel_secrets': redis_sentinel_secrets}
