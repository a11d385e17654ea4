#!/usr/bin/env python3
"""Render each role's README options table from its meta/argument_specs.yml (the contract is the one source).

    python scripts/role_docs.py          # rewrite the tables in roles/*/README.md
    python scripts/role_docs.py --check  # exit 1 when a README is stale (tests/unit/test_role_contracts.py uses it)

The table sits between the markers <!-- BEGIN OPTIONS --> and <!-- END OPTIONS --> in the role README.
"""

import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = '<!-- BEGIN OPTIONS -->', '<!-- END OPTIONS -->'


def _plain(text):
    """Ansible doc markup (C(x), V(x), O(x), I(x)) to Markdown."""
    text = re.sub(r'[CVO]\(([^)]*)\)', r'`\1`', text)
    return re.sub(r'I\(([^)]*)\)', r'*\1*', text).replace('|', '\\|')


def render(role_dir):
    spec = yaml.safe_load((role_dir / 'meta' / 'argument_specs.yml').read_text())['argument_specs']['main']
    rows = ['| Variable | Type | Default | Description |', '| --- | --- | --- | --- |']
    for name, opt in spec.get('options', {}).items():
        kind = opt.get('type', 'str')
        if kind == 'list' and 'elements' in opt:
            kind = 'list of %s' % opt['elements']
        if 'default' in opt:
            default = '`%s`' % json.dumps(opt['default'])
        else:
            default = 'computed (see description)'
        if opt.get('no_log'):
            default += ' (secret)'
        desc = opt.get('description', '')
        desc = ' '.join(desc) if isinstance(desc, list) else desc
        rows.append('| `%s` | %s | %s | %s |' % (name, kind, default.replace('|', '\\|'), _plain(desc)))
    return '\n'.join([BEGIN, ''] + rows + ['', END])


def main(check):
    stale = []
    for readme in sorted(ROOT.glob('roles/*/README.md')):
        text = readme.read_text()
        if BEGIN not in text or END not in text:
            stale.append('%s: no %s ... %s markers' % (readme.relative_to(ROOT), BEGIN, END))
            continue
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + render(readme.parent) + tail
        if new != text:
            if check:
                stale.append('%s: options table is stale; run python scripts/role_docs.py' % readme.relative_to(ROOT))
            else:
                readme.write_text(new)
    for line in stale:
        print(line)
    return 1 if stale else 0


if __name__ == '__main__':
    sys.exit(main('--check' in sys.argv[1:]))
