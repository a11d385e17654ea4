# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sample app's metrics (roles/app/files/bulwark_sample_app.py): the basic-auth check against the SCRAM verifiers
the role writes, and the exposition Prometheus reads (the HTTP alerts' inputs)."""

from __future__ import absolute_import, division, print_function

import importlib.util
import pathlib
import re

from ansible_collections.bulwark.stack.plugins.filter.scram_sha256 import scram_sha256

ROOT = pathlib.Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location('bulwark_sample_app', ROOT / 'roles' / 'app' / 'files' / 'bulwark_sample_app.py')
app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(app)


def test_password_matches_the_verifier_the_role_writes():
    verifier = scram_sha256('Metrics-Pass-4711', 'app1:prometheus')
    assert app.scram_matches(verifier, 'Metrics-Pass-4711')
    assert not app.scram_matches(verifier, 'Metrics-Pass-4712')
    assert not app.scram_matches(verifier, '')
    assert not app.scram_matches('md5abc', 'Metrics-Pass-4711')
    assert not app.scram_matches(verifier.replace('SCRAM-SHA-256', 'SCRAM-SHA-1'), 'Metrics-Pass-4711')


def test_counts_by_status_and_route_with_a_cumulative_histogram():
    metrics = app.Metrics()
    metrics.observe('/', 200, 0.003)
    metrics.observe('/status/503', 503, 0.02)
    metrics.observe('/slow', 200, 1.5)
    metrics.observe('/wp-login.php', 404, 0.001)  # unknown routes share one series
    metrics.observe('/../../etc/passwd', 404, 0.001)
    text = metrics.render()
    assert 'bulwark_app_http_requests_total{code="503",path="/status"} 1\n' in text
    assert 'bulwark_app_http_requests_total{code="404",path="other"} 2\n' in text
    buckets = dict(re.findall(r'bulwark_app_http_request_duration_seconds_bucket\{path="/slow",le="([^"]+)"\} (\d+)', text))
    assert buckets['1.0'] == '0' and buckets['2.5'] == '1' and buckets['+Inf'] == '1'
    counts = [int(n) for n in re.findall(r'_bucket\{path="/",le="[^"]+"\} (\d+)', text)]
    assert counts == sorted(counts) and counts[0] == 1  # cumulative from the first bucket
    assert 'bulwark_app_http_request_duration_seconds_count{path="other"} 2\n' in text
