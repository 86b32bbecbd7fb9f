// Shared by the hosted-UI suites (hosted_ui_oauth_test.mjs, hosted_ui_browser_test.mjs): a user
// pool with a domain, a resource server and OAuth app clients made through the SDK v3 admin API,
// a TOTP generator, and `FormBrowser`, a cookie-keeping fetch that fills in and submits the
// hosted UI's HTML forms the way a browser without JavaScript would.
import assert from 'node:assert/strict';
import { totp } from './user_pools_support.mjs';

export { totp };

export const CALLBACK = 'http://localhost:8976/callback';
export const SIGNED_OUT = 'http://localhost:8976/signed-out';

export async function makeOAuthPool(IDP, admin, { name = 'hosted', domain, mfa = 'OFF', callback = CALLBACK } = {}) {
  const pool = (await admin.send(new IDP.CreateUserPoolCommand({
    PoolName: name, AutoVerifiedAttributes: ['email'],
  }))).UserPool;
  if (mfa !== 'OFF') {
    await admin.send(new IDP.SetUserPoolMfaConfigCommand({ UserPoolId: pool.Id, MfaConfiguration: mfa,
      SoftwareTokenMfaConfiguration: { Enabled: true } }));
  }
  if (domain) await admin.send(new IDP.CreateUserPoolDomainCommand({ UserPoolId: pool.Id, Domain: domain }));
  await admin.send(new IDP.CreateResourceServerCommand({ UserPoolId: pool.Id, Identifier: 'api', Name: 'api',
    Scopes: [{ ScopeName: 'read', ScopeDescription: 'read' }, { ScopeName: 'write', ScopeDescription: 'write' }] }));
  const oauth = {
    AllowedOAuthFlowsUserPoolClient: true, CallbackURLs: [callback], LogoutURLs: [SIGNED_OUT],
    AllowedOAuthScopes: ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin', 'api/read'],
    SupportedIdentityProviders: ['COGNITO'],
  };
  const spa = (await admin.send(new IDP.CreateUserPoolClientCommand({ UserPoolId: pool.Id, ClientName: 'spa',
    AllowedOAuthFlows: ['code', 'implicit'], ...oauth }))).UserPoolClient;
  const web = (await admin.send(new IDP.CreateUserPoolClientCommand({ UserPoolId: pool.Id, ClientName: 'web',
    GenerateSecret: true, AllowedOAuthFlows: ['code'], ...oauth }))).UserPoolClient;
  const m2m = (await admin.send(new IDP.CreateUserPoolClientCommand({ UserPoolId: pool.Id, ClientName: 'm2m',
    GenerateSecret: true, AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['client_credentials'],
    AllowedOAuthScopes: ['api/read', 'api/write'] }))).UserPoolClient;
  return { poolId: pool.Id, spa, web, m2m };
}

export async function makeUser(IDP, admin, poolId, username, password) {
  await admin.send(new IDP.AdminCreateUserCommand({ UserPoolId: poolId, Username: username, MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: `${username}@example.com` }, { Name: 'email_verified', Value: 'true' },
      { Name: 'name', Value: 'Hosted User' }] }));
  await admin.send(new IDP.AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: username, Password: password,
    Permanent: true }));
}

const unescapeHtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// The forms of a hosted-UI page: [{action, fields: {name: value}}] (hidden and prefilled inputs).
export function formsOf(html) {
  const forms = [];
  for (const m of html.matchAll(/<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/g)) {
    const fields = {};
    for (const i of m[2].matchAll(/<input([^>]*)>/g)) {
      const name = /name="([^"]*)"/.exec(i[1]);
      const value = /value="([^"]*)"/.exec(i[1]);
      if (name) fields[unescapeHtml(name[1])] = value ? unescapeHtml(value[1]) : '';
    }
    forms.push({ action: unescapeHtml(m[1]), fields });
  }
  return forms;
}

// A browser without JavaScript: keeps the `cognito` cookie, follows nothing by itself.
export class FormBrowser {
  constructor(endpoint) {
    this.endpoint = endpoint;
    this.cookies = {};
  }
  async request(url, init = {}) {
    const target = new URL(url, this.endpoint);
    const cookie = Object.entries(this.cookies).map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(target, { ...init, redirect: 'manual',
      headers: { ...(init.headers || {}), ...(cookie ? { cookie } : {}) } });
    for (const c of r.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const [k, v] = pair.split('=');
      if (attrs.some((a) => /max-age=0$/i.test(a.trim()))) delete this.cookies[k];
      else this.cookies[k] = v;
    }
    return { status: r.status, location: r.headers.get('location'), headers: r.headers, body: await r.text() };
  }
  get(url) { return this.request(url); }
  // Submits form `index` of `html` with `values` filled in (plus its hidden fields).
  submit(html, values = {}, index = 0) {
    const form = formsOf(html)[index];
    assert.ok(form, `no form ${index} on the page:\n${html}`);
    return this.request(form.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form.fields, ...values }).toString() });
  }
  // From an authorize URL to the app's callback, signing in with the password: returns the
  // final Location (the redirect_uri with code or tokens).
  async signIn(authorizeUrl, username, password) {
    let r = await this.get(authorizeUrl);
    assert.equal(r.status, 302, r.body);
    if (!r.location.startsWith('/login')) return r.location;  // already signed in
    const loginPage = await this.get(r.location);
    assert.equal(loginPage.status, 200, loginPage.body);
    r = await this.submit(loginPage.body, { username, password });
    assert.equal(r.status, 303, r.body);
    return r.location;
  }
}
