// SPDX-License-Identifier: Apache-2.0
// Browser test of the owner's page with "Encrypt in this browser" (issue 19) against the real
// `presign serve`: the choice is on by default and remembered; files of 0, 1, 65518, 65519, 65520
// bytes and 3 MiB go up encrypted (one PUT) and 200 MiB in parts with a reload at about half and
// a resume that sends only the missing parts; the store's objects are application/octet-stream
// under a name that says nothing of the file's, never equal nor contain the plaintext, and no file
// under serve's data directory holds the name; the lasting share link is <API>/s/<token>#<key>
// (POST /shares says "encrypted": true) and `presign decrypt` with the key from the fragment gives
// back the bytes and the name; the list shows the real names, a fresh browser "encrypted file"
// until it imports the keys exported from the first; deleting a file removes its key; with the
// choice off the upload is the plain one.
//
// usage: node e2e_page.test.mjs <path to presign>; CHROMIUM=<path> overrides /usr/bin/chromium.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { chromiumArgs, logAfterComplete, pageWatcher, runTest, startServer, stopServer, tapSteps, writeRandomFile } from './serve_helpers.mjs';

const MIB = 1 << 20;
const FULL = 65536 - 17; // plaintext bytes in one full record
const SMALL_SIZES = [0, 1, FULL - 1, FULL, FULL + 1, 3 * MIB];
const LARGE_SIZE = 200 * MIB + 4321;
const ENCRYPTED_NAME = 'encrypted.aes128gcm';

const presignArgument = process.argv[2] || process.env.PRESIGN_BIN;
const presignBinary = presignArgument && path.resolve(presignArgument); // the CLI also runs in other directories
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const { ok, check, passed } = tapSteps();
const sleep = (ms) => new Promise((done) => { setTimeout(done, ms); });

async function sha256File(file) {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  for await (const chunk of handle.createReadStream()) hash.update(chunk);
  return hash.digest('hex');
}

/** Downloads a stored object through a pre-signed GET into `file`; resolves to its content type. */
async function downloadObject(api, key, file) {
  const signed = await (await fetch(`${api}/downloads?key=${encodeURIComponent(key)}`)).json();
  const response = await fetch(signed.url);
  if (response.status !== 200) throw new Error(`GET of the stored object: status ${response.status}`);
  await pipeline(Readable.fromWeb(response.body), createWriteStream(file));
  return response.headers.get('content-type');
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...await filesUnder(full));
    else out.push(full);
  }
  return out;
}

/** The row of the listed file named `name` (its real name, or "encrypted file"). */
const rowOf = (page, name) => page.locator('.upload-item').filter({ has: page.locator('.item-name', { hasText: name }) });

/** Makes a 1-day lasting link for the row's file through "Share…"; resolves to the link. */
async function shareLink(page, name) {
  const row = rowOf(page, name);
  await row.getByRole('button', { name: `Share ${name}` }).click();
  await row.getByRole('button', { name: `Create share link for ${name}` }).click();
  const field = row.locator('.link-field');
  await page.waitForFunction((input) => input.value !== '', await field.elementHandle());
  return field.inputValue();
}

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-browser-e2e-page-'));
  const dataDir = path.join(work, 'data');
  const presign = (...args) => spawnSync(presignBinary, args, { cwd: work, encoding: 'utf8' });
  let server = null;
  let browser = null;
  const pageErrors = [];
  const watch = pageWatcher(pageErrors, 60_000);
  try {
    server = await startServer(presignBinary, dataDir);
    ok(`serve listening (api ${server.urls.api}, s3 ${server.urls.s3})`);
    const { api } = server.urls;
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    const contextA = await browser.newContext({ viewport: { width: 900, height: 820 }, locale: 'en-GB', acceptDownloads: true });
    const pageA = watch(await contextA.newPage());
    const shareBodies = [];
    pageA.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/shares') shareBodies.push(request.postData());
    });
    await pageA.goto(`${api}/`);
    check(await pageA.locator('#encrypt-toggle').isChecked(), '"Encrypt in this browser" is on by default');

    // ---- one PUT: sizes at the record edges -----------------------------------------------------
    const uploaded = []; // { name, key, plain }
    for (const size of SMALL_SIZES) {
      const name = `Quarterly plan ${size}.pdf`;
      const plain = randomBytes(size);
      const file = path.join(work, name);
      await writeFile(file, plain);
      await pageA.setInputFiles('#file-input', file);
      await rowOf(pageA, name).waitFor();
      const key = await rowOf(pageA, name).getAttribute('data-key');
      uploaded.push({ name, key, plain });
      check(key.endsWith(`/${ENCRYPTED_NAME}`) && !/Quarterly|plan|pdf/i.test(key),
        `${size} bytes: the object's key says nothing of the file's name or extension`, key);
      const stored = path.join(work, `stored-${size}`);
      const type = await downloadObject(api, key, stored);
      const body = await readFile(stored);
      check(type === 'application/octet-stream', `${size} bytes: stored as application/octet-stream`, type);
      check(!body.equals(plain) && (size < 16 || !body.includes(plain.subarray(0, 16)))
        && (size < 2 * FULL || !body.includes(plain.subarray(FULL + 7, FULL + 7 + 16))),
      `${size} bytes: the stored object neither equals nor contains the plaintext`);
      check(!body.includes(Buffer.from('Quarterly')), `${size} bytes: the stored object does not hold the name`);

      const link = await shareLink(pageA, name);
      const match = /^(http:\/\/127\.0\.0\.1:\d+)\/s\/([A-Za-z0-9_-]+)#([A-Za-z0-9_-]{22})$/.exec(link);
      check(match && match[1] === api, `${size} bytes: the share link is <API>/s/<token>#<22-character key>`, link);
      check(JSON.parse(shareBodies.at(-1)).encrypted === true, `${size} bytes: POST /shares says "encrypted": true`, shareBodies.at(-1));
      let run = presign('decrypt', stored, '--key', match[3], '-o', path.join(work, `out-${size}`));
      check(run.status === 0 && (await readFile(path.join(work, `out-${size}`))).equals(plain),
        `${size} bytes: presign decrypt with the link's key gives back the bytes`, `exit ${run.status}: ${run.stderr}`);
      const named = path.join(work, `named-${size}`);
      await rm(named, { recursive: true, force: true });
      await mkdir(named);
      run = spawnSync(presignBinary, ['decrypt', stored, '--key', match[3]], { cwd: named, encoding: 'utf8' });
      check(run.status === 0 && run.stdout.trim() === `./${name}` && (await readFile(path.join(named, name))).equals(plain),
        `${size} bytes: ... and the name`, run.stdout + run.stderr);
    }
    const inData = [];
    for (const file of await filesUnder(dataDir)) {
      if ((await readFile(file)).includes(Buffer.from('Quarterly'))) inData.push(file);
    }
    check(inData.length === 0, 'no file under serve\'s data directory holds a file name', inData.join(', '));

    // ---- 200 MiB in parts, a reload at about half, resume ---------------------------------------
    const largeName = 'Family video.mkv';
    const largeFile = path.join(work, largeName);
    const largeSha = await writeRandomFile(largeFile, LARGE_SIZE);
    const partPuts = []; // every part PUT sent
    await contextA.route(`${server.urls.s3}/**`, async (route) => {
      const url = new URL(route.request().url());
      if (route.request().method() === 'PUT' && url.searchParams.has('partNumber')) {
        partPuts.push(Number(url.searchParams.get('partNumber')));
        await sleep(400); // the loopback is too fast to reload at half otherwise
      }
      await route.continue();
    });
    await pageA.setInputFiles('#file-input', largeFile);
    await pageA.waitForFunction(() => Number(document.getElementById('progress').value) >= 45, null, { timeout: 180_000 });
    const savedPlans = await pageA.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('presign.multipart.v1:')));
    check(savedPlans.length === 1 && savedPlans[0][0].endsWith('|e2e'), 'the encrypted upload\'s plan is kept for a resume',
      JSON.stringify(savedPlans.map(([k]) => k)));
    const { partCount } = JSON.parse(savedPlans[0][1]).plan;
    const kept = await pageA.evaluate((key) => window.presignKeys.ready().then(() => window.presignKeys.lookup(key)),
      JSON.parse(savedPlans[0][1]).plan.key);
    check(kept && kept.salt && !kept.complete && !savedPlans[0][1].includes(kept.secret) && !savedPlans[0][1].includes(kept.salt),
      'the key and salt of the upload are in IndexedDB, not in the saved plan', JSON.stringify(kept && { ...kept, secret: '…' }));
    await pageA.reload();
    const before = partPuts.length;
    // The parts stored before the reload (those cut mid-way are sent again).
    await pageA.setInputFiles('#file-input', largeFile);
    await rowOf(pageA, largeName).waitFor({ timeout: 300_000 });
    const largeKey = await rowOf(pageA, largeName).getAttribute('data-key');
    // The store logs each part it stored as "s3 PUT /<bucket>/<key> 200" (a cut one is not stored).
    const stored = (await logAfterComplete(server, `/${largeKey}`)).split('\n').filter((line) => /^s3 PUT /.test(line) && line.includes(`/${largeKey} `)
      && /\b200$/.test(line.trim())).length;
    console.log(`# part PUTs sent before the reload: ${before}, in all: ${partPuts.length}, stored: ${stored} of ${partCount}`);
    check(before > 0 && before < partCount && partPuts.length - before < partCount, 'the reload came in the middle of the upload',
      `${before} + ${partPuts.length - before} PUTs for ${partCount} parts`);
    check(stored === partCount, 'every part was stored exactly once: after the reload only the missing parts were sent',
      `${stored} part PUTs stored for ${partCount} parts`);
    const largeStored = path.join(work, 'stored-large');
    await downloadObject(api, largeKey, largeStored);
    const largeLink = await shareLink(pageA, largeName);
    const largeSecret = largeLink.slice(largeLink.indexOf('#') + 1);
    const decrypted = path.join(work, 'out-large');
    const run = presign('decrypt', largeStored, '--key', largeSecret, '-o', decrypted);
    check(run.status === 0 && await sha256File(decrypted) === largeSha,
      '200 MiB: presign decrypt of the resumed upload gives back the bytes (SHA-256)', run.stderr);
    check((await stat(largeStored)).size > LARGE_SIZE, '200 MiB: the object is the ciphertext (larger than the file)');
    await rm(largeFile, { force: true });
    await rm(decrypted, { force: true });
    await rm(largeStored, { force: true });
    await contextA.unroute(`${server.urls.s3}/**`);

    // ---- the list: real names here, "encrypted file" elsewhere until the keys are imported -------
    await pageA.reload();
    await rowOf(pageA, uploaded[0].name).waitFor();
    for (const { name } of uploaded) check(await rowOf(pageA, name).count() === 1, `after a reload the list shows "${name}"`);
    const [download] = await Promise.all([pageA.waitForEvent('download'), pageA.locator('#export-keys-button').click()]);
    const keyFile = path.join(work, 'keys.json');
    await download.saveAs(keyFile);
    const exported = JSON.parse(await readFile(keyFile, 'utf8'));
    check(exported.format === 'presign-keys' && exported.keys.length === SMALL_SIZES.length + 1,
      'Export keys saves every file\'s key as JSON', `${exported.keys.length} keys`);

    const [one] = uploaded;
    const rowDownload = await Promise.all([pageA.waitForEvent('download'),
      rowOf(pageA, uploaded[2].name).getByRole('button', { name: `Download ${uploaded[2].name}` }).click()]);
    const saved = path.join(work, 'downloaded');
    await rowDownload[0].saveAs(saved);
    check(rowDownload[0].suggestedFilename() === uploaded[2].name && (await readFile(saved)).equals(uploaded[2].plain),
      'Download decrypts in the page and saves under the real name', rowDownload[0].suggestedFilename());

    const contextB = await browser.newContext({ viewport: { width: 900, height: 820 }, locale: 'en-GB' });
    const pageB = watch(await contextB.newPage());
    await pageB.goto(`${api}/`);
    await pageB.locator('.upload-item').first().waitFor();
    const encryptedRows = await rowOf(pageB, 'encrypted file').count();
    check(encryptedRows === SMALL_SIZES.length + 1 && await rowOf(pageB, one.name).count() === 0,
      'a fresh browser shows "encrypted file" without the keys', `${encryptedRows} rows`);
    await pageB.setInputFiles('#import-keys-input', keyFile);
    await pageB.waitForFunction(() => /Imported 7 keys/.test(document.getElementById('keys-status').textContent));
    for (const { name } of uploaded) check(await rowOf(pageB, name).count() === 1, `after Import keys the fresh browser shows "${name}"`);
    check(await rowOf(pageB, largeName).count() === 1, `... and "${largeName}"`);

    // ---- deleting a file removes its key --------------------------------------------------------
    const row = rowOf(pageA, one.name);
    await row.getByRole('button', { name: `Delete ${one.name}` }).click();
    await row.getByRole('button', { name: `Yes, delete ${one.name}` }).click();
    await pageA.waitForFunction(() => /Deleted/.test(document.getElementById('status').textContent));
    await pageA.reload();
    check(await pageA.evaluate((key) => window.presignKeys.ready().then(() => window.presignKeys.lookup(key)), one.key) === null,
      'deleting a file removes its key from IndexedDB');

    // ---- the choice is remembered; off, the upload is the plain one -----------------------------
    await pageA.locator('#encrypt-toggle').uncheck();
    await pageA.reload();
    check(!(await pageA.locator('#encrypt-toggle').isChecked()), 'the choice is remembered after a reload');
    const plainName = 'plain notes.txt';
    const plainBytes = Buffer.from('not a secret\n');
    await writeFile(path.join(work, plainName), plainBytes);
    await pageA.setInputFiles('#file-input', path.join(work, plainName));
    await rowOf(pageA, plainName).waitFor();
    const plainKey = await rowOf(pageA, plainName).getAttribute('data-key');
    const plainStored = path.join(work, 'stored-plain');
    await downloadObject(api, plainKey, plainStored);
    check(plainKey.endsWith(`/${plainName}`) && (await readFile(plainStored)).equals(plainBytes),
      'with the choice off the file is stored as it is, under its name', plainKey);
    const plainLink = await shareLink(pageA, plainName);
    check(!plainLink.includes('#') && JSON.parse(shareBodies.at(-1)).encrypted === undefined,
      'a plain file\'s link has no fragment and its share is not marked encrypted', plainLink);
    check(await pageB.locator('#encrypt-toggle').isChecked(), 'another browser still starts with encryption on');
    check(pageErrors.length === 0, 'no page errors', pageErrors.join('\n'));
  } catch (error) {
    if (server) console.error(`--- serve output (tail) ---\n${server.log().slice(-3000)}`);
    throw error;
  } finally {
    if (browser) await browser.close();
    await stopServer(server);
    await rm(work, { recursive: true, force: true });
  }
}

runTest(main, { name: 'browser e2e page test', timeoutMs: 420_000, passed });
