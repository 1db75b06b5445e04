// SPDX-License-Identifier: Apache-2.0
// Browser test of share links against the real `presign serve`: person A uploads a file through the
// page and makes a 1-day link with a password ("Share…"); person B, in a fresh browser context with
// no storage, opens the link, sees the file's name and size, types a wrong and then the right
// password, downloads, and the bytes equal the upload. An expired link's page says so in words, and
// a deleted file's page says it is no longer available.
//
// usage: node share.test.mjs <path to presign> (or PRESIGN_BIN=<path>); CHROMIUM=<path> overrides
//        /usr/bin/chromium.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, plainUploads, startServer, stopServer } from './serve_helpers.mjs';

const FILE_NAME = 'holiday plan «2026».txt';
const FILE_BYTES = 123_457;
const PASSWORD = 'open sesame 42';
const TEST_TIMEOUT_MS = 150_000;

const presignBinary = process.argv[2] || process.env.PRESIGN_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  ok(what);
}

function watchErrors(page, errors) {
  page.on('pageerror', (error) => errors.push(String(error)));
  // Console errors catch Content-Security-Policy violations; a refused request's own line is expected.
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(message.text());
  });
}

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-share-browser-'));
  let server = null;
  let browser = null;
  try {
    const file = path.join(work, FILE_NAME);
    const bytes = randomBytes(FILE_BYTES);
    await writeFile(file, bytes);
    server = await startServer(presignBinary, path.join(work, 'data'));
    ok(`serve listening (api ${server.urls.api})`);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });

    // ---- person A: upload, then "Share…" for 1 day with a password ----
    const contextA = await browser.newContext({ locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
    await plainUploads(contextA);
    await contextA.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.urls.api });
    const pageA = await contextA.newPage();
    const errorsA = [];
    watchErrors(pageA, errorsA);
    pageA.setDefaultTimeout(30_000);
    await pageA.goto(server.urls.api + '/');
    await pageA.setInputFiles('#file-input', file);
    const item = pageA.locator('.upload-item', { hasText: FILE_NAME });
    await item.waitFor();
    ok('A uploaded the file through the page');
    await pageA.getByRole('button', { name: `Share ${FILE_NAME}` }).click();
    const panel = item.locator('.share-panel');
    check(await panel.isVisible(), '"Share…" opens the share form');
    const lifetimes = await panel.locator('.share-lifetime option').allTextContents();
    check(JSON.stringify(lifetimes) === JSON.stringify(['1 hour', '1 day', '7 days', 'Custom…']),
      'the lifetimes offered are 1 hour, 1 day, 7 days and custom', JSON.stringify(lifetimes));
    await panel.locator('.share-lifetime').selectOption('86400');
    await panel.locator('.share-password').fill(PASSWORD);
    await pageA.getByRole('button', { name: `Create share link for ${FILE_NAME}` }).click();
    await pageA.waitForFunction(() => /\/s\//.test(document.querySelector('.link-field')?.value || ''));
    const link = await item.locator('.link-field').inputValue();
    check(link.startsWith(server.urls.api + '/s/'), 'the lasting link is <api>/s/<token>', link);
    const status = await pageA.locator('#status').textContent();
    check(/copied\. It works until .*with the password you chose/.test(status),
      'the status says the link was copied, until when it works, and that it has a password', status);
    check(await pageA.evaluate(() => navigator.clipboard.readText()) === link, 'the clipboard holds the link');
    const expiry = await item.locator('.link-expiry').textContent();
    check(/^expires in (23 h 5\d min|1 d 0 h)$/.test(expiry), 'the link shows about a day left', expiry);
    check(errorsA.length === 0, 'no page errors or CSP violations for A', errorsA.join('\n'));

    // ---- person B: a fresh context, no storage, nothing shared with A ----
    const contextB = await browser.newContext({ locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
    const pageB = await contextB.newPage();
    const errorsB = [];
    watchErrors(pageB, errorsB);
    pageB.setDefaultTimeout(30_000);
    const opened = await pageB.goto(link);
    check(opened && opened.status() === 200, 'B opens the link and gets the recipient page');
    const headers = opened.headers();
    check(headers['referrer-policy'] === 'no-referrer' && headers['x-robots-tag'] === 'noindex'
      && headers['cache-control'] === 'no-store', 'the page is sent no-referrer, noindex, no-store', JSON.stringify(headers));
    check(await pageB.locator('#file-name').textContent() === FILE_NAME, 'B sees the file name');
    await pageB.waitForFunction(() => document.getElementById('file-size').textContent !== '');
    const size = await pageB.locator('#file-size').textContent();
    check(size.includes('123,457 bytes') || size.includes('123.5 KB'), 'B sees the file size', size);
    check(/This link works until/.test(await pageB.locator('#link-expiry').textContent()), 'B sees when the link expires');
    check(await pageB.locator('#password').isVisible(), 'B is asked for the password');

    await pageB.locator('#password').fill('open sesame 41');
    await pageB.getByRole('button', { name: 'Download' }).click();
    await pageB.waitForFunction(() => /not right/.test(document.getElementById('share-error').textContent));
    ok('a wrong password is refused in words');

    await pageB.locator('#password').fill(PASSWORD);
    const [download] = await Promise.all([
      pageB.waitForEvent('download'),
      pageB.getByRole('button', { name: 'Download' }).click(),
    ]);
    check(download.suggestedFilename() === FILE_NAME, 'the download keeps the file name', download.suggestedFilename());
    const saved = path.join(work, 'downloaded');
    await download.saveAs(saved);
    const got = await readFile(saved);
    check(got.length === FILE_BYTES && sha256(got) === sha256(bytes), 'B downloaded the same bytes');
    check(await contextB.storageState().then((s) => s.cookies.length === 0), 'B holds no cookies');
    check(errorsB.length === 0, 'no page errors or CSP violations for B', errorsB.join('\n'));

    // ---- an expired link says so in words ----
    const key = await pageA.evaluate(() => document.querySelector('.upload-item').dataset.key);
    const short = await (await fetch(server.urls.api + '/shares', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key, expiresIn: 1 }),
    })).json();
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const expiredPage = await contextB.newPage();
    const expiredResponse = await expiredPage.goto(short.url);
    check(expiredResponse.status() === 404, 'an expired link is 404');
    const said = await expiredPage.locator('#share-error').textContent();
    check(/expired/.test(said) && await expiredPage.locator('#file-card').isHidden(),
      'the expired link\'s page says in words that it has expired', said);

    // ---- a deleted file: the page says it is no longer available ----
    const plain = await (await fetch(server.urls.api + '/shares', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key }),
    })).json();
    const ticket = await (await fetch(`${server.urls.api}/files?key=${encodeURIComponent(key)}`, { method: 'DELETE' })).json();
    const deleted = await fetch(ticket.url, { method: 'DELETE' });
    check(deleted.status === 204, 'the file is deleted from the store');
    const gonePage = await contextB.newPage();
    await gonePage.goto(plain.url);
    await gonePage.waitForFunction(() => /no longer available/.test(document.getElementById('share-error').textContent));
    ok('a deleted file\'s link says in words that the file is no longer available');
    await contextA.close();
    await contextB.close();
    console.log('all share-link browser checks passed');
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
    await rm(work, { recursive: true, force: true });
  }
}

const timer = setTimeout(() => {
  console.error(`not ok - the test did not finish in ${TEST_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TEST_TIMEOUT_MS);
main().then(() => {
  clearTimeout(timer);
  process.exit(0);
}, (error) => {
  clearTimeout(timer);
  console.error(`not ok - ${error.message}`);
  process.exit(1);
});
