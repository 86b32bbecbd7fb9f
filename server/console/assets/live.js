// tetherd console: #/live and #/audit. The live view polls GET live every 2 s; the server sends
// counters since its start (the figures /metrics exports), the page turns the difference between
// two polls into requests per second, mean latency and an approximate p95 from the histogram
// buckets. The audit page lists the console's audit log, newest first, with paging.
'use strict';

import { h, replace, api, heading, fail, fmtNum, fmtTime, table, button } from './dom.js';

const POLL_MS = 2000;

export async function liveView(params, query, el) {
  const updated = h('p', { id: 'live-updated', role: 'status' }, 'Waiting for the first figures…');
  const body = h('div', { id: 'live-body' });
  let paused = false;
  const pause = button('Pause updates', async () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume updates' : 'Pause updates';
  });
  replace(el, heading('Live'),
    h('p', null, `Figures since the server started; rates over the last ${POLL_MS / 1000} s.`),
    h('div', { class: 'toolbar' }, pause), updated, body);

  let previous = null;
  let stopped = false;
  let failing = false;
  const poll = async () => {
    if (stopped || paused) return;
    try {
      const now = await api('GET', 'live');
      if (stopped) return;
      render(body, now, previous);
      replace(updated, `Updated ${fmtTime(now.at)}${previous ? '' : ' (rates appear after the next update)'}.`);
      previous = now;
      if (failing) { failing = false; replace(document.getElementById('alert')); }
    } catch (e) {
      if (stopped) return;
      failing = true;
      fail('Updating the live figures failed (retrying)', e);
    }
  };
  await poll();
  const timer = setInterval(poll, POLL_MS);
  return () => { stopped = true; clearInterval(timer); };
}

// Approximate quantile from cumulative Prometheus-style buckets [[le, count]...] (le may be
// "+Inf"); returns the bucket's upper bound.
function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!total) return null;
  for (const [le, count] of buckets) if (count >= q * total) return Number(le);
  return null;
}

const key = (r) => `${r.surface} ${r.operation || r.error}`;
const fmtMs = (s) => (s === null || !Number.isFinite(s) ? '—' : `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`);
const fmtRate = (v) => (v === null ? '—' : `${v.toFixed(v < 10 ? 2 : 1)}/s`);

function render(body, now, prev) {
  const dt = prev ? (now.at - prev.at) / 1000 : 0;
  const prevReq = new Map((prev ? prev.requests : []).map((r) => [key(r), r]));
  const prevErr = new Map((prev ? prev.errors : []).map((r) => [key(r), r]));

  const connections = Object.entries(now.connections || {}).sort();
  const requests = (now.requests || []).map((r) => {
    const p = prevReq.get(key(r));
    const dCount = p ? r.count - p.count : null;
    const dSum = p ? r.sumSeconds - p.sumSeconds : null;
    const dBuckets = p && r.buckets ? r.buckets.map(([le, c], i) => [le, c - ((p.buckets || [])[i] || [le, 0])[1]]) : null;
    return {
      ...r,
      rate: dt > 0 && dCount !== null ? dCount / dt : null,
      recentMean: dCount ? dSum / dCount : null,
      mean: r.count ? r.sumSeconds / r.count : null,
      p95: dBuckets && dCount ? quantile(dBuckets, 0.95) : quantile(r.buckets || [], 0.95),
    };
  }).sort((a, b) => (b.rate || 0) - (a.rate || 0) || b.count - a.count);
  const errors = (now.errors || []).map((e) => {
    const p = prevErr.get(key(e));
    return { ...e, rate: dt > 0 && p ? (e.count - p.count) / dt : null };
  }).sort((a, b) => b.count - a.count);
  const totalRate = requests.reduce((s, r) => s + (r.rate || 0), 0);

  replace(body,
    h('section', { 'aria-labelledby': 'conn-title' }, h('h2', { id: 'conn-title' }, 'Connections by protocol'),
      connections.length
        ? h('dl', { class: 'facts', id: 'connections' }, connections.map(([proto, n]) => [h('dt', null, proto), h('dd', null, fmtNum(n))]))
        : h('p', { class: 'empty' }, 'No open connections.')),
    h('section', { 'aria-labelledby': 'req-title' }, h('h2', { id: 'req-title' }, `Requests (${prev ? fmtRate(totalRate) : '—'} in all)`),
      table('Requests per operation', [
        { label: 'Surface', cell: (r) => r.surface },
        { label: 'Operation', cell: (r) => r.operation },
        { label: 'Rate', class: 'num', cell: (r) => fmtRate(r.rate) },
        { label: 'Total', class: 'num', cell: (r) => fmtNum(r.count) },
        { label: 'Mean latency (recent)', class: 'num', cell: (r) => fmtMs(r.recentMean) },
        { label: 'Mean latency (since start)', class: 'num', cell: (r) => fmtMs(r.mean) },
        { label: 'p95 (≤)', class: 'num', cell: (r) => fmtMs(r.p95) },
      ], requests, 'No requests yet.')),
    h('section', { 'aria-labelledby': 'err-title' }, h('h2', { id: 'err-title' }, 'Errors by name'),
      table('Errors by name', [
        { label: 'Surface', cell: (e) => e.surface },
        { label: 'Error', cell: (e) => e.error },
        { label: 'Rate', class: 'num', cell: (e) => fmtRate(e.rate) },
        { label: 'Total', class: 'num', cell: (e) => fmtNum(e.count) },
      ], errors, 'No errors since the server started.')),
    h('section', { 'aria-labelledby': 'fail-title' }, h('h2', { id: 'fail-title' }, 'Recent stream and trigger failures'),
      table('Recent failures', [
        { label: 'When', cell: (f) => fmtTime(f.at) },
        { label: 'Kind', cell: (f) => f.kind },
        { label: 'Name', cell: (f) => f.name },
        { label: 'Message', cell: (f) => f.message },
      ], (now.failures || []).slice().sort((a, b) => b.at - a.at), 'No recent failures.')));
}

// #/audit?before=ID: a page of the audit log; "Older entries" follows `next`.
export async function auditView(params, query, el) {
  const q = new URLSearchParams({ limit: '50' });
  const before = query.get('before');
  if (before) q.set('before', before);
  const { entries, next } = await api('GET', `audit?${q}`);
  replace(el, heading('Audit log'),
    h('p', null, 'Every change made through the console: who, what, when, and whether it succeeded.'),
    table('Audit log entries', [
      { label: 'When', cell: (e) => fmtTime(e.at) },
      { label: 'Operator', cell: (e) => e.operator },
      { label: 'Action', cell: (e) => h('code', null, e.action) },
      { label: 'Target', cell: (e) => e.target || '—' },
      { label: 'Detail', cell: (e) => e.detail || '—' },
      { label: 'Outcome', cell: (e) => String(e.outcome) },
    ], entries || [], 'No changes have been made through the console yet.'),
    h('nav', { class: 'pager', 'aria-label': 'Audit pages' },
      before ? h('a', { href: '#/audit' }, 'Newest entries') : null,
      next !== null && next !== undefined ? h('a', { href: `#/audit?before=${encodeURIComponent(next)}` }, 'Older entries') : null));
}
