#!/usr/bin/env python3
"""First converge and no-op re-run of the lab, two trees side by side: wall time and module runs per host.

Each tree (a git revision of this repository, or the working tree) is cloned under .cache/benchmarks/trees/ and
measured in turn on the same machine, in one run, with its own scripts and inventories/lab:
  1. `scripts/lab down`, then the tree's venv is made ready (not timed);
  2. the lab containers (playbooks/lab.yml; not timed: the same for both trees);
  3. first converge: `ansible-playbook -i inventories/lab site.yml` on fresh containers, timed;
  4. no-op re-run: the same command again, timed; the PLAY RECAP must show changed=0 on every host;
  5. `scripts/lab down`.
Steps 3 and 4 run with benchmarks/callback_plugins/bulwark_task_count.py, which counts per host the task results
and the module runs on the host (loop items counted one by one; set_fact, assert, debug and other controller-only
actions are not module runs). The load average before each timed step is printed with it.

    . .venv/bin/activate
    python3 benchmarks/lab_converge.py --old 16ab260 --new WORKTREE [--keep-lab]

Prints one table per tree, the ratios old/new, and one JSON line. Exit 0 when both trees converged and their
no-op re-runs changed nothing. The controller reaches the containers only through `docker exec`.
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORK = ROOT / '.cache' / 'benchmarks'
CALLBACKS = ROOT / 'benchmarks' / 'callback_plugins'
RECAP_LINE = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)')


def loadavg():
    return open('/proc/loadavg', encoding='ascii').read().split()[0]


def prepare_tree(rev):
    """A clean clone of ROOT at rev ('WORKTREE': the working tree as it is, uncommitted changes included)."""
    name = 'worktree' if rev == 'WORKTREE' else rev
    tree = WORK / 'trees' / name
    if tree.exists():
        shutil.rmtree(tree)
    tree.parent.mkdir(parents=True, exist_ok=True)
    if rev == 'WORKTREE':
        files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                               capture_output=True, check=True).stdout.split(b'\0')
        for rel in filter(None, files):
            src = ROOT / rel.decode()
            if src.is_file():
                dst = tree / rel.decode()
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst, follow_symlinks=False)
            elif src.is_symlink():
                dst = tree / rel.decode()
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.readlink(src), dst)
    else:
        subprocess.run(['git', 'clone', '-q', str(ROOT), str(tree)], check=True)
        subprocess.run(['git', 'checkout', '-q', rev], cwd=tree, check=True)
    return tree


def shell(tree, script, log):
    """Run a bash snippet in tree with its scripts/lib.sh sourced and its venv active; output appended to log."""
    cmd = 'set -euo pipefail; . scripts/lib.sh; ensure_venv; ensure_engine; ensure_images; ' + script
    with open(log, 'a', encoding='utf-8') as handle:
        handle.write('\n$ %s\n' % script)
        handle.flush()
        return subprocess.run(['bash', '-c', cmd], cwd=tree, stdout=handle, stderr=subprocess.STDOUT,
                              env=dict(os.environ, NO_COLOR='1', ANSIBLE_FORCE_COLOR='0'), check=False).returncode


def timed_site(tree, log, label):
    counts = WORK / ('%s-%s.json' % (tree.name, label))
    env = ('ANSIBLE_CALLBACK_PLUGINS=%s ANSIBLE_CALLBACKS_ENABLED=bulwark_task_count BULWARK_TASK_COUNT_OUT=%s '
           % (CALLBACKS, counts))
    load = loadavg()
    start = time.monotonic()
    with open(log, 'a', encoding='utf-8') as handle:
        handle.write('\n==== %s ====\n' % label)
    rc = shell(tree, env + 'ansible-playbook -i inventories/lab site.yml', log)
    took = time.monotonic() - start
    text = open(log, encoding='utf-8', errors='replace').read().rsplit('==== %s ====' % label, 1)[1]
    recap = {}
    for line in text.split('PLAY RECAP')[-1].splitlines():
        match = RECAP_LINE.match(line.strip())
        if match:
            recap[match.group(1)] = {k: int(v) for k, v in zip(
                ('ok', 'changed', 'unreachable', 'failed', 'skipped'), match.groups()[1:])}
    per_host = json.loads(counts.read_text()) if counts.exists() else {}
    return {'rc': rc, 'seconds': round(took, 1), 'load_before': load, 'recap': recap, 'counts': per_host}


def measure(rev, keep_lab):
    tree = prepare_tree(rev)
    log = WORK / ('%s.log' % tree.name)
    log.write_text('')
    print('== %s (%s), log %s' % (rev, tree, log), flush=True)
    if shell(tree, 'scripts/lab down', log) != 0:
        sys.exit('scripts/lab down failed in %s (see %s)' % (tree, log))
    if shell(tree, 'ansible-playbook -i inventories/lab playbooks/lab.yml', log) != 0:
        sys.exit('lab containers failed in %s (see %s)' % (tree, log))
    first = timed_site(tree, log, 'first-converge')
    print('   first converge: %.0f s (rc %d, load %s)' % (first['seconds'], first['rc'], first['load_before']),
          flush=True)
    noop = timed_site(tree, log, 'no-op') if first['rc'] == 0 else None
    if noop:
        print('   no-op re-run:   %.0f s (rc %d, load %s)' % (noop['seconds'], noop['rc'], noop['load_before']),
              flush=True)
    if not keep_lab:
        shell(tree, 'scripts/lab down', log)
    return {'rev': rev, 'first': first, 'noop': noop}


def table(result):
    print('\n%s: first converge %.0f s, no-op re-run %s s' % (
        result['rev'], result['first']['seconds'], result['noop']['seconds'] if result['noop'] else '-'))
    if not result['noop']:
        return
    print('  %-8s %6s %8s %8s %8s %12s' % ('host', 'ok', 'changed', 'skipped', 'results', 'module runs'))
    for host, rec in sorted(result['noop']['recap'].items()):
        c = result['noop']['counts'].get(host, {})
        print('  %-8s %6d %8d %8d %8d %12d' % (host, rec['ok'], rec['changed'], rec['skipped'],
                                               c.get('ok', 0) + c.get('changed', 0), c.get('module_runs', 0)))


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--old', required=True, help='git revision of the old tree')
    parser.add_argument('--new', default='WORKTREE', help='git revision of the new tree (default: the working tree)')
    parser.add_argument('--keep-lab', action='store_true', help='leave the new tree\'s lab running at the end')
    args = parser.parse_args()
    old = measure(args.old, keep_lab=False)
    new = measure(args.new, keep_lab=args.keep_lab)
    for result in (old, new):
        table(result)
    ok = all(r['first']['rc'] == 0 and r['noop'] and r['noop']['rc'] == 0
             and all(h['changed'] == 0 for h in r['noop']['recap'].values()) for r in (old, new))
    summary = {'old': args.old, 'new': args.new, 'ok': ok}
    if ok:
        summary.update({
            'first_converge_s': [old['first']['seconds'], new['first']['seconds']],
            'noop_s': [old['noop']['seconds'], new['noop']['seconds']],
            'noop_speedup': round(old['noop']['seconds'] / new['noop']['seconds'], 2),
            'first_converge_speedup': round(old['first']['seconds'] / new['first']['seconds'], 2),
            # Inventory hosts only: the old tree's validation play ran on localhost, the new one delegates to it.
            'module_runs_per_host_mean': [round(mean(c['module_runs'] for h, c in r['noop']['counts'].items()
                                                     if h != 'localhost'), 1) for r in (old, new)],
            'ok_per_host_mean': [round(mean(s['ok'] for h, s in r['noop']['recap'].items() if h != 'localhost'), 1)
                                 for r in (old, new)],
            'load_before': [old['first']['load_before'], old['noop']['load_before'],
                            new['first']['load_before'], new['noop']['load_before']],
        })
        runs = summary['module_runs_per_host_mean']
        summary['module_runs_cut_pct'] = round(100 * (1 - runs[1] / runs[0]), 1) if runs[0] else None
        print('\nno-op re-run %.0f s -> %.0f s (%.2fx); module runs per host (mean) %.1f -> %.1f (-%s %%); '
              'first converge %.0f s -> %.0f s (%.2fx)' % (
                  summary['noop_s'][0], summary['noop_s'][1], summary['noop_speedup'], runs[0], runs[1],
                  summary['module_runs_cut_pct'], summary['first_converge_s'][0], summary['first_converge_s'][1],
                  summary['first_converge_speedup']))
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
