// SPDX-License-Identifier: Apache-2.0
// Sign-in end to end: a real OpenID Connect provider (npm oidc-provider, two test users, a public
// PKCE client) on 127.0.0.1, `presign serve --oidc-issuer --oidc-audience`, and headless Chromium.
// The page redirects to the provider, alice signs in, uploads and lists; bob, in a fresh context,
// signs in and can neither see nor have alice's file signed (the API answers 403); an expired token
// is renewed with the refresh token, or, without one, the page asks to sign in again; sign-out
// clears the session, and ends the provider's session (RP-initiated logout, or a Cognito-style
// logout endpoint when discovery names none); a foreign ?api= is only used after it is confirmed.
//
// usage: node signin.test.mjs <path to presign>   (CHROMIUM=<path> overrides /usr/bin/chromium)
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromiumArgs, plainUploads, startServer, stopServer } from './serve_helpers.mjs';

const CLIENT_ID = 'presign-page';
const USERS = { alice: 'alice@example.test', bob: 'bob@example.test' };
const FILE_NAME = 'alice-notes.txt';
const TEST_TIMEOUT_MS = 150_000;

const presignBinary = process.argv[2] || process.env.PRESIGN_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
let step = 0;
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  console.log(`ok ${++step} - ${what}`);
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** oidc-provider on 127.0.0.1: the page's public client (code + PKCE S256), alice and bob. */
async function startProvider(pageUrl) {
  const { default: Provider } = await import('oidc-provider');
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [pageUrl],
      post_logout_redirect_uris: [pageUrl],
    }],
    async findAccount(_ctx, id) {
      if (!USERS[id]) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email: USERS[id], email_verified: true }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // The email in the ID token itself, so the page can say who is signed in without userinfo.
    conformIdTokenClaims: false,
    // The page renews with the refresh token; this provider issues one to the page's client.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ['presign-browser-test-cookie-key'] },
    ttl: { IdToken: 600, AccessToken: 600, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
  });
  server.on('request', provider.callback());
  return { issuer, server };
}

async function signIn(page, pageUrl, issuer, user) {
  await page.goto(pageUrl);
  await page.locator('#sign-in-button').waitFor({ state: 'visible' });
  await page.click('#sign-in-button');
  await page.waitForURL((url) => url.href.startsWith(issuer));
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', 'any password: the test provider checks none');
  await page.click('button[type="submit"]');
  // The consent screen of the provider's development interactions, the first time.
  const consent = page.locator('button[type="submit"]', { hasText: 'Continue' });
  await Promise.race([consent.waitFor(), page.waitForURL((url) => url.href.startsWith(pageUrl))]);
  if (page.url().startsWith(issuer) && await consent.count()) await consent.click();
  await page.waitForURL((url) => url.href.startsWith(pageUrl) && !url.search.includes('code='));
  await page.locator('#auth-who').filter({ hasText: USERS[user] }).waitFor().catch(async (error) => {
    throw new Error(`${error.message}; the page says: ${await page.locator('#auth-bar').textContent()}`);
  });
}

const storedUser = (page) => page.evaluate(() => {
  const key = Object.keys(window.sessionStorage).find((name) => name.startsWith('oidc.user:'));
  return key ? { key, user: JSON.parse(window.sessionStorage.getItem(key)) } : null;
});

const apiStatus = (page, pathAndQuery, token) => page.evaluate(async ([target, bearer]) => {
  const response = await fetch(target, { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {} });
  return response.status;
}, [pathAndQuery, token]);

async function main() {
  if (!presignBinary || !existsSync(presignBinary)) throw new Error(`presign binary not found: ${presignBinary}`);
  // The page embeds oidc-client-ts's browser bundle as one of its files: exactly the pinned one.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const embedded = await readFile(path.join(here, '..', '..', 'adapters', 'web', 'oidc-client-ts.min.js'));
  const pinned = await readFile(path.join(here, 'node_modules', 'oidc-client-ts', 'dist', 'browser', 'oidc-client-ts.min.js'));
  check(embedded.equals(pinned), 'adapters/web/oidc-client-ts.min.js is the bundle of the pinned oidc-client-ts');
  const { chromium } = await import('playwright-core');
  const work = await mkdtemp(path.join(tmpdir(), 'presign-signin-'));
  const port = await freePort();
  const pageUrl = `http://127.0.0.1:${port}/`;
  const provider = await startProvider(pageUrl);
  let server = null;
  let browser = null;
  try {
    // The logout endpoint is only used for a provider whose discovery names no end_session_endpoint
    // (Cognito); the test plays that provider below by hiding the endpoint from one context.
    const cognitoLogout = `${provider.issuer}/cognito/logout`;
    server = await startServer(presignBinary, path.join(work, 'data'), ['--port', String(port),
      '--oidc-issuer', provider.issuer, '--oidc-audience', CLIENT_ID, '--oidc-logout-endpoint', cognitoLogout]);
    check(server.urls.api === pageUrl.slice(0, -1), `serve listening with sign-in (${server.urls.api})`);
    const file = path.join(work, FILE_NAME);
    await writeFile(file, 'alice wrote this\n');

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
    const pageErrors = [];
    const newPage = async () => {
      const context = await browser.newContext();
      await plainUploads(context);
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      return { context, page };
    };

    // ---- alice signs in, uploads, lists --------------------------------------------------------
    const a = await newPage();
    await a.page.goto(pageUrl);
    await a.page.locator('#sign-in-button').waitFor({ state: 'visible' });
    check(await a.page.locator('#files-error-text').textContent() !== null, 'signed out, the page offers "Sign in"');
    await signIn(a.page, pageUrl, provider.issuer, 'alice');
    check(true, 'the page redirected to the provider and alice signed in (code + PKCE)');
    const aliceSession = await storedUser(a.page);
    check(aliceSession && aliceSession.user.id_token && aliceSession.user.refresh_token,
      'tokens are in sessionStorage (with a refresh token)');
    const localText = await a.page.evaluate(() => JSON.stringify(Object.entries(window.localStorage)));
    check(!localText.includes(aliceSession.user.id_token.split('.')[1]) && !localText.includes('refresh_token'),
      'no token in localStorage');

    const uploaded = a.page.waitForResponse((response) => response.url().endsWith('/uploads')
      && response.request().method() === 'POST');
    await a.page.setInputFiles('#file-input', file);
    const ticket = await (await uploaded).json();
    check(typeof ticket.key === 'string' && ticket.key.includes('users/alice/'), 'alice uploads into her prefix', ticket.key);
    await a.page.locator('#upload-list').filter({ hasText: FILE_NAME }).waitFor();
    await a.page.click('#refresh-button');
    await a.page.locator('#upload-list').filter({ hasText: FILE_NAME }).waitFor();
    check(true, 'alice lists her file');
    const aliceToken = aliceSession.user.id_token;
    const downloadQuery = `/downloads?key=${encodeURIComponent(ticket.key)}`;
    check(await apiStatus(a.page, downloadQuery, aliceToken) === 200, 'alice may have her file signed');
    check(await apiStatus(a.page, downloadQuery, null) === 401, 'without a token: 401');

    // ---- bob, in a fresh context, sees nothing of alice's -----------------------------------------
    const b = await newPage();
    await signIn(b.page, pageUrl, provider.issuer, 'bob');
    const bobSession = await storedUser(b.page);
    check(bobSession && bobSession.user.profile.sub === 'bob', 'bob signs in in a fresh context');
    await b.page.click('#refresh-button');
    await b.page.waitForTimeout(1000);
    check(!(await b.page.locator('#upload-list').textContent()).includes(FILE_NAME), "bob's list does not show alice's file");
    const bobStatus = await apiStatus(b.page, downloadQuery, bobSession.user.id_token);
    check(bobStatus === 403 || bobStatus === 404, "the API refuses to sign alice's file for bob", String(bobStatus));

    // ---- sign-out clears the session ---------------------------------------------------------------
    await b.page.click('#sign-out-button');
    await b.page.waitForURL((url) => url.href.startsWith(provider.issuer) || url.href.startsWith(pageUrl));
    if (b.page.url().startsWith(provider.issuer)) {
      await b.page.click('button[name="logout"]');
      await b.page.waitForURL((url) => url.href.startsWith(pageUrl));
    }
    await b.page.locator('#sign-in-button').waitFor({ state: 'visible' });
    check(await storedUser(b.page) === null, 'sign-out clears the session (sessionStorage holds no user)');

    // ---- an expired token: renewed with the refresh token ---------------------------------------
    await a.page.evaluate(({ key }) => {
      const user = JSON.parse(window.sessionStorage.getItem(key));
      user.expires_at = Math.floor(Date.now() / 1000) - 10;
      window.sessionStorage.setItem(key, JSON.stringify(user));
    }, aliceSession);
    const renewed = a.page.waitForResponse((response) => response.url().startsWith(provider.issuer)
      && response.request().method() === 'POST');
    const listed = a.page.waitForResponse((response) => response.url().endsWith('/files'));
    await a.page.click('#refresh-button');
    check((await renewed).status() === 200, 'an expired token is renewed at the provider (refresh token)');
    check((await listed).status() === 200, '... and the listing goes through with the new token');
    const renewedSession = await storedUser(a.page);
    check(renewedSession.user.id_token !== aliceToken, 'the session holds a new ID token');

    // ---- expired without a refresh token: the page asks to sign in, no raw error ------------------
    await a.page.evaluate(({ key }) => {
      const user = JSON.parse(window.sessionStorage.getItem(key));
      user.expires_at = Math.floor(Date.now() / 1000) - 10;
      delete user.refresh_token;
      window.sessionStorage.setItem(key, JSON.stringify(user));
    }, renewedSession);
    await a.page.click('#refresh-button');
    await a.page.locator('#auth-note').filter({ hasText: 'Sign in again' }).waitFor();
    check(await a.page.locator('#sign-in-button').isVisible(), 'without a refresh token the page offers "Sign in" again');
    check((await a.page.locator('#files-error-text').textContent()).includes('Sign in'),
      'the list says to sign in (no raw error)');

    // ---- sign-out with a provider without end_session_endpoint (Cognito): its logout URL -------
    const d = await newPage();
    await d.page.route(`${provider.issuer}/.well-known/openid-configuration`, async (route) => {
      const response = await route.fetch();
      const discovery = await response.json();
      delete discovery.end_session_endpoint;
      await route.fulfill({ response, json: discovery });
    });
    const logoutCalls = [];
    await d.page.route(`${cognitoLogout}**`, (route) => {
      logoutCalls.push(route.request().url());
      return route.fulfill({ status: 302, headers: { Location: new URL(route.request().url()).searchParams.get('logout_uri') } });
    });
    await signIn(d.page, pageUrl, provider.issuer, 'bob');
    const leaving = d.page.waitForRequest((request) => request.url().startsWith(cognitoLogout));
    await d.page.click('#sign-out-button');
    await leaving;
    await d.page.waitForURL((url) => url.href === pageUrl);
    await d.page.waitForLoadState('load');
    await d.page.locator('#sign-in-button').waitFor({ state: 'visible' });
    check(logoutCalls.length === 1, 'without end_session_endpoint, sign-out goes to the logout endpoint of /config.json',
      JSON.stringify(logoutCalls));
    const logoutQuery = new URL(logoutCalls[0]).searchParams;
    check(logoutQuery.get('client_id') === CLIENT_ID && logoutQuery.get('logout_uri') === pageUrl,
      "... with Cognito's client_id and logout_uri (the page)", logoutCalls[0]);
    check(await storedUser(d.page) === null, '... and the session is cleared');

    // ---- a foreign ?api= is shown and used only when confirmed --------------------------------
    const c = await newPage();
    const foreign = 'http://127.0.0.1:9';
    const foreignRequests = [];
    c.page.on('request', (request) => { if (request.url().startsWith(foreign)) foreignRequests.push(request.url()); });
    await c.page.goto(`${pageUrl}?api=${encodeURIComponent(foreign)}`);
    await c.page.locator('#foreign-api').waitFor({ state: 'visible' });
    check((await c.page.locator('#foreign-api-host').textContent()) === foreign, 'a foreign ?api= is shown prominently');
    check(foreignRequests.length === 0, 'nothing is sent to it before it is confirmed');
    await c.page.click('#foreign-api-ignore');
    await c.page.waitForURL((url) => !url.search.includes('api='));
    check(true, '"No, stay here" drops it');

    check(pageErrors.length === 0, 'no script errors in the page', pageErrors.join('; '));
    const log = server.log();
    check(!log.includes(aliceToken.split('.')[2]) && !log.includes(bobSession.user.id_token.split('.')[2]),
      'no token in serve\'s log');
  } finally {
    if (browser) await browser.close();
    await stopServer(server);
    provider.server.close();
    await rm(work, { recursive: true, force: true });
  }
}

const timer = setTimeout(() => { console.error('signin test timed out'); process.exit(1); }, TEST_TIMEOUT_MS);
main().then(() => { clearTimeout(timer); process.exit(0); }, (error) => {
  clearTimeout(timer);
  console.error(`not ok - ${error && error.stack || error}`);
  process.exit(1);
});
