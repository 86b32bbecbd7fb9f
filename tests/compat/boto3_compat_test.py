"""boto3 against the real tetherd: every Cognito Identity and Cognito Sync operation, errors with
their codes and HTTP statuses, limits, conflicts, tombstones, pagination, deletion, identity
isolation, bad signatures, raw wire details (header case, CORS, malformed input), and interop
with the C++ library through the `tether` CLI.
"""
import datetime
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

import boto3
import botocore
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap_unittest  # noqa: E402
from tetherd_fixture import ClientErrorAssertions, DEV_PROVIDER, REGION, Tetherd  # noqa: E402

CFG = Config(retries={'max_attempts': 1}, connect_timeout=5, read_timeout=30)
SERVER = None


def setUpModule():
    global SERVER
    SERVER = Tetherd().start()


def tearDownModule():
    if SERVER:
        SERVER.stop()


def identity_client(key='unused', secret='unused'):
    return SERVER.identity_client(key, secret)


def developer_identity():
    return SERVER.identity_client(SERVER.dev_key, SERVER.dev_secret)


def developer_sync():
    return SERVER.sync_client()


def sync_client(creds):
    return SERVER.sync_client(creds)


def new_guest():
    iid, creds = SERVER.new_guest()
    return iid, SERVER.sync_client(creds), creds


def raw_http(data, timeout=10):
    s = socket.create_connection(('127.0.0.1', SERVER.port), timeout=timeout)
    try:
        s.sendall(data)
        buf = b''
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b'\r\n\r\n')
            if sep:
                for line in head.split(b'\r\n'):
                    if line.lower().startswith(b'content-length:'):
                        if len(body) >= int(line.split(b':')[1]):
                            return buf.decode('utf-8', 'replace')
        return buf.decode('utf-8', 'replace')
    finally:
        s.close()


class CognitoTestCase(ClientErrorAssertions, unittest.TestCase):
    """The base of this file's test cases (assertError from the fixture)."""


class IdentityApiTest(CognitoTestCase):
    def test_get_id_creates_a_new_guest_each_call(self):
        ci = identity_client()
        a = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        b = ci.get_id(IdentityPoolId=SERVER.pool_id, AccountId='123456789012')['IdentityId']
        self.assertNotEqual(a, b)
        self.assertRegex(a, r'^us-east-1:[0-9a-f-]{36}$')

    def test_credentials_shape(self):
        ci = identity_client()
        iid = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        r = ci.get_credentials_for_identity(IdentityId=iid)
        self.assertEqual(r['IdentityId'], iid)
        c = r['Credentials']
        self.assertRegex(c['AccessKeyId'], r'^ASIA[A-Z0-9]{16}$')
        self.assertEqual(len(c['SecretKey']), 40)
        self.assertGreaterEqual(len(c['SessionToken']), 100)
        left = c['Expiration'] - datetime.datetime.now(datetime.timezone.utc)
        self.assertTrue(datetime.timedelta(minutes=55) < left <= datetime.timedelta(minutes=61), left)

    def test_open_id_token_is_a_jwt_for_the_identity(self):
        ci = identity_client()
        iid = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        r = ci.get_open_id_token(IdentityId=iid)
        self.assertEqual(r['IdentityId'], iid)
        payload = r['Token'].split('.')[1]
        claims = json.loads(urllib.parse.unquote(__import__('base64').urlsafe_b64decode(payload + '===').decode()))
        self.assertEqual(claims['sub'], iid)
        self.assertEqual(claims['aud'], SERVER.pool_id)
        self.assertIn('unauthenticated', claims['amr'])

    def test_identity_errors(self):
        ci = identity_client()
        self.assertError('ResourceNotFoundException', 400, ci.get_id,
                         IdentityPoolId='us-east-1:00000000-0000-0000-0000-000000000000')
        self.assertError('InvalidParameterException', 400, ci.get_id, IdentityPoolId='not-a-pool-id')
        self.assertError('ResourceNotFoundException', 400, ci.get_credentials_for_identity,
                         IdentityId='us-east-1:00000000-0000-0000-0000-000000000000')
        iid = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        self.assertError('NotAuthorizedException', 400, ci.get_credentials_for_identity, IdentityId=iid,
                         Logins={'graph.facebook.com': 'FBTOKEN'})
        self.assertError('NotAuthorizedException', 400, ci.get_open_id_token, IdentityId=iid,
                         Logins={'cognito-identity.amazonaws.com': 'not.a.jwt'})
        self.assertError('NotAuthorizedException', 400, ci.unlink_identity, IdentityId=iid,
                         Logins={}, LoginsToRemove=['graph.facebook.com'])

    def test_developer_operations_need_developer_credentials(self):
        self.assertError('UnrecognizedClientException', 403, identity_client('AKIAUNKNOWN000000000', 'x' * 40)
                         .list_identities, IdentityPoolId=SERVER.pool_id, MaxResults=10)
        self.assertError('InvalidSignatureException', 403, identity_client(SERVER.dev_key, 'wrong' * 8)
                         .list_identities, IdentityPoolId=SERVER.pool_id, MaxResults=10)
        # Temporary (guest) credentials are valid signatures but not developer rights.
        ci = identity_client()
        iid = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        c = ci.get_credentials_for_identity(IdentityId=iid)['Credentials']
        guest = boto3.client('cognito-identity', endpoint_url=SERVER.endpoint, region_name=REGION,
                             aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretKey'],
                             aws_session_token=c['SessionToken'], config=CFG)
        self.assertError('NotAuthorizedException', 400, guest.list_identities, IdentityPoolId=SERVER.pool_id,
                         MaxResults=10)

    def test_developer_authenticated_identity_flow(self):
        dev = developer_identity()
        user = 'user-' + os.urandom(4).hex()
        t = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id,
                                                         Logins={DEV_PROVIDER: user}, TokenDuration=3600)
        iid = t['IdentityId']
        again = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id,
                                                             Logins={DEV_PROVIDER: user})
        self.assertEqual(again['IdentityId'], iid)
        look = dev.lookup_developer_identity(IdentityPoolId=SERVER.pool_id, DeveloperUserIdentifier=user)
        self.assertEqual(look['IdentityId'], iid)
        self.assertEqual(look['DeveloperUserIdentifierList'], [user])
        self.assertEqual(dev.lookup_developer_identity(IdentityPoolId=SERVER.pool_id, IdentityId=iid,
                                                       MaxResults=10)['DeveloperUserIdentifierList'], [user])
        desc = dev.describe_identity(IdentityId=iid)
        self.assertEqual(desc['Logins'], [DEV_PROVIDER])
        # The device: the developer token as a login; without it the identity is forbidden.
        ci = identity_client()
        creds = ci.get_credentials_for_identity(IdentityId=iid,
                                                Logins={'cognito-identity.amazonaws.com': t['Token']})
        self.assertEqual(creds['IdentityId'], iid)
        self.assertEqual(ci.get_id(IdentityPoolId=SERVER.pool_id,
                                   Logins={'cognito-identity.amazonaws.com': t['Token']})['IdentityId'], iid)
        self.assertError('NotAuthorizedException', 400, ci.get_credentials_for_identity, IdentityId=iid)
        # A guest upgraded to the developer user keeps its identity.
        guest = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        up = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id, IdentityId=guest,
                                                          Logins={DEV_PROVIDER: user + '-g'})
        self.assertEqual(up['IdentityId'], guest)
        self.assertError('DeveloperUserAlreadyRegisteredException', 400,
                         dev.get_open_id_token_for_developer_identity, IdentityPoolId=SERVER.pool_id,
                         IdentityId=guest, Logins={DEV_PROVIDER: user})
        # A guest with data logging in as a user who already has an identity is folded into it.
        g2 = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        g2sync = sync_client(ci.get_credentials_for_identity(IdentityId=g2)['Credentials'])
        tok = g2sync.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=g2, DatasetName='notes')
        g2sync.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=g2, DatasetName='notes',
                              SyncSessionToken=tok['SyncSessionToken'],
                              RecordPatches=[{'Op': 'replace', 'Key': 'n', 'Value': 'offline', 'SyncCount': 0}])
        folded = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id, IdentityId=g2,
                                                              Logins={DEV_PROVIDER: user})
        self.assertEqual(folded['IdentityId'], iid)
        moved = developer_sync().list_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid,
                                              DatasetName=f'notes.{g2}')
        self.assertEqual([(r['Key'], r['Value']) for r in moved['Records']], [('n', 'offline')])
        self.assertError('NotAuthorizedException', 403, g2sync.list_datasets, IdentityPoolId=SERVER.pool_id,
                         IdentityId=g2)  # the folded guest is disabled
        self.assertError('ResourceConflictException', 400, dev.lookup_developer_identity,
                         IdentityPoolId=SERVER.pool_id, IdentityId=guest, DeveloperUserIdentifier=user)
        self.assertError('ResourceNotFoundException', 400, dev.lookup_developer_identity,
                         IdentityPoolId=SERVER.pool_id, DeveloperUserIdentifier='nobody-' + user)
        # Unlinking the last login disables the identity.
        dev.unlink_developer_identity(IdentityId=guest, IdentityPoolId=SERVER.pool_id,
                                      DeveloperProviderName=DEV_PROVIDER, DeveloperUserIdentifier=user + '-g')
        self.assertError('NotAuthorizedException', 400, ci.get_credentials_for_identity, IdentityId=guest)
        # UnlinkIdentity from the device, proving ownership with its token.
        other = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id,
                                                             Logins={DEV_PROVIDER: user + '-u'})
        cognito_login = {'cognito-identity.amazonaws.com': other['Token']}
        ci.unlink_identity(IdentityId=other['IdentityId'], Logins=cognito_login, LoginsToRemove=[DEV_PROVIDER])
        self.assertError('NotAuthorizedException', 400, ci.get_credentials_for_identity,
                         IdentityId=other['IdentityId'], Logins=cognito_login)
        self.assertError('ResourceNotFoundException', 400, dev.lookup_developer_identity,
                         IdentityPoolId=SERVER.pool_id, DeveloperUserIdentifier=user + '-u')

    def test_merge_developer_identities_moves_data(self):
        dev = developer_identity()
        dsync = developer_sync()
        src_user, dst_user = 'src-' + os.urandom(4).hex(), 'dst-' + os.urandom(4).hex()
        src = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id,
                                                           Logins={DEV_PROVIDER: src_user})['IdentityId']
        dst = dev.get_open_id_token_for_developer_identity(IdentityPoolId=SERVER.pool_id,
                                                           Logins={DEV_PROVIDER: dst_user})['IdentityId']
        for iid, value in ((src, 'from-src'), (dst, 'from-dst')):
            tok = dsync.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='game')
            dsync.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='game',
                                 SyncSessionToken=tok['SyncSessionToken'],
                                 RecordPatches=[{'Op': 'replace', 'Key': 'level', 'Value': value, 'SyncCount': 0}])
        r = dev.merge_developer_identities(SourceUserIdentifier=src_user, DestinationUserIdentifier=dst_user,
                                           DeveloperProviderName=DEV_PROVIDER, IdentityPoolId=SERVER.pool_id)
        self.assertEqual(r['IdentityId'], dst)
        merged = f'game.{src}'
        recs = dsync.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=dst, DatasetName='game')
        self.assertEqual(recs['MergedDatasetNames'], [merged])
        self.assertEqual(recs['Records'][0]['Value'], 'from-dst')
        m = dsync.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=dst, DatasetName=merged)
        self.assertEqual([(x['Key'], x['Value']) for x in m['Records']], [('level', 'from-src')])
        self.assertEqual(dev.lookup_developer_identity(IdentityPoolId=SERVER.pool_id,
                                                       DeveloperUserIdentifier=src_user)['IdentityId'], dst)
        # Deleting the merged dataset ends the merge report.
        dsync.delete_dataset(IdentityPoolId=SERVER.pool_id, IdentityId=dst, DatasetName=merged)
        recs = dsync.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=dst, DatasetName='game')
        self.assertEqual(recs.get('MergedDatasetNames', []), [])
        listed = dev.list_identities(IdentityPoolId=SERVER.pool_id, MaxResults=60, HideDisabled=True)
        self.assertNotIn(src, [i['IdentityId'] for i in listed['Identities']])

    def test_list_describe_delete_identities_and_pools(self):
        dev = developer_identity()
        ci = identity_client()
        mine = {ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId'] for _ in range(5)}
        seen, token = [], None
        while True:
            kw = {'NextToken': token} if token else {}
            page = dev.list_identities(IdentityPoolId=SERVER.pool_id, MaxResults=2, **kw)
            self.assertLessEqual(len(page['Identities']), 2)
            seen += [i['IdentityId'] for i in page['Identities']]
            token = page.get('NextToken')
            if not token:
                break
        self.assertTrue(mine <= set(seen))
        self.assertEqual(len(seen), len(set(seen)))
        victim = sorted(mine)[0]
        self.assertIn('CreationDate', dev.describe_identity(IdentityId=victim))
        r = dev.delete_identities(IdentityIdsToDelete=[victim])
        self.assertEqual(r['UnprocessedIdentityIds'], [])
        self.assertError('ResourceNotFoundException', 400, dev.describe_identity, IdentityId=victim)
        pool = dev.describe_identity_pool(IdentityPoolId=SERVER.pool_id)
        self.assertEqual(pool['IdentityPoolName'], 'compat')
        self.assertTrue(pool['AllowUnauthenticatedIdentities'])
        self.assertEqual(pool['DeveloperProviderName'], DEV_PROVIDER)
        pools = dev.list_identity_pools(MaxResults=60)['IdentityPools']
        self.assertIn(SERVER.pool_id, [p['IdentityPoolId'] for p in pools])
        self.assertError('InvalidParameterException', 400, dev.list_identities, IdentityPoolId=SERVER.pool_id,
                         MaxResults=61)


class SyncApiTest(CognitoTestCase):
    def test_records_round_trip_and_conflict(self):
        iid, cs, _ = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='prefs')
        first = cs.list_records(**kw)
        self.assertFalse(first['DatasetExists'])
        self.assertEqual(first['DatasetSyncCount'], 0)
        self.assertEqual(first['Records'], [])
        up = cs.update_records(SyncSessionToken=first['SyncSessionToken'], DeviceId='dev-1',
                               ClientContext='eyJjbGllbnQiOnt9fQ==',
                               RecordPatches=[{'Op': 'replace', 'Key': 'theme', 'Value': 'dark', 'SyncCount': 0,
                                               'DeviceLastModifiedDate': datetime.datetime(2023, 11, 14, 22, 13, 20)},
                                              {'Op': 'replace', 'Key': 'lang', 'Value': 'de', 'SyncCount': 0}],
                               **kw)
        self.assertEqual({r['Key']: r['SyncCount'] for r in up['Records']}, {'theme': 1, 'lang': 1})
        self.assertEqual(up['Records'][0]['LastModifiedBy'], 'dev-1')
        err = self.assertError('ResourceConflictException', 409, cs.update_records,
                               SyncSessionToken=first['SyncSessionToken'],
                               RecordPatches=[{'Op': 'replace', 'Key': 'theme', 'Value': 'light', 'SyncCount': 0},
                                              {'Op': 'replace', 'Key': 'new', 'Value': 'x', 'SyncCount': 0}], **kw)
        self.assertIn('Current SyncCount for: theme is: 1 not: 0', err['Error']['Message'])
        after = cs.list_records(**kw)
        self.assertEqual(after['DatasetSyncCount'], 1)
        self.assertEqual(sorted(r['Key'] for r in after['Records']), ['lang', 'theme'])  # nothing of the batch
        d = cs.describe_dataset(**kw)['Dataset']
        self.assertEqual((d['NumRecords'], d['DataStorage']), (2, len('themedarklangde')))
        usage = cs.describe_identity_usage(IdentityPoolId=SERVER.pool_id, IdentityId=iid)['IdentityUsage']
        self.assertEqual((usage['DatasetCount'], usage['DataStorage']), (1, 15))
        # No patches: legal, changes nothing.
        self.assertEqual(cs.update_records(SyncSessionToken=after['SyncSessionToken'], **kw)['Records'], [])
        self.assertEqual(cs.list_records(**kw)['DatasetSyncCount'], 1)

    def test_tombstones_and_incremental_pull(self):
        iid, cs, _ = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='t')
        tok = cs.list_records(**kw)['SyncSessionToken']
        cs.update_records(SyncSessionToken=tok, RecordPatches=[
            {'Op': 'replace', 'Key': 'a', 'Value': '1', 'SyncCount': 0},
            {'Op': 'replace', 'Key': 'b', 'Value': '2', 'SyncCount': 0}], **kw)
        r = cs.update_records(SyncSessionToken=tok, RecordPatches=[{'Op': 'remove', 'Key': 'a', 'SyncCount': 1}],
                              **kw)
        self.assertNotIn('Value', r['Records'][0])
        self.assertEqual(r['Records'][0]['SyncCount'], 2)
        since1 = cs.list_records(LastSyncCount=1, **kw)
        self.assertEqual([(x['Key'], 'Value' in x) for x in since1['Records']], [('a', False)])
        everything = cs.list_records(LastSyncCount=0, **kw)
        self.assertEqual(len(everything['Records']), 2)
        self.assertEqual(cs.describe_dataset(**kw)['Dataset']['NumRecords'], 1)

    def test_record_and_dataset_pagination(self):
        iid, cs, _ = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='big')
        tok = cs.list_records(**kw)['SyncSessionToken']
        cs.update_records(SyncSessionToken=tok, RecordPatches=[
            {'Op': 'replace', 'Key': f'k{i:02d}', 'Value': str(i), 'SyncCount': 0} for i in range(25)], **kw)
        keys, token, pages = [], None, 0
        while True:
            page = cs.list_records(MaxResults=10, **({'NextToken': token} if token else {}), **kw)
            pages += 1
            self.assertEqual(page['Count'], len(page['Records']))
            self.assertEqual(page['DatasetSyncCount'], 1)
            keys += [r['Key'] for r in page['Records']]
            token = page.get('NextToken')
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(keys), [f'k{i:02d}' for i in range(25)])
        for name in ('d1', 'd2', 'd3', 'd4'):
            t = cs.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName=name)
            cs.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName=name,
                              SyncSessionToken=t['SyncSessionToken'],
                              RecordPatches=[{'Op': 'replace', 'Key': 'x', 'Value': 'y', 'SyncCount': 0}])
        names, token = [], None
        while True:
            page = cs.list_datasets(IdentityPoolId=SERVER.pool_id, IdentityId=iid, MaxResults=2,
                                    **({'NextToken': token} if token else {}))
            self.assertLessEqual(len(page['Datasets']), 2)
            names += [d['DatasetName'] for d in page['Datasets']]
            token = page.get('NextToken')
            if not token:
                break
        self.assertEqual(names, ['big', 'd1', 'd2', 'd3', 'd4'])

    def test_delete_dataset(self):
        iid, cs, _ = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='gone')
        tok = cs.list_records(**kw)['SyncSessionToken']
        cs.update_records(SyncSessionToken=tok, RecordPatches=[{'Op': 'replace', 'Key': 'k', 'Value': 'v',
                                                                'SyncCount': 0}], **kw)
        deleted = cs.delete_dataset(**kw)['Dataset']
        self.assertEqual((deleted['DatasetName'], deleted['NumRecords']), ('gone', 1))
        self.assertError('ResourceNotFoundException', 404, cs.describe_dataset, **kw)
        self.assertError('ResourceNotFoundException', 404, cs.delete_dataset, **kw)
        after = cs.list_records(LastSyncCount=1, **kw)
        self.assertFalse(after['DatasetExists'])
        self.assertTrue(after['DatasetDeletedAfterRequestedSyncCount'])
        self.assertEqual(cs.list_datasets(IdentityPoolId=SERVER.pool_id, IdentityId=iid)['Datasets'], [])

    def test_limits_and_validation(self):
        iid, cs, _ = new_guest()
        base = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid)
        for i in range(20):
            t = cs.list_records(DatasetName=f'ds{i}', **base)['SyncSessionToken']
            cs.update_records(DatasetName=f'ds{i}', SyncSessionToken=t,
                              RecordPatches=[{'Op': 'replace', 'Key': 'k', 'Value': 'v', 'SyncCount': 0}], **base)
        t = cs.list_records(DatasetName='ds20', **base)['SyncSessionToken']
        self.assertError('LimitExceededException', 400, cs.update_records, DatasetName='ds20', SyncSessionToken=t,
                         RecordPatches=[{'Op': 'replace', 'Key': 'k', 'Value': 'v', 'SyncCount': 0}], **base)
        t = cs.list_records(DatasetName='ds0', **base)['SyncSessionToken']
        self.assertError('LimitExceededException', 400, cs.update_records, DatasetName='ds0', SyncSessionToken=t,
                         RecordPatches=[{'Op': 'replace', 'Key': f'big{i}', 'Value': 'x' * 400000, 'SyncCount': 0}
                                        for i in range(3)], **base)
        self.assertError('InvalidParameterException', 400, cs.update_records, DatasetName='ds0', SyncSessionToken=t,
                         RecordPatches=[{'Op': 'replace', 'Key': 'k' * 1025, 'Value': 'v', 'SyncCount': 0}], **base)
        self.assertError('InvalidParameterException', 400, cs.update_records, DatasetName='ds0',
                         SyncSessionToken='forged-token',
                         RecordPatches=[{'Op': 'replace', 'Key': 'z', 'Value': 'v', 'SyncCount': 0}], **base)
        self.assertError('InvalidParameterException', 400, cs.update_records, DatasetName='ds1', SyncSessionToken=t,
                         RecordPatches=[{'Op': 'replace', 'Key': 'z', 'Value': 'v', 'SyncCount': 0}], **base)
        self.assertError('InvalidParameterException', 400, cs.list_records, DatasetName='bad name', **base)
        self.assertError('InvalidParameterException', 400, cs.list_records, DatasetName='x' * 129, **base)
        self.assertEqual(cs.describe_dataset(DatasetName='ds0', **base)['Dataset']['NumRecords'], 1)

    def test_identity_isolation(self):
        a, csa, _ = new_guest()
        b, csb, _ = new_guest()
        t = csb.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=b, DatasetName='private')
        csb.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=b, DatasetName='private',
                           SyncSessionToken=t['SyncSessionToken'],
                           RecordPatches=[{'Op': 'replace', 'Key': 'secret', 'Value': 's', 'SyncCount': 0}])
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=b, DatasetName='private')
        self.assertError('NotAuthorizedException', 403, csa.list_records, **kw)
        self.assertError('NotAuthorizedException', 403, csa.describe_dataset, **kw)
        self.assertError('NotAuthorizedException', 403, csa.delete_dataset, **kw)
        self.assertError('NotAuthorizedException', 403, csa.list_datasets, IdentityPoolId=SERVER.pool_id, IdentityId=b)
        self.assertError('NotAuthorizedException', 403, csa.update_records, SyncSessionToken=t['SyncSessionToken'],
                         RecordPatches=[{'Op': 'replace', 'Key': 'secret', 'Value': 'x', 'SyncCount': 1}], **kw)
        self.assertError('NotAuthorizedException', 403, csa.describe_identity_usage, IdentityPoolId=SERVER.pool_id,
                         IdentityId=b)
        self.assertError('NotAuthorizedException', 403, csa.describe_identity_pool_usage,
                         IdentityPoolId=SERVER.pool_id)
        self.assertEqual(csb.list_records(**kw)['Records'][0]['Value'], 's')

    def test_bad_signatures(self):
        iid, _, creds = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid)
        wrong_secret = dict(creds, SecretKey='A' * 40)
        self.assertError('InvalidSignatureException', 403, sync_client(wrong_secret).list_datasets, **kw)
        token = creds['SessionToken']
        tampered = dict(creds, SessionToken=token[:20] + ('A' if token[20] != 'A' else 'B') + token[21:])
        self.assertError('UnrecognizedClientException', 403, sync_client(tampered).list_datasets, **kw)
        no_token = boto3.client('cognito-sync', endpoint_url=SERVER.endpoint, region_name=REGION,
                                aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretKey'],
                                config=CFG)
        self.assertError('UnrecognizedClientException', 403, no_token.list_datasets, **kw)
        unsigned = boto3.client('cognito-sync', endpoint_url=SERVER.endpoint, region_name=REGION, config=Config(
            signature_version=botocore.UNSIGNED, retries={'max_attempts': 1}))
        self.assertError('MissingAuthenticationTokenException', 403, unsigned.list_datasets, **kw)
        # Clock skew: a correct signature dated 10 minutes ago.
        path = f'/identitypools/{urllib.parse.quote(SERVER.pool_id, safe="")}/identities/' \
               f'{urllib.parse.quote(iid, safe="")}/datasets'
        old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)).strftime('%Y%m%dT%H%M%SZ')
        resp = raw_http(signed_get(path, creds, old).encode())
        self.assertIn(' 403 ', resp.split('\r\n')[0])
        self.assertIn('x-amzn-ErrorType: InvalidSignatureException:', resp)
        self.assertIn('Signature expired', resp)
        fresh = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
        self.assertIn(' 200 ', raw_http(signed_get(path, creds, fresh).encode()).split('\r\n')[0])
        # Headers outside the usual set are part of the signature when the client signs them
        # (the Android SDK signs content-md5 when present): accepted when intact ...
        md5 = ('content-md5', '1B2M2Y8AsgTpgAmY7PhCfg==')
        resp = raw_http(signed_get(path, creds, fresh, [md5, ('x-custom-thing', 'a b')]).encode())
        self.assertIn(' 200 ', resp.split('\r\n')[0], resp)
        # ... and refused when changed in transit.
        tampered = signed_get(path, creds, fresh, [md5]).replace('1B2M2Y8AsgTpgAmY7PhCfg==', 'AAAAAAAAAAAAAAAAAAAAAA==')
        resp = raw_http(tampered.encode())
        self.assertIn(' 403 ', resp.split('\r\n')[0], resp)
        self.assertIn('x-amzn-ErrorType: InvalidSignatureException:', resp)

    def test_push_events_streams_and_pool_operations(self):
        # RegisterDevice / Subscribe / Unsubscribe: push_sync_compat_test.py.
        iid, _, _ = new_guest()
        dev = developer_sync()
        self.assertEqual(dev.get_cognito_events(IdentityPoolId=SERVER.pool_id)['Events'], {})
        arn = 'arn:aws:lambda:us-east-1:123456789012:function:f'
        dev.set_cognito_events(IdentityPoolId=SERVER.pool_id, Events={'SyncTrigger': arn})
        self.assertEqual(dev.get_cognito_events(IdentityPoolId=SERVER.pool_id)['Events'], {'SyncTrigger': arn})
        self.assertError('InvalidParameterException', 400, dev.set_cognito_events, IdentityPoolId=SERVER.pool_id,
                         Events={'Bogus': arn})
        # This ARN has no [[sync_triggers]] target here: left set, every guest write of the pool
        # would fail (InvalidLambdaFunctionOutputException). An empty ARN removes it.
        dev.set_cognito_events(IdentityPoolId=SERVER.pool_id, Events={'SyncTrigger': ''})
        self.assertEqual(dev.get_cognito_events(IdentityPoolId=SERVER.pool_id)['Events'], {})
        conf = dev.set_identity_pool_configuration(
            IdentityPoolId=SERVER.pool_id,
            PushSync={'ApplicationArns': ['arn:aws:sns:us-east-1:123456789012:app/GCM/myapp'],
                      'RoleArn': 'arn:aws:iam::123456789012:role/r'},
            CognitoStreams={'StreamName': 's', 'RoleArn': 'arn:aws:iam::123456789012:role/r',
                            'StreamingStatus': 'ENABLED'})
        got = dev.get_identity_pool_configuration(IdentityPoolId=SERVER.pool_id)
        self.assertEqual(got['CognitoStreams'], conf['CognitoStreams'])
        self.assertEqual(got['PushSync']['ApplicationArns'], ['arn:aws:sns:us-east-1:123456789012:app/GCM/myapp'])
        # Streaming is ENABLED: BulkPublish starts a run (docs/events.md); the stream 's' has no sink
        # configured here, so its records wait in the outbox. A second start is refused as AWS does.
        self.assertEqual(dev.get_bulk_publish_details(IdentityPoolId=SERVER.pool_id)['BulkPublishStatus'],
                         'NOT_STARTED')
        self.assertEqual(dev.bulk_publish(IdentityPoolId=SERVER.pool_id)['IdentityPoolId'], SERVER.pool_id)
        details = dev.get_bulk_publish_details(IdentityPoolId=SERVER.pool_id)
        self.assertIn(details['BulkPublishStatus'], ('IN_PROGRESS', 'SUCCEEDED'))
        self.assertIsInstance(details['BulkPublishStartTime'], datetime.datetime)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            dev.bulk_publish(IdentityPoolId=SERVER.pool_id)
        self.assertIn(cm.exception.response['Error']['Code'], ('DuplicateRequestException', 'AlreadyStreamedException'))
        # Streaming off: refused.
        dev.set_identity_pool_configuration(IdentityPoolId=SERVER.pool_id,
                                            CognitoStreams={'StreamName': 's', 'StreamingStatus': 'DISABLED'})
        self.assertError('InvalidParameterException', 400, dev.bulk_publish, IdentityPoolId=SERVER.pool_id)
        usage = dev.describe_identity_pool_usage(IdentityPoolId=SERVER.pool_id)['IdentityPoolUsage']
        self.assertEqual(usage['IdentityPoolId'], SERVER.pool_id)
        listed = dev.list_identity_pool_usage(MaxResults=5)
        self.assertIn(SERVER.pool_id, [u['IdentityPoolId'] for u in listed['IdentityPoolUsages']])
        self.assertError('ResourceNotFoundException', 404, dev.describe_identity_pool_usage,
                         IdentityPoolId='us-east-1:00000000-0000-0000-0000-000000000000')
        # Developer credentials reach any identity's data.
        self.assertEqual(dev.list_datasets(IdentityPoolId=SERVER.pool_id, IdentityId=iid)['Datasets'], [])


def signed_get(path, creds, amz_date, extra=None):
    """A GET signed by hand; `extra` = more (lower-case name, value) headers, sent and signed."""
    host = f'127.0.0.1:{SERVER.port}'
    canon_uri = urllib.parse.quote(path, safe='/~')
    headers = sorted([('host', host), ('x-amz-date', amz_date),
                      ('x-amz-security-token', creds['SessionToken'])] + list(extra or []))
    sh = ';'.join(n for n, _ in headers)
    creq = '\n'.join(['GET', canon_uri, '', ''.join(f'{n}:{v}\n' for n, v in headers), sh,
                      hashlib.sha256(b'').hexdigest()])
    scope = f'{amz_date[:8]}/{REGION}/cognito-sync/aws4_request'
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ('AWS4' + creds['SecretKey']).encode()
    for part in (amz_date[:8], REGION, 'cognito-sync', 'aws4_request'):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    lines = ''.join(f'{n}: {v}\r\n' for n, v in headers if n != 'host')
    return (f'GET {path} HTTP/1.1\r\nHost: {host}\r\n{lines}Authorization: AWS4-HMAC-SHA256 '
            f'Credential={creds["AccessKeyId"]}/{scope}, SignedHeaders={sh}, Signature={sig}\r\n\r\n')


class WireTest(CognitoTestCase):
    def test_error_header_case_and_body_on_the_wire(self):
        body = json.dumps({'IdentityPoolId': 'us-east-1:00000000-0000-0000-0000-000000000000'})
        resp = raw_http((f'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
                         f'Content-Type: application/x-amz-json-1.1\r\nContent-Length: {len(body)}\r\n\r\n{body}')
                        .encode())
        self.assertIn('\r\nx-amzn-ErrorType: ResourceNotFoundException:\r\n', resp)  # exact case (Android)
        self.assertIn('\r\nx-amzn-RequestId: ', resp)
        payload = json.loads(resp.split('\r\n\r\n', 1)[1])
        self.assertEqual(payload['__type'], 'ResourceNotFoundException')
        self.assertIn('message', payload)

    def test_cors_preflight(self):
        resp = raw_http(b'OPTIONS /identitypools/x/identities/y/datasets HTTP/1.1\r\nHost: x\r\n'
                        b'Origin: http://app.example\r\nAccess-Control-Request-Method: GET\r\n'
                        b'Access-Control-Request-Headers: authorization,x-amz-date,x-amz-security-token\r\n\r\n')
        self.assertIn(' 200 ', resp.split('\r\n')[0])
        self.assertIn('Access-Control-Allow-Origin: *', resp)
        self.assertIn('Access-Control-Allow-Headers: authorization,x-amz-date,x-amz-security-token', resp)
        self.assertIn('Access-Control-Expose-Headers: x-amzn-RequestId,x-amzn-ErrorType', resp)

    def test_malformed_requests_get_errors_and_server_stays_up(self):
        cases = [
            (b'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
             b'Content-Length: 6\r\n\r\n{"Iden', '400', 'SerializationException'),
            (b'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
             b'Content-Length: 24\r\n\r\n{"IdentityPoolId": true}', '400', 'InvalidParameterException'),
            (b'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.Nope\r\n'
             b'Content-Length: 2\r\n\r\n{}', '400', 'UnknownOperationException'),
            (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', '400', 'UnknownOperationException'),
            (b'GET /identitypools/a/b/c/d/e/f/g HTTP/1.1\r\nHost: x\r\n\r\n', '404', 'UnknownOperationException'),
            (b'GET /identitypools/a/identities/b/datasets HTTP/1.1\r\nHost: x\r\n\r\n', '403',
             'MissingAuthenticationTokenException'),
            (b'GET /identitypools/a/identities/b/datasets HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 x'
             b'\r\nX-Amz-Date: 20240102T030405Z\r\n\r\n', '400', 'IncompleteSignatureException'),
        ]
        for raw, status, code in cases:
            resp = raw_http(raw)
            self.assertIn(f' {status} ', resp.split('\r\n')[0], resp)
            self.assertIn(f'x-amzn-ErrorType: {code}:', resp)
        big = b'x' * (5 << 20)
        resp = raw_http(b'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
                        b'Content-Length: ' + str(len(big)).encode() + b'\r\n\r\n' + big)
        self.assertIn(' 413 ', resp.split('\r\n')[0])
        self.assertIn('x-amzn-ErrorType: LimitExceededException:', resp)
        deep = b'{"IdentityPoolId":' + b'[' * 1500000 + b']' * 1500000 + b'}'  # 3 MB of nesting
        resp = raw_http(b'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n'
                        b'Content-Length: ' + str(len(deep)).encode() + b'\r\n\r\n' + deep)
        self.assertIn('x-amzn-ErrorType: InvalidParameterException:', resp)
        self.assertTrue(SERVER.alive())
        self.assertIn(' 200 ', raw_http(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n').split('\r\n')[0])


@unittest.skipUnless(os.environ.get('TETHER_CLI') and os.path.exists(os.environ.get('TETHER_CLI', '')),
                     'tether CLI not built')
class CliInteropTest(CognitoTestCase):
    def cli(self, cache, *args):
        cmd = [os.environ['TETHER_CLI'], '--server', SERVER.ws_url, '--pool', SERVER.pool_id, '--cache', cache,
               '--timeout', '20', *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f'{cmd}: {p.stdout} {p.stderr}')
        return p.stdout.strip()

    def test_cli_and_boto3_see_each_others_writes(self):
        d = tempfile.mkdtemp(dir=SERVER.dir)
        cache = os.path.join(d, 'dev.db')
        iid = self.cli(cache, 'whoami').splitlines()[-1].strip()
        self.assertRegex(iid, r'^us-east-1:[0-9a-f-]+$')
        self.cli(cache, 'put', 'shared', 'from_cli', 'hello')
        self.cli(cache, 'sync', 'shared')
        ci = identity_client()
        cs = sync_client(ci.get_credentials_for_identity(IdentityId=iid)['Credentials'])
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid, DatasetName='shared')
        got = cs.list_records(**kw)
        self.assertEqual({r['Key']: r.get('Value') for r in got['Records']}, {'from_cli': 'hello'})
        cs.update_records(SyncSessionToken=got['SyncSessionToken'], DeviceId='boto3', RecordPatches=[
            {'Op': 'replace', 'Key': 'from_boto3', 'Value': 'hi', 'SyncCount': 0},
            {'Op': 'remove', 'Key': 'from_cli', 'SyncCount': got['Records'][0]['SyncCount']}], **kw)
        self.cli(cache, 'sync', 'shared')
        self.assertEqual(self.cli(cache, 'get', 'shared', 'from_boto3'), 'hi')
        listing = self.cli(cache, 'ls', 'shared')
        self.assertIn('from_boto3=hi', listing)
        self.assertNotIn('from_cli', listing)


if __name__ == '__main__':
    tap_unittest.main(sys.modules[__name__])
