"""Starts the real tetherd for compat tests and stops it by PID.

A fresh data directory under $TETHER_TEST_TMP, a config file with one identity pool (guests
allowed, developer provider `login.compat.test`) and one developer credential. The server
listens on 127.0.0.1 with a kernel-chosen port, read from its "listening on" line.
"""
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time
import uuid

DEV_PROVIDER = 'login.compat.test'
REGION = 'us-east-1'
# TETHER_COMPAT_NODES=3: run the suites against a scale-out deployment (see _start_cluster).
CLUSTER_NODES = int(os.environ.get('TETHER_COMPAT_NODES', '0') or 0)


def _free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _boto_config():
    from botocore.config import Config
    return Config(retries={'max_attempts': 1}, connect_timeout=5, read_timeout=30)


class ClientErrorAssertions:
    """unittest mixin: assertError(code, status, fn, ...) runs fn and checks the AWS error it raises."""

    def assertError(self, code, status, fn, *args, **kwargs):
        import botocore.exceptions
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception.response
        self.assertEqual(err['Error']['Code'], code, err)
        self.assertEqual(err['ResponseMetadata']['HTTPStatusCode'], status, err)
        return err


class Tetherd:
    def __init__(self):
        root = os.environ.get('TETHER_TEST_TMP', tempfile.gettempdir())
        os.makedirs(root, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix='compat-', dir=root)
        self.pool_id = f'{REGION}:{uuid.uuid4()}'
        self.dev_key = 'AKIA' + uuid.uuid4().hex[:16].upper()
        self.dev_secret = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        self.config = os.path.join(self.dir, 'tetherd.toml')
        with open(self.config, 'w') as f:
            f.write(f'''[[pools]]
id = "{self.pool_id}"
name = "compat"
allow_guests = true
developer_provider = "{DEV_PROVIDER}"

[[developer_credentials]]
access_key_id = "{self.dev_key}"
secret_access_key = "{self.dev_secret}"
''')
        self.proc = None
        self.port = None

    def start(self, deadline_s=20):
        try:
            return self._start(deadline_s)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise

    def _start(self, deadline_s):
        if CLUSTER_NODES:
            return self._start_cluster(deadline_s)
        binary = os.environ['TETHERD_BIN']
        self.log = open(os.path.join(self.dir, 'tetherd.log'), 'a')
        self.proc = subprocess.Popen(
            [binary, 'serve', '--config', self.config, '--listen', '127.0.0.1:0',
             '--data-dir', os.path.join(self.dir, 'data')],
            stdout=subprocess.PIPE, stderr=self.log)
        self.port = self._wait_ready(self.proc, deadline_s)
        return self

    # ---- a 3-node deployment instead of one tetherd (TETHER_COMPAT_NODES=3): every node on one
    # PostgreSQL schema (tests/support/pg_launcher), HAProxy with docs/scale-out/haproxy.cfg in
    # front; the suites talk to the balancer's port. The same config file on every node.
    def _start_cluster(self, deadline_s):
        if getattr(self, 'pg', None) is None:
            self.pg = subprocess.Popen([os.environ['TETHER_PG_LAUNCHER'], 'compat_' + uuid.uuid4().hex[:8]],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.store = self.pg.stdout.readline().decode().strip()
            if not self.store.startswith('postgresql://'):
                raise RuntimeError('pg_launcher gave no URL')
        self.log = open(os.path.join(self.dir, 'tetherd.log'), 'a')
        self.nodes = []
        addrs = []
        for i in range(CLUSTER_NODES):
            proc = subprocess.Popen(
                [os.environ['TETHERD_BIN'], 'serve', '--config', self.config, '--listen', '127.0.0.1:0',
                 '--store', self.store, '--node-name', f'node{i + 1}', '--issuer', 'http://compat-cluster.test'],
                stdout=subprocess.PIPE, stderr=self.log)
            self.nodes.append(proc)
            addrs.append(f'127.0.0.1:{self._wait_ready(proc, deadline_s)}')
        lb_port = _free_port()
        env = dict(os.environ, TETHER_LB_BIND=f'127.0.0.1:{lb_port}')
        for i, a in enumerate(addrs):
            env[f'TETHER_NODE{i + 1}'] = a
        self.lb = subprocess.Popen(['haproxy', '-db', '-f', os.environ['TETHER_HAPROXY_CFG']], env=env,
                                   stdout=self.log, stderr=self.log)
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                socket.create_connection(('127.0.0.1', lb_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError('haproxy did not listen')
        self.proc = self.nodes[0]
        self.port = lb_port
        return self

    def _wait_ready(self, proc, deadline_s):
        end = time.monotonic() + deadline_s
        fd = proc.stdout.fileno()
        pending, port = b'', None
        while time.monotonic() < end:
            # Raw reads: a buffered readline() would hide lines from select().
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError('tetherd exited before it was ready; see ' + self.log.name)
            pending += chunk
            while b'\n' in pending:
                raw, pending = pending.split(b'\n', 1)
                line = raw.decode('utf-8', 'replace')
                m = re.search(r'listening on ws://127\.0\.0\.1:(\d+)', line)
                if m:
                    port = int(m.group(1))
                if line.startswith('tetherd: ready') and port:
                    return port
        raise RuntimeError('tetherd not ready within deadline')

    def _stop_cluster(self):
        for p in [getattr(self, 'lb', None)] + list(getattr(self, 'nodes', [])):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p is not None and p.stdout:
                p.stdout.close()
        self.nodes, self.lb = [], None

    def restart(self, deadline_s=20):
        """Stops and starts again on the same data directory and config (the port may change)."""
        if CLUSTER_NODES:
            self._stop_cluster()  # the database stays
            self.log.close()
            return self.start(deadline_s)
        self.stop()
        self.proc = None
        self.port = None
        return self.start(deadline_s)

    def admin_args(self):
        """Where `tetherd <admin command>` finds this server's store."""
        if CLUSTER_NODES:
            return ['--store', self.store]
        return ['--data-dir', os.path.join(self.dir, 'data')]

    @property
    def endpoint(self):
        return f'http://127.0.0.1:{self.port}'

    @property
    def ws_url(self):
        return f'ws://127.0.0.1:{self.port}'

    def alive(self):
        if CLUSTER_NODES:
            return bool(getattr(self, 'nodes', [])) and all(p.poll() is None for p in self.nodes) \
                and self.lb is not None and self.lb.poll() is None
        return self.proc is not None and self.proc.poll() is None

    # boto3 clients for this server (boto3 is imported here: only the boto3 suites use them).
    # One attempt per call, so an error the test expects is not retried away.
    def identity_client(self, key='unused', secret='unused'):
        import boto3
        return boto3.client('cognito-identity', endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret, config=_boto_config())

    def sync_client(self, creds=None):
        """Cognito Sync signed with temporary credentials, or the developer credential if None."""
        import boto3
        if creds is None:
            keys = dict(aws_access_key_id=self.dev_key, aws_secret_access_key=self.dev_secret)
        else:
            keys = dict(aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretKey'],
                        aws_session_token=creds['SessionToken'])
        return boto3.client('cognito-sync', endpoint_url=self.endpoint, region_name=REGION,
                            config=_boto_config(), **keys)

    def new_guest(self):
        """A new guest identity and its temporary credentials: (identity_id, credentials)."""
        ci = self.identity_client()
        iid = ci.get_id(IdentityPoolId=self.pool_id)['IdentityId']
        return iid, ci.get_credentials_for_identity(IdentityId=iid)['Credentials']

    def stop(self):
        if CLUSTER_NODES:
            self._stop_cluster()
            if getattr(self, 'log', None):
                self.log.close()
            if getattr(self, 'pg', None) is not None:
                self.pg.stdin.close()  # pg_launcher stops its PostgreSQL and exits
                self.pg.wait(timeout=30)
                self.pg.stdout.close()
                self.pg = None
            return
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, 'log', None):
            self.log.close()


class OptionalPostgres:
    """Mixin for a Tetherd subclass: when os.environ[STORE_ENV] is 'postgresql', the server runs on
    a PostgreSQL that tests/support/pg_launcher starts (and stops with the fixture) instead of
    SQLite; restart() keeps the database. Put it before Tetherd in the bases."""
    STORE_ENV = 'TETHER_STORE'

    def _start(self, deadline_s):
        if os.environ.get(self.STORE_ENV) != 'postgresql':
            return super()._start(deadline_s)
        if getattr(self, 'pg_url', None) is None:
            self.pg = subprocess.Popen([os.environ['TETHER_PG_LAUNCHER'], 'compat_' + uuid.uuid4().hex[:8]],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.pg_url = self.pg.stdout.readline().decode().strip()
            if not self.pg_url.startswith('postgresql://'):
                raise RuntimeError('pg_launcher gave no URL')
        self.log = open(os.path.join(self.dir, 'tetherd.log'), 'a')
        self.proc = subprocess.Popen(
            [os.environ['TETHERD_BIN'], 'serve', '--config', self.config, '--listen', '127.0.0.1:0',
             '--store', self.pg_url, '--issuer', 'http://compat-pg.test'],
            stdout=subprocess.PIPE, stderr=self.log)
        self.port = self._wait_ready(self.proc, deadline_s)
        return self

    def restart(self, deadline_s=20):
        """A new tetherd process on the same data (the PostgreSQL server, if any, keeps running)."""
        Tetherd.stop(self)
        self.proc = None
        self.port = None
        return self.start(deadline_s)

    def stop(self):
        super().stop()
        if getattr(self, 'pg', None) is not None:
            self.pg.stdin.close()  # pg_launcher stops its PostgreSQL and exits
            self.pg.wait(timeout=30)
            self.pg.stdout.close()
            self.pg = None


if __name__ == '__main__':
    # `python3 tetherd_fixture.py` prints the env a Node test needs, then waits for stdin EOF.
    import sys
    t = Tetherd().start()
    print(f'{t.endpoint} {t.pool_id} {t.dev_key} {t.dev_secret} {DEV_PROVIDER}', flush=True)
    try:
        sys.stdin.read()
    finally:
        t.stop()
