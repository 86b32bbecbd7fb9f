"""boto3 against the real tetherd, issue 5: logins from an OpenID Connect issuer whose RSA key
this test generates (JWKS file in the config), guest upgrade, merge, "Logins don't match",
every bad token refused with nothing created, and the `tetherd credentials create` /
`tetherd pool add-oidc-provider` commands used by a real SDK against the running server.
"""
import base64
import json
import os
import subprocess
import sys
import time
import unittest

import botocore.exceptions
from cryptography.hazmat.primitives import hashes, hmac as chmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap_unittest  # noqa: E402
from tetherd_fixture import DEV_PROVIDER, Tetherd  # noqa: E402

PROVIDER = 'login.compat-oidc.test'
AUD = 'compat-client'
SERVER = None
ISSUER = None


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def int_b64(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, 'big'))


class Issuer:
    """A test OpenID issuer: an RSA key, its JWKS, RS256 tokens with any claims."""

    def __init__(self, iss, kid):
        self.iss, self.kid = iss, kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self):
        pub = self.key.public_key().public_numbers()
        return {'keys': [{'kty': 'RSA', 'kid': self.kid, 'alg': 'RS256', 'use': 'sig',
                          'n': int_b64(pub.n), 'e': int_b64(pub.e)}]}

    def claims(self, sub, aud=AUD):
        now = int(time.time())
        return {'iss': self.iss, 'sub': sub, 'aud': aud, 'iat': now, 'exp': now + 600}

    def sign(self, claims, header=None):
        header = header or {'alg': 'RS256', 'typ': 'JWT', 'kid': self.kid}
        signing_input = (b64url(json.dumps(header).encode()) + '.' + b64url(json.dumps(claims).encode())).encode()
        if header.get('alg') == 'RS256':
            sig = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif header.get('alg') == 'HS256':
            pem = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
            h = chmac.HMAC(pem, hashes.SHA256())
            h.update(signing_input)
            sig = h.finalize()
        else:
            sig = b''
        return signing_input.decode() + '.' + b64url(sig)

    def token(self, sub):
        return self.sign(self.claims(sub))


def setUpModule():
    global SERVER, ISSUER
    ISSUER = Issuer('https://compat-issuer.test', 'k1')
    SERVER = Tetherd()
    with open(os.path.join(SERVER.dir, 'jwks.json'), 'w') as f:
        json.dump(ISSUER.jwks(), f)
    with open(SERVER.config, 'a') as f:
        # Belongs to the last [[pools]] entry (TOML array-of-tables rules).
        f.write(f'''
[[pools.oidc_providers]]
name = "{PROVIDER}"
issuer = "{ISSUER.iss}"
audiences = ["{AUD}"]
jwks_file = "jwks.json"
''')
    SERVER.start()


def tearDownModule():
    if SERVER:
        SERVER.stop()


def identity(key='unused', secret='unused'):
    return SERVER.identity_client(key, secret)


def developer():
    return SERVER.identity_client(SERVER.dev_key, SERVER.dev_secret)


def sync(creds):
    return SERVER.sync_client(creds)


def put(creds, identity_id, dataset, key, value):
    s = sync(creds)
    listed = s.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=identity_id, DatasetName=dataset)
    s.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=identity_id, DatasetName=dataset,
                     SyncSessionToken=listed['SyncSessionToken'],
                     RecordPatches=[{'Op': 'replace', 'Key': key, 'Value': value, 'SyncCount': 0}])


def identity_count():
    out = developer().list_identities(IdentityPoolId=SERVER.pool_id, MaxResults=60)
    return len(out['Identities'])


def tetherd(*args):
    return subprocess.run([os.environ['TETHERD_BIN'], *args, *SERVER.admin_args()],
                          capture_output=True, text=True, timeout=60)


class LoginTest(unittest.TestCase):
    def code(self, call, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            call(**kw)
        return cm.exception.response['Error']['Code']

    def test_first_login_same_login_and_credentials(self):
        c = identity()
        first = c.get_id(IdentityPoolId=SERVER.pool_id, Logins={PROVIDER: ISSUER.token('alice')})['IdentityId']
        again = c.get_id(IdentityPoolId=SERVER.pool_id, Logins={PROVIDER: ISSUER.token('alice')})['IdentityId']
        self.assertEqual(first, again)
        creds = c.get_credentials_for_identity(IdentityId=first, Logins={PROVIDER: ISSUER.token('alice')})
        self.assertEqual(creds['IdentityId'], first)
        put(creds['Credentials'], first, 'prefs', 'k', 'v')
        tok = c.get_open_id_token(IdentityId=first, Logins={PROVIDER: ISSUER.token('alice')})['Token']
        payload = json.loads(base64.urlsafe_b64decode(tok.split('.')[1] + '=='))
        self.assertEqual(payload['amr'], ['authenticated', PROVIDER])
        self.assertEqual(self.code(c.get_credentials_for_identity, IdentityId=first), 'NotAuthorizedException')

    def test_guest_upgrade_then_merge(self):
        c = identity()
        guest = c.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        gcreds = c.get_credentials_for_identity(IdentityId=guest)['Credentials']
        put(gcreds, guest, 'prefs', 'theme', 'dark')
        up = c.get_credentials_for_identity(IdentityId=guest, Logins={PROVIDER: ISSUER.token('bob')})
        self.assertEqual(up['IdentityId'], guest, 'upgraded in place')
        bob = up['Credentials']
        # A second device's guest logs in as bob: folded into bob's identity.
        guest2 = c.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        g2creds = c.get_credentials_for_identity(IdentityId=guest2)['Credentials']
        put(g2creds, guest2, 'prefs', 'theme', 'light')
        merged = c.get_open_id_token(IdentityId=guest2, Logins={PROVIDER: ISSUER.token('bob')})
        self.assertEqual(merged['IdentityId'], guest)
        records = sync(bob).list_records(IdentityPoolId=SERVER.pool_id, IdentityId=guest, DatasetName='prefs')
        self.assertEqual(records['MergedDatasetNames'], ['prefs.' + guest2])
        self.assertEqual(records['Records'][0]['Value'], 'dark')
        moved = sync(bob).list_records(IdentityPoolId=SERVER.pool_id, IdentityId=guest, DatasetName='prefs.' + guest2)
        self.assertEqual(moved['Records'][0]['Value'], 'light')
        # The loser's credentials stop working.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sync(g2creds).list_datasets(IdentityPoolId=SERVER.pool_id, IdentityId=guest2)
        self.assertEqual(cm.exception.response['Error']['Code'], 'NotAuthorizedException')
        self.assertEqual(self.code(c.get_credentials_for_identity, IdentityId=guest2), 'NotAuthorizedException')

    def test_logins_dont_match(self):
        c = identity()
        a = c.get_id(IdentityPoolId=SERVER.pool_id, Logins={PROVIDER: ISSUER.token('carol')})['IdentityId']
        c.get_id(IdentityPoolId=SERVER.pool_id, Logins={PROVIDER: ISSUER.token('dave')})
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            c.get_open_id_token(IdentityId=a, Logins={PROVIDER: ISSUER.token('dave')})
        self.assertEqual(cm.exception.response['Error']['Code'], 'NotAuthorizedException')
        self.assertIn("Logins don't match", cm.exception.response['Error']['Message'])

    def test_every_bad_token_is_refused_and_creates_nothing(self):
        c = identity()
        guest = c.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        before = identity_count()
        base = ISSUER.claims('eve')
        other = Issuer(ISSUER.iss, 'k1')  # same kid, different key
        bad = {
            'expired': ISSUER.sign(dict(base, iat=base['iat'] - 7200, exp=base['iat'] - 3600)),
            'not-yet-valid': ISSUER.sign(dict(base, nbf=base['iat'] + 3600)),
            'wrong-audience': ISSUER.sign(dict(base, aud='someone-else')),
            'wrong-issuer': ISSUER.sign(dict(base, iss='https://evil.test')),
            'bad-signature': other.sign(base),
            'unknown-kid': ISSUER.sign(base, {'alg': 'RS256', 'typ': 'JWT', 'kid': 'nope'}),
            'alg-none': ISSUER.sign(base, {'alg': 'none', 'typ': 'JWT'}),
            'hs256-with-public-key': ISSUER.sign(base, {'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'}),
            'malformed': 'not-a-jwt',
        }
        for name, token in bad.items():
            with self.subTest(name):
                self.assertEqual(self.code(c.get_id, IdentityPoolId=SERVER.pool_id, Logins={PROVIDER: token}),
                                 'NotAuthorizedException')
                self.assertEqual(self.code(c.get_credentials_for_identity, IdentityId=guest,
                                           Logins={PROVIDER: token}), 'NotAuthorizedException')
        # Oversized tokens and unknown providers.
        self.assertEqual(self.code(c.get_id, IdentityPoolId=SERVER.pool_id, Logins={PROVIDER: 'a' * 50001}),
                         'InvalidParameterException')
        self.assertEqual(self.code(c.get_id, IdentityPoolId=SERVER.pool_id,
                                   Logins={'accounts.google.com': ISSUER.token('eve')}), 'NotAuthorizedException')
        self.assertEqual(self.code(c.get_id, IdentityPoolId=SERVER.pool_id, Logins={DEV_PROVIDER: 'eve'}),
                         'NotAuthorizedException')
        self.assertEqual(identity_count(), before)
        self.assertNotIn('Logins', developer().describe_identity(IdentityId=guest))

    def test_cli_credentials_work_with_the_sdk_at_once(self):
        made = tetherd('credentials', 'create', '--description', 'compat')
        self.assertEqual(made.returncode, 0, made.stderr)
        fields = dict(line.split(': ', 1) for line in made.stdout.strip().splitlines())
        dev = identity(fields['AccessKeyId'], fields['SecretAccessKey'])
        out = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id,
                                                           Logins={DEV_PROVIDER: 'cli-user'}, TokenDuration=300)
        looked = dev.lookup_developer_identity(IdentityPoolId=SERVER.pool_id, DeveloperUserIdentifier='cli-user')
        self.assertEqual(looked['IdentityId'], out['IdentityId'])
        creds = identity().get_credentials_for_identity(
            IdentityId=out['IdentityId'], Logins={'cognito-identity.amazonaws.com': out['Token']})
        self.assertEqual(creds['IdentityId'], out['IdentityId'])
        self.assertEqual(tetherd('credentials', 'delete', '--access-key-id', fields['AccessKeyId']).returncode, 0)
        self.assertEqual(self.code(dev.lookup_developer_identity, IdentityPoolId=SERVER.pool_id,
                                   DeveloperUserIdentifier='cli-user'), 'UnrecognizedClientException')

    def test_cli_oidc_provider_works_without_restart(self):
        late = Issuer('https://late-issuer.test', 'late-1')
        path = os.path.join(SERVER.dir, 'late.json')
        with open(path, 'w') as f:
            json.dump(late.jwks(), f)
        added = tetherd('pool', 'add-oidc-provider', '--pool', SERVER.pool_id, '--name', 'late.test',
                        '--issuer', late.iss, '--audience', AUD, '--jwks-file', path)
        self.assertEqual(added.returncode, 0, added.stderr)
        c = identity()
        deadline = time.monotonic() + 10
        while True:  # an unknown provider name re-reads the database at most every 2 s
            try:
                got = c.get_id(IdentityPoolId=SERVER.pool_id, Logins={'late.test': late.token('erin')})
                break
            except botocore.exceptions.ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.assertTrue(got['IdentityId'].startswith(SERVER.pool_id.split(':')[0] + ':'))


if __name__ == '__main__':
    tap_unittest.main(sys.modules[__name__])
