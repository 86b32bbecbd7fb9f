// Outbox throughput to Kinesis (kinesalite), measured: records pile up in the outbox while
// "Kinesis" is down, then kinesalite starts on the configured port and the time from the first to
// the last record arriving is taken. Not a test; run by hand:
//   TETHERD_BIN=build/server/tetherd node tests/compat/kinesis_throughput.mjs [BATCHES]
import { createRequire } from 'node:module';
import net from 'node:net';
import { startTetherd, REGION } from './tetherd.mjs';

const require = createRequire(import.meta.url);
const ci = require('@aws-sdk/client-cognito-identity');
const cs = require('@aws-sdk/client-cognito-sync');
const kin = require('@aws-sdk/client-kinesis');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const kinesalite = require('kinesalite');
const N = Number(process.argv[2] || 2000);
const IDENTITIES = 20;

const port = await new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const endpoint = `http://127.0.0.1:${port}`;
const creds = { accessKeyId: 'AKIDKINESISTEST', secretAccessKey: 'kinesis-test-secret' };
const server = await startTetherd(20000, `
[[streams]]
name = "s"
sink = "kinesis"
[streams.kinesis]
endpoint = "${endpoint}"
access_key_id = "${creds.accessKeyId}"
secret_access_key = "${creds.secretAccessKey}"
`);
const dev = new cs.CognitoSyncClient({ region: REGION, endpoint: server.endpoint,
  credentials: { accessKeyId: server.devKey, secretAccessKey: server.devSecret } });
await dev.send(new cs.SetIdentityPoolConfigurationCommand({ IdentityPoolId: server.poolId,
  CognitoStreams: { StreamName: 's', RoleArn: 'arn:aws:iam::123456789012:role/r', StreamingStatus: 'ENABLED' } }));
const anon = { accessKeyId: 'x', secretAccessKey: 'x' };
const idc = new ci.CognitoIdentityClient({ region: REGION, endpoint: server.endpoint, credentials: anon });
const writers = [];
for (let i = 0; i < IDENTITIES; i++) {
  const { IdentityId } = await idc.send(new ci.GetIdCommand({ IdentityPoolId: server.poolId }));
  const { Credentials: k } = await idc.send(new ci.GetCredentialsForIdentityCommand({ IdentityId }));
  writers.push({ id: IdentityId, sync: new cs.CognitoSyncClient({ region: REGION, endpoint: server.endpoint,
    credentials: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretKey, sessionToken: k.SessionToken } }) });
}
const t0 = Date.now();
await Promise.all(writers.map(async (w, wi) => {
  const base = { IdentityPoolId: server.poolId, IdentityId: w.id, DatasetName: 'd' };
  let { SyncSessionToken, DatasetSyncCount } = await w.sync.send(new cs.ListRecordsCommand(base));
  let count = 0;
  for (let i = wi; i < N; i += IDENTITIES) {
    const r = await w.sync.send(new cs.UpdateRecordsCommand({ ...base, SyncSessionToken,
      RecordPatches: [{ Op: 'replace', Key: 'k', Value: 'x'.repeat(200) + i, SyncCount: count }] }));
    count = r.Records[0].SyncCount;
  }
}));
console.log(`wrote ${N} batches in ${Date.now() - t0} ms with Kinesis down`);
const ks = kinesalite({ createStreamMs: 0 });
await new Promise((r) => ks.listen(port, '127.0.0.1', r));
const k = new kin.KinesisClient({ endpoint, region: REGION, requestHandler: new NodeHttpHandler(), credentials: creds });
await k.send(new kin.CreateStreamCommand({ StreamName: 's', ShardCount: 4 }));
const created = Date.now();
const shards = (await k.send(new kin.DescribeStreamCommand({ StreamName: 's' }))).StreamDescription.Shards;
const its = {};
for (const s of shards) its[s.ShardId] = (await k.send(new kin.GetShardIteratorCommand({ StreamName: 's', ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
let got = 0, first = 0;
while (got < N && Date.now() - created < 120000) {
  for (const s of shards) {
    const r = await k.send(new kin.GetRecordsCommand({ ShardIterator: its[s.ShardId], Limit: 10000 }));
    if (r.Records.length && !first) first = Date.now();
    got += r.Records.length;
    its[s.ShardId] = r.NextShardIterator;
  }
  await new Promise((r) => setTimeout(r, 20));
}
const last = Date.now();
console.log(`delivered ${got}/${N}; first record ${first - created} ms after the stream existed; ` +
            `drain ${last - first} ms = ${Math.round(got / ((last - first) / 1000))} records/s`);
await server.stop();
ks.close();
