// The tests' Amazon Kinesis: kinesalite (an in-memory implementation of the Kinesis API) on
// 127.0.0.1, and the real AWS SDK client (@aws-sdk/client-kinesis) to create a stream and read
// back what tetherd published. Used by tests/server/streams and tests/integration (streams).
//
//   node kinesis_tool.mjs serve PORT            runs kinesalite on 127.0.0.1:PORT until killed
//   node kinesis_tool.mjs create ENDPOINT NAME  creates stream NAME (1 shard), waits until ACTIVE
//   node kinesis_tool.mjs read ENDPOINT NAME    prints every record of every shard as a JSON array
//                                              [{"partitionKey": ..., "data": "<utf-8 text>"}]
import {
  KinesisClient, CreateStreamCommand, DescribeStreamCommand, GetShardIteratorCommand, GetRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { createRequire } from "node:module";

const [cmd, a, b] = process.argv.slice(2);

function client(endpoint) {
  // NodeHttpHandler: the client's default HTTP/2 handler is for SubscribeToShard, which
  // kinesalite does not speak.
  return new KinesisClient({
    endpoint, region: "us-east-1", requestHandler: new NodeHttpHandler(),
    credentials: { accessKeyId: "AKIDKINESISTEST", secretAccessKey: "kinesis-test-secret" },
  });
}

if (cmd === "serve") {
  const kinesalite = createRequire(import.meta.url)("kinesalite");
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
  server.listen(Number(a), "127.0.0.1", () => console.log(`kinesalite listening on 127.0.0.1:${a}`));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
} else if (cmd === "create") {
  const c = client(a);
  await c.send(new CreateStreamCommand({ StreamName: b, ShardCount: 1 }));
  for (let i = 0; i < 100; i++) {
    const d = await c.send(new DescribeStreamCommand({ StreamName: b }));
    if (d.StreamDescription.StreamStatus === "ACTIVE") process.exit(0);
    await new Promise((r) => setTimeout(r, 50));
  }
  console.error("stream did not become ACTIVE");
  process.exit(1);
} else if (cmd === "read") {
  const c = client(a);
  const d = await c.send(new DescribeStreamCommand({ StreamName: b }));
  const out = [];
  for (const shard of d.StreamDescription.Shards) {
    let it = (await c.send(new GetShardIteratorCommand({
      StreamName: b, ShardId: shard.ShardId, ShardIteratorType: "TRIM_HORIZON",
    }))).ShardIterator;
    while (it) {
      const r = await c.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
      for (const rec of r.Records) {
        out.push({ partitionKey: rec.PartitionKey, data: Buffer.from(rec.Data).toString("utf8") });
      }
      if (r.Records.length === 0) break;
      it = r.NextShardIterator;
    }
  }
  process.stdout.write(JSON.stringify(out));
} else {
  console.error("usage: kinesis_tool.mjs serve PORT | create ENDPOINT NAME | read ENDPOINT NAME");
  process.exit(2);
}
