"""Behaviour of bulwark.stack.redis + bulwark.stack.redis_sentinel on three hosts: replication, ACLs, Sentinel, and
a real failover followed by a full re-converge that must keep the new topology.

Runs on Debian 13 (molecule/redis); the stack scenario fails Debian 12's Redis over with the same helpers
(testlib.RedisCluster). Traffic stays between the scenario's containers.
"""

import json
import os
import time

import testinfra.utils.ansible_runner

from testlib import REDIS_WRITER, RedisCluster, ansible_playbook, assert_renewed, get_host, run_forced_renewal, served_certificate, wait_for

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
HOSTS = sorted(testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts('redis'))
testinfra_hosts = HOSTS

PORT, SENTINEL_PORT, NAME = 6379, 26379, 'bulwark'
FAILED_OVER = []  # the new primary, once test_failover_then_reconverge_keeps_the_new_topology has passed
ADMIN = ('admin', 'molecule-admin-secret-0a1b2c')
APP = ('app', 'molecule-app-secret-3d4e5f')
REPLICATION_PASSWORD = 'molecule-repl-secret-6a7b8c'
SENTINEL_USER_PASSWORD = 'molecule-sentinel-user-9d0e1f'
SENTINEL_PASSWORD = 'molecule-sentinel-secret-2a3b4c'
SECRETS = (ADMIN[1], APP[1], REPLICATION_PASSWORD, SENTINEL_USER_PASSWORD, SENTINEL_PASSWORD)
REDIS = RedisCluster(HOSTS, ADMIN, APP, SENTINEL_PASSWORD, name=NAME, port=PORT, sentinel_port=SENTINEL_PORT)
ip_of, cli, current_primary, info = REDIS.ip, REDIS.cli, REDIS.current_primary, REDIS.info


def converge():
    """Run the scenario's converge.yml again; return the per-host stats."""
    playbook = os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'converge.yml')
    result = ansible_playbook(playbook, json_output=True)
    assert result.returncode == 0, 'converge failed:\n%s\n%s' % (result.stdout[-6000:], result.stderr[-3000:])
    assert result.report, result.stdout[-3000:]
    return result.report['stats']


def test_services_running(host):
    for unit in ('redis-server', 'redis-sentinel'):
        svc = host.service(unit)
        assert svc.is_running, host.run('journalctl -u %s --no-pager -n 30' % unit).stdout
        assert svc.is_enabled


def test_listens_only_on_internal_address(host):
    ip = ip_of(host.backend.host)
    for port in (PORT, SENTINEL_PORT):
        listeners = host.check_output("ss -Htln 'sport = :%d' | awk '{print $4}'" % port).split()
        assert listeners == ['%s:%d' % (ip, port)]
    assert 'Connection refused' in cli(host, '127.0.0.1', 'PING', user=ADMIN[0], password=ADMIN[1])


OTHER_CA = ('test -f /tmp/other-ca.crt || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes '
            '-keyout /tmp/other-ca.key -out /tmp/other-ca.crt -subj /CN=another-ca -days 1 2>/dev/null')


def test_redis_and_sentinel_take_verified_tls_only(host):
    """No plaintext port: a plaintext client gets no answer, a client that trusts another CA stops at the handshake,
    and Mozilla's intermediate ciphers apply (a CBC suite is refused by the server, alert 40)."""
    ip = ip_of(host.backend.host)
    host.check_output(OTHER_CA)
    for port, login in ((PORT, {'user': ADMIN[0], 'password': ADMIN[1]}), (SENTINEL_PORT, {'password': SENTINEL_PASSWORD})):
        assert cli(host, ip, 'PING', port=port, **login) == 'PONG', port
        plain = cli(host, ip, 'PING', port=port, tls=None, **login)
        assert plain.startswith(('Error', 'I/O error')) and 'PONG' not in plain, (port, plain)
        other = cli(host, ip, 'PING', port=port, tls='/tmp/other-ca.crt', **login)
        assert 'certificate verify failed' in other and 'PONG' not in other, (port, other)
        cbc = host.run('openssl s_client -connect %s:%d -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA </dev/null' % (ip, port))
        assert cbc.rc != 0 and 'alert handshake failure' in cbc.stderr, (port, cbc.stderr[-400:])
    key = host.file('/etc/redis/tls/redis.key')
    assert (key.user, key.mode) == ('redis', 0o600)
    config = cli(host, ip, 'CONFIG', 'GET', 'port', user=ADMIN[0], password=ADMIN[1]).splitlines()
    assert config == ['port', '0'], config  # replicas and sentinels reach it over TLS: no other port exists


def test_replication_is_healthy():
    primary = current_primary()
    state = info(primary)
    assert state['role'] == 'master', state
    assert state['connected_slaves'] == '2', state
    for replica in HOSTS:
        if replica != primary:
            rstate = info(replica)
            assert rstate['role'] == 'slave' and rstate['master_host'] == ip_of(primary), rstate
            assert rstate['master_link_status'] == 'up', rstate


def test_sentinels_agree_and_see_each_other(host):
    primary = current_primary()
    out = cli(host, ip_of(host.backend.host), 'SENTINEL', 'MASTER', NAME, password=SENTINEL_PASSWORD,
              port=SENTINEL_PORT).splitlines()
    master = dict(zip(out[0::2], out[1::2]))
    assert master['ip'] == ip_of(primary)
    assert master['flags'] == 'master', master
    assert master['num-slaves'] == '2' and master['num-other-sentinels'] == '2', master
    assert (master['quorum'], master['down-after-milliseconds'], master['parallel-syncs'],
            master['failover-timeout']) == ('2', '5000', '1', '10000')


def test_app_user_can_read_and_write_but_not_administer(host):
    primary = current_primary()
    address = ip_of(primary)
    key = 'molecule:%s' % host.backend.host
    assert cli(host, address, 'SET', key, 'v1', user=APP[0], password=APP[1]) == 'OK'
    assert cli(host, address, 'GET', key, user=APP[0], password=APP[1]) == 'v1'
    for command in (['FLUSHALL'], ['FLUSHDB'], ['CONFIG', 'GET', 'maxmemory'], ['CONFIG', 'SET', 'maxmemory', '1'],
                    ['KEYS', '*'], ['ACL', 'LIST'], ['SHUTDOWN'], ['REPLICAOF', 'NO', 'ONE']):
        out = cli(host, address, *command, user=APP[0], password=APP[1])
        assert 'NOPERM' in out, (command, out)
    # DEBUG is refused before the ACL check even runs (enable-debug-command no).
    assert 'ERR DEBUG command not allowed' in cli(host, address, 'DEBUG', 'SLEEP', '0', user=APP[0], password=APP[1])
    assert cli(host, address, 'GET', key, user=APP[0], password=APP[1]) == 'v1'
    # The write reached the replicas.
    for replica in HOSTS:
        if replica != primary:
            wait_for(lambda r=replica: cli(host, ip_of(r), 'GET', key, user=APP[0], password=APP[1]) == 'v1', 10,
                     'write not replicated to %s' % replica)
            assert 'READONLY' in cli(host, ip_of(replica), 'SET', key, 'v2', user=APP[0], password=APP[1])


def test_unauthenticated_and_wrong_credentials_refused(host):
    address = ip_of(current_primary())
    assert 'NOAUTH' in cli(host, address, 'PING')
    assert 'NOAUTH' in cli(host, address, 'GET', 'x')
    assert 'WRONGPASS' in cli(host, address, 'PING', user=APP[0], password='wrong-password-xyz')
    assert 'WRONGPASS' in cli(host, address, 'PING', user='default', password='any-password')  # disabled user
    assert 'WRONGPASS' in cli(host, address, 'PING', user='replica', password='nope')
    # The replication user may only replicate.
    assert 'NOPERM' in cli(host, address, 'GET', 'x', user='replica', password=REPLICATION_PASSWORD)
    sentinel = ip_of(host.backend.host)
    assert 'NOAUTH' in cli(host, sentinel, 'SENTINEL', 'MASTERS', port=SENTINEL_PORT)
    assert 'WRONGPASS' in cli(host, sentinel, 'PING', password='wrong-password-xyz', port=SENTINEL_PORT)


def test_files_hold_no_plaintext_where_not_needed(host):
    acl = host.file('/etc/redis/users.acl')
    assert (acl.user, acl.group, acl.mode) == ('root', 'redis', 0o640)
    assert 'user default off' in acl.content_string
    assert not [s for s in SECRETS if s in acl.content_string]
    assert acl.content_string.count(' #') == 4  # four users with SHA-256 hashed passwords
    for path, owner, allowed in (('/etc/redis/redis.conf', 'root', ()),
                                 ('/etc/redis/replication.conf', 'root', (REPLICATION_PASSWORD,)),
                                 ('/etc/redis/sentinel.conf', 'redis', (SENTINEL_USER_PASSWORD, SENTINEL_PASSWORD))):
        conf = host.file(path)
        assert (conf.user, conf.group, conf.mode) == (owner, 'redis', 0o640), path
        assert not [s for s in SECRETS if s in conf.content_string and s not in allowed], path


def test_redis_cannot_rewrite_its_role_owned_config(host):
    # Sentinel sends CONFIG REWRITE after a failover; the role-owned file must stay as templated.
    out = cli(host, ip_of(host.backend.host), 'CONFIG', 'REWRITE', user=ADMIN[0], password=ADMIN[1])
    assert out != 'OK' and 'ERR' in out, out


def test_forced_renewal_is_served_without_a_failed_write(tmp_path):
    """A renewal (forced: internal_ca_renew_days above the remaining lifetime) signs new certificates for Redis and
    Sentinel on every host. Redis reads its new certificate at runtime (same process); the sentinels restart one at
    a time. A client that asks the sentinels for the primary and writes over a new verified TLS connection each time
    sees no failure. Once for the scenario; `--tags tls` is the concern tag."""
    hosts = {name: get_host(name) for name in HOSTS}
    primary = current_primary()
    before = {name: [served_certificate(h, ip_of(name), port) for port in (PORT, SENTINEL_PORT)] for name, h in hosts.items()}
    pids = {name: h.check_output('systemctl show -p MainPID --value redis-server') for name, h in hosts.items()}
    writer = hosts[[name for name in HOSTS if name != primary][0]]
    writer.check_output('rm -f /root/writer.stop /root/writer.state; cat > /root/writer.py <<"EOF"\n%sEOF' % REDIS_WRITER)
    writer.check_output('cat > /root/writer.json <<"EOF"\n%s\nEOF' % json.dumps({
        'sentinels': ['%s:%d' % (ip_of(name), SENTINEL_PORT) for name in HOSTS], 'sentinel_password': SENTINEL_PASSWORD,
        'name': NAME, 'user': APP[0], 'old': APP[1], 'new': APP[1], 'ca': '/etc/ssl/bulwark/ca.crt'}))
    writer.check_output('systemd-run --unit bulwark-writer --collect python3 /root/writer.py')
    try:
        run_forced_renewal(INVENTORY, 'redis', ['redis', 'redis_sentinel'], tmp_path)
    finally:
        writer.run('touch /root/writer.stop')
        time.sleep(1)
    writes = json.loads(writer.file('/root/writer.state').content_string)
    assert writes['acked'] >= 50 and not writes['errors'], writes
    for name, h in hosts.items():
        for old, new in zip(before[name], [served_certificate(h, ip_of(name), port) for port in (PORT, SENTINEL_PORT)]):
            assert_renewed(name, old, new)
        assert h.check_output('systemctl show -p MainPID --value redis-server') == pids[name], name  # no restart
    assert current_primary() == primary


def test_failover_then_reconverge_keeps_the_new_topology():
    old, new = REDIS.fail_over()
    # Full re-converge: records the new topology, never points anyone back at the old primary.
    stats = converge()
    assert all(s['failures'] == 0 and s['unreachable'] == 0 for s in stats.values()), stats
    REDIS.assert_follows_after_reconverge(old, new)
    FAILED_OVER.append(new)


def test_check_mode_after_failover_and_reconverge_changes_nothing(check_mode_recap):
    """After the failover and the re-converge above, `--check --diff` predicts no change on any host, and each host's
    replication.conf follows the primary Sentinel reports. Not parametrized by host on purpose: pytest runs the
    per-host tests first and keeps the tests without that parameter in file order, so this one runs after the
    failover (the fixture's check run happens on first use, here)."""
    assert FAILED_OVER, 'runs after test_failover_then_reconverge_keeps_the_new_topology (run the whole file)'
    primary = current_primary()
    for name in HOSTS:
        stats = check_mode_recap[name]
        assert stats['failures'] == 0 and stats['unreachable'] == 0, (name, stats)
        assert stats['changed'] == 0, (name, stats['changed_tasks'])
        REDIS.assert_replication_follows(name, primary)
