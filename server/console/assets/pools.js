// tetherd console: the pools pages. #/pools lists every identity pool with its usage and has the
// create form; #/pools/ID edits one pool and charts its usage over time (an inline SVG built
// with createElementNS: no chart library). Settings the page has no dedicated control for (the
// events/streams settings the server exposes on a pool) get a generic control by their JSON
// type, so whatever GET pools/ID returns can be edited and is sent back unchanged otherwise.
'use strict';

import { h, svg, replace, api, seg, field, heading, flash, flashNext, fail, fmtBytes, fmtNum, fmtTime, table } from './dom.js';

// Members the form handles itself; everything else in the pool object is an "other setting".
const KNOWN = new Set(['id', 'name', 'allowGuests', 'developerProvider', 'usage', 'fromConfig', 'createdAt']);
const LABELS = { oidcProviders: 'OpenID Connect login providers', syncTrigger: 'Sync trigger ARN',
  cognitoStreams: 'Cognito Streams', pushSync: 'Push sync' };
// What the server's settings are, for the operator (shown under the generic controls).
const HINTS = {
  oidcProviders: 'OpenID Connect login providers, the whole list: [{"name", "issuer", "audiences": [...], "jwks": {...} or "jwksFile"}]. '
    + 'A provider left out is removed.',
  syncTrigger: 'The Cognito Sync trigger (SyncTrigger ARN, mapped to a URL by [[sync_triggers]] in the config); empty for none.',
  cognitoStreams: 'Cognito Streams: {"StreamName", "RoleArn", "StreamingStatus": "ENABLED" | "DISABLED"}; {} for none.',
  pushSync: 'Mobile push: {"ApplicationArns": [...], "RoleArn"}; {} for none.',
};

export async function poolsView(params, query, el) {
  const { pools } = await api('GET', 'pools');
  const list = pools.slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const rows = table('Identity pools', [
    { label: 'Name', cell: (p) => h('a', { href: `#/pools/${seg(p.id)}` }, p.name || p.id) },
    { label: 'Pool ID', cell: (p) => h('code', null, p.id) },
    { label: 'Guests', cell: (p) => (p.allowGuests ? 'Allowed' : 'Not allowed') },
    { label: 'Identities', class: 'num', cell: (p) => fmtNum(p.usage && p.usage.identities) },
    { label: 'Datasets', class: 'num', cell: (p) => fmtNum(p.usage && p.usage.datasets) },
    { label: 'Stored', class: 'num', cell: (p) => fmtBytes(p.usage && p.usage.bytes) },
    { label: 'Defined in', cell: (p) => (p.fromConfig ? 'config file' : 'console / CLI') },
  ], list, 'No pools yet: create one below.');

  const form = poolForm({ allowGuests: false }, 'Create pool',
    async (body) => {
      try {
        const { pool } = await api('POST', 'pools', body);
        flashNext(`pool "${pool.name}" created (${pool.id}).`);
        location.hash = `#/pools/${seg(pool.id)}`;
        return true;
      } catch (e) {
        fail('Creating the pool failed', e);
        return false;
      }
    });
  replace(el, heading('Identity pools'),
    h('p', null, `${list.length} pool${list.length === 1 ? '' : 's'}. Usage counts identities, datasets and stored bytes.`),
    rows,
    h('section', { class: 'card', 'aria-labelledby': 'create-pool-title' },
      h('h2', { id: 'create-pool-title' }, 'Create a pool'), form));
}

export async function poolView([poolId], query, el) {
  const { pool } = await api('GET', `pools/${seg(poolId)}`);
  let history = null;
  let historyError = null;
  try {
    history = (await api('GET', `pools/${seg(poolId)}/usage-history`)).points || [];
  } catch (e) {
    historyError = e;
  }
  const usage = pool.usage || {};
  const form = poolForm(pool, 'Save changes', async (body) => {
    try {
      const saved = (await api('PUT', `pools/${seg(poolId)}`, body)).pool;
      flash(`pool "${saved.name}" saved.`);
      return true;
    } catch (e) {
      fail('Saving the pool failed', e);
      return false;
    }
  });
  replace(el,
    h('p', { class: 'crumbs' }, h('a', { href: '#/pools' }, 'Pools'), ' / ', pool.name || pool.id),
    heading(`Pool ${pool.name || pool.id}`),
    h('dl', { class: 'facts' },
      h('dt', null, 'Pool ID'), h('dd', null, h('code', null, pool.id)),
      h('dt', null, 'Identities'), h('dd', null, fmtNum(usage.identities)),
      h('dt', null, 'Datasets'), h('dd', null, fmtNum(usage.datasets)),
      h('dt', null, 'Stored'), h('dd', null, fmtBytes(usage.bytes)),
      h('dt', null, 'Defined in'), h('dd', null, pool.fromConfig ? 'the config file (it is read again at start-up)' : 'the console or the CLI')),
    h('p', null, h('a', { href: `#/identities?pool=${seg(pool.id)}` }, 'Search this pool\'s identities')),
    h('section', { class: 'card', 'aria-labelledby': 'usage-title' },
      h('h2', { id: 'usage-title' }, 'Usage over time'),
      historyError ? h('p', { class: 'error-text' }, `Error: the usage history could not be loaded: ${historyError.message}`)
        : usageCharts(history)),
    h('section', { class: 'card', 'aria-labelledby': 'edit-pool-title' },
      h('h2', { id: 'edit-pool-title' }, 'Settings'),
      pool.fromConfig ? h('p', { class: 'hint' }, 'This pool is declared in the config file ([[pools]]), which is applied '
        + 'again at every start: edit it there. The settings below are read-only here.') : null,
      form));
  if (pool.fromConfig) for (const c of form.querySelectorAll('input, textarea, button')) c.disabled = true;
}

// The create/edit form. `submit(body)` resolves to true when saved.
function poolForm(pool, submitText, submit) {
  const name = h('input', { name: 'name', value: pool.name || '', required: true, maxlength: '128' });
  const guests = h('input', { type: 'checkbox', name: 'allowGuests', checked: Boolean(pool.allowGuests) });
  const developer = h('input', { name: 'developerProvider', value: pool.developerProvider || '' });
  const others = Object.keys(pool).filter((k) => !KNOWN.has(k)).sort().map((k) => otherControl(k, pool[k]));
  const button = h('button', { type: 'submit' }, submitText);
  const form = h('form', { class: 'pool-form' },
    field('Pool name', name),
    field('Allow guest (unauthenticated) identities', guests),
    field('Developer provider name', developer, 'For developer-authenticated identities; empty for none.'),
    others.length ? h('fieldset', null, h('legend', null, 'Login providers, events and streams'), others.map((o) => o.node)) : null,
    button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), allowGuests: guests.checked, developerProvider: developer.value.trim() };
    for (const o of others) {
      try { body[o.key] = o.read(); } catch (e) { fail('The form is not valid', e); return; }
    }
    button.disabled = true;
    try {
      if (await submit(body) && !pool.id) form.reset();
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// A control for a setting by its JSON type: checkbox, number, text, or JSON text for objects.
function otherControl(key, value) {
  const label = LABELS[key] || key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
  if (typeof value === 'boolean') {
    const c = h('input', { type: 'checkbox', name: key, checked: value });
    return { key, node: field(label, c, HINTS[key]), read: () => c.checked };
  }
  if (typeof value === 'number') {
    const c = h('input', { type: 'number', name: key, value: String(value), step: 'any' });
    return { key, node: field(label, c, HINTS[key]), read: () => Number(c.value) };
  }
  if (typeof value === 'string' || value === null) {
    const c = h('input', { name: key, value: value || '' });
    return { key, node: field(label, c, HINTS[key]), read: () => c.value };
  }
  const c = h('textarea', { name: key, rows: '4', class: 'mono' }, JSON.stringify(value, null, 2));
  return { key, node: field(`${label} (JSON)`, c, HINTS[key]), read: () => {
    try { return JSON.parse(c.value); } catch { throw new Error(`${label} is not valid JSON`); }
  } };
}

// Two line charts (counts; bytes) over the usage history, each with a text summary, a legend
// that does not rely on colour (dash patterns and names), and the figures as a table.
function usageCharts(points) {
  if (!points.length) return h('p', { class: 'empty' }, 'No usage history yet: the server records a point periodically.');
  const pts = points.slice().sort((a, b) => a.at - b.at);
  const last = pts[pts.length - 1];
  return h('div', { class: 'charts' },
    h('p', null, `${pts.length} point${pts.length === 1 ? '' : 's'} from ${fmtTime(pts[0].at)} to ${fmtTime(last.at)}. `
      + `Latest: ${fmtNum(last.identities)} identities, ${fmtNum(last.datasets)} datasets, ${fmtBytes(last.bytes)}.`),
    lineChart('Identities and datasets', pts, [['identities', 'Identities'], ['datasets', 'Datasets']], fmtNum),
    lineChart('Bytes stored', pts, [['bytes', 'Bytes']], fmtBytes),
    h('details', null, h('summary', null, 'Show the figures as a table'),
      table('Usage history', [
        { label: 'At', cell: (p) => fmtTime(p.at) },
        { label: 'Identities', class: 'num', cell: (p) => fmtNum(p.identities) },
        { label: 'Datasets', class: 'num', cell: (p) => fmtNum(p.datasets) },
        { label: 'Bytes', class: 'num', cell: (p) => fmtBytes(p.bytes) },
      ], pts.slice().reverse())));
}

function lineChart(title, pts, series, fmt) {
  const W = 600, H = 220, L = 70, R = 12, T = 12, B = 34;
  const t0 = pts[0].at, t1 = pts[pts.length - 1].at;
  const max = Math.max(1, ...pts.flatMap((p) => series.map(([k]) => Number(p[k]) || 0)));
  const x = (t) => L + (t1 === t0 ? (W - L - R) / 2 : ((t - t0) / (t1 - t0)) * (W - L - R));
  const y = (v) => T + (1 - (Number(v) || 0) / max) * (H - T - B);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${title} over time` },
    svg('title', null, `${title} over time`),
    svg('line', { x1: L, y1: y(0), x2: W - R, y2: y(0), class: 'axis' }),
    svg('line', { x1: L, y1: T, x2: L, y2: y(0), class: 'axis' }),
    svg('line', { x1: L, y1: y(max), x2: W - R, y2: y(max), class: 'grid' }),
    svg('text', { x: L - 6, y: y(max) + 4, class: 'tick end' }, fmt(max)),
    svg('text', { x: L - 6, y: y(0) + 4, class: 'tick end' }, fmt(0)),
    svg('text', { x: L, y: H - 10, class: 'tick' }, fmtTime(t0)),
    t1 !== t0 ? svg('text', { x: W - R, y: H - 10, class: 'tick end' }, fmtTime(t1)) : null,
    series.map(([k], i) => {
      const coords = pts.map((p) => `${x(p.at).toFixed(1)},${y(p[k]).toFixed(1)}`);
      return [svg('polyline', { points: coords.join(' '), class: `series s${i}` }),
        pts.length <= 60 ? pts.map((p) => svg('circle', { cx: x(p.at).toFixed(1), cy: y(p[k]).toFixed(1), r: 3, class: `dot s${i}` },
          svg('title', null, `${fmtTime(p.at)}: ${fmt(p[k])}`))) : null];
    }));
  return h('figure', { class: 'chart-figure' }, chart,
    h('figcaption', null, h('strong', null, title), ' — ',
      series.map(([k, label], i) => h('span', { class: `legend s${i}` }, svg('svg', { viewBox: '0 0 30 10', class: 'key', 'aria-hidden': 'true' },
        svg('line', { x1: 0, y1: 5, x2: 30, y2: 5, class: `series s${i}` })), ` ${label} (now ${fmt(pts[pts.length - 1][k])})`))));
}
