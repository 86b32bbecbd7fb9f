// tetherd console: the pieces every page uses. `h()` builds elements; it is the only way the page
// puts text in the document, and it only ever uses createTextNode / setAttribute / textContent, so
// user data (record values, keys, names, login subjects, server messages) can never become markup.
// Nothing in the console uses innerHTML, insertAdjacentHTML, document.write or eval.
// `api()` calls /console/api/ (docs/console.md) with the session's CSRF token on every change.
// `flash()` / `fail()` put a success message (role=status) or an error (role=alert) on screen.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

// The signed-in session: {username, csrfToken, expiresAt} or null. Set by console.js.
export const session = { current: null, onExpired: null };

// h('tag', {attr: value, onclick: fn, class: 'x'}, child...) -> Element. Children: strings and
// numbers become text nodes, null/false are skipped, arrays are flattened.
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// The same for SVG elements (the usage chart).
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value' && 'value' in el && !(el instanceof SVGElement)) el.value = String(value);
    else if (name === 'checked') el.checked = Boolean(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// Replaces the children of `el` with `children` (same rules as h()).
export function replace(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
  return el;
}

// A labelled form field: <div class=field><label for=id>text</label><input id=id ...></div>.
let fieldCounter = 0;
export function field(labelText, control, hint) {
  const id = control.id || `f${++fieldCounter}`;
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${id}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  const wrapper = h('div', { class: control.type === 'checkbox' ? 'field check' : 'field' });
  if (control.type === 'checkbox') append(wrapper, [control, h('label', { for: id }, labelText)]);
  else append(wrapper, [h('label', { for: id }, labelText), control]);
  if (hintEl) wrapper.appendChild(hintEl);
  return wrapper;
}

// An error answered by the API: status, error name, message, and the whole body (a 409 Conflict
// carries `current`).
export class ApiError extends Error {
  constructor(status, body) {
    const b = body && typeof body === 'object' ? body : {};
    super(b.message || `the server answered ${status}`);
    this.status = status;
    this.name = b.error || `HTTP${status}`;
    this.body = b;
  }
}

// Percent-encodes one path segment (identity IDs contain ':', keys can contain anything).
export const seg = (s) => encodeURIComponent(String(s));

// api('GET', 'pools') -> parsed JSON (null for 204); throws ApiError. A 401 on anything but
// the session call means the session expired: console.js shows the sign-in form again.
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.current) headers['X-CSRF-Token'] = session.current.csrfToken;
  let response;
  try {
    response = await fetch(`/console/api/${path}`, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { error: 'NetworkError', message: `the server could not be reached (${e.message})` });
  }
  let data = null;
  if (response.status !== 204) {
    const text = await response.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
    }
  }
  if (!response.ok) {
    const err = new ApiError(response.status, data);
    if (response.status === 401 && path !== 'session' && session.onExpired) session.onExpired(err);
    if (response.status === 429) {
      const after = response.headers.get('Retry-After');
      if (after) err.message += ` Try again in ${after} s.`;
    }
    throw err;
  }
  return data;
}

// Messages: one status line and one alert line, at the top of the page.
export function flash(text) {
  replace(document.getElementById('alert'));
  replace(document.getElementById('status'), h('p', { class: 'ok' }, h('strong', null, 'Done: '), text));
}

export function fail(what, err, ...extra) {
  replace(document.getElementById('status'));
  const detail = err instanceof ApiError ? `${err.message} (${err.name}, HTTP ${err.status})` : String(err && err.message || err);
  replace(document.getElementById('alert'),
    h('div', { class: 'error' }, h('p', null, h('strong', null, 'Error: '), `${what}: ${detail}`), ...extra));
}

// A success message for the page being navigated to (shown once it has rendered).
let pendingFlash = null;
export function flashNext(text) { pendingFlash = text; }
export function showPendingFlash() {
  if (pendingFlash) flash(pendingFlash);
  pendingFlash = null;
}

export function clearMessages() {
  replace(document.getElementById('status'));
  replace(document.getElementById('alert'));
}

// Formatting.
export function fmtTime(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function fmtBytes(n) {
  const v = Number(n) || 0;
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  if (v < 1024 * 1024 * 1024) return `${(v / 1024 / 1024).toFixed(2)} MB`;
  return `${(v / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

export const fmtNum = (n) => (Number(n) || 0).toLocaleString('en-US');

// A page heading that receives focus after navigation (keyboard and screen-reader users land
// on the new page's title).
export function heading(text, level = 'h1') {
  return h(level, { tabindex: '-1', class: 'page-title' }, text);
}

// A table: columns [{label, cell: (row) => node|string, class?}], rows. Wrapped so that a wide
// table scrolls sideways inside the page at phone widths instead of widening the page.
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', null, rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(r))))))));
}

// A button that runs `action` (async) and is disabled while it runs.
export function button(text, action, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, text);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await action(); } finally { b.disabled = false; }
  });
  return b;
}
