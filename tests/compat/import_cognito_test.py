"""`tetherd import-cognito` end to end (issue 16 point 5).

A tetherd "source" stands in for AWS: boto3 populates it with a few hundred identities (guests,
developer logins, some with two), datasets with several sync counts, replaced and removed records
(tombstones). Each case imports it into an empty tetherd "target" (SQLite, or PostgreSQL when
TETHER_IMPORT_STORE=postgresql) with `tetherd import-cognito --endpoint SOURCE` and a credential
made by `tetherd credentials create`, then reads both servers through their APIs and compares
every identity, login, dataset and record (sync counts and dates included). Also: an
amazon-cognito-js device that synced against the source continues against the target without
a conflict or a full re-pull; an import killed part way and rerun with its checkpoint; a
throttling stand-in (a proxy answering TooManyRequestsException to every k-th request); one
answering NotAuthorizedException (clear message, exit 1, a rerun finishes); an import that would
overwrite an identity changed in the target (refused, exit 3, naming it).
"""
import concurrent.futures
import datetime
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap_unittest  # noqa: E402
from boto3_auth_test import AUD, Issuer  # noqa: E402
from tetherd_fixture import DEV_PROVIDER, REGION, OptionalPostgres, Tetherd  # noqa: E402

# The source also accepts an OpenID Connect provider: Cognito's APIs name such a login's provider
# but never its subject, so the import cannot link it; devices link it again (test below).
OIDC_PROVIDER = 'login.import-oidc.test'
N_SOCIAL = 3
ISSUER = None

N_IDENTITIES = int(os.environ.get('TETHER_IMPORT_IDENTITIES', '300'))
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = None
CRED = None  # (access key id, secret) made by `tetherd credentials create` on the source


class Target(OptionalPostgres, Tetherd):
    """An empty tetherd: no pool (the import creates it), the source's developer key for reading."""
    STORE_ENV = 'TETHER_IMPORT_STORE'

    def __init__(self, source):
        super().__init__()
        self.pool_id = source.pool_id
        self.dev_key, self.dev_secret = source.dev_key, source.dev_secret
        with open(self.config, 'w') as f:
            f.write(f'[[developer_credentials]]\naccess_key_id = "{self.dev_key}"\n'
                    f'secret_access_key = "{self.dev_secret}"\n')

    def store_args(self):
        if getattr(self, 'pg_url', None):
            return ['--store', self.pg_url]
        return ['--data-dir', os.path.join(self.dir, 'data')]


def tetherd(*args, env=None, **kw):
    return subprocess.run([os.environ['TETHERD_BIN'], *args], capture_output=True, text=True, env=env,
                          timeout=kw.pop('timeout', 300), **kw)


def import_env(key=None, secret=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env['AWS_ACCESS_KEY_ID'], env['AWS_SECRET_ACCESS_KEY'] = key or CRED[0], secret or CRED[1]
    return env


def import_args(target, endpoint, checkpoint=None, *extra):
    args = ['import-cognito', '--region', REGION, '--identity-pool', SOURCE.pool_id, '--endpoint', endpoint,
            *target.store_args(), '--progress-interval', '1', *extra]
    if checkpoint:
        args += ['--checkpoint', checkpoint]
    return args


def run_import(target, endpoint=None, checkpoint=None, *extra, **kw):
    return tetherd(*import_args(target, endpoint or SOURCE.endpoint, checkpoint, *extra), env=import_env(**kw))


# ---- populating the source and reading a server through the APIs

def populate_one(i):
    ci, cs = SOURCE.identity_client(SOURCE.dev_key, SOURCE.dev_secret), SOURCE.sync_client()
    pool = SOURCE.pool_id
    if i % 3 == 0:
        iid = ci.get_id(IdentityPoolId=pool)['IdentityId']
    else:
        iid = ci.get_open_id_token_for_developer_identity(
            IdentityPoolId=pool, Logins={DEV_PROVIDER: f'user-{i}'})['IdentityId']
        if i % 5 == 0:
            ci.get_open_id_token_for_developer_identity(IdentityPoolId=pool, IdentityId=iid,
                                                       Logins={DEV_PROVIDER: f'user-{i}-alt'})
    device_date = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    for d in range(i % 4):
        name = f'dataset-{d}'
        where = dict(IdentityPoolId=pool, IdentityId=iid, DatasetName=name)
        tok = cs.list_records(**where)['SyncSessionToken']
        out = cs.update_records(**where, SyncSessionToken=tok, DeviceId='populate', RecordPatches=[
            {'Op': 'replace', 'Key': f'k{j}', 'Value': f'v{i}-{j}', 'SyncCount': 0,
             'DeviceLastModifiedDate': device_date} for j in range(3)])['Records']
        counts = {r['Key']: r['SyncCount'] for r in out}
        cs.update_records(**where, SyncSessionToken=tok, DeviceId='populate', RecordPatches=[
            {'Op': 'replace', 'Key': 'k0', 'Value': f'w{i}', 'SyncCount': counts['k0']},
            {'Op': 'remove', 'Key': 'k1', 'SyncCount': counts['k1']}])
        if d == 1:
            cs.update_records(**where, SyncSessionToken=tok, RecordPatches=[
                {'Op': 'replace', 'Key': 'k3', 'Value': 'x' * 200, 'SyncCount': 0}])
    return iid


def list_identities(server):
    ci = server.identity_client(server.dev_key, server.dev_secret)
    out, token = [], None
    while True:
        kw = {'NextToken': token} if token else {}
        page = ci.list_identities(IdentityPoolId=server.pool_id, MaxResults=60, **kw)
        out += page['Identities']
        token = page.get('NextToken')
        if not token:
            return out


def describe(server, ident):
    """One identity as the APIs show it: dates, logins, developer users, datasets, records."""
    ci = server.identity_client(server.dev_key, server.dev_secret)
    cs = server.sync_client()
    iid = ident['IdentityId']
    # An OIDC login arrives as its provider only (its subject is not readable from AWS): see
    # test_social_logins_are_linked_again_by_the_devices.
    entry = {'created': ident['CreationDate'], 'logins': sorted(ident.get('Logins', []))}
    if DEV_PROVIDER in entry['logins']:
        entry['developer_users'] = sorted(ci.lookup_developer_identity(
            IdentityPoolId=server.pool_id, IdentityId=iid, MaxResults=60)['DeveloperUserIdentifierList'])
    datasets = {}
    for ds in cs.list_datasets(IdentityPoolId=server.pool_id, IdentityId=iid, MaxResults=64)['Datasets']:
        records, token, sync_count = [], None, None
        while True:
            kw = {'NextToken': token} if token else {}
            page = cs.list_records(IdentityPoolId=server.pool_id, IdentityId=iid, DatasetName=ds['DatasetName'],
                                   LastSyncCount=0, MaxResults=1024, **kw)
            records += page['Records']
            sync_count = page['DatasetSyncCount']
            token = page.get('NextToken')
            if not token:
                break
        ds.pop('IdentityId')
        datasets[ds['DatasetName']] = {'meta': ds, 'syncCount': sync_count,
                                       'records': sorted(records, key=lambda r: r['Key'])}
    entry['datasets'] = datasets
    return iid, entry


def snapshot(server):
    idents = list_identities(server)
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return dict(ex.map(lambda i: describe(server, i), idents))


def setUpModule():
    global SOURCE, CRED, ISSUER
    ISSUER = Issuer('https://import-issuer.test', 'k1')
    SOURCE = Tetherd()
    with open(SOURCE.config, 'a') as f:
        f.write(f'''
[[pools.oidc_providers]]
name = "{OIDC_PROVIDER}"
issuer = "{ISSUER.iss}"
audiences = ["{AUD}"]
jwks = \'\'\'{json.dumps(ISSUER.jwks())}\'\'\'
''')
        # Populating is faster than the abuse limits let one address create identities.
        for kind in ('identity_creation', 'sign_in', 'token_issuance'):
            f.write(f'[limits.{kind}]\nper_address_per_second = 0\nper_pool_per_second = 0\n')
    SOURCE.start()
    made = tetherd('credentials', 'create', '--description', 'import-cognito', *SOURCE.admin_args())
    fields = dict(re.findall(r'^(\w+): (\S+)$', made.stdout, re.M))
    CRED = (fields['AccessKeyId'], fields['SecretAccessKey'])
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(populate_one, range(N_IDENTITIES)))
    ci = SOURCE.identity_client()
    for i in range(N_SOCIAL):
        ci.get_id(IdentityPoolId=SOURCE.pool_id, Logins={OIDC_PROVIDER: ISSUER.token(f'social-{i}')})


def tearDownModule():
    if SOURCE:
        SOURCE.stop()


# ---- proxies in front of the source: throttling, refusing, slow

class Proxy(http.server.ThreadingHTTPServer):
    """Forwards to the source; `fault(n, method, path)` may answer instead: (status, error name)."""
    daemon_threads = True

    def __init__(self, fault=None, delay=0.0):
        self.fault, self.delay, self.count, self.lock = fault, delay, 0, threading.Lock()
        super().__init__(('127.0.0.1', 0), ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f'http://127.0.0.1:{self.server_address[1]}'

    def handle_error(self, request, client_address):
        pass  # the interrupted import resets its connections: expected


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0) or 0))
        with self.server.lock:
            self.server.count += 1
            n = self.server.count
        if self.server.delay:
            time.sleep(self.server.delay)
        fault = self.server.fault(n, self.command, self.path) if self.server.fault else None
        if fault:
            status, name = fault
            out = json.dumps({'__type': name, 'message': f'{name} from the test proxy'}).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/x-amz-json-1.1')
            self.send_header('x-amzn-ErrorType', name + ':')
            self.send_header('Content-Length', str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        conn = http.client.HTTPConnection('127.0.0.1', SOURCE.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ('connection', 'content-length')}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('connection', 'content-length', 'transfer-encoding', 'date', 'server'):
                self.send_header(k, v)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = handle_any


class ImportCognitoTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.target = Target(SOURCE).start()
        self.checkpoint = os.path.join(self.target.dir, 'import.checkpoint')

    def tearDown(self):
        self.target.stop()

    def assertImported(self, out):
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        self.assertEqual(snapshot(self.target), snapshot(SOURCE))

    def test_import_keeps_everything_and_a_rerun_is_a_noop(self):
        out = run_import(self.target, None, self.checkpoint)
        self.assertImported(out)
        m = re.search(r'imported (\d+) identities, (\d+) datasets, (\d+) records in ([\d.]+) s, ([\d.]+) identities/s, '
                      r'(\d+) records/s', out.stdout)
        self.assertIsNotNone(m, out.stdout)
        self.assertEqual(int(m.group(1)), len(list_identities(SOURCE)))
        print(f'# import rate ({os.environ.get("TETHER_IMPORT_STORE", "sqlite")}): {m.group(0)}', flush=True)
        self.assertRegex(out.stderr, r'\d+/\d+ identities \(\d+%\), [\d.]+ identities/s, \d+ records/s, ETA ')
        again = run_import(self.target, None, self.checkpoint)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn('already complete', again.stdout)
        # Without the checkpoint: every identity is found identical and skipped, nothing written.
        # (Credentials from a profile of a shared credentials file this time.)
        creds_file = os.path.join(self.target.dir, 'aws-credentials')
        with open(creds_file, 'w') as f:
            f.write(f'[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n'
                    f'[migration]\naws_access_key_id = {CRED[0]}\naws_secret_access_key = {CRED[1]}\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        env.update(AWS_SHARED_CREDENTIALS_FILE=creds_file, AWS_PROFILE='migration')
        fresh = tetherd(*import_args(self.target, SOURCE.endpoint, self.checkpoint + '.2'), env=env)
        self.assertEqual(fresh.returncode, 0, fresh.stderr)
        self.assertIn('imported 0 identities', fresh.stdout)

    def test_a_cognito_js_device_continues_against_the_target(self):
        if not shutil.which('node'):
            self.skipTest('node missing')
        dev = subprocess.Popen(['node', os.path.join(HERE, 'import_cognito_device.mjs'), SOURCE.endpoint,
                                SOURCE.pool_id], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, NODE_NO_WARNINGS='1'))
        try:
            before = json.loads(dev.stdout.readline())
            if 'skip' in before:
                self.skipTest(before['skip'])
            self.assertNotIn('error', before)
            self.assertEqual(before['syncCount'], 2)
            # amazon-cognito-js reads a removed record as '' (its quirk, cognito-compat.md 3.3).
            self.assertEqual(before['values'], {'a': '11', 'b': '', 'c': None})
            out = run_import(self.target, None, self.checkpoint)
            self.assertEqual(out.returncode, 0, out.stderr)
            dev.stdin.write(json.dumps({'endpoint': self.target.endpoint}) + '\n')
            dev.stdin.flush()
            after = json.loads(dev.stdout.readline())
            self.assertNotIn('error', after)
            self.assertEqual(after['identityId'], before['identityId'])
            # Incremental: every ListRecords asked from the cached count, none from 0 (a re-pull).
            self.assertTrue(after['listCalls'], after)
            self.assertTrue(all(c == 2 for c in after['listCalls']), after)
            self.assertEqual((after['conflicts'], after['deleted'], after['merged']), (0, 0, 0))
            self.assertEqual(after['syncCount'], 3)
            self.assertEqual(after['values'], {'a': '11', 'b': '', 'c': '3'})
            stored = describe(self.target, {'IdentityId': before['identityId'], 'CreationDate': 0})[1]
            self.assertEqual(stored['datasets']['prefs']['syncCount'], 3)
            self.assertEqual({r['Key']: (r.get('Value'), r['SyncCount']) for r in stored['datasets']['prefs']['records']},
                             {'a': ('11', 2), 'b': (None, 2), 'c': ('3', 3)})
        finally:
            dev.stdin.close()
            dev.wait(timeout=30)
            dev.stdout.close()

    def test_an_interrupted_import_continues_from_its_checkpoint(self):
        proxy = Proxy(delay=0.003)
        try:
            # (Not under stdbuf: its LD_PRELOAD makes an ASan build refuse to start, and the
            # output goes nowhere anyway.)
            proc = subprocess.Popen([os.environ['TETHERD_BIN'],
                                     *import_args(self.target, proxy.endpoint, self.checkpoint, '--parallel', '2')],
                                    env=import_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            done = self.checkpoint + '.done'
            end = time.monotonic() + 120
            while time.monotonic() < end and proc.poll() is None:
                if os.path.exists(done):
                    with open(done) as f:
                        if sum(1 for _ in f) >= 40:
                            break
                time.sleep(0.01)
            self.assertIsNone(proc.poll(), 'the import finished before it could be interrupted')
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            proxy.shutdown()
            proxy.server_close()
        partial = len(list_identities(self.target))
        self.assertGreater(partial, 0)
        self.assertLess(partial, len(list_identities(SOURCE)))
        # Make one identity of the interrupted page half-written, as if the kill had come between
        # its creation and its datasets' commit: its datasets gone, its done mark not yet written.
        with open(self.checkpoint) as f:
            owned = set(json.load(f)['pageOwned'])
        with open(self.checkpoint + '.done') as f:
            done = f.read().splitlines()
        half = next(i for i in reversed(done) if i in owned and describe(self.target, {
            'IdentityId': i, 'CreationDate': 0})[1]['datasets'])
        cs = self.target.sync_client()
        for name in describe(self.target, {'IdentityId': half, 'CreationDate': 0})[1]['datasets']:
            cs.delete_dataset(IdentityPoolId=SOURCE.pool_id, IdentityId=half, DatasetName=name)
        with open(self.checkpoint + '.done', 'w') as f:
            f.write(''.join(i + '\n' for i in done if i != half))
        out = run_import(self.target, None, self.checkpoint)
        self.assertImported(out)

    def test_throttling_is_retried_until_the_import_completes(self):
        proxy = Proxy(fault=lambda n, method, path: (400, 'TooManyRequestsException') if n % 7 == 0 else
                      (503, 'ServiceUnavailable') if n % 31 == 0 else None)
        try:
            out = run_import(self.target, proxy.endpoint, self.checkpoint, '--max-attempts', '10')
        finally:
            proxy.shutdown()
            proxy.server_close()
        self.assertImported(out)
        retries = int(re.search(r'(\d+) retries', out.stdout).group(1))
        self.assertGreater(retries, 0, out.stdout)

    def test_an_endpoint_answering_errors_stops_with_a_clear_message(self):
        proxy = Proxy(fault=lambda n, method, path: (400, 'NotAuthorizedException') if '/records' in path and n > 150
                      else None)
        try:
            out = run_import(self.target, proxy.endpoint, self.checkpoint)
        finally:
            proxy.shutdown()
            proxy.server_close()
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn('ListRecords: NotAuthorizedException (HTTP 400): NotAuthorizedException from the test proxy',
                      out.stderr)
        self.assertIn('rerun with --checkpoint', out.stderr)
        self.assertNotIn('gave up', out.stderr)  # not retried: only throttling, 5xx and the network are
        # Whatever was written, a rerun against the healthy endpoint finishes it.
        self.assertImported(run_import(self.target, None, self.checkpoint))
        # Wrong credentials: refused by the source's SigV4 check, exit 1 naming the error.
        bad = run_import(self.target, None, self.checkpoint + '.bad', secret='wrong' * 8)
        self.assertEqual(bad.returncode, 1, bad.stdout)
        self.assertRegex(bad.stderr, r'DescribeIdentityPool: \w+ \(HTTP 4\d\d\)')
        # No credentials anywhere: exit 2, saying where they were looked for.
        env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        env['AWS_SHARED_CREDENTIALS_FILE'] = os.path.join(self.target.dir, 'absent')
        none = tetherd(*import_args(self.target, SOURCE.endpoint), env=env)
        self.assertEqual(none.returncode, 2, none.stderr)
        self.assertIn('no AWS credentials', none.stderr)

    def test_an_import_that_would_overwrite_an_identity_is_refused(self):
        self.assertEqual(run_import(self.target, None, self.checkpoint).returncode, 0)
        # A device writes to one identity on the target; a new import must not overwrite it.
        victim = next(i for i in sorted(snapshot(SOURCE).items()) if i[1]['datasets'])[0]
        cs = self.target.sync_client()
        where = dict(IdentityPoolId=SOURCE.pool_id, IdentityId=victim, DatasetName='dataset-0')
        tok = cs.list_records(**where)['SyncSessionToken']
        cs.update_records(**where, SyncSessionToken=tok, RecordPatches=[
            {'Op': 'replace', 'Key': 'target-only', 'Value': 'x', 'SyncCount': 0}])
        before = snapshot(self.target)
        out = run_import(self.target, None, self.checkpoint + '.2')
        self.assertEqual(out.returncode, 3, out.stdout + out.stderr)
        self.assertIn(victim, out.stderr)
        self.assertIn('already exist in the target with other data', out.stderr)
        self.assertEqual(snapshot(self.target), before)
        # A checkpoint of another pool is refused too.
        other = tetherd('import-cognito', '--region', REGION, '--identity-pool', SOURCE.pool_id, '--target-pool',
                        f'{REGION}:00000000-0000-0000-0000-000000000000', '--endpoint', SOURCE.endpoint,
                        '--checkpoint', self.checkpoint, *self.target.store_args(), env=import_env())
        self.assertEqual(other.returncode, 3, other.stderr)
        self.assertIn('belongs to an import of', other.stderr)
        # A target pool ID that is not region:uuid: exit 2 before anything is read or written.
        bad_pool = tetherd('import-cognito', '--region', REGION, '--identity-pool', SOURCE.pool_id,
                           '--target-pool', 'not-a-pool', *self.target.store_args(), env=import_env())
        self.assertEqual(bad_pool.returncode, 2, bad_pool.stderr)
        self.assertIn("pool ID 'not-a-pool'", bad_pool.stderr)
        # A file that is not a checkpoint: exit 2, naming it; the file is left alone.
        junk = os.path.join(self.target.dir, 'junk.checkpoint')
        with open(junk, 'w') as f:
            f.write('{"version": 1, "sourcePool": 7')
        bad = run_import(self.target, None, junk)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn(junk + ' is not an import-cognito checkpoint', bad.stderr)
        with open(junk) as f:
            self.assertEqual(f.read(), '{"version": 1, "sourcePool": 7')
        # Valid JSON of the wrong types (a version that is not a number): the same clear refusal.
        with open(junk, 'w') as f:
            f.write('{"version": "1"}')
        typed = run_import(self.target, None, junk)
        self.assertEqual(typed.returncode, 2, typed.stderr)
        self.assertIn(junk + ' is not an import-cognito checkpoint', typed.stderr)

    def test_social_logins_are_linked_again_by_the_devices(self):
        out = run_import(self.target, None, self.checkpoint)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f'{N_SOCIAL} identities have {OIDC_PROVIDER} logins', out.stdout)
        src, dst = SOURCE.identity_client(), self.target.identity_client()
        dev = self.target.identity_client(self.target.dev_key, self.target.dev_secret)
        iid = src.get_id(IdentityPoolId=SOURCE.pool_id, Logins={OIDC_PROVIDER: ISSUER.token('social-1')})['IdentityId']
        # The login arrives as its provider: the identity stays authenticated, so its ID alone
        # (guests are allowed in this pool) gets nothing.
        self.assertEqual(dev.describe_identity(IdentityId=iid)['Logins'], [OIDC_PROVIDER])
        with self.assertRaises(dst.exceptions.NotAuthorizedException):
            dst.get_credentials_for_identity(IdentityId=iid)
        # The operator configures the provider on the target; the device presents its cached
        # IdentityId with its login: the login is linked to that identity, the ID kept.
        made = tetherd('pool', 'add-oidc-provider', '--pool', SOURCE.pool_id, '--name', OIDC_PROVIDER,
                       '--issuer', ISSUER.iss, '--audience', AUD, '--jwks', json.dumps(ISSUER.jwks()),
                       *self.target.store_args())
        self.assertEqual(made.returncode, 0, made.stderr)
        self.target.restart()  # (a running server re-reads providers within 2 s; no need to wait here)
        dst = self.target.identity_client()
        dev = self.target.identity_client(self.target.dev_key, self.target.dev_secret)
        got = dst.get_credentials_for_identity(IdentityId=iid, Logins={OIDC_PROVIDER: ISSUER.token('social-1')})
        self.assertEqual(got['IdentityId'], iid)
        self.assertEqual(dev.describe_identity(IdentityId=iid)['Logins'], [OIDC_PROVIDER])
        self.assertEqual(dst.get_id(IdentityPoolId=SOURCE.pool_id,
                                    Logins={OIDC_PROVIDER: ISSUER.token('social-1')})['IdentityId'], iid)
        # Linked now: another user of that provider can no longer claim the identity, and the ID
        # alone still gets nothing.
        with self.assertRaises(dst.exceptions.NotAuthorizedException):
            dst.get_credentials_for_identity(IdentityId=iid, Logins={OIDC_PROVIDER: ISSUER.token('social-2')})
        with self.assertRaises(dst.exceptions.NotAuthorizedException):
            dst.get_credentials_for_identity(IdentityId=iid)
        # A rerun without the checkpoint sees the relinked identity as imported, unchanged.
        again = run_import(self.target, None, None)
        self.assertEqual(again.returncode, 0, again.stderr)


if __name__ == '__main__':
    tap_unittest.main(sys.modules[__name__])
