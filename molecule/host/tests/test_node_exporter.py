"""Behaviour of bulwark.stack.node_exporter: each host scrapes the other, with and without credentials."""

import datetime
import os
import re

import pytest

from testlib import (assert_renewed, get_host, http_get, internal_ip, peer_fixtures, run_forced_renewal, scenario_hosts,
                     served_certificate, start_load_loop, stop_load_loop)

HOSTS = scenario_hosts()
testinfra_hosts = HOSTS

PORT = 9100
USER, PASSWORD = 'prometheus', 'molecule-scrape-secret-7f3a'
CONFIG_DIR = '/etc/prometheus/node-exporter'
SERVICE = 'prometheus-node-exporter'
CA = '/etc/ssl/bulwark/ca.crt'  # the internal CA, on every host (bulwark.stack.internal_ca)

target, client = peer_fixtures(HOSTS)  # the host under test, and the other host of the scenario


def scrape(client, target, scheme='https', auth=USER + ':' + PASSWORD, trust=True):
    """GET /metrics of target from client, trusting only the internal CA (or the system CAs: trust=False)."""
    cafile = CA if trust else ''
    url = '%s://%s:%d/metrics' % (scheme, internal_ip(target), PORT)
    return http_get(client, url, cafile, auth, timeout=10, limit=200000)


def test_service_running(target):
    svc = target.service('prometheus-node-exporter')
    journal = target.run('journalctl -u prometheus-node-exporter --no-pager -n 30').stdout
    assert svc.is_running, journal
    assert svc.is_enabled


def test_metrics_with_credentials_from_other_host(client, target):
    result = scrape(client, target)
    assert result.get('status') == 200, result
    assert 'node_exporter_build_info' in result['body']
    assert 'node_systemd_unit_state' in result['body']  # the systemd collector is on


@pytest.mark.parametrize('auth', ['', USER + ':wrong-password', 'intruder:' + PASSWORD])
def test_metrics_refused_without_valid_credentials(client, target, auth):
    assert scrape(client, target, auth=auth).get('status') == 401


def test_plain_http_is_not_served(client, target):
    result = scrape(client, target, scheme='http', trust=False)
    assert result.get('status') != 200, result


def test_certificate_is_verified_against_the_internal_ca(client, target):
    # Trusting nothing (system CAs only) must fail the handshake: the exporter serves the internal CA's certificate.
    result = scrape(client, target, trust=False)
    assert 'CERTIFICATE_VERIFY_FAILED' in result.get('error', ''), result


def test_listens_only_on_internal_address(target):
    listeners = target.check_output("ss -Htln 'sport = :%d' | awk '{print $4}'" % PORT).split()
    assert listeners == ['%s:%d' % (internal_ip(target), PORT)]
    loopback = target.run('python3 -c "import socket; socket.create_connection((\'127.0.0.1\', %d), 3)"' % PORT)
    assert loopback.rc != 0 and 'ConnectionRefusedError' in loopback.stderr


def test_config_files_modes_and_no_plaintext(target):
    web = target.file(CONFIG_DIR + '/web.yml')
    assert (web.user, web.group, web.mode) == ('root', 'prometheus', 0o640)
    assert PASSWORD not in web.content_string
    assert '$2b$10$' in web.content_string
    key = target.file(CONFIG_DIR + '/tls.key')  # from the internal CA: made on the host, the exporter's own
    assert (key.user, key.group, key.mode) == ('prometheus', 'prometheus', 0o600)
    assert target.file(CONFIG_DIR).mode == 0o750


def test_systemd_sandbox(target):
    props = dict(line.split('=', 1) for line in target.check_output(
        'systemctl show prometheus-node-exporter -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome '
        '-p PrivateTmp -p CapabilityBoundingSet -p RestrictSUIDSGID').splitlines())
    assert props['User'] == 'prometheus'
    assert props['NoNewPrivileges'] == 'yes'
    assert props['ProtectSystem'] == 'strict'
    assert props['PrivateTmp'] == 'yes'
    assert props['CapabilityBoundingSet'] == ''
    assert props['RestrictSUIDSGID'] == 'yes'
    pid = target.check_output('systemctl show -p MainPID --value prometheus-node-exporter')
    assert target.check_output('ps -o user= -p %s' % pid) == 'prometheus'


def test_check_mode_on_converged_host_changes_nothing(check_mode_recap, target):
    stats = check_mode_recap[target.backend.host]
    assert stats['failures'] == 0 and stats['unreachable'] == 0
    assert stats['changed'] == 0, stats['changed_tasks']


def test_certificate_expiry_is_exported_for_every_certificate_and_a_broken_file_counts(client, target):
    """The timer's job (started here as the timer would) writes each certificate's notAfter, as openssl reads it,
    for the exporter's own certificate and the internal CA's; a file that claims to be a certificate but does not
    parse shows in bulwark_certificate_read_errors; the job runs sandboxed and cannot write elsewhere."""
    assert target.service('bulwark-certificate-expiry.timer').is_enabled
    broken = '/etc/ssl/bulwark/broken-test.crt'
    try:
        target.check_output('printf -- "-----BEGIN CERTIFICATE-----\\nnot base64\\n" > %s' % broken)
        target.check_output('systemctl start bulwark-certificate-expiry.service')
        body = scrape(client, target)['body']
    finally:
        target.run('rm -f %s; systemctl start bulwark-certificate-expiry.service' % broken)
    # node-exporter re-exposes the samples with their labels sorted and the value as a float
    samples = dict(re.findall(r'^bulwark_certificate_expiry_timestamp_seconds\{[^}]*path="([^"]+)"[^}]*\} (\S+)$', body, re.M))
    for path in (CONFIG_DIR + '/tls.crt', CA):
        end = target.check_output('openssl x509 -in %s -noout -enddate' % path).split('=', 1)[1]
        expected = datetime.datetime.strptime(end, '%b %d %H:%M:%S %Y %Z').replace(tzinfo=datetime.timezone.utc)
        assert float(samples[path]) == expected.timestamp(), (path, samples)
    assert re.search(r'^bulwark_certificate_read_errors 1$', body, re.M), body[-2000:]
    assert 'issuer="CN=bulwark.stack internal CA"' in body
    props = dict(line.split('=', 1) for line in target.check_output(
        'systemctl show bulwark-certificate-expiry.service -p ProtectSystem -p CapabilityBoundingSet').splitlines())
    assert props['ProtectSystem'] == 'strict', props
    assert set(props['CapabilityBoundingSet'].split()) == {'cap_dac_override', 'cap_dac_read_search'}, props


def test_forced_renewal_is_served_without_a_restart_or_a_failed_scrape(tmp_path):
    """A renewal of the exporter's certificate (forced: internal_ca_renew_days above the remaining lifetime) is served
    by the same process at the next connection, scrapes sent all along see no failure, and the expiry metric shows
    the new certificate at once (the renewal's handler runs the export). Once: the first host serves, the other asks."""
    target, client = get_host(HOSTS[0]), get_host(HOSTS[1])
    url = 'https://%s:%d/metrics' % (internal_ip(target), PORT)
    before = served_certificate(client, internal_ip(target), PORT)
    pid = target.check_output('systemctl show -p MainPID --value %s' % SERVICE)
    start_load_loop(client, [url], CA, USER + ':' + PASSWORD)
    try:
        run_forced_renewal(os.environ['MOLECULE_INVENTORY_FILE'], target.backend.host, ['node_exporter'], tmp_path)
    finally:
        ok, failed = stop_load_loop(client)
    assert failed == 0 and ok >= 10, (ok, failed)
    after = served_certificate(client, internal_ip(target), PORT)
    assert_renewed('node-exporter', before, after)
    assert target.check_output('systemctl show -p MainPID --value %s' % SERVICE) == pid
    end = after.splitlines()[1].split('=', 1)[1]
    expected = datetime.datetime.strptime(end, '%b %d %H:%M:%S %Y %Z').replace(tzinfo=datetime.timezone.utc)
    metrics = target.file('/var/lib/prometheus/node-exporter/bulwark_certificates.prom').content_string
    assert 'path="%s/tls.crt"' % CONFIG_DIR in metrics and ' %d\n' % expected.timestamp() in metrics, metrics
