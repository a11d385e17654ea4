#!/usr/bin/env python3
"""CPU per Ansible module run in a test container, with and without the test images' bytecode cache:

    .venv/bin/python benchmarks/zipimport_cache.py [--image bulwark/debian-systemd:bookworm] [--tasks 40] [--rounds 2]

The test images (scripts/lib.sh) load scripts/image/bulwark_zipimport_cache.py into every Python process; it keeps
the bytecode Python compiles from the AnsiballZ zips. This starts one throwaway container from the image (no
network), runs a playbook of --tasks `stat` tasks into it through the docker connection, alternately with
BULWARK_ZIPIMPORT_CACHE=0 (off) and on, in the order off, on, on, off (--rounds times), and prints the container's
CPU time (its cgroup's cpuacct.usage) and the wall time per module run, and the ratios. The cache is warmed first so
"on" measures the steady state every scenario reaches after its first runs. Figures, not a test.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

PLAYBOOK = """
- name: Module runs
  hosts: all
  gather_facts: false
  environment:
    BULWARK_ZIPIMPORT_CACHE: "{{ cache }}"
  tasks:
%s
"""
TASK = """    - name: Stat %d
      ansible.builtin.stat:
        path: /etc/hostname
"""


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout.strip()


def container_cpu_ns(cid):
    for path in ('/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage' % cid,
                 '/sys/fs/cgroup/system.slice/docker-%s.scope/cpu.stat' % cid):
        if os.path.exists(path):
            text = open(path, encoding='ascii').read()
            if path.endswith('cpu.stat'):
                return int(dict(line.split() for line in text.splitlines())['usage_usec']) * 1000
            return int(text)
    sys.exit('cannot find the cgroup CPU counter of container %s' % cid)


def run(playbook, name, cache):
    env = dict(os.environ, ANSIBLE_PIPELINING='1', ANSIBLE_NOCOLOR='1')
    started = time.monotonic()
    result = subprocess.run(['ansible-playbook', '-i', '%s,' % name, '-c', 'community.docker.docker',
                             '-e', 'ansible_python_interpreter=/usr/bin/python3', '-e', 'cache=%s' % cache, playbook],
                            check=False, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit('ansible-playbook failed:\n%s\n%s' % (result.stdout[-3000:], result.stderr[-3000:]))
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--image', default='bulwark/debian-systemd:bookworm')
    parser.add_argument('--tasks', type=int, default=40)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()

    name = 'bulwark-zipcache-bench'
    subprocess.run(['docker', 'rm', '-f', name], capture_output=True, check=False)
    cid = sh('docker', 'run', '-d', '--name', name, '--network', 'none', '--cgroupns', 'host',
             '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', '--tmpfs', '/run', '--tmpfs',
             '/run/lock', '--tmpfs', '/tmp', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', args.image,
             '/lib/systemd/systemd')
    try:
        # until boot is over: systemd-tmpfiles empties /tmp during boot, under a running module's payload
        for _ in range(120):
            state = subprocess.run(['docker', 'exec', name, 'systemctl', 'is-system-running', '--wait'],
                                   capture_output=True, text=True, check=False).stdout.strip()
            if state in ('running', 'degraded'):
                break
            time.sleep(1)
        else:
            sys.exit('the container did not finish booting: %r' % state)
        with tempfile.NamedTemporaryFile('w', suffix='.yml', delete=False) as out:
            out.write(PLAYBOOK % ''.join(TASK % i for i in range(args.tasks)))
            playbook = out.name
        run(playbook, name, '1')  # warm the cache
        figures = {'0': [], '1': []}
        for _ in range(args.rounds):
            for cache in ('0', '1', '1', '0'):
                before = container_cpu_ns(cid)
                wall = run(playbook, name, cache)
                figures[cache].append(((container_cpu_ns(cid) - before) / 1e9, wall))
        runs = args.tasks * 2 * args.rounds
        cpu = {k: sum(c for c, _ in v) / runs for k, v in figures.items()}
        wall = {k: sum(w for _, w in v) / runs for k, v in figures.items()}
        print('module runs per setting: %d (%d stat tasks x %d playbook runs)' % (runs, args.tasks, 2 * args.rounds))
        print('container CPU per module run: cache off %.3f s, on %.3f s, ratio off/on %.2fx'
              % (cpu['0'], cpu['1'], cpu['0'] / cpu['1']))
        print('wall time per module run:     cache off %.3f s, on %.3f s, ratio off/on %.2fx'
              % (wall['0'], wall['1'], wall['0'] / wall['1']))
        os.unlink(playbook)
    finally:
        subprocess.run(['docker', 'rm', '-f', name], capture_output=True, check=False)


if __name__ == '__main__':
    main()
