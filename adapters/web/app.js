// SPDX-License-Identifier: Apache-2.0
// The presign web page: ask the API for a signed upload URL, PUT the file straight to storage with a
// progress bar, list the caller's files from storage (a signed ListObjectsV2, every page), and
// download, share or delete them. localStorage only caches the last listing.
// With "Encrypt in this browser" (issue 19, on by default, remembered) the file and its name are
// encrypted here (e2e.js, RFC 8188) before they leave: the store gets an application/octet-stream
// object under an opaque name, the key stays in this browser (keystore.js, IndexedDB) and in the
// share link's #fragment only.
// Plain JavaScript, no build step, no dependencies. All text that comes from a user, a file name or a
// server goes into the page through textContent or attributes, never as HTML.
'use strict';

(() => {
  const UPLOADS_STORAGE_KEY = 'presign.uploads.v1';
  const API_BASE_STORAGE_KEY = 'presign.apiBase';
  const ENCRYPT_STORAGE_KEY = 'presign.encrypt.v1'; // "off" when the person turned encryption off
  // The name every encrypted object is stored under (the server adds a random id before it): it
  // says the object is RFC 8188 aes128gcm and nothing of the file's name, not even its extension.
  const ENCRYPTED_NAME = 'encrypted.aes128gcm';
  const OCTET_STREAM = 'application/octet-stream';
  // Encrypted uploads above this size go in parts even below the server's multipart threshold:
  // each part is encrypted while others are on the wire, rather than all before the first byte.
  const ENCRYPTED_PARTS_FROM = 16 * 1024 * 1024;
  const E2E_VARIANT = 'e2e'; // keeps encrypted uploads' saved plans apart from plain ones
  // The cached copy of the listing (shown before the storage answers); 5000 entries are ~1 MB.
  const MAX_LIST_ENTRIES = 5000;
  // A listing is 1000 keys a page; past this many pages the page stops rather than loop forever.
  const MAX_LIST_PAGES = 100;
  // Files up to this size get a SHA-256 that the API signs as x-amz-checksum-sha256, so storage
  // refuses bytes that changed on the way. Hashing reads the file into memory, hence the limit.
  const CHECKSUM_MAX_BYTES = 256 * 1024 * 1024;
  const SPEED_WINDOW_MS = 2000;
  const MIN_RATE_SECONDS = 0.2;

  // Headers a page may not set on XMLHttpRequest: the browser sends them itself (Content-Length is
  // the file's size, which is what the API signed).
  const FORBIDDEN_HEADERS = new Set([
    'accept-charset', 'accept-encoding', 'access-control-request-headers',
    'access-control-request-method', 'connection', 'content-length', 'cookie', 'cookie2', 'date',
    'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer', 'set-cookie', 'te', 'trailer',
    'transfer-encoding', 'upgrade', 'via',
  ]);
  const isForbiddenHeader = (lowerName) =>
    FORBIDDEN_HEADERS.has(lowerName) || lowerName.startsWith('proxy-') || lowerName.startsWith('sec-');

  const byId = (id) => document.getElementById(id);
  const ui = {
    dropZone: byId('drop-zone'),
    fileInput: byId('file-input'),
    transfer: byId('transfer'),
    transferName: byId('transfer-name'),
    transferSize: byId('transfer-size'),
    progress: byId('progress'),
    progressText: byId('progress-text'),
    speedText: byId('speed-text'),
    cancelButton: byId('cancel-button'),
    status: byId('status'),
    error: byId('error'),
    errorText: byId('error-text'),
    errorDetail: byId('error-detail'),
    list: byId('upload-list'),
    emptyNote: byId('empty-note'),
    refreshButton: byId('refresh-button'),
    filesStatus: byId('files-status'),
    filesError: byId('files-error'),
    filesErrorText: byId('files-error-text'),
    filesErrorDetail: byId('files-error-detail'),
    settings: byId('settings'),
    settingsForm: byId('settings-form'),
    apiBaseInput: byId('api-base'),
    apiReset: byId('api-reset'),
    apiCurrent: byId('api-current'),
    encryptToggle: byId('encrypt-toggle'),
    encryptHelp: byId('encrypt-help'),
    keysCount: byId('keys-count'),
    keysStatus: byId('keys-status'),
    exportKeysButton: byId('export-keys-button'),
    importKeysButton: byId('import-keys-button'),
    importKeysInput: byId('import-keys-input'),
  };
  const e2e = window.presignE2E;
  const keys = window.presignKeys;

  /** An error with a sentence for people and, separately, the technical detail. */
  class FriendlyError extends Error {
    constructor(message, detail = '') {
      super(message);
      this.detail = detail;
    }
  }
  class CancelledError extends Error {}

  // ---------------------------------------------------------------------------------------------
  // Formatting

  // Sizes and times as the recipient page shows them (format.js).
  const { bytes: formatBytes, time: formatTime } = window.presignFormat;

  function formatDuration(totalSeconds) {
    const s = Math.max(0, Math.ceil(totalSeconds));
    const days = Math.floor(s / 86400);
    const hours = Math.floor((s % 86400) / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    const seconds = s % 60;
    if (days > 0) return `${days} d ${hours} h`;
    if (hours > 0) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
    return `${minutes}:${String(seconds).padStart(2, '0')}`;
  }

  function formatLifetimeWords(totalSeconds) {
    const s = Math.round(totalSeconds);
    if (s % 86400 === 0 && s >= 86400) return `${s / 86400} day${s === 86400 ? '' : 's'}`;
    if (s % 3600 === 0 && s >= 3600) return `${s / 3600} hour${s === 3600 ? '' : 's'}`;
    if (s % 60 === 0 && s >= 60) return `${s / 60} minute${s === 60 ? '' : 's'}`;
    return `${s} second${s === 1 ? '' : 's'}`;
  }

  /** True for names and addresses that reach only this machine (127.0.0.0/8, ::1, localhost). */
  function isLoopbackHost(hostname) {
    const host = hostname.toLowerCase();
    return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '[::1]';
  }

  function hostOf(url) {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Storage that never throws (private windows and full quotas make localStorage fail)

  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  }

  function loadUploads() {
    let parsed;
    try {
      parsed = JSON.parse(storageGet(UPLOADS_STORAGE_KEY) || '[]');
    } catch {
      return [];
    }
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((entry) => entry && typeof entry === 'object'
      && typeof entry.name === 'string' && typeof entry.key === 'string' && entry.key !== ''
      && Number.isFinite(entry.size) && Number.isFinite(entry.time)
      && (entry.apiBase === undefined || typeof entry.apiBase === 'string'));
  }

  function saveUploads(entries) {
    return storageSet(UPLOADS_STORAGE_KEY, JSON.stringify(entries.slice(0, MAX_LIST_ENTRIES)));
  }

  // ---------------------------------------------------------------------------------------------
  // API address: ?api= beats the saved setting, which beats this page's own origin.

  /** Returns the URL without trailing slashes, or null when it is not an http(s) URL. */
  function normalizeApiBase(text) {
    const trimmed = String(text || '').trim();
    if (trimmed === '') return null;
    let url;
    try {
      url = new URL(trimmed);
    } catch {
      return null;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.username || url.password) return null;
    url.search = '';
    url.hash = '';
    return url.href.replace(/\/+$/, '');
  }

  function apiBaseFromQuery() {
    const value = new URLSearchParams(window.location.search).get('api');
    return value === null ? null : normalizeApiBase(value);
  }

  function ownOrigin() {
    const origin = window.location.origin;
    return origin && origin !== 'null' ? origin : null;
  }

  function currentApiBase() {
    // A ?api= on another origin counts only once the person confirmed it (auth.js asks).
    const fromQuery = apiBaseFromQuery();
    const confirmed = fromQuery && window.presignAuth.apiAllowed(fromQuery) ? fromQuery : null;
    return confirmed || normalizeApiBase(storageGet(API_BASE_STORAGE_KEY)) || ownOrigin();
  }

  function showApiSetting() {
    const saved = normalizeApiBase(storageGet(API_BASE_STORAGE_KEY));
    ui.apiBaseInput.value = saved || '';
    const fromQuery = apiBaseFromQuery();
    const base = currentApiBase();
    let source = '';
    if (fromQuery) source = ' (from the page address)';
    else if (!saved) source = ' (this page’s server)';
    ui.apiCurrent.textContent = base ? base + source : 'nothing yet: enter the API address above';
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  function setStatus(text) {
    ui.status.textContent = text;
  }

  /** A new action starts: the finished upload's panel and the last error make way for it. */
  function startNextAction() {
    if (!busy) ui.transfer.hidden = true;
    clearError();
  }

  // An error box: the box, its sentence and its detail line (the upload's, or the file list's).
  const uploadErrorBox = { box: ui.error, text: ui.errorText, detail: ui.errorDetail };
  const filesErrorBox = { box: ui.filesError, text: ui.filesErrorText, detail: ui.filesErrorDetail };

  function clearErrorBox({ box, text, detail }) {
    box.hidden = true;
    text.textContent = '';
    detail.textContent = '';
  }

  function showErrorBox({ box, text, detail }, error) {
    const friendly = error instanceof FriendlyError ? error
      : new FriendlyError('Something unexpected went wrong in this page.', String(error && error.message || error));
    text.textContent = friendly.message;
    detail.textContent = friendly.detail ? `Details: ${friendly.detail}` : '';
    detail.hidden = !friendly.detail;
    box.hidden = false;
  }

  function clearError() {
    clearErrorBox(uploadErrorBox);
  }

  function showError(error) {
    showErrorBox(uploadErrorBox, error);
    setStatus('');
  }

  /** Turns an API answer {"error":{"code","message"}} into words. `context` names the file or key. */
  function apiError(status, body, rawText, context) {
    const code = body && body.error && typeof body.error.code === 'string' ? body.error.code : '';
    const message = body && body.error && typeof body.error.message === 'string' ? body.error.message : '';
    const detail = code ? `${code} (HTTP ${status})${message ? `: ${message}` : ''}`
      : `HTTP ${status}${rawText ? `: ${rawText.slice(0, 200)}` : ''}`;
    const name = context.fileName ? `“${context.fileName}”` : 'This file';
    // The service states its limit as "... limit of N bytes"; say it in megabytes when it does.
    const limit = /\b(\d+) bytes\b/.exec(message);
    // ... and its allowed types as "...; allowed types: image/*, text/plain".
    const allowedTypes = /allowed types: ([^;]+?)\.?$/.exec(message);
    const sentences = {
      too_large: `${name} is too large to share here${context.fileSize !== undefined ? ` (${formatBytes(context.fileSize)})` : ''}. `
        + (limit ? `The limit is ${formatBytes(Number(limit[1]))}.` : 'Try a smaller file.'),
      content_type_not_allowed: `Files of this type${context.contentType ? ` (${context.contentType})` : ''} can’t be shared here.`
        + (allowedTypes ? ` Allowed types: ${allowedTypes[1]}.` : ''),
      invalid_filename: `${name} has a name the server can’t accept. Rename the file and try again.`,
      invalid_size: `${name} has a size the server can’t accept${context.fileSize === 0 ? ' (it is empty)' : ''}.`,
      invalid_checksum: 'The server did not accept the file’s checksum. Try again.',
      invalid_json: 'The server could not read this page’s request. Reload the page and try again.',
      invalid_key: 'This file can’t be shared: the server does not accept its name.',
      key_outside_prefix: `This file belongs to another account, so it can’t be ${context.operation === 'delete' ? 'deleted' : 'shared'} from here.`,
      invalid_cursor: 'The server could not continue the list of your files. Use “Refresh” to start it again.',
      unauthorized: 'This server needs you to sign in before you can see, upload or share files.',
      not_found: context.operation === 'download'
        ? 'The server does not know this file any more.'
        : 'The API address does not answer like a presign server. Check it in Settings.',
      method_not_allowed: 'The server refused this kind of request. Check the API address in Settings.',
      signing_failed: 'The server could not sign a link right now. Try again in a moment.',
      internal: 'Something went wrong on the server. Try again in a moment.',
    };
    if (sentences[code]) return new FriendlyError(sentences[code], detail);
    if (status === 401 || status === 403) return new FriendlyError(sentences.unauthorized, detail);
    if (status === 413) return new FriendlyError(sentences.too_large, detail);
    if (status === 415) return new FriendlyError(sentences.content_type_not_allowed, detail);
    if (status === 429) return new FriendlyError('The server is busy. Wait a moment and try again.', detail);
    if (status >= 500) return new FriendlyError(sentences.internal, detail);
    if (!code) {
      return new FriendlyError('The API address does not answer like a presign server. Check it in Settings.', detail);
    }
    return new FriendlyError(`The server refused the request (${code}).`, detail);
  }

  /** Reads S3's XML error body <Error><Code>…</Code><Message>…</Message></Error>. */
  function parseS3Error(text) {
    if (!text) return { code: '', message: '' };
    try {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      if (doc.getElementsByTagName('parsererror').length > 0) return { code: '', message: '' };
      const pick = (tag) => {
        const node = doc.getElementsByTagName(tag)[0];
        return node ? node.textContent.trim() : '';
      };
      return { code: pick('Code'), message: pick('Message') };
    } catch {
      return { code: '', message: '' };
    }
  }

  /** Turns a refusal from the storage (S3, the local store, RGW, MinIO) into words. */
  function storageError(status, responseText, context) {
    const { code, message } = parseS3Error(responseText);
    const detail = code ? `${code} (HTTP ${status})${message ? `: ${message}` : ''}` : `HTTP ${status}`;
    const name = context.fileName ? `“${context.fileName}”` : 'the file';
    const upload = context.operation === 'upload';
    const listing = context.operation === 'list';
    if (code === 'AccessDenied' && /expired/i.test(message)) {
      return new FriendlyError(upload
        ? `The upload link for ${name} expired before the upload finished. Try again.`
        : 'This link has expired. Copy a new share link.', detail);
    }
    const sentences = {
      SignatureDoesNotMatch: upload
        ? `The storage refused ${name}: the upload did not match what the server signed (the file may have changed while it was sent). Try again.`
        : listing ? 'The storage refused to list your files: the request did not match what the server signed.'
          : 'The storage refused this link: it has been altered or was signed with other settings.',
      AccessDenied: 'The storage refused access. The server may not be allowed to write there.',
      BadDigest: `${name} changed while it was being uploaded (its checksum does not match). Try again.`,
      XAmzContentChecksumMismatch: `${name} changed while it was being uploaded (its checksum does not match). Try again.`,
      XAmzContentSHA256Mismatch: `${name} changed while it was being uploaded (its checksum does not match). Try again.`,
      InvalidDigest: `${name} changed while it was being uploaded (its checksum does not match). Try again.`,
      EntityTooLarge: `${name} is larger than the storage accepts.`,
      IncompleteBody: `The upload of ${name} was interrupted before the whole file arrived. Try again.`,
      RequestTimeout: `The upload of ${name} was too slow and the storage gave up. Try again.`,
      RequestTimeTooSkewed: 'Your computer’s clock is too far off for the storage to accept this. Set the correct time and try again.',
      NoSuchKey: 'This file is no longer in storage.',
      NoSuchBucket: 'The storage bucket does not exist. The server needs to be set up again.',
      SlowDown: 'The storage is busy. Wait a moment and try again.',
      ServiceUnavailable: 'The storage is busy. Wait a moment and try again.',
      InternalError: 'The storage had an internal problem. Try again in a moment.',
    };
    if (sentences[code]) return new FriendlyError(sentences[code], detail);
    if (status === 403) return new FriendlyError(sentences.AccessDenied, detail);
    if (status >= 500) return new FriendlyError(sentences.InternalError, detail);
    const what = upload ? `the upload of ${name}` : listing ? 'the list of your files'
      : context.operation === 'delete' ? `to delete ${name}` : 'the request';
    return new FriendlyError(`The storage refused ${what}${code ? ` (${code})` : ''}.`, detail);
  }

  // ---------------------------------------------------------------------------------------------
  // API calls

  /**
   * After a request failed without an answer: true when something does answer at `url` (a no-cors
   * request gets an opaque answer from any server that answers at all), so the failure was CORS
   * refusing this page's origin rather than an unreachable server.
   */
  async function answersWithoutCors(url) {
    try {
      await fetch(url, { method: 'GET', mode: 'no-cors', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
      return true;
    } catch {
      return false;
    }
  }

  function pageOrigin() {
    return ownOrigin() || window.location.origin;
  }

  /** The Authorization header of a signed-in person (auth.js); sign-in needed becomes words. */
  async function authHeaders() {
    try {
      return await window.presignAuth.headers();
    } catch (error) {
      if (error instanceof window.presignAuth.SignInNeeded) throw new FriendlyError(error.message);
      throw error;
    }
  }

  async function callApi(base, method, path, body, context, retried = false) {
    let response;
    const headers = await authHeaders();
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (error) {
      const detail = String(error && error.message || error);
      if (await answersWithoutCors(base + path)) {
        throw new FriendlyError(`The server at ${hostOf(base)} does not allow this page’s origin, ${pageOrigin()}. `
          + `Add ${pageOrigin()} to the origins it allows (presign serve --allowed-origins, or AllowedOrigin on AWS).`,
        `${detail} (refused by CORS)`);
      }
      throw new FriendlyError(
        `Could not reach the server at ${hostOf(base)}. Check your connection, or the API address in Settings.`,
        detail);
    }
    const text = await response.text().catch(() => '');
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (response.status === 401 && !retried && window.presignAuth.enabled()) {
      // An expired or revoked token: renew once and retry, or ask the person to sign in again.
      let again = false;
      try {
        again = await window.presignAuth.unauthorized();
      } catch (error) {
        if (error instanceof window.presignAuth.SignInNeeded) throw new FriendlyError(error.message);
        throw error;
      }
      if (again) return callApi(base, method, path, body, context, true);
    }
    if (!response.ok) throw apiError(response.status, data, data ? '' : text, context);
    if (!data || typeof data !== 'object') {
      throw new FriendlyError('The API address does not answer like a presign server. Check it in Settings.',
        `HTTP ${response.status}: not JSON`);
    }
    return data;
  }

  async function sha256Base64(file) {
    const digest = await window.crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    let binary = '';
    for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
    return window.btoa(binary);
  }

  // ---------------------------------------------------------------------------------------------
  // The transfer itself

  let currentRequest = null;
  let cancelRequested = false;

  function putFile(ticket, file, context, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      currentRequest = xhr;
      xhr.open(ticket.method, ticket.url);
      for (const [name, value] of Object.entries(ticket.headers)) {
        if (isForbiddenHeader(name.toLowerCase())) continue;
        xhr.setRequestHeader(name, String(value));
      }
      xhr.upload.addEventListener('progress', (event) => {
        onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
      });
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
        else reject(storageError(xhr.status, xhr.responseText, context));
      });
      xhr.addEventListener('error', () => {
        answersWithoutCors(ticket.url).then((answers) => reject(answers
          ? new FriendlyError(`The storage at ${hostOf(ticket.url)} does not allow uploads from this page’s origin, ${pageOrigin()}. `
            + `Its CORS rules must allow ${pageOrigin()} (presign serve --allowed-origins, or AllowedOrigin on AWS).`,
          'network error (refused by CORS)')
          : new FriendlyError(`The upload could not reach the storage at ${hostOf(ticket.url)}. Check your connection.`,
            'network error')));
      });
      xhr.addEventListener('abort', () => reject(new CancelledError('cancelled')));
      xhr.send(file);
    });
  }

  function createSpeedMeter() {
    const samples = [];
    return (loaded) => {
      const now = performance.now();
      samples.push({ now, loaded });
      while (samples.length > 2 && now - samples[0].now > SPEED_WINDOW_MS) samples.shift();
      const first = samples[0];
      const elapsed = (now - first.now) / 1000;
      return elapsed > 0.2 ? (loaded - first.loaded) / elapsed : null;
    };
  }

  function showTransfer(file) {
    ui.transfer.hidden = false;
    ui.transferName.textContent = file.name;
    ui.transferSize.textContent = formatBytes(file.size);
    ui.progress.value = 0;
    ui.progressText.textContent = '0 %';
    ui.speedText.textContent = '';
    ui.cancelButton.hidden = false;
    ui.dropZone.dataset.state = 'busy';
  }

  function showProgress(loaded, total, bytesPerSecond) {
    const percent = total > 0 ? Math.min(100, Math.floor((loaded / total) * 100)) : 100;
    ui.progress.value = percent;
    ui.progressText.textContent = `${percent} %`;
    if (bytesPerSecond && bytesPerSecond > 0) {
      const left = Math.max(0, total - loaded) / bytesPerSecond;
      ui.speedText.textContent = `${formatBytes(bytesPerSecond)}/s${left >= 1 ? ` · ${formatDuration(left)} left` : ''}`;
    }
  }

  function validTicket(ticket) {
    return ticket && typeof ticket.url === 'string' && /^https?:\/\//i.test(ticket.url)
      && (ticket.method === undefined || typeof ticket.method === 'string')
      && (ticket.headers === undefined || (ticket.headers && typeof ticket.headers === 'object'));
  }

  async function uploadOne(file) {
    const base = currentApiBase();
    if (!base) {
      ui.settings.open = true;
      throw new FriendlyError('Enter the API address in Settings first.');
    }
    if (encryptionChosen()) return uploadEncrypted(file, base);
    const contentType = file.type || 'application/octet-stream';
    const context = { operation: 'upload', fileName: file.name, fileSize: file.size, contentType };
    showTransfer(file);
    const request = { filename: file.name, contentType, size: file.size };
    if (file.size > 0 && file.size <= CHECKSUM_MAX_BYTES && window.crypto && window.crypto.subtle) {
      setStatus(`Reading “${file.name}”…`);
      try {
        request.sha256 = await sha256Base64(file);
      } catch {
        // Unreadable here means unreadable for the upload too; that error is reported below.
      }
    }
    if (cancelRequested) throw new CancelledError('cancelled');
    setStatus(`Asking the server to sign an upload for “${file.name}”…`);
    // Large files go in parts (multipart.js): a plan saved for this very file resumes it.
    const parts = window.presignMultipart;
    const ticket = (parts && parts.saved(file, base)) || await callApi(base, 'POST', '/uploads', request, context);
    if (parts && ticket && ticket.multipart === true) {
      const meter = createSpeedMeter();
      await parts.upload({ base, file, plan: ticket, context, callApi, storageError, isForbiddenHeader, FriendlyError,
        CancelledError, setStatus, onProgress: (loaded, total) => showProgress(loaded, total, meter(loaded)) });
      showProgress(file.size, file.size, null);
      ui.speedText.textContent = 'Done';
      return { name: file.name, size: file.size, key: ticket.key, time: Date.now(), apiBase: base };
    }
    if (!validTicket(ticket)) {
      throw new FriendlyError('The server’s answer is missing the upload address.', JSON.stringify(ticket).slice(0, 200));
    }
    if (cancelRequested) throw new CancelledError('cancelled');
    const headers = ticket.headers || {};
    const signedLength = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-length');
    if (signedLength && Number(signedLength[1]) !== file.size) {
      throw new FriendlyError(`“${file.name}” changed size since it was chosen. Choose it again.`,
        `signed content-length ${signedLength[1]}, file ${file.size}`);
    }
    setStatus(`Uploading “${file.name}”…`);
    const meter = createSpeedMeter();
    const started = performance.now();
    await putFile({ method: (ticket.method || 'PUT').toUpperCase(), url: ticket.url, headers }, file, context,
      (loaded, total) => showProgress(loaded, total, meter(loaded)));
    const seconds = (performance.now() - started) / 1000;
    showProgress(file.size, file.size, null);
    // Below ~0.2 s the rate says more about timer resolution than about the network.
    ui.speedText.textContent = seconds >= MIN_RATE_SECONDS && file.size > 0
      ? `Done in ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s · ${formatBytes(file.size / seconds)}/s`
      : 'Done';
    return {
      name: file.name,
      size: file.size,
      key: typeof ticket.key === 'string' ? ticket.key : '',
      time: Date.now(),
      apiBase: base,
    };
  }

  // ---- encrypted uploads ----

  function encryptionChosen() {
    return Boolean(e2e && e2e.available && keys && ui.encryptToggle.checked);
  }

  /** The last segment of an object key: the name the server stored it under. */
  const storedNameOf = (key) => key.slice(key.lastIndexOf('/') + 1);

  /**
   * Encrypts and uploads `file`: one PUT of the whole ciphertext for small files, parts encrypted
   * one by one just before they are sent for larger ones. The key (with the salt, so that a
   * reload can resume with the same ciphertext) is kept before any byte is sent: an upload whose
   * key could not be kept would store a file nobody can open.
   */
  async function uploadEncrypted(file, base) {
    const context = { operation: 'upload', fileName: file.name, fileSize: file.size, contentType: OCTET_STREAM };
    showTransfer(file);
    await keys.ready();
    const parts = window.presignMultipart;
    // A plan saved for this very file resumes, with the secret and salt kept under its key.
    let ticket = parts ? parts.saved(file, base, E2E_VARIANT) : null;
    let kept = ticket ? keys.lookup(ticket.key) : null;
    setStatus(`Encrypting “${file.name}” in this browser…`);
    let encryptor = await e2e.createEncryptor(file, kept && kept.salt
      ? { secret: e2e.parseSecret(kept.secret), salt: e2e.parseSecret(kept.salt) } : {});
    if (ticket && (!kept || !kept.salt || encryptor.size !== ticket.size)) {
      parts.discard(file, base, E2E_VARIANT); // its key is gone: start afresh
      ticket = null;
      kept = null;
      encryptor = await e2e.createEncryptor(file);
    }
    if (cancelRequested) throw new CancelledError('cancelled');
    if (!ticket) {
      setStatus(`Asking the server to sign an upload for “${file.name}”…`);
      const request = { filename: ENCRYPTED_NAME, contentType: OCTET_STREAM, size: encryptor.size };
      if (encryptor.size > ENCRYPTED_PARTS_FROM) request.multipart = true;
      try {
        ticket = await callApi(base, 'POST', '/uploads', request, context);
      } catch (error) {
        // A server without multipart (no LINK_SECRET) still takes one PUT.
        if (!request.multipart || !/multipart_disabled/.test(error && error.detail || '')) throw error;
        delete request.multipart;
        ticket = await callApi(base, 'POST', '/uploads', request, context);
      }
      if (!ticket || typeof ticket.key !== 'string' || ticket.key === '') {
        throw new FriendlyError('The server did not say where the file will be stored.', JSON.stringify(ticket).slice(0, 200));
      }
      try {
        kept = await keys.put({
          key: ticket.key, secret: e2e.base64urlEncode(encryptor.secret), salt: e2e.base64urlEncode(encryptor.salt),
          name: file.name, type: file.type || OCTET_STREAM, size: file.size, created: Date.now(), complete: false,
        });
      } catch (error) {
        throw new FriendlyError(`This browser could not keep the key of “${file.name}”, so nobody could open it once uploaded. `
          + 'Nothing was sent. Free some space for this site, or turn off “Encrypt in this browser”.', String(error && error.message || error));
      }
    }
    const finished = async () => {
      await keys.put({ ...kept, complete: true });
      renderKeysSummary();
      return { name: storedNameOf(ticket.key), size: encryptor.size, key: ticket.key, time: Date.now(), apiBase: base };
    };
    const meter = createSpeedMeter();
    const onProgress = (loaded, total) => showProgress(loaded, total, meter(loaded));
    // A part as a Blob: Chromium's XMLHttpRequest sends a Blob body many times faster than the same
    // bytes as an ArrayBuffer (measured: a 320 MiB upload took 98 s instead of 4).
    const encryptedPart = async (start, end) => new Blob([await encryptor.range(start, end)]);

    if (parts && ticket.multipart === true) {
      try {
        await parts.upload({ base, file, plan: ticket, context, callApi, storageError, isForbiddenHeader, FriendlyError,
          CancelledError, setStatus, onProgress, variant: E2E_VARIANT, size: encryptor.size, body: encryptedPart });
      } catch (error) {
        if (error instanceof CancelledError && cancelRequested) await keys.remove(ticket.key).catch(() => {});
        throw error; // anything else: the plan and the key stay, so that the upload can resume
      }
      showProgress(encryptor.size, encryptor.size, null);
      ui.speedText.textContent = 'Done';
      return finished();
    }
    try {
      if (!validTicket(ticket)) {
        throw new FriendlyError('The server’s answer is missing the upload address.', JSON.stringify(ticket).slice(0, 200));
      }
      const headers = ticket.headers || {};
      const signedLength = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-length');
      if (signedLength && Number(signedLength[1]) !== encryptor.size) {
        throw new FriendlyError(`“${file.name}” changed size since it was chosen. Choose it again.`,
          `signed content-length ${signedLength[1]}, encrypted ${encryptor.size}`);
      }
      setStatus(`Encrypting “${file.name}” in this browser…`);
      const { blob } = await e2e.encryptFile(file, { secret: encryptor.secret, salt: encryptor.salt });
      if (cancelRequested) throw new CancelledError('cancelled');
      setStatus(`Uploading “${file.name}”, encrypted…`);
      await putFile({ method: (ticket.method || 'PUT').toUpperCase(), url: ticket.url, headers }, blob, context, onProgress);
    } catch (error) {
      // Nothing was stored: the key of a file that does not exist is of no use.
      await keys.remove(ticket.key).catch(() => {});
      throw error;
    }
    showProgress(encryptor.size, encryptor.size, null);
    ui.speedText.textContent = 'Done';
    return finished();
  }

  const queue = [];
  let busy = false;
  let activeFile = null; // the file being uploaded now, listed above the stored files

  async function runQueue() {
    if (busy) return;
    busy = true;
    cancelRequested = false;
    clearError();
    try {
      while (queue.length > 0) {
        const file = queue.shift();
        activeFile = file;
        renderList();
        try {
          const entry = await uploadOne(file);
          if (!entry.key) throw new FriendlyError('The server did not say where the file was stored.');
          const kept = rememberFile(entry);
          const shown = describeEntry(entry);
          setStatus(`Uploaded “${shown.name}”${shown.encrypted ? ', encrypted in this browser' : ''}. `
            + `Use “${shown.encrypted ? 'Share…' : 'Copy share link'}” to share it.${kept ? '' : ' (This browser could not save the list.)'}`);
        } catch (error) {
          if (error instanceof CancelledError) {
            queue.length = 0;
            setStatus('Upload cancelled.');
            ui.transfer.hidden = true;
          } else {
            ui.transfer.hidden = true;
            showError(error);
          }
        } finally {
          activeFile = null;
          renderList();
        }
      }
    } finally {
      busy = false;
      currentRequest = null;
      ui.cancelButton.hidden = true;
      ui.dropZone.dataset.state = 'idle';
    }
  }

  function enqueue(files) {
    const list = Array.from(files || []);
    if (list.length === 0) return;
    queue.push(...list);
    if (busy) setStatus(`${queue.length} file${queue.length === 1 ? '' : 's'} waiting to upload.`);
    runQueue();
    renderList();
  }

  // ---------------------------------------------------------------------------------------------
  // Your files: the storage's listing, merged with the uploads still in progress

  const links = new Map(); // key -> { url, deadline } for links copied during this visit
  let linkFieldCounter = 0;
  // The last listing read from storage for `base` (a Map key -> entry), or null before one arrived;
  // `generation` drops the answer of a listing that a newer one replaced.
  const listing = { base: null, files: null, generation: 0, loading: false };

  /** The stored files to show: the storage's listing for this API, else the cached copy. */
  function storedEntries() {
    const base = currentApiBase();
    const entries = listing.files && listing.base === base ? [...listing.files.values()]
      : loadUploads().filter((entry) => !entry.apiBase || entry.apiBase === base);
    return entries.sort((a, b) => b.time - a.time || a.name.localeCompare(b.name));
  }

  /** Keeps a finished upload in the listing and in the cache; false when the cache is not writable. */
  function rememberFile(entry) {
    if (listing.files && listing.base === entry.apiBase) listing.files.set(entry.key, entry);
    const entries = loadUploads().filter((existing) => existing.key !== entry.key);
    entries.unshift(entry);
    return saveUploads(entries);
  }

  function forgetFile(entry) {
    if (listing.files) listing.files.delete(entry.key);
    links.delete(entry.key);
    saveUploads(loadUploads().filter((existing) => existing.key !== entry.key));
  }

  /**
   * A stored file as the person knows it: an encrypted object whose key this browser holds shows
   * its real name, type and size (and carries the secret for its links); one whose key is not
   * here is an "encrypted file"; any other file is shown as stored.
   */
  function describeEntry(entry) {
    const record = keys ? keys.lookup(entry.key) : null;
    if (record) {
      return { ...entry, name: record.name, size: record.size, type: record.type, encrypted: true, secret: record.secret,
        storedSize: entry.size };
    }
    if (storedNameOf(entry.key) === ENCRYPTED_NAME) return { ...entry, name: 'encrypted file', encrypted: true, secret: null };
    return entry;
  }

  function renderList() {
    const pending = (activeFile ? [{ file: activeFile, state: 'Uploading…' }] : [])
      .concat(queue.map((file) => ({ file, state: 'Waiting to upload' })));
    const entries = storedEntries().map(describeEntry);
    ui.list.replaceChildren(...pending.map(renderPending), ...entries.map(renderEntry));
    ui.emptyNote.hidden = entries.length + pending.length > 0;
    tickCountdowns();
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderPending({ file, state }) {
    const item = element('li', 'pending-item');
    const main = element('div', 'item-main');
    main.append(element('span', 'item-name', file.name), element('span', 'item-meta', `${formatBytes(file.size)} · ${state}`));
    item.append(main);
    return item;
  }

  function renderEntry(entry) {
    const item = element('li', 'upload-item');
    item.dataset.key = entry.key;

    const main = element('div', 'item-main');
    const name = element('span', 'item-name', entry.name);
    name.title = entry.key;
    const meta = element('span', 'item-meta');
    const time = element('time', '', formatTime(entry.time));
    time.dateTime = new Date(entry.time).toISOString();
    if (entry.encrypted) {
      const badge = element('span', 'item-badge', entry.secret ? 'Encrypted' : 'Encrypted · key not in this browser');
      badge.title = entry.secret ? 'Encrypted in a browser; its key is kept here'
        : 'Encrypted in a browser; import its key (Encryption keys) to see its name and share it';
      meta.append(badge);
    }
    meta.append(`${formatBytes(entry.size)} · `, time);
    main.append(name, meta);

    const actions = element('div', 'item-actions');
    const downloadButton = element('button', 'button button-quiet download-button', 'Download');
    downloadButton.type = 'button';
    downloadButton.setAttribute('aria-label', `Download ${entry.name}`);
    const shareButton = element('button', 'button share-button', 'Share…');
    shareButton.type = 'button';
    shareButton.setAttribute('aria-label', `Share ${entry.name}`);
    shareButton.setAttribute('aria-expanded', 'false');
    // The direct pre-signed URL (a few minutes), kept as the secondary action.
    const copyButton = element('button', 'button button-quiet copy-button', 'Copy share link');
    copyButton.type = 'button';
    copyButton.setAttribute('aria-label', `Copy share link for ${entry.name}`);
    copyButton.title = 'A direct link that works for a few minutes';
    const deleteButton = element('button', 'button button-quiet delete-button', 'Delete');
    deleteButton.type = 'button';
    deleteButton.setAttribute('aria-label', `Delete ${entry.name}`);
    actions.append(shareButton, downloadButton, copyButton, deleteButton);

    const linkRow = element('div', 'item-link');
    linkFieldCounter += 1;
    const fieldId = `link-${linkFieldCounter}`;
    const label = element('label', 'visually-hidden', `Share link for ${entry.name}`);
    label.htmlFor = fieldId;
    const field = element('input', 'link-field mono');
    field.id = fieldId;
    field.type = 'url';
    field.readOnly = true;
    field.spellcheck = false;
    field.addEventListener('focus', () => field.select());
    const expiry = element('span', 'link-expiry');
    linkRow.append(label, field, expiry);

    const link = links.get(entry.key);
    linkRow.hidden = !link;
    if (link) field.value = link.url;

    // Deleting asks first, in the row itself: the file and its links are gone for everyone after.
    const confirmRow = element('div', 'item-confirm');
    confirmRow.hidden = true;
    const question = element('p', 'confirm-text', `Delete “${entry.name}”? Its share links stop working.`);
    const confirmButton = element('button', 'button button-danger', 'Delete');
    confirmButton.type = 'button';
    confirmButton.setAttribute('aria-label', `Yes, delete ${entry.name}`);
    const keepButton = element('button', 'button button-quiet', 'Keep');
    keepButton.type = 'button';
    keepButton.setAttribute('aria-label', `Keep ${entry.name}`);
    confirmRow.append(question, confirmButton, keepButton);

    const sharePanel = renderSharePanel(entry, (url) => {
      field.value = url;
      linkRow.hidden = false;
      return field;
    });
    shareButton.addEventListener('click', () => {
      const opening = sharePanel.hidden;
      sharePanel.hidden = !opening;
      shareButton.setAttribute('aria-expanded', String(opening));
      if (opening) sharePanel.querySelector('select').focus();
    });
    downloadButton.addEventListener('click', () => downloadFile(entry, downloadButton));
    copyButton.addEventListener('click', () => copyShareLink(entry, copyButton, field, linkRow));
    deleteButton.addEventListener('click', () => {
      confirmRow.hidden = false;
      confirmButton.focus();
    });
    keepButton.addEventListener('click', () => {
      confirmRow.hidden = true;
      deleteButton.focus();
    });
    confirmButton.addEventListener('click', () => deleteFile(entry, confirmButton));
    item.append(main, actions, sharePanel, linkRow, confirmRow);
    return item;
  }

  // ---- lasting share links (POST /shares) ----

  const SHARE_LIFETIMES = [['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days'], ['custom', 'Custom…']];

  /** The "Share…" form of one file: lifetime, optional password, then the lasting link. */
  function renderSharePanel(entry, showLink) {
    linkFieldCounter += 1;
    const id = `share-${linkFieldCounter}`;
    const panel = element('form', 'share-panel');
    panel.hidden = true;
    panel.noValidate = true;
    panel.setAttribute('aria-label', `Share ${entry.name}`);

    const lifetimeLabel = element('label', '', 'Link works for');
    lifetimeLabel.htmlFor = `${id}-lifetime`;
    const lifetime = element('select', 'share-lifetime');
    lifetime.id = `${id}-lifetime`;
    for (const [value, text] of SHARE_LIFETIMES) {
      const option = element('option', '', text);
      option.value = value;
      lifetime.append(option);
    }
    lifetime.value = '86400';
    const custom = element('span', 'share-custom');
    custom.hidden = true;
    const customAmount = element('input', 'share-custom-amount');
    customAmount.type = 'number';
    customAmount.min = '1';
    customAmount.value = '3';
    customAmount.id = `${id}-amount`;
    customAmount.setAttribute('aria-label', 'Custom lifetime');
    const customUnit = element('select', 'share-custom-unit');
    customUnit.setAttribute('aria-label', 'Custom lifetime unit');
    for (const [value, text] of [['3600', 'hours'], ['86400', 'days']]) {
      const option = element('option', '', text);
      option.value = value;
      customUnit.append(option);
    }
    customUnit.value = '86400';
    custom.append(customAmount, customUnit);
    lifetime.addEventListener('change', () => {
      custom.hidden = lifetime.value !== 'custom';
    });

    const passwordLabel = element('label', '', 'Password (optional)');
    passwordLabel.htmlFor = `${id}-password`;
    const password = element('input', 'share-password');
    password.id = `${id}-password`;
    password.type = 'password';
    password.autocomplete = 'new-password';
    const create = element('button', 'button', 'Create link');
    create.type = 'submit';
    create.setAttribute('aria-label', `Create share link for ${entry.name}`);
    panel.append(lifetimeLabel, lifetime, custom, passwordLabel, password, create);
    panel.addEventListener('submit', (event) => {
      event.preventDefault();
      const seconds = lifetime.value === 'custom'
        ? Math.round(Number(customAmount.value) * Number(customUnit.value)) : Number(lifetime.value);
      createShareLink(entry, { seconds, password: password.value }, create, showLink);
    });
    return panel;
  }

  async function createShareLink(entry, { seconds, password }, button, showLink) {
    startNextAction();
    const base = entry.apiBase || currentApiBase();
    if (!base) {
      showError(new FriendlyError('Enter the API address in Settings first.'));
      return;
    }
    if (!Number.isFinite(seconds) || seconds < 1) {
      showError(new FriendlyError('Choose how long the link should work (at least one hour).'));
      return;
    }
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    setStatus(`Making a lasting share link for “${entry.name}”…`);
    try {
      if (entry.encrypted && !entry.secret) {
        throw new FriendlyError('This file is encrypted and this browser does not hold its key, so a link would not open it. '
          + 'Import your keys (Encryption keys, below) from the browser that uploaded it.');
      }
      const request = { key: entry.key, expiresIn: seconds };
      if (password) request.password = password;
      if (entry.encrypted) request.encrypted = true;
      let answer;
      try {
        answer = await callApi(base, 'POST', '/shares', request, { operation: 'share', fileName: entry.name });
      } catch (error) {
        // The server states its ceiling ("1..N"): say it in days or hours.
        const ceiling = /1\.\.(\d+)/.exec(error && error.detail || '');
        if (ceiling && /invalid_expires_in/.test(error.detail)) {
          throw new FriendlyError(`This server’s links work for at most ${formatLifetimeWords(Number(ceiling[1]))}. Choose a shorter time.`,
            error.detail);
        }
        if (/shares_disabled/.test(error && error.detail || '')) {
          throw new FriendlyError('This server is not set up for lasting share links. Use “Copy share link” instead.', error.detail);
        }
        throw error;
      }
      if (typeof answer.url !== 'string' || !/^https?:\/\//i.test(answer.url)) {
        throw new FriendlyError('The server’s answer is missing the link.', JSON.stringify(answer).slice(0, 200));
      }
      const lifetime = Number.isFinite(answer.expiresIn) && answer.expiresIn > 0 ? answer.expiresIn : seconds;
      // An encrypted file's key goes after '#': browsers never send the fragment to a server.
      const url = entry.encrypted ? `${answer.url.replace(/#.*$/, '')}#${entry.secret}` : answer.url;
      const link = { url, deadline: Date.now() + lifetime * 1000, name: entry.name, status: '' };
      links.set(entry.key, link);
      const field = showLink(url);
      tickCountdowns();
      const copied = await copyText(url, field);
      const until = Number.isFinite(Date.parse(answer.expiresAt)) ? formatTime(Date.parse(answer.expiresAt))
        : formatLifetimeWords(lifetime);
      link.status = `${copied ? 'Lasting share link' : 'The lasting share link'} for “${entry.name}”`
        + `${copied ? ' copied' : ' is selected below: press Ctrl+C (⌘C on a Mac) to copy it'}. `
        + `It works until ${until}${password ? ', with the password you chose' : ''}.`
        + (entry.encrypted ? ' It holds the file’s key: anyone with the whole link can open the file.' : '');
      setStatus(link.status);
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  // ---- reading the listing ----

  function setFilesStatus(text) {
    ui.filesStatus.textContent = text;
  }

  const clearFilesError = () => clearErrorBox(filesErrorBox);
  const showFilesError = (error) => showErrorBox(filesErrorBox, error);

  /** A fetch to the storage that failed without an answer, in words (CORS or unreachable). */
  async function storageUnreachable(url, error, doing) {
    const detail = String(error && error.message || error);
    if (await answersWithoutCors(url)) {
      return new FriendlyError(`The storage at ${hostOf(url)} does not allow this page’s origin, ${pageOrigin()}, to ${doing}. `
        + `Its CORS rules must allow ${pageOrigin()} (presign serve --allowed-origins, or AllowedOrigin on AWS).`,
      `${detail} (refused by CORS)`);
    }
    return new FriendlyError(`Could not reach the storage at ${hostOf(url)} to ${doing}. Check your connection.`, detail);
  }

  /** Sends a signed request to the storage; resolves with the body text of a 2xx answer. */
  async function sendToStorage(ticket, method, context, doing) {
    let response;
    try {
      response = await fetch(ticket.url, { method, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch (error) {
      throw await storageUnreachable(ticket.url, error, doing);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw storageError(response.status, text, context);
    return text;
  }

  /** One ListObjectsV2 page: its files (keys decoded), and where the next page starts. */
  function parseListing(text, base) {
    const unreadable = new FriendlyError('The storage answered the list of files in a form this page does not understand.',
      text.slice(0, 200));
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    const root = doc.documentElement;
    if (doc.getElementsByTagName('parsererror').length > 0 || !root || root.localName !== 'ListBucketResult') throw unreadable;
    const childText = (node, name) => {
      for (const child of node.children) if (child.localName === name) return child.textContent;
      return null;
    };
    // encoding-type=url: S3 form-encodes names ('+' is a space), which keeps any key valid XML.
    const encoded = childText(root, 'EncodingType') === 'url';
    const files = [];
    for (const node of root.children) {
      if (node.localName !== 'Contents') continue;
      let key = childText(node, 'Key') || '';
      try {
        if (encoded) key = decodeURIComponent(key.replace(/\+/g, ' '));
      } catch {
        throw unreadable;
      }
      // Keys end in the file's cleaned name (the server picks them as <prefix><id>/<name>).
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (name === '') continue;
      files.push({ name, size: Number(childText(node, 'Size')) || 0, key, time: Date.parse(childText(node, 'LastModified')) || 0, apiBase: base });
    }
    return { files, truncated: childText(root, 'IsTruncated') === 'true', next: childText(root, 'NextContinuationToken') || '' };
  }

  /** Every file of the caller: GET /files for a signed listing, sent to the storage, page after page. */
  async function fetchAllFiles(base) {
    const files = [];
    const seen = new Set();
    let cursor = '';
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const ticket = await callApi(base, 'GET', `/files${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`,
        undefined, { operation: 'list' });
      if (!validTicket(ticket)) {
        throw new FriendlyError('The server’s answer is missing the address of your list of files.', JSON.stringify(ticket).slice(0, 200));
      }
      const text = await sendToStorage(ticket, (ticket.method || 'GET').toUpperCase(), { operation: 'list' }, 'list your files');
      const result = parseListing(text, base);
      files.push(...result.files);
      if (!result.truncated) return files;
      if (!result.next || seen.has(result.next)) {
        throw new FriendlyError('The storage did not say where the list of your files continues.', `page ${page + 1}`);
      }
      seen.add(result.next);
      cursor = result.next;
    }
    throw new FriendlyError(`You have more files than this page can list (over ${MAX_LIST_PAGES * 1000}).`);
  }

  async function refreshFiles() {
    const base = currentApiBase();
    const generation = ++listing.generation;
    if (!base) {
      listing.loading = false;
      renderList();
      return;
    }
    listing.loading = true;
    ui.refreshButton.disabled = true;
    ui.refreshButton.setAttribute('aria-busy', 'true');
    setFilesStatus(listing.files && listing.base === base ? 'Refreshing…' : 'Loading your files…');
    const started = performance.now();
    try {
      const files = await fetchAllFiles(base);
      performance.measure('presign:list-fetch', { start: started, end: performance.now() });
      if (generation !== listing.generation) return;
      listing.base = base;
      listing.files = new Map(files.map((entry) => [entry.key, entry]));
      for (const key of links.keys()) if (!listing.files.has(key)) links.delete(key);
      markListedKeysComplete(files);
      clearFilesError();
      const others = loadUploads().filter((entry) => entry.apiBase && entry.apiBase !== base);
      const kept = saveUploads(storedEntries().concat(others));
      renderList();
      // How long the whole listing took, every page and the rendering included (list-fetch: the
      // API calls and storage pages alone).
      performance.measure('presign:list-files', { start: started, end: performance.now() });
      setFilesStatus(files.length === 0 ? ''
        : `${files.length.toLocaleString('en')} file${files.length === 1 ? '' : 's'} in storage.${kept ? '' : ' (This browser could not keep a copy of the list.)'}`);
    } catch (error) {
      if (generation !== listing.generation) return;
      showFilesError(error);
      const cached = storedEntries().length;
      setFilesStatus(cached > 0 ? 'The list below is this browser’s copy from an earlier visit and may be out of date.' : '');
      renderList();
    } finally {
      if (generation === listing.generation) {
        listing.loading = false;
        ui.refreshButton.disabled = false;
        ui.refreshButton.removeAttribute('aria-busy');
      }
    }
  }

  // ---- acting on one file ----

  function ticketFor(answer, what) {
    if (!validTicket(answer)) throw new FriendlyError(`The server’s answer is missing the ${what}.`, JSON.stringify(answer).slice(0, 200));
    return answer;
  }

  async function downloadFile(entry, button) {
    startNextAction();
    const base = entry.apiBase || currentApiBase();
    button.disabled = true;
    setStatus(`Preparing the download of “${entry.name}”…`);
    try {
      const context = { operation: 'download', fileName: entry.name };
      const answer = ticketFor(await callApi(base, 'GET', `/downloads?key=${encodeURIComponent(entry.key)}`, undefined,
        context), 'download address');
      if (entry.encrypted && entry.secret) {
        await downloadDecrypted(entry, answer.url, context);
        return;
      }
      // The link answers as an attachment, so following it saves the file and leaves this page as it is.
      saveLink(answer.url, entry.name);
      setStatus(`Downloading “${entry.name}”.`);
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  }

  function saveLink(url, name) {
    const anchor = element('a');
    anchor.href = url;
    anchor.rel = 'noopener noreferrer';
    anchor.download = name;
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
  }

  /** Fetches an encrypted file, decrypts it here as it arrives, and saves it under its real name. */
  async function downloadDecrypted(entry, url, context) {
    setStatus(`Downloading and decrypting “${entry.name}”…`);
    let response;
    try {
      response = await fetch(url, { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch (error) {
      throw await storageUnreachable(url, error, `download “${entry.name}”`);
    }
    if (!response.ok) throw storageError(response.status, await response.text().catch(() => ''), context);
    let opened;
    try {
      opened = await e2e.decryptResponse(response, e2e.parseSecret(entry.secret));
    } catch (error) {
      if (error instanceof e2e.E2EError) throw new FriendlyError(error.message, error.code);
      throw error;
    }
    const objectUrl = URL.createObjectURL(opened.blob);
    saveLink(objectUrl, e2e.safeFileName((opened.metadata && opened.metadata.name) || entry.name));
    window.setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
    setStatus(`Decrypted and saved “${entry.name}”.`);
  }

  async function deleteFile(entry, button) {
    startNextAction();
    const base = entry.apiBase || currentApiBase();
    const context = { operation: 'delete', fileName: entry.name };
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    setStatus(`Deleting “${entry.name}”…`);
    try {
      const ticket = ticketFor(await callApi(base, 'DELETE', `/files?key=${encodeURIComponent(entry.key)}`, undefined, context),
        'delete address');
      await sendToStorage(ticket, (ticket.method || 'DELETE').toUpperCase(), context, `delete “${entry.name}”`);
      forgetFile(entry);
      if (keys) await keys.remove(entry.key).catch(() => {});
      renderList();
      renderKeysSummary();
      setStatus(`Deleted “${entry.name}”. Its share links no longer work.`);
      ui.fileInput.focus();
    } catch (error) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      showError(error);
    }
  }

  async function copyText(text, field) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch {
        // Not allowed here (permissions, no focus): fall back to the selected text field.
      }
    }
    field.focus();
    field.select();
    field.setSelectionRange(0, text.length);
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }

  async function copyShareLink(entry, button, field, linkRow) {
    startNextAction();
    const base = entry.apiBase || currentApiBase();
    if (!base) {
      showError(new FriendlyError('Enter the API address in Settings first.'));
      return;
    }
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    setStatus(`Making a share link for “${entry.name}”…`);
    try {
      const answer = await callApi(base, 'GET', `/downloads?key=${encodeURIComponent(entry.key)}`, undefined,
        { operation: 'download', fileName: entry.name });
      if (typeof answer.url !== 'string' || !/^https?:\/\//i.test(answer.url)) {
        throw new FriendlyError('The server’s answer is missing the link.', JSON.stringify(answer).slice(0, 200));
      }
      const lifetime = Number.isFinite(answer.expiresIn) && answer.expiresIn > 0 ? answer.expiresIn
        : Math.max(0, (Date.parse(answer.expiresAt) - Date.now()) / 1000) || 0;
      // The countdown runs on this browser's clock from the moment the link arrived, so a skewed
      // clock does not shorten or stretch it.
      const link = { url: answer.url, deadline: Date.now() + lifetime * 1000, name: entry.name, status: '' };
      links.set(entry.key, link);
      field.value = answer.url;
      linkRow.hidden = false;
      tickCountdowns();
      const copied = await copyText(answer.url, field);
      link.status = (copied
        ? `Share link for “${entry.name}” copied. It works for ${formatLifetimeWords(lifetime)}.`
        : `The share link for “${entry.name}” is selected below: press Ctrl+C (⌘C on a Mac) to copy it.`)
        + (isLoopbackHost(new URL(answer.url).hostname)
          ? ` It opens only on this computer: the storage is at ${hostOf(answer.url)}, a loopback address`
            + ' (start presign serve with --host and this machine’s network address to share on your network).'
          : '');
      setStatus(link.status);
      if (!copied) {
        field.focus();
        field.select();
      }
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  function tickCountdowns() {
    for (const item of ui.list.children) {
      const link = links.get(item.dataset.key);
      const expiry = item.querySelector('.link-expiry');
      if (!link || !expiry) continue;
      const remaining = (link.deadline - Date.now()) / 1000;
      const expired = remaining <= 0;
      if (expired && link.status && ui.status.textContent === link.status) {
        setStatus(`The share link for “${link.name}” has expired. “Copy share link” makes a fresh one.`);
      }
      const text = expired ? 'expired' : `expires in ${formatDuration(remaining)}`;
      if (expiry.textContent !== text) expiry.textContent = text;
      expiry.classList.toggle('expired', expired);
      item.querySelector('.link-field').classList.toggle('expired', expired);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Encryption: the remembered choice, and the keys this browser holds

  function setUpEncryption() {
    if (!e2e || !e2e.available || !keys) {
      ui.encryptToggle.checked = false;
      ui.encryptToggle.disabled = true;
      ui.encryptHelp.textContent = 'This browser cannot encrypt on this page: it needs a secure origin (https:// or this computer’s own address). '
        + 'Files are uploaded as they are.';
      ui.exportKeysButton.disabled = true;
      ui.importKeysButton.disabled = true;
      return;
    }
    ui.encryptToggle.checked = storageGet(ENCRYPT_STORAGE_KEY) !== 'off';
    ui.encryptToggle.addEventListener('change', () => {
      storageSet(ENCRYPT_STORAGE_KEY, ui.encryptToggle.checked ? 'on' : 'off');
    });
    ui.exportKeysButton.addEventListener('click', exportKeys);
    ui.importKeysButton.addEventListener('click', () => ui.importKeysInput.click());
    ui.importKeysInput.addEventListener('change', () => {
      const file = ui.importKeysInput.files && ui.importKeysInput.files[0];
      ui.importKeysInput.value = '';
      if (file) importKeys(file);
    });
    keys.ready().then(() => {
      renderKeysSummary();
      renderList();
    });
  }

  function renderKeysSummary() {
    if (!keys) return;
    const count = keys.count();
    ui.keysCount.textContent = (count === 0
      ? 'The keys of the files you encrypt are kept in this browser only.'
      : `This browser holds the keys of ${count.toLocaleString('en')} encrypted file${count === 1 ? '' : 's'}. `
        + 'Without them nobody can open those files: export them to keep a copy, or to use them in another browser.')
      + (keys.persistent() ? '' : ' This browser does not let the page keep them after you leave it.');
  }

  async function exportKeys() {
    await keys.ready();
    const count = keys.count();
    if (count === 0) {
      ui.keysStatus.textContent = 'There are no keys to export yet.';
      return;
    }
    const url = URL.createObjectURL(new Blob([keys.exportText()], { type: 'application/json' }));
    saveLink(url, `presign-keys-${new Date().toISOString().slice(0, 10)}.json`);
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    ui.keysStatus.textContent = `Exported ${count} key${count === 1 ? '' : 's'}. Keep the file safe: it opens every one of those files.`;
  }

  async function importKeys(file) {
    await keys.ready();
    try {
      const result = await keys.importText(await file.text());
      ui.keysStatus.textContent = `Imported ${result.added} key${result.added === 1 ? '' : 's'}`
        + `${result.known ? ` (${result.known} already here)` : ''}${result.invalid ? `; ${result.invalid} unreadable entr${result.invalid === 1 ? 'y' : 'ies'} skipped` : ''}.`;
    } catch (error) {
      ui.keysStatus.textContent = `Nothing imported: ${error && error.message || error}`;
    }
    renderKeysSummary();
    renderList();
  }

  /** A listed object whose upload finished without being marked so (the page closed just then). */
  function markListedKeysComplete(files) {
    if (!keys) return;
    for (const file of files) {
      const record = keys.lookup(file.key);
      if (record && !record.complete) keys.put({ ...record, complete: true }).then(renderKeysSummary, () => {});
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring

  function setUpDragAndDrop() {
    let depth = 0;
    const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types || []).includes('Files');
    window.addEventListener('dragenter', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      if (!busy) ui.dropZone.dataset.state = 'drag';
    });
    window.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    });
    window.addEventListener('dragleave', (event) => {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0 && !busy) ui.dropZone.dataset.state = 'idle';
    });
    // A file dropped anywhere on the page is uploaded rather than opened by the browser.
    window.addEventListener('drop', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      if (!busy) ui.dropZone.dataset.state = 'idle';
      enqueue(event.dataTransfer.files);
    });
  }

  function setUpSettings() {
    showApiSetting();
    if (!currentApiBase()) ui.settings.open = true;
    ui.settingsForm.addEventListener('submit', (event) => {
      event.preventDefault();
      startNextAction();
      const raw = ui.apiBaseInput.value.trim();
      if (raw === '') {
        storageSet(API_BASE_STORAGE_KEY, null);
      } else {
        const normalized = normalizeApiBase(raw);
        if (!normalized) {
          ui.apiBaseInput.setAttribute('aria-invalid', 'true');
          showError(new FriendlyError('The API address must start with https:// (or http://).', raw));
          ui.apiBaseInput.focus();
          return;
        }
        storageSet(API_BASE_STORAGE_KEY, normalized);
      }
      ui.apiBaseInput.removeAttribute('aria-invalid');
      clearError();
      showApiSetting();
      refreshFiles();
      setStatus(apiBaseFromQuery()
        ? 'Saved. The ?api= parameter in the page address still takes precedence.'
        : `Saved. Uploads now go through ${currentApiBase() || 'nothing: enter an address'}.`);
    });
    ui.apiReset.addEventListener('click', () => {
      startNextAction();
      storageSet(API_BASE_STORAGE_KEY, null);
      ui.apiBaseInput.removeAttribute('aria-invalid');
      showApiSetting();
      refreshFiles();
      setStatus(`Uploads now go through ${currentApiBase() || 'nothing: enter an address'}.`);
    });
  }

  // Leaving the page would abort the transfer: let the browser ask first.
  window.addEventListener('beforeunload', (event) => {
    if (!busy) return;
    event.preventDefault();
    event.returnValue = '';
  });
  ui.fileInput.addEventListener('change', () => {
    const files = Array.from(ui.fileInput.files || []);
    ui.fileInput.value = ''; // so choosing the same file again still uploads it
    enqueue(files);
  });
  ui.cancelButton.hidden = true;
  ui.cancelButton.addEventListener('click', () => {
    cancelRequested = true;
    queue.length = 0;
    if (currentRequest) currentRequest.abort();
  });
  ui.refreshButton.addEventListener('click', () => {
    clearFilesError();
    refreshFiles();
  });
  window.addEventListener('storage', (event) => {
    // Another tab uploaded or deleted: adopt its copy of the list (no new listing, so two tabs
    // never set each other off).
    if (event.key === UPLOADS_STORAGE_KEY) {
      if (listing.files && listing.base === currentApiBase()) {
        const base = listing.base;
        listing.files = new Map(loadUploads().filter((entry) => entry.apiBase === base).map((entry) => [entry.key, entry]));
      }
      renderList();
    }
    if (event.key === API_BASE_STORAGE_KEY) {
      showApiSetting();
      refreshFiles();
    }
  });

  setUpDragAndDrop();
  setUpSettings();
  setUpEncryption();
  renderList(); // the cached copy at once, then the storage's listing
  // Sign-in first (it may be finishing a redirect back from the provider), then the listing.
  window.presignAuth.start(currentApiBase()).catch(() => {}).finally(refreshFiles);
  window.setInterval(tickCountdowns, 1000);
})();
