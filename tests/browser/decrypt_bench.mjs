// SPDX-License-Identifier: Apache-2.0
// Benchmark (not a test; `cmake --build BUILD --target bench_page_crypto`): decryption in the
// recipient page beside a plain download of the same size, and the CLI, all against the real
// `presign serve` and its local store on 127.0.0.1. One file of MiB random bytes is encrypted with
// `presign encrypt`; the ciphertext and the plaintext are uploaded (one PUT each) and shared (the
// encrypted one with "encrypted": true). Rounds alternate, so the machine's load hits all alike;
// the best round of each is printed in MB/s with its ratio to the page's plain download:
//   page: plain download      fetch of the plain object's pre-signed GET, read into a Blob
//   page: download+decrypt    the recipient page's own path: fetch + presignE2E.decryptResponse
//   page: decrypt in memory   presignE2E.Decryptor over the ciphertext already in the page
//   cli: presign fetch        the encrypted link#key, downloaded and decrypted to a file
//   cli: presign decrypt      the ciphertext file to a file (goal: >= 1 GB/s)
//   cli: presign encrypt      the plaintext file to a file
// Files live in /dev/shm when it exists, so the disk is not measured.
//
// usage: node decrypt_bench.mjs <path to presign> [MiB (default 256)] [rounds (default 3)]
//        CHROMIUM=<path> overrides /usr/bin/chromium.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, startServer, stopServer } from './serve_helpers.mjs';

const presignBinary = path.resolve(process.argv[2] || process.env.PRESIGN_BIN || '');
const mib = Number(process.argv[3] || 256);
const rounds = Number(process.argv[4] || 3);
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

async function apiJson(api, route, body) {
  const response = await fetch(api + route, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`POST ${route}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

async function upload(api, filename, bytes) {
  const ticket = await apiJson(api, '/uploads',
    { filename, contentType: 'application/octet-stream', size: bytes.length, multipart: false });
  const headers = Object.fromEntries(Object.entries(ticket.headers).filter(([n]) => n.toLowerCase() !== 'content-length'));
  const put = await fetch(ticket.url, { method: 'PUT', headers, body: bytes });
  if (put.status !== 200) throw new Error(`PUT ${filename}: ${put.status}`);
  return ticket.key;
}

function timed(run) {
  const start = process.hrtime.bigint();
  const done = run();
  if (done.status !== 0) throw new Error(`${done.error || done.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main() {
  if (!existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  const { chromium } = await import('playwright-core');
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const work = await mkdtemp(path.join(base, 'presign-page-bench-'));
  let server = null;
  let browser = null;
  try {
    const plainPath = path.join(work, 'plain.bin');
    const encryptedPath = path.join(work, 'plain.bin.enc');
    const plain = randomBytes(mib * 1024 * 1024);
    await writeFile(plainPath, plain);
    const sealed = spawnSync(presignBinary, ['encrypt', plainPath, '-o', encryptedPath], { encoding: 'utf8' });
    if (sealed.status !== 0) throw new Error(sealed.stderr);
    const key = sealed.stdout.trim();
    const body = await readFile(encryptedPath);

    server = await startServer(presignBinary, path.join(work, 'data'));
    const { api } = server.urls;
    const encryptedLink = (await apiJson(api, '/shares', { key: await upload(api, 'e0e1e2e3', body), encrypted: true })).url;
    const plainLink = (await apiJson(api, '/shares', { key: await upload(api, 'plain.bin', plain) })).url;
    const signed = async (link) => (await apiJson(api, link.slice(api.length), {})).url;

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    const page = await browser.newPage();
    await page.goto(`${encryptedLink}#${key}`);
    await page.waitForFunction(() => document.getElementById('share').dataset.decrypted === 'true');

    const inPage = {
      'page: plain download': (url) => page.evaluate(async (u) => {
        const start = performance.now();
        const response = await fetch(u, { cache: 'no-store', credentials: 'omit' });
        const reader = response.body.getReader();
        const parts = [];
        let size = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          size += value.length;
          parts.push(value);
        }
        const blob = new Blob(parts);
        return { seconds: (performance.now() - start) / 1000, size: blob.size };
      }, url),
      'page: download+decrypt': (url) => page.evaluate(async ({ u, k }) => {
        const start = performance.now();
        const response = await fetch(u, { cache: 'no-store', credentials: 'omit' });
        const { blob } = await presignE2E.decryptResponse(response, presignE2E.parseSecret(k));
        return { seconds: (performance.now() - start) / 1000, size: blob.size };
      }, { u: url, k: key }),
      'page: decrypt in memory': () => page.evaluate(async (k) => {
        const start = performance.now();
        const decryptor = new presignE2E.Decryptor(presignE2E.parseSecret(k));
        const parts = [];
        for (let at = 0; at < window.benchBody.length; at += 1 << 20) {
          parts.push(...(await decryptor.update(window.benchBody.subarray(at, at + (1 << 20)))));
        }
        parts.push(...(await decryptor.finish()));
        const blob = new Blob(parts);
        return { seconds: (performance.now() - start) / 1000, size: blob.size };
      }, key),
    };
    // The ciphertext in the page's memory for the in-memory run (fetched once, not timed).
    await page.evaluate(async (u) => {
      window.benchBody = new Uint8Array(await (await fetch(u)).arrayBuffer());
    }, await signed(encryptedLink));

    const out = path.join(work, 'out');
    const cli = {
      'cli: presign fetch': () => timed(() => spawnSync(presignBinary, ['fetch', `${encryptedLink}#${key}`, '-o', out])),
      'cli: presign decrypt': () => timed(() => spawnSync(presignBinary, ['decrypt', encryptedPath, '--key', key, '-o', out])),
      'cli: presign encrypt': () => timed(() => spawnSync(presignBinary, ['encrypt', plainPath, '-o', out])),
    };
    const best = {};
    const keep = (name, seconds) => { best[name] = Math.min(best[name] ?? Infinity, seconds); };
    for (let round = 0; round < rounds; round += 1) {
      for (const [name, run] of Object.entries(inPage)) {
        const link = name === 'page: plain download' ? plainLink : encryptedLink;
        const { seconds, size } = await run(await signed(link));
        if (size !== plain.length) throw new Error(`${name}: ${size} bytes instead of ${plain.length}`);
        keep(name, seconds);
      }
      for (const [name, run] of Object.entries(cli)) {
        keep(name, run());
        await rm(out, { force: true });
      }
    }
    const reference = best['page: plain download'];
    console.log(`${mib} MiB, best of ${rounds} rounds, serve's local store on 127.0.0.1, headless Chromium`);
    for (const [name, seconds] of Object.entries(best)) {
      const rate = plain.length / seconds / 1e6;
      console.log(`${name.padEnd(26)} ${seconds.toFixed(3).padStart(8)} s  ${rate.toFixed(0).padStart(6)} MB/s  `
        + `${(reference / seconds).toFixed(2)}x the page's plain download rate`);
    }
    const decrypt = plain.length / best['cli: presign decrypt'] / 1e9;
    console.log(`CLI decrypt goal >= 1 GB/s: ${decrypt >= 1 ? 'met' : 'NOT met'} (${decrypt.toFixed(2)} GB/s)`);
    console.log(`page download+decrypt / plain download: ${(reference / best['page: download+decrypt']).toFixed(2)}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`benchmark failed: ${error.message}`);
  process.exitCode = 1;
});
