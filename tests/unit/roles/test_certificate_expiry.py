# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/node_exporter/files/bulwark-certificate-expiry: the metrics it writes, and that its default directories
cover every certificate the collection's roles install."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import importlib.machinery
import importlib.util
import os
import pathlib
import re

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCRIPT = ROOT / 'roles' / 'node_exporter' / 'files' / 'bulwark-certificate-expiry'
_loader = importlib.machinery.SourceFileLoader('certificate_expiry', str(SCRIPT))
_spec = importlib.util.spec_from_loader('certificate_expiry', _loader)
expiry = importlib.util.module_from_spec(_spec)
_loader.exec_module(expiry)

END = datetime.datetime(2031, 5, 17, 12, 0, 0, tzinfo=datetime.timezone.utc)


def certificate(common_name, issuer='bulwark test CA', end=END):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)]))
            .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(end - datetime.timedelta(days=90)).not_valid_after(end)
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def test_every_certificate_file_gives_its_leaf_expiry_and_keys_are_ignored(tmp_path):
    leaf, key = certificate('www.example.org', issuer='Pebble Intermediate CA 1a2b')
    chain, unused_key = certificate('Pebble Intermediate CA 1a2b', end=END + datetime.timedelta(days=3000))
    (tmp_path / 'fullchain.pem').write_bytes(leaf + chain)
    (tmp_path / 'server.key').write_bytes(key)
    (tmp_path / 'site.pem').write_bytes(b'comment before the block\n' + leaf)
    (tmp_path / 'notes.txt').write_text('no certificate here')
    found, errors = expiry.scan([str(tmp_path), str(tmp_path / 'missing')])
    assert errors == 0
    assert [(os.path.basename(p), s, i, e) for p, s, i, e in found] == [
        ('fullchain.pem', 'CN=www.example.org', 'CN=Pebble Intermediate CA 1a2b', END.timestamp()),
        ('site.pem', 'CN=www.example.org', 'CN=Pebble Intermediate CA 1a2b', END.timestamp())]


def test_a_broken_certificate_file_is_counted_not_skipped(tmp_path):
    (tmp_path / 'broken.crt').write_text('-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
    assert expiry.scan([str(tmp_path)]) == ([], 1)


def test_metrics_text_escapes_labels_and_is_written_atomically(tmp_path):
    text = expiry.render([('/etc/x/a"b.pem', 'CN=a\\b', 'CN=line\nbreak', 1947240000.0)], 2, 1700000000.5)
    assert 'bulwark_certificate_expiry_timestamp_seconds{path="/etc/x/a\\"b.pem",subject="CN=a\\\\b",' \
           'issuer="CN=line\\nbreak"} 1947240000\n' in text
    assert 'bulwark_certificate_read_errors 2\n' in text and 'bulwark_certificate_scan_timestamp_seconds 1700000000\n' in text
    output = tmp_path / 'bulwark_certificates.prom'
    expiry.write_atomically(str(output), text)
    assert output.read_text() == text and oct(output.stat().st_mode & 0o777) == '0o644'
    assert [p.name for p in tmp_path.iterdir()] == ['bulwark_certificates.prom']  # no temporary file left


def test_default_directories_cover_every_certificate_the_roles_install():
    """Each role's certificate path (vars/main.yml: *_cert_path, *_cert_file, postgresql's TLS directory) lies in a
    directory of node_exporter_certificate_dirs, so a new certificate cannot go unwatched by accident."""
    defaults = yaml.safe_load((ROOT / 'roles' / 'node_exporter' / 'defaults' / 'main.yml').read_text())
    watched = set(defaults['node_exporter_certificate_dirs'])
    seen = {}
    for path in sorted((ROOT / 'roles').glob('*/vars/main.yml')):
        variables = yaml.safe_load(path.read_text()) or {}

        def resolve(value, variables=variables):
            return re.sub(r'\{\{ *(\w+) *\}\}', lambda m: str(variables.get(m.group(1), m.group(0))), str(value))
        for name, value in variables.items():
            if re.search(r'_(cert_path|cert_file|ca_file|tls_dir)$', name) and '{{ lb_certificate' not in str(value):
                seen[name] = os.path.dirname(resolve(value)) if not name.endswith('_tls_dir') else resolve(value)
    assert len(seen) >= 8, seen
    assert {name: directory for name, directory in seen.items() if directory not in watched} == {}
