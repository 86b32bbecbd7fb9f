// tetherd console (plain ES2020 modules, no framework, no build step): the page shell, the
// sign-in form and the hash router. Routes:
//   #/pools  #/pools/ID  #/identities?q=&pool=  #/identities/ID  #/identities/ID/datasets/NAME
//   #/live  #/audit
// Each route's view is an async function (params, query, main) -> optional cleanup function,
// called when the route is left (the live view stops polling there). The API is docs/console.md.
'use strict';

import { h, replace, api, session, field, heading, clearMessages, fail, showPendingFlash, ApiError } from './dom.js';
import { poolsView, poolView } from './pools.js';
import { identitiesView, identityView } from './identities.js';
import { datasetView } from './data.js';
import { liveView, auditView } from './live.js';

const routes = [
  [/^\/pools$/, poolsView],
  [/^\/pools\/([^/]+)$/, poolView],
  [/^\/identities$/, identitiesView],
  [/^\/identities\/([^/]+)$/, identityView],
  [/^\/identities\/([^/]+)\/datasets\/([^/]+)$/, datasetView],
  [/^\/live$/, liveView],
  [/^\/audit$/, auditView],
];

const NAV = [['#/pools', 'Pools'], ['#/identities', 'Identities'], ['#/live', 'Live'], ['#/audit', 'Audit log']];

let cleanup = null;
let renderSeq = 0;

function main() { return document.getElementById('main'); }

// The header: the product name, the sections, who is signed in and a sign-out button.
function renderHeader() {
  const header = document.getElementById('top');
  if (!session.current) {
    replace(header, h('p', { class: 'brand' }, 'tetherd console'));
    return;
  }
  const path = location.hash.replace(/^#/, '').split('?')[0];
  replace(header,
    h('p', { class: 'brand' }, h('a', { href: '#/pools' }, 'tetherd console')),
    h('nav', { 'aria-label': 'Sections' }, h('ul', null, NAV.map(([href, label]) => {
      const current = path.startsWith(href.slice(1));
      return h('li', null, h('a', { href, 'aria-current': current ? 'page' : null }, label));
    }))),
    h('div', { class: 'who' },
      h('span', { id: 'signed-in-as' }, `Signed in as ${session.current.username}`),
      h('button', { type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out')));
}

function signInForm(message) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'card sign-in', id: 'sign-in-form' },
    heading('Sign in to the tetherd console'),
    h('p', null, 'Use an operator account (created with tetherd admin create-user).'),
    field('Username', username), field('Password', password), submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      session.current = await api('POST', 'session', { username: username.value, password: password.value });
      clearMessages();
      if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/pools';
      else route();
    } catch (e) {
      password.value = '';
      const what = e instanceof ApiError && e.status === 401 ? 'Sign-in failed (wrong username or password)'
        : e instanceof ApiError && e.status === 429 ? 'Too many sign-in attempts' : 'Sign-in failed';
      fail(what, e);
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  renderHeader();
  replace(main(), form);
  if (message) fail(message.what, message.err);
  username.focus();
}

async function signOut() {
  try {
    await api('DELETE', 'session');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) { fail('Sign-out failed', e); return; }
  }
  session.current = null;
  stopView();
  signInForm();
  replace(document.getElementById('status'), h('p', { class: 'ok' }, h('strong', null, 'Done: '), 'you are signed out.'));
}

function stopView() {
  if (cleanup) { try { cleanup(); } catch { /* a view's cleanup never blocks navigation */ } }
  cleanup = null;
}

// Parses location.hash into {path, query} and shows the matching view.
async function route() {
  stopView();
  if (!session.current) { signInForm(); return; }
  const raw = location.hash.replace(/^#/, '') || '/pools';
  const [path, qs] = raw.split('?');
  const query = new URLSearchParams(qs || '');
  renderHeader();
  const seq = ++renderSeq;
  clearMessages();
  for (const [re, view] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    let params;
    try {
      params = m.slice(1).map(decodeURIComponent);
    } catch {
      break;  // a malformed %-escape: not found
    }
    const el = replace(main(), h('p', { class: 'loading', role: 'status' }, 'Loading…'));
    try {
      const stop = await view(params, query, el, () => seq === renderSeq);
      if (seq !== renderSeq) { if (stop) stop(); return; }
      cleanup = stop || null;
      showPendingFlash();
    } catch (e) {
      if (seq !== renderSeq) return;
      if (e instanceof ApiError && e.status === 401) return;  // the sign-in form is showing
      replace(el, heading('Could not load this page'));
      fail('Loading the page failed', e);
    }
    const title = main().querySelector('.page-title');
    if (title) title.focus({ preventScroll: true });
    return;
  }
  replace(main(), heading('Not found'), h('p', null, 'There is no such page. '), h('a', { href: '#/pools' }, 'Go to the pools'));
}

async function start() {
  // The skip link jumps to the content without touching the route in the hash.
  document.querySelector('.skip').addEventListener('click', (ev) => { ev.preventDefault(); main().focus(); });
  session.onExpired = (err) => {
    session.current = null;
    stopView();
    signInForm({ what: 'Your session has ended; sign in again', err });
  };
  try {
    session.current = await api('GET', 'session');
  } catch {
    session.current = null;
  }
  window.addEventListener('hashchange', route);
  route();
}

start();
