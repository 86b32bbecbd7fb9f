"""Cognito sync trigger (issue 14, docs/events.md "Sync trigger") through boto3 and the real tetherd.

The triggers are small Python programs (command targets, written by this test) and a webhook
served by this test on 127.0.0.1 that checks the X-Tether-Signature header. The pool's
SyncTrigger is switched per case with SetCognitoEvents, as an operator would. One tetherd on
SQLite, or on PostgreSQL with TETHER_TRIGGER_STORE=postgresql (pg_launcher).
"""
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import botocore.exceptions  # noqa: E402

import tap_unittest  # noqa: E402
from tetherd_fixture import OptionalPostgres, ClientErrorAssertions, REGION, Tetherd  # noqa: E402

ARN = 'arn:aws:lambda:us-east-1:123456789012:function:'
SECRET = 'whsec-' + uuid.uuid4().hex
SERVER = None
HOOK = None

# Command targets. Each reads the event on stdin and writes the reply on stdout.
SCRIPTS = {
    'upper': '''
ev = json.load(sys.stdin)
for r in ev['datasetRecords'].values():
    if r.get('op') == 'replace' and isinstance(r.get('newValue'), str):
        r['newValue'] = r['newValue'].upper()
json.dump(ev, sys.stdout)
''',
    'remove_secret': '''
ev = json.load(sys.stdin)
if 'secret' in ev['datasetRecords']:
    ev['datasetRecords']['secret']['op'] = 'remove'
json.dump(ev, sys.stdout)
''',
    'add_key': '''
ev = json.load(sys.stdin)
ev['datasetRecords']['added'] = {'newValue': 'by-trigger', 'op': 'replace'}
json.dump(ev, sys.stdout)
''',
    'sleep': '''
time.sleep(30)
''',
    'garbage': '''
sys.stdin.read()
print('this is not json {')
''',
    'change_identity': '''
ev = json.load(sys.stdin)
ev['identityId'] = 'us-east-1:00000000-0000-0000-0000-000000000000'
json.dump(ev, sys.stdout)
''',
    'huge': '''
sys.stdin.read()
chunk = 'x' * (1 << 20)
for _ in range(10):
    sys.stdout.write(chunk)
''',
    'fail': '''
sys.stdin.read()
sys.stderr.write('boom\\n')
sys.exit(3)
''',
    'throttle': '''
sys.stdin.read()
sys.exit(75)
''',
}


class Hook(http.server.BaseHTTPRequestHandler):
    """The webhook target: /upper, /throttle (429), /error (500), /huge (10 MB), /slow (4 s for
    dataset "slow"); all but /throttle, /error and /huge uppercase the values."""
    calls = []
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        sig = self.headers.get('X-Tether-Signature', '')
        parts = dict(p.split('=', 1) for p in sig.split(',') if '=' in p)
        want = hmac.new(SECRET.encode(), parts.get('t', '').encode() + b'.' + body, hashlib.sha256).hexdigest()
        sig_ok = hmac.compare_digest(want, parts.get('v1', '')) and abs(time.time() - int(parts.get('t', '0'))) < 300
        event = json.loads(body)
        Hook.calls.append({'path': self.path, 'event': json.loads(body), 'sig_ok': sig_ok})
        if not sig_ok:
            return self._send(401, b'{"message":"bad signature"}')
        if self.path == '/throttle':
            return self._send(429, b'{}')
        if self.path == '/error':
            return self._send(500, b'{"errorMessage":"handler crashed"}')
        if self.path == '/huge':
            return self._send(200, b'x' * (10 << 20))
        if self.path == '/slow' and event['datasetName'] == 'slow':
            time.sleep(4)  # inside the 5 s limit
        for r in event['datasetRecords'].values():
            if r.get('op') == 'replace' and isinstance(r.get('newValue'), str):
                r['newValue'] = r['newValue'].upper()
        self._send(200, json.dumps(event).encode())

    def _send(self, status, data):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TriggerTetherd(OptionalPostgres, Tetherd):
    """The compat fixture plus [[sync_triggers]], a second pool with sync_trigger, and PostgreSQL."""
    STORE_ENV = 'TETHER_TRIGGER_STORE'

    def __init__(self, hook_port):
        super().__init__()
        self.second_pool = f'{REGION}:{uuid.uuid4()}'
        scripts = os.path.join(self.dir, 'triggers')
        os.makedirs(scripts)
        entries = []
        for name, code in SCRIPTS.items():
            path = os.path.join(scripts, name + '.py')
            with open(path, 'w') as f:
                f.write('import json, sys, time\n' + code)
            timeout = 1000 if name == 'sleep' else 5000
            entries.append(f'[[sync_triggers]]\nfunction = "{ARN}{name}"\n'
                           f'command = ["{sys.executable}", "{path}"]\ntimeout_ms = {timeout}\n')
        for path in ['upper', 'throttle', 'error', 'huge', 'slow']:
            entries.append(f'[[sync_triggers]]\nfunction = "{ARN}hook-{path}"\n'
                           f'url = "http://127.0.0.1:{hook_port}/{path}"\nhmac_secret = "{SECRET}"\n')
        entries.append(f'[[sync_triggers]]\nfunction = "{ARN}hook-down"\nurl = "http://127.0.0.1:1/"\n')
        with open(self.config, 'a') as f:
            f.write('\n' + '\n'.join(entries))
            f.write(f'\n[[pools]]\nid = "{self.second_pool}"\nname = "second"\nallow_guests = true\n'
                    f'sync_trigger = "{ARN}upper"\n')


def setUpModule():
    global SERVER, HOOK
    HOOK = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Hook)
    threading.Thread(target=HOOK.serve_forever, daemon=True).start()
    SERVER = TriggerTetherd(HOOK.server_address[1]).start()


def tearDownModule():
    if SERVER:
        SERVER.stop()
    if HOOK:
        HOOK.shutdown()


def set_trigger(name):
    SERVER.sync_client().set_cognito_events(IdentityPoolId=SERVER.pool_id,
                                            Events={'SyncTrigger': ARN + name if name else ''})


def guest():
    iid, creds = SERVER.new_guest()
    return iid, SERVER.sync_client(creds)


def records_of(client, iid, ds):
    r = client.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName=ds)
    return r, {x['Key']: x.get('Value') for x in r['Records'] if 'Value' in x}


def push(client, iid, ds, patches):
    tok = client.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName=ds)['SyncSessionToken']
    return client.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName=ds,
                                 SyncSessionToken=tok, RecordPatches=patches)


def put(key, value, sync_count=0):
    return {'Op': 'replace', 'Key': key, 'Value': value, 'SyncCount': sync_count}


# Cases with nothing stored to check run on SQLite only: the PostgreSQL run keeps the ones whose
# outcome is in the database (written batches, the phase-2 conflict), to stay within the time budget.
storage_free = unittest.skipIf(os.environ.get('TETHER_TRIGGER_STORE') == 'postgresql',
                               'no storage difference: covered by the SQLite run')


def tetherd_children(pid):
    """(pid, state) of every process whose parent is tetherd."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(entry), fields[0]))
    return out


def peak_rss_kb(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return 0


class SyncTriggerTest(ClientErrorAssertions, unittest.TestCase):
    maxDiff = None

    def tearDown(self):
        set_trigger(None)

    def test_config_pool_trigger_shows_in_get_cognito_events(self):
        events = SERVER.sync_client().get_cognito_events(IdentityPoolId=SERVER.second_pool)['Events']
        self.assertEqual(events, {'SyncTrigger': ARN + 'upper'})

    def test_uppercase_command_changes_values_and_returns_them(self):
        set_trigger('upper')
        iid, c = guest()
        out = push(c, iid, 'prefs', [put('theme', 'dark'), put('lang', 'en')])
        got = {r['Key']: (r['Value'], r['SyncCount']) for r in out['Records']}
        self.assertEqual(got, {'theme': ('DARK', 1), 'lang': ('EN', 1)})
        r, vals = records_of(c, iid, 'prefs')
        self.assertEqual(vals, {'theme': 'DARK', 'lang': 'EN'})
        self.assertEqual(r['DatasetSyncCount'], 1)  # one batch, one new sync count

    def test_untouched_records_changed_by_the_trigger_are_written_too(self):
        iid, c = guest()
        push(c, iid, 'd', [put('old', 'kept')])  # no trigger yet
        set_trigger('upper')
        out = push(c, iid, 'd', [put('new', 'value')])
        got = {r['Key']: (r['Value'], r['SyncCount']) for r in out['Records']}
        self.assertEqual(got, {'new': ('VALUE', 2), 'old': ('KEPT', 2)})
        self.assertEqual(records_of(c, iid, 'd')[1], {'old': 'KEPT', 'new': 'VALUE'})

    def test_remove_key(self):
        iid, c = guest()
        push(c, iid, 'd', [put('secret', 's3cr3t'), put('other', 'x')])
        set_trigger('remove_secret')
        out = push(c, iid, 'd', [put('other', 'y', 1)])
        by_key = {r['Key']: r for r in out['Records']}
        self.assertEqual(set(by_key), {'other', 'secret'})
        self.assertNotIn('Value', by_key['secret'])  # a tombstone, returned without Value
        self.assertEqual(by_key['secret']['SyncCount'], 2)
        r, vals = records_of(c, iid, 'd')
        self.assertEqual(vals, {'other': 'y'})

    def test_add_key(self):
        set_trigger('add_key')
        iid, c = guest()
        out = push(c, iid, 'd', [put('mine', 'v')])
        got = {r['Key']: r['Value'] for r in out['Records']}
        self.assertEqual(got, {'mine': 'v', 'added': 'by-trigger'})
        self.assertEqual(records_of(c, iid, 'd')[1], {'mine': 'v', 'added': 'by-trigger'})

    @storage_free
    def test_webhook_event_is_exact_and_signed(self):
        iid, c = guest()
        push(c, iid, 'Settings', [put('keep', 'same'), put('gone', 'g')])
        set_trigger('hook-upper')
        Hook.calls.clear()
        out = push(c, iid, 'Settings', [put('keep', 'new', 1), put('fresh', 'f'),
                                        {'Op': 'remove', 'Key': 'gone', 'SyncCount': 1}])
        self.assertEqual(len(Hook.calls), 1)
        call = Hook.calls[0]
        self.assertTrue(call['sig_ok'])
        self.assertEqual(call['event'], {
            'version': 2, 'eventType': 'SyncTrigger', 'region': REGION, 'identityPoolId': SERVER.pool_id,
            'identityId': iid, 'datasetName': 'Settings',
            'datasetRecords': {
                'keep': {'oldValue': 'same', 'newValue': 'new', 'op': 'replace'},
                'gone': {'oldValue': 'g', 'op': 'remove'},
                'fresh': {'newValue': 'f', 'op': 'replace'},
            }})
        got = {r['Key']: r.get('Value') for r in out['Records']}
        self.assertEqual(got, {'keep': 'NEW', 'fresh': 'F', 'gone': None})

    def test_developer_credentials_do_not_trigger(self):
        set_trigger('hook-upper')
        iid, _ = guest()
        dev = SERVER.sync_client()
        Hook.calls.clear()
        out = push(dev, iid, 'd', [put('k', 'lower')])
        self.assertEqual(out['Records'][0]['Value'], 'lower')
        self.assertEqual(Hook.calls, [])

    @storage_free
    def test_timeout_fails_and_writes_nothing_and_leaves_no_process(self):
        set_trigger('sleep')  # sleeps 30 s; its timeout_ms is 1000
        iid, c = guest()
        start = time.monotonic()
        self.assertError('InvalidLambdaFunctionOutputException', 400, push, c, iid, 'd', [put('k', 'v')])
        self.assertLess(time.monotonic() - start, 4)
        r, vals = records_of(c, iid, 'd')
        self.assertEqual((vals, r['DatasetExists']), ({}, False))
        self.assertEqual(tetherd_children(SERVER.proc.pid), [])  # killed and reaped

    @storage_free
    def test_bad_outputs_fail_with_invalid_lambda_function_output(self):
        iid, c = guest()
        for name in ['garbage', 'change_identity', 'fail', 'hook-error', 'hook-down', 'not-configured']:
            with self.subTest(trigger=name):
                set_trigger(name)
                err = self.assertError('InvalidLambdaFunctionOutputException', 400, push, c, iid, 'd',
                                       [put('k', 'v')])
                self.assertTrue(err['Error']['Message'])
                r, vals = records_of(c, iid, 'd')
                self.assertEqual((vals, r['DatasetSyncCount']), ({}, 0))
        self.assertEqual(tetherd_children(SERVER.proc.pid), [])

    @storage_free
    def test_ten_megabyte_reply_fails_with_bounded_memory(self):
        iid, c = guest()
        before = peak_rss_kb(SERVER.proc.pid)
        for name in ['huge', 'hook-huge', 'huge', 'hook-huge']:
            set_trigger(name)
            self.assertError('InvalidLambdaFunctionOutputException', 400, push, c, iid, 'd', [put('k', 'v')])
        grown_mb = (peak_rss_kb(SERVER.proc.pid) - before) / 1024
        print(f'# peak RSS grew {grown_mb:.1f} MB over four 10 MB replies', flush=True)
        if os.environ.get('TETHER_SANITIZE', 'none') in ('', 'none'):  # ASan quarantines freed memory
            self.assertLess(grown_mb, 10, f'peak RSS grew {grown_mb:.1f} MB for 10 MB replies')
        self.assertEqual(records_of(c, iid, 'd')[1], {})

    @storage_free
    def test_throttled_target_answers_lambda_throttled(self):
        iid, c = guest()
        for name in ['throttle', 'hook-throttle']:
            with self.subTest(trigger=name):
                set_trigger(name)
                self.assertError('LambdaThrottledException', 429, push, c, iid, 'd', [put('k', 'v')])
        self.assertEqual(records_of(c, iid, 'd')[1], {})

    @storage_free
    def test_slow_trigger_does_not_delay_other_writes(self):
        set_trigger('hook-slow')
        a, ca = guest()
        b, cb = guest()
        result = {}

        def slow_write():
            t0 = time.monotonic()
            result['a'] = push(ca, a, 'slow', [put('k', 'v')])
            result['a_s'] = time.monotonic() - t0
        t = threading.Thread(target=slow_write)
        t.start()
        time.sleep(0.5)  # A's trigger call is under way (it takes 4 s)
        latencies = []
        for who, client, ds in [(b, cb, 'fast'), (a, ca, 'fast'), (b, cb, 'fast2')]:
            t0 = time.monotonic()
            push(client, who, ds, [put('x', 'y')])
            latencies.append(time.monotonic() - t0)
        t.join()
        self.assertGreater(result['a_s'], 3.5)
        # Another identity, and the same identity's other dataset (same strand), while A waits.
        self.assertLess(max(latencies), 0.5, latencies)
        print(f'# writes during a 4 s trigger call: {[round(x * 1000) for x in latencies]} ms', flush=True)

    def test_concurrent_write_during_trigger_call_conflicts(self):
        set_trigger('hook-slow')
        a, ca = guest()
        dev = SERVER.sync_client()
        errors = []

        def slow_write():
            try:
                push(ca, a, 'slow', [put('k', 'from-device-1'), put('k2', 'x')])
            except botocore.exceptions.ClientError as e:
                errors.append(e.response)
        t = threading.Thread(target=slow_write)
        t.start()
        time.sleep(0.5)
        # Commits while A's trigger runs, on another key: A's patches still match, but the trigger
        # decided on a dataset that has changed since.
        push(dev, a, 'slow', [put('j', 'from-device-2')])
        t.join()
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]['Error']['Code'], 'ResourceConflictException')
        self.assertEqual(errors[0]['ResponseMetadata']['HTTPStatusCode'], 409)
        r, vals = records_of(ca, a, 'slow')
        self.assertEqual((vals, r['DatasetSyncCount']), ({'j': 'from-device-2'}, 1))  # nothing half-written

    @storage_free
    def test_latency_of_a_local_webhook(self):
        set_trigger('hook-upper')
        iid, c = guest()
        tok = c.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='lat')['SyncSessionToken']
        # 20 in the suite; TETHER_TRIGGER_LATENCY_N=200 for the figure in docs/events.md.
        n, sync_count, times = int(os.environ.get('TETHER_TRIGGER_LATENCY_N', '20')), 0, []
        for i in range(n):
            t0 = time.monotonic()
            c.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='lat', SyncSessionToken=tok,
                             RecordPatches=[put('k', f'v{i}', sync_count)])
            times.append(time.monotonic() - t0)
            sync_count += 1
        with urlopen_metrics() as text:
            self.assertIn('tether_sync_trigger_duration_seconds_count', text)
        times.sort()
        p50, p99 = times[n // 2] * 1000, times[int(n * 0.99) - 1] * 1000
        print(f'# UpdateRecords through a local webhook trigger: p50 {p50:.1f} ms, p99 {p99:.1f} ms (n={n})',
              flush=True)


class urlopen_metrics:
    def __enter__(self):
        import urllib.request
        with urllib.request.urlopen(SERVER.endpoint + '/metrics', timeout=5) as r:
            return r.read().decode()

    def __exit__(self, *exc):
        return False


if __name__ == '__main__':
    tap_unittest.main(sys.modules[__name__])
