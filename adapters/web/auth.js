// SPDX-License-Identifier: Apache-2.0
// Sign-in for the presign page: OpenID Connect authorization code + PKCE (S256, discovery) through
// oidc-client-ts (oidc-client-ts.min.js, pinned by tests/browser/package-lock.json), and the one-time
// confirmation of an API on another origin (?api=). app.js asks window.presignAuth for the
// Authorization header of each API call and tells it about a 401.
//
// Where the page signs in comes from the API's GET /config.json ({"issuer","clientId"}, optional
// "scope", "bearer": "id_token" (default) or "access_token", and "logoutEndpoint" for a provider whose
// discovery names no end_session_endpoint); {} means the API needs no sign-in.
// Tokens live in sessionStorage (this tab, until it closes) and memory, never in localStorage. The
// token is renewed with the refresh token shortly before it expires; when that fails the page asks
// the person to sign in again instead of showing a raw error.
'use strict';

window.presignAuth = (() => {
  const RENEW_BEFORE_SECONDS = 60;
  const CONFIRMED_APIS_KEY = 'presign.confirmedApis';
  const byId = (id) => document.getElementById(id);
  const ui = {
    bar: byId('auth-bar'),
    who: byId('auth-who'),
    signIn: byId('sign-in-button'),
    signOut: byId('sign-out-button'),
    note: byId('auth-note'),
    foreign: byId('foreign-api'),
    foreignHost: byId('foreign-api-host'),
    foreignUse: byId('foreign-api-use'),
    foreignIgnore: byId('foreign-api-ignore'),
  };

  /** Thrown when a call needs a signed-in person and there is none: app.js shows it in words. */
  class SignInNeeded extends Error {}

  let manager = null; // an oidc.UserManager once /config.json names a provider
  let providerLogout = null; // where sign-out ends a provider session without end_session_endpoint
  let bearerKind = 'id_token';
  let signedIn = null; // the oidc.User, in memory

  // ---------------------------------------------------------------------------------------------
  // A foreign API (?api= on another origin) is used only after the person confirms it once.

  function confirmedApis() {
    try {
      const list = JSON.parse(window.localStorage.getItem(CONFIRMED_APIS_KEY) || '[]');
      return Array.isArray(list) ? list.filter((item) => typeof item === 'string') : [];
    } catch {
      return [];
    }
  }

  function isForeign(base) {
    try {
      return new URL(base).origin !== window.location.origin;
    } catch {
      return true;
    }
  }

  /** Whether app.js may use `base` given through ?api=. Shows the question when it may not (yet). */
  function apiAllowed(base) {
    if (!base || !isForeign(base) || confirmedApis().includes(base)) return true;
    ui.foreignHost.textContent = base;
    ui.foreign.hidden = false;
    return false;
  }

  ui.foreignUse.addEventListener('click', () => {
    const base = ui.foreignHost.textContent;
    try {
      window.localStorage.setItem(CONFIRMED_APIS_KEY, JSON.stringify([...confirmedApis(), base]));
    } catch {
      // Without storage the question comes back next time; that is the safe side.
    }
    window.location.reload();
  });
  ui.foreignIgnore.addEventListener('click', () => {
    const url = new URL(window.location.href);
    url.searchParams.delete('api');
    window.location.replace(url.href);
  });

  // ---------------------------------------------------------------------------------------------
  // Sign-in

  function pageAddress() {
    return window.location.origin + window.location.pathname;
  }

  function secondsLeft(user) {
    const ends = [user.expires_at];
    if (bearerKind === 'id_token' && user.profile && typeof user.profile.exp === 'number') ends.push(user.profile.exp);
    const end = Math.min(...ends.filter((value) => typeof value === 'number'));
    return Number.isFinite(end) ? end - Date.now() / 1000 : Infinity;
  }

  function show(user, note = '') {
    signedIn = user;
    ui.bar.hidden = !manager;
    const name = user && user.profile ? (user.profile.email || user.profile.preferred_username || user.profile.sub) : '';
    ui.who.textContent = user ? `Signed in as ${name}` : 'Not signed in';
    ui.signIn.hidden = Boolean(user);
    ui.signOut.hidden = !user;
    ui.note.textContent = note;
    ui.note.hidden = !note;
  }

  async function loadConfig(base) {
    let response;
    try {
      response = await fetch(base + '/config.json', { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch {
      return null; // unreachable: app.js reports that on its first call
    }
    if (!response.ok) return null; // an API without /config.json signs nobody in
    try {
      const config = await response.json();
      return config && typeof config === 'object' ? config : null;
    } catch {
      return null;
    }
  }

  /** Reads the API's sign-in settings and finishes a sign-in the provider redirected back from. */
  async function start(base) {
    const config = base ? await loadConfig(base) : null;
    if (!config || typeof config.issuer !== 'string' || typeof config.clientId !== 'string' || !window.oidc) {
      show(null);
      return;
    }
    bearerKind = config.bearer === 'access_token' ? 'access_token' : 'id_token';
    providerLogout = logoutAddress(config.logoutEndpoint, config.clientId);
    const store = new window.oidc.WebStorageStateStore({ store: window.sessionStorage });
    manager = new window.oidc.UserManager({
      authority: config.issuer,
      client_id: config.clientId,
      redirect_uri: pageAddress(),
      post_logout_redirect_uri: pageAddress(),
      response_type: 'code',
      scope: typeof config.scope === 'string' ? config.scope : 'openid email',
      userStore: store,
      stateStore: store,
      loadUserInfo: false,
      automaticSilentRenew: false, // renewed on demand below, with the refresh token
      monitorSession: false,
      accessTokenExpiringNotificationTimeInSeconds: RENEW_BEFORE_SECONDS,
    });
    const query = new URLSearchParams(window.location.search);
    if (query.has('state') && (query.has('code') || query.has('error'))) {
      let returnTo = '';
      try {
        const user = await manager.signinRedirectCallback();
        returnTo = user && user.state && typeof user.state.search === 'string' ? user.state.search : '';
      } catch (error) {
        show(null, `Sign-in did not complete: ${error && error.message || error}`);
      }
      window.history.replaceState(null, '', pageAddress() + returnTo);
    }
    const user = await manager.getUser();
    show(user && !user.expired ? user : null);
  }

  /**
   * Cognito's hosted UI logout (GET /logout?client_id&logout_uri): its discovery document names no
   * end_session_endpoint, so /config.json gives it. Only https, or http on a loopback address.
   */
  function logoutAddress(endpoint, clientId) {
    if (typeof endpoint !== 'string' || !endpoint) return null;
    let url;
    try {
      url = new URL(endpoint);
    } catch {
      return null;
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return null;
    url.searchParams.set('client_id', clientId);
    url.searchParams.set('logout_uri', pageAddress());
    return url.href;
  }

  async function signIn() {
    if (!manager) return;
    await manager.signinRedirect({ state: { search: window.location.search } });
  }

  async function signOut() {
    if (!manager) return;
    const user = signedIn;
    await manager.removeUser();
    show(null, 'Signed out.');
    let endSession = null;
    try {
      endSession = await manager.metadataService.getEndSessionEndpoint();
    } catch {
      endSession = null;
    }
    // Ends the provider's session too, so the next sign-in on this device asks for the password
    // again: RP-initiated logout where the provider has an end-session endpoint, else the logout
    // address /config.json names (Cognito's hosted UI).
    if (!user) return;
    if (endSession) await manager.signoutRedirect({ id_token_hint: user.id_token });
    else if (providerLogout) window.location.assign(providerLogout);
  }

  /** Renews the session with the refresh token; false when the person must sign in again. */
  async function renew() {
    if (!manager) return false;
    const user = await manager.getUser();
    if (!user || !user.refresh_token) return false;
    try {
      show(await manager.signinSilent());
      return true;
    } catch {
      return false;
    }
  }

  function ended() {
    show(null, 'Your session has ended. Sign in again to continue.');
    return new SignInNeeded('Sign in to see, upload or share your files.');
  }

  /** Headers for an API call: Authorization when the API needs sign-in (renewing first if due). */
  async function headers() {
    if (!manager) return {};
    let user = await manager.getUser();
    if (!user) {
      show(null);
      throw new SignInNeeded('Sign in to see, upload or share your files.');
    }
    if (secondsLeft(user) < RENEW_BEFORE_SECONDS) {
      if (!(await renew())) throw ended();
      user = await manager.getUser();
    }
    const token = bearerKind === 'access_token' ? user.access_token : user.id_token;
    if (!token) throw ended();
    return { Authorization: `Bearer ${token}` };
  }

  /** After a 401 from the API: true when a renewed token is worth one more try. */
  async function unauthorized() {
    if (!manager) return false;
    if (await renew()) return true;
    await manager.removeUser();
    throw ended();
  }

  ui.signIn.addEventListener('click', () => { signIn(); });
  ui.signOut.addEventListener('click', () => { signOut(); });

  return { SignInNeeded, apiAllowed, start, headers, unauthorized, enabled: () => Boolean(manager) };
})();
