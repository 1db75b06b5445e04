// SPDX-License-Identifier: Apache-2.0
// Browser test of the web page against the real `presign serve`: headless Debian Chromium driven by
// playwright-core uploads a file through the page, copies the share link, and the bytes behind that
// link must be the bytes uploaded. Also checks that a too-large file is refused in words.
//
// usage: node upload.test.mjs <path to presign> [--screenshot <png>]
//        (or PRESIGN_BIN=<path>); CHROMIUM=<path> overrides /usr/bin/chromium.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, plainUploads, runTest, startServer as startServerOf, stopServer } from './serve_helpers.mjs';

const MiB = 1024 * 1024;
const MAX_UPLOAD_BYTES = 4 * MiB;
const GOOD_FILE_NAME = 'Résumé & notes 2026.pdf';
const GOOD_FILE_BYTES = 3 * MiB + 12345;
const BIG_FILE_NAME = 'too-big.bin';
const SMALL_FILE_NAME = 'notes.txt';
const BIG_FILE_BYTES = MAX_UPLOAD_BYTES + MiB;
const SHORT_LINK_SECONDS = 3;
const TEST_TIMEOUT_MS = 150_000;

const args = process.argv.slice(2);
const screenshotIndex = args.indexOf('--screenshot');
const screenshotPath = screenshotIndex >= 0 ? path.resolve(args[screenshotIndex + 1]) : null;
if (screenshotIndex >= 0) args.splice(screenshotIndex, 2);
const presignBinary = args[0] || process.env.PRESIGN_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  ok(what);
}

const startServer = (dataDir, extraArgs = []) => startServerOf(presignBinary, dataDir, extraArgs);

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-browser-'));
  let server = null;
  let shortServer = null;
  let context = null;
  try {
    const goodFile = path.join(work, GOOD_FILE_NAME);
    const goodBytes = randomBytes(GOOD_FILE_BYTES);
    await writeFile(goodFile, goodBytes);
    const bigFile = path.join(work, BIG_FILE_NAME);
    await writeFile(bigFile, randomBytes(BIG_FILE_BYTES));

    server = await startServer(path.join(work, 'data'), ['--max-upload-bytes', String(MAX_UPLOAD_BYTES)]);
    ok(`serve listening (api ${server.urls.api}, s3 ${server.urls.s3})`);

    context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      viewport: { width: 900, height: 820 },
      deviceScaleFactor: screenshotPath ? 2 : 1,
      colorScheme: 'light',
      locale: 'en-GB',
      timezoneId: 'UTC',
    });
    await plainUploads(context);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.urls.api });
    const page = context.pages()[0] || await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    // Console errors catch Content-Security-Policy violations; a refused request's own log line is expected.
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
    });
    page.setDefaultTimeout(30_000);

    const response = await page.goto(server.urls.api + '/');
    check(response && response.status() === 200, 'the API serves the page at /', String(response && response.status()));
    check(await page.title() === 'presign · share a file', 'the page has its title', await page.title());
    check((await page.locator('#api-current').textContent()).startsWith(server.urls.api),
      'the page uses its own origin as the API by default');

    await page.keyboard.press('Tab'); // the skip link
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'file-input',
      'the file picker is reachable with the keyboard');

    // The upload, through the file input as a person picking a file does.
    await page.setInputFiles('#file-input', goodFile);
    await page.waitForFunction(() => document.getElementById('progress').value === 100
      && document.getElementById('progress-text').textContent === '100 %');
    ok('the progress bar reached 100 %');
    await page.waitForFunction(() => document.querySelector('.upload-item') || !document.getElementById('error').hidden);
    check(await page.locator('#error').isHidden(), 'no error is shown', await page.locator('#error').innerText());
    check(await page.locator('.upload-item', { hasText: GOOD_FILE_NAME }).count() === 1, 'the upload is listed');
    check(/Uploaded “Résumé & notes 2026\.pdf”/.test(await page.locator('#status').textContent()),
      'the status line says the file was uploaded');
    check(/\d+(\.\d+)? MB\/s|Done/.test(await page.locator('#speed-text').textContent()), 'a speed or "Done" is shown');
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('presign.uploads.v1')));
    check(Array.isArray(stored) && stored.length === 1 && stored[0].name === GOOD_FILE_NAME
      && stored[0].size === GOOD_FILE_BYTES && typeof stored[0].key === 'string' && stored[0].key.length > 0,
      'the upload is kept in localStorage (name, size, key, time)', JSON.stringify(stored));

    // Copy the share link.
    await page.getByRole('button', { name: `Copy share link for ${GOOD_FILE_NAME}` }).click();
    const field = page.locator('.upload-item', { hasText: GOOD_FILE_NAME }).locator('.link-field');
    await page.waitForFunction(() => /^https?:\/\//.test(document.querySelector('.link-field')?.value || ''));
    const link = await field.inputValue();
    check(link.startsWith(server.urls.s3 + '/'), 'the share link points at the S3 endpoint', link);
    check(/copied/.test(await page.locator('#status').textContent()), 'the status line says the link was copied',
      await page.locator('#status').textContent());
    check(await page.locator('#transfer').isHidden(), 'the finished upload\'s progress panel is collapsed by the next action');
    check(/opens only on this computer: the storage is at 127\.0\.0\.1:\d+, a loopback address .*--host/
      .test(await page.locator('#status').textContent()),
    'a link to a loopback store says it opens only on this computer, and how to share on a network',
    await page.locator('#status').textContent());
    const clipboard = await page.evaluate(() => navigator.clipboard.readText());
    check(clipboard === link, 'the clipboard holds the share link', clipboard);
    const expiry = page.locator('.upload-item', { hasText: GOOD_FILE_NAME }).locator('.link-expiry');
    const expiryText = await expiry.textContent();
    check(/^expires in \d+:\d\d$/.test(expiryText), 'the link shows its remaining lifetime', expiryText);
    await page.waitForFunction((before) => document.querySelector('.link-expiry').textContent !== before,
      expiryText, { timeout: 5_000 });
    ok('the remaining lifetime counts down');

    if (screenshotPath) {
      await page.locator('#settings').evaluate((details) => { details.open = false; });
      await page.mouse.move(0, 0);
      await page.screenshot({ path: screenshotPath, fullPage: true });
      ok(`screenshot saved to ${screenshotPath}`);
    }

    // The link works for anyone: download it outside the browser and compare the bytes.
    const download = await fetch(link);
    check(download.status === 200, 'the share link downloads', String(download.status));
    const downloaded = Buffer.from(await download.arrayBuffer());
    check(downloaded.length === GOOD_FILE_BYTES && sha256(downloaded) === sha256(goodBytes),
      'the downloaded bytes have the uploaded SHA-256', `${downloaded.length} bytes`);
    check(/^attachment/i.test(download.headers.get('content-disposition') || ''),
      'the download is served as an attachment', download.headers.get('content-disposition'));

    // The list survives a reload, and a fresh link can be copied from the rebuilt list.
    await page.reload();
    await page.getByRole('button', { name: `Copy share link for ${GOOD_FILE_NAME}` }).click();
    await page.waitForFunction(() => /^https?:\/\//.test(document.querySelector('.link-field')?.value || ''));
    check(await page.locator('.upload-item').count() === 1, 'the list survives a reload and still makes links');

    // ?api= points the page at another API (here the same one, spelled with a trailing slash).
    await page.goto(`${server.urls.api}/?api=${encodeURIComponent(server.urls.api + '/')}`);
    check(await page.locator('#api-current').textContent() === `${server.urls.api} (from the page address)`,
      'the ?api= parameter sets the API address', await page.locator('#api-current').textContent());

    // Saving an invalid API address shows an error; "Use this server" then clears it.
    await page.locator('#settings').evaluate((details) => { details.open = true; });
    await page.fill('#api-base', 'not a url');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#error').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Use this server' }).click();
    check(await page.locator('#error').isHidden(), '"Use this server" clears the invalid-address error');
    await page.goto(`${server.urls.api}/?api=${encodeURIComponent(server.urls.api + '/')}`);

    // An error path: a file over --max-upload-bytes is refused in words, and nothing is listed.
    await page.setInputFiles('#file-input', bigFile);
    await page.locator('#error').waitFor({ state: 'visible' });
    const errorText = await page.locator('#error-text').textContent();
    check(/^“too-big\.bin” is too large to share here \(5\.2 MB\)\. (The limit is 4\.2 MB\.|Try a smaller file\.)$/.test(errorText),
      'a too-large file is refused in words', errorText);
    check(/too_large \(HTTP 413\)/.test(await page.locator('#error-detail').textContent()),
      'the details name the API error code', await page.locator('#error-detail').textContent());
    check(await page.locator('.upload-item').count() === 1, 'the refused file is not listed');

    // Refusals by the store, in words: bytes sent with another content type than the signed one
    // (the real store answers SignatureDoesNotMatch), and an upload link that expired on the way.
    const smallFile = path.join(work, SMALL_FILE_NAME);
    await writeFile(smallFile, randomBytes(1000));
    const storeUrls = `${server.urls.s3}/**`;
    await page.route(storeUrls, (route) => (route.request().method() === 'PUT'
      ? route.continue({ headers: { ...route.request().headers(), 'content-type': 'text/x-tampered' } })
      : route.continue()));
    await page.setInputFiles('#file-input', smallFile);
    await page.waitForFunction(() => /SignatureDoesNotMatch/.test(document.getElementById('error-detail').textContent));
    check((await page.locator('#error-text').textContent()).startsWith(
      `The storage refused “${SMALL_FILE_NAME}”: the upload did not match what the server signed`),
    'a tampered upload is refused in words', await page.locator('#error').innerText());
    await page.unroute(storeUrls);
    check(await page.locator('.upload-item').count() === 1, 'refused uploads are not listed');

    // Expiry, for real: a second serve whose links live three seconds (and that takes text files
    // only). An upload held back for longer is refused by the store (AccessDenied, "Request has
    // expired"); a share link's countdown ends in "expired" and the link no longer downloads.
    shortServer = await startServer(path.join(work, 'data-short'),
      ['--expires', String(SHORT_LINK_SECONDS), '--allowed-content-types', 'text/*']);
    ok(`serve with ${SHORT_LINK_SECONDS} s links listening (api ${shortServer.urls.api})`);
    await page.goto(shortServer.urls.api + '/');
    // This serve takes text files only: anything else is refused in words (415).
    await page.setInputFiles('#file-input', { name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: randomBytes(100) });
    await page.locator('#error').waitFor({ state: 'visible' });
    check(await page.locator('#error-text').textContent()
      === 'Files of this type (application/x-msdownload) can’t be shared here. Allowed types: text/*.',
    'a type the server does not take is refused in words, naming the allowed types', await page.locator('#error').innerText());
    check(/content_type_not_allowed \(HTTP 415\)/.test(await page.locator('#error-detail').textContent()),
      'the details name the 415 error code', await page.locator('#error-detail').textContent());

    const shortStoreUrls = `${shortServer.urls.s3}/**`;
    let heldBack = 0;
    await page.route(shortStoreUrls, async (route) => {
      if (route.request().method() === 'PUT' && heldBack++ === 0) await new Promise((done) => { setTimeout(done, (SHORT_LINK_SECONDS + 2) * 1000); });
      await route.continue();
    });
    await page.setInputFiles('#file-input', smallFile);
    await page.waitForFunction(() => /AccessDenied/.test(document.getElementById('error-detail').textContent));
    check(await page.locator('#error-text').textContent()
      === `The upload link for “${SMALL_FILE_NAME}” expired before the upload finished. Try again.`,
    'an upload link that expired on the way is reported as expired', await page.locator('#error').innerText());
    // This time by drag and drop, as from a file manager.
    const dropped = await page.evaluateHandle((name) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped on the page\n'], name, { type: 'text/plain' }));
      return transfer;
    }, SMALL_FILE_NAME);
    await page.dispatchEvent('#drop-zone', 'dragenter', { dataTransfer: dropped });
    check(await page.locator('#drop-zone').getAttribute('data-state') === 'drag', 'the drop zone lights up while dragging');
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dropped });
    await page.locator('.upload-item', { hasText: SMALL_FILE_NAME }).waitFor();
    await page.unroute(shortStoreUrls);
    ok('a dropped file uploads when sent in time');
    check(await page.locator('#speed-text').textContent() === 'Done',
      'a tiny upload says "Done" without a rate', await page.locator('#speed-text').textContent());
    await page.getByRole('button', { name: `Copy share link for ${SMALL_FILE_NAME}` }).click();
    await page.waitForFunction(() => /^https?:\/\//.test(document.querySelector('.link-field')?.value || ''));
    const shortLink = await page.locator('.link-field').inputValue();
    check(/works for 3 seconds\./.test(await page.locator('#status').textContent()), 'the status line gives the link\'s lifetime',
      await page.locator('#status').textContent());
    await page.waitForFunction(() => document.querySelector('.link-expiry').textContent === 'expired', null, { timeout: (SHORT_LINK_SECONDS + 3) * 1000 });
    ok('the countdown ends in "expired"');
    await page.waitForFunction(() => /has expired/.test(document.getElementById('status').textContent), null, { timeout: 3_000 });
    check(await page.locator('#status').textContent()
      === `The share link for “${SMALL_FILE_NAME}” has expired. “Copy share link” makes a fresh one.`,
    'the status line says the link expired and how to get a fresh one', await page.locator('#status').textContent());
    await new Promise((done) => { setTimeout(done, 1_000); }); // past the store's whole-second clock
    const expiredDownload = await fetch(shortLink);
    const expiredBody = await expiredDownload.text();
    check(expiredDownload.status === 403 && /<Code>AccessDenied<\/Code>/.test(expiredBody) && /expired/i.test(expiredBody),
      'the expired link is refused by the store (403 AccessDenied, expired)', `${expiredDownload.status} ${expiredBody}`);

    // CORS: the first serve allows only its own origin, so this page (the second serve's origin)
    // is refused on preflight; the page names its origin. A port nobody listens on is unreachable.
    await page.goto(`${shortServer.urls.api}/?api=${encodeURIComponent(server.urls.api)}`);
    // A ?api= on another origin is used only once the person confirms it (issue 16).
    await page.click('#foreign-api-use');
    await page.waitForLoadState('load');
    await page.setInputFiles('#file-input', smallFile);
    await page.locator('#error').waitFor({ state: 'visible' });
    check(await page.locator('#error-text').textContent()
      === `The server at ${new URL(server.urls.api).host} does not allow this page’s origin, ${shortServer.urls.api}. `
        + `Add ${shortServer.urls.api} to the origins it allows (presign serve --allowed-origins, or AllowedOrigin on AWS).`,
    'a CORS refusal names the origin to allow', await page.locator('#error-text').textContent());
    const unreachable = await (async () => {
      const probe = await startServer(path.join(work, 'data-gone'));
      await stopServer(probe);
      return probe.urls.api;
    })();
    await page.goto(`${shortServer.urls.api}/?api=${encodeURIComponent(unreachable)}`);
    await page.click('#foreign-api-use');
    await page.waitForLoadState('load');
    await page.setInputFiles('#file-input', smallFile);
    await page.locator('#error').waitFor({ state: 'visible' });
    check((await page.locator('#error-text').textContent()).startsWith('Could not reach the server at '),
      'an unreachable server is reported as unreachable, not as CORS', await page.locator('#error-text').textContent());
    check(pageErrors.filter((e) => !/CORS|Access-Control|ERR_CONNECTION_REFUSED/.test(e)).length === 0,
      'the page logged no script or CSP error', pageErrors.join('\n'));
  } catch (error) {
    if (server) console.error(`--- serve output ---\n${server.log()}`);
    if (shortServer) console.error(`--- serve --expires output ---\n${shortServer.log()}`);
    throw error;
  } finally {
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    await stopServer(shortServer);
    await rm(work, { recursive: true, force: true });
  }
}

runTest(main, { name: 'browser test', timeoutMs: TEST_TIMEOUT_MS, passed: () => step });
