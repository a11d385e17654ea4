"""The whole stack on the lab topology, converged by site.yml: end to end, firewall matrix, audit, rolling deploys.

Tests run in file order and build on each other: day-2 operations under load (a limited run, a tagged run, a bad
setting outside the limit, a deploy refused because the pool would be empty), then the v2 rollout happens under load,
then the broken v3 rollout is rolled back, then the audit is made to fail on purpose, and last Redis fails over
(Debian 12; molecule/redis runs Debian 13) and is re-converged; with every sentinel stopped the Redis roles then
refuse to run; and very last every secret is rotated in one site.yml run (after it, the inventory's values are
refused, so nothing may follow it). All traffic stays between this scenario's containers: the
client is the monitoring host (it is the host a synthetic check would run on).
"""

import concurrent.futures
import datetime
import json
import os
import pathlib
import re
import secrets
import shlex
import sys
import time
import urllib.parse

import pytest
import testinfra.utils.ansible_runner

from testlib import (REDIS_WRITER, RedisCluster, changed_tasks, get_host, http_get, internal_ip, probe, run_audit, start_capture, stop_capture,
                     wait_for)

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(':')[0] or str(ROOT / '.cache' / 'collections'))
from ansible_collections.bulwark.stack.plugins.module_utils.firewall import reachability_matrix  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.bulwark.stack.plugins.module_utils.topology import services  # noqa: E402  pylint: disable=wrong-import-position

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
GROUP_NAMES = ['lb', 'app', 'postgres', 'pgbouncer', 'redis', 'monitoring', 'backup']
GROUPS = {name: sorted(RUNNER.get_hosts(name)) for name in GROUP_NAMES}
HOSTS = sorted(RUNNER.get_hosts('all'))
LBS = GROUPS['lb']
APPS = GROUPS['app']
CLIENT = GROUPS['monitoring'][0]
testinfra_hosts = [CLIENT]

SITE = str(ROOT / 'site.yml')
REDIS_CONVERGE = str(ROOT / 'molecule' / 'redis' / 'converge.yml')  # the redis roles on the redis group
DEPLOY = str(ROOT / 'playbooks' / 'deploy.yml')
AUDIT = str(ROOT / 'playbooks' / 'audit.yml')
LOADGEN = ROOT / 'benchmarks' / 'loadgen.py'
LB_CA = '/etc/ssl/bulwark/ca.crt'  # the lab's LB certificates come from the internal CA
APP_ROOT = '/opt/bulwark-app'
NE_DEFAULTS = '/etc/default/prometheus-node-exporter'
NE_WEB = "f=$(grep -o -- '--web.config.file=[^ \"]*' %s | cut -d= -f2); " % NE_DEFAULTS  # $f: node-exporter's web config
V1, V2, V3 = '1.0.0', '2.0.0', '3.0.0'

# Runs on the client: one HTTPS (or HTTP) GET to address:port, certificate checked against the LB's name and CA.
FETCH = r'''
import http.client, json, socket, ssl, sys
name, address, port, path, cafile = sys.argv[1:6]
if cafile:
    ctx = ssl.create_default_context(cafile=cafile)
    sock = ctx.wrap_socket(socket.create_connection((address, int(port)), 10), server_hostname=name)
    conn = http.client.HTTPSConnection(name, int(port))
    conn.sock = sock
else:
    conn = http.client.HTTPConnection(address, int(port), timeout=10)
conn.request("GET", path, headers={"Host": name})
r = conn.getresponse()
print(json.dumps({"status": r.status, "headers": {k.lower(): v for k, v in r.getheaders()},
                  "body": r.read().decode(errors="replace")}))
'''


@pytest.fixture(scope='module')
def addresses():
    return {name: internal_ip(get_host(name)) for name in HOSTS}


@pytest.fixture(scope='module')
def client(addresses):
    """The client host, with the CA of each LB's certificate (the internal CA) and the load generator copied in."""
    host = get_host(CLIENT)
    for lb in LBS:
        ca = get_host(lb).file(LB_CA).content_string
        host.check_output('cat > /root/ca-%s.crt <<"EOF"\n%sEOF' % (lb, ca))
    host.check_output('cat > /root/loadgen.py <<"EOF"\n%sEOF' % LOADGEN.read_text())
    return host


def fetch(client, addresses, lb, path, scheme='https'):
    port, cafile = ('443', '/root/ca-%s.crt' % lb) if scheme == 'https' else ('80', '')
    out = client.check_output('python3 -c %s %s %s %s %s %s' % (
        shlex.quote(FETCH), lb, addresses[lb], port, shlex.quote(path), shlex.quote(cafile)))
    return json.loads(out)


def lb_kind(lb):
    return 'haproxy' if get_host(lb).exists('haproxy') and get_host(lb).service('haproxy').is_running else 'nginx'


def current_release(app):
    return get_host(app).check_output('basename "$(readlink %s/current)"' % APP_ROOT)


def service_started(app):
    """When the app's service last started (PID and start time: a restart changes both)."""
    return get_host(app).check_output('systemctl show --property=MainPID,ExecMainStartTimestampMonotonic bulwark-app')


# ---------------------------------------------------------------------------------------------------------------
# the whole path
# ---------------------------------------------------------------------------------------------------------------

def test_both_lb_kinds_are_in_front():
    assert sorted(lb_kind(lb) for lb in LBS) == ['haproxy', 'nginx']


@pytest.mark.parametrize('lb', LBS)
def test_https_through_lb_reaches_app_pgbouncer_and_redis(client, addresses, lb):
    """/health answers 200 only when the app reached PostgreSQL through PgBouncer and the Redis master via Sentinel."""
    reply = fetch(client, addresses, lb, '/health')
    assert reply['status'] == 200, reply
    health = json.loads(reply['body'])
    assert health['status'] == 'healthy'
    assert health['checks']['pgbouncer']['status'] == 'ok', health
    # over TLS, PgBouncer's certificate checked against the internal CA and its name (DATABASE_URL verify-full)
    assert 'certificate verified' in health['checks']['pgbouncer']['detail'], health
    assert health['checks']['redis']['status'] == 'ok', health
    # Sentinel and Redis over TLS (verified against the internal CA and for their addresses: REDIS_TLS_CA_FILE)
    assert ' over TLSv1.' in health['checks']['redis']['detail'], health
    assert reply['headers']['strict-transport-security'].startswith('max-age=63072000')


INTERNAL_CA = '/etc/ssl/bulwark/ca.crt'  # the internal CA, on every host that uses it


@pytest.mark.parametrize('lb', LBS)
def test_lb_reaches_the_app_hosts_over_verified_tls_only(addresses, lb):
    """Each LB reaches every app host over HTTPS verified against the internal CA (what its proxy does); plain HTTP
    gets no answer from the app port."""
    host = get_host(lb)
    for app in APPS:
        url = 'https://%s:8000/health/ready' % addresses[app]
        assert http_get(host, url, INTERNAL_CA).get('status') == 200, app
        assert 'status' not in http_get(host, url.replace('https://', 'http://'), timeout=5), app


@pytest.mark.parametrize('lb', LBS)
def test_every_app_host_serves_through_lb(client, addresses, lb):
    served = set()
    for _ in range(30):
        reply = fetch(client, addresses, lb, '/version')
        assert reply['status'] == 200 and reply['body'].strip() == V1, reply
        served.add(reply['headers']['x-served-by'])
        if served == set(APPS):
            break
    assert served == set(APPS)


@pytest.mark.parametrize('lb', LBS)
def test_plain_http_redirects_to_https(client, addresses, lb):
    reply = fetch(client, addresses, lb, '/version?x=1', scheme='http')
    assert reply['status'] == 308
    assert reply['headers']['location'] == 'https://%s/version?x=1' % lb


def test_every_certificate_of_every_tier_has_its_expiry_exported():
    """node_exporter's certificate expiry job (run here as its timer would) sees every certificate each tier installs:
    the LBs' public ones, the internal CA's service certificates and the CA itself, all parsed (0 read errors)."""
    expected = {'/etc/ssl/bulwark/ca.crt', '/etc/prometheus/node-exporter/tls.crt'}
    per_group = {'app': {'/etc/bulwark-app-tls/app.crt'},
                 'postgres': {'/etc/postgresql/ssl/server.crt'}, 'pgbouncer': {'/etc/pgbouncer/tls/server.crt'},
                 'redis': {'/etc/redis/tls/redis.crt', '/etc/redis/tls/sentinel.crt'},
                 'monitoring': {'/etc/prometheus/tls/tls.crt', '/etc/prometheus/alertmanager-tls/tls.crt'}}
    per_lb = {'nginx': {'/etc/nginx/tls/fullchain.pem'},
              'haproxy': {'/etc/haproxy/tls/site.pem', '/etc/haproxy/tls/internal.pem'}}
    hosts = LBS + [GROUPS[group][0] for group in ('app', 'postgres', 'redis', 'monitoring')]
    for name in hosts:
        wanted = set(expected).union(*[paths for group, paths in per_group.items() if name in GROUPS[group]])
        wanted |= per_lb[lb_kind(name)] if name in LBS else set()
        host = get_host(name)
        host.check_output('systemctl start bulwark-certificate-expiry.service')
        text = host.file('/var/lib/prometheus/node-exporter/bulwark_certificates.prom').content_string
        found = set(re.findall(r'^bulwark_certificate_expiry_timestamp_seconds\{path="([^"]+)"', text, re.M))
        assert wanted <= found and 'bulwark_certificate_read_errors 0\n' in text, (name, wanted - found, text)


# ---------------------------------------------------------------------------------------------------------------
# monitoring: Prometheus on the monitoring host scrapes what the inventory says runs where; the rules' unit tests
# ---------------------------------------------------------------------------------------------------------------

def monitoring_api(port, path, password=None):
    """GET path from Prometheus (9090) or Alertmanager (9093) on the monitoring host, as the lab's prometheus user."""
    variables = RUNNER.get_variables(CLIENT)
    if password is None:
        users = variables['prometheus_basic_auth_users' if port == 9090 else 'alertmanager_basic_auth_users']
        password = users['prometheus']
    return http_get(get_host(CLIENT), 'https://%s:%d%s' % (internal_ip(get_host(CLIENT)), port, path), INTERNAL_CA,
                    'prometheus:' + password, timeout=10)


def scrape_targets(since=0.0, password=None):
    """{(job, instance): health} of Prometheus's active targets, counting only scrapes after ``since`` (epoch)."""
    reply = monitoring_api(9090, '/api/v1/targets?state=active', password)
    assert reply.get('status') == 200, reply
    targets = json.loads(reply['body'])['data']['activeTargets']
    return {(t['labels']['job'], t['labels']['instance']):
            t['health'] if _epoch(t['lastScrape']) > since else 'not scraped since' for t in targets}


def _epoch(stamp):
    """Seconds since the epoch of Prometheus's RFC 3339 time (nanoseconds and Z or an offset)."""
    match = re.fullmatch(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)', stamp)
    if not match or stamp.startswith('0001-'):
        return 0.0
    zone = '+00:00' if match.group(2) == 'Z' else match.group(2)
    return datetime.datetime.fromisoformat(match.group(1) + zone).timestamp()


def assert_every_target_up(since=0.0, password=None):
    """Every host's node-exporter, Prometheus, Alertmanager, each app host's and each LB's metrics are scraped, and up
    (after ``since``)."""
    monitors = GROUPS['monitoring']
    wanted = ({('node', name) for name in HOSTS} | {(job, name) for job in ('prometheus', 'alertmanager') for name in monitors}
              | {('app', name) for name in APPS} | {(lb_kind(lb), lb) for lb in LBS}
              | {('postgres', name) for name in GROUPS['postgres']} | {('redis', name) for name in GROUPS['redis']}
              | {('pgbouncer', name) for name in GROUPS['pgbouncer']})
    wait_for(lambda: (lambda seen: set(seen) == wanted and set(seen.values()) == {'up'})(scrape_targets(since, password)), 90,
             'not every target is scraped and up: %s' % scrape_targets(since, password))


def test_monitoring_scrapes_every_host_from_the_inventory_over_verified_tls():
    """Targets derived from the inventory and the topology: node-exporter on every host, Prometheus, Alertmanager,
    the app hosts' and the load balancers' metrics (nginx through prometheus-nginx-exporter, HAProxy's own)."""
    assert_every_target_up()
    assert monitoring_api(9090, '/api/v1/targets', password='wrong-password').get('status') == 401


def metrics_listeners():
    """(host, port, users variable, job) of every metrics listener with TLS and basic auth besides node-exporter and
    the monitoring tier."""
    return ([(a, 8001, 'app_metrics_users', 'app') for a in APPS]
            + [(lb, 9113, '%s_metrics_users' % lb_kind(lb), lb_kind(lb)) for lb in LBS]
            + [(db, 9187, 'postgres_exporter_basic_auth_users', 'postgres') for db in GROUPS['postgres']]
            + [(db, 9127, 'pgbouncer_exporter_basic_auth_users', 'pgbouncer') for db in GROUPS['pgbouncer']])


# What each job's listener must export (a series only that exporter has).
METRIC_OF = {'app': 'bulwark_app_http_request_duration_seconds_bucket{', 'nginx': 'nginx_connections_accepted ',
             'haproxy': 'haproxy_frontend_http_requests_total{', 'postgres': '\npg_up 1\n',
             'pgbouncer': '\npgbouncer_up 1\n'}


def prometheus_query(expr):
    return prometheus_query_as(None, expr)


def prometheus_query_as(password, expr):
    reply = monitoring_api(9090, '/api/v1/query?query=' + urllib.parse.quote(expr), password)
    assert reply.get('status') == 200, reply
    return json.loads(reply['body'])['data']['result']


# Runs on the monitoring host: GET url over TLS verified against the internal CA, presenting Prometheus's own
# certificate (or none); prints the status, or the error.
MTLS_GET = r'''
import ssl, sys, urllib.request
url, cert = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile="/etc/ssl/bulwark/ca.crt")
if cert:
    ctx.load_cert_chain(cert + "/tls.crt", cert + "/tls.key")
try:
    r = urllib.request.urlopen(url, context=ctx, timeout=10)
    print(r.status, "redis_up 1" in r.read().decode())
except Exception as exc:
    print("error", type(exc).__name__)
'''


def test_pgbouncer_exporter_runs_as_its_own_user_and_reads_the_pools():
    """The PgBouncer exporter (Debian 13: this scenario's database host) runs as its own system user, not postgres,
    and reads PgBouncer's console as the stats user over verified TLS: the pools reach Prometheus."""
    for name in GROUPS['pgbouncer']:
        host = get_host(name)
        assert host.check_output('systemctl show -p User --value prometheus-pgbouncer-exporter') == 'prometheus-pgbouncer'
        wait_for(lambda name=name: [r['value'][1] for r in prometheus_query('pgbouncer_up{instance="%s"}' % name)] == ['1'],
                 60, 'Prometheus has no pgbouncer_up 1 for %s' % name)
        assert prometheus_query('pgbouncer_pools_client_waiting_connections{instance="%s"}' % name), name


def test_redis_exporters_require_a_client_certificate_and_read_nothing_else(addresses):
    """The Redis exporter (9121) on the internal address only, HTTPS from the internal CA, refuses a client without a
    certificate of that CA; with Prometheus's it reports Redis up. Its Redis user runs INFO but no key command and no
    CONFIG."""
    monitor = get_host(CLIENT)
    redis_vars = RUNNER.get_variables(GROUPS['redis'][0])
    redis = RedisCluster(GROUPS['redis'], ('admin', redis_vars['redis_acl_admin_password']),
                         ('app', redis_vars['redis_acl_app_password']), redis_vars['redis_sentinel_password'])
    for name in GROUPS['redis']:
        url = 'https://%s:9121/metrics' % addresses[name]
        assert monitor.check_output('python3 -c %s %s ""' % (shlex.quote(MTLS_GET), url)).startswith('error'), name
        assert monitor.check_output('python3 -c %s %s /etc/prometheus/tls' % (shlex.quote(MTLS_GET), url)) == '200 True', name
        listening = get_host(name).check_output("ss -Hltn 'sport = :9121' | awk '{print $4}'").split()
        assert listening == ['%s:9121' % addresses[name]], (name, listening)
        host, ip, password = get_host(name), redis.ip(name), redis_vars['redis_acl_monitor_password']
        assert 'redis_version' in redis.cli(host, ip, 'INFO', 'server', user='monitor', password=password), name
        for command in (('GET', 'k'), ('CONFIG', 'GET', 'masterauth'), ('KEYS', '*')):
            assert 'NOPERM' in redis.cli(host, ip, *command, user='monitor', password=password), (name, command)
    wait_for(lambda: sorted(r['value'][1] for r in prometheus_query('redis_up')) == ['1'] * len(GROUPS['redis']), 60,
             'Prometheus does not see every Redis up: %s' % prometheus_query('redis_up'))


def test_app_lb_and_postgres_metrics_listen_on_the_internal_address_with_tls_and_auth(addresses):
    """The app's (8001), the LBs' (9113) and PostgreSQL's exporter (9187) on the internal address only, HTTPS from
    the internal CA, the scrape user's password or 401; nginx's stub status and its exporter on loopback only; the
    exporter logs in to PostgreSQL (pg_monitor, peer) and Prometheus has what the PostgreSQL alerts read."""
    variables = RUNNER.get_variables(CLIENT)
    monitor = get_host(CLIENT)
    for name, port, users, job in metrics_listeners():
        url = 'https://%s:%d/metrics' % (addresses[name], port)
        assert http_get(monitor, url, INTERNAL_CA).get('status') == 401, (name, port)
        assert http_get(monitor, url, INTERNAL_CA, 'prometheus:wrong-password').get('status') == 401, (name, port)
        reply = http_get(monitor, url, INTERNAL_CA, 'prometheus:' + variables[users]['prometheus'])
        assert reply.get('status') == 200 and METRIC_OF[job] in reply['body'], (name, port, reply)
        listening = get_host(name).check_output("ss -Hltn 'sport = :%d' | awk '{print $4}'" % port).split()
        assert listening == ['%s:%d' % (addresses[name], port)], (name, listening)
    for lb in LBS:
        if lb_kind(lb) == 'nginx':
            loopback = get_host(lb).check_output("ss -Hltn '( sport = :9114 or sport = :9115 )' | awk '{print $4}'")
            assert sorted(loopback.split()) == ['127.0.0.1:9114', '127.0.0.1:9115'], loopback
    for db in GROUPS['postgres']:
        wait_for(lambda db=db: [r['value'][1] for r in prometheus_query('pg_up{instance="%s"}' % db)] == ['1'], 60,
                 'Prometheus has no pg_up 1 for %s' % db)
        ratio = prometheus_query('sum by (instance) (pg_stat_activity_count{instance="%s"}) / max by (instance) '
                                 '(pg_settings_max_connections{instance="%s"})' % (db, db))
        assert ratio and 0 < float(ratio[0]['value'][1]) < 1, ratio


WEBHOOK_SINK = '/var/lib/webhook-sink/alerts.jsonl'  # on the monitoring host: one Alertmanager webhook body per line


def delivered(alertname, status, since):
    """(instance, unit) of the ``alertname`` alerts with ``status`` the webhook received after its first ``since`` bodies."""
    lines = get_host(CLIENT).run('cat %s' % WEBHOOK_SINK).stdout.splitlines()
    return {(alert['labels'].get('instance'), alert['labels'].get('name'))
            for line in lines[since:] if line.strip() for alert in json.loads(line)['alerts']
            if alert['labels'].get('alertname') == alertname and alert['status'] == status}


def test_a_stopped_redis_replica_pgbouncer_and_app_fire_at_the_webhook_and_resolve(client, addresses):
    """ServiceDown (node-exporter's systemd collector; its `for` shortened in the stack's group_vars) reaches the
    webhook through Alertmanager for each stopped service, and resolves once it runs again. Meanwhile requests that
    the app answers with 500 (through both LBs) make HttpErrorRatioHigh fire from the app's own metrics, and resolve
    once they stop."""
    redis_vars = RUNNER.get_variables(GROUPS['redis'][0])
    redis = RedisCluster(GROUPS['redis'], ('admin', redis_vars['redis_acl_admin_password']),
                         ('app', redis_vars['redis_acl_app_password']), redis_vars['redis_sentinel_password'])
    replica = [name for name in GROUPS['redis'] if name != redis.current_primary()][0]
    stopped = {(replica, 'redis-server.service'), (GROUPS['pgbouncer'][0], 'pgbouncer.service'),
               (APPS[0], 'bulwark-app.service')}
    since = len(get_host(CLIENT).run('cat %s' % WEBHOOK_SINK).stdout.splitlines())
    assert not delivered('ServiceDown', 'firing', 0) & stopped, 'ServiceDown fired before anything was stopped'
    assert not delivered('HttpErrorRatioHigh', 'firing', 0), 'HttpErrorRatioHigh fired before any 500'
    # Through the Redis exporter as well: the stopped replica's Redis, and the primary's missing replica.
    redis_alerts = (('RedisDown', (replica, None)), ('RedisReplicasDisconnected', (None, None)))
    start_load(client, addresses, path='/status/500', workers=1, rate=5)
    try:
        for name, unit in stopped:
            get_host(name).check_output('systemctl stop %s' % unit)
        wait_for(lambda: delivered('ServiceDown', 'firing', since) >= stopped
                 and delivered('HttpErrorRatioHigh', 'firing', since)
                 and all(key in delivered(name, 'firing', since) for name, key in redis_alerts), 120,
                 'ServiceDown (each of %s) or HttpErrorRatioHigh did not reach the webhook: %s' % (
                     sorted(stopped), monitoring_api(9090, '/api/v1/alerts').get('body')))
    finally:
        load = stop_load(client)
        for name, unit in stopped:
            get_host(name).run('systemctl start %s' % unit)
    assert load['failures'] and load['ok'] == 0, load  # the app answered 500 (what the alert counted), nothing else
    wait_for(lambda: delivered('ServiceDown', 'resolved', since) >= stopped
             and delivered('HttpErrorRatioHigh', 'resolved', since)
             and all(key in delivered(name, 'resolved', since) for name, key in redis_alerts), 120,
             'the resolutions did not reach the webhook: %s %s' % (delivered('ServiceDown', 'resolved', since),
                                                                    delivered('HttpErrorRatioHigh', 'resolved', since)))
    # The stack serves again before the next tests: every app host UP in HAProxy, the replica back in sync.
    wait_for(lambda: all(haproxy_status(app) == 'UP' for app in APPS), 60, 'app hosts not back UP in HAProxy')
    wait_for(lambda: redis.info(redis.current_primary()).get('connected_slaves') == str(len(GROUPS['redis']) - 1), 60,
             'the stopped replica did not reconnect')


# ---------------------------------------------------------------------------------------------------------------
# firewall: the connectivity matrix between every pair of hosts, with the real services listening
# ---------------------------------------------------------------------------------------------------------------

def test_firewall_connectivity_matrix(addresses):
    """Every (source, destination, port) the topology allows connects; every other one is dropped (times out).

    SSH is allowed from anywhere (rate-limited), so it must never time out. Every service port of the topology is
    probed on every other host, from every host.
    """
    table = services()
    ports = sorted({entry['port'] for entry in table.values()})
    groups = dict(GROUPS, all=HOSTS, ungrouped=[])
    allowed = reachability_matrix(groups, table)
    mismatches = []
    opened = 0
    expected, ssh = {}, {}
    for source in HOSTS:
        expected[source] = {}
        for dest in HOSTS:
            if dest == source:
                continue
            for port in ports:
                expected[source]['%s:%d' % (addresses[dest], port)] = ('open' if (source, dest, port) in allowed
                                                                       else 'timeout')
        ssh[source] = ['%s:22' % addresses[dest] for dest in HOSTS if dest != source]
    # Every source probes at the same time (a dropped probe waits out its timeout): one thread per source host.
    hosts = {source: get_host(source) for source in HOSTS}  # testinfra objects made here, used by the threads
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
        rows = dict(zip(HOSTS, pool.map(lambda source: probe(hosts[source], list(expected[source]) + ssh[source]),
                                        HOSTS)))
    for source in HOSTS:
        observed = rows[source]
        for target, want in expected[source].items():
            if observed[target] != want:
                mismatches.append('%s -> %s: %s, expected %s' % (source, target, observed[target], want))
        mismatches += ['%s -> %s: SSH timed out' % (source, t) for t in ssh[source]
                       if observed[t] not in ('open', 'refused')]
        opened += sum(1 for want in expected[source].values() if want == 'open')
    assert mismatches == []
    # The matrix is not trivially closed: lb->app, app->pgbouncer, app/redis->redis, monitoring->all, any->lb.
    assert opened >= len(HOSTS) + 2 * len(APPS)


# ---------------------------------------------------------------------------------------------------------------
# audit: clean as converged
# ---------------------------------------------------------------------------------------------------------------

def test_converged_stack_audits_clean():
    rc, ids, stats = run_audit(AUDIT, '-e', 'bulwark_audit_fail_on=warning')
    assert ids == {name: [] for name in HOSTS}
    assert rc == 0
    assert all(s['changed'] == 0 for s in stats.values()), stats


def test_audit_in_check_mode_reports_and_changes_nothing():
    """The audit supports check mode: same (clean) report, nothing changed, no file under /etc touched."""
    etc = 'find /etc -xdev -type f -newermt "$(date -d @%d)" | sort | md5sum'
    since = int(time.time()) - 1
    before = {name: get_host(name).check_output(etc % since) for name in HOSTS}
    rc, ids, stats = run_audit(AUDIT, '--check', '-e', 'bulwark_audit_fail_on=warning')
    assert rc == 0
    assert ids == {name: [] for name in HOSTS}
    assert all(s['changed'] == 0 and s['failures'] == 0 for s in stats.values()), stats
    assert {name: get_host(name).check_output(etc % since) for name in HOSTS} == before


# ---------------------------------------------------------------------------------------------------------------
# day-2 operations, under one steady load through both LBs (started by the first test, checked by the last)
# ---------------------------------------------------------------------------------------------------------------

HAPROXY_CLI = r'''
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect('/run/haproxy/admin.sock')
s.sendall(sys.argv[1].encode() + b'\n')
print(b''.join(iter(lambda: s.recv(65536), b'')).decode())
'''


def haproxy(command):
    """One runtime API command on the HAProxy LB; its answer."""
    lb = [name for name in LBS if lb_kind(name) == 'haproxy'][0]
    return get_host(lb).check_output('python3 -c %s %s' % (shlex.quote(HAPROXY_CLI), shlex.quote(command)))


def haproxy_status(server):
    for line in haproxy('show stat').splitlines():
        fields = line.split(',')
        if fields[:2] == ['app', server]:
            return fields[17]
    raise AssertionError('no server %s in backend app' % server)


def hosts_that_ran(report):
    """Hosts for which a task ran (not skipped) in an ansible.posix.json report."""
    ran = set()
    for play in report['plays']:
        for task in play['tasks']:
            ran |= {host for host, res in task['hosts'].items() if not res.get('skipped')}
    return ran


@pytest.fixture(scope='module')
def day2_load(client, addresses):
    start_load(client, addresses)
    yield
    # stop_load is called by test_day2_operations_failed_no_request; this only cleans up after a failed test.
    client.run('systemctl stop bulwark-loadgen')


def test_limited_run_converges_only_that_host_from_all_facts(day2_load, run_playbook):
    """site.yml -l app1: validation covers the inventory, the other hosts' facts are read (not changed), and app1's
    firewall rules, upstreams and addresses come out exactly as the full run left them (zero changes)."""
    result = run_playbook(SITE, '--limit', APPS[0], json_output=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert set(result.report['stats']) == {APPS[0]}, result.report['stats']
    assert result.report['stats'][APPS[0]]['changed'] == 0, changed_tasks(result.report)
    facts = [task for play in result.report['plays'] for task in play['tasks']
             if task['task']['name'] == 'Facts of the hosts outside --limit (read only; no task runs there)']
    read = {item['item'] for task in facts for res in task['hosts'].values() for item in res.get('results', [])
            if not item.get('skipped')}
    assert read == set(HOSTS) - {APPS[0]}


def test_bad_setting_outside_the_limit_stops_the_limited_run(day2_load, run_playbook, tmp_path):
    """A bad value on a Redis host is refused by a run limited to an app host, before any host changes."""
    extra = tmp_path / 'bad.yml'
    extra.write_text(json.dumps({'all': {'hosts': {GROUPS['redis'][0]: {
        'redis_extra_config': ['maxclients 100\nbind 0.0.0.0']}}}}))
    result = run_playbook(SITE, '-i', str(extra), '--limit', APPS[0], json_output=True)
    assert result.returncode != 0
    output = json.dumps(result.report)
    assert 'redis_extra_config' in output and GROUPS['redis'][0] in output, output[-3000:]
    assert all(s['changed'] == 0 for s in result.report['stats'].values()), result.report['stats']
    assert hosts_that_ran(result.report) <= {APPS[0]}  # the validation task (delegated to the controller)


def test_tags_nginx_changes_only_nginx(day2_load, run_playbook):
    """--tags nginx repairs nginx's drift and leaves another role's drift on the same host alone."""
    lb = [name for name in LBS if lb_kind(name) == 'nginx'][0]
    host = get_host(lb)
    host.check_output('cp -a /etc/nginx/nginx.conf /root/nginx.conf.bak && echo "# drift" >> /etc/nginx/nginx.conf')
    logrotate_rule = '/etc/logrotate.d/bulwark-nginx'  # bulwark.stack.logrotate's rule
    host.check_output('cp -a %s /root/logrotate.bak && echo "# drift" >> %s' % (logrotate_rule, logrotate_rule))
    try:
        result = run_playbook(SITE, '--tags', 'nginx', json_output=True)
        assert result.returncode == 0, result.stdout[-4000:]
        changed = changed_tasks(result.report)
        assert set(changed) == {lb}, changed
        assert all(name.startswith('bulwark.stack.nginx : ') for name in changed[lb]), changed
        assert '# drift' not in host.file('/etc/nginx/nginx.conf').content_string
        assert '# drift' in host.file(logrotate_rule).content_string
    finally:
        host.run('cp -a /root/logrotate.bak %s' % logrotate_rule)
        host.run('if grep -q "# drift" /etc/nginx/nginx.conf; then cp -a /root/nginx.conf.bak /etc/nginx/nginx.conf; fi')


def test_deploy_refused_when_the_pool_would_be_empty(day2_load, run_playbook):
    """In HAProxy app3 is taken out by an operator and app2 is down: app1 is the only server left, so deploying it is
    refused before anything is drained or switched, and the lock is released for the next deploy."""
    operator_out, down = APPS[2], APPS[1]
    haproxy('set server app/%s state maint' % operator_out)
    get_host(down).check_output('systemctl stop bulwark-app')
    try:
        wait_for(lambda: haproxy_status(down).startswith('DOWN'), 30, 'HAProxy never saw %s down' % down)
        result = run_playbook(DEPLOY, '-e', 'app_version=%s' % V2)
        assert result.returncode != 0, result.stdout[-3000:]
        # Failures go to stderr with Molecule's ansible.cfg; quotes, escapes and folds taken out before searching.
        output = ' '.join(re.sub(r'[\\"\']', '', result.stdout + result.stderr).split())
        assert 'Refusing to take %s out of HAProxy' % APPS[0] in output, result.stderr[-3000:]
        assert {app: current_release(app) for app in APPS} == {app: V1 for app in APPS}
        assert haproxy_status(APPS[0]) == 'UP'  # never drained
        assert not get_host(APPS[0]).file('/run/lock/bulwark-deploy').exists  # released
    finally:
        get_host(down).run('systemctl start bulwark-app')
        haproxy('set server app/%s state ready' % operator_out)
    wait_for(lambda: all(haproxy_status(app) == 'UP' for app in APPS), 60, 'app hosts not back UP in HAProxy')


def test_day2_operations_failed_no_request(client, day2_load):
    load = stop_load(client)
    assert load['failed'] == 0, load_report(load)
    for lb in LBS:
        assert load['per_target'][lb]['sent'] >= 100, load


# ---------------------------------------------------------------------------------------------------------------
# rolling deploys under a steady load through both LBs
# ---------------------------------------------------------------------------------------------------------------

def start_load(client, addresses, path='/version', workers=2, rate=15):
    """HTTPS requests through both LBs (benchmarks/loadgen.py) until stop_load(). By default 2 connections per LB at
    15 requests/s each: a request every ~33 ms per LB, so an outage longer than that meets a request. Half the
    requests of the 3 x 20/s it replaced (each costs the LB, a TLS handshake with the app, and the app), so the
    deploys it watches compete less for the 2 cores. benchmarks/rolling_deploy.py runs flat out for its figures."""
    targets = ' '.join('--target %s=%s:443 --cafile /root/ca-%s.crt' % (lb, addresses[lb], lb) for lb in LBS)
    client.check_output('rm -f /root/loadgen.json; systemd-run --unit bulwark-loadgen --collect '
                        'python3 /root/loadgen.py %s --path %s --workers %d --rate %d --out /root/loadgen.json'
                        % (targets, path, workers, rate))
    time.sleep(3)


def stop_load(client):
    client.check_output('systemctl stop bulwark-loadgen')
    for _ in range(30):
        if client.file('/root/loadgen.json').exists:
            return json.loads(client.file('/root/loadgen.json').content_string)
        time.sleep(1)
    raise AssertionError(client.run('journalctl -u bulwark-loadgen -n 30 --no-pager').stdout)


def load_report(load):
    """The load summary as JSON (pytest would cut a dict's repr short), then what each LB host logged around its
    first failures (the journal, every unit): enough to tell a slow app from a reload from a dropped connection."""
    lines = [json.dumps(load, sort_keys=True)]
    for failure in load.get('failure_log', [])[:3]:
        at = datetime.datetime.strptime(failure['at'], '%Y-%m-%dT%H:%M:%S.%fZ')
        since, until = (at - datetime.timedelta(seconds=3)), (at + datetime.timedelta(seconds=failure['seconds'] + 3))
        journal = get_host(failure['target']).run(
            "journalctl --utc -o short-iso-precise --no-pager --since '%s' --until '%s' | tail -n 60"
            % (since.strftime('%Y-%m-%d %H:%M:%S'), until.strftime('%Y-%m-%d %H:%M:%S')))
        lines += ['--- %s around %s:' % (failure['target'], failure['at']), journal.stdout]
    return '\n'.join(lines)


def test_rolling_deploy_under_load_fails_no_request(client, addresses, run_playbook):
    # An operator took app3 out of HAProxy (maintenance): it is deployed, and stays out of HAProxy. The deploy asks
    # for a database backup before the first switch (deploy_backup_first): one more dump on the database host.
    operator_out = APPS[2]
    db = get_host(GROUPS['postgres'][0])
    dumps = 'find /var/backups/postgresql -name "*.dump" | sort'
    dumps_before = db.check_output(dumps).split()
    haproxy('set server app/%s state maint' % operator_out)
    start_load(client, addresses)
    try:
        result = run_playbook(DEPLOY, '-e', 'app_version=%s' % V2, '-e', 'deploy_backup_first=true')
    finally:
        load = stop_load(client)
        kept_out = haproxy_status(operator_out)
        haproxy('set server app/%s state ready' % operator_out)
    assert result.returncode == 0, result.stdout[-4000:]
    assert kept_out.startswith('MAINT'), kept_out
    new_dumps = sorted(set(db.check_output(dumps).split()) - set(dumps_before))
    assert len(new_dumps) == len(RUNNER.get_variables(GROUPS['postgres'][0]).get('postgresql_databases', [])) >= 1, \
        new_dumps
    wait_for(lambda: haproxy_status(operator_out) == 'UP', 60, '%s not back UP in HAProxy' % operator_out)
    assert load['failed'] == 0, load_report(load)
    for lb in LBS:
        assert load['per_target'][lb]['sent'] >= 200 and load['per_target'][lb].get('failed', 0) == 0, load
    # The stream saw the old and the new release: the rollout happened while it ran.
    assert set(load['versions']) == {V1, V2}, load
    assert {app: current_release(app) for app in APPS} == {app: V2 for app in APPS}
    # Every host back in every LB, on v2.
    for lb in LBS:
        served = {}
        for _ in range(30):
            reply = fetch(client, addresses, lb, '/version')
            served[reply['headers']['x-served-by']] = reply['body'].strip()
        assert served == {app: V2 for app in APPS}, (lb, served)


def test_deploy_dry_run_after_the_rollout_predicts_no_change(run_playbook):
    """deploy.yml --check --diff on hosts that run the release: no change, no failure, nothing rescued."""
    result = run_playbook(DEPLOY, '--check', '--diff', '-e', 'app_version=%s' % V2, json_output=True)
    assert result.returncode == 0, result.stdout[-4000:]
    stats = result.report['stats']
    assert all(s['changed'] == 0 and s['failures'] == 0 and s.get('rescued', 0) == 0 for s in stats.values()), \
        (stats, changed_tasks(result.report))


def test_failed_pre_activation_step_stops_the_deploy_before_any_switch(run_playbook):
    """A pre-activation step (here a migration that fails) runs once before the first switch; its failure stops the
    deploy with every host still on the running release, and releases the lock."""
    migration = ['/usr/bin/python3', '-c', 'import sys; sys.exit("migration 0042 failed")']
    result = run_playbook(DEPLOY, '-e', json.dumps({'app_version': V3, 'app_pre_activate_command': migration}))
    assert result.returncode != 0, result.stdout[-3000:]
    output = ' '.join(re.sub(r'[\\"\']', '', result.stdout + result.stderr).split())
    assert 'so no host switched to %s' % V3 in output and 'migration 0042 failed' in output, result.stderr[-3000:]
    assert {app: current_release(app) for app in APPS} == {app: V2 for app in APPS}
    assert not get_host(APPS[0]).file('/run/lock/bulwark-deploy').exists


def test_broken_release_stops_at_first_host_and_rolls_back(client, addresses, run_playbook):
    started_before = {app: service_started(app) for app in APPS}
    env_before = get_host(APPS[0]).file('/etc/bulwark-app/app.env').content_string
    start_load(client, addresses)
    try:
        # v3 never gets ready, and comes with new settings (an environment variable and a memory cap in the unit):
        # the rollback must restore those too. Waiting 15 s proves the rollback as well as the 60 s default would.
        result = run_playbook(DEPLOY, '-e', json.dumps({
            'app_version': V3, 'app_sample_never_ready': True, 'deploy_ready_timeout': 15,
            'app_environment': {'FEATURE_ONLY_IN_V3': 'on'}, 'app_memory_max': '1G'}))
    finally:
        load = stop_load(client)
    assert result.returncode != 0, 'a release that never gets ready was deployed:\n' + result.stdout[-3000:]
    # It failed where a broken release must fail: app1 switched to v3, which never got ready (not on an earlier task).
    # Quotes, escapes and line folds of the YAML result format taken out before searching.
    output = ' '.join(re.sub(r'[\\"\']', '', result.stdout + result.stderr).split())
    assert 'Release %s failed on %s at Wait for /health/ready locally' % (V3, APPS[0]) in output, result.stdout[-3000:]
    assert load['failed'] == 0, load_report(load)
    assert set(load['versions']) == {V2}, load
    assert current_release(APPS[0]) == V2
    # ...with its previous settings: the environment file and the unit (memory cap) as before, no backup left behind.
    first = get_host(APPS[0])
    assert first.file('/etc/bulwark-app/app.env').content_string == env_before
    assert first.check_output('ls -A /etc/bulwark-app') == 'app.env'
    assert first.check_output('systemctl show -p MemoryMax --value bulwark-app') == str(512 * 1024 ** 2)
    # v3 was prepared on every app host at once (unpacked beside v2); the hosts after the first never switched to it
    # and were never drained: they still run v2, the process started before this deploy.
    for app in APPS[1:]:
        assert current_release(app) == V2
        assert get_host(app).file('%s/releases/%s' % (APP_ROOT, V3)).is_directory
        assert service_started(app) == started_before[app], app
    for lb in LBS:
        served = {fetch(client, addresses, lb, '/version')['headers']['x-served-by'] for _ in range(30)}
        assert served == set(APPS), (lb, served)


# ---------------------------------------------------------------------------------------------------------------
# audit: deliberate misconfigurations, each reported by ID on its host (last: it leaves hosts broken until restored)
# ---------------------------------------------------------------------------------------------------------------

def misconfigurations():
    """{finding ID: (host, break command, restore command)}; each on its own host where it can be."""
    lb_nginx = [lb for lb in LBS if lb_kind(lb) == 'nginx'][0]
    lb_haproxy = [lb for lb in LBS if lb_kind(lb) == 'haproxy'][0]
    db = GROUPS['postgres'][0]
    redis = GROUPS['redis']
    acl = "f=$(awk '/^aclfile /{print $2}' /etc/redis/redis.conf); f=${f:-/etc/redis/redis.conf}; "
    return {
        'BW-TLS-003': (lb_nginx, "cp -a /etc/nginx /root/nginx.bak && sed -i 's/server_tokens off;/server_tokens on;/' "
                                 "/etc/nginx/nginx.conf",
                       'rm -rf /etc/nginx && mv /root/nginx.bak /etc/nginx'),
        'BW-TLS-002': (lb_nginx, "grep -rl Strict-Transport-Security /etc/nginx | xargs sed -i '/Strict-Transport-Security/d'",
                       None),
        'BW-TLS-001': (lb_haproxy, "cp /etc/haproxy/haproxy.cfg /root/haproxy.bak && "
                                   "sed -i 's/ssl-min-ver TLSv1.2/ssl-min-ver TLSv1.0/' /etc/haproxy/haproxy.cfg",
                       'mv /root/haproxy.bak /etc/haproxy/haproxy.cfg'),
        'BW-PG-001': (db, "f=$(ls /etc/postgresql/*/main/pg_hba.conf); cp $f /root/hba.bak && "
                          "echo 'host all all 0.0.0.0/0 trust' >> $f",
                      'f=$(ls /etc/postgresql/*/main/pg_hba.conf); cp /root/hba.bak $f'),
        'BW-PGB-001': (db, "cp -a /etc/pgbouncer/userlist.txt /root/userlist.bak && "
                           "echo '\"eve\" \"plaintext-secret\"' >> /etc/pgbouncer/userlist.txt",
                       'cp -a /root/userlist.bak /etc/pgbouncer/userlist.txt'),
        'BW-RDS-002': (redis[0], "cp -a /etc/redis/redis.conf /root/redis.bak && echo 'protected-mode no' >> /etc/redis/redis.conf",
                       'cp -a /root/redis.bak /etc/redis/redis.conf'),
        'BW-RDS-001': (redis[1], acl + 'cp -a $f /root/acl.bak && echo "user default on nopass ~* +@all" >> $f',
                       acl + 'cp -a /root/acl.bak $f'),
        'BW-RDS-003': (redis[2], "cp -a /etc/redis/redis.conf /root/redis.bak && echo 'port 6380' >> /etc/redis/redis.conf",
                       'cp -a /root/redis.bak /etc/redis/redis.conf'),
        'BW-FW-001': (redis[2], 'ufw disable', 'ufw --force enable'),
        'BW-FW-002': (CLIENT, 'ufw default allow incoming', 'ufw default deny incoming'),
        'BW-SSH-001': (APPS[0], "printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/00-audit-test.conf",
                       'rm -f /etc/ssh/sshd_config.d/00-audit-test.conf'),
        'BW-FILE-001': (APPS[1], 'chmod 0644 /etc/bulwark-app/app.env', 'chmod 0600 /etc/bulwark-app/app.env'),
        'BW-PROC-001': (APPS[2], "mkdir -p /etc/systemd/system/prometheus-node-exporter.service.d && printf "
                                 "'[Service]\\nUser=root\\nGroup=root\\nCapabilityBoundingSet=CAP_DAC_OVERRIDE\\n' > "
                                 "/etc/systemd/system/prometheus-node-exporter.service.d/zz-audit-test.conf && "
                                 "systemctl daemon-reload && systemctl restart prometheus-node-exporter",
                        'rm -f /etc/systemd/system/prometheus-node-exporter.service.d/zz-audit-test.conf && '
                        'systemctl daemon-reload && systemctl restart prometheus-node-exporter'),
        'BW-NEX-001': (CLIENT, "cp %s /root/ne.bak && sed -i -E 's/--web.listen-address=[^ \"]+/--web.listen-address=0.0.0.0:9100/' "
                               "%s && systemctl restart prometheus-node-exporter" % (NE_DEFAULTS, NE_DEFAULTS),
                       'cp /root/ne.bak %s && systemctl restart prometheus-node-exporter' % NE_DEFAULTS),
        'BW-MON-001': (CLIENT, "cp /etc/default/prometheus /root/prom.bak && sed -i -E "
                               "'s/--web.listen-address=[^ \"]+/--web.listen-address=0.0.0.0:9090/' /etc/default/prometheus "
                               "&& systemctl restart prometheus",
                       'cp /root/prom.bak /etc/default/prometheus && systemctl restart prometheus'),
        # An exporter started by hand on every address (as Debian's packages start theirs) on a metrics port.
        'BW-MON-003': (db, 'systemd-run --unit bw-stray-exporter python3 -m http.server 9113 && sleep 1',
                       'systemctl stop bw-stray-exporter'),
        'BW-MON-002': (CLIENT, 'cp /etc/prometheus/alertmanager-web.yml /root/am-web.bak && '
                               'sed -i "/^basic_auth_users:/,\\$d" /etc/prometheus/alertmanager-web.yml',
                       'cp /root/am-web.bak /etc/prometheus/alertmanager-web.yml'),
        'BW-NEX-002': (db, NE_WEB + 'cp $f /root/web.bak && sed -i "/^basic_auth_users:/,\\$d" $f', NE_WEB + 'cp /root/web.bak $f'),
        'BW-LOG-001': (lb_haproxy, 'mkdir -p /root/logrotate.bak && grep -l /var/log/haproxy /etc/logrotate.d/* '
                                   '| xargs -I{} mv {} /root/logrotate.bak/',
                       'mv /root/logrotate.bak/* /etc/logrotate.d/'),
    }


def test_each_misconfiguration_is_reported_by_id():
    cases = misconfigurations()
    expected = {host: set() for host in HOSTS}
    for finding, (host, _, _) in cases.items():
        expected[host].add(finding)
    try:
        for finding, (host, breaks, _) in cases.items():
            get_host(host).check_output(breaks)
        rc, ids, stats = run_audit(AUDIT, '-e', 'bulwark_audit_fail_on=error')
        assert rc != 0, 'CI mode must fail the run on error findings'
        assert all(s['changed'] == 0 for s in stats.values()), stats
        assert {host: set(found) for host, found in ids.items()} == expected
    finally:
        for finding, (host, _, restore) in reversed(list(cases.items())):
            if restore:
                get_host(host).run(restore)
    rc, ids, _ = run_audit(AUDIT, '-e', 'bulwark_audit_fail_on=warning')
    assert ids == {name: [] for name in HOSTS} and rc == 0


# ---------------------------------------------------------------------------------------------------------------
# Redis on Debian 12: a real failover, the app follows it, a re-converge keeps it (last: it moves the primary)
# ---------------------------------------------------------------------------------------------------------------

def lab_secrets(variables):
    """{label: value} of every secret the lab inventory gives the stack (passwords, the CA passphrase)."""
    found = {name: variables[name] for name in variables
             if re.search(r'(password|passphrase)\Z', name) and isinstance(variables[name], str) and len(variables[name]) >= 8
             and '{{' not in variables[name]}
    for user in variables.get('postgresql_users', []):
        found['postgresql_users.' + user['name']] = user['password']
    for name in ('node_exporter_basic_auth_users', 'haproxy_stats_users', 'prometheus_basic_auth_users',
                 'alertmanager_basic_auth_users', 'app_metrics_users', 'nginx_metrics_users', 'haproxy_metrics_users',
                 'postgres_exporter_basic_auth_users', 'pgbouncer_exporter_basic_auth_users'):
        found.update(('%s.%s' % (name, user), password) for user, password in variables.get(name, {}).items())
    return found


# Plaintext protocol that must not cross the network: a Redis or Sentinel command or reply (RESP), Sentinel's hello
# messages, replication's handshake, a PostgreSQL startup or SCRAM exchange, an HTTP request from a load balancer.
CLEAR_PROTOCOL = {
    'RESP AUTH': b'\r\n$4\r\nAUTH\r\n', 'RESP PING': b'*1\r\n$4\r\nPING\r\n', 'RESP PONG': b'+PONG\r\n',
    'RESP SENTINEL': b'\r\n$8\r\nSENTINEL\r\n', 'Sentinel hello': b'__sentinel__:hello', 'replication': b'REPLCONF',
    'PostgreSQL startup': b'user\x00', 'PostgreSQL SCRAM': b'SCRAM-SHA-256', 'HTTP request': b'GET /health HTTP/1.',
}
APP_TLS_NAME = b'app.bulwark.internal'  # in clear in each LB's TLS ClientHello (SNI): shows the capture reads the traffic


def test_redis_failover_is_followed_by_the_app_and_kept_by_a_reconverge(client, addresses, run_playbook):
    """Also the capture of issue 15: on the app, Redis and database hosts, while /health (Sentinel, Redis, PgBouncer)
    runs through both LBs, database logins pass PgBouncer, and Redis fails over (replicas re-sync, sentinels
    reconfigure), no lab secret and no plaintext PostgreSQL, Redis or HTTP protocol crosses the network."""
    redis_vars = RUNNER.get_variables(GROUPS['redis'][0])
    redis = RedisCluster(GROUPS['redis'],
                         (redis_vars.get('redis_acl_admin_user', 'admin'), redis_vars['redis_acl_admin_password']),
                         (redis_vars.get('redis_acl_app_user', 'app'), redis_vars['redis_acl_app_password']),
                         redis_vars['redis_sentinel_password'])
    assert {get_host(name).system_info.release.split('.')[0] for name in GROUPS['redis']} == {'12'}
    secrets_ = lab_secrets(dict(RUNNER.get_variables(LBS[0]), **redis_vars))
    assert {'redis_acl_app_password', 'redis_acl_replication_password', 'redis_sentinel_password', 'postgresql_users.app',
            'pgbouncer_admin_password', 'haproxy_stats_users.admin', 'internal_ca_passphrase'} <= set(secrets_), sorted(secrets_)
    captured = {name: get_host(name) for name in GROUPS['app'] + GROUPS['redis'] + GROUPS['postgres']}
    needles = dict(CLEAR_PROTOCOL, **{'secret ' + label: value.encode() for label, value in secrets_.items()})
    start_capture(captured, dict(needles, **{'app TLS name': APP_TLS_NAME}), (8000, 6379, 26379, 6432, 5432))
    start_load(client, addresses, '/health', workers=1, rate=5)
    try:
        db, pgbouncer = get_host(GROUPS['postgres'][0]), addresses[GROUPS['pgbouncer'][0]]  # psql is on the db host
        app_password = secrets_['postgresql_users.app']
        assert [psql_login(db, pgbouncer, 'app', 'app', app_password) for _ in range(3)] == ['ok'] * 3
        old, new = redis.fail_over()
        assert psql_login(db, pgbouncer, 'app', 'app', app_password) == 'ok'
    finally:
        load = stop_load(client)
        capture = stop_capture(captured)
    assert all(load['per_target'][lb]['sent'] >= 20 for lb in LBS), load
    for name, result in capture.items():
        assert {label: seen for label, seen in result['found'].items() if label in needles} == {}, (name, result)
    for name in GROUPS['app']:  # what the capture saw: LB to app, app to Sentinel, Redis and PgBouncer
        assert all(capture[name]['ports'].get(str(port)) for port in (8000, 26379, 6379, 6432)), (name, capture[name])
        assert 'app TLS name' in capture[name]['found'], (name, capture[name])
    for name in GROUPS['redis']:
        assert capture[name]['ports'].get('6379') and capture[name]['ports'].get('26379'), (name, capture[name])
    for name in GROUPS['postgres']:
        assert capture[name]['ports'].get('6432') and capture[name]['ports'].get('5432'), (name, capture[name])
    # The app finds the new primary through Sentinel: /health (it asks Sentinel, then PINGs that primary) is 200
    # through every LB.
    for lb in LBS:
        reply = fetch(client, addresses, lb, '/health')
        assert reply['status'] == 200 and json.loads(reply['body'])['checks']['redis']['status'] == 'ok', reply
    # Re-converging the Redis hosts records the new topology and points nobody back at the old primary...
    result = run_playbook(REDIS_CONVERGE, json_output=True)
    assert result.returncode == 0, result.stdout[-4000:]
    redis.assert_follows_after_reconverge(old, new)
    # ...and a dry run afterwards predicts no change.
    result = run_playbook(REDIS_CONVERGE, '--check', '--diff', json_output=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert all(s['changed'] == 0 and s['failures'] == 0 for s in result.report['stats'].values()), result.report['stats']


def test_with_every_sentinel_stopped_the_redis_roles_change_nothing(run_playbook):
    """After the failover: the sentinels are down while Redis runs, so the primary cannot be known for sure. The
    Redis roles stop before changing any Redis host, and say why."""
    hosts = {name: get_host(name) for name in GROUPS['redis']}
    fingerprint = "find /etc/redis -type f ! -name 'sentinel*' | sort | xargs md5sum"  # Sentinel owns its file
    before = {name: host.check_output(fingerprint) for name, host in hosts.items()}
    for host in hosts.values():
        host.check_output('systemctl stop redis-sentinel')
    try:
        result = run_playbook(REDIS_CONVERGE, json_output=True)
    finally:
        for host in hosts.values():
            host.run('systemctl start redis-sentinel')
    assert result.returncode != 0, result.stdout[-3000:]
    messages = [res.get('msg', '') for play in result.report['plays'] for task in play['tasks']
                for res in task['hosts'].values() if res.get('failed')]
    assert any('no sentinel names a primary' in msg and 'Redis runs on' in msg and 'nothing was changed' in msg
               for msg in messages), messages
    assert all(s['changed'] == 0 for s in result.report['stats'].values()), result.report['stats']
    assert {name: host.check_output(fingerprint) for name, host in hosts.items()} == before


# ---------------------------------------------------------------------------------------------------------------
# every secret rotated in one site.yml run, after the failover above, under load (last: it changes the credentials)
# ---------------------------------------------------------------------------------------------------------------

def rotated_secrets():
    """A new value for every secret the collection manages (the app's copies follow in the lab inventory)."""
    new = {name: 'Rot-%s-%s' % (name[:6], secrets.token_urlsafe(18)) for name in (
        'db', 'pgb_admin', 'pgb_stats', 'r_admin', 'r_app', 'r_repl', 'r_sent_user', 'sentinel', 'scrape', 'stats',
        'prom', 'am', 'app_m', 'nginx_m', 'haproxy_m', 'pg_m', 'r_mon', 'pgb_m')}
    return new, {
        'postgresql_users': [{'name': 'app', 'password': new['db']}],
        'pgbouncer_users': [{'name': 'app', 'password': new['db']}],
        'pgbouncer_admin_password': new['pgb_admin'], 'pgbouncer_stats_password': new['pgb_stats'],
        'redis_acl_admin_password': new['r_admin'], 'redis_acl_app_password': new['r_app'],
        'redis_acl_replication_password': new['r_repl'], 'redis_acl_sentinel_password': new['r_sent_user'],
        'redis_sentinel_password': new['sentinel'], 'redis_acl_monitor_password': new['r_mon'],
        'node_exporter_basic_auth_users': {'prometheus': new['scrape']},
        'haproxy_stats_users': {'admin': new['stats']},
        'prometheus_basic_auth_users': {'prometheus': new['prom']},
        'alertmanager_basic_auth_users': {'prometheus': new['am']},
        'app_metrics_users': {'prometheus': new['app_m']},
        'nginx_metrics_users': {'prometheus': new['nginx_m']},
        'haproxy_metrics_users': {'prometheus': new['haproxy_m']},
        'postgres_exporter_basic_auth_users': {'prometheus': new['pg_m']},
        'pgbouncer_exporter_basic_auth_users': {'prometheus': new['pgb_m']},
    }


def psql_login(host, address, database, user, password):
    """Log in to PgBouncer at address (password from the environment); 'ok' or the error."""
    query = 'SHOW VERSION' if database == 'pgbouncer' else 'SELECT 1'
    result = host.run('PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -X -At "host=%s port=6432 dbname=%s user=%s '
                      'sslmode=verify-full sslrootcert=/etc/ssl/bulwark/ca.crt" -c %s' % (
        shlex.quote(password), address, database, user, shlex.quote(query)))
    return 'ok' if result.rc == 0 else (result.stdout + result.stderr).strip()[-200:]


def assert_rotated_outside_redis(client, addresses, old, new):
    """PgBouncer, node-exporter, HAProxy stats, the metrics listeners and the app's copies refuse or no longer hold
    the old values."""
    # PgBouncer (and PostgreSQL behind it, SCRAM end to end), as the app and the console users.
    db = get_host(GROUPS['pgbouncer'][0])
    pgb = addresses[GROUPS['pgbouncer'][0]]
    for database, user, key in (('app', 'app', 'db'), ('pgbouncer', 'pgbouncer_admin', 'pgb_admin'),
                                ('pgbouncer', 'pgbouncer_stats', 'pgb_stats')):
        refused = psql_login(db, pgb, database, user, old[key])
        assert 'authentication failed' in refused, (user, refused)
        assert psql_login(db, pgb, database, user, new[key]) == 'ok', user
    # node-exporter (from the monitoring host) and the HAProxy stats page (on the LB's internal address).
    target = get_host(GROUPS['postgres'][0])
    client.check_output('cat > /root/ne-ca.pem <<"EOF"\n%sEOF' % target.file(INTERNAL_CA).content_string)
    url = 'https://%s:9100/metrics' % addresses[GROUPS['postgres'][0]]
    assert http_get(client, url, '/root/ne-ca.pem', 'prometheus:' + old['scrape']).get('status') == 401
    assert http_get(client, url, '/root/ne-ca.pem', 'prometheus:' + new['scrape'], limit=100).get('status') == 200
    haproxy_lb = [lb for lb in LBS if lb_kind(lb) == 'haproxy'][0]
    stats = 'https://%s:8404/stats' % addresses[haproxy_lb]
    assert http_get(get_host(haproxy_lb), stats, INTERNAL_CA, 'admin:' + old['stats']).get('status') == 401
    assert http_get(get_host(haproxy_lb), stats, INTERNAL_CA, 'admin:' + new['stats'], limit=100).get('status') == 200
    # Prometheus and Alertmanager take the new passwords only, and Prometheus scrapes every target with the new ones.
    for port, key in ((9090, 'prom'), (9093, 'am')):
        path = '/api/v1/status/config' if port == 9090 else '/api/v2/status'
        assert monitoring_api(port, path, password=old[key]).get('status') == 401, port
        assert monitoring_api(port, path, password=new[key]).get('status') == 200, port
    # The app's, the LBs' and PostgreSQL's exporter's metrics listeners take the new passwords only.
    keys = {'app': 'app_m', 'nginx': 'nginx_m', 'haproxy': 'haproxy_m', 'postgres': 'pg_m', 'pgbouncer': 'pgb_m'}
    for name, port, key in [(name, port, keys[job]) for name, port, _, job in metrics_listeners()]:
        url = 'https://%s:%d/metrics' % (addresses[name], port)
        assert http_get(client, url, INTERNAL_CA, 'prometheus:' + old[key]).get('status') == 401, name
        assert http_get(client, url, INTERNAL_CA, 'prometheus:' + new[key], limit=100).get('status') == 200, name
    assert_every_target_up(since=time.time(), password=new['prom'])
    # The Redis exporters log in with the new monitor password.
    wait_for(lambda: sorted(r['value'][1] for r in prometheus_query_as(new['prom'], 'redis_up')) == ['1'] * len(GROUPS['redis']),
             60, 'not every Redis exporter logs in after the rotation')
    # The app hosts hold the new copies only.
    for app in APPS:
        env = get_host(app).file('/etc/bulwark-app/app.env').content_string
        assert new['r_app'] in env and new['sentinel'] in env and new['db'] in env, app
        assert not [key for key in old if old[key] in env], app


def test_every_secret_rotates_in_one_run_after_the_failover(client, addresses, run_playbook, tmp_path):
    """Change every secret in the inventory and run `site.yml --tags users` once (the credentials concern, as an
    operator rotates: README "Rotating secrets"), under HTTPS load through both LBs to /health
    (every request logs in to Sentinel and Redis with the app's copies) and a Redis writer that logs in on every
    write: no failed request, no lost acknowledged write, no failover; afterwards every old value is refused and every
    new one accepted, and a re-run of the Redis roles changes nothing."""
    old_vars = RUNNER.get_variables(GROUPS['redis'][0])
    db_vars = RUNNER.get_variables(GROUPS['postgres'][0])
    lb_vars = RUNNER.get_variables([lb for lb in LBS if lb_kind(lb) == 'haproxy'][0])
    old = {'db': db_vars['postgresql_users'][0]['password'], 'pgb_admin': db_vars['pgbouncer_admin_password'],
           'pgb_stats': db_vars['pgbouncer_stats_password'], 'r_admin': old_vars['redis_acl_admin_password'],
           'r_app': old_vars['redis_acl_app_password'], 'r_repl': old_vars['redis_acl_replication_password'],
           'r_sent_user': old_vars['redis_acl_sentinel_password'], 'sentinel': old_vars['redis_sentinel_password'],
           'scrape': old_vars['node_exporter_basic_auth_users']['prometheus'], 'stats': lb_vars['haproxy_stats_users']['admin'],
           'prom': old_vars['prometheus_basic_auth_users']['prometheus'],
           'am': old_vars['alertmanager_basic_auth_users']['prometheus'],
           'app_m': old_vars['app_metrics_users']['prometheus'], 'nginx_m': old_vars['nginx_metrics_users']['prometheus'],
           'haproxy_m': old_vars['haproxy_metrics_users']['prometheus'],
           'pg_m': old_vars['postgres_exporter_basic_auth_users']['prometheus'],
           'r_mon': old_vars['redis_acl_monitor_password'],
           'pgb_m': old_vars['pgbouncer_exporter_basic_auth_users']['prometheus']}
    new, values = rotated_secrets()
    values['redis_acl_admin_password_previous'] = old['r_admin']  # Redis keeps only its hash: needed to log in once
    rotated = tmp_path / 'rotated.yml'
    rotated.write_text(json.dumps({'all': {'hosts': {name: values for name in HOSTS}}}))

    redis = RedisCluster(GROUPS['redis'], ('admin', old['r_admin']), ('app', old['r_app']), old['sentinel'])
    primary = redis.current_primary()
    epoch = redis.cli(get_host(primary), redis.ip(primary), 'SENTINEL', 'MASTER', 'bulwark', password=old['sentinel'],
                      port=26379).splitlines()
    epoch = epoch[epoch.index('config-epoch') + 1]
    writer_host = get_host([h for h in GROUPS['redis'] if h != primary][0])
    writer_host.check_output('rm -f /root/writer.stop /root/writer.state; cat > /root/writer.py <<"EOF"\n%sEOF' % REDIS_WRITER)
    writer_host.check_output('cat > /root/writer.json <<"EOF"\n%s\nEOF' % json.dumps(
        {'host': redis.ip(primary), 'port': 6379, 'user': 'app', 'old': old['r_app'], 'new': new['r_app'],
         'ca': redis.ca_file}))
    writer_host.check_output('systemd-run --unit bulwark-writer --collect python3 /root/writer.py')
    start_load(client, addresses, '/health', workers=2, rate=10)
    try:
        result = run_playbook(SITE, '-i', str(rotated), '--tags', 'users', json_output=True)
    finally:
        load = stop_load(client)
        writer_host.check_output('touch /root/writer.stop')
        time.sleep(1)
        writes = json.loads(writer_host.file('/root/writer.state').content_string)
    assert result.returncode == 0, result.stdout[-4000:]
    assert load['failed'] == 0, load_report(load)
    assert all(load['per_target'][lb]['sent'] >= 100 for lb in LBS), load

    # Redis: the writer moved to the new password when the old one was refused; every acknowledged write is there,
    # on the primary and on every replica. The primary did not move, and no failover happened (same epoch).
    assert writes['switched'] and writes['acked'] >= 100 and not writes['errors'], writes
    redis = RedisCluster(GROUPS['redis'], ('admin', new['r_admin']), ('app', new['r_app']), new['sentinel'])
    assert redis.current_primary() == primary
    after = redis.cli(get_host(primary), redis.ip(primary), 'SENTINEL', 'MASTER', 'bulwark', password=new['sentinel'],
                      port=26379).splitlines()
    assert after[after.index('config-epoch') + 1] == epoch
    for name in GROUPS['redis']:
        wait_for(lambda name=name: int(redis.cli(get_host(name), redis.ip(name), 'GET', 'rotation:writes', user='app',
                                                 password=new['r_app']) or 0) >= writes['last'], 20,
                 '%s lost acknowledged writes' % name)
    # Old Redis and Sentinel passwords refused, new ones accepted, on every host; no old value left in a file.
    for name in GROUPS['redis']:
        host, ip = get_host(name), redis.ip(name)
        for user, key in (('admin', 'r_admin'), ('app', 'r_app'), ('replica', 'r_repl'), ('sentinel', 'r_sent_user'),
                          ('monitor', 'r_mon')):
            assert 'WRONGPASS' in redis.cli(host, ip, 'PING', user=user, password=old[key]), (name, user)
            assert redis.cli(host, ip, 'PING', user=user, password=new[key]) == 'PONG', (name, user)
        assert 'WRONGPASS' in redis.cli(host, ip, 'PING', password=old['sentinel'], port=26379), name
        assert redis.cli(host, ip, 'PING', password=new['sentinel'], port=26379) == 'PONG', name
        files = host.check_output('cat /etc/redis/*.conf /etc/redis/users.acl')
        assert not [key for key in old if old[key] in files], name
        # Each sentinel still reaches the others (sentinel-pass) and Redis (auth-pass).
        info = redis.cli(host, ip, 'SENTINEL', 'MASTER', 'bulwark', password=new['sentinel'], port=26379).splitlines()
        assert info[info.index('flags') + 1] == 'master' and info[info.index('num-other-sentinels') + 1] == '2', info
    # Replicas reconnect with the new replication password (their links are cut here on purpose).
    redis.cli(get_host(primary), redis.ip(primary), 'CLIENT', 'KILL', 'TYPE', 'replica', user='admin', password=new['r_admin'])
    wait_for(lambda: redis.info(primary).get('connected_slaves') == str(len(GROUPS['redis']) - 1), 30,
             'replicas did not reconnect with the new replication password')

    assert_rotated_outside_redis(client, addresses, old, new)

    # A re-run of the Redis roles with the rotated inventory changes nothing (the rotation is finished).
    result = run_playbook(REDIS_CONVERGE, '-i', str(rotated), json_output=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert all(s['changed'] == 0 for s in result.report['stats'].values()), changed_tasks(result.report)
