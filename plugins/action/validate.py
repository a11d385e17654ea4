# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for bulwark.stack.validate: runs on the controller only, never connects to any host.

It turns the inventory into plain data (each host's templated variables, the role defaults that apply to it, where
each was set, whether it came from Ansible Vault) plus the roles' argument specs, and hands it to the pure checks in
plugins/module_utils/validation.py.
"""

from __future__ import absolute_import, division, print_function

import os
import re

import yaml

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.bulwark.stack.plugins.module_utils import validation

__metaclass__ = type

try:  # ansible-core >= 2.19: only strings marked as trusted are templated (role defaults are, when Ansible loads them)
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core templates every string
    def trust_as_template(value):
        return value

try:  # ansible-core >= 2.19: values carry their origin (file, line) and a tag when they were vault-encrypted
    from ansible._internal._datatag._tags import Origin, VaultedValue
except ImportError:  # pragma: no cover - older ansible-core
    Origin = VaultedValue = None

ROLE_PREFIXES = ('bulwark', 'node_exporter', 'baseline', 'firewall', 'logrotate', 'postgresql', 'pgbouncer', 'redis',
                 'redis_sentinel', 'nginx', 'haproxy', 'app')
_REFERENCE = re.compile(r'^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$')
ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')
# names that exist only while a play runs on a host (hostvars, groups...): a variable that needs them is not checked
RUNTIME_NAMES = frozenset(('hostvars', 'groups', 'group_names', 'inventory_hostname', 'inventory_hostname_short', 'play_hosts',
                           'omit', 'playbook_dir', 'inventory_dir', 'role_path', 'item'))
ARGS = ('required_groups', 'secret_min_length', 'secret_min_bits', 'fail')
# collection-wide variables without a role prefix that validation reads, and Ansible's connection variables (how the
# controller logs in to each host: read by validation.check_lockout only)
EXTRA_NAMES = ('lb_server',) + validation.CONNECTION_VARIABLES


def _plain(value):
    """True when a default holds no Jinja (it can be used without facts)."""
    if isinstance(value, str):
        return '{{' not in value and '{%' not in value
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return True


def role_defaults(roles_dir=ROLES_DIR):
    """{role: plain (untemplated) values of its defaults/main.yml}: what applies when the inventory is silent."""
    defaults, role_names = {}, []
    if not os.path.isdir(roles_dir):
        return defaults, role_names
    for role in sorted(os.listdir(roles_dir)):
        path = os.path.join(roles_dir, role, 'defaults', 'main.yml')
        role_names.append(role)
        if not os.path.isfile(path):
            continue
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
        defaults[role] = {k: v for k, v in data.items() if _plain(v)}
    return defaults, role_names


def _trusted(value):
    """``value`` with every string in it trusted for templating, as Ansible trusts the role defaults it loads."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return dict((k, _trusted(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def role_defaults_raw(roles_dir=ROLES_DIR):
    """{role: every value of its defaults/main.yml, templates included}."""
    defaults = {}
    for role in sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []:
        path = os.path.join(roles_dir, role, 'defaults', 'main.yml')
        if os.path.isfile(path):
            with open(path) as handle:
                defaults[role] = _trusted(yaml.safe_load(handle) or {})
    return defaults


def argument_specs(roles_dir=ROLES_DIR):
    """{role: options of the entry point `main` of its meta/argument_specs.yml}, descriptions dropped."""
    specs = {}
    for role in sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []:
        path = os.path.join(roles_dir, role, 'meta', 'argument_specs.yml')
        if not os.path.isfile(path):
            continue
        with open(path) as handle:
            main = ((yaml.safe_load(handle) or {}).get('argument_specs') or {}).get('main') or {}
        specs[role] = dict((name, _without_docs(option)) for name, option in (main.get('options') or {}).items())
    return specs


def _without_docs(option):
    option = dict((k, v) for k, v in option.items() if k not in ('description', 'version_added'))
    if isinstance(option.get('options'), dict):
        option['options'] = dict((k, _without_docs(v)) for k, v in option['options'].items())
    return option


def _origin(value, host):
    tag = Origin.get_tag(value) if Origin is not None else None
    path = getattr(tag, 'path', None)
    if not path:
        return None
    rel = os.path.relpath(path) if not os.path.relpath(path).startswith('..') else path
    place = '%s:%s' % (rel, tag.line_num) if getattr(tag, 'line_num', None) else rel
    parts = path.replace(os.sep, '/').split('/')
    for kind, label in (('group_vars', 'group'), ('host_vars', 'host')):
        if kind in parts:
            index = parts.index(kind)
            if index + 1 < len(parts):
                return '%s %s (%s)' % (label, os.path.splitext(parts[index + 1])[0], place)
    return 'host %s (%s)' % (host, place)


def _is_vaulted(value):
    if VaultedValue is not None and VaultedValue.is_tagged_on(value):
        return True
    if type(value).__name__ in ('EncryptedString', 'AnsibleVaultEncryptedUnicode'):
        return True
    tag = Origin.get_tag(value) if Origin is not None else None
    path = getattr(tag, 'path', None)
    if path and os.path.isfile(path):
        with open(path, 'rb') as handle:
            return handle.read(14) == b'$ANSIBLE_VAULT'
    return False


def _follow(raw, value, name, depth=0):
    """(source variable name, final raw value) following `{{ other_var }}` references through the raw variables."""
    while depth < 10 and isinstance(value, str):
        match = _REFERENCE.match(str(value))
        if not match or match.group(1) not in raw:
            break
        name, value = match.group(1), raw[match.group(1)]
        depth += 1
    return name, value


def _raw_leaf(raw, variable, path):
    """The raw value at ``path`` (a.b[0].c) inside variable ``variable``, following references at each step."""
    source, value = _follow(raw, raw.get(variable), variable)
    for part in re.findall(r'\.([^.\[]+)|\[(\d+)\]', path[len(variable):]):
        key, index = part
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return source, None
        source, value = _follow(raw, value, '%s.%s' % (source, key or index))
    return source, value


def collect(hostvars, hosts, groups, templar_get, defaults, prefixes, template_defaults=None):
    """Build validation.Inventory from Ansible's hostvars (templar_get(host, var) templates one variable).

    ``defaults`` are the plain role defaults; ``template_defaults(host, {var: template})`` (optional) returns the
    role defaults that are templates, templated for that host where the inventory alone allows it (no facts).
    """
    inv_hosts = {}
    for name in hosts:
        raw = hostvars.raw_get(name)
        variables, origins, vaulted, sources, unresolved, needs_facts = {}, {}, {}, {}, [], {}
        applied = []
        for role, values in defaults.items():
            group = validation.ROLE_GROUPS.get(role, 'all')
            if group == 'all' or name in groups.get(group, []):
                variables.update(values)
                applied.append(role)
        templated = {}
        if template_defaults is not None:
            templated = dict((k, v) for k, v in template_defaults(name, applied).items() if k not in raw)
            variables.update(templated)
        defaulted = set(variables) - set(raw)
        for var in raw:
            if not var.startswith(tuple(p + '_' for p in prefixes)) and var not in EXTRA_NAMES:
                continue
            try:
                variables[var] = templar_get(name, var)
            except AnsibleError as exc:
                variables.pop(var, None)
                message = str(getattr(exc, 'message', exc)).splitlines()[0]
                undefined = re.search(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined", message)
                if undefined and not undefined.group(1).startswith('ansible_') and undefined.group(1) not in RUNTIME_NAMES:
                    unresolved.append((var, 'refers to %s, which is not defined' % undefined.group(1)))
                else:  # anything else needs facts (internal address...): only its literal text can be checked here
                    needs_facts[var] = raw[var]
                origins[var] = _origin(raw[var], name) or 'host %s (inventory)' % name
                continue
            origin = _origin(raw[var], name)
            origins[var] = origin or 'host %s (inventory)' % name
        host = validation.Host(name, variables, origins, memtotal_mb=_memtotal(raw), defaulted=defaulted,
                               templated=set(templated), raw=needs_facts)
        for path, dummy in validation.secret_leaves(variables):
            root = re.split(r'[.\[]', path, maxsplit=1)[0]
            if root not in raw:
                continue
            source, value = _raw_leaf(raw, root, path)
            sources[path] = source
            if source != path and source.startswith('vault_') and path.split('.')[0].split('[')[0] in origins:
                origins[path] = '%s; value from %s%s' % (origins[root], source, (' in ' + _origin(value, name)) if _origin(value, name) else '')
            vaulted[path] = value is not None and _is_vaulted(value)
        for var in variables:
            if validation.PEM_KEY_NAME.search(var) and var in raw:
                vaulted[var] = _is_vaulted(_follow(raw, raw[var], var)[1])
        host.vaulted, host.sources, host.origins = vaulted, sources, origins
        host.unresolved = dict(unresolved)
        inv_hosts[name] = host
    return inv_hosts


def _memtotal(raw):
    value = raw.get('ansible_memtotal_mb') or (raw.get('ansible_facts') or {}).get('memtotal_mb')
    return validation.as_int(value) if value is not None else None


class ActionModule(ActionBase):
    """Validate the whole inventory on the controller; fail with every problem at once."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGS)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        hostvars = task_vars['hostvars']
        groups = {k: list(v) for k, v in task_vars.get('groups', {}).items()}
        hosts = [h for h in groups.get('all', []) if h != 'localhost']
        defaults, role_names = role_defaults()
        raw_defaults = role_defaults_raw()
        prefixes = tuple(sorted(set(ROLE_PREFIXES) | set(role_names), key=len, reverse=True))

        def templar_get(host, var):
            return hostvars[host][var]

        def template_defaults(host, roles):
            """The templated role defaults of ``host`` (inventory variables win over them, as in a play)."""
            pending = {}
            for role in roles:
                pending.update((k, v) for k, v in raw_defaults.get(role, {}).items() if not _plain(v))
            env = {}
            for role in roles:
                env.update(raw_defaults.get(role, {}))
            env.update(hostvars.raw_get(host))
            env['hostvars'] = hostvars
            templar = self._templar.copy_with_new_env(available_variables=env)
            done = {}
            for var, value in pending.items():
                try:
                    done[var] = templar.template(value)
                except Exception:  # pylint: disable=broad-except  # needs facts or a runtime name: not checked here
                    continue
            return done

        inv_hosts = collect(hostvars, hosts, groups, templar_get, defaults, prefixes, template_defaults)
        inventory = validation.Inventory(inv_hosts, groups, required_groups=args.get('required_groups'),
                                         argument_specs=argument_specs())
        problems = validation.validate(inventory, min_length=int(args.get('secret_min_length', validation.SECRET_MIN_LENGTH)),
                                       min_bits=int(args.get('secret_min_bits', validation.SECRET_MIN_BITS)))
        result.update(changed=False, problems=[p.as_dict() for p in problems], hosts=len(hosts),
                      environment=inventory.environment)
        if problems and self._task.args.get('fail', True):
            result['failed'] = True
            result['msg'] = validation.report(problems)
        else:
            result['msg'] = validation.report(problems)
        return result
