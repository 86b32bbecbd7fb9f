// Starts the real tetherd for the Node compat suites (same setup as tetherd_fixture.py): a fresh
// data directory under $TETHER_TEST_TMP, one pool with guests and a developer provider, one
// developer credential, port chosen by the kernel. stop() kills it by PID.
import { spawn } from 'node:child_process';
import { randomUUID, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REGION = 'us-east-1';
export const DEV_PROVIDER = 'login.compat.test';

// `extraConfig`: TOML appended to the config file (e.g. [[streams]] for the stream suites).
// `prepare(dataDir)`: runs before the server starts (e.g. `tetherd user-pool create` on its data
// directory) and returns more TOML to append.
export async function startTetherd(deadlineMs = 20000, extraConfig = '', prepare = null) {
  if (Number(process.env.TETHER_COMPAT_NODES || 0) > 0) return startCluster(deadlineMs);
  const root = process.env.TETHER_TEST_TMP || os.tmpdir();
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, 'compat-js-'));
  const poolId = `${REGION}:${randomUUID()}`;
  const devKey = 'AKIA' + randomBytes(8).toString('hex').toUpperCase();
  const devSecret = randomBytes(24).toString('base64');
  const config = path.join(dir, 'tetherd.toml');
  if (prepare) extraConfig += '\n' + await prepare(path.join(dir, 'data'));
  fs.writeFileSync(config, `[[pools]]
id = "${poolId}"
name = "compat-js"
allow_guests = true
developer_provider = "${DEV_PROVIDER}"

[[developer_credentials]]
access_key_id = "${devKey}"
secret_access_key = "${devSecret}"
${extraConfig}`);
  const log = fs.openSync(path.join(dir, 'tetherd.log'), 'w');
  const child = spawn(process.env.TETHERD_BIN,
    ['serve', '--config', config, '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data')],
    { stdio: ['ignore', 'pipe', log] });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    let found = null;
    const timer = setTimeout(() => reject(new Error('tetherd not ready in time')), deadlineMs);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`tetherd exited early (${code})`)); });
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const m = buf.match(/listening on ws:\/\/127\.0\.0\.1:(\d+)/);
      if (m) found = Number(m[1]);
      if (/tetherd: ready/.test(buf) && found) { clearTimeout(timer); resolve(found); }
    });
  });
  child.removeAllListeners('exit');
  return {
    dir, poolId, devKey, devSecret, port,
    endpoint: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    alive: () => child.exitCode === null,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on('exit', () => { fs.closeSync(log); resolve(); });
      process.kill(child.pid, 'SIGTERM');
    }),
  };
}

// TETHER_COMPAT_NODES=3: a scale-out deployment (PostgreSQL + 3 nodes + HAProxy) started by
// tetherd_fixture.py, which prints "endpoint pool devKey devSecret provider" and keeps it up
// until its stdin closes.
async function startCluster(deadlineMs) {
  const root = process.env.TETHER_TEST_TMP || os.tmpdir();
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, 'compat-js-cluster-'));
  const fixture = path.join(path.dirname(new URL(import.meta.url).pathname), 'tetherd_fixture.py');
  const child = spawn('python3', [fixture], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('cluster not ready in time')), deadlineMs * 3);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`cluster fixture exited (${code})`)); });
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(buf.slice(0, nl)); }
    });
  });
  child.removeAllListeners('exit');
  const [endpoint, poolId, devKey, devSecret] = line.trim().split(' ');
  const port = Number(new URL(endpoint).port);
  return {
    dir, poolId, devKey, devSecret, port, endpoint,
    wsUrl: `ws://127.0.0.1:${port}`,
    alive: () => child.exitCode === null,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on('exit', () => resolve());
      child.stdin.end();
    }),
  };
}
