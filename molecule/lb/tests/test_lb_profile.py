"""What both load balancers must do alike, each checked from the client container: the Mozilla TLS profile (nginx and
HAProxy render it from one data source) handshake by handshake (old protocol versions refused, the profile's TLS 1.2
ciphers and TLS 1.3 suites accepted, other ciphers refused, key-exchange groups as the profile says), the 308
redirect from HTTP, HTTP/2 and the security headers; the public certificate over ACME (pebble), its HTTP-01 answer
and a forced renewal under load."""

import os
import pathlib
import sys

import pytest

from testlib import (LAB_CA, TLS12_ALLOWED, TLS12_REFUSED, TLS13_ALLOWED, ansible_playbook, assert_renewed, curl, get_host,
                     handshake, run_handshakes, served_certificate, start_load_loop, stop_load_loop, trust_lb_ca)

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(':')[0] or str(ROOT / '.cache' / 'collections'))
from ansible_collections.bulwark.stack.plugins.module_utils.jwk import jwk_thumbprint  # noqa: E402  pylint: disable=wrong-import-position

LBS, CLIENT = ('nginx-lb', 'haproxy-lb'), 'lb-app1'
testinfra_hosts = ['ansible://' + lb for lb in LBS]
RESULTS = {}
# nginx names itself without a version (server_tokens off); HAProxy drops the app's Server header.
SERVER_HEADER = {'nginx-lb': 'server: nginx\r\n', 'haproxy-lb': None}


@pytest.fixture(name='handshakes')
def handshakes(host):
    """Every handshake against this LB, run once per LB on the client."""
    name = host.backend.host
    if name not in RESULTS:
        RESULTS[name] = run_handshakes(get_host(CLIENT), name)
    return RESULTS[name]


@pytest.mark.parametrize('version', ['-tls1', '-tls1_1'])
def test_old_tls_versions_are_refused(handshakes, version):
    rc, out = handshake(handshakes, 'old:' + version)
    assert rc != 0, out
    assert 'Cipher is (NONE)' in out or 'alert protocol version' in out or 'no protocols available' in out, out


@pytest.mark.parametrize('cipher', TLS12_ALLOWED)
def test_tls12_profile_ciphers_succeed(handshakes, cipher):
    rc, out = handshake(handshakes, 'tls12:' + cipher)
    assert rc == 0 and 'Cipher is %s' % cipher in out and 'Verify return code: 0 (ok)' in out, out


@pytest.mark.parametrize('cipher', TLS12_REFUSED)
def test_tls12_other_ciphers_are_refused(handshakes, cipher):
    rc, out = handshake(handshakes, 'tls12-refused:' + cipher)
    assert rc != 0, out


@pytest.mark.parametrize('suite', TLS13_ALLOWED)
def test_tls13_profile_suites_succeed(handshakes, suite):
    rc, out = handshake(handshakes, 'tls13:' + suite)
    assert rc == 0 and 'TLSv1.3' in out and 'Cipher is %s' % suite in out, out


def test_tls13_groups_follow_the_profile(handshakes):
    assert handshake(handshakes, 'group:X25519')[0] == 0
    rc, out = handshake(handshakes, 'group:ffdhe2048')
    assert rc != 0, out


@pytest.fixture(name='lb_client')
def lb_client(host):
    """The client, trusting only this LB's lab CA."""
    client = get_host(CLIENT)
    trust_lb_ca(client)
    return client


def test_http_redirects_with_308(lb_client, host):
    lb = host.backend.host
    out = lb_client.check_output('curl -s -o /dev/null -w "%%{http_code} %%{redirect_url}" "http://%s/some/path?q=1"' % lb)
    assert out == '308 https://%s/some/path?q=1' % lb


def test_http2_and_security_headers(lb_client, host):
    lb = host.backend.host
    res = curl(lb_client, '--http2', '-D', '-', '-o', '/dev/null', '-w', '"%{http_version}"', 'https://%s/' % lb)
    headers = res.stdout.lower()
    assert res.stdout.endswith('2'), res.stdout
    assert 'strict-transport-security: max-age=63072000' in headers
    assert 'x-frame-options: deny' in headers
    assert 'x-content-type-options: nosniff' in headers
    assert 'referrer-policy: strict-origin-when-cross-origin' in headers
    assert "content-security-policy: default-src 'self'" in headers
    if SERVER_HEADER[lb]:
        assert SERVER_HEADER[lb] in headers
    else:
        assert '\nserver:' not in headers


# --- the public certificate over ACME (bulwark.stack.lb_certificate, pebble on lb-app2) -----------------------------

ACCOUNT_KEY = {'nginx-lb': '/etc/nginx/tls/acme-account.key', 'haproxy-lb': '/etc/haproxy/tls/acme-account.key'}
SERVED = ('openssl s_client -connect {0}:443 -servername {0} -CAfile %s -verify_return_error </dev/null 2>/dev/null '
          '| openssl x509 -noout -serial -issuer -ext subjectAltName' % LAB_CA)


def test_public_certificate_comes_from_the_acme_ca(lb_client, host):
    """Ordered over ACME at converge: issued by pebble's intermediate for the LB's name, and the chain the LB serves
    verifies against pebble's root (-verify_return_error); the account key stays on the LB, root-only."""
    lb = host.backend.host
    out = lb_client.check_output(SERVED.format(lb))
    assert 'Pebble Intermediate CA' in out and 'DNS:%s' % lb in out, out
    key = host.file(ACCOUNT_KEY[lb])
    assert (key.user, key.group, key.mode) == ('root', 'root', 0o600)


def test_acme_challenge_is_answered_with_the_account_key_thumbprint(lb_client, host):
    """HTTP-01 on the plain-HTTP port: any token of the account is answered "<token>.<thumbprint of the account key>"
    (RFC 8555 8.3), computed here from the key's public half; anything else under the path is redirected."""
    lb = host.backend.host
    public = host.check_output('openssl pkey -in %s -pubout' % ACCOUNT_KEY[lb])
    url = 'http://%s/.well-known/acme-challenge/' % lb
    out = lb_client.check_output('curl -sS -w "|%%{http_code}" %sTok_en-42' % url)
    assert out == 'Tok_en-42.%s|200' % jwk_thumbprint(public + '\n'), out
    out = lb_client.check_output('curl -sS -o /dev/null -w "%%{http_code}" "%sa.b%%0a"' % url)
    assert out == '308'


def test_forced_acme_renewal_is_served_with_0_failed_requests():
    """A renewal (forced: lb_certificate_acme_renew_days above the remaining lifetime; internal_ca_renew_days for
    HAProxy's stats certificate) under requests through both LBs: new certificates from pebble, each LB reloaded
    without a failed request."""
    client = get_host(CLIENT)
    trust_lb_ca(client)
    before = {lb: client.check_output(SERVED.format(lb)) for lb in LBS}
    stats_before = served_certificate(client, 'haproxy-lb', 8404)
    start_load_loop(client, ['https://%s/health' % lb for lb in LBS], LAB_CA)
    try:
        result = ansible_playbook(os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml'),
                                  '-e', 'lb_certificate_acme_renew_days=3650', '-e', 'internal_ca_renew_days=3000',
                                  '-e', 'internal_ca_cert_lifetime_days=3650')
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    finally:
        ok, failed = stop_load_loop(client)
    assert failed == 0 and ok >= 20, (ok, failed)
    for lb in LBS:
        after = client.check_output(SERVED.format(lb))
        assert after.splitlines()[0] != before[lb].splitlines()[0] and 'Pebble Intermediate CA' in after, (before[lb], after)
    assert_renewed('HAProxy stats', stats_before, served_certificate(client, 'haproxy-lb', 8404))
