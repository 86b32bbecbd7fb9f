// Independent cross-check of tetherd's user-pool crypto with Node's own crypto module and BigInt
// (run by crypto_crosscheck_test.cpp; no npm packages). Reads a JSON file of inputs produced by
// our C++ code and prints a JSON object of what an independent implementation computes:
//   srp     the client half of SRP-6a written from the spec (section 5) as
//           amazon-cognito-identity-js does it: SRP_A and PASSWORD_CLAIM_SIGNATURE
//   jwt     an RS256 token verified with our JWK through crypto.createPublicKey, and our kid
//           recomputed from the SPKI DER
//   totp    HOTP/TOTP codes; secretHash the SECRET_HASH
//   sealed  our sealed token and base64 forms decrypted with AES-256-GCM per sealer.h's layout
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = {};

// ---- SRP client (spec 5.1-5.4)
const N = BigInt('0x' +
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
  'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
  'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F' +
  '83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
  'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510' +
  '15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7' +
  'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C' +
  'BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF');
const g = 2n;

function modPow(base, exp, mod) {
  let result = 1n;
  base = ((base % mod) + mod) % mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}
function padHex(n) {
  let h = n.toString(16);
  if (h.length % 2 === 1) h = '0' + h;
  else if ('89abcdef'.includes(h[0])) h = '00' + h;
  return h;
}
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest();
const hexHash = (hex) => sha256(Buffer.from(hex, 'hex')).toString('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

if (input.srp) {
  const k = BigInt('0x' + hexHash(padHex(N) + padHex(g)));
  out.srp = input.srp.map((s) => {
    const a = BigInt('0x' + s.aHex);
    const A = modPow(g, a, N);
    const B = BigInt('0x' + s.srpB);
    const salt = BigInt('0x' + s.salt);
    const u = BigInt('0x' + hexHash(padHex(A) + padHex(B)));
    const inner = sha256(Buffer.from(s.poolName + s.user + ':' + s.password, 'utf8')).toString('hex');
    const x = BigInt('0x' + hexHash(padHex(salt) + inner));
    const S = modPow(B - k * modPow(g, x, N), a + u * x, N);
    const prk = hmac(Buffer.from(padHex(u), 'hex'), Buffer.from(padHex(S), 'hex'));
    const key = hmac(prk, Buffer.concat([Buffer.from('Caldera Derived Key', 'utf8'), Buffer.from([1])])).subarray(0, 16);
    const message = Buffer.concat([Buffer.from(s.poolName, 'utf8'), Buffer.from(s.user, 'utf8'),
                                   Buffer.from(s.secretBlock, 'base64'), Buffer.from(s.timestamp, 'utf8')]);
    return { srpA: A.toString(16), k: k.toString(16), signature: hmac(key, message).toString('base64') };
  });
}

if (input.jwt) {
  const [h, p, sig] = input.jwt.token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  const jwk = input.jwt.jwks.keys.find((key) => key.kid === header.kid);
  const pub = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  out.jwt = {
    headerText: Buffer.from(h, 'base64url').toString('utf8'),
    verified: crypto.verify('sha256', Buffer.from(h + '.' + p), pub, Buffer.from(sig, 'base64url')),
    kid: sha256(pub.export({ type: 'spki', format: 'der' })).toString('base64'),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

if (input.totp) {
  const key = Buffer.from(input.totp.keyHex, 'hex');
  out.totp = input.totp.counters.map((c) => {
    const msg = Buffer.alloc(8);
    msg.writeBigUInt64BE(BigInt(c));
    const mac = crypto.createHmac('sha1', key).update(msg).digest();
    const off = mac[19] & 0x0f;
    const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
    return String(bin % 10 ** input.totp.digits).padStart(input.totp.digits, '0');
  });
}

if (input.secretHash) {
  const s = input.secretHash;
  out.secretHash = hmac(Buffer.from(s.secret, 'utf8'), Buffer.from(s.username + s.clientId, 'utf8')).toString('base64');
}

function gcmOpen(key, nonce, aad, ciphertext, tag) {
  const d = crypto.createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ciphertext), d.final()]).toString('utf8');
}

if (input.sealed) {
  const s = input.sealed;
  const key = Buffer.from(s.keyHex, 'hex');
  const ad = Buffer.from(s.associatedData, 'utf8');
  const seg = s.token.split('.');
  const tokenAad = Buffer.concat([Buffer.from(seg[0], 'ascii'), Buffer.from([0]), ad]);
  const raw = Buffer.from(s.base64, 'base64');
  out.sealed = {
    segments: seg.length,
    header: JSON.parse(Buffer.from(seg[0], 'base64url').toString('utf8')),
    token: gcmOpen(key, Buffer.from(seg[2], 'base64url'), tokenAad, Buffer.from(seg[3], 'base64url'),
                   Buffer.from(seg[4], 'base64url')),
    base64: gcmOpen(key, raw.subarray(2, 14), Buffer.concat([raw.subarray(0, 2), ad]),
                    raw.subarray(14, raw.length - 16), raw.subarray(raw.length - 16)),
  };
}

process.stdout.write(JSON.stringify(out));
