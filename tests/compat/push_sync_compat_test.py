"""boto3 against the real tetherd: Cognito push sync (RegisterDevice, SubscribeToDataset,
UnsubscribeFromDataset). Devices and subscriptions are stored per identity; they drive mobile
push when the pool and [[push_apps]] configure it (tests/integration/push_test.cpp) and live-sync
notifications on native connections presenting the DeviceId
(tests/integration/device_subscriptions_test.cpp). Happy paths, the same
DeviceId for the same platform + token, errors with their codes and HTTP statuses, identity
isolation, and that the stored subscriptions survive a tetherd restart.
"""
import os
import sys
import unittest


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap_unittest  # noqa: E402
from tetherd_fixture import ClientErrorAssertions, Tetherd  # noqa: E402

SERVER = None


def setUpModule():
    global SERVER
    SERVER = Tetherd().start()


def tearDownModule():
    if SERVER:
        SERVER.stop()


def new_guest():
    iid, creds = SERVER.new_guest()
    return iid, SERVER.sync_client(creds)


def body(resp):
    return {k: v for k, v in resp.items() if k != 'ResponseMetadata'}


class PushSyncTest(ClientErrorAssertions, unittest.TestCase):
    def test_register_device_returns_the_same_id_for_the_same_platform_and_token(self):
        iid, cs = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid)
        first = cs.register_device(Platform='GCM', Token='pushtok', **kw)
        self.assertEqual(list(body(first)), ['DeviceId'])
        dev = first['DeviceId']
        self.assertRegex(dev, r'^us-east-1:[0-9a-f-]{36}$')
        self.assertEqual(cs.register_device(Platform='GCM', Token='pushtok', **kw)['DeviceId'], dev)
        for platform in ('APNS', 'APNS_SANDBOX', 'ADM'):
            self.assertNotEqual(cs.register_device(Platform=platform, Token='pushtok', **kw)['DeviceId'], dev)
        self.assertNotEqual(cs.register_device(Platform='GCM', Token='other', **kw)['DeviceId'], dev)
        # Another identity registering the same token gets a device of its own.
        other, cso = new_guest()
        self.assertNotEqual(cso.register_device(IdentityPoolId=SERVER.pool_id, IdentityId=other,
                                                Platform='GCM', Token='pushtok')['DeviceId'], dev)

    def test_subscribe_and_unsubscribe(self):
        iid, cs = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid)
        dev = cs.register_device(Platform='APNS', Token='a' * 64, **kw)['DeviceId']
        # The dataset does not exist yet: allowed (its creation is a change the device wants).
        self.assertEqual(body(cs.subscribe_to_dataset(DatasetName='prefs', DeviceId=dev, **kw)), {})
        self.assertEqual(body(cs.subscribe_to_dataset(DatasetName='prefs', DeviceId=dev, **kw)), {})
        self.assertEqual(body(cs.subscribe_to_dataset(DatasetName='merged.us-east-1:ab-12', DeviceId=dev, **kw)),
                         {})
        self.assertEqual(body(cs.unsubscribe_from_dataset(DatasetName='prefs', DeviceId=dev, **kw)), {})
        # Not subscribed any more: ResourceNotFound (Android reads that as "was not subscribed").
        self.assertError('ResourceNotFoundException', 404, cs.unsubscribe_from_dataset, DatasetName='prefs',
                         DeviceId=dev, **kw)
        self.assertEqual(body(cs.unsubscribe_from_dataset(DatasetName='merged.us-east-1:ab-12', DeviceId=dev,
                                                          **kw)), {})

    def test_errors(self):
        iid, cs = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid)
        dev = cs.register_device(Platform='GCM', Token='t', **kw)['DeviceId']
        self.assertError('InvalidParameterException', 400, cs.register_device, Platform='WNS', Token='t', **kw)
        self.assertError('InvalidParameterException', 400, cs.register_device, Platform='gcm', Token='t', **kw)
        self.assertError('InvalidParameterException', 400, cs.register_device, Platform='GCM', Token='', **kw)
        self.assertError('InvalidParameterException', 400, cs.register_device, Platform='GCM', Token='x' * 5000,
                         **kw)
        for op in (cs.subscribe_to_dataset, cs.unsubscribe_from_dataset):
            # Unknown device, also one with '/' in its ID (sent as %2F).
            for unknown in ('dev/1', 'us-east-1:00000000-0000-0000-0000-000000000000'):
                self.assertError('ResourceNotFoundException', 404, op, DatasetName='d', DeviceId=unknown, **kw)
            self.assertError('InvalidParameterException', 400, op, DatasetName='bad name', DeviceId=dev, **kw)
            self.assertError('InvalidParameterException', 400, op, DatasetName='x' * 129, DeviceId=dev, **kw)
            self.assertError('InvalidParameterException', 400, op, DatasetName='d', DeviceId='x' * 257, **kw)

    def test_identity_isolation(self):
        a, csa = new_guest()
        b, csb = new_guest()
        dev_a = csa.register_device(IdentityPoolId=SERVER.pool_id, IdentityId=a, Platform='GCM',
                                    Token='ta')['DeviceId']
        # B's credentials on A's path: NotAuthorized, as for every other per-identity operation.
        on_a = dict(IdentityPoolId=SERVER.pool_id, IdentityId=a)
        self.assertError('NotAuthorizedException', 403, csb.register_device, Platform='GCM', Token='tb', **on_a)
        self.assertError('NotAuthorizedException', 403, csb.subscribe_to_dataset, DatasetName='d', DeviceId=dev_a,
                         **on_a)
        self.assertError('NotAuthorizedException', 403, csb.unsubscribe_from_dataset, DatasetName='d',
                         DeviceId=dev_a, **on_a)
        # B naming A's device on its own path: that device does not exist for B.
        on_b = dict(IdentityPoolId=SERVER.pool_id, IdentityId=b)
        self.assertError('ResourceNotFoundException', 404, csb.subscribe_to_dataset, DatasetName='d',
                         DeviceId=dev_a, **on_b)
        # A's subscription is untouched by all that.
        csa.subscribe_to_dataset(DatasetName='d', DeviceId=dev_a, **on_a)
        self.assertError('ResourceNotFoundException', 404, csb.unsubscribe_from_dataset, DatasetName='d',
                         DeviceId=dev_a, **on_b)
        self.assertEqual(body(csa.unsubscribe_from_dataset(DatasetName='d', DeviceId=dev_a, **on_a)), {})

    def test_developer_credentials_are_refused(self):
        iid, _ = new_guest()
        dev = SERVER.sync_client()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid)
        self.assertError('NotAuthorizedException', 403, dev.register_device, Platform='GCM', Token='t', **kw)
        self.assertError('NotAuthorizedException', 403, dev.subscribe_to_dataset, DatasetName='d', DeviceId='x',
                         **kw)

    def test_devices_and_subscriptions_survive_a_restart(self):
        iid, cs = new_guest()
        kw = dict(IdentityPoolId=SERVER.pool_id, IdentityId=iid)
        dev = cs.register_device(Platform='GCM', Token='keep', **kw)['DeviceId']
        cs.subscribe_to_dataset(DatasetName='kept', DeviceId=dev, **kw)
        SERVER.restart()
        creds = SERVER.identity_client().get_credentials_for_identity(IdentityId=iid)['Credentials']
        cs = SERVER.sync_client(creds)
        self.assertEqual(cs.register_device(Platform='GCM', Token='keep', **kw)['DeviceId'], dev)
        self.assertEqual(body(cs.unsubscribe_from_dataset(DatasetName='kept', DeviceId=dev, **kw)), {})


if __name__ == '__main__':
    tap_unittest.main(sys.modules[__name__])
