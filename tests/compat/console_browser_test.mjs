// The tetherd console (issue 17) in a real headless browser (Debian's `chromium`, driven by npm
// `puppeteer-core`) against the real tetherd on a SQLite data directory, with a libtether device
// (the `tether` CLI): an operator signs in (a wrong password first), creates a pool, finds the
// device's identity by its ID, opens its dataset, edits a record that a second device of the
// identity (`tether watch`) then receives live; a stale edit after a device's write shows the
// conflict and leaves the device's value; record values carrying HTML/script render as text; a
// forged CSRF token is refused with nothing written; signing out ends the session. Full-page
// screenshots of every page at 1280x800 and 390x844 go to $TETHER_SCREENSHOT_DIR (meson sets it
// to <build>/tests/compat/console-screenshots). Skipped (TAP skip) when chromium or
// puppeteer-core is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTetherd } from './tetherd.mjs';

const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM_BIN || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
let puppeteer = null;
try { puppeteer = require('puppeteer-core'); } catch { /* skipped below */ }
// A tetherd built without the console (no `admin` subcommand) cannot be tested here.
const help = spawnSync(process.env.TETHERD_BIN || 'tetherd', ['--help'], { encoding: 'utf8' });
const hasConsole = /^\s+admin\b/m.test(`${help.stdout}${help.stderr}`);
const skip = !puppeteer ? 'npm puppeteer-core missing: run scripts/install-compat-deps.sh'
  : !CHROMIUM ? 'chromium is not installed (scripts/install-deps.sh installs it)'
    : !hasConsole ? 'this tetherd has no console (no `tetherd admin` subcommand)' : false;

const SHOTS = process.env.TETHER_SCREENSHOT_DIR || path.join(os.tmpdir(), 'console-screenshots');
const OPERATOR = { username: 'ops', password: 'console-test-pass-1' };
const XSS_IMG = '<img src=x onerror="window.__xss=1;alert(1)">';
const XSS_SCRIPT = '<script>window.__xss=2;alert(2)</script>';

let server, browser, page, dir, identityId, watcher;
let watchOut = '';
const dialogs = [];

// The device: the tether CLI on a cache file of its own (a.db writes, b.db watches).
function cli(cache, ...args) {
  const r = spawnSync(process.env.TETHER_CLI, ['--server', server.wsUrl, '--pool', server.poolId,
    '--cache', path.join(dir, cache), ...args], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, `tether ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// fetch from inside the page (same origin, the session cookie goes along).
const inPage = (method, apiPath, body, headers = {}) => page.evaluate(async (m, p, b, hd) => {
  const r = await fetch(`/console/api/${p}`, { method: m, headers: { 'Content-Type': 'application/json', ...hd },
    body: b === null ? undefined : JSON.stringify(b) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}, method, apiPath, body === undefined ? null : body, headers);

const text = (sel) => page.$eval(sel, (e) => e.textContent);
// Waits for `sel`'s text to match `re`; on a timeout says what the page showed instead.
async function waitText(sel, re) {
  try {
    await page.waitForFunction((s, src) => {
      const e = document.querySelector(s);
      return e && new RegExp(src).test(e.textContent);
    }, {}, sel, re.source);
  } catch (e) {
    const shown = await page.evaluate((s) => ({ text: document.querySelector(s)?.textContent,
      h1: document.querySelector('h1')?.textContent, alert: document.getElementById('alert')?.textContent }), sel);
    assert.fail(`${sel} never matched ${re}: ${JSON.stringify(shown)}`);
  }
}
const go = async (hash) => {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction(() => !document.querySelector('#main .loading'));
};

// Both widths, full page; at phone width the page must not scroll sideways.
async function shoot(name) {
  for (const [w, hgt, tag] of [[1280, 800, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewport({ width: w, height: hgt });
    await new Promise((r) => setTimeout(r, 100));
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= w, `${name} is ${scrollWidth} px wide at ${w} px`);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${tag}.png`), fullPage: true });
  }
  await page.setViewport({ width: 1280, height: 800 });
}

const encId = () => encodeURIComponent(identityId);
const recordsApi = () => `identities/${encId()}/datasets/profile/records`;

before(async () => {
  if (skip) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startTetherd(20000);
  // The operator, made the way an operator would: tetherd admin create-user on the (running)
  // server's data directory. (The first operator, `admin`, also exists: its password is in
  // data/console-admin-password.)
  const dataDir = path.join(server.dir, 'data');
  assert.ok(fs.existsSync(path.join(dataDir, 'console-admin-password')), 'the first operator\'s password file');
  const pwFile = path.join(server.dir, 'operator-password');
  fs.writeFileSync(pwFile, OPERATOR.password + '\n', { mode: 0o600 });
  const made = spawnSync(process.env.TETHERD_BIN, ['admin', 'create-user', OPERATOR.username, '--password-file', pwFile,
    '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(made.status, 0, `tetherd admin create-user: ${made.stdout}${made.stderr}`);
  dir = fs.mkdtempSync(path.join(server.dir, 'devices-'));
  // Device a: an identity with a dataset; device b of the same identity watches it.
  identityId = cli('a.db', 'whoami');
  cli('a.db', 'put', 'profile', 'name', 'Alice');
  cli('a.db', 'sync', 'profile');
  watcher = spawn(process.env.TETHER_CLI, ['--server', server.wsUrl, '--pool', server.poolId, '--cache', path.join(dir, 'b.db'),
    '--identity', identityId, 'watch', 'profile'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let watchErr = '';
  watcher.stdout.on('data', (d) => { watchOut += d; });
  watcher.stderr.on('data', (d) => { watchErr += d; });
  await until('tether watch to subscribe', () => /watching profile/.test(watchErr));

  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
  page = await browser.newPage();
  page.setDefaultTimeout(15000);
  await page.setViewport({ width: 1280, height: 800 });
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
});

after(async () => {
  if (browser) await browser.close();
  if (watcher && watcher.exitCode === null) watcher.kill('SIGINT');
  if (server) await server.stop();
});

test('sign in: a wrong password is refused with a message, the right one opens the console', { skip, timeout: 60000 }, async () => {
  await page.goto(`${server.endpoint}/console`);
  await page.waitForSelector('#sign-in-form');
  // Keyboard: the username field has the focus, the skip link is the Tab stop before it, and
  // both fields have accessible names.
  assert.equal(await page.evaluate(() => document.activeElement.name), 'username');
  await page.keyboard.down('Shift');
  await page.keyboard.press('Tab');
  await page.keyboard.up('Shift');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  const names = [];
  const walk = (n) => { if (n.role === 'textbox') names.push(n.name); (n.children || []).forEach(walk); };
  walk(await page.accessibility.snapshot());
  assert.deepEqual(names, ['Username', 'Password']);
  await shoot('01-sign-in');

  await page.keyboard.press('Tab');
  await page.keyboard.type(OPERATOR.username);
  await page.type('input[name="password"]', 'not-the-password');
  await page.keyboard.press('Enter');
  await waitText('#alert', /Sign-in failed.*wrong username or password/i);
  assert.equal(await page.$('#signed-in-as'), null);
  assert.equal((await inPage('GET', 'pools')).status, 401);

  await page.type('input[name="password"]', OPERATOR.password);
  await page.keyboard.press('Enter');
  await waitText('#signed-in-as', /Signed in as ops/);
  await page.waitForSelector('h1.page-title');
  assert.equal(await text('h1'), 'Identity pools');
  assert.equal(await text('#alert'), '');
});

test('pools: the list shows usage; a pool created in the page is listed and editable', { skip, timeout: 60000 }, async () => {
  await go('#/pools');
  await waitText('main table', /compat-js/);
  await shoot('02-pools');
  await page.type('form.pool-form input[name="name"]', 'console_made');
  await page.click('form.pool-form input[name="allowGuests"]');
  await page.type('form.pool-form input[name="developerProvider"]', 'login.console.test');
  await page.click('form.pool-form button[type="submit"]');
  await waitText('h1', /^Pool console_made$/);
  await waitText('#status', /pool "console_made" created/);
  const { body } = await inPage('GET', 'pools');
  const made = body.pools.find((p) => p.name === 'console_made');
  assert.ok(made, 'the server has the pool');
  assert.equal(made.allowGuests, true);
  assert.match(page.url(), new RegExp(`#/pools/${encodeURIComponent(made.id)}$`));
  // Edit it: guests off.
  await page.click('form.pool-form input[name="allowGuests"]');
  await page.click('form.pool-form button[type="submit"]');
  await waitText('#status', /pool "console_made" saved/);
  assert.equal((await inPage('GET', `pools/${encodeURIComponent(made.id)}`)).body.pool.allowGuests, false);
  // The pool the device uses, with its usage chart.
  await go(`#/pools/${encodeURIComponent(server.poolId)}`);
  await waitText('h1', /^Pool compat-js$/);
  await shoot('03-pool-detail');
});

test('identities: the device\'s identity is found by its ID and shows its dataset', { skip, timeout: 60000 }, async () => {
  await go('#/identities');
  await page.type('input[name="q"]', identityId);
  await page.keyboard.press('Enter');
  const link = await page.waitForSelector(`#results a[href="#/identities/${encId()}"]`);
  await link.click();
  await waitText('h1', new RegExp(`^Identity ${identityId}$`));
  await waitText('main', /profile/);
  await shoot('04-identity');
  await page.click(`main a[href="#/identities/${encId()}/datasets/profile"]`);
  await waitText('h1', /^Dataset profile$/);
  assert.equal(await page.$eval('tr[data-key="name"] .value-cell', (e) => e.textContent), 'Alice');
});

async function editInPage(key, value) {
  await page.click(`button[aria-label="Edit ${key}"]`);
  const area = await page.waitForSelector(`tr[data-key="${key}"] textarea`);
  await area.click({ clickCount: 3 });
  await page.keyboard.down('Control'); await page.keyboard.press('a'); await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await area.type(value);
  await page.click(`tr[data-key="${key}"] form.edit button[type="submit"]`);
}

test('data browser: an edit in the page reaches the watching device live', { skip, timeout: 60000 }, async () => {
  await editInPage('name', 'Bob');
  await waitText('#status', /record "name" saved/);
  await waitText('tr[data-key="name"] .value-cell', /^Bob$/);
  await until('the device to receive name=Bob', () => /profile name=Bob syncCount=\d+/.test(watchOut));
  await shoot('05-data-browser');
});

test('data browser: a stale edit after a device\'s write shows the conflict and overwrites nothing', { skip, timeout: 60000 }, async () => {
  // The device writes Carol; the page still shows Bob with the older sync count.
  cli('a.db', 'sync', 'profile');
  cli('a.db', 'put', 'profile', 'name', 'Carol');
  cli('a.db', '--conflict', 'local', 'sync', 'profile');
  assert.equal((await inPage('GET', recordsApi())).body.records.find((r) => r.key === 'name').value, 'Carol');
  await editInPage('name', 'Dave');
  await waitText('#alert', /changed on the server/);
  assert.equal(await text('#alert .current-value'), 'Carol');
  assert.match(await text('#alert'), /Conflict/);
  await shoot('06-conflict');
  const now = (await inPage('GET', recordsApi())).body.records.find((r) => r.key === 'name');
  assert.equal(now.value, 'Carol', 'the device\'s value stays');
  assert.doesNotMatch(watchOut, /name=Dave/);
  // Reload shows the server's value.
  await page.click('#alert button');
  await waitText('tr[data-key="name"] .value-cell', /^Carol$/);
});

test('data browser: record values with HTML and script render as text, nothing runs', { skip, timeout: 60000 }, async () => {
  cli('a.db', 'put', 'profile', 'xss-img', XSS_IMG);
  cli('a.db', 'put', 'profile', 'xss-script', XSS_SCRIPT);
  cli('a.db', 'sync', 'profile');
  await page.reload();
  await page.waitForSelector('tr[data-key="xss-script"]');
  // The page can add one too: through the add form.
  await page.type('form.add-record input[name="key"]', 'xss-svg');
  await page.type('form.add-record textarea[name="value"]', '<svg onload=alert(3)></svg>');
  await page.click('form.add-record button[type="submit"]');
  await waitText('#status', /record "xss-svg" saved/);
  await new Promise((r) => setTimeout(r, 500));  // would-be handlers get their chance to run
  assert.equal(await page.$eval('tr[data-key="xss-img"] .value-cell', (e) => e.textContent), XSS_IMG);
  assert.equal(await page.$eval('tr[data-key="xss-script"] .value-cell', (e) => e.textContent), XSS_SCRIPT);
  assert.equal(await page.$eval('tr[data-key="xss-svg"] .value-cell', (e) => e.textContent), '<svg onload=alert(3)></svg>');
  assert.equal(await page.$$eval('#main img, #main script, #main svg', (l) => l.length), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(dialogs, []);
});

test('CSRF: a change with a forged or missing token is refused (403) and writes nothing', { skip, timeout: 60000 }, async () => {
  const auditBefore = (await inPage('GET', 'audit?limit=200')).body.entries.length;
  const before = (await inPage('GET', recordsApi())).body.records.find((r) => r.key === 'name');
  for (const headers of [{ 'X-CSRF-Token': 'forged-token' }, {}]) {
    const r = await inPage('PUT', `${recordsApi()}/name`, { value: 'forged', syncCount: before.syncCount }, headers);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'CsrfTokenMismatch');
  }
  const r = await inPage('POST', 'pools', { name: 'forged_pool', allowGuests: true }, { 'X-CSRF-Token': 'forged-token' });
  assert.equal(r.status, 403);
  const after = (await inPage('GET', recordsApi())).body.records.find((x) => x.key === 'name');
  assert.deepEqual(after, before);
  assert.ok(!(await inPage('GET', 'pools')).body.pools.some((p) => p.name === 'forged_pool'));
  assert.equal((await inPage('GET', 'audit?limit=200')).body.entries.length, auditBefore);
});

test('live view and audit log show what happened', { skip, timeout: 60000 }, async () => {
  await go('#/live');
  // Two polls: the second turns counters into rates.
  await waitText('#live-updated', /^Updated [^(]*\.$/);
  await waitText('#connections', /\d/);
  assert.ok(await page.$('section table'), 'a requests table');
  await shoot('07-live');
  await go('#/audit');
  await waitText('main table', /console_made|pools/);
  const audit = await text('main table');
  assert.match(audit, /ops/);
  assert.match(audit, /records/);
  await shoot('08-audit');
});

test('sign out: the page returns to the sign-in form and the API answers 401', { skip, timeout: 60000 }, async () => {
  await page.click('#sign-out');
  await page.waitForSelector('#sign-in-form');
  await waitText('#status', /signed out/);
  assert.equal((await inPage('GET', 'pools')).status, 401);
  assert.equal((await inPage('GET', 'session')).status, 401);
  await page.reload();
  await page.waitForSelector('#sign-in-form');
});
