// Static checks of the console page (server/console/assets/, docs/console.md "The page") that need
// no browser: nothing turns a string into markup or code (innerHTML and friends, eval), the HTML
// has no inline script or style (the CSP would block them), no asset names another host, and
// every module the page imports is a file listed in server/console/meson.build (so it is built
// into tetherd, not just present in the source tree).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const assets = path.join(root, 'server', 'console', 'assets');
const files = fs.readdirSync(assets).sort();
const read = (f) => fs.readFileSync(path.join(assets, f), 'utf8');
// Comments may name the forbidden APIs (dom.js says it never uses them).
const code = (f) => read(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

test('no script turns strings into markup or code', () => {
  for (const f of files.filter((x) => x.endsWith('.js'))) {
    const src = code(f);
    for (const bad of [/\.innerHTML\b/, /\.outerHTML\b/, /insertAdjacentHTML/, /document\.write/, /\beval\s*\(/,
      /new\s+Function\s*\(/, /setTimeout\s*\(\s*['"`]/, /setInterval\s*\(\s*['"`]/, /\.style\.cssText/, /createContextualFragment/]) {
      assert.doesNotMatch(src, bad, `${f} uses ${bad}`);
    }
  }
});

test('the HTML has no inline script, inline style or event attribute', () => {
  for (const f of files.filter((x) => x.endsWith('.html'))) {
    const html = read(f);
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      assert.match(m[1], /\bsrc=/, `${f}: a <script> without src`);
      assert.equal(m[2].trim(), '', `${f}: inline script`);
    }
    assert.doesNotMatch(html, /<style\b/i, `${f}: a <style> element`);
    assert.doesNotMatch(html, /\sstyle\s*=/i, `${f}: a style attribute`);
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${f}: an event-handler attribute`);
  }
  for (const f of files.filter((x) => x.endsWith('.js'))) {
    // setAttribute('style', ...) or h(..., {style: ...}) would be blocked by the CSP too.
    assert.doesNotMatch(code(f), /['"]style['"]\s*[,:]|\bstyle\s*:/, `${f} sets a style attribute`);
  }
});

test('no asset loads anything from another host', () => {
  for (const f of files) {
    const text = f.endsWith('.js') ? code(f) : read(f);
    // The SVG namespace is an identifier, not a URL the browser fetches.
    const urls = [...text.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"`)]*/gi)].map((m) => m[0])
      .filter((u) => u !== 'http://www.w3.org/2000/svg');
    assert.deepEqual(urls, [], `${f} names other hosts`);
  }
});

const mesonFile = path.join(root, 'server', 'console', 'meson.build');
const noList = fs.existsSync(mesonFile) ? false : 'server/console/meson.build (the embedding list) is not in this tree yet';

test('every module the page loads is listed in server/console/meson.build', { skip: noList }, () => {
  const meson = fs.readFileSync(mesonFile, 'utf8');
  const listed = new Set([...meson.matchAll(/'assets\/([^']+)'/g)].map((m) => m[1]));
  const wanted = new Set(['index.html']);
  const queue = ['index.html'];
  while (queue.length) {
    const f = queue.shift();
    assert.ok(files.includes(f), `${f} is referenced but not in server/console/assets/`);
    const text = read(f);
    const refs = [...text.matchAll(/(?:src|href)="\/console\/assets\/([^"]+)"/g), ...text.matchAll(/from\s+'\.\/([^']+)'/g)]
      .map((m) => m[1]);
    for (const r of refs) if (!wanted.has(r)) { wanted.add(r); queue.push(r); }
  }
  for (const f of wanted) assert.ok(listed.has(f), `${f} is used by the page but not listed in server/console/meson.build`);
  for (const f of files) assert.ok(wanted.has(f), `${f} is in assets/ but nothing loads it`);
});
