// Cognito User Pools (issue 15) with the real JavaScript clients against the real tetherd:
//   - amazon-cognito-identity-js (what Amplify v5 and many apps use): sign-up, confirmation with the
//     code from the dev delivery endpoint, SRP sign-in (its default), refresh, attributes and their
//     verification, change and forgotten password, TOTP setup and MFA sign-in, sign-out (which
//     revokes the refresh token) and global sign-out;
//   - @aws-sdk/client-cognito-identity-provider v3: pools and clients, admin operations, ListUsers;
//   - end to end: the ID token as a login of an identity pool (GetId / GetCredentialsForIdentity)
//     and a dataset synced with amazon-cognito-js (aws-sdk v2's CognitoSyncManager); after a
//     global sign-out the identity pool (ServerSideTokenCheck) refuses the old token.
// The user pool and its client are made with `tetherd user-pool create` before the server starts,
// so the identity pool's config can name them ([[pools.user_pool_providers]]).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { lastCode as devCode, totp } from './user_pools_support.mjs';
import { startTetherd, REGION } from './tetherd.mjs';

const require = createRequire(import.meta.url);
let CIJ, IDP, CI, AWS;
try {
  CIJ = require('amazon-cognito-identity-js');
  IDP = require('@aws-sdk/client-cognito-identity-provider');
  CI = require('@aws-sdk/client-cognito-identity');
  AWS = require('aws-sdk');
  require('amazon-cognito-js');
} catch {
  CIJ = null;
}
const skip = CIJ ? false : 'npm packages missing: run scripts/install-compat-deps.sh';

let server, poolId, clientId, provider, admin;
const PASSWORD = 'Passw0rd!';

before(async () => {
  if (skip) return;
  server = await startTetherd(20000, '[user_pools]\ndev_codes = true\n', async (dataDir) => {
    const out = execFileSync(process.env.TETHERD_BIN,
      ['user-pool', 'create', '--data-dir', dataDir, '--name', 'js', '--client', 'web'], { encoding: 'utf8' });
    poolId = out.match(/^UserPoolId\t(\S+)/m)[1];
    clientId = out.match(/^ClientId\t(\S+)/m)[1];
    provider = `cognito-idp.${REGION}.amazonaws.com/${poolId}`;
    return `[[pools.user_pool_providers]]\nprovider = "${provider}"\nclient_ids = ["${clientId}"]\n` +
           'server_side_token_check = true\n';
  });
  admin = new IDP.CognitoIdentityProviderClient({
    region: REGION, endpoint: server.endpoint, maxAttempts: 1,
    credentials: { accessKeyId: server.devKey, secretAccessKey: server.devSecret },
  });
});
after(async () => { if (server) await server.stop(); });

const cb = (fn) => new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
const userPool = () => new CIJ.CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint: server.endpoint + '/' });
const cognitoUser = (name) => new CIJ.CognitoUser({ Username: name, Pool: userPool() });

// Sign-in with the callbacks amazon-cognito-identity-js calls; resolves with what happened.
function authenticate(user, password) {
  return new Promise((resolve, reject) => {
    user.authenticateUser(new CIJ.AuthenticationDetails({ Username: user.getUsername(), Password: password }), {
      onSuccess: (session) => resolve({ session }),
      onFailure: (err) => reject(err),
      totpRequired: (name, params) => resolve({ totp: true, name, params }),
      mfaSetup: (name, params) => resolve({ mfaSetup: true, name, params }),
      newPasswordRequired: (attrs, required) => resolve({ newPassword: true, attrs, required }),
    });
  });
}

async function signUpConfirmed(name, email) {
  const res = await cb((done) => userPool().signUp(name, PASSWORD,
    [new CIJ.CognitoUserAttribute({ Name: 'email', Value: email || `${name}@example.com` })], null, done));
  assert.equal(res.userConfirmed, false);
  assert.equal(res.codeDeliveryDetails.DeliveryMedium, 'EMAIL');
  const code = await devCode(server.endpoint, poolId, name);
  await cb((done) => cognitoUser(name).confirmRegistration(code, true, done));
  return res.userSub;
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

test('amazon-cognito-identity-js: sign-up, SRP sign-in, refresh, attributes, passwords', { skip }, async () => {
  const name = 'alice' + Date.now();
  const sub = await signUpConfirmed(name);
  const user = cognitoUser(name);
  const { session } = await authenticate(user, PASSWORD);
  assert.equal(session.isValid(), true);
  assert.equal(session.getIdToken().payload.sub, sub);
  assert.equal(session.getIdToken().payload['cognito:username'], name);
  assert.equal(session.getAccessToken().payload.client_id, clientId);
  // Wrong password: the library surfaces NotAuthorizedException.
  await assert.rejects(authenticate(cognitoUser(name), 'Wrong0ne!'),
    (e) => e.code === 'NotAuthorizedException' && e.message === 'Incorrect username or password.');
  // Refresh keeps the refresh token and the original auth_time.
  const refreshed = await cb((done) => user.refreshSession(session.getRefreshToken(), done));
  assert.notEqual(refreshed.getAccessToken().getJwtToken(), session.getAccessToken().getJwtToken());
  assert.equal(refreshed.getAccessToken().payload.auth_time, session.getAccessToken().payload.auth_time);
  // Attributes: update email -> code -> verify.
  await cb((done) => user.updateAttributes([new CIJ.CognitoUserAttribute({ Name: 'email', Value: `new-${name}@example.com` }),
    new CIJ.CognitoUserAttribute({ Name: 'name', Value: 'Alice' })], done));
  let attrs = Object.fromEntries((await cb((done) => user.getUserAttributes(done))).map((a) => [a.getName(), a.getValue()]));
  assert.equal(attrs.email, `new-${name}@example.com`);
  assert.equal(attrs.email_verified, 'false');
  await new Promise((resolve, reject) => user.verifyAttribute('email', '000000', { onSuccess: () => reject(new Error('wrong code accepted')), onFailure: (e) => (e.code === 'CodeMismatchException' ? resolve() : reject(e)) }));
  const code = await devCode(server.endpoint, poolId, name);
  await new Promise((resolve, reject) => user.verifyAttribute('email', code, { onSuccess: resolve, onFailure: reject }));
  attrs = Object.fromEntries((await cb((done) => user.getUserAttributes(done))).map((a) => [a.getName(), a.getValue()]));
  assert.equal(attrs.email_verified, 'true');
  await cb((done) => user.deleteAttributes(['name'], done));
  // Change password, then sign in with the new one.
  await cb((done) => user.changePassword(PASSWORD, 'N3w-Passw0rd', done));
  await authenticate(cognitoUser(name), 'N3w-Passw0rd');
  // Forgotten password.
  const u2 = cognitoUser(name);
  await new Promise((resolve, reject) => u2.forgotPassword({ onSuccess: resolve, onFailure: reject, inputVerificationCode: resolve }));
  const reset = await devCode(server.endpoint, poolId, name);
  await new Promise((resolve, reject) => u2.confirmPassword(reset, 'Res3t-Passw0rd', { onSuccess: resolve, onFailure: reject }));
  await assert.rejects(authenticate(cognitoUser(name), 'N3w-Passw0rd'), (e) => e.code === 'NotAuthorizedException');
  await authenticate(cognitoUser(name), 'Res3t-Passw0rd');
});

test('amazon-cognito-identity-js: sign-out revokes, global sign-out voids every session', { skip }, async () => {
  const name = 'bob' + Date.now();
  await signUpConfirmed(name);
  const user = cognitoUser(name);
  const { session } = await authenticate(user, PASSWORD);
  assert.ok(session.getAccessToken().payload.origin_jti, 'origin_jti lets signOut() revoke');
  const refresh = session.getRefreshToken();
  await cb((done) => user.signOut(() => done(null)));  // calls RevokeToken
  await assert.rejects(cb((done) => cognitoUser(name).refreshSession(refresh, done)),
    (e) => e.code === 'NotAuthorizedException' && /revoked/.test(e.message));
  const other = cognitoUser(name);
  const s2 = (await authenticate(other, PASSWORD)).session;
  await new Promise((resolve, reject) => other.globalSignOut({ onSuccess: resolve, onFailure: reject }));
  await assert.rejects(cb((done) => cognitoUser(name).refreshSession(s2.getRefreshToken(), done)),
    (e) => e.code === 'NotAuthorizedException');
});

test('amazon-cognito-identity-js: TOTP setup and MFA sign-in', { skip }, async () => {
  await admin.send(new IDP.SetUserPoolMfaConfigCommand({ UserPoolId: poolId, MfaConfiguration: 'OPTIONAL',
    SoftwareTokenMfaConfiguration: { Enabled: true } }));
  const name = 'carol' + Date.now();
  await signUpConfirmed(name);
  const user = cognitoUser(name);
  await authenticate(user, PASSWORD);
  const secret = await new Promise((resolve, reject) => user.associateSoftwareToken({ associateSecretCode: resolve, onFailure: reject }));
  // The previous step's code (accepted: +-1 step), so the MFA sign-in can use the current one.
  await new Promise((resolve, reject) => user.verifySoftwareToken(totp(secret, -1), 'laptop', { onSuccess: resolve, onFailure: reject }));
  await cb((done) => user.setUserMfaPreference(null, { PreferredMfa: true, Enabled: true }, done));
  const fresh = cognitoUser(name);
  const step = await authenticate(fresh, PASSWORD);
  assert.equal(step.totp, true);
  assert.equal(step.name, 'SOFTWARE_TOKEN_MFA');
  // The code VerifySoftwareToken spent cannot be used again: wait for the next step if needed.
  let session;
  for (let i = 0; i < 2 && !session; i++) {
    try {
      session = await new Promise((resolve, reject) => fresh.sendMFACode(totp(secret), { onSuccess: resolve, onFailure: reject }, 'SOFTWARE_TOKEN_MFA'));
    } catch (e) {
      assert.equal(e.code, 'CodeMismatchException');
      await new Promise((r) => setTimeout(r, (31 - (Date.now() / 1000) % 30) * 1000));
    }
  }
  assert.ok(session && session.isValid());
  await admin.send(new IDP.SetUserPoolMfaConfigCommand({ UserPoolId: poolId, MfaConfiguration: 'OFF',
    SoftwareTokenMfaConfiguration: { Enabled: true } }));
});

test('SDK v3: admin operations, ListUsers, errors with their names', { skip }, async () => {
  const name = 'dave' + Date.now();
  const created = await admin.send(new IDP.AdminCreateUserCommand({ UserPoolId: poolId, Username: name,
    TemporaryPassword: 'Temp0rary!', MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: `${name}@example.com` }, { Name: 'email_verified', Value: 'true' }] }));
  assert.equal(created.User.UserStatus, 'FORCE_CHANGE_PASSWORD');
  const step = await authenticate(cognitoUser(name), 'Temp0rary!');
  assert.equal(step.newPassword, true);
  await admin.send(new IDP.AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: name, Password: PASSWORD, Permanent: true }));
  const got = await admin.send(new IDP.AdminGetUserCommand({ UserPoolId: poolId, Username: name }));
  assert.equal(got.UserStatus, 'CONFIRMED');
  const listed = await admin.send(new IDP.ListUsersCommand({ UserPoolId: poolId, Filter: `username = "${name}"` }));
  assert.deepEqual(listed.Users.map((u) => u.Username), [name]);
  await assert.rejects(admin.send(new IDP.AdminGetUserCommand({ UserPoolId: poolId, Username: 'nobody' })),
    (e) => e.name === 'UserNotFoundException' && e.$metadata.httpStatusCode === 400);
  const pub = new IDP.CognitoIdentityProviderClient({ region: REGION, endpoint: server.endpoint, maxAttempts: 1,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await assert.rejects(pub.send(new IDP.InitiateAuthCommand({ ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH',
    AuthParameters: { USERNAME: name, PASSWORD } })), (e) => e.name === 'InvalidParameterException');
  await admin.send(new IDP.AdminDeleteUserCommand({ UserPoolId: poolId, Username: name }));
});

test('end to end: user pool sign-in -> identity pool -> amazon-cognito-js sync; global sign-out -> refused', { skip }, async () => {
  const name = 'erin' + Date.now();
  const sub = await signUpConfirmed(name);
  const user = cognitoUser(name);
  const { session } = await authenticate(user, PASSWORD);
  const idToken = session.getIdToken().getJwtToken();
  const ci = new CI.CognitoIdentityClient({ region: REGION, endpoint: server.endpoint, maxAttempts: 1 });
  const { IdentityId } = await ci.send(new CI.GetIdCommand({ IdentityPoolId: server.poolId, Logins: { [provider]: idToken } }));
  const creds = await ci.send(new CI.GetCredentialsForIdentityCommand({ IdentityId, Logins: { [provider]: idToken } }));
  assert.ok(creds.Credentials.AccessKeyId);
  // amazon-cognito-js on aws-sdk v2 with the same login.
  AWS.config.update({ region: REGION, cognitoidentity: { endpoint: server.endpoint },
    cognitosync: { endpoint: server.endpoint }, maxRetries: 0 });
  const credentials = new AWS.CognitoIdentityCredentials({ IdentityPoolId: server.poolId, Logins: { [provider]: idToken } },
    { endpoint: server.endpoint, region: REGION });
  await cb((done) => credentials.get(done));
  assert.equal(credentials.identityId, IdentityId);
  AWS.config.credentials = credentials;
  const manager = new AWS.CognitoSyncManager({ DataStore: AWS.CognitoSyncManager.StoreInMemory });
  const ds = await cb((done) => manager.openOrCreateDataset('profile', done));
  await cb((done) => ds.put('sub', sub, done));
  await new Promise((resolve, reject) => ds.synchronize({ onSuccess: resolve, onFailure: reject,
    onConflict: (d, c, r) => r(false), onDatasetDeleted: (d, n, r) => r(true), onDatasetsMerged: (d, m, r) => r(true) }));
  const sync = new AWS.CognitoSync({ endpoint: server.endpoint, region: REGION });
  const records = await sync.listRecords({ IdentityPoolId: server.poolId, IdentityId, DatasetName: 'profile' }).promise();
  assert.deepEqual(records.Records.map((r) => [r.Key, r.Value]), [['sub', sub]]);
  // Global sign-out: the identity pool checks with the user pool and refuses the old ID token.
  await new Promise((resolve, reject) => user.globalSignOut({ onSuccess: resolve, onFailure: reject }));
  await assert.rejects(ci.send(new CI.GetIdCommand({ IdentityPoolId: server.poolId, Logins: { [provider]: idToken } })),
    (e) => e.name === 'NotAuthorizedException' && /Invalid login token/.test(e.message));
});
