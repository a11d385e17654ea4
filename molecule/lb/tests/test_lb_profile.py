"""What both load balancers must do alike, each checked from the client container: the Mozilla TLS profile (nginx and
HAProxy render it from one data source) handshake by handshake (old protocol versions refused, the profile's TLS 1.2
ciphers and TLS 1.3 suites accepted, other ciphers refused, key-exchange groups as the profile says), the 308
redirect from HTTP, HTTP/2 and the security headers."""

import pytest

from testlib import TLS12_ALLOWED, TLS12_REFUSED, TLS13_ALLOWED, curl, get_host, handshake, run_handshakes, trust_lab_ca

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
    trust_lab_ca(client, host.backend.host)
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
