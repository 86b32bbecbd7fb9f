"""User-pool Lambda triggers (issue 15 point 8, docs/user-pool-triggers.md) through boto3 and the
real tetherd: PreSignUp, PostConfirmation, PreAuthentication, PostAuthentication,
PreTokenGeneration V1 and V2, CustomMessage; each event's shape, each response field, each error
mapping (spec cognito-user-pools.md 8).

The functions are idp_trigger_hook.py, run as a command by tetherd or behind a webhook this test
serves; what they answer is planned per pool by each test, and every event and every code
delivery they see is recorded for the test to read. One tetherd on SQLite, or on PostgreSQL with
TETHER_IDP_STORE=postgresql (pg_launcher).
"""
import json
import http.server
import os
import subprocess
import sys
import threading
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cognito_srp  # noqa: E402
import idp_trigger_hook  # noqa: E402
import tap_unittest  # noqa: E402
from tetherd_fixture import OptionalPostgres, REGION, ClientErrorAssertions, Tetherd, _boto_config  # noqa: E402

ARN = 'arn:aws:lambda:us-east-1:123456789012:function:'
PASSWORD = 'Passw0rd!'
SERVER = None
HOOK = None
ROLE = 'arn:aws:iam::123456789012:role/admins'

# Cases with nothing stored to check (timeouts, retries, the webhook's error statuses) run on
# SQLite only, to stay within the PostgreSQL run's time budget.
storage_free = unittest.skipIf(os.environ.get('TETHER_IDP_STORE') == 'postgresql',
                               'no storage difference: covered by the SQLite run')


class Hook(http.server.BaseHTTPRequestHandler):
    """The webhook target: answers as idp_trigger_hook.answer() says."""
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        status, reply, _ = idp_trigger_hook.answer(SERVER.dir, body, 'webhook')
        data = reply.encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TriggersTetherd(OptionalPostgres, Tetherd):
    """The compat fixture with dev codes, a code delivery hook, the trigger targets, and PostgreSQL."""
    STORE_ENV = 'TETHER_IDP_STORE'

    def __init__(self, hook_port):
        super().__init__()
        os.makedirs(os.path.join(self.dir, 'plans'))
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'idp_trigger_hook.py')
        command = f'["{sys.executable}", "{script}", "{self.dir}"'
        with open(self.config, 'a') as f:
            f.write(f'''
[user_pools]
dev_codes = true
code_delivery = "{ARN}delivery"

[[sync_triggers]]
function = "{ARN}delivery"
command = {command}, "delivery"]

[[sync_triggers]]
function = "{ARN}scripted"
command = {command}, "trigger"]

[[sync_triggers]]
function = "{ARN}scripted-fast"
command = {command}, "trigger"]
timeout_ms = 1500

[[sync_triggers]]
function = "{ARN}webhook"
url = "http://127.0.0.1:{hook_port}/trigger"

[[sync_triggers]]
function = "{ARN}webhook-down"
url = "http://127.0.0.1:1/"
''')

    def idp(self, signed=True):
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        if signed:
            return boto3.client('cognito-idp', endpoint_url=self.endpoint, region_name=REGION,
                                aws_access_key_id=self.dev_key, aws_secret_access_key=self.dev_secret,
                                config=_boto_config())
        return boto3.client('cognito-idp', endpoint_url=self.endpoint, region_name=REGION,
                            config=_boto_config().merge(Config(signature_version=UNSIGNED)))

    def code(self, pool_id, user):
        with urllib.request.urlopen(f'{self.endpoint}/_tether/cognito-idp/codes/{pool_id}/{user}', timeout=10) as r:
            return json.loads(r.read())['code']

    def _lines(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def events(self, pool, source=None):
        """The events the functions got for `pool` (and `source`), oldest first: [(via, event)]."""
        return [(e['via'], e['event']) for e in self._lines('events.jsonl')
                if e['event']['userPoolId'] == pool and (source is None or e['event']['triggerSource'] == source)]

    def deliveries(self, pool, user_name=None):
        return [d for d in self._lines('deliveries.jsonl')
                if d['userPoolId'] == pool and (user_name is None or d['userName'] == user_name)]

    def plan(self, pool, steps):
        with open(os.path.join(self.dir, 'plans', pool + '.json'), 'w') as f:
            json.dump(steps, f)


def setUpModule():
    global SERVER, HOOK
    HOOK = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Hook)
    threading.Thread(target=HOOK.serve_forever, daemon=True).start()
    SERVER = TriggersTetherd(HOOK.server_address[1]).start()


def tearDownModule():
    if SERVER:
        SERVER.stop()
    if HOOK:
        HOOK.shutdown()


class TriggerTestBase(ClientErrorAssertions, unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.admin = SERVER.idp()
        cls.public = SERVER.idp(signed=False)

    def new_pool(self, lambdas, hide_users=False, **kwargs):
        """A pool with `lambdas` (LambdaConfig, function names for ARNs) and a client: (pool, client)."""
        config = {}
        for key, fn in lambdas.items():
            if key == 'PreTokenGenerationConfig':
                config[key] = {'LambdaVersion': fn[0], 'LambdaArn': ARN + fn[1]}
            else:
                config[key] = ARN + fn
        args = dict(PoolName='trig-' + uuid.uuid4().hex[:8], AutoVerifiedAttributes=['email'], LambdaConfig=config)
        args.update(kwargs)
        pool = self.admin.create_user_pool(**args)['UserPool']['Id']
        client = self.admin.create_user_pool_client(
            UserPoolId=pool, ClientName='app',
            ExplicitAuthFlows=['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH',
                               'ALLOW_ADMIN_USER_PASSWORD_AUTH'],
            PreventUserExistenceErrors='ENABLED' if hide_users else 'LEGACY')['UserPoolClient']['ClientId']
        return pool, client

    def sign_up(self, pool, client, name=None, confirm=True, **kwargs):
        name = name or 'user-' + uuid.uuid4().hex[:10]
        out = self.public.sign_up(ClientId=client, Username=name, Password=PASSWORD,
                                  UserAttributes=[{'Name': 'email', 'Value': f'{name}@example.com'}], **kwargs)
        if confirm and not out['UserConfirmed']:
            self.public.confirm_sign_up(ClientId=client, Username=name, ConfirmationCode=SERVER.code(pool, name))
        return name, out

    def password_sign_in(self, client, name, password=PASSWORD, **kwargs):
        return self.public.initiate_auth(ClientId=client, AuthFlow='USER_PASSWORD_AUTH',
                                         AuthParameters={'USERNAME': name, 'PASSWORD': password}, **kwargs)

    def srp_sign_in(self, pool, client, name, **kwargs):
        srp = cognito_srp.SrpClient(pool)
        first = self.public.initiate_auth(ClientId=client, AuthFlow='USER_SRP_AUTH',
                                          AuthParameters={'USERNAME': name, 'SRP_A': srp.srp_a})
        return self.public.respond_to_auth_challenge(ClientId=client, ChallengeName='PASSWORD_VERIFIER',
                                                     ChallengeResponses=srp.respond(first['ChallengeParameters'],
                                                                                    PASSWORD), **kwargs)

    def only_event(self, pool, source):
        events = SERVER.events(pool, source)
        self.assertEqual(len(events), 1, events)
        return events[0][1]

    def assertEnvelope(self, event, source, pool, user_name, client_id, version='1'):
        """The common envelope of spec 8.2, with its exact field names."""
        self.assertEqual(set(event), {'version', 'triggerSource', 'region', 'userPoolId', 'userName',
                                      'callerContext', 'request', 'response'})
        self.assertEqual(event['version'], version)
        self.assertEqual(event['triggerSource'], source)
        self.assertEqual(event['region'], REGION)
        self.assertEqual(event['userPoolId'], pool)
        self.assertEqual(event['userName'], user_name)
        self.assertEqual(event['callerContext'], {'awsSdkVersion': 'aws-sdk-unknown-unknown', 'clientId': client_id})
        attrs = event['request']['userAttributes']
        self.assertTrue(all(isinstance(v, str) for v in attrs.values()), attrs)

    def assertUserAbsent(self, pool, name):
        self.assertError('UserNotFoundException', 400, self.admin.admin_get_user, UserPoolId=pool, Username=name)


class PreSignUpTest(TriggerTestBase):

    def test_event_shape_and_a_plain_reply(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted'})
        name, out = self.sign_up(pool, client, confirm=False, ValidationData=[{'Name': 'invite', 'Value': 'abc'}],
                                 ClientMetadata={'source': 'web'})
        self.assertFalse(out['UserConfirmed'])
        self.assertIn('CodeDeliveryDetails', out)
        event = self.only_event(pool, 'PreSignUp_SignUp')
        self.assertEnvelope(event, 'PreSignUp_SignUp', pool, name, client)
        self.assertEqual(set(event['request']), {'userAttributes', 'validationData', 'clientMetadata'})
        self.assertEqual(event['request']['userAttributes'],
                         {'sub': out['UserSub'], 'email': f'{name}@example.com', 'cognito:user_status': 'UNCONFIRMED'})
        self.assertEqual(event['request']['validationData'], {'invite': 'abc'})
        self.assertEqual(event['request']['clientMetadata'], {'source': 'web'})
        self.assertEqual(event['response'], {'autoConfirmUser': False, 'autoVerifyEmail': False,
                                             'autoVerifyPhone': False})
        user = self.admin.admin_get_user(UserPoolId=pool, Username=name)
        self.assertEqual(user['UserStatus'], 'UNCONFIRMED')
        # Without ValidationData and ClientMetadata: null and {}.
        name2, _ = self.sign_up(pool, client, confirm=False)
        event = [e for _, e in SERVER.events(pool, 'PreSignUp_SignUp') if e['userName'] == name2][0]
        self.assertIsNone(event['request']['validationData'])
        self.assertEqual(event['request']['clientMetadata'], {})

    def test_auto_confirm_and_auto_verify_then_post_confirmation(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted', 'PostConfirmation': 'scripted'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'response': {'autoConfirmUser': True, 'autoVerifyEmail': True}}})
        name, out = self.sign_up(pool, client, confirm=False, ClientMetadata={'k': 'v'})
        self.assertTrue(out['UserConfirmed'])
        self.assertNotIn('CodeDeliveryDetails', out)
        self.assertEqual(SERVER.deliveries(pool, name), [])  # no code sent
        user = self.admin.admin_get_user(UserPoolId=pool, Username=name)
        self.assertEqual(user['UserStatus'], 'CONFIRMED')
        attrs = {a['Name']: a['Value'] for a in user['UserAttributes']}
        self.assertEqual(attrs['email_verified'], 'true')
        post = self.only_event(pool, 'PostConfirmation_ConfirmSignUp')
        self.assertEnvelope(post, 'PostConfirmation_ConfirmSignUp', pool, name, client)
        self.assertEqual(post['request']['clientMetadata'], {'k': 'v'})
        self.assertEqual(post['request']['userAttributes']['cognito:user_status'], 'CONFIRMED')
        self.assertEqual(post['request']['userAttributes']['email_verified'], 'true')
        self.assertIn('AccessToken', self.password_sign_in(client, name)['AuthenticationResult'])

    def test_auto_verify_alone_leaves_the_user_to_confirm(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'response': {'autoVerifyEmail': True}}})
        name, out = self.sign_up(pool, client, confirm=False)
        self.assertFalse(out['UserConfirmed'])
        user = self.admin.admin_get_user(UserPoolId=pool, Username=name)
        self.assertEqual(user['UserStatus'], 'UNCONFIRMED')
        self.assertIn({'Name': 'email_verified', 'Value': 'true'}, user['UserAttributes'])

    def test_rule_breaking_replies_are_invalid_lambda_responses(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'response': {'autoVerifyPhone': True}}})  # no phone_number
        err = self.assertError('InvalidLambdaResponseException', 400, self.sign_up, pool, client, 'nophone')
        self.assertUserAbsent(pool, 'nophone')
        SERVER.plan(pool, {'PreSignUp_SignUp': {'response': {'autoConfirmUser': 'yes'}}})
        self.assertError('InvalidLambdaResponseException', 400, self.sign_up, pool, client, 'notbool')
        SERVER.plan(pool, {'PreSignUp_SignUp': {'raw': 'this is not json {'}})
        err = self.assertError('InvalidLambdaResponseException', 400, self.sign_up, pool, client, 'garbage')
        self.assertEqual(err['Error']['Message'], 'Unrecognizable lambda output')
        SERVER.plan(pool, {'PreSignUp_SignUp': {'raw': '{"response": 5}'}})
        self.assertError('InvalidLambdaResponseException', 400, self.sign_up, pool, client, 'badresponse')
        SERVER.plan(pool, {'PreSignUp_SignUp': {'raw': ''}})
        self.assertError('InvalidLambdaResponseException', 400, self.sign_up, pool, client, 'empty')
        for n in ('garbage', 'badresponse', 'empty', 'notbool'):
            self.assertUserAbsent(pool, n)

    def test_function_errors_are_user_lambda_validation(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'exit': 1, 'raw': '',
                                                'stderr': 'Traceback ...\nValueError: No sign-ups from example.com\n'}})
        err = self.assertError('UserLambdaValidationException', 400, self.sign_up, pool, client, 'refused')
        self.assertEqual(err['Error']['Message'], 'PreSignUp failed with error ValueError: No sign-ups from example.com.')
        self.assertUserAbsent(pool, 'refused')
        SERVER.plan(pool, {'PreSignUp_SignUp': {'exit': 2, 'raw': '{"errorMessage": "invite only"}',
                                                'stderr': 'ignored\n'}})
        err = self.assertError('UserLambdaValidationException', 400, self.sign_up, pool, client, 'refused2')
        self.assertEqual(err['Error']['Message'], 'PreSignUp failed with error invite only.')
        self.assertEqual(len(SERVER.events(pool)), 2)  # a function error is not retried

    def test_unmapped_function_fails_the_operation(self):
        pool, client = self.new_pool({'PreSignUp': 'not-in-the-config'})
        err = self.assertError('UnexpectedLambdaException', 400, self.sign_up, pool, client, 'unmapped')
        self.assertIn('PreSignUp', err['Error']['Message'])
        self.assertUserAbsent(pool, 'unmapped')

    @storage_free
    def test_timeouts_are_retried_three_times_then_unexpected_lambda(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted-fast'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'sleep': 4}})
        err = self.assertError('UnexpectedLambdaException', 400, self.sign_up, pool, client, 'slow')
        self.assertEqual(err['Error']['Message'],
                         'PreSignUp invocation failed due to error Socket timeout while invoking Lambda function.')
        self.assertEqual(len(SERVER.events(pool, 'PreSignUp_SignUp')), 3)
        self.assertUserAbsent(pool, 'slow')

    @storage_free
    def test_a_timeout_then_an_answer_succeeds(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted-fast'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'sleep': 4, 'sleep_attempts': 2,
                                                'response': {'autoConfirmUser': True}}})
        name, out = self.sign_up(pool, client, confirm=False)
        self.assertTrue(out['UserConfirmed'])
        self.assertEqual(len(SERVER.events(pool, 'PreSignUp_SignUp')), 3)

    @storage_free
    def test_unreachable_webhook_is_unexpected_lambda(self):
        pool, client = self.new_pool({'PreSignUp': 'webhook-down'})
        err = self.assertError('UnexpectedLambdaException', 400, self.sign_up, pool, client, 'down')
        self.assertEqual(err['Error']['Message'],
                         'PreSignUp invocation failed due to error the function could not be reached.')
        self.assertUserAbsent(pool, 'down')

    def test_admin_create_user_ignores_the_flags(self):
        pool, _ = self.new_pool({'PreSignUp': 'scripted'})
        SERVER.plan(pool, {'PreSignUp_AdminCreateUser': {'response': {'autoConfirmUser': True,
                                                                      'autoVerifyPhone': True}}})
        out = self.admin.admin_create_user(UserPoolId=pool, Username='invited', MessageAction='SUPPRESS',
                                           UserAttributes=[{'Name': 'email', 'Value': 'inv@example.com'}],
                                           ValidationData=[{'Name': 'a', 'Value': 'b'}], ClientMetadata={'c': 'd'})
        self.assertEqual(out['User']['UserStatus'], 'FORCE_CHANGE_PASSWORD')
        self.assertNotIn({'Name': 'phone_number_verified', 'Value': 'true'}, out['User']['Attributes'])
        event = self.only_event(pool, 'PreSignUp_AdminCreateUser')
        self.assertEnvelope(event, 'PreSignUp_AdminCreateUser', pool, 'invited', 'CLIENT_ID_NOT_APPLICABLE')
        self.assertEqual(event['request']['validationData'], {'a': 'b'})
        self.assertEqual(event['request']['clientMetadata'], {'c': 'd'})
        self.assertEqual(event['request']['userAttributes']['cognito:user_status'], 'FORCE_CHANGE_PASSWORD')
        SERVER.plan(pool, {'PreSignUp_AdminCreateUser': {'exit': 1, 'stderr': 'not allowed'}})
        err = self.assertError('UserLambdaValidationException', 400, self.admin.admin_create_user, UserPoolId=pool,
                               Username='refused', MessageAction='SUPPRESS')
        self.assertEqual(err['Error']['Message'], 'PreSignUp failed with error not allowed.')
        self.assertUserAbsent(pool, 'refused')

    def test_a_taken_name_fails_before_the_trigger(self):
        pool, client = self.new_pool({'PreSignUp': 'scripted'})
        name, _ = self.sign_up(pool, client, confirm=False)
        self.assertError('UsernameExistsException', 400, self.sign_up, pool, client, name)
        self.assertEqual(len(SERVER.events(pool, 'PreSignUp_SignUp')), 1)


class WebhookTest(TriggerTestBase):

    def test_webhook_target_gets_the_event_and_is_honoured(self):
        pool, client = self.new_pool({'PreSignUp': 'webhook'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'response': {'autoConfirmUser': True}}})
        name, out = self.sign_up(pool, client, confirm=False)
        self.assertTrue(out['UserConfirmed'])
        via, event = SERVER.events(pool, 'PreSignUp_SignUp')[0]
        self.assertEqual(via, 'webhook')
        self.assertEnvelope(event, 'PreSignUp_SignUp', pool, name, client)

    def test_webhook_errors(self):
        pool, client = self.new_pool({'PreSignUp': 'webhook'})
        SERVER.plan(pool, {'PreSignUp_SignUp': {'status': 400, 'raw': '{"errorMessage": "nope"}'}})
        err = self.assertError('UserLambdaValidationException', 400, self.sign_up, pool, client, 'w1')
        self.assertEqual(err['Error']['Message'], 'PreSignUp failed with error nope.')
        SERVER.plan(pool, {'PreSignUp_SignUp': {'status': 502, 'raw': '<html>bad gateway</html>'}})
        err = self.assertError('UnexpectedLambdaException', 400, self.sign_up, pool, client, 'w2')
        self.assertEqual(err['Error']['Message'], 'PreSignUp invocation failed due to error HTTP 502.')
        SERVER.plan(pool, {'PreSignUp_SignUp': {'status': 200, 'raw': '[1, 2]'}})
        self.assertError('InvalidLambdaResponseException', 400, self.sign_up, pool, client, 'w3')
        for n in ('w1', 'w2', 'w3'):
            self.assertUserAbsent(pool, n)


class PostConfirmationTest(TriggerTestBase):

    def test_confirm_sign_up_runs_it_and_an_error_still_confirms(self):
        pool, client = self.new_pool({'PostConfirmation': 'scripted'})
        name, out = self.sign_up(pool, client, confirm=False)
        self.assertEqual(SERVER.events(pool), [])
        self.public.confirm_sign_up(ClientId=client, Username=name, ConfirmationCode=SERVER.code(pool, name),
                                    ClientMetadata={'from': 'confirm'})
        event = self.only_event(pool, 'PostConfirmation_ConfirmSignUp')
        self.assertEnvelope(event, 'PostConfirmation_ConfirmSignUp', pool, name, client)
        self.assertEqual(set(event['request']), {'userAttributes', 'clientMetadata'})
        self.assertEqual(event['request']['clientMetadata'], {'from': 'confirm'})
        self.assertEqual(event['request']['userAttributes'],
                         {'sub': out['UserSub'], 'email': f'{name}@example.com', 'email_verified': 'true',
                          'cognito:user_status': 'CONFIRMED'})
        self.assertEqual(event['response'], {})
        # An error fails the request, but the confirmation made stays (spec 11.10).
        SERVER.plan(pool, {'PostConfirmation_ConfirmSignUp': {'exit': 1, 'stderr': 'welcome mail failed'}})
        other, _ = self.sign_up(pool, client, confirm=False)
        err = self.assertError('UserLambdaValidationException', 400, self.public.confirm_sign_up, ClientId=client,
                               Username=other, ConfirmationCode=SERVER.code(pool, other))
        self.assertEqual(err['Error']['Message'], 'PostConfirmation failed with error welcome mail failed.')
        self.assertEqual(self.admin.admin_get_user(UserPoolId=pool, Username=other)['UserStatus'], 'CONFIRMED')

    def test_admin_confirm_and_confirm_forgot_password(self):
        pool, client = self.new_pool({'PostConfirmation': 'scripted'})
        name, _ = self.sign_up(pool, client, confirm=False)
        self.admin.admin_confirm_sign_up(UserPoolId=pool, Username=name, ClientMetadata={'by': 'admin'})
        event = self.only_event(pool, 'PostConfirmation_ConfirmSignUp')
        self.assertEnvelope(event, 'PostConfirmation_ConfirmSignUp', pool, name, 'CLIENT_ID_NOT_APPLICABLE')
        self.assertEqual(event['request']['clientMetadata'], {'by': 'admin'})
        self.admin.admin_update_user_attributes(UserPoolId=pool, Username=name,
                                                UserAttributes=[{'Name': 'email_verified', 'Value': 'true'}])
        self.public.forgot_password(ClientId=client, Username=name)
        self.public.confirm_forgot_password(ClientId=client, Username=name, ConfirmationCode=SERVER.code(pool, name),
                                            Password='N3w-Passw0rd')
        event = self.only_event(pool, 'PostConfirmation_ConfirmForgotPassword')
        self.assertEnvelope(event, 'PostConfirmation_ConfirmForgotPassword', pool, name, client)
        self.password_sign_in(client, name, 'N3w-Passw0rd')


class AuthenticationTest(TriggerTestBase):

    def test_pre_authentication_runs_before_the_password_check(self):
        pool, client = self.new_pool({'PreAuthentication': 'scripted'})
        name, out = self.sign_up(pool, client)
        self.password_sign_in(client, name, ClientMetadata={'device': 'kiosk'})
        event = self.only_event(pool, 'PreAuthentication_Authentication')
        self.assertEnvelope(event, 'PreAuthentication_Authentication', pool, name, client)
        self.assertEqual(set(event['request']), {'userAttributes', 'validationData'})  # no userNotFound in LEGACY
        self.assertEqual(event['request']['validationData'], {'device': 'kiosk'})
        self.assertEqual(event['request']['userAttributes']['sub'], out['UserSub'])
        self.assertEqual(event['response'], {})
        SERVER.plan(pool, {'PreAuthentication_Authentication': {'exit': 1, 'stderr': 'outside office hours'}})
        for password in (PASSWORD, 'Wr0ng-password'):  # the trigger decides before the password counts
            err = self.assertError('UserLambdaValidationException', 400, self.password_sign_in, client, name, password)
            self.assertEqual(err['Error']['Message'], 'PreAuthentication failed with error outside office hours.')
        # SRP: at InitiateAuth, before any proof.
        err = self.assertError('UserLambdaValidationException', 400, self.public.initiate_auth, ClientId=client,
                               AuthFlow='USER_SRP_AUTH',
                               AuthParameters={'USERNAME': name, 'SRP_A': cognito_srp.SrpClient(pool).srp_a})
        self.assertIn('PreAuthentication failed', err['Error']['Message'])
        # Unknown users in LEGACY mode never reach it.
        before = len(SERVER.events(pool))
        self.assertError('UserNotFoundException', 400, self.password_sign_in, client, 'nobody')
        self.assertEqual(len(SERVER.events(pool)), before)

    def test_user_not_found_when_the_client_hides_users(self):
        pool, client = self.new_pool({'PreAuthentication': 'scripted'}, hide_users=True)
        name, _ = self.sign_up(pool, client)
        self.password_sign_in(client, name)
        self.assertIs(self.only_event(pool, 'PreAuthentication_Authentication')['request']['userNotFound'], False)
        err = self.assertError('NotAuthorizedException', 400, self.password_sign_in, client, 'ghost')
        self.assertEqual(err['Error']['Message'], 'Incorrect username or password.')
        event = SERVER.events(pool, 'PreAuthentication_Authentication')[-1][1]
        self.assertEqual(event['userName'], 'ghost')
        self.assertIs(event['request']['userNotFound'], True)
        self.assertEqual(event['request']['userAttributes'], {})
        # SRP for an unknown user: the trigger runs, the challenge stays simulated.
        first = self.public.initiate_auth(ClientId=client, AuthFlow='USER_SRP_AUTH',
                                          AuthParameters={'USERNAME': 'ghost2',
                                                          'SRP_A': cognito_srp.SrpClient(pool).srp_a})
        self.assertEqual(first['ChallengeName'], 'PASSWORD_VERIFIER')
        self.assertEqual(SERVER.events(pool, 'PreAuthentication_Authentication')[-1][1]['userName'], 'ghost2')

    def test_post_authentication_and_its_client_metadata(self):
        pool, client = self.new_pool({'PostAuthentication': 'scripted'})
        name, _ = self.sign_up(pool, client)
        res = self.password_sign_in(client, name, ClientMetadata={'not': 'passed'})['AuthenticationResult']
        event = self.only_event(pool, 'PostAuthentication_Authentication')
        self.assertEnvelope(event, 'PostAuthentication_Authentication', pool, name, client)
        self.assertEqual(event['request'], {'userAttributes': event['request']['userAttributes'],
                                            'newDeviceUsed': False, 'clientMetadata': {}})
        self.assertEqual(event['request']['userAttributes']['cognito:user_status'], 'CONFIRMED')
        # From RespondToAuthChallenge the metadata goes on.
        self.srp_sign_in(pool, client, name, ClientMetadata={'via': 'srp'})
        self.assertEqual(SERVER.events(pool, 'PostAuthentication_Authentication')[-1][1]['request']['clientMetadata'],
                         {'via': 'srp'})
        # A refresh is not a sign-in.
        self.public.initiate_auth(ClientId=client, AuthFlow='REFRESH_TOKEN_AUTH',
                                  AuthParameters={'REFRESH_TOKEN': res['RefreshToken']})
        self.assertEqual(len(SERVER.events(pool, 'PostAuthentication_Authentication')), 2)
        SERVER.plan(pool, {'PostAuthentication_Authentication': {'exit': 1, 'stderr': 'audit log down'}})
        err = self.assertError('UserLambdaValidationException', 400, self.password_sign_in, client, name)
        self.assertEqual(err['Error']['Message'], 'PostAuthentication failed with error audit log down.')


class PreTokenGenerationTest(TriggerTestBase):

    def grouped_user(self, pool, client):
        self.admin.create_group(UserPoolId=pool, GroupName='admins', RoleArn=ROLE, Precedence=1)
        name, out = self.sign_up(pool, client)
        self.admin.admin_add_user_to_group(UserPoolId=pool, Username=name, GroupName='admins')
        return name, out

    def test_v1_event_and_overrides(self):
        pool, client = self.new_pool({'PreTokenGeneration': 'scripted'})
        name, out = self.grouped_user(pool, client)
        SERVER.plan(pool, {'*': {'response': {'claimsOverrideDetails': {
            'claimsToAddOrOverride': {'tenant': 'acme', 'email': 'shown@example.com', 'both': 'x',
                                      'sub': 'forged', 'iss': 'https://evil', 'token_use': 'access'},
            'claimsToSuppress': ['email_verified', 'both', 'aud'],
            'groupOverrideDetails': {'groupsToOverride': ['readers', 'writers'], 'iamRolesToOverride': [],
                                     'preferredRole': None}}}}})
        res = self.password_sign_in(client, name, ClientMetadata={'ignored': 'yes'})['AuthenticationResult']
        event = self.only_event(pool, 'TokenGeneration_Authentication')
        self.assertEnvelope(event, 'TokenGeneration_Authentication', pool, name, client)
        self.assertEqual(set(event['request']), {'userAttributes', 'groupConfiguration', 'clientMetadata'})
        self.assertEqual(event['request']['groupConfiguration'],
                         {'groupsToOverride': ['admins'], 'iamRolesToOverride': [ROLE], 'preferredRole': ROLE})
        self.assertEqual(event['request']['clientMetadata'], {})  # InitiateAuth's metadata does not go here
        self.assertEqual(event['request']['userAttributes']['sub'], out['UserSub'])
        self.assertEqual(event['response'], {'claimsOverrideDetails': None})
        id_claims = cognito_srp.jwt_claims(res['IdToken'])
        access = cognito_srp.jwt_claims(res['AccessToken'])
        self.assertEqual(id_claims['tenant'], 'acme')
        self.assertEqual(id_claims['email'], 'shown@example.com')
        self.assertNotIn('email_verified', id_claims)
        self.assertNotIn('both', id_claims)  # suppress beats override
        self.assertEqual(id_claims['sub'], out['UserSub'])  # protected claims are not changed
        self.assertTrue(id_claims['iss'].endswith('/' + pool))
        self.assertEqual(id_claims['token_use'], 'id')
        self.assertEqual(id_claims['aud'], client)
        self.assertEqual(id_claims['cognito:groups'], ['readers', 'writers'])
        self.assertNotIn('cognito:roles', id_claims)
        self.assertNotIn('cognito:preferred_role', id_claims)
        self.assertEqual(access['cognito:groups'], ['readers', 'writers'])  # groups: both tokens
        self.assertNotIn('tenant', access)                                 # claims: the ID token only
        self.assertEqual(self.public.get_user(AccessToken=res['AccessToken'])['Username'], name)
        # The refresh runs it again, with its own source.
        again = self.public.initiate_auth(ClientId=client, AuthFlow='REFRESH_TOKEN_AUTH',
                                          AuthParameters={'REFRESH_TOKEN': res['RefreshToken']})
        self.assertEqual(cognito_srp.jwt_claims(again['AuthenticationResult']['IdToken'])['tenant'], 'acme')
        self.assertEnvelope(self.only_event(pool, 'TokenGeneration_RefreshTokens'), 'TokenGeneration_RefreshTokens',
                            pool, name, client)
        # From RespondToAuthChallenge the metadata goes on.
        self.srp_sign_in(pool, client, name, ClientMetadata={'app': 'ios'})
        self.assertEqual(SERVER.events(pool, 'TokenGeneration_Authentication')[-1][1]['request']['clientMetadata'],
                         {'app': 'ios'})

    def test_v1_null_group_override_removes_groups_and_absent_keeps_them(self):
        pool, client = self.new_pool({'PreTokenGeneration': 'scripted'})
        name, _ = self.grouped_user(pool, client)
        SERVER.plan(pool, {'*': {'response': {'claimsOverrideDetails': {'groupOverrideDetails': None}}}})
        res = self.password_sign_in(client, name)['AuthenticationResult']
        for tok in (res['IdToken'], res['AccessToken']):
            self.assertNotIn('cognito:groups', cognito_srp.jwt_claims(tok))
        self.assertNotIn('cognito:roles', cognito_srp.jwt_claims(res['IdToken']))
        SERVER.plan(pool, {'*': {'response': {'claimsOverrideDetails': {'claimsToAddOrOverride': {'a': 'b'}}}}})
        res = self.password_sign_in(client, name)['AuthenticationResult']
        id_claims = cognito_srp.jwt_claims(res['IdToken'])
        self.assertEqual(id_claims['cognito:groups'], ['admins'])
        self.assertEqual(id_claims['cognito:preferred_role'], ROLE)

    def test_v1_takes_string_values_only_and_errors_map(self):
        pool, client = self.new_pool({'PreTokenGeneration': 'scripted'})
        name, _ = self.sign_up(pool, client)
        SERVER.plan(pool, {'*': {'response': {'claimsOverrideDetails': {'claimsToAddOrOverride': {'n': 5}}}}})
        self.assertError('InvalidLambdaResponseException', 400, self.password_sign_in, client, name)
        SERVER.plan(pool, {'*': {'response': {'claimsOverrideDetails': {'claimsToSuppress': 'email'}}}})
        self.assertError('InvalidLambdaResponseException', 400, self.password_sign_in, client, name)
        SERVER.plan(pool, {'*': {'exit': 3, 'stderr': 'no tokens today'}})
        err = self.assertError('UserLambdaValidationException', 400, self.password_sign_in, client, name)
        self.assertEqual(err['Error']['Message'], 'PreTokenGeneration failed with error no tokens today.')

    def test_new_password_challenge_source(self):
        pool, client = self.new_pool({'PreTokenGeneration': 'scripted'})
        self.admin.admin_create_user(UserPoolId=pool, Username='temp', TemporaryPassword='Tmp-Passw0rd',
                                     MessageAction='SUPPRESS')
        first = self.password_sign_in(client, 'temp', 'Tmp-Passw0rd')
        self.assertEqual(first['ChallengeName'], 'NEW_PASSWORD_REQUIRED')
        self.public.respond_to_auth_challenge(ClientId=client, ChallengeName='NEW_PASSWORD_REQUIRED',
                                              Session=first['Session'],
                                              ChallengeResponses={'USERNAME': 'temp', 'NEW_PASSWORD': PASSWORD})
        event = self.only_event(pool, 'TokenGeneration_NewPasswordChallenge')
        self.assertEqual(event['request']['userAttributes']['cognito:user_status'], 'CONFIRMED')

    def test_v2_event_and_overrides(self):
        pool, client = self.new_pool({'PreTokenGenerationConfig': ('V2_0', 'scripted')})
        name, out = self.grouped_user(pool, client)
        SERVER.plan(pool, {'*': {'response': {'claimsAndScopeOverrideDetails': {
            'idTokenGeneration': {'claimsToAddOrOverride': {'n': 5, 'obj': {'a': [1, 2]}, 'flag': True,
                                                            'cognito:username': 'forged'},
                                  'claimsToSuppress': ['email']},
            'accessTokenGeneration': {'claimsToAddOrOverride': {'tier': 'gold', 'client_id': 'forged'},
                                      'claimsToSuppress': ['auth_time'],
                                      'scopesToAdd': ['photos/read'], 'scopesToSuppress': ['nothing/here']},
            'groupOverrideDetails': {'groupsToOverride': ['v2group']}}}}})
        res = self.password_sign_in(client, name)['AuthenticationResult']
        event = self.only_event(pool, 'TokenGeneration_Authentication')
        self.assertEnvelope(event, 'TokenGeneration_Authentication', pool, name, client, version='2')
        self.assertEqual(set(event['request']), {'userAttributes', 'groupConfiguration', 'clientMetadata', 'scopes'})
        self.assertEqual(event['request']['scopes'], ['aws.cognito.signin.user.admin'])
        self.assertEqual(event['response'], {'claimsAndScopeOverrideDetails': None})
        id_claims = cognito_srp.jwt_claims(res['IdToken'])
        access = cognito_srp.jwt_claims(res['AccessToken'])
        self.assertEqual((id_claims['n'], id_claims['obj'], id_claims['flag']), (5, {'a': [1, 2]}, True))
        self.assertNotIn('email', id_claims)
        self.assertEqual(id_claims['cognito:username'], name)
        self.assertNotIn('tier', id_claims)
        self.assertEqual(access['tier'], 'gold')
        self.assertEqual(access['client_id'], client)
        self.assertIn('auth_time', access)
        self.assertEqual(access['scope'], 'aws.cognito.signin.user.admin photos/read')
        self.assertEqual(access['cognito:groups'], ['v2group'])
        self.assertEqual(id_claims['cognito:groups'], ['v2group'])
        self.assertNotIn('cognito:roles', id_claims)
        self.assertEqual(self.public.get_user(AccessToken=res['AccessToken'])['Username'], name)

    def test_v2_suppressed_admin_scope_makes_a_token_the_api_refuses(self):
        pool, client = self.new_pool({'PreTokenGenerationConfig': ('V2_0', 'webhook')})
        name, _ = self.sign_up(pool, client)
        SERVER.plan(pool, {'*': {'response': {'claimsAndScopeOverrideDetails': {'accessTokenGeneration': {
            'scopesToAdd': ['a/b'], 'scopesToSuppress': ['aws.cognito.signin.user.admin']}}}}})
        res = self.password_sign_in(client, name)['AuthenticationResult']
        self.assertEqual(cognito_srp.jwt_claims(res['AccessToken'])['scope'], 'a/b')
        self.assertError('NotAuthorizedException', 400, self.public.get_user, AccessToken=res['AccessToken'])
        self.assertEqual(SERVER.events(pool)[0][0], 'webhook')


class CustomMessageTest(TriggerTestBase):

    def test_sign_up_event_and_the_delivered_text(self):
        pool, client = self.new_pool({'CustomMessage': 'scripted'})
        SERVER.plan(pool, {'*': {'response': {'emailMessage': 'Hello {username}, your code is {####}.',
                                              'emailSubject': 'Welcome aboard', 'smsMessage': 'Code {####}'}}})
        name, out = self.sign_up(pool, client, confirm=False, ClientMetadata={'lang': 'en'})
        event = self.only_event(pool, 'CustomMessage_SignUp')
        self.assertEnvelope(event, 'CustomMessage_SignUp', pool, name, client)
        self.assertEqual(set(event['request']), {'userAttributes', 'codeParameter', 'linkParameter',
                                                 'usernameParameter', 'clientMetadata'})
        self.assertEqual(event['request']['codeParameter'], '{####}')
        self.assertEqual(event['request']['linkParameter'], '{##Click Here##}')
        self.assertIsNone(event['request']['usernameParameter'])
        self.assertEqual(event['request']['clientMetadata'], {'lang': 'en'})
        self.assertEqual(event['request']['userAttributes']['sub'], out['UserSub'])
        self.assertEqual(event['response'], {'smsMessage': None, 'emailMessage': None, 'emailSubject': None})
        code = SERVER.code(pool, name)
        delivered = SERVER.deliveries(pool, name)[-1]
        self.assertEqual(delivered['message'], f'Hello {name}, your code is {code}.')
        self.assertEqual(delivered['subject'], 'Welcome aboard')
        self.assertEqual(delivered['purpose'], 'SignUp')
        self.public.confirm_sign_up(ClientId=client, Username=name, ConfirmationCode=code)

    def test_every_code_sending_operation_fires_its_source(self):
        pool, client = self.new_pool({'CustomMessage': 'scripted'})
        SERVER.plan(pool, {'*': {'response': {'emailMessage': 'custom {####}'}}})
        name, _ = self.sign_up(pool, client, confirm=False)
        self.public.resend_confirmation_code(ClientId=client, Username=name)
        self.assertEqual(SERVER.deliveries(pool, name)[-1]['message'], 'custom ' + SERVER.code(pool, name))
        self.public.confirm_sign_up(ClientId=client, Username=name, ConfirmationCode=SERVER.code(pool, name))
        self.public.forgot_password(ClientId=client, Username=name)
        self.admin.admin_reset_user_password(UserPoolId=pool, Username=name)
        token = None
        self.public.confirm_forgot_password(ClientId=client, Username=name, ConfirmationCode=SERVER.code(pool, name),
                                            Password=PASSWORD)
        token = self.password_sign_in(client, name)['AuthenticationResult']['AccessToken']
        self.public.update_user_attributes(AccessToken=token,
                                           UserAttributes=[{'Name': 'email', 'Value': f'new-{name}@example.com'}])
        self.public.get_user_attribute_verification_code(AccessToken=token, AttributeName='email')
        sources = [(e['triggerSource'], e['callerContext']['clientId']) for _, e in SERVER.events(pool)]
        self.assertEqual(sources, [('CustomMessage_SignUp', client), ('CustomMessage_ResendCode', client),
                                   ('CustomMessage_ForgotPassword', client),
                                   ('CustomMessage_ForgotPassword', 'CLIENT_ID_NOT_APPLICABLE'),
                                   ('CustomMessage_UpdateUserAttribute', client),
                                   ('CustomMessage_VerifyUserAttribute', client)])
        purposes = [d['purpose'] for d in SERVER.deliveries(pool, name)]
        self.assertEqual(purposes, ['SignUp', 'ResendCode', 'ForgotPassword', 'ForgotPassword', 'UpdateUserAttribute',
                                    'VerifyUserAttribute'])
        self.assertTrue(all(d['message'] == 'custom ' + d['code'] for d in SERVER.deliveries(pool, name)))

    def test_admin_create_user_invitation(self):
        pool, _ = self.new_pool({'CustomMessage': 'scripted'})
        SERVER.plan(pool, {'*': {'response': {'emailMessage': 'Hi {username}, sign in with {####}',
                                              'emailSubject': 'Your account'}}})
        self.admin.admin_create_user(UserPoolId=pool, Username='invitee', DesiredDeliveryMediums=['EMAIL'],
                                     TemporaryPassword='Tmp-Passw0rd',
                                     UserAttributes=[{'Name': 'email', 'Value': 'invitee@example.com'}])
        event = self.only_event(pool, 'CustomMessage_AdminCreateUser')
        self.assertEnvelope(event, 'CustomMessage_AdminCreateUser', pool, 'invitee', 'CLIENT_ID_NOT_APPLICABLE')
        self.assertEqual(event['request']['usernameParameter'], '{username}')
        delivered = SERVER.deliveries(pool, 'invitee')[-1]
        self.assertEqual(delivered['message'], 'Hi invitee, sign in with Tmp-Passw0rd')
        self.assertEqual(delivered['subject'], 'Your account')
        # An invitation without the username placeholder breaks the rules.
        SERVER.plan(pool, {'*': {'response': {'emailMessage': 'code {####}'}}})
        self.assertError('InvalidLambdaResponseException', 400, self.admin.admin_create_user, UserPoolId=pool,
                         Username='invitee2', DesiredDeliveryMediums=['EMAIL'],
                         UserAttributes=[{'Name': 'email', 'Value': 'invitee2@example.com'}])

    def test_null_messages_keep_the_template_and_bad_ones_are_refused(self):
        pool, client = self.new_pool({'CustomMessage': 'scripted'},
                                     VerificationMessageTemplate={'EmailMessage': 'Template {####}',
                                                                  'EmailSubject': 'Template subject',
                                                                  'DefaultEmailOption': 'CONFIRM_WITH_CODE'})
        name, _ = self.sign_up(pool, client, confirm=False)
        delivered = SERVER.deliveries(pool, name)[-1]
        self.assertEqual(delivered['message'], 'Template ' + SERVER.code(pool, name))
        self.assertEqual(delivered['subject'], 'Template subject')
        SERVER.plan(pool, {'*': {'response': {'emailMessage': 'no code here'}}})
        err = self.assertError('InvalidLambdaResponseException', 400, self.public.resend_confirmation_code,
                               ClientId=client, Username=name)
        self.assertIn('{####}', err['Error']['Message'])
        SERVER.plan(pool, {'*': {'response': {'emailSubject': 'x' * 141}}})
        self.assertError('InvalidLambdaResponseException', 400, self.public.resend_confirmation_code,
                         ClientId=client, Username=name)
        SERVER.plan(pool, {'*': {'exit': 1, 'stderr': 'template service down'}})
        err = self.assertError('UserLambdaValidationException', 400, self.public.resend_confirmation_code,
                               ClientId=client, Username=name)
        self.assertEqual(err['Error']['Message'], 'CustomMessage failed with error template service down.')


if __name__ == '__main__':
    tap_unittest.main(sys.modules[__name__])
