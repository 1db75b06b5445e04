// SPDX-License-Identifier: Apache-2.0
// Browser test of uploads in parts against the real `presign serve` (threshold lowered to 1 MiB):
// a part refused once with 500 and a part whose connection is reset twice are retried after the
// documented back-off (0, 1, 3 s...) and the upload completes with each part stored once; 7 parts
// go 4 in flight with their URLs signed in batches of at most 20; a CompleteMultipartUpload
// answered 200 OK with an <Error> in its body is an error (the file is not listed, the upload stays
// resumable); Complete carries the signed If-None-Match: *.
//
// usage: node multipart_retry.test.mjs <path to presign>   (or PRESIGN_BIN=<path>); CHROMIUM overrides /usr/bin/chromium.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, downloadSha256, logAfterComplete, plainUploads, runTest, startServer, stopServer, tapSteps } from './serve_helpers.mjs';

const MIB = 1 << 20;
const SIZE = 17 * MIB + 5;
const PARTS = 3;

const presignBinary = process.argv[2] || process.env.PRESIGN_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const { ok, check, passed } = tapSteps();

/** Successful UploadPart requests for `name` in the store's log ("PUT <key> 200"). */
function storedParts(log, name) {
  const encoded = name.replace(/ /g, '%20');
  return log.split('\n').filter((line) => /\bPUT\b/.test(line) && (line.includes(name) || line.includes(encoded))
    && /\b200\b/.test(line)).length;
}

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-browser-multipart-retry-'));
  let server = null;
  let browser = null;
  const pageErrors = [];
  try {
    server = await startServer(presignBinary, path.join(work, 'data'), ['--multipart-threshold', '1048576']);
    ok(`serve listening (api ${server.urls.api}, s3 ${server.urls.s3})`);
    const bytes = randomBytes(SIZE);
    const expected = createHash('sha256').update(bytes).digest('hex');
    const name = 'retried parts.bin';
    const file = path.join(work, name);
    await writeFile(file, bytes);

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    const context = await browser.newContext({ viewport: { width: 900, height: 820 }, locale: 'en-GB' });
    await plainUploads(context); // this test is about the parts, not the page's encryption
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (error) => pageErrors.push(String(error)));

    // The store, as the page meets it: part 2 refused once with 500, part 3's connection reset
    // twice; every attempt counted with its time. Complete requests are recorded, and the second
    // file's Complete gets 200 OK with an <Error> body.
    const attempts = new Map(); // part number -> [ms]
    const completes = [];
    let fakeCompleteError = false;
    // Parts in flight at once (slowed down while `slowParts`), and the part numbers each
    // POST /uploads/parts asks to sign.
    let slowParts = false;
    let inFlight = 0;
    let mostInFlight = 0;
    const signBatches = [];
    const isPartPut = (request) => request.method() === 'PUT' && new URL(request.url()).searchParams.has('partNumber');
    const partDone = (request) => { if (isPartPut(request)) inFlight -= 1; };
    context.on('requestfinished', partDone);
    context.on('requestfailed', partDone);
    context.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/uploads/parts') {
        signBatches.push(JSON.parse(request.postData() || '{}').partNumbers || []);
      }
    });
    await context.route(`${server.urls.s3}/**`, async (route) => {
      const request = route.request();
      const url = new URL(request.url());
      if (isPartPut(request)) {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        if (slowParts) await new Promise((done) => { setTimeout(done, 400); });
      }
      if (request.method() === 'PUT' && url.searchParams.has('partNumber')) {
        const n = Number(url.searchParams.get('partNumber'));
        const times = attempts.get(n) || [];
        times.push(Date.now());
        attempts.set(n, times);
        if (n === 2 && times.length === 1) {
          await route.fulfill({ status: 500, contentType: 'application/xml',
            headers: { 'Access-Control-Allow-Origin': server.urls.api },
            body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>' });
          return;
        }
        if (n === 3 && times.length <= 2) {
          await route.abort('connectionreset');
          return;
        }
      }
      if (request.method() === 'POST' && url.searchParams.has('uploadId')) {
        completes.push(await request.allHeaders());
        if (fakeCompleteError) {
          await route.fulfill({ status: 200, contentType: 'application/xml',
            headers: { 'Access-Control-Allow-Origin': server.urls.api },
            body: '<?xml version="1.0" encoding="UTF-8"?>\n\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>' });
          return;
        }
      }
      await route.continue();
    });
    await page.goto(server.urls.api + '/');

    // ---- failed parts are retried after the back-off, and the upload completes ----------------
    await page.setInputFiles('#file-input', file);
    await page.locator('.upload-item', { hasText: name }).waitFor({ timeout: 120_000 });
    check(attempts.get(1)?.length === 1, 'part 1: one attempt', String(attempts.get(1)?.length));
    check(attempts.get(2)?.length === 2, 'part 2, refused once with 500: retried once', String(attempts.get(2)?.length));
    check(attempts.get(3)?.length === 3, 'part 3, reset twice: retried twice', String(attempts.get(3)?.length));
    const [, second, third] = attempts.get(3);
    // The second retry waits the documented 1 s (the first waits 0 s).
    check(third - second >= 900, 'the back-off before the second retry is about a second', `${third - second} ms`);
    const afterRetries = await logAfterComplete(server, name);
    check(storedParts(afterRetries, name) === PARTS, 'the store holds every part once', String(storedParts(afterRetries, name)));
    check(completes.length === 1 && completes[0]['if-none-match'] === '*',
      'Complete carries the signed If-None-Match: * (never overwrites an object)', JSON.stringify(completes[0] || {}));
    const key = await page.evaluate((fileName) => JSON.parse(localStorage.getItem('presign.uploads.v1'))
      .find((e) => e.name === fileName).key, name);
    check(await downloadSha256(server.urls.api, key) === expected, 'the download equals the upload (SHA-256)');

    // ---- 4 parts in flight, URLs signed in batches just before use ----------------------------
    slowParts = true;
    mostInFlight = 0;
    signBatches.length = 0;
    const many = 'seven parts.bin';
    const manyBytes = randomBytes(48 * MIB + 1);
    await writeFile(path.join(work, many), manyBytes);
    await page.setInputFiles('#file-input', path.join(work, many));
    await page.locator('.upload-item', { hasText: many }).waitFor({ timeout: 120_000 });
    slowParts = false;
    check(mostInFlight === 4, 'parts go 4 in flight', String(mostInFlight));
    check(signBatches.length >= 1 && signBatches.every((batch) => batch.length >= 1 && batch.length <= 20)
      && new Set(signBatches.flat()).size === 7, 'part URLs are signed in batches of at most 20, every part once',
    JSON.stringify(signBatches));
    check(storedParts(await logAfterComplete(server, many), many) === 7, 'the store holds the 7 parts once');

    // ---- 200 OK with an <Error> from Complete is an error -------------------------------------
    fakeCompleteError = true;
    const other = 'complete answered with an error.bin';
    await writeFile(path.join(work, other), bytes);
    await page.setInputFiles('#file-input', path.join(work, other));
    await page.locator('#error-text').filter({ hasText: /\S/ }).waitFor({ timeout: 120_000 });
    const errorText = await page.locator('#error-text').textContent();
    check(/internal problem/i.test(errorText), 'a 200 OK whose body is an <Error> is shown as the storage\'s error', errorText);
    check(await page.locator('.upload-item', { hasText: other }).count() === 0, 'the file is not listed as uploaded');
    check(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('presign.multipart.v1:')
      && k.includes('complete answered')).length) === 1, 'the upload is kept to resume (plan and upload id in localStorage)');
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

runTest(main, { name: 'browser multipart retry test', timeoutMs: 200_000, passed });
