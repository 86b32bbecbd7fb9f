// AWS Amplify Auth v6 (aws-amplify, the library most Cognito apps now use) against the real
// tetherd, configured with `userPoolEndpoint` only: sign-up with the code from the dev delivery
// endpoint, SRP sign-in (Amplify's default), the session's tokens, attributes, TOTP setup and an
// MFA sign-in through confirmSignIn, and a global sign-out that voids the refresh token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { lastCode as devCode, totp } from './user_pools_support.mjs';
import { startTetherd } from './tetherd.mjs';

const require = createRequire(import.meta.url);
let Amplify, auth;
try {
  require.resolve('aws-amplify');
  ({ Amplify } = await import('aws-amplify'));
  auth = await import('aws-amplify/auth');
} catch {
  Amplify = null;
}
const skip = Amplify ? false : 'npm packages missing: run scripts/install-compat-deps.sh';

let server, poolId, clientId;
const PASSWORD = 'Passw0rd!';

before(async () => {
  if (skip) return;
  server = await startTetherd(20000, '[user_pools]\ndev_codes = true\n', async (dataDir) => {
    const out = execFileSync(process.env.TETHERD_BIN,
      ['user-pool', 'create', '--data-dir', dataDir, '--name', 'amplify', '--client', 'web'], { encoding: 'utf8' });
    poolId = out.match(/^UserPoolId\t(\S+)/m)[1];
    clientId = out.match(/^ClientId\t(\S+)/m)[1];
    return '';
  });
  // Amplify warns once that the endpoint is custom; that is the point here.
  const warn = console.warn;
  console.warn = () => {};
  Amplify.configure({ Auth: { Cognito: { userPoolId: poolId, userPoolClientId: clientId,
                                          userPoolEndpoint: server.endpoint } } });
  console.warn = warn;
});
after(async () => { if (server) await server.stop(); });

test('Amplify v6: sign-up, SRP sign-in, session, attributes, TOTP MFA, global sign-out', { skip }, async () => {
  const name = 'amp' + Date.now();
  const up = await auth.signUp({ username: name, password: PASSWORD,
    options: { userAttributes: { email: `${name}@example.com` } } });
  assert.equal(up.nextStep.signUpStep, 'CONFIRM_SIGN_UP');
  assert.equal(up.nextStep.codeDeliveryDetails.deliveryMedium, 'EMAIL');
  await assert.rejects(auth.confirmSignUp({ username: name, confirmationCode: '000000x' }),
    (e) => e.name === 'CodeMismatchException' || e.name === 'InvalidParameterException');
  const done = await auth.confirmSignUp({ username: name, confirmationCode: await devCode(server.endpoint, poolId, name) });
  assert.equal(done.isSignUpComplete, true);

  await assert.rejects(auth.signIn({ username: name, password: 'Wrong0ne!' }), (e) => e.name === 'NotAuthorizedException');
  const si = await auth.signIn({ username: name, password: PASSWORD });
  assert.equal(si.isSignedIn, true);
  const session = await auth.fetchAuthSession();
  const sub = session.tokens.idToken.payload.sub;
  assert.equal(session.tokens.accessToken.payload.client_id, clientId);
  const user = await auth.getCurrentUser();
  assert.equal(user.userId, sub);
  assert.equal(user.signInDetails.authFlowType, 'USER_SRP_AUTH');
  await auth.updateUserAttributes({ userAttributes: { name: 'Ada' } });
  const attrs = await auth.fetchUserAttributes();
  assert.equal(attrs.name, 'Ada');
  assert.equal(attrs.email_verified, 'true');

  // TOTP: the pool allows it, the user sets it up, the next sign-in asks for a code.
  const admin = await import('@aws-sdk/client-cognito-identity-provider');
  const idp = new admin.CognitoIdentityProviderClient({ region: 'us-east-1', endpoint: server.endpoint, maxAttempts: 1,
    credentials: { accessKeyId: server.devKey, secretAccessKey: server.devSecret } });
  await idp.send(new admin.SetUserPoolMfaConfigCommand({ UserPoolId: poolId, MfaConfiguration: 'OPTIONAL',
    SoftwareTokenMfaConfiguration: { Enabled: true } }));
  const setup = await auth.setUpTOTP();
  const secret = setup.sharedSecret;
  assert.match(setup.getSetupUri('tether').href, /^otpauth:\/\/totp\//);
  // The previous step's code (accepted: +-1 step), so the sign-in below can use the current one
  // at once (a code is accepted once).
  await auth.verifyTOTPSetup({ code: totp(secret, -1) });
  await auth.updateMFAPreference({ totp: 'PREFERRED' });
  assert.deepEqual((await auth.fetchMFAPreference()).enabled, ['TOTP']);
  await auth.signOut();

  const mfa = await auth.signIn({ username: name, password: PASSWORD });
  assert.equal(mfa.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_TOTP_CODE');
  // The code verifyTOTPSetup spent cannot be used again: wait for the next 30 s step if needed.
  let confirmed;
  for (let i = 0; i < 2 && !confirmed; i++) {
    try {
      confirmed = await auth.confirmSignIn({ challengeResponse: totp(secret) });
    } catch (e) {
      assert.equal(e.name, 'CodeMismatchException');
      await new Promise((r) => setTimeout(r, (31 - (Date.now() / 1000) % 30) * 1000));
    }
  }
  assert.equal(confirmed.isSignedIn, true);

  // Global sign-out: the server revokes every token of the user.
  const access = (await auth.fetchAuthSession()).tokens.accessToken.toString();
  await auth.signOut({ global: true });
  await assert.rejects(idp.send(new admin.GetUserCommand({ AccessToken: access })),
    (e) => e.name === 'NotAuthorizedException' && /revoked/.test(e.message));
});
