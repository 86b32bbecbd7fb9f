// tetherd console: the data browser, #/identities/ID/datasets/NAME?after=KEY&tombstones=1.
// A page of a dataset's records (key, value, sync count, last modified by/when; tombstones on
// request) with Next/Previous paging, edit a value, add and remove a record, delete the dataset.
// Every write carries the record's sync count as the page showed it: when a device wrote first
// the server answers 409 Conflict with its current record, which the page shows next to the
// operator's value, and nothing is overwritten unless the operator chooses to.
// Values are user data: they only ever reach the page as text nodes (dom.js h()).
'use strict';

import { h, replace, api, seg, field, heading, flash, flashNext, fail, fmtBytes, fmtNum, fmtTime, button, ApiError } from './dom.js';

const PAGE_SIZE = 100;

// The `after` cursors of the pages before this one, for Previous: {dataset: path, stack: []}.
const trail = { dataset: null, stack: [] };

export async function datasetView([id, name], query, el) {
  const base = `identities/${seg(id)}/datasets/${seg(name)}`;
  const route = `#/identities/${seg(id)}/datasets/${seg(name)}`;
  const after = query.get('after');
  const tombstones = query.get('tombstones') === '1';
  if (trail.dataset !== base) { trail.dataset = base; trail.stack = []; }
  if (!after) trail.stack = [];

  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (after) q.set('after', after);
  if (tombstones) q.set('tombstones', '1');
  const page = await api('GET', `${base}/records?${q}`);
  const records = page.records || [];

  const go = (nextAfter, show = tombstones) => {
    const p = new URLSearchParams();
    if (nextAfter) p.set('after', nextAfter);
    if (show) p.set('tombstones', '1');
    const s = p.toString();
    location.hash = s ? `${route}?${s}` : route;
  };
  const reload = async (message) => {
    await datasetView([id, name], query, el);
    if (message) flash(message);
  };

  const showTombstones = h('input', { type: 'checkbox', name: 'tombstones', checked: tombstones });
  showTombstones.addEventListener('change', () => { trail.stack = []; go(null, showTombstones.checked); });

  const first = trail.stack.length * PAGE_SIZE + 1;
  const prev = button('Previous page', async () => go(trail.stack.pop() || null), { disabled: !after });
  const next = button('Next page', async () => { trail.stack.push(after || ''); go(page.next); }, { disabled: !page.next });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Record pages' }, prev,
    h('span', null, records.length ? `Records ${fmtNum(first)}–${fmtNum(first + records.length - 1)}` : 'No records on this page'),
    next);

  const columns = ['Key', 'Value', 'Sync count', 'Last modified', 'Modified by', 'Actions'];
  const body = h('tbody', null, records.map((r) => recordRow(r, base, reload)));
  const recordsTable = records.length
    ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Records' },
      h('table', { class: 'records' }, h('caption', null, `Records of ${name}`),
        h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c)))), body))
    : h('p', { class: 'empty' }, tombstones ? 'No records.' : 'No live records (tick "Show removed records" to see tombstones).');

  replace(el,
    h('p', { class: 'crumbs' }, h('a', { href: '#/identities' }, 'Identities'), ' / ',
      h('a', { href: `#/identities/${seg(id)}` }, id), ' / ', name),
    heading(`Dataset ${name}`),
    h('p', null, `Dataset sync count ${fmtNum(page.syncCount)}. ${PAGE_SIZE} records a page.`),
    h('div', { class: 'toolbar' }, field('Show removed records (tombstones)', showTombstones)),
    pager, recordsTable,
    addForm(base, reload),
    deleteDataset(id, name, base, page.syncCount));
}

function valueNode(r) {
  if (r.deleted) return h('span', { class: 'tombstone' }, '(removed)');
  if (r.valueBase64 !== undefined) {
    return h('span', { class: 'binary' }, `(binary, ${fmtBytes(Math.floor(r.valueBase64.length * 3 / 4))}) base64: `,
      h('code', null, r.valueBase64));
  }
  if (r.value === null || r.value === undefined) return h('span', { class: 'tombstone' }, '(no value)');
  return h('pre', { class: 'value' }, r.value);
}

function recordRow(r, base, reload) {
  const path = `${base}/records/${seg(r.key)}`;
  const valueCell = h('td', { 'data-label': 'Value', class: 'value-cell' }, valueNode(r));
  const actions = h('td', { 'data-label': 'Actions', class: 'actions' });
  const showButtons = () => replace(actions,
    r.valueBase64 === undefined ? button('Edit', async () => edit(), { 'aria-label': `Edit ${r.key}` }) : null,
    r.deleted ? null : button('Remove', async () => confirmRemove(), { 'aria-label': `Remove ${r.key}` }));

  const edit = () => {
    const input = h('textarea', { name: 'value', rows: '3', class: 'mono' }, r.deleted ? '' : (r.value || ''));
    const save = h('button', { type: 'submit' }, 'Save');
    const form = h('form', { class: 'edit' }, field(`New value for ${r.key}`, input), save,
      h('button', { type: 'button', onclick: () => { replace(valueCell, valueNode(r)); showButtons(); } }, 'Cancel'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      try {
        await writeRecord(path, r.key, input.value, r.syncCount, reload);
      } finally {
        save.disabled = false;
      }
    });
    replace(valueCell, form);
    replace(actions);
    input.focus();
  };

  const confirmRemove = () => replace(actions,
    button(`Confirm remove`, async () => {
      try {
        await api('DELETE', `${path}?syncCount=${encodeURIComponent(r.syncCount)}`);
        await reload(`record "${r.key}" removed.`);
      } catch (e) {
        conflictOr(e, 'Removing the record failed', r.key, null, reload);
      }
    }, { class: 'danger', 'aria-label': `Confirm remove ${r.key}` }),
    button('Cancel', async () => showButtons()));

  showButtons();
  return h('tr', { 'data-key': r.key, class: r.deleted ? 'deleted' : null },
    h('th', { scope: 'row', 'data-label': 'Key' }, h('code', null, r.key)),
    valueCell,
    h('td', { 'data-label': 'Sync count', class: 'num' }, fmtNum(r.syncCount)),
    h('td', { 'data-label': 'Last modified' }, fmtTime(r.lastModified)),
    h('td', { 'data-label': 'Modified by' }, r.lastModifiedBy || '—'),
    actions);
}

// PUT with the sync count the page showed (0 for a new record).
async function writeRecord(path, key, value, syncCount, reload) {
  try {
    const { record } = await api('PUT', path, { value, syncCount });
    await reload(`record "${key}" saved (sync count ${record ? record.syncCount : '?'}).`);
  } catch (e) {
    conflictOr(e, 'Saving the record failed', key, { path, value }, reload);
  }
}

// A 409 with `current`: say what the server holds now; offer reload, and (for an edit) writing
// the operator's value over it, against the current sync count.
function conflictOr(e, what, key, retry, reload) {
  const current = e instanceof ApiError && e.status === 409 ? e.body.current : undefined;
  if (current === undefined) { fail(what, e); return; }
  const currentText = !current ? 'nothing (the record does not exist)'
    : current.deleted ? '(removed)' : current.valueBase64 !== undefined ? `(binary) ${current.valueBase64}` : current.value;
  const extra = [
    h('p', null, `Record "${key}" changed on the server since this page was loaded (a device wrote it first). Nothing was written.`),
    h('p', null, 'The server now holds: ', h('code', { class: 'current-value' }, currentText),
      current ? ` (sync count ${current.syncCount}, modified ${fmtTime(current.lastModified)}${current.lastModifiedBy ? ` by ${current.lastModifiedBy}` : ''})` : ''),
    h('div', { class: 'actions' },
      button('Reload records', async () => reload(`records reloaded; record "${key}" shows the server's value.`)),
      retry && current ? button('Save my value over it', async () =>
        writeRecord(retry.path, key, retry.value, current.syncCount, reload)) : null),
  ];
  fail(what, e, ...extra);
}

function addForm(base, reload) {
  const key = h('input', { name: 'key', required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '128' });
  const value = h('textarea', { name: 'value', rows: '3', class: 'mono' });
  const form = h('form', { class: 'card add-record', 'aria-labelledby': 'add-record-title' },
    h('h2', { id: 'add-record-title' }, 'Add a record'), field('Key', key), field('Value', value),
    h('button', { type: 'submit' }, 'Add record'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    await writeRecord(`${base}/records/${seg(key.value)}`, key.value, value.value, 0, reload);
  });
  return form;
}

// The DELETE carries the dataset's sync count as shown: a device's write since then is a 409.
function deleteDataset(id, name, base, syncCount) {
  const area = h('div', { class: 'card danger-zone' }, h('h2', null, 'Delete this dataset'),
    h('p', null, 'Devices that sync it afterwards see it deleted.'));
  const ask = button(`Delete dataset ${name}…`, async () => {
    ask.hidden = true;
    const cancel = button('Cancel', async () => { yes.remove(); cancel.remove(); question.remove(); ask.hidden = false; ask.focus(); });
    const yes = button(`Yes, delete ${name} and all its records`, async () => {
      try {
        await api('DELETE', syncCount === undefined ? base : `${base}?syncCount=${encodeURIComponent(syncCount)}`);
        flashNext(`dataset "${name}" deleted.`);
        location.hash = `#/identities/${seg(id)}`;
      } catch (e) { fail('Deleting the dataset failed', e); }
    }, { class: 'danger' });
    const question = h('p', { class: 'question' }, `Really delete dataset "${name}"? This cannot be undone.`);
    area.append(question, yes, cancel);
    yes.focus();
  }, { class: 'danger' });
  area.appendChild(ask);
  return area;
}
