// SPDX-License-Identifier: Apache-2.0
// Browser test of large files in parts against the real `presign serve`: a 200 MiB file goes up in
// parts with one progress bar; the page is reloaded at about half, the same file picked again, and
// only the missing parts are sent (counted in the store's log: every part stored once); the
// download equals the upload. Pause stops the traffic and Resume finishes; Cancel aborts in the store.
//
// usage: node multipart.test.mjs <path to presign>   (or PRESIGN_BIN=<path>); CHROMIUM overrides /usr/bin/chromium.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, downloadSha256, logAfterComplete, plainUploads, startServer, stopServer, writeRandomFile } from './serve_helpers.mjs';

const MIB = 1 << 20;
const SIZE = 200 * MIB + 4321;
const PARTS = Math.ceil(SIZE / (8 * MIB));
const TEST_TIMEOUT_MS = 400_000;

const presignBinary = process.argv[2] || process.env.PRESIGN_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  ok(what);
}
const sleep = (ms) => new Promise((done) => { setTimeout(done, ms); });

/** Successful UploadPart requests in the store's log (a part PUT is logged as "PUT <key> 200"). */
function storedPartLines(log, name) {
  return log.split('\n').filter((line) => /\bPUT\b/.test(line) && line.includes(name) && /\b200\b/.test(line));
}

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-browser-multipart-'));
  let server = null;
  let browser = null;
  const pageErrors = [];
  try {
    server = await startServer(presignBinary, path.join(work, 'data'));
    ok(`serve listening (api ${server.urls.api}, s3 ${server.urls.s3})`);
    const name = 'holiday video.bin';
    const file = path.join(work, name);
    const expected = await writeRandomFile(file, SIZE);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    const context = await browser.newContext({ viewport: { width: 900, height: 820 }, locale: 'en-GB' });
    await plainUploads(context);
    const page = await context.newPage();
    page.setDefaultTimeout(120_000);
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    // Parts slowed down (the loopback is too fast to reload at half otherwise).
    await context.route(`${server.urls.s3}/**`, async (route) => {
      if (route.request().method() === 'PUT') await sleep(400);
      await route.continue();
    });
    await page.goto(server.urls.api + '/');

    // ---- first visit: about half the parts, then a reload ------------------------------------
    await page.setInputFiles('#file-input', file);
    await page.waitForFunction(() => Number(document.getElementById('progress').value) >= 45);
    check(await page.locator('#pause-button').isVisible(), 'a Pause button shows during an upload in parts');
    check(/\/s/.test(await page.locator('#speed-text').textContent()), 'speed and time left are shown',
      await page.locator('#speed-text').textContent());
    const saved = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('presign.multipart.v1:')));
    check(saved.length === 1, 'the plan and upload id are kept in localStorage', JSON.stringify(saved));
    const savedValue = await page.evaluate((k) => localStorage.getItem(k), saved[0]);
    check(/"uploadId"/.test(savedValue) && savedValue.length < 4096, 'what is kept is the plan, not the file');
    await page.reload();
    const beforeResume = storedPartLines(server.log(), encodeURIComponent(name).replace(/%20/g, ' ')).length
      || storedPartLines(server.log(), name.replace(/ /g, '%20')).length;

    // ---- second visit: the same file again; only the missing parts go -------------------------
    await page.setInputFiles('#file-input', file);
    await page.locator('.upload-item', { hasText: name }).waitFor({ timeout: 300_000 });
    const log = await logAfterComplete(server, name);
    const stored = storedPartLines(log, name).length || storedPartLines(log, name.replace(/ /g, '%20')).length;
    console.log(`parts stored before the reload: ${beforeResume}, in all: ${stored} of ${PARTS}`);
    check(beforeResume > 0 && beforeResume < PARTS, 'the reload came in the middle of the upload', String(beforeResume));
    check(stored === PARTS, 'every part was stored exactly once: only the missing parts were sent after the reload',
      `${stored} part PUTs for ${PARTS} parts`);
    check(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('presign.multipart.v1:')).length) === 0,
      'a completed upload is forgotten');
    const key = await page.evaluate(() => JSON.parse(localStorage.getItem('presign.uploads.v1')).find((e) => e.size > 1e8).key);
    check(await downloadSha256(server.urls.api, key) === expected, 'the download equals the upload (SHA-256)');

    // ---- Pause, Resume, then Cancel aborts the upload in the store ----------------------------
    await page.setInputFiles('#file-input', file);
    await page.waitForFunction(() => Number(document.getElementById('progress').value) >= 5);
    await page.locator('#pause-button').click();
    check((await page.locator('#pause-button').textContent()) === 'Resume', 'Pause turns into Resume');
    const pausedAt = await page.locator('#progress').evaluate((p) => p.value);
    await sleep(1500);
    check(await page.locator('#progress').evaluate((p) => p.value) <= pausedAt, 'nothing is sent while paused');
    await page.locator('#pause-button').click();
    await page.waitForFunction((at) => Number(document.getElementById('progress').value) > at, pausedAt);
    ok('Resume continues the upload');
    await page.locator('#cancel-button').click();
    await page.waitForFunction(() => /cancelled/i.test(document.getElementById('status').textContent));
    await sleep(500);
    check(/\bDELETE\b.*\b204\b/.test(server.log()), 'Cancel aborts the upload in the store (DELETE 204 in its log)');
    check(pageErrors.length === 0, 'no page errors', pageErrors.join('\n'));
  } catch (error) {
    if (server) console.error(`--- serve output ---\n${server.log().slice(-4000)}`);
    throw error;
  } finally {
    if (browser) await browser.close();
    await stopServer(server);
    await rm(work, { recursive: true, force: true });
  }
}

const timer = setTimeout(() => {
  console.error('browser multipart test: timed out');
  process.exit(1);
}, TEST_TIMEOUT_MS);
main().then(() => {
  clearTimeout(timer);
  console.log(`browser multipart test: ${step} passed, 0 failed`);
}, (error) => {
  clearTimeout(timer);
  console.error(`not ok - ${error.stack || error}`);
  console.log(`browser multipart test: ${step} passed, 1 failed`);
  process.exit(1);
});
