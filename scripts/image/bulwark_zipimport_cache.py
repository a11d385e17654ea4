"""Test images only (scripts/lib.sh installs it with a .pth file): keep the bytecode that zipimport compiles.

Each Ansible module run brings its module_utils in a fresh AnsiballZ zip without bytecode, so Python compiles
about a megabyte of source before the module does anything (about a third of a module run's CPU with ansible-core
2.19). This keeps the compiled code of each source text, keyed by its path inside the zip and a hash of the source,
so later runs load it instead of compiling it again. The code that runs is the same. Anything that goes wrong here
falls back to compiling, as without this file.
"""
import marshal
import os
import zipimport
from _blake2 import blake2b  # builtin; hashlib would load OpenSSL into every Python process

CACHE = '/var/cache/bulwark-zipimport'
_compile_source = zipimport._compile_source  # pylint: disable=protected-access


def _cached_compile_source(pathname, source):
    inner = pathname.rsplit('.zip' + os.sep, 1)[-1]
    key = blake2b(inner.encode('utf-8', 'surrogateescape') + b'\0' + source, digest_size=20).hexdigest()
    path = os.path.join(CACHE, key)
    try:
        with open(path, 'rb') as cached:
            return marshal.load(cached)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    # Compiled under the path inside the zip: the zip itself is a new temporary file on every run. Tracebacks name
    # e.g. <ansiballz>/ansible/module_utils/basic.py; the module's __file__ is still the real path.
    code = _compile_source('<ansiballz>' + os.sep + inner, source)
    try:
        os.makedirs(CACHE, mode=0o700, exist_ok=True)
        tmp = '%s.%d' % (path, os.getpid())
        with open(tmp, 'wb') as out:
            marshal.dump(code, out)
        os.replace(tmp, path)
    except OSError:
        pass
    return code


# BULWARK_ZIPIMPORT_CACHE=0 turns it off (benchmarks/zipimport_cache.py compares both).
if hasattr(zipimport, '_compile_source') and os.environ.get('BULWARK_ZIPIMPORT_CACHE', '1') != '0':
    zipimport._compile_source = _cached_compile_source  # pylint: disable=protected-access
