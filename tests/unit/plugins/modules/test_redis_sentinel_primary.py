# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's socket side against a fake Sentinel on loopback."""

from __future__ import annotations

import socketserver
import threading

import pytest

from ansible_collections.bulwark.stack.plugins.module_utils.redis_topology import encode_command, parse_reply, IncompleteReply
from ansible_collections.bulwark.stack.plugins.modules.redis_sentinel_primary import AuthRefused, ask, failure, role, split_address

PASSWORD = 'sentinel-secret'


def bulk_array(items):
    return b'*%d\r\n' % len(items) + b''.join(b'$%d\r\n%s\r\n' % (len(i), i.encode()) for i in items)


class FakeSentinel(socketserver.BaseRequestHandler):
    def handle(self):
        buf, authed = b'', False
        while True:
            try:
                cmd, pos = parse_reply(buf)
            except IncompleteReply:
                data = self.request.recv(4096)
                if not data:
                    return
                buf += data
                continue
            buf = buf[pos:]
            name = ' '.join(cmd[:2]).upper()
            if cmd[0].upper() == 'AUTH':
                authed = cmd[-1] == PASSWORD
                self.request.sendall(b'+OK\r\n' if authed else b'-WRONGPASS invalid username-password pair\r\n')
            elif not authed:
                self.request.sendall(b'-NOAUTH Authentication required.\r\n')
            elif name == 'SENTINEL MASTERS':
                self.request.sendall(b'*1\r\n' + bulk_array(['name', 'bulwark', 'ip', '10.0.0.3']))
            elif name == 'SENTINEL GET-MASTER-ADDR-BY-NAME':
                self.request.sendall(bulk_array(['10.0.0.3', '6379']) if cmd[2] == 'bulwark' else b'*-1\r\n')
            elif name == 'SENTINEL MASTER':
                self.request.sendall(bulk_array(['name', 'bulwark', 'flags', 'master', 'failover-state', 'none']))
            elif cmd[0].upper() == 'ROLE':  # a replica of 10.0.0.3 (RESP: ["slave", host, port, state, offset])
                self.request.sendall(b'*5\r\n$5\r\nslave\r\n$8\r\n10.0.0.3\r\n:6379\r\n$9\r\nconnected\r\n:42\r\n')
            else:
                self.request.sendall(b'-ERR unknown command\r\n')


@pytest.fixture(scope='module')
def sentinel():
    server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), FakeSentinel)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address
    server.shutdown()
    server.server_close()


def params(**kwargs):
    base = dict(master_name='bulwark', username='', password=PASSWORD, redis_username='', redis_password=PASSWORD,
                timeout=2.0)
    base.update(kwargs)
    return base


def test_ask_returns_primary_flags_and_names(sentinel):
    primary, info, names = ask(sentinel[0], sentinel[1], params())
    assert (primary, info['flags'], names) == (['10.0.0.3', 6379], 'master', ['bulwark'])


def test_ask_unknown_name(sentinel):
    assert ask(sentinel[0], sentinel[1], params(master_name='other')) == (None, {}, ['bulwark'])


def test_ask_wrong_password_is_an_auth_failure(sentinel):
    with pytest.raises(AuthRefused) as exc:
        ask(sentinel[0], sentinel[1], params(password='wrong'))
    assert failure(exc.value) == ('auth', 'AUTH refused: WRONGPASS invalid username-password pair')


def test_ask_without_password_is_refused(sentinel):
    with pytest.raises(AuthRefused, match='NOAUTH'):
        ask(sentinel[0], sentinel[1], params(password=''))


def test_ask_and_role_fall_back_to_the_passwords_sentinel_conf_holds(sentinel):
    """While a run replaces them, the inventory's passwords are refused; the ones in effect (read from sentinel.conf)
    are tried next. The inventory's come first, and an empty one sends no AUTH at all."""
    assert ask(sentinel[0], sentinel[1], params(password='new-not-yet', held_password=PASSWORD))[0] == ['10.0.0.3', 6379]
    assert role(sentinel[0], sentinel[1], params(redis_password='new-not-yet', held_auth_pass=PASSWORD))[0] == 'replica'
    with pytest.raises(AuthRefused, match='WRONGPASS'):
        ask(sentinel[0], sentinel[1], params(password='new-not-yet', held_password='old-wrong-too'))
    with pytest.raises(AuthRefused, match='NOAUTH'):
        ask(sentinel[0], sentinel[1], params(password='', held_password=PASSWORD))


def test_role_of_a_replica(sentinel):
    assert role(sentinel[0], sentinel[1], params()) == ('replica', ['10.0.0.3', 6379])
    with pytest.raises(AuthRefused):
        role(sentinel[0], sentinel[1], params(redis_password='wrong'))


def test_nothing_listening_is_refused_not_an_error():
    server = socketserver.TCPServer(('127.0.0.1', 0), socketserver.BaseRequestHandler)
    port = server.server_address[1]
    server.server_close()  # the port is free now: connecting is refused
    with pytest.raises(OSError) as exc:
        role('127.0.0.1', port, params())
    assert failure(exc.value)[0] == 'refused'
    assert failure(TimeoutError('timed out'))[0] == 'error'


@pytest.mark.parametrize('entry, expected', [
    ('10.0.0.2', ('10.0.0.2', 26379)),
    ('10.0.0.2:26380', ('10.0.0.2', 26380)),
    ('[fd00::2]:26381', ('fd00::2', 26381)),
    ('[fd00::2]', ('fd00::2', 26379)),
    ('redis1', ('redis1', 26379)),
])
def test_split_address(entry, expected):
    assert split_address(entry, 26379) == expected


def test_encode_round_trip():
    assert parse_reply(encode_command('SENTINEL', 'MASTERS'))[0] == ['SENTINEL', 'MASTERS']


def _ca_and_server(tmp, name):
    """A CA (written to tmp/<name>-ca.crt) and a server certificate for IP 127.0.0.1 it signed (PEM cert, key)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject, issuer, key, signer, ca, extra):
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        for ext in extra:
            builder = builder.add_extension(ext, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    # Key identifiers and the CA's key usage as the internal_ca role writes them: Python 3.13 (Debian 13) verifies
    # with VERIFY_X509_STRICT, which refuses a chain without them.
    ca = cert(name + ' CA', name + ' CA', ca_key, ca_key, True,
              [x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
               x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False)])
    server = cert('127.0.0.1', name + ' CA', key, ca_key, False,
                  [x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                   x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())])
    (tmp / (name + '-ca.crt')).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp / 'server.pem').write_bytes(server.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(tmp / (name + '-ca.crt')), str(tmp / 'server.pem')


@pytest.fixture(scope='module')
def tls_sentinel(tmp_path_factory):
    """The fake Sentinel behind TLS, with a certificate for 127.0.0.1 from a CA of its own; also another CA's file."""
    import ssl
    tmp = tmp_path_factory.mktemp('tls')
    ca_file, pem = _ca_and_server(tmp, 'internal')
    other_ca, unused = _ca_and_server(tmp_path_factory.mktemp('other'), 'other')
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)

    class TlsServer(socketserver.ThreadingTCPServer):
        daemon_threads = True

        def get_request(self):
            sock, address = super().get_request()
            return context.wrap_socket(sock, server_side=True), address

    server = TlsServer(('127.0.0.1', 0), FakeSentinel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address, ca_file, other_ca
    server.shutdown()
    server.server_close()


def test_tls_verified_against_the_ca_answers(tls_sentinel):
    (host, port), ca_file, unused = tls_sentinel
    assert ask(host, port, params(tls_ca_file=ca_file))[0] == ['10.0.0.3', 6379]
    assert role(host, port, params(tls_ca_file=ca_file))[0] == 'replica'


def test_tls_peer_of_another_ca_or_plaintext_is_an_error_never_trusted(tls_sentinel, sentinel):
    (host, port), unused, other_ca = tls_sentinel
    with pytest.raises(OSError) as exc:
        ask(host, port, params(tls_ca_file=other_ca))
    assert failure(exc.value)[0] == 'error' and 'CERTIFICATE_VERIFY_FAILED' in failure(exc.value)[1]
    with pytest.raises(OSError) as exc:  # a plaintext server where TLS is expected
        ask(sentinel[0], sentinel[1], params(tls_ca_file=other_ca))
    assert failure(exc.value)[0] == 'error'


def test_tls_ca_file_is_needed_only_once_something_listens(tmp_path):
    server = socketserver.TCPServer(('127.0.0.1', 0), socketserver.BaseRequestHandler)
    port = server.server_address[1]
    server.server_close()
    with pytest.raises(OSError) as exc:  # a first run: no CA file on the host yet, nothing listens
        role('127.0.0.1', port, params(tls_ca_file=str(tmp_path / 'missing-ca.crt')))
    assert failure(exc.value)[0] == 'refused'
