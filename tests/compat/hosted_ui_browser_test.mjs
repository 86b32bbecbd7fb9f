// The hosted UI in a real headless browser (Debian's `chromium`, driven by npm `puppeteer-core`)
// against the real tetherd: a user signs up, confirms with the emailed code (read from the dev
// endpoint GET /_tether/cognito-idp/codes/<pool>/<user>, dev_codes = true), signs in, sets up
// TOTP (the pool requires MFA) from the page's secret, and lands on the app's callback with a
// code the app exchanges for tokens (PKCE); after a logout, the next sign-in asks for the TOTP
// code. The sign-in page is used with the keyboard only, and its form fields must carry
// accessible names. Skipped (TAP skip) when chromium or puppeteer-core is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { startTetherd, REGION } from './tetherd.mjs';
import { makeOAuthPool, totp } from './hosted_ui_support.mjs';

const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM_BIN || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
let IDP, puppeteer;
try {
  IDP = require('@aws-sdk/client-cognito-identity-provider');
  puppeteer = require('puppeteer-core');
} catch {
  IDP = null;
}
const skip = !IDP ? 'npm packages missing: run scripts/install-compat-deps.sh'
  : !CHROMIUM ? 'chromium is not installed (scripts/install-deps.sh installs it)' : false;

let server, admin, pool, browser, app, callbackUrl;
const callbacks = [];

before(async () => {
  if (skip) return;
  // The app: records what comes back to its callback.
  app = http.createServer((req, res) => {
    callbacks.push(new URL(req.url, 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title><p>back in the app</p>');
  });
  await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${app.address().port}/callback`;
  server = await startTetherd(20000, '[user_pools]\ndev_codes = true\n');
  admin = new IDP.CognitoIdentityProviderClient({ region: REGION, endpoint: server.endpoint, maxAttempts: 1,
    credentials: { accessKeyId: server.devKey, secretAccessKey: server.devSecret } });
  pool = await makeOAuthPool(IDP, admin, { name: 'browser', mfa: 'ON', callback: callbackUrl });
  await admin.send(new IDP.UpdateUserPoolClientCommand({ UserPoolId: pool.poolId, ClientId: pool.spa.ClientId,
    ClientName: 'spa', AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['code'], CallbackURLs: [callbackUrl],
    LogoutURLs: [`http://127.0.0.1:${app.address().port}/signed-out`], AllowedOAuthScopes: ['openid', 'email'] }));
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (app) app.close();
});

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(challenge, state) {
  return `${server.endpoint}/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: pool.spa.ClientId,
    redirect_uri: callbackUrl, scope: 'openid email', state, code_challenge: challenge, code_challenge_method: 'S256' })}`;
}

async function exchange(code, verifier) {
  const r = await fetch(`${server.endpoint}/oauth2/token`, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: pool.spa.ClientId, code,
      redirect_uri: callbackUrl, code_verifier: verifier }) });
  assert.equal(r.status, 200);
  return r.json();
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

// Fills the labelled fields of the page's first form and submits it, waiting for the next page.
async function fillAndSubmit(page, values, formIndex = 0) {
  for (const [name, value] of Object.entries(values)) {
    const input = await page.$(`form:nth-of-type(${formIndex + 1}) input[name="${name}"]`);
    assert.ok(input, `no ${name} field on ${page.url()}`);
    await input.click({ clickCount: 3 });
    await input.type(value);
  }
  await Promise.all([page.waitForNavigation(), page.click(`form:nth-of-type(${formIndex + 1}) button[type="submit"]`)]);
}

test('chromium: sign-up, confirm, sign-in with TOTP set-up, code, token exchange; MFA on the next sign-in', { skip, timeout: 60000 }, async () => {
  const page = await browser.newPage();
  const username = 'eve' + Date.now();
  const password = 'Br0wser-pass!';
  const first = pkce();
  await page.goto(authorizeUrl(first.challenge, 'state-1'));
  assert.match(new URL(page.url()).pathname, /\/login$/);
  assert.equal(await page.$eval('html', (e) => e.lang), 'en');

  // Sign up, then confirm with the code that was "sent".
  await Promise.all([page.waitForNavigation(), page.click('nav a[href^="/signup"]')]);
  await fillAndSubmit(page, { username, attr_email: `${username}@example.com`, password });
  assert.match(new URL(page.url()).pathname, /\/confirmUser$/);
  const code = (await (await fetch(`${server.endpoint}/_tether/cognito-idp/codes/${pool.poolId}/${username}`)).json()).code;
  await fillAndSubmit(page, { code });
  assert.match(new URL(page.url()).pathname, /\/login$/);
  assert.match(await page.$eval('[role="status"]', (e) => e.textContent), /confirmed/);

  // The sign-in form by keyboard only: every field has an accessible name.
  const tree = await page.accessibility.snapshot();
  const names = [];
  const walk = (n) => { if (n.role === 'textbox') names.push(n.name); (n.children || []).forEach(walk); };
  walk(tree);
  assert.deepEqual(names, ['Username', 'Password']);
  await page.focus('input[name="username"]');
  await page.keyboard.down('Control');
  await page.keyboard.press('a');
  await page.keyboard.up('Control');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);

  // MFA is required: set up TOTP from the secret on the page (it also shows a QR code).
  assert.match(new URL(page.url()).pathname, /\/mfa$/);
  assert.ok(await page.$('figure[role="img"] svg'), 'a QR code');
  const secret = await page.$eval('main code', (e) => e.textContent);
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  await fillAndSubmit(page, { code: totp(secret), device: 'chromium' });

  // Back in the app with a code; the app exchanges it (PKCE).
  const back = new URL(page.url());
  assert.equal(back.origin + back.pathname, callbackUrl);
  assert.equal(back.searchParams.get('state'), 'state-1');
  const tokens = await exchange(back.searchParams.get('code'), first.verifier);
  const id = claims(tokens.id_token);
  assert.equal(id['cognito:username'], username);
  assert.equal(id.email, `${username}@example.com`);
  assert.equal(id.email_verified, true);
  assert.equal(claims(tokens.access_token).version, 2);

  // Sign out, then in again: now the TOTP code is asked for.
  await page.goto(`${server.endpoint}/logout?${new URLSearchParams({ client_id: pool.spa.ClientId,
    logout_uri: `http://127.0.0.1:${app.address().port}/signed-out` })}`);
  assert.match(page.url(), /\/signed-out$/);
  const second = pkce();
  await page.goto(authorizeUrl(second.challenge, 'state-2'));
  await fillAndSubmit(page, { username, password });
  assert.match(new URL(page.url()).pathname, /\/mfa$/);
  assert.equal(await page.$('figure'), null, 'no set-up this time');
  await fillAndSubmit(page, { code: '000000' });
  assert.match(await page.$eval('[role="alert"]', (e) => e.textContent), /not right/);
  await fillAndSubmit(page, { code: totp(secret, 1) });
  const again = new URL(page.url());
  assert.equal(again.searchParams.get('state'), 'state-2');
  const t2 = await exchange(again.searchParams.get('code'), second.verifier);
  assert.equal(claims(t2.id_token).sub, id.sub);
  assert.equal(callbacks.filter((u) => u.pathname === '/callback').length, 2);
  await page.close();
});
