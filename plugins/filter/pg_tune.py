# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pg_tune
version_added: 0.1.0
short_description: PostgreSQL settings computed with PGTune's rules
description:
  - Computes C(postgresql.conf) settings from the workload type, RAM, CPU count, storage and PostgreSQL version
    with the formulas of PGTune (U(https://github.com/le0pard/pgtune)), reproducing its rounding, floors, caps and
    kB/MB/GB formatting.
  - "PGTune revision followed: the one that fixed PGTune issue #142 (closed 2026-06-09, PostgreSQL 18 on Linux
    got C(io_workers) next to C(io_method=io_uring)). Sources read: C(src/common/components/configurationView/index.jsx)
    at commit C(421728c2f26fae14285f9805d31198b98925d697) (key order) and the newest
    C(src/features/configuration/configurationSlice.js) in the source index, the revision with the database-size
    input O(db_size) (its commit hash was not exposed): PostgreSQL 10 to 18, storage hdd/ssd/san/nvme, huge_pages
    from 2GB of shared_buffers, 8GB maintenance_work_mem cap, 4MB work_mem floor, jit, wal_compression,
    autovacuum, io_method; plus the #142 fix itself (C(io_workers) only with C(io_method=worker))."
  - The parameters are read from the input dict (keys C(db_type), C(memory), C(cpus), C(storage), C(version),
    C(max_connections), C(db_size)); the same names can be given as keyword arguments, which win over the dict.
    C(total_memory) and C(pg_version) are accepted as aliases of C(memory) and C(version).
  - O(db_type), O(memory), O(cpus), O(storage) and O(version) are required (dict key or keyword); O(cpus) may be
    null.
  - Linux only. PGTune's Windows caps and macOS huge_pages rule are not applied; PostgreSQL below 10 is
    rejected and versions above 18 get the 18 rules.
  - Keys are returned in PGTune's order and only when PGTune emits them, for example the parallel settings only
    with 4 CPUs or more, C(jit=off) only for web/oltp/mixed on PostgreSQL 12+, C(io_method=io_uring) only on
    PostgreSQL 18+, C(wal_level=minimal) and C(max_wal_senders=0) only for desktop. C(io_workers) is never
    returned (PGTune sets it only with C(io_method=worker), on Windows and macOS); give both in O(overrides) to use
    the worker method. PGTune's warning comments are not returned.
  - O(overrides) is merged last, so operators can change, add or (with a null value) drop any setting.
  - Invalid input fails the task with a message naming the parameter, the bad value and the accepted values.
options:
  _input:
    description:
      - Dict with the parameters below as keys. Use C({}) when passing everything as keyword arguments.
    type: dict
    required: true
  db_type:
    description: Workload type.
    type: str
    choices: [web, oltp, dw, desktop, mixed]
  memory:
    description:
      - RAM PostgreSQL may use, in bytes (int) or as a string with a 1024-based unit (C(4GB), C(4096MB),
        C(512kB), C(1.5GB)). At least 1MiB.
    type: raw
    aliases: [total_memory]
  cpus:
    description:
      - Number of CPUs (threads) PostgreSQL may use. Null means unknown, like leaving PGTune's CPU field empty
        (no parallel settings, work_mem assumes 8 worker processes).
    type: int
  storage:
    description:
      - Data storage type. C(nvme) is PGTune's own NVMe option (effective_io_concurrency 1000).
    type: str
    choices: [hdd, ssd, san, nvme]
  version:
    description:
      - PostgreSQL major version, for example C(15) or C('17'); a C(major.minor) string uses its major part.
    type: raw
    aliases: [pg_version]
  max_connections:
    description:
      - Maximum client connections. Null uses PGTune's default for O(db_type) (web 200, oltp 300, dw 40,
        desktop 20, mixed 100).
    type: int
  db_size:
    description:
      - Database size compared with RAM (PGTune's "DB size" input). C(less_ram) (fits in RAM) sets
        random_page_cost 1.1 and raises work_mem by 30%; C(greater_ram) lowers work_mem by 10%; C(mid_ram)
        (PGTune's default) changes nothing.
    type: str
    choices: [less_ram, mid_ram, greater_ram]
    default: mid_ram
  overrides:
    description:
      - Settings merged over the computed ones. Values are turned into strings (booleans into C(on)/C(off));
        a null value removes the setting from the result.
    type: dict
author: bulwark.stack maintainers
"""

EXAMPLES = r"""
- name: Tune from facts (dict input)
  ansible.builtin.set_fact:
    pg_settings: >-
      {{ {'db_type': 'web', 'memory': ansible_memtotal_mb * 1024 * 1024, 'cpus': ansible_processor_vcpus,
          'storage': 'ssd', 'version': 15}
         | bulwark.stack.pg_tune(overrides={'max_connections': 300, 'jit': none}) }}

- name: Same with keyword arguments
  ansible.builtin.set_fact:
    pg_settings: "{{ {} | bulwark.stack.pg_tune(db_type='oltp', memory='32GB', cpus=16, storage='nvme', version=17) }}"

- name: Write the settings
  ansible.builtin.copy:
    dest: /etc/postgresql/15/main/conf.d/20-tune.conf
    content: |
      {% for name, value in pg_settings.items() %}
      {{ name }} = '{{ value }}'
      {% endfor %}
    mode: "0644"
"""

RETURN = r"""
_value:
  description:
    - Dict of PostgreSQL setting name to string value as written in C(postgresql.conf), in PGTune's order.
    - The sample is for C(db_type=web), C(memory=4GB), C(cpus=4), C(storage=ssd), C(version=15).
  type: dict
  sample:
    max_connections: "200"
    shared_buffers: 1GB
    effective_cache_size: 3GB
    maintenance_work_mem: 256MB
    checkpoint_completion_target: "0.9"
    wal_buffers: 16MB
    default_statistics_target: "100"
    random_page_cost: "1.1"
    effective_io_concurrency: "200"
    work_mem: 5140kB
    huge_pages: "off"
    jit: "off"
    wal_compression: lz4
    min_wal_size: 1GB
    max_wal_size: 4GB
    max_worker_processes: "4"
    max_parallel_workers_per_gather: "2"
    max_parallel_workers: "4"
    max_parallel_maintenance_workers: "2"
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.bulwark.stack.plugins.module_utils.pg_tune import PgTuneError, pg_tune as _pg_tune

# filter key -> pg_tune() argument; aliases map to the same argument.
_KEYS = {
    'db_type': 'db_type',
    'memory': 'total_memory',
    'total_memory': 'total_memory',
    'cpus': 'cpus',
    'storage': 'storage',
    'version': 'pg_version',
    'pg_version': 'pg_version',
    'max_connections': 'max_connections',
    'db_size': 'db_size',
}
_REQUIRED = ('db_type', 'total_memory', 'cpus', 'storage', 'pg_version')
_PRIMARY = {'total_memory': 'memory', 'pg_version': 'version'}


def _fail(message):
    raise AnsibleFilterError('bulwark.stack.pg_tune: %s' % message)


def pg_tune(_input, db_type=None, memory=None, cpus=None, storage=None, version=None, max_connections=None,
            db_size=None, overrides=None, total_memory=None, pg_version=None):
    if not hasattr(_input, 'items'):
        _fail('the input must be a dict of parameters (use {} with keyword arguments), got %r' % (_input,))
    unknown = sorted(str(key) for key in _input if key not in _KEYS)
    if unknown:
        _fail('unknown input key(s) %s; accepted keys: %s' % (', '.join(unknown), ', '.join(_KEYS)))
    keywords = {'db_type': db_type, 'memory': memory, 'total_memory': total_memory, 'cpus': cpus,
                'storage': storage, 'version': version, 'pg_version': pg_version,
                'max_connections': max_connections, 'db_size': db_size}

    args = {}
    used = {}  # pg_tune() argument -> the name the caller used, for error messages
    for source in (_input, keywords):
        from_source = {}
        for key, value in source.items():
            if value is None and source is keywords:
                continue
            target = _KEYS[key]
            if target in from_source:
                _fail('%s and %s are the same parameter; give only one' % (from_source[target], key))
            from_source[target] = key
            args[target] = value
            used[target] = key
    for target in ('cpus', 'max_connections', 'db_size'):
        args.setdefault(target, None)
    missing = [_PRIMARY.get(target, target) for target in _REQUIRED if target not in args]
    if missing:
        _fail('missing required parameter(s) %s' % ', '.join(missing))

    try:
        return _pg_tune(overrides=overrides, **args)
    except PgTuneError as exc:
        raise AnsibleFilterError('bulwark.stack.pg_tune: %s' % exc.render(used.get(exc.parameter))) from exc


class FilterModule:
    def filters(self):
        return {'pg_tune': pg_tune}
