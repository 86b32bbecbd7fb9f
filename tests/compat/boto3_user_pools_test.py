"""Cognito User Pools (issue 15, docs/user-pools.md) through boto3 `cognito-idp` against the real
tetherd: pools and clients, sign-up and codes, SECRET_HASH, password / SRP / refresh sign-in,
tokens and JWKS, NEW_PASSWORD_REQUIRED, forgotten passwords, lockout, TOTP MFA, attributes,
ListUsers filters, groups, sign-out and revocation, and the errors of each.

Codes come from the dev delivery endpoint (`[user_pools] dev_codes = true`). One tetherd on
SQLite, or on PostgreSQL with TETHER_IDP_STORE=postgresql (pg_launcher).
"""
import json
import os
import sys
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cognito_srp  # noqa: E402
import tap_unittest  # noqa: E402
from tetherd_fixture import OptionalPostgres, REGION, ClientErrorAssertions, Tetherd, _boto_config  # noqa: E402

SERVER = None
PASSWORD = 'Passw0rd!'
# A user pool that the fixture's identity pool accepts logins of (spec 6.6), made before the
# suite by setUpModule: (pool id, client id, provider name).
LOGIN_POOL = None


class UserPoolsTetherd(OptionalPostgres, Tetherd):
    """The compat fixture with [user_pools] dev_codes, on SQLite or PostgreSQL."""
    STORE_ENV = 'TETHER_IDP_STORE'

    def __init__(self):
        super().__init__()
        with open(self.config, 'a') as f:
            f.write('\n[user_pools]\ndev_codes = true\n')

    def idp(self, signed=True, validate=True):
        """boto3 cognito-idp; validate=False sends what botocore would refuse, to test the server's checks."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        config = _boto_config().merge(Config(parameter_validation=validate))
        if signed:
            return boto3.client('cognito-idp', endpoint_url=self.endpoint, region_name=REGION,
                                aws_access_key_id=self.dev_key, aws_secret_access_key=self.dev_secret, config=config)
        return boto3.client('cognito-idp', endpoint_url=self.endpoint, region_name=REGION,
                            config=config.merge(Config(signature_version=UNSIGNED)))

    def get(self, path):
        with urllib.request.urlopen(self.endpoint + path, timeout=10) as r:
            return json.loads(r.read())

    def code(self, pool_id, user):
        return self.get(f'/_tether/cognito-idp/codes/{pool_id}/{user}')['code']


def setUpModule():
    global SERVER, LOGIN_POOL
    SERVER = UserPoolsTetherd().start()
    # A user pool as a login provider of the identity pool: made over the API, then named in the
    # config ([[pools.user_pool_providers]], server-side token check on), then a restart.
    admin = SERVER.idp()
    pool = new_pool(admin)
    client = new_client(admin, pool)['ClientId']
    provider = f'cognito-idp.{REGION}.amazonaws.com/{pool}'
    with open(SERVER.config, 'a') as f:
        f.write(f'\n[[pools.user_pool_providers]]\nprovider = "{provider}"\nclient_ids = ["{client}"]\n'
                f'server_side_token_check = true\n')
    SERVER.restart()
    LOGIN_POOL = (pool, client, provider)


def tearDownModule():
    if SERVER:
        SERVER.stop()


def new_pool(admin, **kwargs):
    args = dict(PoolName='pool-' + uuid.uuid4().hex[:8], AutoVerifiedAttributes=['email'])
    args.update(kwargs)
    return admin.create_user_pool(**args)['UserPool']['Id']


def new_client(admin, pool_id, **kwargs):
    args = dict(UserPoolId=pool_id, ClientName='app',
                ExplicitAuthFlows=['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH',
                                   'ALLOW_ADMIN_USER_PASSWORD_AUTH'])
    args.update(kwargs)
    return admin.create_user_pool_client(**args)['UserPoolClient']


class UserPoolsTest(ClientErrorAssertions, unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.admin = SERVER.idp()
        cls.public = SERVER.idp(signed=False)
        cls.pool = new_pool(cls.admin)
        cls.client = new_client(cls.admin, cls.pool)['ClientId']

    def sign_up(self, username=None, password=PASSWORD, confirm=True, pool=None, client=None, email=None):
        pool, client = pool or self.pool, client or self.client
        username = username or 'user-' + uuid.uuid4().hex[:10]
        email = email or f'{username}@example.com'
        out = self.public.sign_up(ClientId=client, Username=username, Password=password,
                                  UserAttributes=[{'Name': 'email', 'Value': email}])
        if confirm:
            self.public.confirm_sign_up(ClientId=client, Username=username,
                                        ConfirmationCode=SERVER.code(pool, username))
        return username, out

    def password_sign_in(self, username, password=PASSWORD, client=None):
        return self.public.initiate_auth(ClientId=client or self.client, AuthFlow='USER_PASSWORD_AUTH',
                                         AuthParameters={'USERNAME': username, 'PASSWORD': password})

    def srp_sign_in(self, username, password=PASSWORD, client=None, pool=None):
        srp = cognito_srp.SrpClient(pool or self.pool)
        first = self.public.initiate_auth(ClientId=client or self.client, AuthFlow='USER_SRP_AUTH',
                                          AuthParameters={'USERNAME': username, 'SRP_A': srp.srp_a})
        self.assertEqual(first['ChallengeName'], 'PASSWORD_VERIFIER')
        return self.public.respond_to_auth_challenge(
            ClientId=client or self.client, ChallengeName='PASSWORD_VERIFIER',
            ChallengeResponses=srp.respond(first['ChallengeParameters'], password))

    # ---- pools and clients

    def test_pool_lifecycle_defaults_and_update_resets_omitted_members(self):
        pid = new_pool(self.admin, Policies={'PasswordPolicy': {'MinimumLength': 12}})
        self.assertRegex(pid, r'^us-east-1_[0-9A-Za-z]{9}$')
        desc = self.admin.describe_user_pool(UserPoolId=pid)['UserPool']
        policy = desc['Policies']['PasswordPolicy']
        self.assertEqual(policy['MinimumLength'], 12)
        self.assertTrue(policy['RequireSymbols'])
        self.assertEqual(desc['MfaConfiguration'], 'OFF')
        self.assertEqual(desc['EstimatedNumberOfUsers'], 0)
        self.assertEqual(desc['Arn'], f'arn:aws:cognito-idp:us-east-1:000000000000:userpool/{pid}')
        self.assertEqual(desc['AutoVerifiedAttributes'], ['email'])
        self.admin.update_user_pool(UserPoolId=pid)  # omitted members go back to their defaults
        desc = self.admin.describe_user_pool(UserPoolId=pid)['UserPool']
        self.assertEqual(desc['Policies']['PasswordPolicy']['MinimumLength'], 8)
        self.assertNotIn('AutoVerifiedAttributes', desc)
        ids = []
        token = None
        while True:
            page = self.admin.list_user_pools(MaxResults=1, **({'NextToken': token} if token else {}))
            ids += [p['Id'] for p in page['UserPools']]
            token = page.get('NextToken')
            if not token:
                break
        self.assertIn(pid, ids)
        self.admin.delete_user_pool(UserPoolId=pid)
        self.assertError('ResourceNotFoundException', 400, self.admin.describe_user_pool, UserPoolId=pid)

    def test_pool_input_errors(self):
        raw = SERVER.idp(validate=False)
        self.assertError('InvalidParameterException', 400, raw.create_user_pool, PoolName='p',
                         Policies={'PasswordPolicy': {'MinimumLength': 5}})
        self.assertError('InvalidParameterException', 400, raw.create_user_pool, PoolName='bad/name')
        self.assertError('InvalidParameterException', 400, raw.create_user_pool, PoolName='p', MfaConfiguration='SOMETIMES')
        # Malformed schema constraints are no constraint, never a server error.
        for bad in ['-', '1-2', '99999999999999999999', '']:
            pid = raw.create_user_pool(PoolName='p', Schema=[{'Name': 'nick2', 'AttributeDataType': 'String',
                                                               'StringAttributeConstraints': {'MinLength': bad}}])
            self.assertTrue(pid['UserPool']['Id'])
        self.assertError('InvalidParameterException', 400, self.admin.create_user_pool, PoolName='p',
                         AliasAttributes=['email'], UsernameAttributes=['email'])
        self.assertError('ResourceNotFoundException', 400, self.admin.describe_user_pool,
                         UserPoolId='us-east-1_Nope12345')

    def test_admin_operations_need_a_developer_signature(self):
        import boto3
        stranger = boto3.client('cognito-idp', endpoint_url=SERVER.endpoint, region_name=REGION,
                                aws_access_key_id='AKIAUNKNOWN000000000', aws_secret_access_key='x' * 40,
                                config=_boto_config())
        self.assertError('UnrecognizedClientException', 403, stranger.list_user_pools, MaxResults=10)
        self.assertError('MissingAuthenticationTokenException', 403, self.public.list_user_pools, MaxResults=10)

    def test_client_lifecycle_with_generated_secret(self):
        c = new_client(self.admin, self.pool, GenerateSecret=True, AccessTokenValidity=10,
                       TokenValidityUnits={'AccessToken': 'minutes'})
        self.assertRegex(c['ClientId'], r'^[a-z0-9]{26}$')
        self.assertRegex(c['ClientSecret'], r'^[a-z0-9]{51}$')
        self.assertEqual(c['PreventUserExistenceErrors'], 'LEGACY')
        self.assertTrue(c['EnableTokenRevocation'])
        d = self.admin.describe_user_pool_client(UserPoolId=self.pool, ClientId=c['ClientId'])['UserPoolClient']
        self.assertEqual(d['ClientSecret'], c['ClientSecret'])
        self.assertEqual(d['AccessTokenValidity'], 10)
        listed = [x['ClientId'] for x in self.admin.list_user_pool_clients(UserPoolId=self.pool)['UserPoolClients']]
        self.assertIn(c['ClientId'], listed)
        u = self.admin.update_user_pool_client(UserPoolId=self.pool, ClientId=c['ClientId'], ClientName='renamed')
        self.assertEqual(u['UserPoolClient']['ClientName'], 'renamed')
        self.assertEqual(u['UserPoolClient']['AccessTokenValidity'], 1)  # reset to the default
        self.assertEqual(u['UserPoolClient']['ClientSecret'], c['ClientSecret'])
        self.admin.delete_user_pool_client(UserPoolId=self.pool, ClientId=c['ClientId'])
        self.assertError('ResourceNotFoundException', 400, self.admin.describe_user_pool_client,
                         UserPoolId=self.pool, ClientId=c['ClientId'])
        self.assertError('InvalidParameterException', 400, new_client, self.admin, self.pool,
                         AccessTokenValidity=2, TokenValidityUnits={'AccessToken': 'minutes'})

    # ---- sign-up and confirmation

    def test_sign_up_confirm_and_the_code_errors(self):
        name = 'alice-' + uuid.uuid4().hex[:6]
        out = self.public.sign_up(ClientId=self.client, Username=name, Password=PASSWORD,
                                  UserAttributes=[{'Name': 'email', 'Value': 'jane@example.com'}])
        self.assertFalse(out['UserConfirmed'])
        self.assertRegex(out['UserSub'], r'^[0-9a-f-]{36}$')
        self.assertEqual(out['CodeDeliveryDetails'],
                         {'Destination': 'j***@e***', 'DeliveryMedium': 'EMAIL', 'AttributeName': 'email'})
        self.assertError('UserNotConfirmedException', 400, self.password_sign_in, name)
        code = SERVER.code(self.pool, name)
        wrong = '000000' if code != '000000' else '111111'
        self.assertError('CodeMismatchException', 400, self.public.confirm_sign_up, ClientId=self.client,
                         Username=name, ConfirmationCode=wrong)
        self.public.confirm_sign_up(ClientId=self.client, Username=name, ConfirmationCode=code)
        err = self.assertError('NotAuthorizedException', 400, self.public.confirm_sign_up, ClientId=self.client,
                               Username=name, ConfirmationCode=code)
        self.assertEqual(err['Error']['Message'], 'User cannot be confirmed. Current status is CONFIRMED')
        user = self.admin.admin_get_user(UserPoolId=self.pool, Username=name)
        self.assertEqual(user['UserStatus'], 'CONFIRMED')
        attrs = {a['Name']: a['Value'] for a in user['UserAttributes']}
        self.assertEqual(attrs['email_verified'], 'true')
        self.assertEqual(attrs['sub'], out['UserSub'])
        self.assertError('UsernameExistsException', 400, self.public.sign_up, ClientId=self.client, Username=name,
                         Password=PASSWORD)

    def test_resend_supersedes_the_old_code(self):
        name, _ = self.sign_up(confirm=False)
        first = SERVER.code(self.pool, name)
        self.public.resend_confirmation_code(ClientId=self.client, Username=name)
        second = SERVER.code(self.pool, name)
        if first != second:
            self.assertError('CodeMismatchException', 400, self.public.confirm_sign_up, ClientId=self.client,
                             Username=name, ConfirmationCode=first)
        self.public.confirm_sign_up(ClientId=self.client, Username=name, ConfirmationCode=second)
        err = self.assertError('InvalidParameterException', 400, self.public.resend_confirmation_code,
                               ClientId=self.client, Username=name)
        self.assertEqual(err['Error']['Message'], 'User is already confirmed.')

    def test_password_policy_and_format(self):
        err = self.assertError('InvalidPasswordException', 400, self.public.sign_up, ClientId=self.client,
                               Username='short-' + uuid.uuid4().hex[:6], Password='Ab1!')
        self.assertEqual(err['Error']['Message'], 'Password did not conform with policy: Password not long enough')
        err = self.assertError('InvalidPasswordException', 400, self.public.sign_up, ClientId=self.client,
                               Username='nosym-' + uuid.uuid4().hex[:6], Password='Passw0rdxx')
        self.assertEqual(err['Error']['Message'], 'Password did not conform with policy: Password must have symbol characters')
        self.assertError('InvalidParameterException', 400, self.public.sign_up, ClientId=self.client,
                         Username='space-' + uuid.uuid4().hex[:6], Password=' Passw0rd!')
        self.assertError('InvalidParameterException', 400, self.public.sign_up, ClientId=self.client,
                         Username='has space', Password=PASSWORD)

    def test_unknown_attribute_and_bad_email_are_refused(self):
        self.assertError('InvalidParameterException', 400, self.public.sign_up, ClientId=self.client,
                         Username='x-' + uuid.uuid4().hex[:6], Password=PASSWORD,
                         UserAttributes=[{'Name': 'custom:nope', 'Value': '1'}])
        self.assertError('InvalidParameterException', 400, self.public.sign_up, ClientId=self.client,
                         Username='x-' + uuid.uuid4().hex[:6], Password=PASSWORD,
                         UserAttributes=[{'Name': 'email', 'Value': 'not-an-email'}])
        self.assertError('InvalidParameterException', 400, self.public.sign_up, ClientId=self.client,
                         Username='x-' + uuid.uuid4().hex[:6], Password=PASSWORD,
                         UserAttributes=[{'Name': 'name', 'Value': 'x' * 2049}])

    def test_secret_hash(self):
        c = new_client(self.admin, self.pool, GenerateSecret=True)
        name = 'sh-' + uuid.uuid4().hex[:6]
        err = self.assertError('NotAuthorizedException', 400, self.public.sign_up, ClientId=c['ClientId'],
                               Username=name, Password=PASSWORD)
        self.assertEqual(err['Error']['Message'],
                         f"Client {c['ClientId']} is configured for secret but secret was not received")
        err = self.assertError('NotAuthorizedException', 400, self.public.sign_up, ClientId=c['ClientId'],
                               Username=name, Password=PASSWORD, SecretHash='AAAA' * 11)
        self.assertEqual(err['Error']['Message'], f"Unable to verify secret hash for client {c['ClientId']}")
        h = cognito_srp.secret_hash(c['ClientSecret'], name, c['ClientId'])
        self.public.sign_up(ClientId=c['ClientId'], Username=name, Password=PASSWORD, SecretHash=h,
                            UserAttributes=[{'Name': 'email', 'Value': 'sh@example.com'}])
        self.public.confirm_sign_up(ClientId=c['ClientId'], Username=name, SecretHash=h,
                                    ConfirmationCode=SERVER.code(self.pool, name))
        out = self.public.initiate_auth(ClientId=c['ClientId'], AuthFlow='USER_PASSWORD_AUTH',
                                        AuthParameters={'USERNAME': name, 'PASSWORD': PASSWORD, 'SECRET_HASH': h})
        self.assertIn('AccessToken', out['AuthenticationResult'])

    def test_spec_secret_hash_vector(self):
        self.assertEqual(cognito_srp.secret_hash('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP', 'alice',
                                                 '1example23456789abcdefghij'),
                         'ID9Y9/YeJu6oTPP1Y/OScySly4I3zGGgHfTNiIA0Q78=')

    # ---- sign-in and tokens

    def test_password_sign_in_tokens_have_the_spec_claims_and_verify_with_the_jwks(self):
        name, out = self.sign_up()
        res = self.password_sign_in(name)['AuthenticationResult']
        self.assertEqual(res['TokenType'], 'Bearer')
        self.assertEqual(res['ExpiresIn'], 3600)
        id_claims = cognito_srp.jwt_claims(res['IdToken'])
        access = cognito_srp.jwt_claims(res['AccessToken'])
        sub = out['UserSub']
        self.assertEqual(set(id_claims), {'sub', 'iss', 'aud', 'token_use', 'cognito:username', 'auth_time', 'iat',
                                          'exp', 'jti', 'origin_jti', 'event_id', 'email', 'email_verified'})
        self.assertEqual(set(access), {'sub', 'iss', 'client_id', 'token_use', 'username', 'scope', 'auth_time',
                                       'iat', 'exp', 'jti', 'origin_jti', 'event_id'})
        self.assertEqual(id_claims['token_use'], 'id')
        self.assertEqual(id_claims['aud'], self.client)
        self.assertIs(id_claims['email_verified'], True)
        self.assertEqual(id_claims['cognito:username'], name)
        self.assertEqual(access['token_use'], 'access')
        self.assertEqual(access['scope'], 'aws.cognito.signin.user.admin')
        self.assertEqual(access['username'], name)
        self.assertEqual(access['origin_jti'], id_claims['origin_jti'])
        self.assertNotEqual(access['jti'], id_claims['jti'])
        self.assertEqual(id_claims['sub'], sub)
        self.assertEqual(id_claims['iss'], access['iss'])
        self.assertTrue(id_claims['iss'].endswith('/' + self.pool))
        self.assertEqual(id_claims['exp'] - id_claims['iat'], 3600)
        # Two keys, distinct kids, both in the JWKS; signatures verify with them.
        jwks = SERVER.get(f'/{self.pool}/.well-known/jwks.json')['keys']
        kids = {k['kid']: k for k in jwks}
        self.assertEqual(len(kids), 2)
        self.assertNotEqual(cognito_srp.jwt_header(res['IdToken'])['kid'], cognito_srp.jwt_header(res['AccessToken'])['kid'])
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        import base64
        for tok in (res['IdToken'], res['AccessToken']):
            h, p, s = tok.split('.')
            jwk = kids[cognito_srp.jwt_header(tok)['kid']]
            n = int.from_bytes(base64.urlsafe_b64decode(jwk['n'] + '=' * (-len(jwk['n']) % 4)), 'big')
            key = rsa.RSAPublicNumbers(65537, n).public_key()
            key.verify(base64.urlsafe_b64decode(s + '=' * (-len(s) % 4)), f'{h}.{p}'.encode(), padding.PKCS1v15(),
                       hashes.SHA256())
        disco = SERVER.get(f'/{self.pool}/.well-known/openid-configuration')
        self.assertEqual(disco['issuer'], id_claims['iss'])
        self.assertTrue(disco['jwks_uri'].endswith(f'/{self.pool}/.well-known/jwks.json'))
        # The access token works on a token-authorized call.
        me = self.public.get_user(AccessToken=res['AccessToken'])
        self.assertEqual(me['Username'], name)
        self.assertIn({'Name': 'sub', 'Value': sub}, me['UserAttributes'])

    def test_sign_in_errors_in_aws_order(self):
        name, _ = self.sign_up()
        err = self.assertError('NotAuthorizedException', 400, self.password_sign_in, name, 'Wrong0ne!')
        self.assertEqual(err['Error']['Message'], 'Incorrect username or password.')
        err = self.assertError('UserNotFoundException', 400, self.password_sign_in, 'nobody-' + uuid.uuid4().hex[:6])
        self.assertEqual(err['Error']['Message'], 'User does not exist.')
        hidden = new_client(self.admin, self.pool, PreventUserExistenceErrors='ENABLED')['ClientId']
        err = self.assertError('NotAuthorizedException', 400, self.password_sign_in,
                               'nobody-' + uuid.uuid4().hex[:6], client=hidden)
        self.assertEqual(err['Error']['Message'], 'Incorrect username or password.')
        srp_only = new_client(self.admin, self.pool, ExplicitAuthFlows=['ALLOW_USER_SRP_AUTH'])['ClientId']
        err = self.assertError('InvalidParameterException', 400, self.password_sign_in, name, client=srp_only)
        self.assertEqual(err['Error']['Message'], 'USER_PASSWORD_AUTH flow not enabled for this client')
        self.admin.admin_disable_user(UserPoolId=self.pool, Username=name)
        err = self.assertError('NotAuthorizedException', 400, self.password_sign_in, name)
        self.assertEqual(err['Error']['Message'], 'User is disabled.')
        self.admin.admin_enable_user(UserPoolId=self.pool, Username=name)
        self.password_sign_in(name)
        self.assertError('InvalidParameterException', 400, self.public.initiate_auth, ClientId=self.client,
                         AuthFlow='USER_PASSWORD_AUTH', AuthParameters={'USERNAME': name})

    def test_srp_sign_in_and_its_refusals(self):
        name, out = self.sign_up()
        res = self.srp_sign_in(name)['AuthenticationResult']
        self.assertEqual(cognito_srp.jwt_claims(res['IdToken'])['sub'], out['UserSub'])
        self.assertError('NotAuthorizedException', 400, self.srp_sign_in, name, 'Wrong0ne!')
        # A zero-padded day, and a replayed SECRET_BLOCK, are refused.
        srp = cognito_srp.SrpClient(self.pool)
        first = self.public.initiate_auth(ClientId=self.client, AuthFlow='USER_SRP_AUTH',
                                          AuthParameters={'USERNAME': name, 'SRP_A': srp.srp_a})
        params = first['ChallengeParameters']
        self.assertEqual(params['USERNAME'], name)
        self.assertEqual(params['USER_ID_FOR_SRP'], name)
        self.assertNotIn('Session', first)
        import datetime
        t = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        padded = 'Tue Jan 02 03:04:05 UTC 2024'
        responses = srp.respond(params, PASSWORD, ts=padded)
        self.assertError('NotAuthorizedException', 400, self.public.respond_to_auth_challenge, ClientId=self.client,
                         ChallengeName='PASSWORD_VERIFIER', ChallengeResponses=responses)
        self.assertEqual(cognito_srp.timestamp(t), 'Tue Jan 2 03:04:05 UTC 2024')
        first = self.public.initiate_auth(ClientId=self.client, AuthFlow='USER_SRP_AUTH',
                                          AuthParameters={'USERNAME': name, 'SRP_A': srp.srp_a})
        good = srp.respond(first['ChallengeParameters'], PASSWORD)
        self.public.respond_to_auth_challenge(ClientId=self.client, ChallengeName='PASSWORD_VERIFIER',
                                              ChallengeResponses=good)
        err = self.assertError('NotAuthorizedException', 400, self.public.respond_to_auth_challenge,
                               ClientId=self.client, ChallengeName='PASSWORD_VERIFIER', ChallengeResponses=good)
        self.assertEqual(err['Error']['Message'], 'Invalid session for the user, session can only be used once.')
        # SRP_A = 0 mod N.
        self.assertError('NotAuthorizedException', 400, self.public.initiate_auth, ClientId=self.client,
                         AuthFlow='USER_SRP_AUTH',
                         AuthParameters={'USERNAME': name, 'SRP_A': format(cognito_srp.N, 'x')})

    def test_srp_for_a_hidden_unknown_user_looks_real_and_fails_like_a_wrong_password(self):
        hidden = new_client(self.admin, self.pool, PreventUserExistenceErrors='ENABLED')['ClientId']
        ghost = 'ghost-' + uuid.uuid4().hex[:6]
        srp = cognito_srp.SrpClient(self.pool)
        a = self.public.initiate_auth(ClientId=hidden, AuthFlow='USER_SRP_AUTH',
                                      AuthParameters={'USERNAME': ghost, 'SRP_A': srp.srp_a})['ChallengeParameters']
        b = self.public.initiate_auth(ClientId=hidden, AuthFlow='USER_SRP_AUTH',
                                      AuthParameters={'USERNAME': ghost, 'SRP_A': srp.srp_a})['ChallengeParameters']
        self.assertEqual((a['SALT'], a['USER_ID_FOR_SRP']), (b['SALT'], b['USER_ID_FOR_SRP']))
        self.assertNotEqual(a['SRP_B'], b['SRP_B'])
        err = self.assertError('NotAuthorizedException', 400, self.public.respond_to_auth_challenge, ClientId=hidden,
                               ChallengeName='PASSWORD_VERIFIER', ChallengeResponses=srp.respond(a, PASSWORD))
        self.assertEqual(err['Error']['Message'], 'Incorrect username or password.')
        self.assertError('UserNotFoundException', 400, self.public.initiate_auth, ClientId=self.client,
                         AuthFlow='USER_SRP_AUTH', AuthParameters={'USERNAME': ghost, 'SRP_A': srp.srp_a})

    def test_refresh_global_sign_out_and_revoke_token(self):
        name, _ = self.sign_up()
        res = self.srp_sign_in(name)['AuthenticationResult']
        again = self.public.initiate_auth(ClientId=self.client, AuthFlow='REFRESH_TOKEN_AUTH',
                                          AuthParameters={'REFRESH_TOKEN': res['RefreshToken']})['AuthenticationResult']
        self.assertNotIn('RefreshToken', again)
        old, new = cognito_srp.jwt_claims(res['AccessToken']), cognito_srp.jwt_claims(again['AccessToken'])
        self.assertEqual(new['origin_jti'], old['origin_jti'])
        self.assertEqual(new['auth_time'], old['auth_time'])
        # A tampered refresh token.
        bad = res['RefreshToken'][:-3] + ('AAA' if not res['RefreshToken'].endswith('AAA') else 'BBB')
        err = self.assertError('NotAuthorizedException', 400, self.public.initiate_auth, ClientId=self.client,
                               AuthFlow='REFRESH_TOKEN_AUTH', AuthParameters={'REFRESH_TOKEN': bad})
        self.assertEqual(err['Error']['Message'], 'Invalid Refresh Token')
        # RevokeToken voids that sign-in's refresh and access tokens; another sign-in is untouched.
        other = self.password_sign_in(name)['AuthenticationResult']
        self.public.revoke_token(Token=res['RefreshToken'], ClientId=self.client)
        err = self.assertError('NotAuthorizedException', 400, self.public.initiate_auth, ClientId=self.client,
                               AuthFlow='REFRESH_TOKEN_AUTH', AuthParameters={'REFRESH_TOKEN': res['RefreshToken']})
        self.assertEqual(err['Error']['Message'], 'Refresh Token has been revoked')
        err = self.assertError('NotAuthorizedException', 400, self.public.get_user, AccessToken=again['AccessToken'])
        self.assertEqual(err['Error']['Message'], 'Access Token has been revoked')
        self.public.get_user(AccessToken=other['AccessToken'])
        self.assertError('UnsupportedTokenTypeException', 400, self.public.revoke_token, Token=other['AccessToken'],
                         ClientId=self.client)
        # GlobalSignOut voids everything issued before it, and a new sign-in works at once.
        self.public.global_sign_out(AccessToken=other['AccessToken'])
        err = self.assertError('NotAuthorizedException', 400, self.public.get_user, AccessToken=other['AccessToken'])
        self.assertEqual(err['Error']['Message'], 'Access Token has been revoked')
        self.assertError('NotAuthorizedException', 400, self.public.initiate_auth, ClientId=self.client,
                         AuthFlow='REFRESH_TOKEN_AUTH', AuthParameters={'REFRESH_TOKEN': other['RefreshToken']})
        fresh = self.password_sign_in(name)['AuthenticationResult']
        self.public.get_user(AccessToken=fresh['AccessToken'])
        self.admin.admin_user_global_sign_out(UserPoolId=self.pool, Username=name)
        self.assertError('NotAuthorizedException', 400, self.public.get_user, AccessToken=fresh['AccessToken'])
        self.assertError('NotAuthorizedException', 400, self.public.get_user, AccessToken='not.a.token')

    def test_lockout_after_five_failures(self):
        name, _ = self.sign_up()
        for _ in range(5):
            self.assertError('NotAuthorizedException', 400, self.password_sign_in, name, 'Wrong0ne!')
        err = self.assertError('NotAuthorizedException', 400, self.password_sign_in, name)
        self.assertEqual(err['Error']['Message'], 'Password attempts exceeded')
        time.sleep(1.2)  # the first lockout is 1 s
        self.password_sign_in(name)

    def test_admin_create_user_and_new_password_required(self):
        name = 'admin-made-' + uuid.uuid4().hex[:6]
        out = self.admin.admin_create_user(UserPoolId=self.pool, Username=name, TemporaryPassword='Temp0rary!',
                                           MessageAction='SUPPRESS',
                                           UserAttributes=[{'Name': 'email', 'Value': 'a@example.com'},
                                                           {'Name': 'email_verified', 'Value': 'true'}])['User']
        self.assertEqual(out['UserStatus'], 'FORCE_CHANGE_PASSWORD')
        self.assertIn('sub', [a['Name'] for a in out['Attributes']])
        ch = self.admin.admin_initiate_auth(UserPoolId=self.pool, ClientId=self.client,
                                            AuthFlow='ADMIN_USER_PASSWORD_AUTH',
                                            AuthParameters={'USERNAME': name, 'PASSWORD': 'Temp0rary!'})
        self.assertEqual(ch['ChallengeName'], 'NEW_PASSWORD_REQUIRED')
        self.assertEqual(json.loads(ch['ChallengeParameters']['requiredAttributes']), [])
        self.assertEqual(json.loads(ch['ChallengeParameters']['userAttributes'])['email'], 'a@example.com')
        self.assertError('InvalidPasswordException', 400, self.public.respond_to_auth_challenge, ClientId=self.client,
                         ChallengeName='NEW_PASSWORD_REQUIRED', Session=ch['Session'],
                         ChallengeResponses={'USERNAME': name, 'NEW_PASSWORD': 'short'})
        # The failed attempt consumed the session (single use): sign in again.
        ch = self.public.initiate_auth(ClientId=self.client, AuthFlow='USER_PASSWORD_AUTH',
                                       AuthParameters={'USERNAME': name, 'PASSWORD': 'Temp0rary!'})
        res = self.public.respond_to_auth_challenge(ClientId=self.client, ChallengeName='NEW_PASSWORD_REQUIRED',
                                                    Session=ch['Session'],
                                                    ChallengeResponses={'USERNAME': name, 'NEW_PASSWORD': 'N3w-Passw0rd'})
        self.assertIn('IdToken', res['AuthenticationResult'])
        self.assertError('NotAuthorizedException', 400, self.public.respond_to_auth_challenge, ClientId=self.client,
                         ChallengeName='NEW_PASSWORD_REQUIRED', Session=ch['Session'],
                         ChallengeResponses={'USERNAME': name, 'NEW_PASSWORD': 'N3w-Passw0rd'})
        self.assertEqual(self.admin.admin_get_user(UserPoolId=self.pool, Username=name)['UserStatus'], 'CONFIRMED')
        self.srp_sign_in(name, 'N3w-Passw0rd')
        self.assertError('UsernameExistsException', 400, self.admin.admin_create_user, UserPoolId=self.pool,
                         Username=name, MessageAction='SUPPRESS')

    def test_forgot_password(self):
        name, _ = self.sign_up()
        out = self.public.forgot_password(ClientId=self.client, Username=name)
        self.assertEqual(out['CodeDeliveryDetails']['DeliveryMedium'], 'EMAIL')
        code = SERVER.code(self.pool, name)
        self.assertError('InvalidPasswordException', 400, self.public.confirm_forgot_password, ClientId=self.client,
                         Username=name, ConfirmationCode=code, Password='weak')
        self.public.confirm_forgot_password(ClientId=self.client, Username=name, ConfirmationCode=code,
                                            Password='Res3t-Passw0rd')
        self.assertError('NotAuthorizedException', 400, self.password_sign_in, name)
        self.password_sign_in(name, 'Res3t-Passw0rd')
        self.assertError('ExpiredCodeException', 400, self.public.confirm_forgot_password, ClientId=self.client,
                         Username=name, ConfirmationCode=code, Password='Res3t-Passw0rd2')
        # Unconfirmed email: no channel.
        other, _ = self.sign_up(confirm=False)
        err = self.assertError('InvalidParameterException', 400, self.public.forgot_password, ClientId=self.client,
                               Username=other)
        self.assertIn('no registered/verified email or phone_number', err['Error']['Message'])

    def test_change_password_and_attributes(self):
        name, _ = self.sign_up()
        tok = self.password_sign_in(name)['AuthenticationResult']['AccessToken']
        self.assertError('NotAuthorizedException', 400, self.public.change_password, AccessToken=tok,
                         PreviousPassword='Wrong0ne!', ProposedPassword='Chang3d-Passw0rd')
        self.public.change_password(AccessToken=tok, PreviousPassword=PASSWORD, ProposedPassword='Chang3d-Passw0rd')
        self.srp_sign_in(name, 'Chang3d-Passw0rd')
        out = self.public.update_user_attributes(AccessToken=tok, UserAttributes=[
            {'Name': 'email', 'Value': 'new@example.com'}, {'Name': 'name', 'Value': 'Jane'}])
        self.assertEqual(out['CodeDeliveryDetailsList'][0]['AttributeName'], 'email')
        attrs = {a['Name']: a['Value'] for a in self.public.get_user(AccessToken=tok)['UserAttributes']}
        self.assertEqual(attrs['email'], 'new@example.com')
        self.assertEqual(attrs['email_verified'], 'false')
        self.assertEqual(attrs['name'], 'Jane')
        self.assertError('CodeMismatchException', 400, self.public.verify_user_attribute, AccessToken=tok,
                         AttributeName='email', Code='999999' if SERVER.code(self.pool, name) != '999999' else '888888')
        self.public.verify_user_attribute(AccessToken=tok, AttributeName='email', Code=SERVER.code(self.pool, name))
        attrs = {a['Name']: a['Value'] for a in self.public.get_user(AccessToken=tok)['UserAttributes']}
        self.assertEqual(attrs['email_verified'], 'true')
        self.public.delete_user_attributes(AccessToken=tok, UserAttributeNames=['name'])
        attrs = {a['Name'] for a in self.public.get_user(AccessToken=tok)['UserAttributes']}
        self.assertNotIn('name', attrs)
        self.assertError('NotAuthorizedException', 400, self.public.update_user_attributes, AccessToken=tok,
                         UserAttributes=[{'Name': 'email_verified', 'Value': 'true'}])
        self.public.delete_user(AccessToken=tok)
        self.assertError('UserNotFoundException', 400, self.admin.admin_get_user, UserPoolId=self.pool, Username=name)
        self.assertError('NotAuthorizedException', 400, self.public.get_user, AccessToken=tok)

    # ---- TOTP MFA

    def test_totp_setup_and_mfa_sign_in(self):
        pool = new_pool(self.admin)
        client = new_client(self.admin, pool)['ClientId']
        self.assertError('InvalidParameterException', 400, self.admin.set_user_pool_mfa_config, UserPoolId=pool,
                         MfaConfiguration='ON')
        cfg = self.admin.set_user_pool_mfa_config(UserPoolId=pool, SoftwareTokenMfaConfiguration={'Enabled': True},
                                                  MfaConfiguration='OPTIONAL')
        self.assertEqual(cfg['MfaConfiguration'], 'OPTIONAL')
        self.assertEqual(self.admin.get_user_pool_mfa_config(UserPoolId=pool)['SoftwareTokenMfaConfiguration'],
                         {'Enabled': True})
        name, _ = self.sign_up(pool=pool, client=client)
        tok = self.password_sign_in(name, client=client)['AuthenticationResult']['AccessToken']
        secret = self.public.associate_software_token(AccessToken=tok)['SecretCode']
        self.assertRegex(secret, r'^[A-Z2-7]{32}$')
        self.assertError('EnableSoftwareTokenMFAException', 400, self.public.verify_software_token, AccessToken=tok,
                         UserCode=cognito_srp.totp(secret, step_offset=5))
        # The previous step's code (accepted: +-1 step), so the MFA sign-in can use the current one.
        self.assertEqual(self.public.verify_software_token(AccessToken=tok, UserCode=cognito_srp.totp(secret, step_offset=-1),
                                                           FriendlyDeviceName='phone')['Status'], 'SUCCESS')
        self.public.set_user_mfa_preference(AccessToken=tok, SoftwareTokenMfaSettings={'Enabled': True,
                                                                                       'PreferredMfa': True})
        me = self.public.get_user(AccessToken=tok)
        self.assertEqual(me['UserMFASettingList'], ['SOFTWARE_TOKEN_MFA'])
        self.assertEqual(me['PreferredMfaSetting'], 'SOFTWARE_TOKEN_MFA')
        ch = self.srp_sign_in(name, client=client, pool=pool)
        self.assertEqual(ch['ChallengeName'], 'SOFTWARE_TOKEN_MFA')
        self.assertEqual(ch['ChallengeParameters']['FRIENDLY_DEVICE_NAME'], 'phone')
        self.assertError('CodeMismatchException', 400, self.public.respond_to_auth_challenge, ClientId=client,
                         ChallengeName='SOFTWARE_TOKEN_MFA', Session=ch['Session'],
                         ChallengeResponses={'USERNAME': name, 'SOFTWARE_TOKEN_MFA_CODE': cognito_srp.totp(secret, step_offset=7)})
        # The TOTP code verified above is spent; wait for a new step if needed (no reuse, spec 9.4).
        used = cognito_srp.totp(secret)
        res = None
        for _ in range(2):
            code = cognito_srp.totp(secret)
            try:
                res = self.public.respond_to_auth_challenge(ClientId=client, ChallengeName='SOFTWARE_TOKEN_MFA',
                                                            Session=ch['Session'],
                                                            ChallengeResponses={'USERNAME': name,
                                                                                'SOFTWARE_TOKEN_MFA_CODE': code})
                break
            except Exception:  # the code of the step VerifySoftwareToken used: wait for the next step
                time.sleep(31 - time.time() % 30)
        self.assertIsNotNone(res)
        self.assertIn('AccessToken', res['AuthenticationResult'])
        del used
        # The same code again, in a new sign-in: refused as already used.
        ch2 = self.password_sign_in(name, client=client)
        self.assertError('CodeMismatchException', 400, self.public.respond_to_auth_challenge, ClientId=client,
                         ChallengeName='SOFTWARE_TOKEN_MFA', Session=ch2['Session'],
                         ChallengeResponses={'USERNAME': name, 'SOFTWARE_TOKEN_MFA_CODE': code})

    def test_mfa_on_pool_requires_setup_during_sign_in(self):
        pool = new_pool(self.admin)
        client = new_client(self.admin, pool)['ClientId']
        self.admin.set_user_pool_mfa_config(UserPoolId=pool, SoftwareTokenMfaConfiguration={'Enabled': True},
                                            MfaConfiguration='ON')
        name, _ = self.sign_up(pool=pool, client=client)
        ch = self.password_sign_in(name, client=client)
        self.assertEqual(ch['ChallengeName'], 'MFA_SETUP')
        self.assertEqual(json.loads(ch['ChallengeParameters']['MFAS_CAN_SETUP']), ['SOFTWARE_TOKEN_MFA'])
        assoc = self.public.associate_software_token(Session=ch['Session'])
        ver = self.public.verify_software_token(Session=assoc['Session'],
                                                UserCode=cognito_srp.totp(assoc['SecretCode'], step_offset=-1))
        res = self.public.respond_to_auth_challenge(ClientId=client, ChallengeName='MFA_SETUP', Session=ver['Session'],
                                                    ChallengeResponses={'USERNAME': name})
        self.assertIn('AccessToken', res['AuthenticationResult'])
        self.assertEqual(self.password_sign_in(name, client=client)['ChallengeName'], 'SOFTWARE_TOKEN_MFA')

    # ---- the user pool as an identity-pool login provider (spec 6.6)

    def test_identity_pool_accepts_the_pools_id_tokens_and_keeps_a_guests_data(self):
        pool, client, provider = LOGIN_POOL
        ci = SERVER.identity_client()
        # A guest writes a record, then signs up and in: its identity (and data) is kept.
        guest = ci.get_id(IdentityPoolId=SERVER.pool_id)['IdentityId']
        creds = ci.get_credentials_for_identity(IdentityId=guest)['Credentials']
        sync = SERVER.sync_client(creds)
        token = sync.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=guest, DatasetName='settings')['SyncSessionToken']
        sync.update_records(IdentityPoolId=SERVER.pool_id, IdentityId=guest, DatasetName='settings',
                            SyncSessionToken=token, RecordPatches=[{'Op': 'replace', 'Key': 'theme', 'Value': 'dark',
                                                                    'SyncCount': 0}])
        name, out = self.sign_up(pool=pool, client=client)
        id_token = self.password_sign_in(name, client=client)['AuthenticationResult']['IdToken']
        linked = ci.get_credentials_for_identity(IdentityId=guest, Logins={provider: id_token})
        self.assertEqual(linked['IdentityId'], guest)
        self.assertEqual(ci.get_id(IdentityPoolId=SERVER.pool_id, Logins={provider: id_token})['IdentityId'], guest)
        open_id = ci.get_open_id_token(IdentityId=guest, Logins={provider: id_token})['Token']
        amr = cognito_srp.jwt_claims(open_id)['amr']
        self.assertIn(provider, amr)
        self.assertIn(f"{provider}:CognitoSignIn:{out['UserSub']}", amr)
        sync = SERVER.sync_client(linked['Credentials'])
        records = sync.list_records(IdentityPoolId=SERVER.pool_id, IdentityId=guest, DatasetName='settings')['Records']
        self.assertEqual([(r['Key'], r['Value']) for r in records], [('theme', 'dark')])
        # A token of another client of the pool is not accepted.
        other = new_client(self.admin, pool)['ClientId']
        foreign = self.password_sign_in(name, client=other)['AuthenticationResult']['IdToken']
        err = self.assertError('NotAuthorizedException', 400, ci.get_id, IdentityPoolId=SERVER.pool_id,
                               Logins={provider: foreign})
        self.assertEqual(err['Error']['Message'], 'Token is not from a supported provider of this identity pool.')
        # An access token is not an ID token.
        access = self.password_sign_in(name, client=client)['AuthenticationResult']['AccessToken']
        self.assertError('NotAuthorizedException', 400, ci.get_id, IdentityPoolId=SERVER.pool_id,
                         Logins={provider: access})
        # After a global sign-out the server-side token check refuses the old token.
        fresh = self.password_sign_in(name, client=client)['AuthenticationResult']
        self.public.global_sign_out(AccessToken=fresh['AccessToken'])
        err = self.assertError('NotAuthorizedException', 400, ci.get_id, IdentityPoolId=SERVER.pool_id,
                               Logins={provider: fresh['IdToken']})
        self.assertIn('Invalid login token', err['Error']['Message'])
        again = self.password_sign_in(name, client=client)['AuthenticationResult']['IdToken']
        self.assertEqual(ci.get_id(IdentityPoolId=SERVER.pool_id, Logins={provider: again})['IdentityId'], guest)
        # A disabled user is refused too.
        self.admin.admin_disable_user(UserPoolId=pool, Username=name)
        self.assertError('NotAuthorizedException', 400, ci.get_id, IdentityPoolId=SERVER.pool_id,
                         Logins={provider: again})

    # ---- ListUsers, groups

    def test_list_users_filters_and_pagination(self):
        pool = new_pool(self.admin)
        client = new_client(self.admin, pool)['ClientId']
        names = []
        for i in range(5):
            n, _ = self.sign_up(username=f'lu{i}-' + uuid.uuid4().hex[:4], pool=pool, client=client,
                                confirm=i % 2 == 0, email=f'lu{i}@example.com')
            names.append(n)
        seen, token = [], None
        while True:
            page = self.admin.list_users(UserPoolId=pool, Limit=2, **({'PaginationToken': token} if token else {}))
            self.assertLessEqual(len(page['Users']), 2)
            seen += [u['Username'] for u in page['Users']]
            token = page.get('PaginationToken')
            if not token:
                break
        self.assertEqual(sorted(seen), sorted(names))
        only = self.admin.list_users(UserPoolId=pool, Filter='email = "lu3@example.com"')['Users']
        self.assertEqual([u['Username'] for u in only], [names[3]])
        pre = self.admin.list_users(UserPoolId=pool, Filter='username ^= "lu1"')['Users']
        self.assertEqual([u['Username'] for u in pre], [names[1]])
        unconfirmed = self.admin.list_users(UserPoolId=pool, Filter='cognito:user_status = "unconfirmed"')['Users']
        self.assertEqual(sorted(u['Username'] for u in unconfirmed), sorted([names[1], names[3]]))
        self.admin.admin_disable_user(UserPoolId=pool, Username=names[0])
        disabled = self.admin.list_users(UserPoolId=pool, Filter='status = "Disabled"')['Users']
        self.assertEqual([u['Username'] for u in disabled], [names[0]])
        few = self.admin.list_users(UserPoolId=pool, AttributesToGet=['email'], Limit=1)['Users'][0]
        self.assertEqual([a['Name'] for a in few['Attributes']], ['email'])
        self.assertEqual(self.admin.list_users(UserPoolId=pool, Filter='email = "none@example.com"')['Users'], [])
        for bad in ['email = lu3', 'custom:x = "1"', 'email = "a" and name = "b"', 'email ~ "x"']:
            self.assertError('InvalidParameterException', 400, self.admin.list_users, UserPoolId=pool, Filter=bad)

    def test_groups_appear_in_tokens(self):
        name, _ = self.sign_up()
        for g, p in (('editors', 2), ('admins', 1)):
            try:
                self.admin.create_group(UserPoolId=self.pool, GroupName=g, Precedence=p,
                                        RoleArn=f'arn:aws:iam::000000000000:role/{g}')
            except Exception:
                pass
            self.admin.admin_add_user_to_group(UserPoolId=self.pool, Username=name, GroupName=g)
        self.assertError('GroupExistsException', 400, self.admin.create_group, UserPoolId=self.pool, GroupName='admins')
        res = self.password_sign_in(name)['AuthenticationResult']
        idc = cognito_srp.jwt_claims(res['IdToken'])
        self.assertEqual(idc['cognito:groups'], ['admins', 'editors'])
        self.assertEqual(idc['cognito:preferred_role'], 'arn:aws:iam::000000000000:role/admins')
        self.assertEqual(cognito_srp.jwt_claims(res['AccessToken'])['cognito:groups'], ['admins', 'editors'])
        groups = [g['GroupName'] for g in self.admin.admin_list_groups_for_user(UserPoolId=self.pool,
                                                                                 Username=name)['Groups']]
        self.assertEqual(sorted(groups), ['admins', 'editors'])
        members = [u['Username'] for u in self.admin.list_users_in_group(UserPoolId=self.pool,
                                                                         GroupName='editors')['Users']]
        self.assertIn(name, members)
        self.admin.admin_remove_user_from_group(UserPoolId=self.pool, Username=name, GroupName='editors')
        idc = cognito_srp.jwt_claims(self.password_sign_in(name)['AuthenticationResult']['IdToken'])
        self.assertEqual(idc['cognito:groups'], ['admins'])

    def test_email_as_username_pool(self):
        pool = new_pool(self.admin, UsernameAttributes=['email'])
        client = new_client(self.admin, pool)['ClientId']
        self.assertError('InvalidParameterException', 400, self.public.sign_up, ClientId=client, Username='plain',
                         Password=PASSWORD)
        out = self.public.sign_up(ClientId=client, Username='Mixed@Example.com', Password=PASSWORD)
        sub = out['UserSub']
        self.public.confirm_sign_up(ClientId=client, Username='Mixed@Example.com',
                                    ConfirmationCode=SERVER.code(pool, sub))
        res = self.password_sign_in('mixed@example.com', client=client)['AuthenticationResult']
        self.assertEqual(cognito_srp.jwt_claims(res['IdToken'])['cognito:username'], sub)
        err = self.assertError('UsernameExistsException', 400, self.public.sign_up, ClientId=client,
                               Username='mixed@example.com', Password=PASSWORD)
        self.assertEqual(err['Error']['Message'], 'An account with the given email already exists.')
        ch = cognito_srp.SrpClient(pool)
        first = self.public.initiate_auth(ClientId=client, AuthFlow='USER_SRP_AUTH',
                                          AuthParameters={'USERNAME': 'Mixed@Example.com', 'SRP_A': ch.srp_a})
        self.assertEqual(first['ChallengeParameters']['USER_ID_FOR_SRP'], sub)
        self.public.respond_to_auth_challenge(ClientId=client, ChallengeName='PASSWORD_VERIFIER',
                                              ChallengeResponses=ch.respond(first['ChallengeParameters'], PASSWORD))


if __name__ == '__main__':
    tap_unittest.main(sys.modules[__name__])
