// An amazon-cognito-js device for import_cognito_test.py (driven over stdin/stdout, one JSON
// object per line): it syncs against the source tetherd (the AWS stand-in), waits while the
// test imports the pool into the target, then is pointed at the target with its local cache
// (identity ID, records, sync counts) kept, makes a local change and syncs again. It reports the
// LastSyncCount of every ListRecords it sent, conflicts, deleted and merged callbacks, and the
// values it holds, so the test can check that the sync was incremental and conflict-free.
// argv: <source endpoint> <pool id>. Exits 3 when the npm packages are missing.
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
let AWS;
try {
  AWS = require('aws-sdk');
  require('amazon-cognito-js');
} catch {
  console.log(JSON.stringify({ skip: 'npm packages missing: run scripts/install-compat-deps.sh' }));
  process.exit(3);
}
if (AWS.util && AWS.util.warnings) AWS.util.warnings = {};
const [endpointIn, poolId] = process.argv.slice(2);
const REGION = 'us-east-1';
const promisify = (fn) => new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const report = (o) => console.log(JSON.stringify(o));

const listCalls = [];
let conflicts = 0, deleted = 0, merged = 0;

async function credentialsFor(endpoint, identityId) {
  AWS.config.update({ region: REGION, cognitoidentity: { endpoint }, cognitosync: { endpoint }, maxRetries: 0 });
  const params = { IdentityPoolId: poolId };
  if (identityId) params.IdentityId = identityId;
  const credentials = new AWS.CognitoIdentityCredentials(params, { endpoint, region: REGION });
  await promisify((cb) => credentials.get(cb));
  AWS.config.credentials = credentials;
  return credentials;
}

// Points the manager (and its remote store) at `endpoint`; the local store stays.
function useRemote(manager, credentials) {
  manager.provider = credentials;
  manager.remote.provider = credentials;
  manager.remote.client = new AWS.CognitoSync();
  const orig = manager.remote.client.listRecords.bind(manager.remote.client);
  manager.remote.client.listRecords = (params, cb) => {
    listCalls.push(params.LastSyncCount);
    return orig(params, cb);
  };
}

function sync(ds) {
  return new Promise((resolve, reject) => {
    ds.synchronize({
      onSuccess: () => resolve(),
      onFailure: (err) => reject(err),
      onConflict: (dataset, list, callback) => { conflicts += list.length; callback(false); },
      onDatasetDeleted: (dataset, name, callback) => { deleted++; callback(true); },
      onDatasetsMerged: (dataset, names, callback) => { merged++; callback(true); },
    });
  });
}

async function state(manager, ds) {
  const count = await promisify((cb) => manager.local.getLastSyncCount(manager.provider.identityId, 'prefs', cb));
  const values = {};
  for (const k of ['a', 'b', 'c']) values[k] = (await promisify((cb) => ds.get(k, cb))) ?? null;
  return { syncCount: count, values };
}

try {
  const creds = await credentialsFor(endpointIn);
  const manager = new AWS.CognitoSyncManager({ DataStore: AWS.CognitoSyncManager.StoreInMemory });
  useRemote(manager, creds);
  const ds = await promisify((cb) => manager.openOrCreateDataset('prefs', cb));
  await promisify((cb) => ds.put('a', '1', cb));
  await promisify((cb) => ds.put('b', '2', cb));
  await sync(ds);
  await promisify((cb) => ds.put('a', '11', cb));
  await promisify((cb) => ds.remove('b', cb));
  await sync(ds);
  report({ identityId: creds.identityId, ...(await state(manager, ds)), listCalls });

  const target = JSON.parse((await lines.next()).value).endpoint;
  listCalls.length = 0;
  useRemote(manager, await credentialsFor(target, creds.identityId));
  await promisify((cb) => ds.put('c', '3', cb));
  await sync(ds);
  report({ identityId: manager.provider.identityId, ...(await state(manager, ds)), listCalls, conflicts, deleted, merged });
  process.exit(0);
} catch (err) {
  report({ error: String(err && (err.stack || err.message || err)) });
  process.exit(1);
}
