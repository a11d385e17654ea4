# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Table-driven tests of the PGTune port.

Every expected value below was worked out by hand from PGTune's formulas (configurationSlice.js), in kB:

  shared_buffers        = floor(RAM/4)            (desktop: floor(RAM/16))
  effective_cache_size  = floor(RAM*3/4)          (desktop: floor(RAM/4))
  maintenance_work_mem  = floor(RAM/16)           (dw: floor(RAM/8)), capped at 8GB
  wal_buffers           = floor(3*shared_buffers/100), capped at 16MB, 14MB < x < 16MB -> 16MB, at least 32kB
  work_mem              = (RAM - shared_buffers) / ((max_connections + W) * 3), W = cpus if cpus >= 4 else 8,
                          floored (dw/mixed: /2, desktop: /6), x1.3 for less_ram, x0.9 for greater_ram, at least 4MB
  huge_pages            = try when shared_buffers >= 2GB
  io_method             = io_uring from PG 18 (Linux); io_workers never (PGTune #142: only with io_method=worker)
  format                = GB if divisible by 1048576 kB, MB if divisible by 1024 kB, else kB

The expected settings are written as "key=value" in PGTune's output order; the order is asserted too.
"""

from __future__ import annotations

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.pg_tune import (
    DB_TYPES,
    STORAGE_TYPES,
    PgTuneError,
    apply_overrides,
    format_kb,
    parse_memory,
    pg_tune,
)

GIB = 1024 ** 3

# (id, kwargs for pg_tune, expected "key=value ..." in order)
VECTORS = [
    (
        # RAM 4GB = 4194304 kB.  shared_buffers 4194304/4 = 1048576 kB = 1GB; effective_cache_size 3145728 = 3GB;
        # maintenance 4194304/16 = 262144 = 256MB; wal_buffers floor(3*1048576/100) = 31457 > 16384 -> 16MB;
        # work_mem (4194304-1048576)/((200+4)*3) = 3145728/612 = 5140.08 -> 5140kB; huge_pages off (1GB < 2GB);
        # 4 CPUs: workers 4, per gather ceil(4/2)=2, maintenance workers 2.
        'web-4GB-4cpu-ssd-pg15',
        dict(db_type='web', total_memory=4 * GIB, cpus=4, storage='ssd', pg_version=15),
        'max_connections=200 shared_buffers=1GB effective_cache_size=3GB maintenance_work_mem=256MB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=5140kB huge_pages=off jit=off wal_compression=lz4 '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=4 max_parallel_workers_per_gather=2 '
        'max_parallel_workers=4 max_parallel_maintenance_workers=2',
    ),
    (
        # RAM 16GB = 16777216 kB. shared_buffers 4194304 = 4GB -> huge_pages try; work_mem
        # (16777216-4194304)/((300+8)*3) = 12582912/924 = 13617.87 -> 13617kB; hdd: random_page_cost 4, io 2;
        # PG 14: wal_compression on.
        'oltp-16GB-8cpu-hdd-pg14',
        dict(db_type='oltp', total_memory='16GB', cpus=8, storage='hdd', pg_version=14),
        'max_connections=300 shared_buffers=4GB effective_cache_size=12GB maintenance_work_mem=1GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=4 '
        'effective_io_concurrency=2 work_mem=13617kB huge_pages=try jit=off wal_compression=on '
        'min_wal_size=2GB max_wal_size=8GB max_worker_processes=8 max_parallel_workers_per_gather=4 '
        'max_parallel_workers=8 max_parallel_maintenance_workers=4',
    ),
    (
        # RAM 64GB = 67108864 kB. dw maintenance 67108864/8 = 8388608 = exactly the 8GB cap -> 8GB, so
        # autovacuum_work_mem 2GB; work_mem (67108864-16777216)/((40+32)*3) = 233016.89, /2 = 116508.44 -> 116508kB;
        # dw on nvme (db_size mid): random_page_cost 4; 32 CPUs: autovacuum_max_workers 5, per gather
        # ceil(32/2) = 16 (no cap of 4 for dw), maintenance workers min(4, 16) = 4; dw: no jit.
        'dw-64GB-32cpu-nvme-pg17',
        dict(db_type='dw', total_memory=64 * GIB, cpus=32, storage='nvme', pg_version=17),
        'max_connections=40 shared_buffers=16GB effective_cache_size=48GB maintenance_work_mem=8GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=500 random_page_cost=4 '
        'effective_io_concurrency=1000 work_mem=116508kB huge_pages=try wal_compression=lz4 '
        'autovacuum_max_workers=5 autovacuum_work_mem=2GB min_wal_size=4GB max_wal_size=16GB '
        'max_worker_processes=32 max_parallel_workers_per_gather=16 max_parallel_workers=32 '
        'max_parallel_maintenance_workers=4',
    ),
    (
        # RAM 2GB = 2097152 kB, desktop: shared_buffers /16 = 131072 = 128MB; cache /4 = 512MB;
        # wal_buffers floor(3*131072/100) = 3932kB; 2 CPUs -> W = 8: (2097152-131072)/((20+8)*3) = 23405.71,
        # /6 = 3900.95 -> 3900 < 4096 -> 4MB floor; no parallel keys; desktop: wal_level minimal.
        'desktop-2GB-2cpu-ssd-pg16',
        dict(db_type='desktop', total_memory='2048MB', cpus=2, storage='ssd', pg_version=16),
        'max_connections=20 shared_buffers=128MB effective_cache_size=512MB maintenance_work_mem=128MB '
        'checkpoint_completion_target=0.9 wal_buffers=3932kB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=4MB huge_pages=off wal_compression=lz4 '
        'min_wal_size=100MB max_wal_size=2GB wal_level=minimal max_wal_senders=0',
    ),
    (
        # RAM 8GB: shared_buffers 2097152 kB = exactly 2GB -> huge_pages try (>=); 3 CPUs -> W = 8:
        # (8388608-2097152)/((100+8)*3) = 19418.07, /2 = 9709.03 -> 9709kB; san: io 300; PG 13: jit off, wal on.
        'mixed-8GB-3cpu-san-pg13',
        dict(db_type='mixed', total_memory=8 * GIB, cpus=3, storage='san', pg_version=13),
        'max_connections=100 shared_buffers=2GB effective_cache_size=6GB maintenance_work_mem=512MB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=300 work_mem=9709kB huge_pages=try jit=off wal_compression=on '
        'min_wal_size=1GB max_wal_size=4GB',
    ),
    (
        # RAM 32GB: maintenance 33554432/16 = 2097152 = exactly 2GB -> autovacuum_work_mem 2GB (>=);
        # work_mem 25165824/((500+16)*3) = 25165824/1548 = 16256.99 -> 16256kB; 16 CPUs: autovacuum_max_workers 4,
        # per gather ceil(16/2) = 8 -> capped 4; PG 18 on Linux: io_method io_uring and no io_workers (PGTune #142:
        # selectIoWorkers only with io_method=worker; before the fix this vector had io_workers=4).
        'web-32GB-16cpu-nvme-pg18-500conn',
        dict(db_type='web', total_memory=32 * GIB, cpus=16, storage='nvme', pg_version=18, max_connections=500),
        'max_connections=500 shared_buffers=8GB effective_cache_size=24GB maintenance_work_mem=2GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=1000 work_mem=16256kB huge_pages=try jit=off wal_compression=lz4 '
        'autovacuum_max_workers=4 autovacuum_work_mem=2GB io_method=io_uring '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=16 max_parallel_workers_per_gather=4 '
        'max_parallel_workers=16 max_parallel_maintenance_workers=4',
    ),
    (
        # PG 10: max_parallel_workers but no max_parallel_maintenance_workers (PG 11+), no jit (PG 12+);
        # 6 CPUs: per gather ceil(6/2) = 3; work_mem 3145728/((300+6)*3) = 3426.67 -> 4MB floor.
        'oltp-4096MB-6cpu-ssd-pg10',
        dict(db_type='oltp', total_memory='4096MB', cpus=6, storage='ssd', pg_version=10),
        'max_connections=300 shared_buffers=1GB effective_cache_size=3GB maintenance_work_mem=256MB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=4MB huge_pages=off wal_compression=on '
        'min_wal_size=2GB max_wal_size=8GB max_worker_processes=6 max_parallel_workers_per_gather=3 '
        'max_parallel_workers=6',
    ),
    (
        # RAM 1GB: shared_buffers 262144 = 256MB, cache 786432 = 768MB, maintenance 65536 = 64MB,
        # wal_buffers floor(3*262144/100) = 7864kB; 5 CPUs: ceil(5/2) = 3 for both per-gather and maintenance;
        # PG 11: maintenance workers present, jit absent.
        'web-1GB-5cpu-hdd-pg11',
        dict(db_type='web', total_memory=GIB, cpus=5, storage='hdd', pg_version=11),
        'max_connections=200 shared_buffers=256MB effective_cache_size=768MB maintenance_work_mem=64MB '
        'checkpoint_completion_target=0.9 wal_buffers=7864kB default_statistics_target=100 random_page_cost=4 '
        'effective_io_concurrency=2 work_mem=4MB huge_pages=off wal_compression=on '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=5 max_parallel_workers_per_gather=3 '
        'max_parallel_workers=5 max_parallel_maintenance_workers=3',
    ),
    (
        # Very small: 256MB = 262144 kB, desktop: shared_buffers 16384 = 16MB, cache 65536 = 64MB,
        # wal_buffers floor(3*16384/100) = 491kB.
        'desktop-256MB-1cpu-hdd-pg12',
        dict(db_type='desktop', total_memory='256MB', cpus=1, storage='hdd', pg_version=12),
        'max_connections=20 shared_buffers=16MB effective_cache_size=64MB maintenance_work_mem=16MB '
        'checkpoint_completion_target=0.9 wal_buffers=491kB default_statistics_target=100 random_page_cost=4 '
        'effective_io_concurrency=2 work_mem=4MB huge_pages=off wal_compression=on '
        'min_wal_size=100MB max_wal_size=2GB wal_level=minimal max_wal_senders=0',
    ),
    (
        # Smallest accepted: 1MiB = 1024 kB: shared_buffers 256kB, cache 768kB, maintenance 64kB,
        # wal_buffers floor(3*256/100) = 7 -> 32kB minimum; cpus unknown: no parallel/autovacuum keys.
        'web-1MiB-cpus-unknown-ssd-pg15',
        dict(db_type='web', total_memory='1MB', cpus=None, storage='ssd', pg_version=15),
        'max_connections=200 shared_buffers=256kB effective_cache_size=768kB maintenance_work_mem=64kB '
        'checkpoint_completion_target=0.9 wal_buffers=32kB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=4MB huge_pages=off jit=off wal_compression=lz4 '
        'min_wal_size=1GB max_wal_size=4GB',
    ),
    (
        # 2000MB = 2048000 kB: shared_buffers 512000 = 500MB; cache 1536000 = 1500MB; maintenance 128000 = 125MB;
        # wal_buffers floor(3*512000/100) = 15360 (15MB) is between 14MB and 16MB -> rounded up to 16MB.
        'web-2000MB-4cpu-san-pg15-walbuffers-bump',
        dict(db_type='web', total_memory='2000MB', cpus=4, storage='san', pg_version=15),
        'max_connections=200 shared_buffers=500MB effective_cache_size=1500MB maintenance_work_mem=125MB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=300 work_mem=4MB huge_pages=off jit=off wal_compression=lz4 '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=4 max_parallel_workers_per_gather=2 '
        'max_parallel_workers=4 max_parallel_maintenance_workers=2',
    ),
    (
        # 1911468 kB: shared_buffers 477867 kB (not a whole MB -> kB); cache floor(1911468*3/4) = 1433601kB;
        # maintenance floor(1911468/16) = 119466kB; wal_buffers floor(3*477867/100) = 14336 = exactly 14MB,
        # not above 14MB -> stays 14MB.
        'web-1911468kB-2cpu-ssd-pg15-walbuffers-14MB',
        dict(db_type='web', total_memory='1911468kB', cpus=2, storage='ssd', pg_version=15),
        'max_connections=200 shared_buffers=477867kB effective_cache_size=1433601kB maintenance_work_mem=119466kB '
        'checkpoint_completion_target=0.9 wal_buffers=14MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=4MB huge_pages=off jit=off wal_compression=lz4 '
        'min_wal_size=1GB max_wal_size=4GB',
    ),
    (
        # 8388604 kB (4 kB short of 8GB): shared_buffers 2097151kB, 1 kB below 2GB -> huge_pages off;
        # cache floor(8388604*3/4) = 6291453kB; maintenance floor(524287.75) = 524287kB;
        # work_mem (8388604-2097151)/((200+8)*3) = 6291453/624 = 10082.46 -> 10082kB.
        'web-8388604kB-cpus-unknown-ssd-pg15-hugepages-edge',
        dict(db_type='web', total_memory=8388604 * 1024, cpus=None, storage='ssd', pg_version=15),
        'max_connections=200 shared_buffers=2097151kB effective_cache_size=6291453kB maintenance_work_mem=524287kB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=10082kB huge_pages=off jit=off wal_compression=lz4 '
        'min_wal_size=1GB max_wal_size=4GB',
    ),
    (
        # 1TB = 1073741824 kB: shared_buffers 256GB; maintenance 64GB -> 8GB cap; work_mem
        # (1073741824-268435456)/((1000+64)*3) = 805306368/3192 = 252288.96 -> 252288kB;
        # 64 CPUs: autovacuum 5, per gather capped at 4; no io_workers with io_uring (PGTune #142; was 16).
        'web-1TB-64cpu-nvme-pg18-1000conn',
        dict(db_type='web', total_memory='1TB', cpus=64, storage='nvme', pg_version=18, max_connections=1000),
        'max_connections=1000 shared_buffers=256GB effective_cache_size=768GB maintenance_work_mem=8GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=1000 work_mem=252288kB huge_pages=try jit=off wal_compression=lz4 '
        'autovacuum_max_workers=5 autovacuum_work_mem=2GB io_method=io_uring '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=64 max_parallel_workers_per_gather=4 '
        'max_parallel_workers=64 max_parallel_maintenance_workers=4',
    ),
    (
        # 4TB = 4294967296 kB: shared_buffers 1073741824 kB = 1024GB; work_mem
        # (4294967296-1073741824)/((40+256)*3) = 3221225472/888 = 3627506.16, /2 = 1813753.08 -> 1813753kB;
        # 256 CPUs: no io_workers with io_uring (PGTune #142; was the 32 cap); dw per gather ceil(256/2) = 128
        # uncapped;
        # PG 19 is computed with the PG 18 rules.
        'dw-4TB-256cpu-hdd-pg19',
        dict(db_type='dw', total_memory='4TB', cpus=256, storage='hdd', pg_version=19),
        'max_connections=40 shared_buffers=1024GB effective_cache_size=3072GB maintenance_work_mem=8GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=500 random_page_cost=4 '
        'effective_io_concurrency=2 work_mem=1813753kB huge_pages=try wal_compression=lz4 '
        'autovacuum_max_workers=5 autovacuum_work_mem=2GB io_method=io_uring '
        'min_wal_size=4GB max_wal_size=16GB max_worker_processes=256 max_parallel_workers_per_gather=128 '
        'max_parallel_workers=256 max_parallel_maintenance_workers=4',
    ),
    (
        # PG 18 with 12 CPUs: io_method io_uring, no io_workers (not emitted with io_uring since PGTune #142, and
        # floor(12/4) = 3 is the PG default anyway).
        # work_mem (8388608-2097152)/((300+12)*3) = 6291456/936 = 6721.64 -> 6721kB.
        'oltp-8GB-12cpu-ssd-pg18-no-io-workers',
        dict(db_type='oltp', total_memory=8 * GIB, cpus=12, storage='ssd', pg_version=18),
        'max_connections=300 shared_buffers=2GB effective_cache_size=6GB maintenance_work_mem=512MB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=6721kB huge_pages=try jit=off wal_compression=lz4 '
        'io_method=io_uring min_wal_size=2GB max_wal_size=8GB max_worker_processes=12 '
        'max_parallel_workers_per_gather=4 max_parallel_workers=12 max_parallel_maintenance_workers=4',
    ),
    (
        # PGTune issue #142 (PostgreSQL 18, OS Linux): configurationSlice.js selectIoMethod gives io_uring on Linux and
        # the fixed selectIoWorkers returns null unless io_method is worker, so no io_workers (the old rule gave
        # min(32, max(3, floor(20/4))) = 5). RAM 64GB = 67108864 kB: shared_buffers 16777216 = 16GB,
        # effective_cache_size 50331648 = 48GB, maintenance 67108864/16 = 4194304 = 4GB -> autovacuum_work_mem 2GB;
        # work_mem (67108864-16777216)/((100+20)*3) = 50331648/360 = 139810.13, /2 = 69905.07 -> 69905kB;
        # 20 CPUs: autovacuum_max_workers 4, per gather ceil(20/2) = 10 -> capped 4, maintenance workers 4.
        'mixed-64GB-20cpu-ssd-pg18-issue142',
        dict(db_type='mixed', total_memory='64GB', cpus=20, storage='ssd', pg_version=18),
        'max_connections=100 shared_buffers=16GB effective_cache_size=48GB maintenance_work_mem=4GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=69905kB huge_pages=try jit=off wal_compression=lz4 '
        'autovacuum_max_workers=4 autovacuum_work_mem=2GB io_method=io_uring '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=20 max_parallel_workers_per_gather=4 '
        'max_parallel_workers=20 max_parallel_maintenance_workers=4',
    ),
    (
        # db_size less_ram: random_page_cost 1.1 even on hdd and for dw; work_mem
        # 25165824/((50+8)*3) = 144631.17, /2 = 72315.59 -> 72315, x1.3 = 94009.5 -> 94009kB;
        # maintenance 33554432/8 = 4GB -> autovacuum_work_mem 2GB.
        'dw-32GB-8cpu-hdd-pg16-less-ram',
        dict(db_type='dw', total_memory=32 * GIB, cpus=8, storage='hdd', pg_version=16, max_connections=50,
             db_size='less_ram'),
        'max_connections=50 shared_buffers=8GB effective_cache_size=24GB maintenance_work_mem=4GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=500 random_page_cost=1.1 '
        'effective_io_concurrency=2 work_mem=94009kB huge_pages=try wal_compression=lz4 '
        'autovacuum_work_mem=2GB min_wal_size=4GB max_wal_size=16GB max_worker_processes=8 '
        'max_parallel_workers_per_gather=4 max_parallel_workers=8 max_parallel_maintenance_workers=4',
    ),
    (
        # db_size greater_ram: work_mem 12582912/((100+4)*3) = 40329.85 -> 40329, x0.9 = 36296.1 -> 36296kB.
        'web-16GB-4cpu-ssd-pg17-greater-ram',
        dict(db_type='web', total_memory=16 * GIB, cpus=4, storage='ssd', pg_version=17, max_connections=100,
             db_size='greater_ram'),
        'max_connections=100 shared_buffers=4GB effective_cache_size=12GB maintenance_work_mem=1GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=200 work_mem=36296kB huge_pages=try jit=off wal_compression=lz4 '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=4 max_parallel_workers_per_gather=2 '
        'max_parallel_workers=4 max_parallel_maintenance_workers=2',
    ),
    (
        # mixed on hdd: work_mem 25165824/((100+8)*3) = 77672.30, /2 = 38836.15 -> 38836kB;
        # maintenance 2GB (edge) -> autovacuum_work_mem 2GB.
        'mixed-32GB-8cpu-hdd-pg15',
        dict(db_type='mixed', total_memory=32 * GIB, cpus=8, storage='hdd', pg_version=15),
        'max_connections=100 shared_buffers=8GB effective_cache_size=24GB maintenance_work_mem=2GB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=4 '
        'effective_io_concurrency=2 work_mem=38836kB huge_pages=try jit=off wal_compression=lz4 '
        'autovacuum_work_mem=2GB min_wal_size=1GB max_wal_size=4GB max_worker_processes=8 '
        'max_parallel_workers_per_gather=4 max_parallel_workers=8 max_parallel_maintenance_workers=4',
    ),
    (
        # desktop with 16 CPUs: per gather capped at 4 (only dw is uncapped); wal_buffers
        # floor(3*524288/100) = 15728 (between 14MB and 16MB) -> 16MB; work_mem
        # (8388608-524288)/((20+16)*3) = 72817.78, /6 = 12136.30 -> 12136kB.
        'desktop-8GB-16cpu-nvme-pg14',
        dict(db_type='desktop', total_memory=8 * GIB, cpus=16, storage='nvme', pg_version=14),
        'max_connections=20 shared_buffers=512MB effective_cache_size=2GB maintenance_work_mem=512MB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=1000 work_mem=12136kB huge_pages=off wal_compression=on '
        'autovacuum_max_workers=4 min_wal_size=100MB max_wal_size=2GB max_worker_processes=16 '
        'max_parallel_workers_per_gather=4 max_parallel_workers=16 max_parallel_maintenance_workers=4 '
        'wal_level=minimal max_wal_senders=0',
    ),
    (
        # PG 12 is the first version with jit=off; 512MB: shared_buffers 128MB, cache 384MB, maintenance 32MB,
        # wal_buffers 3932kB.
        'web-512MB-4cpu-san-pg12',
        dict(db_type='web', total_memory='512MB', cpus=4, storage='san', pg_version=12),
        'max_connections=200 shared_buffers=128MB effective_cache_size=384MB maintenance_work_mem=32MB '
        'checkpoint_completion_target=0.9 wal_buffers=3932kB default_statistics_target=100 random_page_cost=1.1 '
        'effective_io_concurrency=300 work_mem=4MB huge_pages=off jit=off wal_compression=on '
        'min_wal_size=1GB max_wal_size=4GB max_worker_processes=4 max_parallel_workers_per_gather=2 '
        'max_parallel_workers=4 max_parallel_maintenance_workers=2',
    ),
    (
        # dw on ssd, data larger than RAM: random_page_cost stays at PostgreSQL's 4; 63GB = 66060288 kB:
        # maintenance 66060288/8 = 8257536 = 8064MB (below the 8GB cap); cache 49545216 kB = 47.25GB = 48384MB;
        # work_mem (66060288-16515072)/((40+4)*3) = 375342.55, /2 = 187671.27 -> 187671, x0.9 = 168903.9 -> 168903kB.
        'dw-63GB-4cpu-ssd-pg17-greater-ram',
        dict(db_type='dw', total_memory='63GB', cpus=4, storage='ssd', pg_version=17, db_size='greater_ram'),
        'max_connections=40 shared_buffers=16128MB effective_cache_size=48384MB maintenance_work_mem=8064MB '
        'checkpoint_completion_target=0.9 wal_buffers=16MB default_statistics_target=500 random_page_cost=4 '
        'effective_io_concurrency=200 work_mem=168903kB huge_pages=try wal_compression=lz4 '
        'autovacuum_work_mem=2GB min_wal_size=4GB max_wal_size=16GB max_worker_processes=4 '
        'max_parallel_workers_per_gather=2 max_parallel_workers=4 max_parallel_maintenance_workers=2',
    ),
]


def _pairs(expected):
    return [tuple(item.split('=', 1)) for item in expected.split()]


@pytest.mark.parametrize('kwargs, expected', [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_vectors(kwargs, expected):
    result = pg_tune(**kwargs)
    assert list(result.items()) == _pairs(expected)
    assert all(isinstance(value, str) for value in result.values())


def test_vector_table_covers_every_db_type_storage_and_path():
    db_types = {v[1]['db_type'] for v in VECTORS}
    storages = {v[1]['storage'] for v in VECTORS}
    assert db_types == set(DB_TYPES)
    assert storages == set(STORAGE_TYPES)
    cpus = [v[1]['cpus'] for v in VECTORS]
    assert any(c is None or c < 4 for c in cpus) and any(c is not None and c >= 4 for c in cpus)
    huge = {dict(_pairs(v[2]))['huge_pages'] for v in VECTORS}
    assert huge == {'off', 'try'}
    assert {v[1].get('db_size') for v in VECTORS} >= {None, 'less_ram', 'greater_ram'}
    assert {v[1]['pg_version'] for v in VECTORS} >= {10, 11, 12, 13, 14, 15, 16, 17, 18, 19}


@pytest.mark.parametrize('db_type, expected', [('web', '200'), ('oltp', '300'), ('dw', '40'), ('desktop', '20'), ('mixed', '100')])
def test_default_max_connections_per_db_type(db_type, expected):
    assert pg_tune(db_type, '4GB', 4, 'ssd', 15)['max_connections'] == expected


def test_max_connections_changes_work_mem():
    # (16777216-4194304)/((1000+4)*3) = 12582912/3012 = 4177.59 -> 4177kB
    result = pg_tune('web', '16GB', 4, 'ssd', 15, max_connections=1000)
    assert result['max_connections'] == '1000'
    assert result['work_mem'] == '4177kB'


def test_db_size_mid_ram_is_the_default():
    assert pg_tune('dw', '32GB', 8, 'ssd', 16, db_size='mid_ram') == pg_tune('dw', '32GB', 8, 'ssd', 16)


@pytest.mark.parametrize('storage', ['ssd', 'san', 'nvme'])
def test_dw_fitting_in_ram_uses_low_random_page_cost(storage):
    assert pg_tune('dw', '32GB', 8, storage, 16)['random_page_cost'] == '4'
    assert pg_tune('dw', '32GB', 8, storage, 16, db_size='less_ram')['random_page_cost'] == '1.1'


@pytest.mark.parametrize('cpus, keys', [
    (1, []),
    (3, []),
    (4, ['max_worker_processes', 'max_parallel_workers_per_gather', 'max_parallel_workers', 'max_parallel_maintenance_workers']),
])
def test_parallel_keys_threshold(cpus, keys):
    result = pg_tune('web', '8GB', cpus, 'ssd', 15)
    assert [k for k in result if k.startswith('max_parallel') or k == 'max_worker_processes'] == keys


@pytest.mark.parametrize('cpus, expected', [(15, None), (16, '4'), (31, '4'), (32, '5'), (None, None)])
def test_autovacuum_max_workers_thresholds(cpus, expected):
    assert pg_tune('web', '8GB', cpus, 'ssd', 15).get('autovacuum_max_workers') == expected


# PGTune issue #142: configurationSlice.js selectIoWorkers now returns null unless selectIoMethod is 'worker'
# (Windows/macOS); on Linux io_method is io_uring, so no CPU count gives io_workers any more. Before the fix the
# expected values were None, None, 4, 4, 5, 32, 32 for these CPU counts.
@pytest.mark.parametrize('cpus', [None, 4, 15, 16, 19, 20, 128, 1000])
@pytest.mark.parametrize('version', [18, 19])
def test_no_io_workers_with_io_uring(cpus, version):
    result = pg_tune('web', '8GB', cpus, 'ssd', version)
    assert result['io_method'] == 'io_uring'
    assert 'io_workers' not in result
    assert 'io_workers' not in pg_tune('web', '8GB', cpus, 'ssd', 17)


def test_issue142_report_pg18_linux_16_cpus():
    # The report: PostgreSQL 18 on Linux printed io_method = io_uring and io_workers = 4 (floor(16/4) = 4).
    result = pg_tune('web', '16GB', 16, 'ssd', '18')
    keys = list(result)
    assert result['io_method'] == 'io_uring'
    assert 'io_workers' not in result
    # io_method keeps its place (16GB: maintenance 1GB, so no autovacuum_work_mem): after autovacuum_max_workers,
    # straight before min_wal_size where io_workers used to be.
    assert keys.index('io_method') == keys.index('autovacuum_max_workers') + 1
    assert keys.index('min_wal_size') == keys.index('io_method') + 1


def test_worker_io_method_through_overrides():
    result = pg_tune('web', '16GB', 16, 'ssd', 18, overrides={'io_method': 'worker', 'io_workers': 4})
    assert result['io_method'] == 'worker'
    assert result['io_workers'] == '4'


@pytest.mark.parametrize('version, jit, wal_compression', [(10, None, 'on'), (11, None, 'on'), (12, 'off', 'on'), (14, 'off', 'on'), (15, 'off', 'lz4')])
def test_version_dependent_keys(version, jit, wal_compression):
    result = pg_tune('oltp', '8GB', 8, 'ssd', version)
    assert result.get('jit') == jit
    assert result['wal_compression'] == wal_compression
    assert ('max_parallel_maintenance_workers' in result) == (version >= 11)
    assert 'io_method' not in result


def test_work_mem_uses_8_workers_when_cpus_unknown_or_below_4():
    # (33554432-8388608)/((200+8)*3) = 25165824/624 = 40329.85 -> 40329kB for 1-3 CPUs and unknown CPUs
    expected = '40329kB'
    for cpus in (None, 1, 2, 3):
        assert pg_tune('web', '32GB', cpus, 'ssd', 15)['work_mem'] == expected
    # with 4 CPUs: 25165824/((200+4)*3) = 41120.63 -> 41120kB
    assert pg_tune('web', '32GB', 4, 'ssd', 15)['work_mem'] == '41120kB'


@pytest.mark.parametrize('value, expected', [
    (4294967296, 4294967296),
    (4294967296.0, 4294967296),
    ('4GB', 4 * GIB),
    ('4 GiB', 4 * GIB),
    ('4g', 4 * GIB),
    ('4096MB', 4 * GIB),
    ('4096 mb', 4 * GIB),
    ('4194304kB', 4 * GIB),
    ('4194304K', 4 * GIB),
    ('1.5GB', 1610612736),
    ('1TB', 1024 * GIB),
    ('1PB', 1024 * 1024 * GIB),
    ('1048576', 1048576),
    ('512B', 512),
    (' 2 GB ', 2 * GIB),
])
def test_parse_memory(value, expected):
    assert parse_memory(value) == expected


def test_memory_int_and_string_give_the_same_result():
    assert pg_tune('web', 4 * GIB, 4, 'ssd', 15) == pg_tune('web', '4GB', 4, 'ssd', 15) == pg_tune('web', '4096MB', 4, 'ssd', 15)


@pytest.mark.parametrize('kb, expected', [
    (0, '0GB'), (1, '1kB'), (1023, '1023kB'), (1024, '1MB'), (1025, '1025kB'), (1047552, '1023MB'),
    (1048576, '1GB'), (1049600, '1025MB'), (3 * 1048576, '3GB'), (2097151, '2097151kB'),
])
def test_format_kb(kb, expected):
    assert format_kb(kb) == expected


def test_input_normalisation():
    base = pg_tune('web', '4GB', 4, 'ssd', 15)
    assert pg_tune(' WEB ', '4GB', '4', 'SSD', '15') == base
    assert pg_tune('web', '4GB', 4.0, 'ssd', 15.0) == base
    assert pg_tune('web', '4GB', 4, 'ssd', '15.4') == base
    assert pg_tune('web', '4GB', 4, 'ssd', 15, max_connections='200') == base


def test_overrides_are_merged_last():
    result = pg_tune('web', '4GB', 4, 'ssd', 15, overrides={
        'shared_buffers': '2GB', 'max_connections': 50, 'jit': None, 'huge_pages': True, 'random_page_cost': 1.5,
        'log_min_duration_statement': '250ms',
    })
    assert result['shared_buffers'] == '2GB'
    assert result['max_connections'] == '50'
    assert 'jit' not in result
    assert result['huge_pages'] == 'on'
    assert result['random_page_cost'] == '1.5'
    assert list(result)[-1] == 'log_min_duration_statement'
    # overrides do not feed back into the formulas
    assert result['work_mem'] == '5140kB'


def test_apply_overrides_does_not_mutate():
    settings = {'a': '1'}
    assert apply_overrides(settings, {'a': 2, 'b': False}) == {'a': '2', 'b': 'off'}
    assert apply_overrides(settings, None) == {'a': '1'}
    assert settings == {'a': '1'}


GOOD = dict(db_type='web', total_memory='4GB', cpus=4, storage='ssd', pg_version=15)


@pytest.mark.parametrize('parameter, value, fragments', [
    ('db_type', 'olap', ['db_type', "'olap'", 'web, oltp, dw, desktop, mixed']),
    ('db_type', None, ['db_type', 'None', 'web, oltp, dw, desktop, mixed']),
    ('db_type', 3, ['db_type', '3']),
    ('storage', 'tape', ['storage', "'tape'", 'hdd, ssd, san, nvme']),
    ('storage', '', ['storage', 'hdd, ssd, san, nvme']),
    ('total_memory', 0, ['total_memory', '0', "'4GB'"]),
    ('total_memory', -4294967296, ['total_memory', '-4294967296']),
    ('total_memory', '0GB', ['total_memory', "'0GB'"]),
    ('total_memory', '-4GB', ['total_memory', "'-4GB'"]),
    ('total_memory', '4 XB', ['total_memory', "'4 XB'", 'GB']),
    ('total_memory', 'four gigabytes', ['total_memory', "'four gigabytes'"]),
    ('total_memory', '4GB4', ['total_memory', "'4GB4'"]),
    ('total_memory', '', ['total_memory']),
    ('total_memory', True, ['total_memory', 'True']),
    ('total_memory', None, ['total_memory', 'None']),
    ('total_memory', [4], ['total_memory', '[4]']),
    ('total_memory', 1.5, ['total_memory', '1.5']),
    ('total_memory', 1048575, ['total_memory', '1048575', '1MiB']),
    ('total_memory', '512kB', ['total_memory', "'512kB'", '1MiB']),
    ('cpus', 'four', ['cpus', "'four'", 'integer']),
    ('cpus', '4 cores', ['cpus', "'4 cores'"]),
    ('cpus', 0, ['cpus', '0', '>= 1']),
    ('cpus', -2, ['cpus', '-2']),
    ('cpus', 2.5, ['cpus', '2.5']),
    ('cpus', True, ['cpus', 'True']),
    ('cpus', [4], ['cpus', '[4]']),
    ('pg_version', 9, ['pg_version', '9', '>= 10']),
    ('pg_version', '9.6', ['pg_version', "'9.6'"]),
    ('pg_version', 'latest', ['pg_version', "'latest'"]),
    ('pg_version', None, ['pg_version', 'None']),
    ('pg_version', 15.5, ['pg_version', '15.5']),
    ('max_connections', 0, ['max_connections', '0']),
    ('max_connections', 'many', ['max_connections', "'many'"]),
    ('db_size', 'huge', ['db_size', "'huge'", 'less_ram, mid_ram, greater_ram']),
    ('overrides', ['work_mem=4MB'], ['overrides', 'dict']),
    ('overrides', {'work_mem': ['4MB']}, ['overrides', 'work_mem']),
    ('overrides', {1: '4MB'}, ['overrides']),
])
def test_bad_input(parameter, value, fragments):
    kwargs = dict(GOOD)
    kwargs[parameter] = value
    with pytest.raises(PgTuneError) as excinfo:
        pg_tune(**kwargs)
    message = str(excinfo.value)
    assert message.startswith('invalid %s' % parameter)
    for fragment in fragments:
        assert fragment in message
    assert excinfo.value.parameter.startswith(parameter)
    assert isinstance(excinfo.value, ValueError)


def test_error_can_be_reworded_with_another_parameter_name():
    with pytest.raises(PgTuneError) as excinfo:
        pg_tune('web', 'lots', 4, 'ssd', 15)
    assert excinfo.value.render('memory').startswith("invalid memory 'lots': expected")
