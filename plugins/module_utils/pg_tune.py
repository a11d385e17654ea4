# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PostgreSQL settings computed with PGTune's published rules (pure Python, no Ansible imports).

Source followed
---------------
PGTune, https://github.com/le0pard/pgtune (MIT), file ``src/features/configuration/configurationSlice.js``
(the selectors that compute every setting) and ``src/common/components/configurationView/index.jsx`` (key
order, unit formatting and which keys are emitted), at the revision that fixed PGTune issue #142 (closed by the
maintainer on 2026-06-09, "PgTune provides wrong advice for PostgreSQL 18 with io_method = io_uring"):

* ``index.jsx`` at commit ``421728c2f26fae14285f9805d31198b98925d697`` (key order; io_method before io_workers,
  then min/max_wal_size, the parallel settings, wal_level/max_wal_senders).
* ``configurationSlice.js`` at the newest version held by the source index (the one with the "DB size vs RAM"
  input ``dbSize``, 20,228 characters; the index does not expose its commit hash): PostgreSQL 10-18, storage
  ``hdd``/``ssd``/``san``/``nvme``, huge_pages keyed on shared_buffers >= 2GB, 8GB maintenance_work_mem cap,
  4MB work_mem floor, work_mem x1.3 / x0.9 for ``less_ram`` / ``greater_ram``, random_page_cost 4 for ``dw`` on
  non-HDD storage unless the database fits in RAM, jit, wal_compression, autovacuum_max_workers,
  autovacuum_work_mem, io_method.
* Plus the #142 fix, whose code is newer than the index: io_workers is recommended only with
  ``io_method = worker`` (PostgreSQL ignores it otherwise), which PGTune picks only on Windows and macOS. On
  Linux PostgreSQL 18+ gets ``io_method = io_uring`` and no io_workers (before the fix: floor(cpus / 4), 4..32).

Scope and deliberate differences
--------------------------------
* Linux only: PGTune's Windows caps (shared_buffers <= 512MB before PG 10, 2GB-1MB work_mem and
  maintenance_work_mem up to PG 17) and the macOS huge_pages rule are not implemented; effective_io_concurrency is
  always emitted, io_method is ``io_uring`` from PG 18 on and io_workers (PGTune's worker-method setting for
  Windows and macOS) is never emitted.
* PostgreSQL versions below 10 are rejected (PGTune no longer offers them); versions above 18 get the 18 rules.
* The warning comments PGTune prints above the config (low/high memory, lz4/io_uring build requirements, DW cost
  parameters) are not returned.
* PGTune's web form requires at least 512MB of RAM and 20 connections; here memory must be at least 1MiB and
  max_connections at least 1. ``cpus=None`` means "unknown", exactly like leaving PGTune's CPU field empty.
* db_size values are named after PGTune's constants DB_SIZE_LESS_RAM / DB_SIZE_MID_RAM / DB_SIZE_GREATER_RAM
  (``less_ram``, ``mid_ram``, ``greater_ram``); the literal strings of PGTune's form were not in the source seen.

Arithmetic is done with Python floats (IEEE 754 doubles, like JavaScript numbers) and math.floor / math.ceil at the
same places as PGTune, so rounding matches bit for bit.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

__all__ = [
    'DB_SIZES',
    'DB_TYPES',
    'DEFAULT_MAX_CONNECTIONS',
    'MIN_PG_VERSION',
    'MIN_TOTAL_MEMORY',
    'PGTUNE_LATEST_VERSION',
    'PgTuneError',
    'STORAGE_TYPES',
    'apply_overrides',
    'format_kb',
    'parse_memory',
    'pg_tune',
]

DB_TYPES = ('web', 'oltp', 'dw', 'desktop', 'mixed')
STORAGE_TYPES = ('hdd', 'ssd', 'san', 'nvme')
DB_SIZES = ('less_ram', 'mid_ram', 'greater_ram')
DEFAULT_DB_SIZE = 'mid_ram'

# PostgreSQL versions PGTune offers: 10 to 18. Newer versions are computed with the 18 rules.
MIN_PG_VERSION = 10
PGTUNE_LATEST_VERSION = 18

MIN_TOTAL_MEMORY = 1024 * 1024  # bytes

DEFAULT_MAX_CONNECTIONS = {'web': 200, 'oltp': 300, 'dw': 40, 'desktop': 20, 'mixed': 100}

# PGTune's DEFAULT_DB_SETTINGS['default']['max_worker_processes'], used by work_mem when it emits no
# parallel settings (fewer than 4 CPUs or CPU count unknown).
_DEFAULT_MAX_WORKER_PROCESSES = 8

# Sizes in kB, the unit PGTune computes in.
_KB_PER_MB = 1024
_KB_PER_GB = 1024 * 1024

_MIN_WAL_SIZE_MB = {'web': 1024, 'oltp': 2048, 'dw': 4096, 'desktop': 100, 'mixed': 1024}
_MAX_WAL_SIZE_MB = {'web': 4096, 'oltp': 8192, 'dw': 16384, 'desktop': 2048, 'mixed': 4096}
_EFFECTIVE_IO_CONCURRENCY = {'hdd': 2, 'ssd': 200, 'san': 300, 'nvme': 1000}

_MEMORY_UNITS = {
    '': 1, 'b': 1,
    'k': 1024, 'kb': 1024, 'kib': 1024,
    'm': 1024 ** 2, 'mb': 1024 ** 2, 'mib': 1024 ** 2,
    'g': 1024 ** 3, 'gb': 1024 ** 3, 'gib': 1024 ** 3,
    't': 1024 ** 4, 'tb': 1024 ** 4, 'tib': 1024 ** 4,
    'p': 1024 ** 5, 'pb': 1024 ** 5, 'pib': 1024 ** 5,
}
_MEMORY_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$')
_MEMORY_EXPECTED = ("a positive number of bytes (int) or a size string such as '4GB', '4096MB', '512kB' "
                    "(units B, kB, MB, GB, TB, PB, 1024-based)")
_VERSION_RE = re.compile(r'^\s*(\d+)(?:\.\d+)?\s*$')


class PgTuneError(ValueError):
    """Bad input. ``parameter``, ``value`` and ``expected`` are kept so callers can re-word the message."""

    def __init__(self, parameter, value, expected):
        self.parameter = parameter
        self.value = value
        self.expected = expected
        super().__init__(self.render())

    def render(self, parameter=None):
        return 'invalid %s %r: expected %s' % (parameter or self.parameter, self.value, self.expected)


def _choice(value, parameter, choices):
    expected = 'one of %s' % ', '.join(choices)
    if not isinstance(value, str):
        raise PgTuneError(parameter, value, expected)
    normalised = value.strip().lower()
    if normalised not in choices:
        raise PgTuneError(parameter, value, expected)
    return normalised


def _integer(value, parameter, minimum, expected=None):
    expected = expected or 'an integer >= %d' % minimum
    if isinstance(value, bool):
        raise PgTuneError(parameter, value, expected)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise PgTuneError(parameter, value, expected)
    if number < minimum:
        raise PgTuneError(parameter, value, expected)
    return number


def _pg_version(value, parameter='pg_version'):
    expected = 'a PostgreSQL major version >= %d such as 15 or "17" (PGTune covers %d-%d)' % (
        MIN_PG_VERSION, MIN_PG_VERSION, PGTUNE_LATEST_VERSION)
    if isinstance(value, str):
        match = _VERSION_RE.match(value)
        if not match:
            raise PgTuneError(parameter, value, expected)
        major = int(match.group(1))
        if major < MIN_PG_VERSION:
            raise PgTuneError(parameter, value, expected)
        return major
    return _integer(value, parameter, MIN_PG_VERSION, expected)


def parse_memory(value, parameter='total_memory'):
    """Return ``value`` in bytes: an int (bytes) or a string with a 1024-based unit ("4GB", "4096 MiB", "512kB").

    Fractional sizes are allowed ("1.5GB") and rounded down to whole bytes. Raise PgTuneError unless positive.
    """
    if isinstance(value, bool):
        raise PgTuneError(parameter, value, _MEMORY_EXPECTED)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        match = _MEMORY_RE.match(value)
        if not match or match.group(2).lower() not in _MEMORY_UNITS:
            raise PgTuneError(parameter, value, _MEMORY_EXPECTED)
        try:
            amount = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the regex only lets decimals through
            raise PgTuneError(parameter, value, _MEMORY_EXPECTED)
        number = int(amount * _MEMORY_UNITS[match.group(2).lower()])
    else:
        raise PgTuneError(parameter, value, _MEMORY_EXPECTED)
    if number <= 0:
        raise PgTuneError(parameter, value, _MEMORY_EXPECTED)
    return number


def format_kb(value):
    """PGTune's formatValue: a kB amount in GB or MB when that loses nothing, else kB ("16MB", "7864kB")."""
    value = int(value)
    if value % _KB_PER_GB == 0:
        return '%dGB' % (value // _KB_PER_GB)
    if value % _KB_PER_MB == 0:
        return '%dMB' % (value // _KB_PER_MB)
    return '%dkB' % value


def _setting_value(name, value):
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if isinstance(value, (int, float, str)):
        return str(value)
    raise PgTuneError('overrides[%r]' % name, value, 'a string, number, boolean, or null to drop the setting')


def apply_overrides(settings, overrides):
    """Return a copy of ``settings`` with ``overrides`` merged last.

    Values become strings (booleans become on/off); a None value removes the setting. New keys are appended.
    """
    result = dict(settings)
    if overrides is None:
        return result
    if not hasattr(overrides, 'items'):
        raise PgTuneError('overrides', overrides, 'a dict of PostgreSQL setting name -> value')
    for name, value in overrides.items():
        if not isinstance(name, str) or not name.strip():
            raise PgTuneError('overrides', overrides, 'setting names that are non-empty strings')
        if value is None:
            result.pop(name, None)
        else:
            result[name] = _setting_value(name, value)
    return result


def _parallel_settings(cpus, db_type, pg_version):
    """PGTune's selectParallelSettings: nothing below 4 CPUs (or when the CPU count is unknown)."""
    if not cpus or cpus < 4:
        return []
    workers_per_gather = int(math.ceil(cpus / 2))
    if db_type != 'dw' and workers_per_gather > 4:
        workers_per_gather = 4
    settings = [('max_worker_processes', cpus), ('max_parallel_workers_per_gather', workers_per_gather)]
    if pg_version >= 10:
        settings.append(('max_parallel_workers', cpus))
    if pg_version >= 11:
        settings.append(('max_parallel_maintenance_workers', min(4, int(math.ceil(cpus / 2)))))
    return settings


def pg_tune(db_type, total_memory, cpus, storage, pg_version, max_connections=None, db_size=None, overrides=None):
    """Return PGTune's postgresql.conf settings as an insertion-ordered dict of name -> string value.

    :param db_type: web, oltp, dw, desktop or mixed.
    :param total_memory: RAM PostgreSQL may use: bytes (int) or a size string ("4GB", "4096MB").
    :param cpus: CPU count (int, >= 1) or None when unknown (PGTune then emits no parallel settings).
    :param storage: hdd, ssd, san or nvme.
    :param pg_version: PostgreSQL major version, >= 10.
    :param max_connections: int >= 1; None uses PGTune's default for db_type.
    :param db_size: less_ram, mid_ram (default) or greater_ram: database size compared with RAM.
    :param overrides: dict merged last (see apply_overrides).

    Keys appear in PGTune's order and only when PGTune emits them (for example no parallel settings below 4 CPUs,
    no jit for dw/desktop, io_method only from PostgreSQL 18).
    """
    db_type = _choice(db_type, 'db_type', DB_TYPES)
    total_bytes = parse_memory(total_memory, 'total_memory')
    if total_bytes < MIN_TOTAL_MEMORY:
        raise PgTuneError('total_memory', total_memory, 'at least 1MiB (%d bytes)' % MIN_TOTAL_MEMORY)
    if cpus is not None:
        cpus = _integer(cpus, 'cpus', 1, 'an integer CPU count >= 1, or null when unknown')
    storage = _choice(storage, 'storage', STORAGE_TYPES)
    pg_version = _pg_version(pg_version)
    if max_connections is None:
        max_connections = DEFAULT_MAX_CONNECTIONS[db_type]
    else:
        max_connections = _integer(max_connections, 'max_connections', 1,
                                   'an integer >= 1, or null for the PGTune default of the db_type')
    db_size = DEFAULT_DB_SIZE if db_size is None else _choice(db_size, 'db_size', DB_SIZES)

    total_kb = total_bytes / 1024  # float, like PGTune's totalMemoryInKb

    if db_type == 'desktop':
        shared_buffers = math.floor(total_kb / 16)
        effective_cache_size = math.floor(total_kb / 4)
    else:
        shared_buffers = math.floor(total_kb / 4)
        effective_cache_size = math.floor(total_kb * 3 / 4)

    maintenance_work_mem = math.floor(total_kb / 8) if db_type == 'dw' else math.floor(total_kb / 16)
    maintenance_work_mem = min(maintenance_work_mem, 8 * _KB_PER_GB)

    # 3% of shared_buffers, at most 16MB, bumped to 16MB above 14MB, at least 32kB.
    wal_buffers = math.floor(3 * shared_buffers / 100)
    wal_buffers = min(wal_buffers, 16 * _KB_PER_MB)
    if 14 * _KB_PER_MB < wal_buffers < 16 * _KB_PER_MB:
        wal_buffers = 16 * _KB_PER_MB
    wal_buffers = max(wal_buffers, 32)

    if db_size == 'less_ram':
        random_page_cost = '1.1'
    elif storage == 'hdd' or db_type == 'dw':
        random_page_cost = '4'
    else:
        random_page_cost = '1.1'

    parallel = _parallel_settings(cpus, db_type, pg_version)
    workers_for_work_mem = parallel[0][1] if parallel else _DEFAULT_MAX_WORKER_PROCESSES
    work_mem_base = (total_kb - shared_buffers) / ((max_connections + workers_for_work_mem) * 3)
    if db_type in ('dw', 'mixed'):
        work_mem = math.floor(work_mem_base / 2)
    elif db_type == 'desktop':
        work_mem = math.floor(work_mem_base / 6)
    else:
        work_mem = math.floor(work_mem_base)
    if db_size == 'less_ram':
        work_mem = math.floor(work_mem * 1.3)
    elif db_size == 'greater_ram':
        work_mem = math.floor(work_mem * 0.9)
    work_mem = max(work_mem, 4 * _KB_PER_MB)

    settings = [
        ('max_connections', str(max_connections)),
        ('shared_buffers', format_kb(shared_buffers)),
        ('effective_cache_size', format_kb(effective_cache_size)),
        ('maintenance_work_mem', format_kb(maintenance_work_mem)),
        ('checkpoint_completion_target', '0.9'),
        ('wal_buffers', format_kb(wal_buffers)),
        ('default_statistics_target', '500' if db_type == 'dw' else '100'),
        ('random_page_cost', random_page_cost),
        ('effective_io_concurrency', str(_EFFECTIVE_IO_CONCURRENCY[storage])),
        ('work_mem', format_kb(work_mem)),
        ('huge_pages', 'try' if shared_buffers >= 2 * _KB_PER_GB else 'off'),
    ]
    if pg_version >= 12 and db_type in ('web', 'oltp', 'mixed'):
        settings.append(('jit', 'off'))
    settings.append(('wal_compression', 'lz4' if pg_version >= 15 else 'on'))
    if cpus is not None and cpus >= 32:
        settings.append(('autovacuum_max_workers', '5'))
    elif cpus is not None and cpus >= 16:
        settings.append(('autovacuum_max_workers', '4'))
    if maintenance_work_mem >= 2 * _KB_PER_GB:
        settings.append(('autovacuum_work_mem', format_kb(2 * _KB_PER_GB)))
    if pg_version >= 18:
        # selectIoMethod: io_uring on Linux. selectIoWorkers (min(32, max(3, floor(cpus / 4))) when above 3) applies
        # only with io_method=worker since PGTune's fix for its issue #142, so Linux never gets io_workers.
        settings.append(('io_method', 'io_uring'))
    settings.append(('min_wal_size', format_kb(_MIN_WAL_SIZE_MB[db_type] * _KB_PER_MB)))
    settings.append(('max_wal_size', format_kb(_MAX_WAL_SIZE_MB[db_type] * _KB_PER_MB)))
    settings.extend((name, str(value)) for name, value in parallel)
    if db_type == 'desktop':
        settings.append(('wal_level', 'minimal'))
        settings.append(('max_wal_senders', '0'))

    return apply_overrides(dict(settings), overrides)
