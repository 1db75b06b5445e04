// SPDX-License-Identifier: Apache-2.0
// The recipient page of a share link: shows the file's name, size and type and when the link
// expires, asks for the password when the link has one, and downloads through a fresh short-lived
// URL from the server. The size and type come from a pre-signed HEAD the page sends to storage
// itself (the server never talks to storage), which also tells a deleted file apart, in words.
//
// An end-to-end encrypted share (data-encrypted="true", adapters/crypto/FORMAT.md) is opened with
// the key in the link's #fragment. The key stays in this page: it is read from location.hash,
// never put in a URL, a header or a body, never logged (nor is location.href); the page and every
// request it makes send no Referer. The fragment is left in the address bar (no
// history.replaceState): removing it would not take it out of history already written, and would
// break a reload and copying the link on. The name and size are read from the object's first
// bytes (a Range GET), the file is fetched, decrypted as it arrives into a Blob, and saved only
// after its last record authenticated: a wrong key or a changed or cut file saves nothing.
'use strict';

(() => {
  const byId = (id) => document.getElementById(id);
  const ui = {
    share: byId('share'),
    fileCard: byId('file-card'),
    fileName: byId('file-name'),
    fileSize: byId('file-size'),
    fileType: byId('file-type'),
    linkExpiry: byId('link-expiry'),
    form: byId('download-form'),
    passwordRow: byId('password-row'),
    password: byId('password'),
    button: byId('download-button'),
    status: byId('share-status'),
    error: byId('share-error'),
  };
  const data = ui.share.dataset;
  const expiresAt = Date.parse(data.expiresAt || '');
  const encrypted = data.encrypted === 'true';
  const e2e = window.presignE2E;
  const MISSING = 'This link has expired or does not exist.';
  const GONE = 'This file is no longer available: the person who shared it has deleted it.';
  const NO_KEY = 'This file is encrypted, and this link is missing its key (the part after “#”). '
    + 'Ask the person who shared it for the whole link.';
  const NOTHING_SAVED = 'Nothing was saved.';
  // The header is at most 21 + 255 bytes (FORMAT.md): one small Range GET reads the name and size.
  const HEADER_BYTES = 21 + 255;

  const formatBytes = (bytes) => window.presignFormat.bytes(bytes, { exact: true });
  const formatTime = window.presignFormat.time;

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
    if (text) ui.status.textContent = '';
  }

  // The link is over (expired, unknown, or its file deleted): only the sentence stays.
  function close(text) {
    ui.fileCard.hidden = true;
    ui.share.dataset.state = 'missing';
    showError(text);
  }

  function linkExpired() {
    return Number.isFinite(expiresAt) && Date.now() >= expiresAt;
  }

  // ---- the key (encrypted shares only) ----------------------------------------------------------

  // The 16-byte key from the fragment, or a sentence saying why there is none. Read on each use, so
  // a key pasted into the address bar afterwards (a hashchange) is picked up.
  function readKey() {
    if (!e2e || !e2e.available) {
      return { problem: 'This file is encrypted, and this browser cannot decrypt it here (the page needs https and a current browser).' };
    }
    const text = window.location.hash.replace(/^#/, '');
    if (!text) return { problem: NO_KEY };
    try {
      return { key: e2e.parseSecret(text) };
    } catch (error) {
      return { problem: error.message };
    }
  }

  function showMetadata(metadata) {
    if (!metadata) return;
    const name = e2e.safeFileName(metadata.name);
    ui.fileName.textContent = name;
    document.title = `presign · ${name}`;
    ui.fileSize.textContent = formatBytes(metadata.size);
    const type = metadata.type && metadata.type !== 'application/octet-stream' ? `${metadata.type} · ` : '';
    ui.fileType.textContent = `${type}end-to-end encrypted`;
    ui.share.dataset.decrypted = 'true';
  }

  // Reads the name, type and size sealed in the header through a Range GET of the first bytes (a
  // store that ignores Range sends the whole object: only the first bytes are read, then it is
  // cancelled). Throws the E2EError of a wrong key or a changed header.
  async function readHeader(url, key) {
    const response = await fetch(url, {
      headers: { Range: `bytes=0-${HEADER_BYTES - 1}` },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    if (response.status === 404) return { gone: true };
    if (!response.ok) return {};
    const decryptor = new e2e.Decryptor(key);
    const reader = response.body.getReader();
    let read = 0;
    try {
      while (!decryptor.header && read < HEADER_BYTES) {
        const { done, value } = await reader.read();
        if (done) break;
        read += value.length;
        await decryptor.update(value.subarray(0, Math.max(0, HEADER_BYTES - (read - value.length))));
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    if (!decryptor.header) return {};
    return { metadata: decryptor.metadata };
  }

  // ---- the server's answers ---------------------------------------------------------------------

  // POST /s/<token> (with the password when the link has one): { url } or { failure: sentence }.
  // The body never holds the key: only the password the recipient typed.
  async function signedUrl() {
    const body = data.password === 'required' ? { password: ui.password.value } : {};
    let response;
    try {
      response = await fetch(window.location.pathname, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      return { failure: 'Could not reach the server. Check your connection and try again.' };
    }
    const answer = await response.json().catch(() => null);
    const code = answer && answer.error ? answer.error.code : '';
    if (response.status === 404) return { closed: MISSING };
    if (code === 'wrong_password' || code === 'password_required') return { wrongPassword: true };
    if (!response.ok || !answer || typeof answer.url !== 'string') {
      return { failure: 'The server could not make a download link right now. Try again in a moment.' };
    }
    return { url: answer.url };
  }

  async function describeFile() {
    if (!data.headUrl) return;
    let response;
    try {
      response = await fetch(data.headUrl, { method: 'HEAD', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch {
      return;  // storage unreachable from here: the download button still says what happens
    }
    if (response.status === 404) {
      close(GONE);
      return;
    }
    if (!response.ok || encrypted) return;  // an encrypted object's own size and type mean nothing
    const size = Number(response.headers.get('Content-Length'));
    if (Number.isFinite(size)) ui.fileSize.textContent = formatBytes(size);
    const type = response.headers.get('Content-Type');
    if (type) ui.fileType.textContent = type.split(';')[0];
  }

  // An encrypted share without a password: its name and size, before any click.
  async function describeEncrypted() {
    const { key, problem } = readKey();
    if (problem) {
      showError(problem);
      return;
    }
    const signed = await signedUrl();
    if (signed.closed) {
      close(signed.closed);
      return;
    }
    if (!signed.url) return;  // said again, in words, if a download is tried
    try {
      const header = await readHeader(signed.url, key);
      if (header.gone) close(GONE);
      else showMetadata(header.metadata);
    } catch (error) {
      showError(error instanceof e2e.E2EError ? error.message : 'This file could not be read.');
    }
  }

  // ---- downloading ------------------------------------------------------------------------------

  // Hands a finished Blob to the browser as a download under `name`.
  function save(blob, name) {
    const href = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = href;
    link.download = name;
    link.rel = 'noopener';
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
  }

  // Fetches the ciphertext and decrypts it as it arrives; the Blob is saved only once the last
  // record authenticated and the size matched (decryptResponse rejects otherwise).
  async function downloadEncrypted(url, key) {
    let response;
    try {
      response = await fetch(url, { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch {
      showError('Could not reach the storage. Check your connection and try again.');
      return;
    }
    if (response.status === 404) {
      close(GONE);
      return;
    }
    if (!response.ok || !response.body) {
      showError('The storage refused the download. Reload the page and try again.');
      return;
    }
    const total = Number(response.headers.get('Content-Length'));
    ui.status.textContent = 'Downloading and decrypting…';
    let result;
    try {
      result = await e2e.decryptResponse(response, key, {
        onHeader: showMetadata,
        onProgress: (done) => {
          if (Number.isFinite(total) && total > 0) {
            ui.status.textContent = `Downloading and decrypting… ${Math.floor((done / total) * 100)} %`;
          }
        },
      });
    } catch (error) {
      const reason = error instanceof e2e.E2EError ? error.message : 'The download was interrupted.';
      showError(`${reason} ${NOTHING_SAVED}`);
      ui.share.dataset.result = 'refused';
      return;
    }
    // A body from another RFC 8188 encoder may carry no name (idlen 0): then "file", as the CLI does.
    const name = result.metadata ? e2e.safeFileName(result.metadata.name) : 'file';
    save(result.blob, name);
    ui.share.dataset.result = 'saved';
    ui.status.textContent = 'Decrypted and saved. Check your downloads.';
  }

  async function download(event) {
    event.preventDefault();
    if (linkExpired()) {
      close('This link has expired.');
      return;
    }
    let key = null;
    if (encrypted) {
      const found = readKey();
      if (found.problem) {
        showError(`${found.problem} ${NOTHING_SAVED}`);
        return;
      }
      key = found.key;
    }
    showError('');
    ui.status.textContent = 'Getting the file…';
    ui.button.disabled = true;
    try {
      const signed = await signedUrl();
      if (signed.closed) {
        close(signed.closed);
        return;
      }
      if (signed.wrongPassword) {
        showError('That password is not right. Try again.');
        ui.password.select();
        return;
      }
      if (signed.failure) {
        showError(signed.failure);
        return;
      }
      if (encrypted) {
        await downloadEncrypted(signed.url, key);
        return;
      }
      // One more look, so a file deleted since the page opened is said in words, not in XML.
      if (data.headUrl) {
        const head = await fetch(data.headUrl, { method: 'HEAD', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' }).catch(() => null);
        if (head && head.status === 404) {
          close(GONE);
          return;
        }
      }
      ui.status.textContent = 'Your download has started.';
      window.location.assign(signed.url);
    } finally {
      ui.button.disabled = false;
    }
  }

  function start() {
    const state = data.state;
    if (state === 'missing') {
      close(ui.error.textContent || MISSING);
      return;
    }
    if (linkExpired()) {
      close('This link has expired.');
      return;
    }
    if (Number.isFinite(expiresAt)) ui.linkExpiry.textContent = `This link works until ${formatTime(expiresAt)}.`;
    ui.passwordRow.hidden = data.password !== 'required';
    ui.error.hidden = !ui.error.textContent;
    ui.form.addEventListener('submit', download);
    if (data.password === 'required') ui.password.focus();
    if (encrypted) {
      // The stored name is opaque: the real one is shown once the key opens the header.
      ui.fileName.textContent = 'Encrypted file';
      ui.fileType.textContent = 'end-to-end encrypted';
      window.addEventListener('hashchange', () => {
        showError('');
        if (data.password !== 'required') describeEncrypted();
      });
    }
    describeFile();
    if (encrypted) {
      if (data.password !== 'required') describeEncrypted();
      else if (readKey().problem) showError(readKey().problem);
    }
  }

  start();
})();
