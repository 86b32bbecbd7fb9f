// tetherd console: identities. #/identities?q=&pool= searches by identity ID, a login
// (provider:subject) or a developer user ID; #/identities/ID shows one identity: its logins
// (unlink), devices and their subscriptions, datasets with their size against the dataset
// limits (1 MB, 1,024 records), disable/enable, and delete behind a typed confirmation.
'use strict';

import { h, replace, api, seg, field, heading, flash, flashNext, fail, fmtBytes, fmtNum, fmtTime, table, button } from './dom.js';

export async function identitiesView(params, query, el) {
  const q = query.get('q') || '';
  const poolParam = query.get('pool') || '';
  let pools = [];
  try { pools = (await api('GET', 'pools')).pools; } catch { /* the search works without the pool list */ }
  const input = h('input', { name: 'q', type: 'search', value: q, autocomplete: 'off', spellcheck: 'false' });
  const pool = h('select', { name: 'pool' }, h('option', { value: '' }, 'All pools'),
    pools.map((p) => h('option', { value: p.id, selected: p.id === poolParam ? 'selected' : null }, `${p.name} (${p.id})`)));
  const form = h('form', { class: 'search', role: 'search' },
    field('Identity ID, login (provider:subject) or developer user ID', input),
    field('Pool', pool),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    if (input.value.trim()) next.set('q', input.value.trim());
    if (pool.value) next.set('pool', pool.value);
    const target = `#/identities?${next}`;
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  });
  const results = h('div', { id: 'results' });
  replace(el, heading('Identities'), form, results);
  if (!q && !poolParam) {
    replace(results, h('p', { class: 'empty' }, 'Search for an identity to see its logins, devices and data.'));
    return;
  }
  const search = new URLSearchParams();
  if (poolParam) search.set('pool', poolParam);
  if (q) search.set('q', q);
  const after = query.get('after');
  if (after && !q) search.set('after', after);
  try {
    const { identities, next } = await api('GET', `identities?${search}`);
    const more = next ? h('nav', { class: 'pager', 'aria-label': 'Identity pages' },
      after ? h('a', { href: `#/identities?${new URLSearchParams({ pool: poolParam })}` }, 'First page') : null,
      h('a', { href: `#/identities?${new URLSearchParams({ pool: poolParam, after: next })}` }, 'Next page')) : null;
    replace(results,
      h('p', { role: 'status' }, `${identities.length} identit${identities.length === 1 ? 'y' : 'ies'} found${q ? ` for "${q}"` : ''}.`),
      table('Search results', [
        { label: 'Identity', cell: (i) => h('a', { href: `#/identities/${seg(i.identityId)}` }, i.identityId) },
        { label: 'Pool', cell: (i) => h('code', null, i.poolId) },
        { label: 'State', cell: (i) => (i.disabled ? 'Disabled' : 'Enabled') },
        { label: 'Logins', cell: (i) => loginsText(i.logins) },
        { label: 'Matched by', cell: (i) => MATCHED[i.matchedBy] || i.matchedBy || '—' },
        { label: 'Last modified', cell: (i) => fmtTime(i.lastModified) },
      ], identities, 'No identity matches.'), more);
  } catch (e) {
    replace(results);
    fail('The search failed', e);
  }
}

const MATCHED = { identityId: 'identity ID', login: 'login', developerUserId: 'developer user ID' };

const loginsText = (logins) => ((logins || []).length
  ? logins.map((l) => `${l.provider}:${l.subject}`).join(', ') : 'none (guest)');

export async function identityView([id], query, el) {
  const path = `identities/${seg(id)}`;
  const identity = await api('GET', path);
  const limits = { datasetBytes: 1048576, datasetRecords: 1024, datasets: 20, ...(identity.limits || {}) };
  const reload = async (message) => {
    await identityView([id], query, el);
    if (message) flash(message);
  };

  const cannotEnable = identity.disabled && identity.canEnable === false;
  const toggle = button(identity.disabled ? 'Enable identity' : 'Disable identity', async () => {
    try {
      await api('POST', `${path}/${identity.disabled ? 'enable' : 'disable'}`);
      await reload(`identity ${identity.disabled ? 'enabled' : 'disabled'}.`);
    } catch (e) { fail(`${identity.disabled ? 'Enabling' : 'Disabling'} the identity failed`, e); }
  }, { disabled: cannotEnable, 'aria-describedby': cannotEnable ? 'enable-note' : null });

  const logins = table('Logins', [
    { label: 'Provider', cell: (l) => l.provider },
    { label: 'Subject', cell: (l) => [h('code', null, l.subject), l.pending ? ' (pending: known only by its provider, from import-cognito)' : ''] },
    { label: 'Action', cell: (l) => button('Unlink', async () => {
      try {
        await api('DELETE', `${path}/logins?${new URLSearchParams({ provider: l.provider, subject: l.subject })}`);
        await reload(`login ${l.provider}:${l.subject} unlinked.`);
      } catch (e) { fail('Unlinking the login failed', e); }
    }, { 'aria-label': `Unlink ${l.provider}:${l.subject}` }) },
  ], identity.logins || [], 'No logins: a guest identity.');

  const devices = table('Devices', [
    { label: 'Device', cell: (d) => h('code', null, d.deviceId) },
    { label: 'Platform', cell: (d) => d.platform || '—' },
    { label: 'Subscriptions', cell: (d) => ((d.subscriptions || []).length
      ? h('ul', { class: 'plain' }, d.subscriptions.map((s) => h('li', null, typeof s === 'string' ? s : JSON.stringify(s))))
      : 'none') },
  ], identity.devices || [], 'No registered devices.');

  const datasets = table('Datasets', [
    { label: 'Dataset', cell: (d) => h('a', { href: `#/${path}/datasets/${seg(d.name)}` }, d.name) },
    { label: 'Records', cell: (d) => usageBar(d.records, limits.datasetRecords, fmtNum, 'records') },
    { label: 'Size', cell: (d) => usageBar(d.bytes, limits.datasetBytes, fmtBytes, 'bytes') },
    { label: 'Sync count', class: 'num', cell: (d) => fmtNum(d.syncCount) },
    { label: 'Last modified', cell: (d) => `${fmtTime(d.lastModified)}${d.lastModifiedBy ? ` by ${d.lastModifiedBy}` : ''}` },
  ], identity.datasets || [], 'No datasets.');

  replace(el,
    h('p', { class: 'crumbs' }, h('a', { href: '#/identities' }, 'Identities'), ' / ', id),
    heading(`Identity ${identity.identityId}`),
    h('dl', { class: 'facts' },
      h('dt', null, 'State'), h('dd', { id: 'identity-state' }, identity.disabled ? 'Disabled: it cannot get credentials or sync' : 'Enabled'),
      h('dt', null, 'Pool'), h('dd', null, h('a', { href: `#/pools/${seg(identity.poolId)}` }, identity.poolId)),
      h('dt', null, 'Created'), h('dd', null, fmtTime(identity.created)),
      h('dt', null, 'Last modified'), h('dd', null, fmtTime(identity.lastModified))),
    h('div', { class: 'actions' }, toggle, cannotEnable ? h('p', { id: 'enable-note', class: 'hint' },
      'This identity cannot be enabled again: it has no linked login (it was merged into another identity, '
      + 'had its last login unlinked, or is a disabled guest), so enabling it would let anyone holding its ID use it.') : null),
    h('section', { 'aria-labelledby': 'datasets-title' }, h('h2', { id: 'datasets-title' },
      `Datasets (${(identity.datasets || []).length} of ${limits.datasets})`), datasets),
    h('section', { 'aria-labelledby': 'logins-title' }, h('h2', { id: 'logins-title' }, 'Logins'), logins),
    h('section', { 'aria-labelledby': 'devices-title' }, h('h2', { id: 'devices-title' }, 'Devices and subscriptions'), devices),
    deleteSection(identity.identityId, path));
}

// "12.0 KB of 1 MB (1%)" plus a <meter>: the text carries the figure, the bar is extra.
function usageBar(value, max, fmt, unit) {
  const v = Number(value) || 0;
  const pct = max ? Math.min(100, (v / max) * 100) : 0;
  return h('div', { class: 'usage' },
    h('meter', { min: '0', max: String(max), low: String(max * 0.7), high: String(max * 0.9), optimum: '0',
      value: String(v), 'aria-label': `${unit} used` }),
    h('span', null, `${fmt(v)} of ${fmt(max)} (${pct < 1 && v > 0 ? '<1' : Math.round(pct)}%)`));
}

// Delete behind a typed confirmation: the button works only once the identity ID is typed.
function deleteSection(identityId, path) {
  const confirmInput = h('input', { name: 'confirm', autocomplete: 'off', spellcheck: 'false' });
  const del = h('button', { type: 'submit', class: 'danger', disabled: true }, 'Delete identity and all its data');
  confirmInput.addEventListener('input', () => { del.disabled = confirmInput.value.trim() !== identityId; });
  const form = h('form', { class: 'card danger-zone', 'aria-labelledby': 'delete-title' },
    h('h2', { id: 'delete-title' }, 'Delete this identity'),
    h('p', null, 'This removes the identity, its logins and every dataset. It cannot be undone.'),
    field(`Type the identity ID (${identityId}) to confirm`, confirmInput), del);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (confirmInput.value.trim() !== identityId) return;
    del.disabled = true;
    try {
      await api('DELETE', path, { confirm: identityId });
      flashNext(`identity ${identityId} deleted.`);
      location.hash = '#/identities';
    } catch (e) {
      del.disabled = false;
      fail('Deleting the identity failed', e);
    }
  });
  return form;
}
