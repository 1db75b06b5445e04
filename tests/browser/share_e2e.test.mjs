// SPDX-License-Identifier: Apache-2.0
// Browser test of end-to-end encrypted share links (issue 19) against the real `presign serve`:
// files encrypted by the CLI (`presign encrypt`), uploaded through a ticket from the API under an
// opaque name and shared with "encrypted": true, are opened by the recipient page (share.html,
// share.js, e2e.js) in headless Chromium with the key from the link's #fragment: the page shows the
// sealed name and size, decrypts, and saves the original bytes under the original name.
// Refusals, each said in words with no download at all: the link without its fragment, a wrong
// key, the stored object changed under serve's --data-dir (a header byte, a record byte, cut at a
// record boundary and inside a record); `presign fetch` refuses the same objects and leaves no file.
// No request the page makes carries the key (URL, headers, body) or a Referer.
// Also: a password on an encrypted link, and a plain link with a stray #fragment still downloads.
// A -> B: person A uploads with "Encrypt in this browser" (#encrypt-toggle) in the owner page and
// shares; person B in a fresh context opens the link and gets the bytes and the name, and the same
// link without its fragment fails in words.
//
// usage: node share_e2e.test.mjs <path to presign> (or PRESIGN_BIN=<path>); CHROMIUM=<path>
//        overrides /usr/bin/chromium.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, runTest, startServer, stopServer, tapSteps } from './serve_helpers.mjs';

const FULL = 65536 - 17; // plaintext bytes of a full 64 KiB record
const SIZES = [0, 1, FULL - 1, FULL, FULL + 1, 3 * 1024 * 1024];
const RECORD = 65536;
const TEST_TIMEOUT_MS = 360_000;

const presignBinary = path.resolve(process.argv[2] || process.env.PRESIGN_BIN || '');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const { ok, check, passed } = tapSteps();

/** Clicks Download on `page`; resolves with the saved file's { name, bytes }. */
async function downloadFrom(page, work) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download' }).click(),
  ]);
  const saved = path.join(work, `saved-${randomBytes(6).toString('hex')}`);
  await download.saveAs(saved);
  const bytes = await readFile(saved);
  await rm(saved);
  return { name: download.suggestedFilename(), bytes };
}

async function apiJson(api, method, route, body) {
  const response = await fetch(api + route, {
    method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, answer: await response.json().catch(() => null) };
}

/** Uploads `body` through a ticket from the API (as the page does); returns the object's key. */
async function upload(api, filename, body) {
  const { status, answer: ticket } = await apiJson(api, 'POST', '/uploads',
    { filename, contentType: 'application/octet-stream', size: body.length });
  if (status !== 200) throw new Error(`POST /uploads: ${status} ${JSON.stringify(ticket)}`);
  const headers = Object.fromEntries(Object.entries(ticket.headers).filter(([n]) => n.toLowerCase() !== 'content-length'));
  const put = await fetch(ticket.url, { method: 'PUT', headers, body });
  if (put.status !== 200) throw new Error(`PUT ${filename}: ${put.status}`);
  return ticket.key;
}

async function share(api, key, extra = {}) {
  const { status, answer } = await apiJson(api, 'POST', '/shares', { key, ...extra });
  if (status !== 200) throw new Error(`POST /shares: ${status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The local store's data file of `key` and its .meta (serve --data-dir layout), to change it. */
async function storedObject(dataDir, key) {
  const buckets = path.join(dataDir, 'buckets');
  for (const bucket of await readdir(buckets)) {
    const objects = path.join(buckets, bucket, 'objects');
    if (!existsSync(objects)) continue;
    for (const name of await readdir(objects)) {
      if (!name.endsWith('.meta')) continue;
      const metaPath = path.join(objects, name);
      const meta = JSON.parse(await readFile(metaPath, 'utf8'));
      if (meta.key === key) return { metaPath, meta, dataPath: path.join(objects, meta.data) };
    }
  }
  throw new Error(`no stored object for ${key}`);
}

/** Replaces the stored bytes of `key` (keeping the store's own metadata consistent in size). */
async function rewriteStored(dataDir, key, change) {
  const stored = await storedObject(dataDir, key);
  const bytes = change(await readFile(stored.dataPath));
  await writeFile(stored.dataPath, bytes);
  stored.meta.size = bytes.length;
  await writeFile(stored.metaPath, JSON.stringify(stored.meta));
}

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-share-e2e-'));
  const dataDir = path.join(work, 'data');
  const presign = (args, cwd = work) => spawnSync(presignBinary, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  /** `presign encrypt`: { key, body } of `plain` stored under `name`. */
  const encrypt = async (plain, name) => {
    const source = path.join(work, 'plain.bin');
    await writeFile(source, plain);
    const done = presign(['encrypt', source, '--name', name, '-o', path.join(work, 'body.enc')]);
    if (done.status !== 0) throw new Error(`presign encrypt: ${done.stderr}`);
    const body = await readFile(path.join(work, 'body.enc'));
    await rm(path.join(work, 'body.enc'));
    return { key: done.stdout.trim(), body };
  };
  let server = null;
  let browser = null;
  try {
    server = await startServer(presignBinary, dataDir);
    const { api } = server.urls;
    ok(`serve listening (api ${api})`);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });

    // Every request of the recipient's context, with its headers and body, for the leak checks.
    const recipient = await browser.newContext({ locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
    const requests = [];
    recipient.on('request', (request) => requests.push({
      url: request.url(), headers: request.allHeaders().catch(() => request.headers()), body: request.postData() || '',
    }));
    const errors = [];
    const keys = [];
    const downloads = [];
    // A page closes once its requests are over: the leak checks below read each request's headers
    // as sent (allHeaders), which a closed page can no longer give; the fallback, the renderer's
    // provisional headers, lists "referer": "" for a no-referrer fetch that sends none (checked
    // against a server; a CI run failed on it for a page closed right after its CSP was read).
    const closeWhenIdle = async (page) => {
      await page.waitForLoadState('networkidle');
      await page.close();
    };
    const open = async (url) => {
      const page = await recipient.newPage();
      page.setDefaultTimeout(60_000);
      page.on('pageerror', (error) => errors.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(message.text());
      });
      page.on('download', (download) => downloads.push(download));
      const response = await page.goto(url);
      if (!response || response.status() !== 200) throw new Error(`the link answered ${response && response.status()}`);
      return page;
    };
    const errorText = (page) => page.locator('#share-error').textContent();
    const waitForError = (page, pattern) => page.waitForFunction(
      (source) => new RegExp(source).test(document.getElementById('share-error').textContent), pattern.source);
    /** Clicks Download and checks that the page refuses in words with no download at all. */
    const refusesDownload = async (page, pattern, what) => {
      const before = downloads.length;
      await page.getByRole('button', { name: 'Download' }).click();
      await waitForError(page, pattern);
      await page.waitForTimeout(500);
      check(downloads.length === before, `${what}: refused in words, nothing downloaded`, await errorText(page));
    };

    // ---- CLI-encrypted files decrypt in the page at the record edges ----
    for (const size of SIZES) {
      const plain = randomBytes(size);
      const name = `Résumé «${size}» ü.bin`;
      const { key, body } = await encrypt(plain, name);
      keys.push(key);
      const objectKey = await upload(api, `${sha256(body).slice(0, 16)}`, body);
      check(!objectKey.includes('Résumé'), `${size} bytes: the stored name reveals nothing`, objectKey);
      const link = await share(api, objectKey, { encrypted: true });
      check(link.encrypted === true, `${size} bytes: POST /shares answers encrypted: true`);
      const page = await open(`${link.url}#${key}`);
      await page.waitForFunction(() => document.getElementById('share').dataset.decrypted === 'true');
      check(await page.locator('#file-name').textContent() === name, `${size} bytes: the page shows the sealed name`);
      const shownSize = await page.locator('#file-size').textContent();
      check(shownSize.includes(size.toLocaleString('en-GB')) || shownSize === `${size} bytes` || shownSize === '1 byte',
        `${size} bytes: the page shows the plaintext size`, shownSize);
      const got = await downloadFrom(page, work);
      check(got.name === name, `${size} bytes: saved under the original name`, got.name);
      check(got.bytes.length === size && sha256(got.bytes) === sha256(plain), `${size} bytes: the saved bytes equal the original`);
      await closeWhenIdle(page);
    }

    // ---- where the page may connect: its own origin and the store's, nothing else ----
    const cspPage = await open(`${(await share(api, await upload(api, 'c0ffee', Buffer.alloc(30)), { encrypted: true })).url}#${keys[0]}`);
    const csp = await cspPage.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]').content);
    check(csp.includes(`connect-src 'self' ${server.urls.s3};`), 'the page may connect only to its origin and the store', csp);
    await closeWhenIdle(cspPage);

    // ---- the link without its fragment, and with a wrong key ----
    const plain = randomBytes(3 * FULL + 12345);
    const secretName = 'Kontoauszug März.pdf';
    const { key, body } = await encrypt(plain, secretName);
    keys.push(key);
    const objectKey = await upload(api, 'a1b2c3d4e5f60718', body);
    const link = await share(api, objectKey, { encrypted: true });
    const bare = await open(link.url);
    await waitForError(bare, /missing its key/);
    check(await bare.locator('#file-name').textContent() === 'Encrypted file',
      'without the fragment the page names no file and says the key is missing');
    await refusesDownload(bare, /missing its key.*Nothing was saved/, 'the link without its fragment');
    const other = await encrypt(randomBytes(10), 'other.txt');
    keys.push(other.key);
    const wrong = await open(`${link.url}#${other.key}`);
    await waitForError(wrong, /key in the link is wrong/);
    ok('a wrong key is said in words as soon as the page opens');
    await refusesDownload(wrong, /key in the link is wrong.*Nothing was saved/, 'a wrong key');
    const damaged = await open(`${link.url}#${other.key.slice(0, 20)}`);
    await waitForError(damaged, /damaged/);
    ok('a cut key is said to be damaged');
    // A key pasted into the address bar afterwards is picked up.
    await bare.evaluate((k) => { window.location.hash = k; }, key);
    await bare.waitForFunction(() => document.getElementById('share').dataset.decrypted === 'true');
    check(await bare.locator('#file-name').textContent() === secretName, 'a key added to the link later opens the file');

    // ---- a password on an encrypted link ----
    const locked = await share(api, objectKey, { encrypted: true, password: 'open sesame' });
    const lockedPage = await open(`${locked.url}#${key}`);
    check(await lockedPage.locator('#password').isVisible(), 'an encrypted link with a password asks for it');
    await lockedPage.locator('#password').fill('open sesam');
    await lockedPage.getByRole('button', { name: 'Download' }).click();
    await waitForError(lockedPage, /password is not right/);
    ok('a wrong password is refused in words');
    await lockedPage.locator('#password').fill('open sesame');
    const unlocked = await downloadFrom(lockedPage, work);
    check(unlocked.name === secretName && sha256(unlocked.bytes) === sha256(plain),
      'the right password: decrypted, original bytes and name');
    check(await lockedPage.locator('#file-name').textContent() === secretName, '... and the page then shows the name');

    // ---- tampering: the stored object changed under --data-dir ----
    const header = 21 + body[20];
    const cases = [
      { what: 'a flipped header (salt) byte', change: (b) => { b[3] ^= 1; return b; }, early: /key in the link is wrong, or the file was changed/ },
      { what: 'a flipped record size (rs) byte', change: (b) => { b[19] ^= 1; return b; }, late: /changed.*Nothing was saved/ },
      { what: 'a flipped idlen byte', change: (b) => { b[20] ^= 1; return b; }, early: /key in the link is wrong, or the file was changed/ },
      { what: 'a flipped keyid byte', change: (b) => { b[25] ^= 1; return b; }, early: /key in the link is wrong, or the file was changed/ },
      { what: 'a flipped record byte', change: (b) => { b[header + RECORD + 7] ^= 0x80; return b; }, late: /changed.*Nothing was saved/ },
      { what: 'the last byte flipped', change: (b) => { b[b.length - 1] ^= 1; return b; }, late: /changed.*Nothing was saved/ },
      { what: 'the object cut at a record boundary', change: (b) => b.subarray(0, header + 2 * RECORD), late: /incomplete.*Nothing was saved/ },
      { what: 'the object cut inside a record', change: (b) => b.subarray(0, b.length - 100), late: /(changed|incomplete).*Nothing was saved/ },
      { what: 'bytes appended', change: (b) => Buffer.concat([b, Buffer.from([0])]), late: /(changed|incomplete).*Nothing was saved/ },
    ];
    for (const c of cases) {
      const tamperedKey = await upload(api, randomBytes(8).toString('hex'), body);
      await rewriteStored(dataDir, tamperedKey, (b) => c.change(Buffer.from(b)));
      const tampered = await share(api, tamperedKey, { encrypted: true });
      const page = await open(`${tampered.url}#${key}`);
      if (c.early) {
        await waitForError(page, c.early);
        check(await page.locator('#file-name').textContent() === 'Encrypted file', `${c.what}: the page names no file`);
        await refusesDownload(page, c.early, c.what);
      } else {
        await page.waitForFunction(() => document.getElementById('share').dataset.decrypted === 'true');
        await refusesDownload(page, c.late, c.what);
        check(await page.evaluate(() => document.getElementById('share').dataset.result) === 'refused',
          `${c.what}: the page marks the download refused`);
      }
      await closeWhenIdle(page);
      const out = await mkdtemp(path.join(work, 'fetch-'));
      const fetched = presign(['fetch', `${tampered.url}#${key}`], out);
      check(fetched.status === 9 && /nothing was saved/.test(fetched.stderr) && (await readdir(out)).length === 0,
        `${c.what}: presign fetch refuses (exit 9) and leaves no file`, `${fetched.status} ${fetched.stderr}`);
    }
    // The untouched object still fetches with the CLI, from the same kind of link.
    const out = await mkdtemp(path.join(work, 'fetch-'));
    const fetched = presign(['fetch', `${link.url}#${key}`], out);
    check(fetched.status === 0 && sha256(await readFile(path.join(out, secretName))) === sha256(plain),
      'presign fetch <link>#<key> decrypts the same link the page opens', fetched.stderr);
    const noKey = presign(['fetch', link.url, '-o', 'x'], out);
    check(noKey.status !== 0 && /key is missing/.test(noKey.stderr) && !existsSync(path.join(out, 'x')),
      'presign fetch without the fragment refuses in words');

    // ---- RFC 8188 section 3.1 (another encoder's body: rs 4096, no keyid, so no name) ----
    const rfcKey = 'yqdlZ-tYemfogSmv7Ws5PQ';
    const rfcBody = Buffer.from('I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg', 'base64url');
    keys.push(rfcKey);
    const rfcPage = await open(`${(await share(api, await upload(api, 'rfc8188', rfcBody), { encrypted: true })).url}#${rfcKey}`);
    const walrus = await downloadFrom(rfcPage, work);
    check(walrus.bytes.toString() === 'I am the walrus' && walrus.name === 'file',
      'the RFC 8188 example decrypts in the page, saved as "file" (it carries no name)', `${walrus.name}: ${walrus.bytes}`);
    await closeWhenIdle(rfcPage);

    // ---- a plain link with a stray fragment downloads as before ----
    const plainBytes = randomBytes(5000);
    const plainKey = await upload(api, 'notes.txt', plainBytes);
    const plainLink = await share(api, plainKey);
    check(plainLink.encrypted === false, 'a plain share says encrypted: false');
    const strayPage = await open(`${plainLink.url}#${key}`);
    check(await strayPage.locator('#file-name').textContent() === 'notes.txt', 'a plain link with a stray fragment names its file');
    const asBefore = await downloadFrom(strayPage, work);
    check(asBefore.name === 'notes.txt' && sha256(asBefore.bytes) === sha256(plainBytes),
      'a plain link with a stray fragment downloads the bytes as before');

    // ---- no leak: no request carries a key, and none has a Referer ----
    const resolved = await Promise.all(requests.map(async (r) => ({ ...r, headers: await r.headers })));
    check(resolved.length > 50, `the recipient pages made ${resolved.length} requests`);
    const leaks = resolved.filter((r) => keys.some((k) => r.url.includes(k) || JSON.stringify(r.headers).includes(k) || r.body.includes(k)));
    check(leaks.length === 0, 'no request carries a key in its URL, headers or body', JSON.stringify(leaks.map((r) => r.url)));
    const referers = resolved.filter((r) => Object.entries(r.headers).some(([h, v]) => h.toLowerCase() === 'referer' && v !== ''));
    check(referers.length === 0, 'no request sends a Referer', JSON.stringify(referers.map((r) => r.url)));
    check(resolved.some((r) => /^bytes=0-/.test(r.headers.range || '')), 'the name is read with a Range GET of the first bytes');
    check(!keys.some((k) => server.log().includes(k)), 'serve never saw a key (its log holds none)');
    check(errors.length === 0, 'no page errors or CSP violations', errors.join('\n'));
    await recipient.close();

    await personAToB(browser, api, work);
    console.log('all encrypted share-link checks passed');
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
    await rm(work, { recursive: true, force: true });
  }
}

// Person A encrypts in the owner page and shares; person B, in a fresh context, opens the link.
async function personAToB(browser, api, work) {
  const contextA = await browser.newContext({ locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
  await contextA.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: api });
  const pageA = await contextA.newPage();
  pageA.setDefaultTimeout(60_000);
  await pageA.goto(api + '/');
  const toggle = pageA.locator('#encrypt-toggle');
  check(await toggle.count() === 1, 'the owner page offers "Encrypt in this browser"');
  const name = 'Reisepass Kopie (A→B).bin';
  const bytes = randomBytes(FULL * 2 + 321);
  const file = path.join(work, name);
  await writeFile(file, bytes);
  if (!(await toggle.isChecked())) await toggle.check();
  await pageA.setInputFiles('#file-input', file);
  const item = pageA.locator('.upload-item', { hasText: name });
  await item.waitFor();
  ok('A uploaded the file encrypted in the page');
  await pageA.getByRole('button', { name: `Share ${name}` }).click();
  await pageA.getByRole('button', { name: `Create share link for ${name}` }).click();
  await pageA.waitForFunction(() => /\/s\/[^#]+#[A-Za-z0-9_-]{22}$/.test(document.querySelector('.link-field')?.value || ''));
  const link = await item.locator('.link-field').inputValue();
  check(link.startsWith(api + '/s/'), 'A\'s link is <api>/s/<token>#<key>');
  await contextA.close();

  const contextB = await browser.newContext({ locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
  const seenByB = [];
  contextB.on('request', (request) => seenByB.push(request.allHeaders().catch(() => request.headers())
    .then((headers) => request.url() + JSON.stringify(headers) + (request.postData() || ''))));
  const pageB = await contextB.newPage();
  pageB.setDefaultTimeout(60_000);
  await pageB.goto(link);
  await pageB.waitForFunction(() => document.getElementById('share').dataset.decrypted === 'true');
  check(await pageB.locator('#file-name').textContent() === name, 'B sees the original name');
  const got = await downloadFrom(pageB, work);
  check(got.name === name && sha256(got.bytes) === sha256(bytes), 'B gets the original bytes and name');
  const bare = await contextB.newPage();
  await bare.goto(link.slice(0, link.indexOf('#')));
  await bare.waitForFunction(() => /missing its key/.test(document.getElementById('share-error').textContent));
  ok('B: the same link without its fragment fails in words');
  const secret = link.slice(link.indexOf('#') + 1);
  const sent = await Promise.all(seenByB);
  check(sent.length > 5 && !sent.some((text) => text.includes(secret) || /"referer":"[^"]/i.test(text)),
    'none of B\'s requests carries the key or a Referer');
  await contextB.close();
}

runTest(main, { name: 'encrypted share-link browser test', timeoutMs: TEST_TIMEOUT_MS, passed });
