#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bulwark.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: audit
short_description: Read-only security audit of a running host, with stable finding IDs
version_added: 0.1.0
description:
  - Inspects the host without changing anything (reads files, C(ss), C(systemctl show), C(ufw status), C(sshd -T),
    C(modprobe -c)) and reports findings, each with a stable ID, a severity (C(error), C(warning), C(info)), a detail
    and a hint.
  - "IDs: C(BW-NEX-001) node-exporter reachable beyond the internal address; C(BW-NEX-002) node-exporter without
    authentication; C(BW-NEX-003) node-exporter without TLS; C(BW-FILE-001) secret file readable by every user;
    C(BW-PROC-001) service running as root that should not; C(BW-LOG-001) logrotate rule missing for a service log;
    C(BW-FW-001) ufw inactive; C(BW-FW-002) ufw default incoming policy not deny; C(BW-SSH-001) sshd allows
    password or root password logins; C(BW-TLS-001) TLS below 1.2 enabled; C(BW-TLS-002) HSTS missing;
    C(BW-TLS-003) nginx server_tokens on; C(BW-RDS-001) Redis without authentication; C(BW-RDS-002) Redis bound
    publicly or protected-mode off; C(BW-RDS-003) Redis or Sentinel takes plaintext connections; C(BW-PG-001)
    pg_hba trust/md5/password; C(BW-PGB-001) PgBouncer plaintext userlist or weak auth_type; C(BW-MON-001)
    Prometheus or Alertmanager reachable beyond the internal address; C(BW-MON-002) Prometheus or Alertmanager
    without authentication; C(BW-MON-003) a metrics listener (app, load balancer, exporter) reachable beyond the
    internal address; C(BW-SSH-002) sshd allows forwarding; C(BW-SSH-003) sshd permits root login (by key or
    forced command); C(BW-APT-001) no Debian security suite in the APT sources; C(BW-MOD-001) kernel modules of
    unused filesystems and protocols can be loaded; C(BW-AUTH-001) su is not restricted to a group; C(BW-AUTH-002)
    default umask weaker than 027; C(BW-AUDIT-001) auditd is not running (not checked in containers); C(BW-INT-001)
    no file-integrity baseline (AIDE database)."
  - Checks for services that are not installed report nothing. The checks live in
    C(plugins/module_utils/audit.py).
options:
  internal_address:
    description: The host's internal address; node-exporter listening on any other address is a finding.
    type: str
  node_exporter_port:
    description: node-exporter's port.
    type: int
    default: 9100
  monitoring_ports:
    description: The ports of Prometheus and Alertmanager; either listening on another address than the internal one is a finding.
    type: list
    elements: int
    default: [9090, 9093]
  metrics_ports:
    description:
      - The ports of the app's, the load balancers' and the service exporters' metrics listeners; one listening on
        another address than the internal one is a finding.
    type: list
    elements: int
    default: [9113, 8001, 9187, 9121, 9127]
  expect_firewall:
    description: Report C(BW-FW-001) also when ufw is not installed at all.
    type: bool
    default: false
  protected_files:
    description: More paths or glob patterns of files that hold secrets (checked by C(BW-FILE-001)).
    type: list
    elements: str
    default: []
  disabled_modules:
    description:
      - Kernel modules (filesystems and protocols the host does not use) that C(modprobe -c) must show disabled with
        C(install <module> /bin/false) (or C(/bin/true)); each one that is not is reported by C(BW-MOD-001). C(-) and
        C(_) in the names are the same.
    type: list
    elements: str
    default: [cramfs, freevxfs, hfs, hfsplus, jffs2, udf, usb-storage, dccp, sctp, rds, tipc]
  skip:
    description: Finding IDs not to check on this host (documented exceptions).
    type: list
    elements: str
    default: []
  fail_on:
    description:
      - Fail the task when a finding of this severity or worse is found (CI mode). C(never) only reports.
    type: str
    choices: [never, error, warning, info]
    default: never
attributes:
  check_mode:
    support: full
    description: Never changes the host; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: debian
    description: Debian 12 and 13 with systemd.
author: bulwark.stack maintainers (@bulwark-stack)
"""

EXAMPLES = r"""
- name: Audit the host
  bulwark.stack.audit:
    internal_address: "{{ hostvars[inventory_hostname] | bulwark.stack.internal_address(bulwark_internal_network | default('')) }}"
    fail_on: error
  register: audit

- name: Show the findings
  ansible.builtin.debug:
    msg: "{{ audit.report }}"
"""

RETURN = r"""
findings:
  description: The findings, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable finding ID.
      type: str
      sample: BW-NEX-001
    severity:
      description: C(error), C(warning) or C(info).
      type: str
      sample: error
    title:
      description: What the ID means.
      type: str
      sample: node-exporter reachable beyond the internal address
    detail:
      description: What was found on this host.
      type: str
      sample: "listening on 0.0.0.0:9100"
    hint:
      description: How to fix it.
      type: str
summary:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {"error": 1, "warning": 0, "info": 0}
ids:
  description: The sorted, unique IDs found.
  returned: always
  type: list
  elements: str
  sample: [BW-NEX-001]
report:
  description: Human-readable report, one line per finding.
  returned: always
  type: list
  elements: str
"""

import glob
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bulwark.stack.plugins.module_utils import audit as checks


class HostProbe:
    """Read-only access to the host for the checks."""

    def __init__(self, module):
        self.module = module
        self._cache = {}

    def read(self, path):
        try:
            with open(path, errors='replace') as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def stat(self, path):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return {'mode': st.st_mode & 0o7777, 'uid': st.st_uid, 'isreg': os.path.isfile(path)}

    def glob(self, pattern):
        return sorted(glob.glob(pattern, recursive=True))

    def run(self, argv):
        key = tuple(argv)
        if key not in self._cache:
            path = self.module.get_bin_path(argv[0], opt_dirs=['/usr/sbin', '/sbin'])
            if not path:
                self._cache[key] = None
            else:
                rc, out, err = self.module.run_command([path] + list(argv[1:]), environ_update={'LC_ALL': 'C'})
                self._cache[key] = (rc, out, err)
        return self._cache[key]

    def listeners(self):
        res = self.run(['ss', '-Htln'])
        out = []
        for line in (res[1] if res else '').splitlines():
            fields = line.split()
            if len(fields) < 4:
                continue
            address, dummy, port = fields[3].rpartition(':')
            address = address.strip('[]').split('%')[0]
            if port.isdigit():
                out.append((address, int(port), ''))
        return out

    def units(self, pattern):
        res = self.run(['systemctl', 'list-units', '--type=service', '--state=running', '--no-legend', '--plain', pattern + '.service'])
        return [line.split()[0][:-len('.service')] for line in (res[1] if res else '').splitlines() if line.strip()]

    def service_user(self, unit):
        res = self.run(['systemctl', 'show', '-p', 'MainPID', '--value', unit])
        pid = (res[1].strip() if res and res[0] == 0 else '') or '0'
        if not pid.isdigit() or pid == '0':
            return None
        try:
            uid = os.stat('/proc/%s' % pid).st_uid
            return pwd.getpwuid(uid).pw_name
        except (OSError, KeyError):
            return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            internal_address=dict(type='str'),
            node_exporter_port=dict(type='int', default=9100),
            monitoring_ports=dict(type='list', elements='int', default=[9090, 9093]),
            metrics_ports=dict(type='list', elements='int', default=[9113, 8001, 9187, 9121, 9127]),
            expect_firewall=dict(type='bool', default=False),
            protected_files=dict(type='list', elements='str', default=[]),
            disabled_modules=dict(type='list', elements='str', default=list(checks.DISABLED_MODULES)),
            skip=dict(type='list', elements='str', default=[]),
            fail_on=dict(type='str', default='never', choices=['never', 'error', 'warning', 'info']),
        ),
        supports_check_mode=True,
    )
    findings = checks.audit(HostProbe(module), module.params)
    host = os.uname()[1]
    result = dict(
        changed=False,
        findings=[f.as_dict() for f in findings],
        summary=checks.summary(findings),
        ids=sorted(set(f.id for f in findings)),
        report=checks.report(host, findings),
    )
    if checks.should_fail(findings, module.params['fail_on']):
        module.fail_json(msg='audit: %d finding(s) at or above %s: %s' % (
            len(findings), module.params['fail_on'], ', '.join(result['ids'])), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
