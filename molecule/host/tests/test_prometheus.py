"""Behaviour of bulwark.stack.prometheus and bulwark.stack.alertmanager on the monitoring host (Debian 13, as mon1).

Prometheus scrapes both hosts' node-exporters, itself and Alertmanager over TLS verified against the internal CA,
with basic auth; its own API and Alertmanager's refuse anonymous, plain-HTTP and unverified clients. Stopping the
other host's node-exporter fires HostDown, which Alertmanager delivers to the webhook receiver on that host
(prepare.yml), and starting it again delivers the resolution (rule durations shortened in molecule.yml).
"""

import json
import time

import pytest

from testlib import get_host, http_get, internal_ip, scenario_hosts, wait_for

MON = scenario_hosts('monitoring')[0]
OTHER = [h for h in scenario_hosts() if h != MON][0]
testinfra_hosts = [MON]

CA = '/etc/ssl/bulwark/ca.crt'
PROMETHEUS, ALERTMANAGER = 9090, 9093
AUTH = {PROMETHEUS: 'prometheus:molecule-prometheus-secret-2c9d',
        ALERTMANAGER: 'prometheus:molecule-alertmanager-secret-81be'}
SINK = '/var/lib/webhook-sink/alerts.jsonl'  # on OTHER: one Alertmanager webhook body per line
RULES = {'HostDown', 'TargetDown', 'ServiceDown', 'MemoryHigh', 'DiskAlmostFull', 'DiskFillingUp', 'ServiceRestarting',
         'CertificateExpiring', 'CertificateUnreadable', 'BackupTooOld', 'RestoreTestTooOld', 'WalArchiveFailing', 'HttpErrorRatioHigh', 'HttpLatencyHigh',
         'PostgresDown', 'PostgresConnectionsHigh', 'PgBouncerClientsWaiting', 'RedisDown', 'RedisNoPrimary',
         'RedisReplicasDisconnected', 'SentinelQuorumLost'}


@pytest.fixture(name='mon', scope='module')
def fixture_mon():
    return get_host(MON)


@pytest.fixture(name='other', scope='module')
def fixture_other():
    return get_host(OTHER)


def api(client, address, port, path, auth=None, scheme='https', cafile=CA):
    result = http_get(client, '%s://%s:%d%s' % (scheme, address, port, path), cafile,
                      AUTH[port] if auth is None else auth, timeout=10)
    if result.get('status') == 200:
        result['json'] = json.loads(result['body'])
    return result


def test_every_target_is_scraped_over_verified_tls(mon):
    """Targets come from the inventory and the topology: both hosts' exporters, Prometheus and Alertmanager."""
    address = internal_ip(mon)
    wanted = {('node', MON), ('node', OTHER), ('prometheus', MON), ('alertmanager', MON)}

    def all_up():
        targets = api(mon, address, PROMETHEUS, '/api/v1/targets?state=active')['json']['data']['activeTargets']
        seen = {(t['labels']['job'], t['labels']['instance']): t for t in targets}
        return seen if set(seen) == wanted and all(t['health'] == 'up' for t in seen.values()) else None

    seen = wait_for(all_up, 60, 'not every target is up: %s' % api(mon, address, PROMETHEUS, '/api/v1/targets')['body'][:3000])
    assert all(t['scrapeUrl'].startswith('https://') for t in seen.values())
    node = seen[('node', OTHER)]['scrapeUrl']
    assert node == 'https://%s:9100/metrics' % internal_ip(get_host(OTHER))


def test_alert_rules_are_loaded(mon):
    groups = api(mon, internal_ip(mon), PROMETHEUS, '/api/v1/rules')['json']['data']['groups']
    names = {rule['name'] for group in groups for rule in group['rules']}
    assert names == RULES
    assert all(rule['health'] == 'ok' for group in groups for rule in group['rules'])


@pytest.mark.parametrize('port', [PROMETHEUS, ALERTMANAGER])
def test_api_refuses_anonymous_plain_and_unverified_clients(mon, other, port):
    address = internal_ip(mon)
    path = '/api/v1/status/config' if port == PROMETHEUS else '/api/v2/status'
    assert api(other, address, port, path).get('status') == 200  # from the other host, with credentials
    assert api(other, address, port, path, auth='').get('status') == 401
    assert api(other, address, port, path, auth='prometheus:wrong-password').get('status') == 401
    plain = api(other, address, port, path, scheme='http')  # Go's TLS server: 400, nothing of the API
    assert plain.get('status') == 400 and 'HTTPS' in plain.get('body', ''), plain
    unverified = api(other, address, port, path, cafile='')  # the system CAs do not know the internal CA
    assert 'CERTIFICATE_VERIFY_FAILED' in unverified.get('error', ''), unverified


def test_listens_on_the_internal_address_only_and_without_cluster_port(mon):
    listening = mon.check_output("ss -Htln | awk '{print $4}'").split()
    address = internal_ip(mon)
    for port in (PROMETHEUS, ALERTMANAGER):
        assert [a for a in listening if a.endswith(':%d' % port)] == ['%s:%d' % (address, port)], listening
    assert not [a for a in listening if a.endswith(':9094')], 'the Alertmanager cluster port listens: %s' % listening


def test_passwords_only_as_bcrypt_hashes_or_in_prometheus_only_files(mon):
    config = mon.file('/etc/prometheus/prometheus.yml').content_string
    for secret in ('molecule-scrape-secret-7f3a', 'molecule-alertmanager-secret-81be'):
        assert secret not in config
    for web in ('/etc/prometheus/web.yml', '/etc/prometheus/alertmanager-web.yml'):
        text = mon.file(web).content_string
        assert 'molecule-' not in text and '$2b$' in text
        assert (mon.file(web).user, mon.file(web).group, mon.file(web).mode) == ('root', 'prometheus', 0o640)
    secret = mon.file('/etc/prometheus/scrape-secrets/node.password')
    assert (secret.user, secret.group, secret.mode) == ('root', 'prometheus', 0o640)
    assert secret.content_string == 'molecule-scrape-secret-7f3a'


def _notifications(other):
    text = other.run('cat %s' % SINK).stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _delivered(other, status, since):
    """Webhook bodies received after the first ``since`` ones that carry HostDown for OTHER with ``status``."""
    return [body for body in _notifications(other)[since:]
            for alert in body['alerts']
            if alert['labels'].get('alertname') == 'HostDown' and alert['labels'].get('instance') == OTHER
            and alert['status'] == status]


def test_host_down_fires_at_the_webhook_and_resolves(mon, other):
    """HostDown (for: 10s here) reaches the receiver through Alertmanager, then its resolution once the host is back."""
    since = len(_notifications(other))
    assert not _delivered(other, 'firing', 0), 'HostDown fired before the exporter was stopped'
    other.check_output('systemctl stop prometheus-node-exporter')
    try:
        started = time.time()
        fired = wait_for(lambda: _delivered(other, 'firing', since), 120,
                         'HostDown never reached the webhook: %s' % api(mon, internal_ip(mon), PROMETHEUS, '/api/v1/alerts')['body'])
        assert fired[0]['alerts'][0]['labels']['severity'] == 'critical'
        assert time.time() - started >= 10  # not before the rule's `for`
    finally:
        other.check_output('systemctl start prometheus-node-exporter')
    wait_for(lambda: _delivered(other, 'resolved', since), 120, 'the resolution of HostDown never reached the webhook')
