// Cognito Streams into Amazon Kinesis, end to end: the real tetherd publishes to kinesalite (the
// Kinesis API in memory, on 127.0.0.1), and the records are read back with the real AWS SDK for
// JavaScript v3 (@aws-sdk/client-kinesis), as an existing Cognito Streams consumer reads them.
// The writes are made with the AWS SDK's Cognito Sync client; streaming is switched on with
// SetIdentityPoolConfiguration, as on AWS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startTetherd, REGION } from './tetherd.mjs';

const require = createRequire(import.meta.url);
let ci, cs, kin, NodeHttpHandler, kinesalite;
try {
  ci = require('@aws-sdk/client-cognito-identity');
  cs = require('@aws-sdk/client-cognito-sync');
  kin = require('@aws-sdk/client-kinesis');
  ({ NodeHttpHandler } = require('@smithy/node-http-handler'));
  kinesalite = require('kinesalite');
} catch {
  ci = null;
}
const skip = ci ? false : 'npm packages missing: run scripts/install-compat-deps.sh';
const STREAM = 'cognito-sync-events';
const KINESIS_CREDS = { accessKeyId: 'AKIDKINESISTEST', secretAccessKey: 'kinesis-test-secret' };

let server, kinesisServer, kinesis;
before(async () => {
  if (skip) return;
  kinesisServer = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
  await new Promise((resolve) => kinesisServer.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${kinesisServer.address().port}`;
  kinesis = new kin.KinesisClient({ endpoint, region: REGION, requestHandler: new NodeHttpHandler(),
                                    credentials: KINESIS_CREDS });
  await kinesis.send(new kin.CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  server = await startTetherd(20000, `
[[streams]]
name = "${STREAM}"
sink = "kinesis"
[streams.kinesis]
endpoint = "${endpoint}"
access_key_id = "${KINESIS_CREDS.accessKeyId}"
secret_access_key = "${KINESIS_CREDS.secretAccessKey}"
`);
});
after(async () => {
  if (server) await server.stop();
  if (kinesisServer) await new Promise((resolve) => kinesisServer.close(resolve));
});

const anon = { accessKeyId: 'unused', secretAccessKey: 'unused' };
const devSync = () => new cs.CognitoSyncClient({
  region: REGION, endpoint: server.endpoint, maxAttempts: 1,
  credentials: { accessKeyId: server.devKey, secretAccessKey: server.devSecret },
});

async function guest() {
  const c = new ci.CognitoIdentityClient({ region: REGION, endpoint: server.endpoint, credentials: anon, maxAttempts: 1 });
  const { IdentityId } = await c.send(new ci.GetIdCommand({ IdentityPoolId: server.poolId }));
  const { Credentials: k } = await c.send(new ci.GetCredentialsForIdentityCommand({ IdentityId }));
  const sync = new cs.CognitoSyncClient({
    region: REGION, endpoint: server.endpoint, maxAttempts: 1,
    credentials: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretKey, sessionToken: k.SessionToken },
  });
  return { id: IdentityId, sync };
}

// Every record of the stream so far, in shard order.
async function readStream() {
  const d = await kinesis.send(new kin.DescribeStreamCommand({ StreamName: STREAM }));
  const out = [];
  for (const shard of d.StreamDescription.Shards) {
    let it = (await kinesis.send(new kin.GetShardIteratorCommand({
      StreamName: STREAM, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (;;) {
      const r = await kinesis.send(new kin.GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
      for (const rec of r.Records) out.push({ key: rec.PartitionKey, text: Buffer.from(rec.Data).toString('utf8') });
      if (r.Records.length === 0) break;
      it = r.NextShardIterator;
    }
  }
  return out;
}

async function waitForRecords(n, deadlineMs = 15000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const got = await readStream();
    if (got.length >= n || Date.now() > until) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('every accepted batch and deletion reaches Kinesis as the Cognito Streams record', { skip }, async () => {
  await devSync().send(new cs.SetIdentityPoolConfigurationCommand({
    IdentityPoolId: server.poolId,
    CognitoStreams: { StreamName: STREAM, RoleArn: 'arn:aws:iam::123456789012:role/streams',
                      StreamingStatus: 'ENABLED' },
  }));
  const g = await guest();
  const base = { IdentityPoolId: server.poolId, IdentityId: g.id, DatasetName: 'settings' };
  const { SyncSessionToken } = await g.sync.send(new cs.ListRecordsCommand(base));
  const first = await g.sync.send(new cs.UpdateRecordsCommand({ ...base, SyncSessionToken, RecordPatches: [
    { Op: 'replace', Key: 'theme', Value: 'dark', SyncCount: 0, DeviceLastModifiedDate: new Date(1700000000500) },
    { Op: 'replace', Key: 'lang', Value: 'fr', SyncCount: 0 },
  ] }));
  await g.sync.send(new cs.UpdateRecordsCommand({ ...base, SyncSessionToken, RecordPatches: [
    { Op: 'remove', Key: 'lang', SyncCount: first.Records.find((r) => r.Key === 'lang').SyncCount },
  ] }));
  await g.sync.send(new cs.DeleteDatasetCommand(base));

  const got = await waitForRecords(3);
  const mine = got.filter((r) => r.key === g.id);
  assert.equal(mine.length, 3, JSON.stringify(got));
  const [batch1, batch2, deletion] = mine.map((r) => JSON.parse(r.text));

  // The fields of Cognito Streams, spelled as AWS spells them (dataSetName with a capital S).
  for (const rec of [batch1, batch2, deletion]) {
    assert.deepEqual(Object.keys(rec).filter((k) => k !== 'kinesisSyncRecordsURL').sort(),
      ['dataSetName', 'identityId', 'identityPoolId', 'kinesisSyncRecords', 'lastModifiedDate', 'operation',
       'payloadType', 'syncCount']);
    assert.equal(rec.identityPoolId, server.poolId);
    assert.equal(rec.identityId, g.id);
    assert.equal(rec.dataSetName, 'settings');
    assert.equal(rec.payloadType, 'Inline');
    assert.ok(rec.lastModifiedDate > 1e12, 'epoch milliseconds');
  }
  assert.equal(batch1.operation, 'replace');
  assert.equal(batch1.syncCount, 1);
  const theme = batch1.kinesisSyncRecords.find((r) => r.key === 'theme');
  assert.deepEqual(Object.keys(theme).sort(),
    ['deviceLastModifiedDate', 'key', 'lastModifiedDate', 'op', 'syncCount', 'value']);
  assert.deepEqual({ ...theme, lastModifiedDate: 0 },
    { key: 'theme', value: 'dark', syncCount: 1, lastModifiedDate: 0, deviceLastModifiedDate: 1700000000500,
      op: 'replace' });
  assert.equal(batch1.kinesisSyncRecords.length, 2);
  assert.equal(batch2.syncCount, 2);
  assert.deepEqual(batch2.kinesisSyncRecords.map((r) => [r.key, r.op]), [['lang', 'remove']]);
  assert.equal(deletion.operation, 'remove');
  assert.ok(deletion.syncCount > batch2.syncCount);
});
