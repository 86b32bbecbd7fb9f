"""Starts the real tetherd for compat tests and stops it by PID.

A fresh data directory under $TETHER_TEST_TMP, a config file with one identity pool (guests
allowed, developer provider `login.compat.test`) and one developer credential. The server
listens on 127.0.0.1 with a kernel-chosen port, read from its "listening on" line.
"""
import os
import re
import select
import signal
import subprocess
import tempfile
import time
import uuid

DEV_PROVIDER = 'login.compat.test'
REGION = 'us-east-1'


def _boto_config():
    from botocore.config import Config
    return Config(retries={'max_attempts': 1}, connect_timeout=5, read_timeout=30)


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
        binary = os.environ['TETHERD_BIN']
        self.log = open(os.path.join(self.dir, 'tetherd.log'), 'a')
        self.proc = subprocess.Popen(
            [binary, 'serve', '--config', self.config, '--listen', '127.0.0.1:0',
             '--data-dir', os.path.join(self.dir, 'data')],
            stdout=subprocess.PIPE, stderr=self.log)
        end = time.monotonic() + deadline_s
        fd = self.proc.stdout.fileno()
        pending = b''
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
                    self.port = int(m.group(1))
                if line.startswith('tetherd: ready'):
                    return self
        raise RuntimeError('tetherd not ready within deadline')

    def restart(self, deadline_s=20):
        """Stops and starts again on the same data directory and config (the port may change)."""
        self.stop()
        self.proc = None
        self.port = None
        return self.start(deadline_s)

    @property
    def endpoint(self):
        return f'http://127.0.0.1:{self.port}'

    @property
    def ws_url(self):
        return f'ws://127.0.0.1:{self.port}'

    def alive(self):
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


if __name__ == '__main__':
    # `python3 tetherd_fixture.py` prints the env a Node test needs, then waits for stdin EOF.
    import sys
    t = Tetherd().start()
    print(f'{t.endpoint} {t.pool_id} {t.dev_key} {t.dev_secret} {DEV_PROVIDER}', flush=True)
    try:
        sys.stdin.read()
    finally:
        t.stop()
