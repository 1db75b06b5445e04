// SPDX-License-Identifier: Apache-2.0
// Shared by the browser tests: starting and stopping the real `presign serve` on free ports.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { open } from 'node:fs/promises';

/** Starts `presign serve` on free ports and resolves with its two base URLs from the stdout line. */
export async function startServer(presignBinary, dataDir, extraArgs = []) {
  // A test that needs a known API port (a provider's redirect URI) passes its own --port.
  const portArgs = extraArgs.includes('--port') ? [] : ['--port', '0'];
  const child = spawn(presignBinary, ['serve', ...portArgs, '--s3-port', '0', '--data-dir', dataDir,
    ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk) => { output += chunk.toString(); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const urls = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no "listening" line in 20 s:\n${output}`)), 20_000);
    const look = () => {
      const match = /listening api=(http:\/\/127\.0\.0\.1:\d+)\S* s3=(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ api: match[1], s3: match[2] });
      }
    };
    child.stdout.on('data', look);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return { child, urls, log: () => output };
}

/**
 * Waits until serve's output holds `count` lines for which `matches(line)` is true and resolves
 * with the whole output. serve writes its access log in batches (at most 100 ms late) and in
 * order, so once an upload's CompleteMultipartUpload line is there, every line of its parts is too.
 */
export async function logWithLines(server, matches, count, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const output = server.log();
    if (output.split('\n').filter((line) => matches(line.trim())).length >= count) return output;
    if (Date.now() > deadline) throw new Error(`serve did not log ${count} such lines in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Whether `line` is the store's log of a successful POST to a key containing `name`: an upload in
 * parts has two, its CreateMultipartUpload and its CompleteMultipartUpload (the log has no query).
 */
export function isPostLine(line, name) {
  return /^s3 POST /.test(line) && (line.includes(name) || line.includes(name.replace(/ /g, '%20'))) && / 200$/.test(line);
}

/** serve's output once an upload in parts to a key containing `name` has been completed. */
export function logAfterComplete(server, name) {
  return logWithLines(server, (line) => isPostLine(line, name), 2);
}

export async function stopServer(server) {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * The page's plain flow (no encryption) in this browser context: "Encrypt in this browser" is on by
 * default for new visitors, so tests of the plain upload, list and share turn it off as a person
 * would, before the page's scripts run (a choice the test makes itself later is kept).
 */
export async function plainUploads(context) {
  await context.addInitScript(() => {
    try {
      if (window.localStorage.getItem('presign.encrypt.v1') === null) window.localStorage.setItem('presign.encrypt.v1', 'off');
    } catch {
      // an opaque origin has no storage, and no page to upload from
    }
  });
}

/** Writes `size` random bytes to `file` 4 MiB at a time; resolves to their SHA-256 (hex). */
export async function writeRandomFile(file, size) {
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    for (let left = size; left > 0;) {
      const block = randomBytes(Math.min(left, 4 << 20));
      hash.update(block);
      await handle.write(block);
      left -= block.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * A function that sets a page's default timeout and collects its script errors and console errors
 * (CSP violations among them; a refused request's own log line is expected) into `errors`.
 */
export function pageWatcher(errors, timeoutMs) {
  return (page) => {
    page.setDefaultTimeout(timeoutMs);
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(message.text());
    });
    return page;
  };
}

/** Headless Debian Chromium's launch options shared by the tests. */
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Runs a test's main() under a watchdog and prints its TAP-style summary; `passed` says how many
 * steps passed so far. A failure sets the exit code.
 */
export function runTest(main, { name, timeoutMs, passed }) {
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the ${name} did not finish within ${timeoutMs / 1000} s`);
    process.exit(1);
  }, timeoutMs);
  watchdog.unref();
  main().then(() => {
    console.log(`${name}: ${passed()} passed, 0 failed`);
  }, (error) => {
    console.error(`not ok ${passed() + 1} - ${error.message}`);
    console.log(`${name}: ${passed()} passed, 1 failed`);
    process.exitCode = 1;
  });
}

/**
 * TAP-style steps for a test: ok(what) prints the next passed step, check(condition, what, detail)
 * throws (failing the test) or prints it as passed; passed() counts them (for runTest).
 */
export function tapSteps() {
  let step = 0;
  const ok = (what) => console.log(`ok ${++step} - ${what}`);
  const check = (condition, what, detail = '') => {
    if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
    ok(what);
  };
  return { ok, check, passed: () => step };
}

/** The SHA-256 (hex) of the caller's file `key` as downloaded through the API's signed link, or "status N". */
export async function downloadSha256(api, key) {
  const signed = await (await fetch(`${api}/downloads?key=${encodeURIComponent(key)}`)).json();
  const response = await fetch(signed.url);
  if (response.status !== 200) return `status ${response.status}`;
  return createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex');
}
