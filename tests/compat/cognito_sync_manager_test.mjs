// amazon-cognito-js (AWS's own Cognito Sync manager, on aws-sdk v2) syncing two devices of one
// identity through the real tetherd: propagation both ways, removals, a conflict resolved by the
// app's onConflict handler (remote, local and a new value), and a dataset deleted on one device.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startTetherd, REGION } from './tetherd.mjs';

const require = createRequire(import.meta.url);
let AWS;
try {
  AWS = require('aws-sdk');
  require('amazon-cognito-js');  // installs AWS.CognitoSyncManager
} catch {
  AWS = null;
}
const skip = AWS ? false : 'npm packages missing: run scripts/install-compat-deps.sh';

let server;
before(async () => {
  if (skip) return;
  server = await startTetherd();
  if (AWS.util && AWS.util.warnings) AWS.util.warnings = {};
});
after(async () => { if (server) await server.stop(); });

const promisify = (fn) => new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));

// One device: its own credentials object and its own in-memory local store.
async function device(identityId) {
  AWS.config.update({
    region: REGION,
    cognitoidentity: { endpoint: server.endpoint },
    cognitosync: { endpoint: server.endpoint },
    maxRetries: 0,
  });
  const params = { IdentityPoolId: server.poolId };
  if (identityId) params.IdentityId = identityId;
  const credentials = new AWS.CognitoIdentityCredentials(params, { endpoint: server.endpoint, region: REGION });
  await promisify((cb) => credentials.get(cb));
  AWS.config.credentials = credentials;
  const manager = new AWS.CognitoSyncManager({ DataStore: AWS.CognitoSyncManager.StoreInMemory });
  return { identityId: credentials.identityId, manager };
}

const open = (dev, name) => promisify((cb) => dev.manager.openOrCreateDataset(name, cb));
const put = (ds, k, v) => promisify((cb) => ds.put(k, v, cb));
const get = (ds, k) => promisify((cb) => ds.get(k, cb));
const remove = (ds, k) => promisify((cb) => ds.remove(k, cb));

function sync(ds, handlers = {}) {
  return new Promise((resolve, reject) => {
    let conflicts = 0;
    const deleted = [];
    ds.synchronize({
      onSuccess: () => resolve({ conflicts, deleted }),
      onFailure: (err) => reject(err),
      onConflict: (dataset, list, callback) => {
        conflicts += list.length;
        if (!handlers.onConflict) return callback(false);
        const resolved = list.map(handlers.onConflict);
        dataset.resolve(resolved, () => callback(true));
      },
      onDatasetDeleted: (dataset, name, callback) => {
        deleted.push(name);
        if (handlers.onDatasetDeleted) handlers.onDatasetDeleted(name);
        callback(handlers.continueAfterDelete !== false);
      },
      onDatasetsMerged: (dataset, merges, callback) => callback(true),
    });
  });
}

test('two devices sync values and removals through tetherd', { skip }, async () => {
  const a = await device();
  const b = await device(a.identityId);
  assert.equal(b.identityId, a.identityId);
  const da = await open(a, 'profile');
  const db = await open(b, 'profile');
  await put(da, 'name', 'Ada');
  await put(da, 'city', 'London');
  await sync(da);
  await sync(db);
  assert.equal(await get(db, 'name'), 'Ada');
  assert.equal(await get(db, 'city'), 'London');
  await remove(db, 'city');
  await put(db, 'lang', 'en');
  await sync(db);
  await sync(da);
  assert.equal(await get(da, 'lang'), 'en');
  assert.ok(!(await get(da, 'city')), 'removal propagated');
});

test('conflicts reach onConflict and each resolution sticks', { skip }, async () => {
  const a = await device();
  const b = await device(a.identityId);
  const da = await open(a, 'conflicts');
  const db = await open(b, 'conflicts');
  await put(da, 'x', 'base');
  await put(da, 'y', 'base');
  await put(da, 'z', 'base');
  await sync(da);
  await sync(db);
  // Both devices edit the same keys offline.
  await put(da, 'x', 'from-a');
  await put(da, 'y', 'from-a');
  await put(da, 'z', 'from-a');
  await sync(da);
  await put(db, 'x', 'from-b');
  await put(db, 'y', 'from-b');
  await put(db, 'z', 'from-b');
  const result = await sync(db, {
    onConflict: (c) => {
      if (c.getRemoteRecord().getKey() === 'x') return c.resolveWithRemoteRecord();
      if (c.getRemoteRecord().getKey() === 'y') return c.resolveWithLocalRecord();
      return c.resolveWithValue('merged');
    },
  });
  assert.equal(result.conflicts, 3);
  assert.equal(await get(db, 'x'), 'from-a');
  assert.equal(await get(db, 'y'), 'from-b');
  assert.equal(await get(db, 'z'), 'merged');
  await sync(da);
  assert.equal(await get(da, 'x'), 'from-a');
  assert.equal(await get(da, 'y'), 'from-b');
  assert.equal(await get(da, 'z'), 'merged');
});

test('a conflict left unresolved cancels the sync and writes nothing', { skip }, async () => {
  const a = await device();
  const b = await device(a.identityId);
  const da = await open(a, 'strict');
  const db = await open(b, 'strict');
  await put(da, 'k', 'a1');
  await sync(da);
  await put(db, 'k', 'b1');
  await assert.rejects(sync(db), /Conflict callback returned false/);
  const fresh = await device(a.identityId);
  const dc = await open(fresh, 'strict');
  await sync(dc);
  assert.equal(await get(dc, 'k'), 'a1');
});

test('a dataset deleted on one device is reported to the other (onDatasetDeleted)', { skip }, async () => {
  const a = await device();
  const b = await device(a.identityId);
  const da = await open(a, 'temp');
  const db = await open(b, 'temp');
  await put(da, 'k', 'v');
  await sync(da);
  await sync(db);
  assert.equal(await get(db, 'k'), 'v');
  await promisify((cb) => a.manager.local.deleteDataset(a.identityId, 'temp', cb));
  await sync(da);  // pushes the deletion (DeleteDataset)
  // amazon-cognito-js 1.1.0 crashes when onDatasetDeleted continues (it calls a missing
  // `_synchronizeInternal`), so the app stops there, as a real app on this library must.
  const seen = [];
  await assert.rejects(sync(db, { continueAfterDelete: false, onDatasetDeleted: (n) => seen.push(n) }),
    /onDatasetDeleted/);
  assert.deepEqual(seen, ['temp']);
  // A fresh device sees no dataset at all.
  const c = await device(a.identityId);
  const dc = await open(c, 'temp');
  await sync(dc);
  assert.ok(!(await get(dc, 'k')));
});

const cli = process.env.TETHER_CLI;
test('amazon-cognito-js and a libtether device (tether CLI) share an identity', { skip: skip || !(cli && fs.existsSync(cli)) && 'tether CLI not built' }, async () => {
  const cache = path.join(server.dir, 'manager-cli.db');
  const run = (...args) => execFileSync(cli, ['--server', server.wsUrl, '--pool', server.poolId, '--cache', cache,
    '--timeout', '20', ...args], { encoding: 'utf8' }).trim();
  const id = run('whoami').split('\n').pop().trim();
  run('put', 'shared', 'from_cli', 'c1');
  run('sync', 'shared');
  const js = await device(id);
  const ds = await open(js, 'shared');
  await sync(ds);
  assert.equal(await get(ds, 'from_cli'), 'c1');
  await put(ds, 'from_js', 'j1');
  await remove(ds, 'from_cli');
  await sync(ds);
  run('sync', 'shared');
  assert.equal(run('get', 'shared', 'from_js'), 'j1');
  assert.ok(!run('ls', 'shared').includes('from_cli'));
});
