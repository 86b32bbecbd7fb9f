// Fake APNs and FCM endpoints for push_test.cpp, on 127.0.0.1, over TLS with the test's
// certificate. Each request is checked as Apple and Google document it, then recorded as one
// JSON line in --out: {kind: "apns"|"fcm"|"oauth", token, data, status, errors: [...]}; `errors`
// lists every deviation (an empty list = a request exactly as documented).
//
//   APNs (https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns):
//     HTTP/2 POST /3/device/<token>; authorization: bearer <ES256 JWT {alg, kid} {iss, iat}> verified
//     with the .p8 key's public half; apns-topic, apns-push-type: background, apns-priority: 5;
//     body {"aps":{"content-available":1},"data":{...}}.
//   FCM HTTP v1 (https://firebase.google.com/docs/cloud-messaging/send-message) and the OAuth2
//     JWT-bearer grant (https://developers.google.com/identity/protocols/oauth2/service-account):
//     POST /token (form grant_type + assertion, RS256 JWT verified with the service account's
//     public key) -> access token; HTTP/2 POST /v1/projects/<project>/messages:send with
//     authorization: Bearer <that token>, body {"message":{"token","data":{strings},"android":{"priority":"high"}}}.
//
// Answers by device token prefix: "gone" -> APNs 410 Unregistered / FCM 404 UNREGISTERED;
// "badtok" -> APNs 400 BadDeviceToken / FCM 400 INVALID_ARGUMENT on message.token; "flaky" ->
// 503 with Retry-After: 1 the first time, then 200; "slow" -> 200 after 300 ms; "huge" -> 200
// with a 2 MB body; "garbage" -> 400 with a body that is not JSON; "hang" -> no answer ever;
// else 200.
//
// Usage: node fake_push_provider.mjs --cert C --key K --apns-key P8 --fcm-key RSA_PEM --out FILE
//        [--apns-port N] [--fcm-port N] [--team T] [--key-id K] [--topic B] [--email E] [--project P]
// Prints {"apns": port, "fcm": port} on its first stdout line once both listen.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const tls = { key: fs.readFileSync(args.key), cert: fs.readFileSync(args.cert) };
const apnsPublic = crypto.createPublicKey(fs.readFileSync(args['apns-key']));
const fcmPublic = crypto.createPublicKey(fs.readFileSync(args['fcm-key']));
const teamId = args.team ?? 'TEAM123456', keyId = args['key-id'] ?? 'KEY1234567';
const topic = args.topic ?? 'com.example.app', email = args.email ?? 'push@example.iam.gserviceaccount.com';
const project = args.project ?? 'tether-test';
const DATA_KEYS = ['datasetName', 'identityId', 'identityPoolId', 'source', 'syncCount'];
const issuedTokens = new Set();
const seen = new Map();  // token -> requests so far ("flaky")

function record(entry) { fs.appendFileSync(args.out, JSON.stringify({ ...entry, at: Date.now() }) + '\n'); }

function b64json(part, errors, what) {
  try { return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')); }
  catch { errors.push(`${what} is not base64url JSON`); return {}; }
}

// Verifies a compact JWS: returns {header, claims}; pushes every problem onto `errors`.
function checkJwt(jwt, alg, key, errors) {
  const parts = (jwt ?? '').split('.');
  if (parts.length !== 3) { errors.push('JWT does not have three parts'); return { header: {}, claims: {} }; }
  const header = b64json(parts[0], errors, 'JWT header'), claims = b64json(parts[1], errors, 'JWT claims');
  if (header.alg !== alg) errors.push(`JWT alg ${header.alg}, want ${alg}`);
  const input = Buffer.from(parts[0] + '.' + parts[1]);
  const sig = Buffer.from(parts[2], 'base64url');
  const ok = alg === 'ES256'
    ? crypto.verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig)
    : crypto.verify('RSA-SHA256', input, key, sig);
  if (!ok) errors.push('JWT signature does not verify');
  return { header, claims };
}

function sameKeys(obj, keys) {
  return obj && typeof obj === 'object' && JSON.stringify(Object.keys(obj).sort()) === JSON.stringify([...keys].sort());
}

function checkData(data, errors, allStrings) {
  if (!sameKeys(data, DATA_KEYS)) { errors.push(`data keys ${JSON.stringify(Object.keys(data ?? {}))}`); return; }
  if (data.source !== 'cognito-sync') errors.push(`source ${data.source}`);
  for (const k of DATA_KEYS) if (allStrings && typeof data[k] !== 'string') errors.push(`data.${k} is not a string`);
  if (!/^[0-9]+$/.test(String(data.syncCount))) errors.push(`syncCount ${data.syncCount}`);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

// The answers to "huge" and "garbage" tokens (bad input for tetherd: bounded, not a dead token).
function misbehave(res, what) {
  if (what === 'huge') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('x'.repeat(2 << 20)); return true; }
  if (what === 'garbage') { res.writeHead(400, { 'content-type': 'application/json' }); res.end('<<<not json'); return true; }
  if (what === 'hang') return true;  // never answered
  return false;
}

function answer(res, status, body, headers = {}, delayMs = 0) {
  setTimeout(() => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }, delayMs);
}

function behaviour(token) {
  const n = (seen.get(token) ?? 0) + 1;
  seen.set(token, n);
  if (token.startsWith('gone')) return 'gone';
  if (token.startsWith('badtok')) return 'badtok';
  if (token.startsWith('flaky') && n === 1) return 'flaky';
  if (token.startsWith('slow')) return 'slow';
  if (token.startsWith('huge')) return 'huge';
  if (token.startsWith('garbage')) return 'garbage';
  if (token.startsWith('hang')) return 'hang';
  return 'ok';
}

const apns = http2.createSecureServer(tls, async (req, res) => {
  const body = await readBody(req);
  const errors = [];
  const m = /^\/3\/device\/([^/]+)$/.exec(req.url);
  const token = m ? decodeURIComponent(m[1]) : '';
  if (req.httpVersion !== '2.0') errors.push(`HTTP ${req.httpVersion}`);
  if (req.method !== 'POST') errors.push(`method ${req.method}`);
  if (!m) errors.push(`path ${req.url}`);
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('bearer ')) errors.push(`authorization ${auth.slice(0, 20)}`);
  const { header, claims } = checkJwt(auth.slice(7), 'ES256', apnsPublic, errors);
  if (!sameKeys(header, ['alg', 'kid']) || header.kid !== keyId) errors.push(`JWT header ${JSON.stringify(header)}`);
  if (!sameKeys(claims, ['iss', 'iat']) || claims.iss !== teamId) errors.push(`JWT claims ${JSON.stringify(claims)}`);
  if (Math.abs(claims.iat - Date.now() / 1000) > 3600) errors.push(`iat ${claims.iat} is not within the hour`);
  if (req.headers['apns-topic'] !== topic) errors.push(`apns-topic ${req.headers['apns-topic']}`);
  if (req.headers['apns-push-type'] !== 'background') errors.push(`apns-push-type ${req.headers['apns-push-type']}`);
  if (req.headers['apns-priority'] !== '5') errors.push(`apns-priority ${req.headers['apns-priority']}`);
  let payload = {};
  try { payload = JSON.parse(body); } catch { errors.push('body is not JSON'); }
  if (!sameKeys(payload, ['aps', 'data'])) errors.push(`body keys ${JSON.stringify(Object.keys(payload))}`);
  if (JSON.stringify(payload.aps) !== '{"content-available":1}') errors.push(`aps ${JSON.stringify(payload.aps)}`);
  checkData(payload.data, errors, false);
  const what = behaviour(token);
  const status = { gone: 410, badtok: 400, flaky: 503, slow: 200, ok: 200, huge: 200, garbage: 400, hang: 0 }[what];
  record({ kind: 'apns', token, data: payload.data, jwt: auth.slice(7), status, errors });
  if (misbehave(res, what)) return;
  if (what === 'gone') return answer(res, 410, { reason: 'Unregistered', timestamp: Date.now() });
  if (what === 'badtok') return answer(res, 400, { reason: 'BadDeviceToken' });
  if (what === 'flaky') return answer(res, 503, { reason: 'ServiceUnavailable' }, { 'retry-after': '1' });
  return answer(res, 200, undefined, { 'apns-id': crypto.randomUUID() }, what === 'slow' ? 300 : 0);
});

const fcm = http2.createSecureServer({ ...tls, allowHTTP1: true }, async (req, res) => {
  const body = await readBody(req);
  const errors = [];
  if (req.url === '/token') {
    if (req.method !== 'POST') errors.push(`method ${req.method}`);
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
      errors.push(`content-type ${req.headers['content-type']}`);
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      errors.push(`grant_type ${form.get('grant_type')}`);
    const { header, claims } = checkJwt(form.get('assertion'), 'RS256', fcmPublic, errors);
    if (header.typ !== 'JWT') errors.push(`JWT typ ${header.typ}`);
    const now = Date.now() / 1000;
    if (claims.iss !== email) errors.push(`iss ${claims.iss}`);
    if (claims.scope !== 'https://www.googleapis.com/auth/firebase.messaging') errors.push(`scope ${claims.scope}`);
    if (claims.aud !== `https://127.0.0.1:${fcm.address().port}/token`) errors.push(`aud ${claims.aud}`);
    if (!(Math.abs(claims.iat - now) < 300)) errors.push(`iat ${claims.iat}`);
    if (!(claims.exp > now && claims.exp - claims.iat <= 3600)) errors.push(`exp ${claims.exp}`);
    const accessToken = 'ya29.fake-' + crypto.randomUUID();
    issuedTokens.add(accessToken);
    record({ kind: 'oauth', status: 200, errors });
    return answer(res, 200, { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' });
  }
  if (req.httpVersion !== '2.0') errors.push(`HTTP ${req.httpVersion}`);
  if (req.method !== 'POST') errors.push(`method ${req.method}`);
  if (req.url !== `/v1/projects/${project}/messages:send`) errors.push(`path ${req.url}`);
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ') || !issuedTokens.has(auth.slice(7))) errors.push('authorization is not an issued token');
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) errors.push(`content-type ${req.headers['content-type']}`);
  let payload = {};
  try { payload = JSON.parse(body); } catch { errors.push('body is not JSON'); }
  const msg = payload.message ?? {};
  if (!sameKeys(payload, ['message']) || !sameKeys(msg, ['token', 'data', 'android']))
    errors.push(`body shape ${JSON.stringify(payload).slice(0, 200)}`);
  if (JSON.stringify(msg.android) !== '{"priority":"high"}') errors.push(`android ${JSON.stringify(msg.android)}`);
  checkData(msg.data, errors, true);
  const token = typeof msg.token === 'string' ? msg.token : '';
  const what = behaviour(token);
  const status = { gone: 404, badtok: 400, flaky: 503, slow: 200, ok: 200, huge: 200, garbage: 400, hang: 0 }[what];
  record({ kind: 'fcm', token, data: msg.data, status, errors });
  if (misbehave(res, what)) return;
  if (what === 'gone')
    return answer(res, 404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } });
  if (what === 'badtok')
    return answer(res, 400, { error: { code: 400, message: 'The registration token is not a valid FCM registration token',
      status: 'INVALID_ARGUMENT', details: [
        { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' },
        { '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }] }] } });
  if (what === 'flaky')
    return answer(res, 503, { error: { code: 503, status: 'UNAVAILABLE', message: 'try later' } }, { 'retry-after': '1' });
  return answer(res, 200, { name: `projects/${project}/messages/${crypto.randomUUID()}` }, {}, what === 'slow' ? 300 : 0);
});

let listening = 0;
const ready = () => {
  if (++listening === 2) console.log(JSON.stringify({ apns: apns.address().port, fcm: fcm.address().port }));
};
apns.listen(Number(args['apns-port'] ?? 0), '127.0.0.1', ready);
fcm.listen(Number(args['fcm-port'] ?? 0), '127.0.0.1', ready);
process.on('SIGTERM', () => process.exit(0));
