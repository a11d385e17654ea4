# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the stack topology (plugins/module_utils/topology.py): services, service_port, internal_address."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils import topology


def _wrap(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except topology.TopologyError as exc:
            raise AnsibleFilterError(str(exc)) from exc
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_wrap
def services(overrides=None):
    return topology.services(overrides or None)


@_wrap
def service_port(name, overrides=None):
    return topology.service_port(name, overrides or None)


@_wrap
def internal_address(hostvars, network=None):
    return topology.internal_address(hostvars, network or None)


class FilterModule:
    def filters(self):
        return {
            'services': services,
            'service_port': service_port,
            'internal_address': internal_address,
        }
