"""The test images' zipimport bytecode cache: same code, compiled once, and a plain compile when the cache fails."""

import importlib
import sys
import zipfile
import zipimport

import pytest

import bulwark_zipimport_cache as cache


@pytest.fixture(name='zipped')
def zipped_fixture(tmp_path, monkeypatch):
    """A fresh zip on sys.path (like an AnsiballZ payload) holding one module; returns a function that imports it."""
    monkeypatch.setattr(cache, 'CACHE', str(tmp_path / 'cache'))
    compiled = []

    def counting_compile(pathname, source):
        compiled.append(pathname)
        return compile(source, pathname, 'exec', dont_inherit=True)

    monkeypatch.setattr(cache, '_compile_source', counting_compile)
    monkeypatch.setattr(zipimport, '_compile_source', cache._cached_compile_source)  # pylint: disable=protected-access

    def load(run, source='ANSWER = 42\n'):
        payload = tmp_path / ('run%d' % run) / 'payload.zip'
        payload.parent.mkdir()
        with zipfile.ZipFile(payload, 'w') as archive:
            archive.writestr('zc_probe.py', source)
        monkeypatch.syspath_prepend(str(payload))
        sys.modules.pop('zc_probe', None)
        importlib.invalidate_caches()
        module = importlib.import_module('zc_probe')
        sys.path.remove(str(payload))
        sys.modules.pop('zc_probe', None)
        return module

    load.compiled = compiled
    return load


def test_second_run_loads_the_cached_code(zipped):
    assert zipped(1).ANSWER == 42
    assert zipped(2).ANSWER == 42
    assert len(zipped.compiled) == 1, zipped.compiled


def test_changed_source_is_compiled_again(zipped):
    assert zipped(1).ANSWER == 42
    assert zipped(2, 'ANSWER = 43\n').ANSWER == 43
    assert len(zipped.compiled) == 2


def test_file_name_is_the_path_inside_the_zip(zipped):
    zipped(1)
    assert zipped.compiled == ['<ansiballz>/zc_probe.py']


def test_unwritable_cache_still_compiles(zipped, monkeypatch, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    monkeypatch.setattr(cache, 'CACHE', str(blocker / 'cache'))  # a directory under a regular file: every write fails
    assert zipped(1).ANSWER == 42
    first = len(zipped.compiled)
    assert zipped(2).ANSWER == 42
    assert first >= 1 and len(zipped.compiled) > first  # nothing cached: compiled again
