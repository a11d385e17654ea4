#!/usr/bin/env python3
"""Zero-downtime rolling deploys of the app tier, measured: requests through every load balancer while
playbooks/deploy.yml rolls a new release, then a broken release that must be rolled back; plus the no-op re-run
of site.yml and, optionally, the full-stack first converge.

Runs from the repo root with the venv active, against the lab (or a Molecule scenario's inventory directory; the
containers are named like the inventory hosts either way):

    . .venv/bin/activate
    python3 benchmarks/rolling_deploy.py [--inventory inventories/lab] [--first-converge] [--workers 4]
        [--skip-broken] [--v1 1.0.0] [--v2 2.0.0] [--v3 3.0.0]

The lab's LB is nginx; `BULWARK_LAB_LB=haproxy python3 benchmarks/rolling_deploy.py --first-converge` measures
the same with HAProxy on lb1 (the variable reaches every ansible-playbook run the script starts).

Steps, each printed as it goes:
  1. (--first-converge, lab inventory only) `scripts/lab down`, then `scripts/lab up` timed: the first converge.
  2. No-op re-run: `ansible-playbook site.yml` timed, `changed` summed over the PLAY RECAP (goal 0).
  3. The load balancers' per-client rate limits are raised for the run (one load client would otherwise be
     throttled to 10 r/s by nginx, 120 per 10 s by HAProxy) and restored at the end, also on error.
  4. Release --v1 is deployed (playbooks/deploy.yml), so the rollout starts from a known release.
  5. benchmarks/loadgen.py runs on the first `monitoring` host as a transient systemd unit, with --workers
     keep-alive connections to each load balancer at once, verifying each LB's certificate (internal CA) and name.
  6. Release --v2 is rolled out under that load: wall time, seconds per app host, requests sent/failed/retried per
     load balancer, versions seen; every app host must end on releases/<v2>.
  7. (unless --skip-broken) Release --v3 with app_sample_never_ready=true, under load: the play must fail, the first
     app host must be back on <v2>, the others must never have switched to <v3> (it is only unpacked there), and no
     request may fail.
  8. A table of the figures and one JSON line; exit 0 when every measured goal holds, 1 otherwise.

The output of every ansible-playbook run goes to a log under .cache/benchmarks/ (its tail is printed on failure).
All ansible-playbook runs share a JSON fact cache in .cache/benchmarks/facts, so that the `--limit lb` runs of step 3
still know the addresses of the app hosts (the upstream and the firewall rules are rendered from their facts).
The controller reaches the containers only through `docker exec` / `docker cp`.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_INVENTORY = os.path.join(ROOT, 'inventories', 'lab')
LOG_DIR = os.path.join(ROOT, '.cache', 'benchmarks')
LOADGEN = os.path.join(ROOT, 'benchmarks', 'loadgen.py')
LAB_CA = '/etc/ssl/bulwark/ca.crt'  # the internal CA, which signs the lab LBs' certificates too
APP_ROOT = '/opt/bulwark-app'
LOADGEN_UNIT = 'bulwark-loadgen'
LOADGEN_OUT = '/root/loadgen.json'
REQUEST_GOAL = 20000
RELAXED_LIMITS = {
    'nginx_limit_req_rate': '100000r/s',
    'nginx_limit_req_burst': 100000,
    'nginx_limit_conn': 10000,
    'haproxy_rate_limit_requests': 1000000,
}
RECAP_LINE = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)')


class BenchmarkError(Exception):
    """A step that could not be carried out (as opposed to a goal that was measured and missed)."""


class Runner:
    """Runs commands for the benchmark: ansible-playbook with its output in the log file, docker quietly."""

    def __init__(self, inventory, log_path):
        self.inventory = inventory
        self.log_path = log_path
        self.env = dict(os.environ)
        self.env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.cache', 'collections'))
        self.env['ANSIBLE_NOCOLOR'] = '1'
        self.env['ANSIBLE_FORCE_COLOR'] = '0'
        # Facts outlive each run, so a run with --limit still has the addresses of the hosts it leaves out.
        self.env.setdefault('ANSIBLE_CACHE_PLUGIN', 'ansible.builtin.jsonfile')
        self.env.setdefault('ANSIBLE_CACHE_PLUGIN_CONNECTION', os.path.join(LOG_DIR, 'facts'))

    def log(self, text):
        """Append text to the log file."""
        with open(self.log_path, 'a', encoding='utf-8') as handle:
            handle.write(text)

    def tail(self, lines=40):
        """The last lines of the log file, for an error message."""
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as handle:
                return ''.join(handle.readlines()[-lines:])
        except OSError:
            return ''

    def command(self, argv, label):
        """Run argv from the repo root with its output in the log; return (returncode, seconds, output)."""
        self.log('\n===== %s: %s\n' % (label, ' '.join(argv)))
        started = time.monotonic()
        result = subprocess.run(argv, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, check=False)
        seconds = time.monotonic() - started
        self.log(result.stdout)
        self.log('===== %s: rc=%d after %.1f s\n' % (label, result.returncode, seconds))
        return result.returncode, seconds, result.stdout

    def playbook(self, playbook, label, extra=None, limit=None):
        """ansible-playbook -i INVENTORY PLAYBOOK [--limit] [-e ...]; return (returncode, seconds, output)."""
        argv = ['ansible-playbook', '-i', self.inventory, playbook]
        if limit:
            argv += ['--limit', limit]
        for item in extra or []:
            argv += ['-e', item]
        return self.command(argv, label)

    def docker(self, *args, check=True):
        """docker ARGS, output captured; raises BenchmarkError on failure when check is set."""
        result = subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise BenchmarkError('docker %s failed (rc %d): %s' % (' '.join(args), result.returncode,
                                                                   (result.stderr or result.stdout).strip()))
        return result


def step(text):
    """Print a progress line."""
    print('==> %s' % text, flush=True)


def recap_changed(output):
    """The PLAY RECAP of an ansible-playbook output as {host: changed}; the last recap wins if there are several."""
    changed = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith('PLAY RECAP'):
            in_recap = True
            changed = {}
            continue
        match = RECAP_LINE.match(line.strip()) if in_recap else None
        if match:
            changed[match.group(1)] = int(match.group(3))
    return changed


def read_inventory(runner):
    """Groups lb, app and monitoring of the inventory (`ansible-inventory --list`), and lb_server per LB host."""
    rc, _seconds, output = runner.command(['ansible-inventory', '-i', runner.inventory, '--list'], 'ansible-inventory')
    if rc != 0:
        raise BenchmarkError('ansible-inventory -i %s --list failed:\n%s' % (runner.inventory, output[-2000:]))
    # Warnings may precede the JSON document on the same stream: start at the first '{'.
    data = json.loads(output[output.index('{'):])

    def hosts_of(group, seen=None):
        """Hosts of a group, children included, in inventory order, without duplicates."""
        seen = seen if seen is not None else []
        entry = data.get(group, {})
        for host in entry.get('hosts', []):
            if host not in seen:
                seen.append(host)
        for child in entry.get('children', []):
            hosts_of(child, seen)
        return seen

    groups = {name: hosts_of(name) for name in ('lb', 'app', 'monitoring')}
    for name in ('lb', 'app', 'monitoring'):
        if not groups[name]:
            raise BenchmarkError('the inventory %s has no host in group %s' % (runner.inventory, name))
    return groups, lb_servers(runner)


def lb_servers(runner):
    """lb_server per LB host, rendered by Ansible (the lab's is a template reading BULWARK_LAB_LB)."""
    rc, _seconds, output = runner.command(['env', 'ANSIBLE_CALLBACK_RESULT_FORMAT=json', 'ansible', '-i',
                                           runner.inventory, 'lb', '-m', 'ansible.builtin.debug', '-a',
                                           "msg={{ lb_server | default('nginx') }}"],
                                          'lb_server per LB')
    if rc != 0:
        raise BenchmarkError('could not render lb_server for the lb group:\n%s' % output[-2000:])
    # Each host prints "NAME | SUCCESS => {" and a JSON object that ends with a "}" line of its own.
    return {match.group(1): str(json.loads(match.group(2))['msg'])
            for match in re.finditer(r'^(\S+) \| SUCCESS => (\{.*?^\})', output, re.MULTILINE | re.DOTALL)}


def container_ip(runner, container):
    """IP address of a container on its first network (docker inspect)."""
    info = json.loads(runner.docker('inspect', container).stdout)[0]
    networks = info.get('NetworkSettings', {}).get('Networks', {}) or {}
    for network in networks.values():
        if network.get('IPAddress'):
            return network['IPAddress']
    raise BenchmarkError('container %s has no IP address on any docker network' % container)


def prepare_client(runner, client, lbs):
    """Copy loadgen.py and the CA of each LB's certificate into the client; return the loadgen arguments (targets, CA files)."""
    runner.docker('cp', LOADGEN, '%s:/root/loadgen.py' % client)
    args = []
    for lb in lbs:
        local_ca = os.path.join(LOG_DIR, 'ca-%s.crt' % lb)
        runner.docker('cp', '%s:%s' % (lb, LAB_CA), local_ca)
        runner.docker('cp', local_ca, '%s:/root/ca-%s.crt' % (client, lb))
        address = container_ip(runner, lb)
        args += ['--target', '%s=%s:443' % (lb, address), '--cafile', '/root/ca-%s.crt' % lb]
        step('  %s: %s:443, CA %s' % (lb, address, LAB_CA))
    return args


def start_loadgen(runner, client, loadgen_args, workers):
    """Start loadgen.py in the client as a transient systemd unit and check after ~3 s that it is connected."""
    runner.docker('exec', client, 'systemctl', 'stop', LOADGEN_UNIT, check=False)
    runner.docker('exec', client, 'systemctl', 'reset-failed', LOADGEN_UNIT, check=False)
    runner.docker('exec', client, 'rm', '-f', LOADGEN_OUT)
    runner.docker('exec', client, 'systemd-run', '--unit', LOADGEN_UNIT, '--collect', 'python3', '/root/loadgen.py',
                  *loadgen_args, '--path', '/version', '--workers', str(workers), '--out', LOADGEN_OUT)
    time.sleep(3)
    active = runner.docker('exec', client, 'systemctl', 'is-active', LOADGEN_UNIT, check=False).stdout.strip()
    if active != 'active':
        journal = runner.docker('exec', client, 'journalctl', '-u', LOADGEN_UNIT, '-n', '20', '--no-pager',
                                check=False).stdout
        raise BenchmarkError('the load generator is not running in %s (%s):\n%s' % (client, active, journal))
    sockets = runner.docker('exec', client, 'ss', '-Htn', 'state', 'established', '( dport = :443 )',
                            check=False).stdout.splitlines()
    if sockets:
        step('  load generator is sending: %d connection(s) to port 443 established' % len(sockets))
    else:
        step('  WARNING: no established connection to port 443 yet; the load generator may not be sending')


def stop_loadgen(runner, client):
    """Stop the load generator and return its JSON summary (waits up to 30 s for the file)."""
    runner.docker('exec', client, 'systemctl', 'stop', LOADGEN_UNIT, check=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = runner.docker('exec', client, 'cat', LOADGEN_OUT, check=False)
        if result.returncode == 0 and result.stdout.strip():
            return json.loads(result.stdout)
        time.sleep(1)
    journal = runner.docker('exec', client, 'journalctl', '-u', LOADGEN_UNIT, '-n', '20', '--no-pager',
                            check=False).stdout
    raise BenchmarkError('no %s in %s within 30 s of stopping the load generator:\n%s' % (LOADGEN_OUT, client, journal))


def current_release(runner, host):
    """Target of /opt/bulwark-app/current on a host ('' when there is none)."""
    return runner.docker('exec', host, 'readlink', '%s/current' % APP_ROOT, check=False).stdout.strip()


def per_kind(summary, kinds):
    """Sum loadgen's per_target counts by load balancer kind: {kind: {'sent', 'failed', 'lbs'}}."""
    totals = {}
    for lb, kind in kinds.items():
        counts = summary.get('per_target', {}).get(lb, {})
        entry = totals.setdefault(kind, {'sent': 0, 'failed': 0, 'lbs': []})
        entry['sent'] += counts.get('sent', 0)
        entry['failed'] += counts.get('failed', 0)
        entry['lbs'].append(lb)
    return totals


def print_load(summary, kinds, seconds):
    """Progress lines for one load generator summary."""
    step('  requests: %d sent, %d ok, %d failed %s, %d retried on a closed keep-alive connection; %.0f req/s'
         % (summary.get('sent', 0), summary.get('ok', 0), summary.get('failed', 0),
            json.dumps(summary.get('failures', {}), sort_keys=True), summary.get('retried', 0),
            summary.get('sent', 0) / seconds if seconds else 0))
    for lb, counts in sorted(summary.get('per_target', {}).items()):
        step('  %s (%s): %d sent, %d failed' % (lb, kinds.get(lb, '?'), counts.get('sent', 0), counts.get('failed', 0)))
    step('  versions seen: %s; served by: %s' % (json.dumps(summary.get('versions', {}), sort_keys=True),
                                                 json.dumps(summary.get('served_by', {}), sort_keys=True)))


def goal_text(sent, failed):
    """The zero-failure goal in words, honest about runs below the request goal."""
    if failed:
        return 'NOT met: %d failed of %s' % (failed, format(sent, ','))
    if sent < REQUEST_GOAL:
        return 'NOT met: 0 failed of %s, below the %s request goal' % (format(sent, ','), format(REQUEST_GOAL, ','))
    return 'met: 0 failed of %s (>= %s)' % (format(sent, ','), format(REQUEST_GOAL, ','))


def first_converge(runner, results):
    """Step 1: tear the lab down and time `scripts/lab up`."""
    step('Step 1: first converge: scripts/lab down, then scripts/lab up (timed)')
    rc, seconds, _output = runner.command([os.path.join(ROOT, 'scripts', 'lab'), 'down'], 'scripts/lab down')
    if rc != 0:
        raise BenchmarkError('scripts/lab down failed (rc %d)' % rc)
    step('  lab down in %.0f s' % seconds)
    rc, seconds, _output = runner.command([os.path.join(ROOT, 'scripts', 'lab'), 'up'], 'scripts/lab up')
    if rc != 0:
        raise BenchmarkError('scripts/lab up failed (rc %d) after %.0f s' % (rc, seconds))
    results['first_converge_seconds'] = round(seconds, 1)
    step('  first converge (scripts/lab up): %.0f s' % seconds)


def noop_rerun(runner, results):
    """Step 2: time a re-run of site.yml and count its changes (goal 0)."""
    step('Step 2: no-op re-run: ansible-playbook -i %s site.yml (timed)' % runner.inventory)
    rc, seconds, output = runner.playbook('site.yml', 'no-op site.yml')
    if rc != 0:
        raise BenchmarkError('the no-op re-run of site.yml failed (rc %d)' % rc)
    changed = recap_changed(output)
    if not changed:
        raise BenchmarkError('no PLAY RECAP found in the output of site.yml')
    total = sum(changed.values())
    results['noop_seconds'] = round(seconds, 1)
    results['noop_changed'] = total
    results['noop_changed_by_host'] = {host: count for host, count in changed.items() if count}
    step('  %.0f s, changed=%d%s' % (seconds, total, (' (%s)' % ', '.join(
        '%s=%d' % item for item in sorted(results['noop_changed_by_host'].items()))) if total else ''))


def set_limits(runner, relaxed):
    """Step 3 and the restore at the end: converge the LBs with relaxed or default rate limits."""
    extra = [json.dumps(RELAXED_LIMITS)] if relaxed else []
    label = 'relax LB rate limits' if relaxed else 'restore LB rate limits'
    rc, seconds, _output = runner.playbook('site.yml', label, extra=extra, limit='lb')
    if rc != 0:
        raise BenchmarkError('%s: site.yml --limit lb failed (rc %d)' % (label, rc))
    step('  %s: done in %.0f s' % (label, seconds))


def deploy(runner, version, label, never_ready=False):
    """Run playbooks/deploy.yml for a version; return (returncode, seconds)."""
    extra = ['app_version=%s' % version]
    if never_ready:
        extra.append('app_sample_never_ready=true')
    rc, seconds, _output = runner.playbook('playbooks/deploy.yml', label, extra=extra)
    return rc, seconds


def rollout(runner, groups, kinds, client, loadgen_args, opts, results):
    """Step 6: roll out v2 under load and check every app host ends on it."""
    step('Step 6: rolling deploy of %s under load (playbooks/deploy.yml, serial 1)' % opts.v2)
    start_loadgen(runner, client, loadgen_args, opts.workers)
    rc, seconds = deploy(runner, opts.v2, 'deploy %s' % opts.v2)
    summary = stop_loadgen(runner, client)
    if rc != 0:
        print_load(summary, kinds, summary.get('seconds', 0))
        raise BenchmarkError('the rolling deploy of %s failed (rc %d) after %.0f s' % (opts.v2, rc, seconds))
    step('  deploy of %s: %.0f s for %d app host(s), %.1f s per host'
         % (opts.v2, seconds, len(groups['app']), seconds / len(groups['app'])))
    print_load(summary, kinds, summary.get('seconds', 0))
    links = {host: current_release(runner, host) for host in groups['app']}
    wrong = {host: link for host, link in links.items() if link != '%s/releases/%s' % (APP_ROOT, opts.v2)}
    for host, link in links.items():
        step('  %s: current -> %s' % (host, link or '(none)'))
    load_seconds = summary.get('seconds', 0)
    results['deploy'] = {
        'version': opts.v2, 'seconds': round(seconds, 1), 'app_hosts': len(groups['app']),
        'seconds_per_host': round(seconds / len(groups['app']), 1), 'sent': summary.get('sent', 0),
        'ok': summary.get('ok', 0), 'failed': summary.get('failed', 0), 'failures': summary.get('failures', {}),
        'retried': summary.get('retried', 0), 'load_seconds': load_seconds,
        'requests_per_second': round(summary.get('sent', 0) / load_seconds, 1) if load_seconds else 0,
        'per_target': summary.get('per_target', {}), 'versions': summary.get('versions', {}),
        'per_kind': per_kind(summary, kinds), 'hosts_on_new_release': not wrong, 'wrong_hosts': wrong,
    }


def broken_release(runner, groups, kinds, client, loadgen_args, opts, results):
    """Step 7: a never-ready v3 under load: the play must fail and roll back, with no failed request."""
    step('Step 7: broken release %s (app_sample_never_ready=true) under load: must fail and roll back' % opts.v3)
    start_loadgen(runner, client, loadgen_args, opts.workers)
    rc, seconds = deploy(runner, opts.v3, 'deploy broken %s' % opts.v3, never_ready=True)
    summary = stop_loadgen(runner, client)
    first, others = groups['app'][0], groups['app'][1:]
    first_link = current_release(runner, first)
    # deploy.yml prepares v3 on every app host at once (unpacked beside v2); the hosts after the first must never
    # have switched to it.
    touched = [host for host in others if current_release(runner, host) != '%s/releases/%s' % (APP_ROOT, opts.v2)]
    play_failed = rc != 0
    rolled_back = first_link == '%s/releases/%s' % (APP_ROOT, opts.v2)
    step('  deploy.yml %s after %.0f s (rc %d)' % ('failed as it should' if play_failed else 'SUCCEEDED (wrong)',
                                                    seconds, rc))
    step('  %s: current -> %s (%s)' % (first, first_link or '(none)', 'rolled back' if rolled_back else 'NOT rolled back'))
    step('  other app hosts not on %s: %s' % (opts.v2, ', '.join(touched) if touched else 'none (all still on it)'))
    print_load(summary, kinds, summary.get('seconds', 0))
    results['broken'] = {
        'version': opts.v3, 'seconds': round(seconds, 1), 'returncode': rc, 'play_failed': play_failed,
        'first_host': first, 'first_host_current': first_link, 'rolled_back': rolled_back,
        'touched_hosts': touched, 'sent': summary.get('sent', 0), 'failed': summary.get('failed', 0),
        'failures': summary.get('failures', {}), 'retried': summary.get('retried', 0),
        'versions': summary.get('versions', {}), 'per_kind': per_kind(summary, kinds),
    }
    results['broken']['ok'] = play_failed and rolled_back and not touched and summary.get('failed', 0) == 0


def report(results):
    """Print the final table and the JSON line; return True when every measured goal holds."""
    rows = []
    all_met = True
    deployed = results.get('deploy')
    if deployed:
        for kind, counts in sorted(deployed['per_kind'].items()):
            met = counts['failed'] == 0 and counts['sent'] >= REQUEST_GOAL
            all_met = all_met and met
            rows.append(('rolling deploy via %s (%s)' % (kind, ', '.join(counts['lbs'])),
                         '%s sent, %d failed' % (format(counts['sent'], ','), counts['failed']),
                         goal_text(counts['sent'], counts['failed'])))
        rows.append(('deploy %s time' % deployed['version'],
                     '%.0f s, %.1f s/host (%d hosts), %.0f req/s, %d retried'
                     % (deployed['seconds'], deployed['seconds_per_host'], deployed['app_hosts'],
                        deployed['requests_per_second'], deployed['retried']),
                     'every app host on %s: %s' % (deployed['version'],
                                                   'yes' if deployed['hosts_on_new_release'] else 'NO')))
        all_met = all_met and deployed['hosts_on_new_release']
    broken = results.get('broken')
    if broken:
        all_met = all_met and broken['ok']
        rows.append(('broken release %s' % broken['version'],
                     'play %s, %s -> %s, others touched: %s, %s sent, %d failed'
                     % ('failed' if broken['play_failed'] else 'SUCCEEDED', broken['first_host'],
                        os.path.basename(broken['first_host_current']) or '(none)',
                        ', '.join(broken['touched_hosts']) or 'none', format(broken['sent'], ','), broken['failed']),
                     'met' if broken['ok'] else 'NOT met'))
    if 'noop_changed' in results:
        met = results['noop_changed'] == 0
        all_met = all_met and met
        rows.append(('no-op re-run of site.yml', '%.0f s, changed=%d' % (results['noop_seconds'],
                                                                        results['noop_changed']),
                     'changed=0: %s' % ('met' if met else 'NOT met')))
    if 'first_converge_seconds' in results:
        rows.append(('first converge (scripts/lab up)', '%.0f s' % results['first_converge_seconds'], 'measured'))
    if results.get('error'):
        all_met = False
        rows.append(('run', 'stopped early', results['error'].splitlines()[0][:100]))
    widths = [max(len(row[i]) for row in rows + [('figure', 'value', 'goal')]) for i in range(3)]
    print()
    for row in [('figure', 'value', 'goal'), tuple('-' * width for width in widths)] + rows:
        print('  '.join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    print()
    results['all_goals_met'] = all_met
    print(json.dumps(results, sort_keys=True))
    return all_met


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     epilog='Run from the repo root with the venv active: . .venv/bin/activate')
    parser.add_argument('--inventory', default='inventories/lab',
                        help='inventory (default: inventories/lab); a Molecule inventory directory works too, its '
                             'containers are named like its hosts')
    parser.add_argument('--first-converge', action='store_true',
                        help='tear the lab down (scripts/lab down) and time scripts/lab up first; lab inventory only')
    parser.add_argument('--workers', type=int, default=4, help='load generator connections per load balancer')
    parser.add_argument('--skip-broken', action='store_true', help='skip the broken-release rehearsal (step 7)')
    parser.add_argument('--v1', default='1.0.0', help='release live before the rollout (default 1.0.0)')
    parser.add_argument('--v2', default='2.0.0', help='release rolled out under load (default 2.0.0)')
    parser.add_argument('--v3', default='3.0.0', help='broken (never ready) release (default 3.0.0)')
    opts = parser.parse_args()

    inventory = os.path.abspath(os.path.join(ROOT, opts.inventory))
    if opts.first_converge and os.path.realpath(inventory) != os.path.realpath(LAB_INVENTORY):
        parser.error('--first-converge tears down and rebuilds the lab; it only works with inventories/lab')
    if opts.workers < 1:
        parser.error('--workers must be at least 1')
    os.makedirs(LOG_DIR, exist_ok=True)
    log_path = os.path.join(LOG_DIR, 'rolling_deploy-%s.log' % time.strftime('%Y%m%d-%H%M%S'))
    runner = Runner(inventory, log_path)
    results = {'inventory': opts.inventory, 'workers': opts.workers, 'log': log_path}
    step('Rolling deploy benchmark on %s; ansible-playbook output in %s' % (opts.inventory, log_path))

    relaxed = False
    client = None
    loadgen_running = False
    try:
        if opts.first_converge:
            first_converge(runner, results)
        noop_rerun(runner, results)

        groups, kinds = read_inventory(runner)
        results['lbs'] = kinds
        client = groups['monitoring'][0]
        step('Step 3: raising the LB rate limits for this run (site.yml --limit lb with %s): the default 10 r/s '
             'per client address would throttle the single load client; restored at the end'
             % json.dumps(RELAXED_LIMITS))
        relaxed = True  # from here on, restore in any case (a partial converge may have changed some LBs)
        set_limits(runner, relaxed=True)

        step('Step 4: making sure release %s is live (playbooks/deploy.yml)' % opts.v1)
        rc, seconds = deploy(runner, opts.v1, 'deploy %s' % opts.v1)
        if rc != 0:
            raise BenchmarkError('deploying %s failed (rc %d)' % (opts.v1, rc))
        step('  %s live in %.0f s' % (opts.v1, seconds))

        step('Step 5: load client %s, load balancers %s'
             % (client, ', '.join('%s (%s)' % item for item in kinds.items())))
        loadgen_args = prepare_client(runner, client, groups['lb'])

        loadgen_running = True
        rollout(runner, groups, kinds, client, loadgen_args, opts, results)
        if not opts.skip_broken:
            broken_release(runner, groups, kinds, client, loadgen_args, opts, results)
        loadgen_running = False
        step('Back to release %s (the one the inventory declares), so the next site.yml run is a no-op' % opts.v1)
        rc, seconds = deploy(runner, opts.v1, 'deploy %s (restore)' % opts.v1)
        if rc != 0:
            raise BenchmarkError('deploying %s back failed (rc %d)' % (opts.v1, rc))
    except BenchmarkError as exc:
        results['error'] = str(exc)
        print('\nFAILED: %s\n--- last lines of %s ---\n%s' % (exc, log_path, runner.tail()), file=sys.stderr)
    finally:
        if loadgen_running and client:
            runner.docker('exec', client, 'systemctl', 'stop', LOADGEN_UNIT, check=False)
        if relaxed:
            step('Restoring the default LB rate limits (site.yml --limit lb)')
            try:
                set_limits(runner, relaxed=False)
            except BenchmarkError as exc:
                results['error'] = results.get('error') or str(exc)
                print('\nFAILED to restore the rate limits: %s\n--- last lines of %s ---\n%s'
                      % (exc, log_path, runner.tail()), file=sys.stderr)
    return 0 if report(results) else 1


if __name__ == '__main__':
    sys.exit(main())
