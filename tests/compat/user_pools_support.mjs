// Shared by the Node user-pool suites: a TOTP code generator (RFC 6238, SHA-1, 30 s, 6 digits, as
// authenticator apps compute it) and the last code tetherd sent a user in dev_codes mode.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

// The code of the current 30-second step (+ `offset` steps) for a base32 secret.
export function totp(secretB32, offset = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretB32.toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// GET /_tether/cognito-idp/codes/<pool>/<user> (the server runs with [user_pools] dev_codes).
export async function lastCode(endpoint, poolId, name) {
  const r = await fetch(`${endpoint}/_tether/cognito-idp/codes/${poolId}/${encodeURIComponent(name)}`);
  assert.equal(r.status, 200);
  return (await r.json()).code;
}
