// The hosted UI's OAuth 2.0 / OpenID Connect endpoints (spec cognito-user-pools.md 7) against the
// real tetherd:
//   - a generic relying party, npm `openid-client`, completes the authorization-code flow with
//     PKCE (discovery from /<poolId>/.well-known/openid-configuration, ID-token checks against the
//     JWKS, userInfo, refresh, revocation), for a confidential and for a public client;
//   - every endpoint's errors at the HTTP level (no redirect to an unchecked address, the OAuth
//     error codes and statuses, WWW-Authenticate), CSRF, logout, client_credentials, the Host
//     header naming a pool's domain, and the domain / resource-server admin operations.
// The sign-in is driven by FormBrowser (hosted_ui_support.mjs): plain form posts, no JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import { startTetherd, REGION } from './tetherd.mjs';
import { CALLBACK, SIGNED_OUT, FormBrowser, formsOf, makeOAuthPool, makeUser } from './hosted_ui_support.mjs';

const require = createRequire(import.meta.url);
let IDP, oidc;
try {
  IDP = require('@aws-sdk/client-cognito-identity-provider');
  oidc = await import('openid-client');
} catch {
  IDP = null;
}
const skip = IDP ? false : 'npm packages missing: run scripts/install-compat-deps.sh';

const PASSWORD = 'Passw0rd!';
let server, admin, pool, issuer;

before(async () => {
  if (skip) return;
  server = await startTetherd(20000, '[user_pools]\ndev_codes = true\n');
  admin = new IDP.CognitoIdentityProviderClient({ region: REGION, endpoint: server.endpoint, maxAttempts: 1,
    credentials: { accessKeyId: server.devKey, secretAccessKey: server.devSecret } });
  pool = await makeOAuthPool(IDP, admin, { domain: 'hosted-' + Date.now() });
  issuer = `${server.endpoint}/${pool.poolId}`;
  await makeUser(IDP, admin, pool.poolId, 'alice', PASSWORD);
});
after(async () => { if (server) await server.stop(); });

const discover = (clientId, secret) => oidc.discovery(new URL(issuer), clientId, undefined,
  secret ? oidc.ClientSecretBasic(secret) : oidc.None(), { execute: [oidc.allowInsecureRequests] });

async function codeFlow(config, browser, scope = 'openid email profile') {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope, state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const back = await browser.signIn(url.href, 'alice', PASSWORD);
  assert.ok(back.startsWith(CALLBACK + '?code='), back);
  return oidc.authorizationCodeGrant(config, new URL(back), { pkceCodeVerifier: verifier, expectedState: state,
    expectedNonce: nonce });
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

test('openid-client: code flow with PKCE (confidential client), userInfo, refresh, revocation', { skip }, async () => {
  const config = await discover(pool.web.ClientId, pool.web.ClientSecret);
  assert.equal(config.serverMetadata().issuer, issuer);
  const tokens = await codeFlow(config, new FormBrowser(server.endpoint));
  const id = tokens.claims();
  assert.equal(id.iss, issuer);
  assert.equal(id.aud, pool.web.ClientId);
  assert.equal(id.email, 'alice@example.com');
  assert.equal(id['cognito:username'], 'alice');
  const access = claims(tokens.access_token);
  assert.equal(access.version, 2);
  assert.equal(access.token_use, 'access');
  assert.deepEqual(access.scope.split(' ').sort(), ['email', 'openid', 'profile']);
  assert.ok(tokens.refresh_token);
  const info = await oidc.fetchUserInfo(config, tokens.access_token, id.sub);
  assert.equal(info.email, 'alice@example.com');
  assert.equal(info.email_verified, 'true');
  assert.equal(info.name, 'Hosted User');
  assert.equal(info.username, 'alice');
  // Refresh: new access and ID tokens with the same scopes, no new refresh token.
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.deepEqual(claims(refreshed.access_token).scope, access.scope);
  assert.equal(claims(refreshed.access_token).version, 2);
  assert.equal(refreshed.claims().sub, id.sub);
  assert.equal(refreshed.refresh_token, undefined);
  // Revocation: the refresh token stops working.
  await oidc.tokenRevocation(config, tokens.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant');
});

test('openid-client: public client with PKCE; scopes without openid give no ID token', { skip }, async () => {
  const config = await discover(pool.spa.ClientId);
  const browser = new FormBrowser(server.endpoint);
  const tokens = await codeFlow(config, browser, 'openid aws.cognito.signin.user.admin api/read');
  const access = claims(tokens.access_token);
  assert.deepEqual(access.scope.split(' ').sort(), ['api/read', 'aws.cognito.signin.user.admin', 'openid']);
  // aws.cognito.signin.user.admin: the access token works with the JSON API.
  const me = await new IDP.CognitoIdentityProviderClient({ region: REGION, endpoint: server.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }).send(new IDP.GetUserCommand({ AccessToken: tokens.access_token }));
  assert.equal(me.Username, 'alice');
  // The browser is signed in now: a second authorization needs no password. Without openid the
  // token response has no ID token.
  const url = `/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: pool.spa.ClientId,
    redirect_uri: CALLBACK, scope: 'api/read' })}`;
  const r = await browser.get(url);
  assert.equal(r.status, 302);
  const code = new URL(r.location).searchParams.get('code');
  const t = await fetch(`${server.endpoint}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: pool.spa.ClientId, code, redirect_uri: CALLBACK }) });
  assert.equal(t.status, 200);
  const body = await t.json();
  assert.equal(body.id_token, undefined);
  assert.equal(claims(body.access_token).scope, 'api/read');
});

test('authorize: bad client or redirect_uri is a 400 page, the rest goes back as ?error=', { skip }, async () => {
  const b = new FormBrowser(server.endpoint);
  const base = { response_type: 'code', client_id: pool.spa.ClientId, redirect_uri: CALLBACK, state: 'st<8>' };
  const authorize = (p) => b.get(`/oauth2/authorize?${new URLSearchParams({ ...base, ...p })}`);
  for (const p of [{ client_id: 'no<such>client' }, { redirect_uri: CALLBACK + '/' }, { redirect_uri: 'https://evil.example/cb' }]) {
    const r = await authorize(p);
    assert.equal(r.status, 400, JSON.stringify(p));
    assert.equal(r.location, null);
    assert.match(r.headers.get('content-type'), /text\/html/);
  }
  // The page names the unknown client, escaped.
  const page = (await authorize({ client_id: 'no<such>client' })).body;
  assert.ok(page.includes('no&lt;such&gt;client') && !page.includes('<such>'), page);
  const expectError = async (p, error) => {
    const r = await authorize(p);
    assert.equal(r.status, 302, JSON.stringify(p));
    const u = new URL(r.location);
    assert.equal(u.origin + u.pathname, CALLBACK);
    // The implicit flow's errors are in the fragment (RFC 6749 4.2.2.1).
    const got = p.response_type === 'token' ? new URLSearchParams(u.hash.slice(1)) : u.searchParams;
    assert.equal(got.get('error'), error, JSON.stringify(p));
    assert.equal(got.get('state'), 'st<8>');
  };
  await expectError({ response_type: 'id_token' }, 'unsupported_response_type');
  await expectError({ response_type: '' }, 'invalid_request');
  await expectError({ code_challenge: 'x'.repeat(43) }, 'invalid_request');
  await expectError({ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request');
  await expectError({ scope: 'email' }, 'invalid_scope');
  await expectError({ scope: 'phone api/write' }, 'invalid_scope');
  await expectError({ identity_provider: 'Google' }, 'invalid_request');
  // The web client does not allow the implicit flow.
  await expectError({ client_id: pool.web.ClientId, response_type: 'token' }, 'unauthorized_client');
});

test('token endpoint: PKCE mismatch, code reuse, wrong redirect_uri, client authentication, grant types', { skip }, async () => {
  const b = new FormBrowser(server.endpoint);
  const verifier = 'v'.repeat(50);
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
  const getCode = async () => {
    const back = await b.signIn(`/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: pool.spa.ClientId,
      redirect_uri: CALLBACK, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`, 'alice', PASSWORD);
    return new URL(back).searchParams.get('code');
  };
  const token = (params, headers = {}) => fetch(`${server.endpoint}/oauth2/token`, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params) })
    .then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));
  const exchange = (code, extra = {}) => token({ grant_type: 'authorization_code', client_id: pool.spa.ClientId, code,
    redirect_uri: CALLBACK, code_verifier: verifier, ...extra });

  let r = await exchange(await getCode(), { code_verifier: 'w'.repeat(50) });
  assert.deepEqual([r.status, r.body.error], [400, 'invalid_grant']);
  r = await exchange(await getCode(), { code_verifier: undefined });
  assert.equal(r.body.error, 'invalid_grant');
  const code = await getCode();
  r = await exchange(code, { redirect_uri: SIGNED_OUT });
  assert.equal(r.body.error, 'invalid_grant');
  r = await exchange(code);  // the failed attempt spent it
  assert.equal(r.body.error, 'invalid_grant');
  const good = await getCode();
  r = await exchange(good);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.match(r.headers.get('content-type'), /^application\/json;charset=UTF-8/);
  r = await exchange(good);
  assert.deepEqual([r.status, r.body.error], [400, 'invalid_grant']);

  // Client authentication.
  const basic = (id, secret) => ({ authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') });
  r = await token({ grant_type: 'client_credentials' }, basic(pool.m2m.ClientId, 'wrong-secret'));
  assert.deepEqual([r.status, r.body.error], [401, 'invalid_client']);
  assert.match(r.headers.get('www-authenticate'), /^Basic/);
  r = await token({ grant_type: 'client_credentials', client_id: pool.m2m.ClientId, client_secret: 'wrong' });
  assert.deepEqual([r.status, r.body.error], [400, 'invalid_client']);
  r = await token({ grant_type: 'client_credentials', client_id: 'nosuchclient' });
  assert.equal(r.body.error, 'invalid_client');
  r = await token({ grant_type: 'password', client_id: pool.spa.ClientId });
  assert.equal(r.body.error, 'unsupported_grant_type');
  r = await token({ client_id: pool.spa.ClientId });
  assert.equal(r.body.error, 'invalid_request');
  r = await token({ grant_type: 'client_credentials', client_id: pool.spa.ClientId });
  assert.equal(r.body.error, 'unauthorized_client');
  r = await token({ grant_type: 'refresh_token', client_id: pool.spa.ClientId, refresh_token: 'garbage' });
  assert.equal(r.body.error, 'invalid_grant');
  const wrongType = await fetch(`${server.endpoint}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials' }) });
  assert.equal((await wrongType.json()).error, 'invalid_request');

  // client_credentials (openid-client): the custom scopes, version 2, sub = client id.
  const config = await discover(pool.m2m.ClientId, pool.m2m.ClientSecret);
  const cc = await oidc.clientCredentialsGrant(config, { scope: 'api/read' });
  const access = claims(cc.access_token);
  assert.deepEqual([access.sub, access.client_id, access.scope, access.version, access.token_use],
    [pool.m2m.ClientId, pool.m2m.ClientId, 'api/read', 2, 'access']);
  assert.equal(cc.refresh_token, undefined);
  const all = await oidc.clientCredentialsGrant(config, {});
  assert.deepEqual(claims(all.access_token).scope.split(' ').sort(), ['api/read', 'api/write']);
  await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'api/delete' }), (e) => e.error === 'invalid_scope');
});

test('userInfo: 400 without a bearer token, 401 for bad, native or signed-out tokens', { skip }, async () => {
  const ui = (auth) => fetch(`${server.endpoint}/oauth2/userInfo`, { headers: auth ? { authorization: auth } : {} });
  let r = await ui(null);
  assert.equal(r.status, 400);
  assert.match(r.headers.get('www-authenticate'), /error="invalid_request"/);
  r = await ui('Bearer not.a.jwt');
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
  // A native-API access token has no openid scope.
  await admin.send(new IDP.UpdateUserPoolClientCommand({ UserPoolId: pool.poolId, ClientId: pool.spa.ClientId,
    ClientName: 'spa', ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    AllowedOAuthFlows: ['code', 'implicit'], AllowedOAuthFlowsUserPoolClient: true, CallbackURLs: [CALLBACK],
    LogoutURLs: [SIGNED_OUT], AllowedOAuthScopes: ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin', 'api/read'] }));
  const native = await admin.send(new IDP.AdminInitiateAuthCommand({ UserPoolId: pool.poolId, ClientId: pool.spa.ClientId,
    AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'alice', PASSWORD } }));
  r = await ui('Bearer ' + native.AuthenticationResult.AccessToken);
  assert.equal(r.status, 401);
  // An OAuth token works (POST too) until a global sign-out.
  const config = await discover(pool.spa.ClientId);
  const tokens = await codeFlow(config, new FormBrowser(server.endpoint), 'openid email');
  r = await fetch(`${server.endpoint}/oauth2/userInfo`, { method: 'POST', headers: { authorization: 'Bearer ' + tokens.access_token } });
  assert.equal(r.status, 200);
  const info = await r.json();
  assert.equal(info.email, 'alice@example.com');
  assert.equal(info.name, undefined, 'profile was not granted');
  await admin.send(new IDP.AdminUserGlobalSignOutCommand({ UserPoolId: pool.poolId, Username: 'alice' }));
  r = await ui('Bearer ' + tokens.access_token);
  assert.equal(r.status, 401);
});

test('revoke: token and client errors', { skip }, async () => {
  const revoke = (params, headers = {}) => fetch(`${server.endpoint}/oauth2/revoke`, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params) })
    .then(async (r) => ({ status: r.status, body: await r.text() }));
  let r = await revoke({ client_id: pool.spa.ClientId });
  assert.deepEqual([r.status, JSON.parse(r.body).error], [400, 'invalid_request']);
  r = await revoke({ client_id: pool.spa.ClientId, token: 'a.b.c' });
  assert.deepEqual([r.status, JSON.parse(r.body).error], [400, 'unsupported_token_type']);
  r = await revoke({ token: 'x' }, { authorization: 'Basic ' + Buffer.from(`${pool.web.ClientId}:nope`).toString('base64') });
  assert.deepEqual([r.status, JSON.parse(r.body).error], [401, 'invalid_client']);
  r = await revoke({ client_id: pool.spa.ClientId, token: 'unknown-token' });
  assert.deepEqual([r.status, r.body], [200, '']);
});

test('pages: CSRF, a wrong password shown on the page, logout with logout_uri', { skip }, async () => {
  const b = new FormBrowser(server.endpoint);
  const authorizeUrl = `/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: pool.spa.ClientId,
    redirect_uri: CALLBACK, scope: 'openid' })}`;
  let r = await b.get(authorizeUrl);
  const login = await b.get(r.location);
  assert.match(login.body, /<html lang="en">/);
  assert.match(login.body, /<label for="f0-username">Username<\/label>/);
  assert.match(login.headers.get('set-cookie'), /^cognito=[\w-]{64}; Path=\/; HttpOnly; SameSite=Lax$/);
  assert.match(login.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  const form = formsOf(login.body)[0];
  // No CSRF token, or another browser's cookie: refused.
  const post = (fields, cookie) => fetch(new URL(form.action, server.endpoint), { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields) });
  const { csrf, ...noCsrf } = form.fields;
  assert.equal((await post({ ...noCsrf, username: 'alice', password: PASSWORD }, `cognito=${b.cookies.cognito}`)).status, 403);
  assert.equal((await post({ ...form.fields, username: 'alice', password: PASSWORD }, `cognito=${'A'.repeat(64)}`)).status, 403);
  assert.equal((await post({ ...form.fields, username: 'alice', password: PASSWORD })).status, 403);
  // A wrong password: the page again, with the API's message, nothing signed in.
  r = await b.submit(login.body, { username: 'alice', password: 'Wrong-passw0rd' });
  assert.equal(r.status, 400);
  assert.match(r.body, /role="alert">Incorrect username or password\.</);
  const before = b.cookies.cognito;
  r = await b.submit(r.body, { username: 'alice', password: PASSWORD });
  assert.equal(r.status, 303);
  assert.ok(r.location.startsWith(CALLBACK + '?code='));
  // The sign-in replaced the handle (a cookie planted before it is worth nothing) for an hour.
  assert.notEqual(b.cookies.cognito, before);
  assert.match(r.headers.get('set-cookie'), /^cognito=[\w-]{64}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600$/);
  const planted = new FormBrowser(server.endpoint);
  planted.cookies.cognito = before;
  assert.ok((await planted.get(authorizeUrl)).location.startsWith('/login'));
  // Signed in: authorize answers at once. Logout: a logout_uri that is not registered is a page.
  assert.ok((await b.get(authorizeUrl)).location.startsWith(CALLBACK));
  r = await b.get(`/logout?${new URLSearchParams({ client_id: pool.spa.ClientId, logout_uri: 'https://evil.example/' })}`);
  assert.deepEqual([r.status, r.location], [400, null]);
  r = await b.get(`/logout?${new URLSearchParams({ client_id: pool.spa.ClientId, logout_uri: SIGNED_OUT })}`);
  assert.deepEqual([r.status, r.location], [302, SIGNED_OUT]);
  assert.equal(b.cookies.cognito, undefined, 'the cookie is expired');
  assert.ok((await b.get(authorizeUrl)).location.startsWith('/login'));
  // logout with redirect_uri: back to the sign-in page of that request.
  r = await b.get(`/logout?${new URLSearchParams({ client_id: pool.spa.ClientId, redirect_uri: CALLBACK, response_type: 'code' })}`);
  assert.equal(r.status, 302);
  assert.ok(r.location.startsWith('/login?'));
});

test('implicit flow: tokens in the fragment, no refresh token', { skip }, async () => {
  const b = new FormBrowser(server.endpoint);
  const back = await b.signIn(`/oauth2/authorize?${new URLSearchParams({ response_type: 'token', client_id: pool.spa.ClientId,
    redirect_uri: CALLBACK, scope: 'openid email', state: 's1', nonce: 'n-1' })}`, 'alice', PASSWORD);
  const u = new URL(back);
  const frag = new URLSearchParams(u.hash.slice(1));
  assert.equal(frag.get('state'), 's1');
  assert.equal(frag.get('token_type'), 'Bearer');
  assert.equal(frag.get('refresh_token'), null);
  assert.equal(claims(frag.get('id_token')).nonce, 'n-1');
  assert.equal(claims(frag.get('access_token')).version, 2);
});

test('domains and resource servers: admin operations, Host resolution, unknown scopes', { skip }, async () => {
  const d = await admin.send(new IDP.DescribeUserPoolDomainCommand({ Domain: 'nosuchdomain' }));
  assert.deepEqual(d.DomainDescription, {});
  const other = (await admin.send(new IDP.CreateUserPoolCommand({ PoolName: 'other' }))).UserPool;
  const domain = 'auth' + Date.now();
  await admin.send(new IDP.CreateUserPoolDomainCommand({ UserPoolId: other.Id, Domain: domain }));
  const described = await admin.send(new IDP.DescribeUserPoolDomainCommand({ Domain: domain }));
  assert.equal(described.DomainDescription.UserPoolId, other.Id);
  assert.equal(described.DomainDescription.Status, 'ACTIVE');
  assert.equal((await admin.send(new IDP.DescribeUserPoolCommand({ UserPoolId: other.Id }))).UserPool.Domain, domain);
  await assert.rejects(admin.send(new IDP.CreateUserPoolDomainCommand({ UserPoolId: pool.poolId, Domain: domain })),
    (e) => e.name === 'InvalidParameterException');
  await assert.rejects(admin.send(new IDP.CreateUserPoolDomainCommand({ UserPoolId: other.Id, Domain: 'Bad_Domain' })),
    (e) => e.name === 'InvalidParameterException');
  // Host <domain>.<anything> names that pool: another pool's client is unknown there. (fetch
  // sets Host itself: node:http sends the one given.)
  const viaHost = (path) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path, headers: { host: `${domain}.auth.${REGION}.localhost` } },
      (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
  const q = new URLSearchParams({ response_type: 'code', client_id: pool.spa.ClientId, redirect_uri: CALLBACK });
  assert.equal(await viaHost(`/oauth2/authorize?${q}`), 400);
  assert.equal((await new FormBrowser(server.endpoint).get(`/oauth2/authorize?${q}`)).status, 302);
  await admin.send(new IDP.DeleteUserPoolDomainCommand({ UserPoolId: other.Id, Domain: domain }));
  assert.equal(await viaHost(`/oauth2/authorize?${q}`), 302);

  // Resource servers.
  const listed = await admin.send(new IDP.ListResourceServersCommand({ UserPoolId: pool.poolId, MaxResults: 10 }));
  assert.deepEqual(listed.ResourceServers.map((s) => s.Identifier), ['api']);
  const rs = await admin.send(new IDP.DescribeResourceServerCommand({ UserPoolId: pool.poolId, Identifier: 'api' }));
  assert.deepEqual(rs.ResourceServer.Scopes.map((s) => s.ScopeName), ['read', 'write']);
  await assert.rejects(admin.send(new IDP.CreateUserPoolClientCommand({ UserPoolId: pool.poolId, ClientName: 'x',
    AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['code'], CallbackURLs: [CALLBACK],
    AllowedOAuthScopes: ['openid', 'api/delete'] })), (e) => e.name === 'ScopeDoesNotExistException' && /api\/delete/.test(e.message));
  await admin.send(new IDP.CreateResourceServerCommand({ UserPoolId: pool.poolId, Identifier: 'https://tmp.example', Name: 'tmp' }));
  await assert.rejects(admin.send(new IDP.CreateResourceServerCommand({ UserPoolId: pool.poolId, Identifier: 'https://tmp.example', Name: 'tmp' })),
    (e) => e.name === 'InvalidParameterException');
  await admin.send(new IDP.DeleteResourceServerCommand({ UserPoolId: pool.poolId, Identifier: 'https://tmp.example' }));
  await assert.rejects(admin.send(new IDP.DescribeResourceServerCommand({ UserPoolId: pool.poolId, Identifier: 'https://tmp.example' })),
    (e) => e.name === 'ResourceNotFoundException');
  // UpdateUserPool keeps the resource servers.
  await admin.send(new IDP.UpdateUserPoolCommand({ UserPoolId: pool.poolId, AutoVerifiedAttributes: ['email'] }));
  await admin.send(new IDP.DescribeResourceServerCommand({ UserPoolId: pool.poolId, Identifier: 'api' }));
});
