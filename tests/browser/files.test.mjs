// SPDX-License-Identifier: Apache-2.0
// Browser test of "Your files" against the real `presign serve`: files uploaded in one browser
// context are listed by a second context with no storage (the list comes from the store, not from
// localStorage), sorted newest first and merged with an upload in progress; a file is downloaded,
// deleted after a confirmation, and the first context's list follows; a failed listing is said in
// words; 1,200 more files are listed (all pages) and the time it takes is printed.
//
// usage: node files.test.mjs <path to presign>   (or PRESIGN_BIN=<path>); CHROMIUM overrides /usr/bin/chromium.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, pageWatcher, plainUploads, runTest, startServer, stopServer } from './serve_helpers.mjs';

const NAMES = ['first a+b 100%.txt', 'second été ☃.txt', 'third & last.txt'];
const BULK_FILES = 1200;
const TEST_TIMEOUT_MS = 180_000;

const presignBinary = process.argv[2] || process.env.PRESIGN_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  ok(what);
}
const sleep = (ms) => new Promise((done) => { setTimeout(done, ms); });

/** Names shown in the list, top to bottom (stored files only, not uploads in progress). */
const listedNames = (page) => page.locator('.upload-item .item-name').allTextContents();

/** Uploads `count` small files through the API, as the page does, `parallel` at a time. */
async function uploadMany(api, count, parallel = 8) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const name = `bulk ${String(next++).padStart(4, '0')}.txt`;
      const body = Buffer.from(name);
      const ticketResponse = await fetch(`${api}/uploads`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ filename: name, contentType: 'text/plain', size: body.length }),
      });
      const ticket = await ticketResponse.json();
      const headers = Object.fromEntries(Object.entries(ticket.headers).filter(([n]) => n.toLowerCase() !== 'content-length'));
      const put = await fetch(ticket.url, { method: 'PUT', headers, body });
      if (put.status !== 200) throw new Error(`bulk upload ${name}: ${put.status}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-browser-files-'));
  let server = null;
  let browser = null;
  const pageErrors = [];
  const watch = pageWatcher(pageErrors, 30_000);
  try {
    server = await startServer(presignBinary, path.join(work, 'data'));
    ok(`serve listening (api ${server.urls.api}, s3 ${server.urls.s3})`);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    const first = await browser.newContext({ viewport: { width: 900, height: 820 }, locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
    await plainUploads(first);
    const pageA = watch(await first.newPage());
    await pageA.goto(server.urls.api + '/');
    await pageA.waitForFunction(() => !document.getElementById('refresh-button').disabled);
    check(await pageA.locator('#empty-note').isVisible(), 'an empty store: the page says where files will appear');

    // Three uploads a second apart (the store's dates have whole seconds), so newest first is testable.
    const files = [];
    for (const [i, name] of NAMES.entries()) {
      const file = path.join(work, name);
      const bytes = randomBytes(1000 + i);
      await writeFile(file, bytes);
      files.push({ name, bytes });
      await pageA.setInputFiles('#file-input', file);
      await pageA.locator('.upload-item', { hasText: name }).waitFor();
      if (i + 1 < NAMES.length) await sleep(1100);
    }
    check((await listedNames(pageA)).length === 3, 'the first context lists its three uploads');

    // A second context, with no storage at all: the list comes from the store.
    const second = await browser.newContext({ viewport: { width: 900, height: 820 }, locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
    await second.addInitScript(() => { window.storedAtStart = localStorage.length; });
    const pageB = watch(await second.newPage());
    await pageB.goto(server.urls.api + '/');
    check(await pageB.evaluate(() => window.storedAtStart) === 0, 'the second context starts with empty storage');
    await pageB.waitForFunction(() => document.querySelectorAll('.upload-item').length === 3);
    check(JSON.stringify(await listedNames(pageB)) === JSON.stringify([...NAMES].reverse()),
      'the second context sees the same three files, newest first', JSON.stringify(await listedNames(pageB)));
    const thirdRow = pageB.locator('.upload-item', { hasText: NAMES[2] });
    check(/^1,002 bytes|^1\.0 KB/.test(await thirdRow.locator('.item-meta').textContent()),
      'each file shows its size and date', await thirdRow.locator('.item-meta').textContent());
    check(/3 files in storage/.test(await pageB.locator('#files-status').textContent()),
      'the page says how many files are stored', await pageB.locator('#files-status').textContent());
    const cached = await pageB.evaluate(() => JSON.parse(localStorage.getItem('presign.uploads.v1')));
    check(Array.isArray(cached) && cached.length === 3, 'the listing is cached in localStorage', JSON.stringify(cached));

    // Download from the second context: the same bytes, under the file's name.
    const [download] = await Promise.all([
      pageB.waitForEvent('download'),
      pageB.getByRole('button', { name: `Download ${NAMES[1]}` }).click(),
    ]);
    const saved = await readFile(await download.path());
    check(download.suggestedFilename() === NAMES[1] && saved.equals(files[1].bytes),
      'Download saves the file with its name and bytes', download.suggestedFilename());

    // An upload in progress is listed above the stored files until it is done.
    const slowFile = path.join(work, 'slow upload.txt');
    await writeFile(slowFile, 'slow\n');
    await pageB.route(`${server.urls.s3}/**`, async (route) => {
      if (route.request().method() === 'PUT') await sleep(1500);
      await route.continue();
    });
    await pageB.locator('#encrypt-toggle').uncheck(); // this context starts with empty storage: the plain flow, chosen
    await pageB.setInputFiles('#file-input', slowFile);
    await pageB.locator('.pending-item', { hasText: 'slow upload.txt' }).waitFor();
    check(/Uploading…/.test(await pageB.locator('.pending-item').textContent()) && (await listedNames(pageB)).length === 3,
      'an upload in progress is shown with the stored files');
    await pageB.locator('.upload-item', { hasText: 'slow upload.txt' }).waitFor();
    await pageB.unroute(`${server.urls.s3}/**`);
    check(await pageB.locator('.pending-item').count() === 0 && (await listedNames(pageB))[0] === 'slow upload.txt',
      'once stored it joins the list at the top');

    // Delete, with a confirmation that can be declined.
    const doomed = NAMES[0];
    const doomedRow = pageB.locator('.upload-item', { hasText: doomed });
    await pageB.getByRole('button', { name: `Delete ${doomed}` }).click();
    check(await doomedRow.locator('.item-confirm').isVisible()
      && /Delete “first a\+b 100%\.txt”\? Its share links stop working\./.test(await doomedRow.locator('.item-confirm').textContent()),
    'Delete asks for confirmation in the row');
    await pageB.getByRole('button', { name: `Keep ${doomed}` }).click();
    check(await doomedRow.locator('.item-confirm').isHidden() && await doomedRow.count() === 1, '"Keep" keeps the file');
    await pageB.getByRole('button', { name: `Delete ${doomed}` }).click();
    await pageB.getByRole('button', { name: `Yes, delete ${doomed}` }).click();
    await doomedRow.waitFor({ state: 'detached' });
    check(/Deleted “first a\+b 100%\.txt”\./.test(await pageB.locator('#status').textContent()),
      'the deleted file leaves the list and the status says so', await pageB.locator('#status').textContent());
    check(!(await pageB.evaluate(() => localStorage.getItem('presign.uploads.v1'))).includes('first a+b'),
      'the cached copy forgets it too');

    // The first context's list follows on Refresh (and on a reload).
    await pageA.getByRole('button', { name: 'Refresh' }).click();
    await pageA.waitForFunction(() => document.querySelectorAll('.upload-item').length === 3
      && !document.getElementById('refresh-button').disabled);
    const afterDelete = await listedNames(pageA);
    check(!afterDelete.includes(doomed) && afterDelete.includes('slow upload.txt'),
      'the first context\'s list updates: the deleted file is gone, the new one is there', JSON.stringify(afterDelete));

    // A storage failure while listing is said in words; the cached copy stays, marked as such.
    await pageA.route(`${server.urls.s3}/**`, (route) => (route.request().method() === 'GET'
      ? route.fulfill({ status: 503, contentType: 'application/xml',
        body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>' })
      : route.continue()));
    await pageA.getByRole('button', { name: 'Refresh' }).click();
    await pageA.locator('#files-error').waitFor({ state: 'visible' });
    check(await pageA.locator('#files-error-text').textContent() === 'The storage is busy. Wait a moment and try again.'
      && /SlowDown \(HTTP 503\)/.test(await pageA.locator('#files-error-detail').textContent()),
    'a failed listing is explained in words', await pageA.locator('#files-error').innerText());
    check((await listedNames(pageA)).length === 3 && /copy from an earlier visit/.test(await pageA.locator('#files-status').textContent()),
      'the cached list stays visible, marked as possibly out of date');
    await pageA.unroute(`${server.urls.s3}/**`);

    // 1,200 more files: every page is read; the time the listing takes in the page is measured.
    const bulkStarted = Date.now();
    await uploadMany(server.urls.api, BULK_FILES);
    ok(`${BULK_FILES} more files uploaded through the API in ${((Date.now() - bulkStarted) / 1000).toFixed(1)} s`);
    const timings = [];
    for (let run = 0; run < 3; run += 1) {
      await pageB.getByRole('button', { name: 'Refresh' }).click();
      await pageB.waitForFunction((n) => document.querySelectorAll('.upload-item').length === n
        && !document.getElementById('refresh-button').disabled, BULK_FILES + 3, { timeout: 60_000 });
      timings.push(await pageB.evaluate(() => [performance.getEntriesByName('presign:list-files').at(-1).duration,
        performance.getEntriesByName('presign:list-fetch').at(-1).duration]));
    }
    check(/1,203 files in storage/.test(await pageB.locator('#files-status').textContent()),
      `all ${BULK_FILES + 3} files are listed across two pages`, await pageB.locator('#files-status').textContent());
    const sorted = [...timings].sort((a, b) => a[0] - b[0]);
    console.log(`# listing ${BULK_FILES + 3} files in the page (2 API calls, 2 ListObjectsV2 pages, parse, render): `
      + `median ${sorted[1][0].toFixed(0)} ms, of which fetching and parsing ${sorted[1][1].toFixed(0)} ms `
      + `(runs: ${timings.map(([all, fetched]) => `${all.toFixed(0)}/${fetched.toFixed(0)}`).join(', ')} ms)`);
    const fresh = watch(await (await browser.newContext()).newPage());
    const loadStarted = Date.now();
    await fresh.goto(server.urls.api + '/');
    await fresh.waitForFunction((n) => document.querySelectorAll('.upload-item').length === n, BULK_FILES + 3, { timeout: 60_000 });
    console.log(`# a fresh context from navigation to ${BULK_FILES + 3} rows: ${Date.now() - loadStarted} ms`);
    ok('a fresh context lists them all on load');
    check(pageErrors.length === 0, 'the pages logged no script or CSP error', pageErrors.join('\n'));
  } catch (error) {
    if (server) console.error(`--- serve output (tail) ---\n${server.log().slice(-4000)}`);
    throw error;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
    await rm(work, { recursive: true, force: true });
  }
}

runTest(main, { name: 'browser files test', timeoutMs: TEST_TIMEOUT_MS, passed: () => step });
