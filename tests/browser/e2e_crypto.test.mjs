// SPDX-License-Identifier: Apache-2.0
// Cross-implementation test of end-to-end encryption (issue 19): the page's WebCrypto code
// (adapters/web/e2e.js, in headless Debian Chromium) and the CLI (`presign encrypt` / `decrypt`,
// C++ on libcrypto) must read each other's files byte for byte at the record edges, agree on the
// exact size before encryption, keep the plaintext and its name out of the ciphertext, and both
// refuse changed, cut, extended files and wrong keys with the same error codes.
//
// usage: node e2e_crypto.test.mjs <path to presign>; CHROMIUM=<path> overrides /usr/bin/chromium.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumArgs } from './serve_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const e2eScript = readFileSync(path.join(here, '..', '..', 'adapters', 'web', 'e2e.js'));
const presignBinary = process.argv[2] || process.env.PRESIGN_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const FULL = 65536 - 17;
const SIZES = [0, 1, FULL - 1, FULL, FULL + 1, 3 * 1024 * 1024];
const DECRYPT_FAILED = 9;

let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  ok(what);
}

// A loopback origin (a secure context, so WebCrypto exists) serving a blank page and e2e.js under
// the page's own CSP.
function startOrigin() {
  const server = createServer((request, response) => {
    if (request.url === '/e2e.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript' });
      return response.end(e2eScript);
    }
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; script-src 'self'",
    });
    response.end('<!doctype html><meta charset="utf-8"><title>e2e</title><script src="/e2e.js"></script>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-e2e-browser-'));
  const origin = await startOrigin();
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  const presign = (...args) => spawnSync(presignBinary, args, { cwd: work, encoding: 'utf8' });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${origin.address().port}/`);
    check(await page.evaluate(() => window.presignE2E && window.presignE2E.available), 'e2e.js loads with WebCrypto');

    for (const size of SIZES) {
      const plain = randomBytes(size);
      const name = `Résumé ${size}.bin`;
      // Page -> CLI.
      const sealed = await page.evaluate(async ({ b64, name }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const file = new File([bytes], name, { type: 'application/x-test' });
        const expected = presignE2E.sizeFor(file);
        const { blob, size, secret } = await presignE2E.encryptFile(file);
        const body = new Uint8Array(await blob.arrayBuffer());
        let binary = '';
        for (let i = 0; i < body.length; i += 0x8000) binary += String.fromCharCode(...body.subarray(i, i + 0x8000));
        return { body: btoa(binary), expected, size, key: presignE2E.base64urlEncode(secret) };
      }, { b64: plain.toString('base64'), name });
      const body = Buffer.from(sealed.body, 'base64');
      check(body.length === sealed.size && sealed.size === sealed.expected,
        `page: ${size} bytes encrypt to the size computed beforehand (${sealed.size})`);
      check(size < 32 || !body.includes(plain.subarray(0, 32)), `page: ciphertext of ${size} bytes holds no plaintext`);
      check(!body.includes(Buffer.from('Résumé')), `page: ciphertext of ${size} bytes holds no file name`);
      await writeFile(path.join(work, 'page.enc'), body);
      let run = presign('decrypt', 'page.enc', '--key', sealed.key, '-o', 'from-page.bin');
      check(run.status === 0 && (await readFile(path.join(work, 'from-page.bin'))).equals(plain),
        `CLI decrypts the page's ${size} bytes byte for byte`, run.stderr);
      run = presign('decrypt', 'page.enc', '--key', sealed.key);
      check(run.status === 0 && run.stdout.trim() === `./${name}`, `CLI reads the page's stored name for ${size}`, run.stdout + run.stderr);
      await rm(path.join(work, name));

      // CLI -> page.
      await writeFile(path.join(work, 'plain.bin'), plain);
      const key = execFileSync(presignBinary, ['encrypt', 'plain.bin', '-o', 'cli.enc', '--name', name, '--type', 'image/png'],
        { cwd: work, encoding: 'utf8' }).trim();
      const cliBody = await readFile(path.join(work, 'cli.enc'));
      const opened = await page.evaluate(async ({ b64, key }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const { blob, metadata } = await presignE2E.decryptBytes(bytes, presignE2E.parseSecret(key));
        const out = new Uint8Array(await blob.arrayBuffer());
        let binary = '';
        for (let i = 0; i < out.length; i += 0x8000) binary += String.fromCharCode(...out.subarray(i, i + 0x8000));
        return { plain: btoa(binary), metadata };
      }, { b64: cliBody.toString('base64'), key });
      check(Buffer.from(opened.plain, 'base64').equals(plain), `page decrypts the CLI's ${size} bytes byte for byte`);
      check(opened.metadata.name === name && opened.metadata.type === 'image/png' && opened.metadata.size === size,
        `page reads the CLI's stored name, type and size for ${size}`, JSON.stringify(opened.metadata));
    }

    // Tampering: the page refuses with the codes the CLI gives.
    const plain = randomBytes(2 * FULL + 100);
    await writeFile(path.join(work, 'plain.bin'), plain);
    const key = execFileSync(presignBinary, ['encrypt', 'plain.bin', '-o', 't.enc'], { cwd: work, encoding: 'utf8' }).trim();
    const body = await readFile(path.join(work, 't.enc'));
    const header = 21 + body[20];
    const flip = (at) => { const copy = Buffer.from(body); copy[at] ^= 1; return copy; };
    const cases = [
      ['salt byte', flip(3), 'metadata_invalid'],
      ['rs byte', flip(19), 'record_tampered'],
      ['keyid byte', flip(25), 'metadata_invalid'],
      ['first record byte', flip(header + 5), 'record_tampered'],
      ['last byte', flip(body.length - 1), 'record_tampered'],
      ['cut at a record boundary', body.subarray(0, header + 65536), 'truncated'],
      ['cut inside a record', body.subarray(0, body.length - 5), 'record_tampered'],
      ['cut inside the header', body.subarray(0, 10), 'header_truncated'],
      ['one byte appended', Buffer.concat([body, Buffer.from([0])]), 'record_tampered'],
    ];
    const otherKey = execFileSync(presignBinary, ['encrypt', 'plain.bin', '-o', 'o.enc'], { cwd: work, encoding: 'utf8' }).trim();
    cases.push(['wrong key', body, 'metadata_invalid', otherKey]);
    for (const [what, changed, code, useKey] of cases) {
      const result = await page.evaluate(async ({ b64, key }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        try {
          await presignE2E.decryptBytes(bytes, presignE2E.parseSecret(key));
          return { code: 'accepted' };
        } catch (error) {
          return { code: error.code, message: error.message };
        }
      }, { b64: Buffer.from(changed).toString('base64'), key: useKey || key });
      check(result.code === code && /[a-z] /.test(result.message), `page refuses: ${what} (${code}: ${result.message})`, JSON.stringify(result));
      await writeFile(path.join(work, 'bad.enc'), changed);
      const run = presign('decrypt', 'bad.enc', '--key', useKey || key, '-o', 'bad.out');
      check(run.status === DECRYPT_FAILED && run.stderr.includes(code) && !existsSync(path.join(work, 'bad.out')),
        `CLI refuses: ${what} (${code}), no file`, run.stderr);
    }
    const badKey = await page.evaluate(() => { try { presignE2E.parseSecret('not-a-key'); return 'accepted'; } catch (e) { return e.code; } });
    check(badKey === 'invalid_secret', 'page refuses a malformed key');

    // Ranges (what an upload in parts sends): any cut of the ciphertext, made in any order from the
    // same secret and salt, is byte for byte the slice of the whole, and the CLI decrypts the joined parts.
    const rangeSize = 3 * FULL + 12345;
    const rangePlain = randomBytes(rangeSize);
    const ranges = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const file = new File([bytes], 'Ranges.txt', { type: 'text/plain' });
      const secret = presignE2E.newSecret();
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const whole = new Uint8Array(await (await presignE2E.encryptFile(file, { secret, salt })).blob.arrayBuffer());
      const again = await presignE2E.createEncryptor(file, { secret, salt });
      const same = async (start, end) => {
        const got = await again.range(start, end);
        return got.length === Math.min(end, whole.length) - start && got.every((b, i) => b === whole[start + i]);
      };
      const size = again.size;
      // cuts inside the header, at and around record edges, parts not lined up with records, backwards
      const cuts = [[0, 1], [0, 20], [5, 300], [0, size], [size - 1, size], [size - 17, size + 100],
        [65536 + 100, 65536 + 200], [60000, 200000], [131072 + 50, 131072 + 51]];
      const parts = [];
      for (let part = 100003, n = Math.ceil(size / part) - 1; n >= 0; n -= 1) {
        cuts.push([n * part, (n + 1) * part]);
        parts[n] = await again.range(n * part, (n + 1) * part);
      }
      const results = [];
      for (const [start, end] of cuts) results.push([start, end, await same(start, end)]);
      const joined = new Uint8Array(await new Blob(parts).arrayBuffer());
      let binary = '';
      for (let i = 0; i < joined.length; i += 0x8000) binary += String.fromCharCode(...joined.subarray(i, i + 0x8000));
      return { results, size, wholeLength: whole.length, key: presignE2E.base64urlEncode(secret), joined: btoa(binary) };
    }, rangePlain.toString('base64'));
    const wrong = ranges.results.filter(([, , same]) => !same);
    check(ranges.size === ranges.wholeLength && wrong.length === 0,
      `page: ${ranges.results.length} ciphertext ranges equal the slices of the whole encryption`, JSON.stringify(wrong));
    await writeFile(path.join(work, 'parts.enc'), Buffer.from(ranges.joined, 'base64'));
    const joinedRun = presign('decrypt', 'parts.enc', '--key', ranges.key, '-o', 'parts.out');
    check(joinedRun.status === 0 && (await readFile(path.join(work, 'parts.out'))).equals(rangePlain),
      'CLI decrypts parts made out of order (not lined up with records) joined', joinedRun.stderr);
  } finally {
    await browser.close().catch(() => {});
    origin.close();
    await rm(work, { recursive: true, force: true });
  }
  console.log(`# ${step} checks passed`);
}

const timer = setTimeout(() => { console.error('not ok - timed out'); process.exit(1); }, 200_000);
main().then(() => { clearTimeout(timer); }, (error) => {
  console.error(`not ok - ${error.stack || error}`);
  process.exit(1);
});
