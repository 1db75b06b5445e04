// SPDX-License-Identifier: Apache-2.0
// Benchmark of the page's encrypted upload (issue 19), not run by the tests: headless Debian
// Chromium drives the real page of `presign serve` and uploads the same file with "Encrypt in this
// browser" off (the plain flow: SHA-256 then one PUT, or parts above the multipart threshold) and
// on (encrypted with WebCrypto; parts encrypted while others are on the wire), alternately, and
// prints each one's MB/s (of the file's bytes, from choosing the file to the row in the list) and
// the ratio encrypted / plain beside its goal (>= 0.7) for each size.
//
// usage: node page_e2e_bench.mjs PRESIGN_BINARY [--sizes-mib 48,320] [--rounds 3]
// Needs tests/browser's node_modules (npm ci --prefix tests/browser) and /usr/bin/chromium
// (CHROMIUM overrides).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumArgs, startServer, stopServer, writeRandomFile } from '../browser/serve_helpers.mjs';

const GOAL_RATIO = 0.7;
const MIB = 1 << 20;
const here = path.dirname(fileURLToPath(import.meta.url));

function argument(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Uploads `file` through the page with the choice set; resolves to seconds; deletes the object after. */
async function timedUpload(page, api, file, encrypted) {
  await page.goto(`${api}/`);
  await page.evaluate((on) => localStorage.setItem('presign.encrypt.v1', on ? 'on' : 'off'), encrypted);
  await page.reload();
  await page.waitForFunction(() => document.getElementById('drop-zone').dataset.state === 'idle');
  const before = new Set(await page.locator('.upload-item').evaluateAll((rows) => rows.map((row) => row.dataset.key)));
  const started = process.hrtime.bigint();
  await page.setInputFiles('#file-input', file);
  await page.waitForFunction((known) => [...document.querySelectorAll('.upload-item')].some((row) => !known.includes(row.dataset.key))
    && document.getElementById('drop-zone').dataset.state === 'idle', [...before], { timeout: 600_000, polling: 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const status = await page.locator('#status').textContent();
  if (!/Uploaded/.test(status)) throw new Error(`the upload did not finish: ${status}`);
  const keys = await page.locator('.upload-item').evaluateAll((rows) => rows.map((row) => row.dataset.key));
  for (const key of keys.filter((k) => !before.has(k))) {
    const ticket = await (await fetch(`${api}/files?key=${encodeURIComponent(key)}`, { method: 'DELETE' })).json();
    await fetch(ticket.url, { method: ticket.method || 'DELETE' });
  }
  return seconds;
}

async function main() {
  const presignBinary = process.argv[2];
  if (!presignBinary || !existsSync(presignBinary)) throw new Error('usage: node page_e2e_bench.mjs PRESIGN_BINARY [--sizes-mib 48,320] [--rounds 3]');
  const sizes = argument('--sizes-mib', '48,320').split(',').map((mib) => Math.round(Number(mib) * MIB));
  const rounds = Number(argument('--rounds', '3'));
  const requireFromBrowserTests = createRequire(path.join(here, '..', 'browser', 'package.json'));
  const { chromium } = requireFromBrowserTests('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-page-e2e-bench-'));
  let server = null;
  let browser = null;
  let failed = false;
  try {
    server = await startServer(presignBinary, path.join(work, 'data'));
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: chromiumArgs });
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error}`));
    console.log(`page upload through presign serve on 127.0.0.1, median of ${rounds} alternating runs`);
    for (const size of sizes) {
      const file = path.join(work, `bench-${size}.bin`);
      await writeRandomFile(file, size);
      const plain = [];
      const encrypted = [];
      for (let round = 0; round < rounds; round += 1) {
        plain.push(await timedUpload(page, server.urls.api, file, false));
        encrypted.push(await timedUpload(page, server.urls.api, file, true));
      }
      const plainRate = size / median(plain) / 1e6;
      const encryptedRate = size / median(encrypted) / 1e6;
      const ratio = encryptedRate / plainRate;
      const mib = (size / MIB).toFixed(0);
      console.log(`${mib.padStart(5)} MiB  plain     ${plainRate.toFixed(1).padStart(8)} MB/s  (${plain.map((s) => s.toFixed(2)).join(', ')} s)`);
      console.log(`${mib.padStart(5)} MiB  encrypted ${encryptedRate.toFixed(1).padStart(8)} MB/s  (${encrypted.map((s) => s.toFixed(2)).join(', ')} s)`);
      console.log(`${mib.padStart(5)} MiB  ratio encrypted/plain ${ratio.toFixed(2)}  (goal >= ${GOAL_RATIO}) ${ratio >= GOAL_RATIO ? 'met' : 'NOT met'}`);
      failed ||= ratio < GOAL_RATIO;
      await rm(file, { force: true });
    }
  } finally {
    if (browser) await browser.close();
    await stopServer(server);
    await rm(work, { recursive: true, force: true });
  }
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exitCode = 2;
});
