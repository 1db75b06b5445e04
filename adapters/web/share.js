// SPDX-License-Identifier: Apache-2.0
// The recipient page of a share link: shows the file's name, size and type and when the link
// expires, asks for the password when the link has one, and downloads through a fresh short-lived
// URL from the server. The size and type come from a pre-signed HEAD the page sends to storage
// itself (the server never talks to storage), which also tells a deleted file apart, in words.
'use strict';

(() => {
  const byId = (id) => document.getElementById(id);
  const ui = {
    share: byId('share'),
    fileCard: byId('file-card'),
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
  const MISSING = 'This link has expired or does not exist.';
  const GONE = 'This file is no longer available: the person who shared it has deleted it.';

  function formatBytes(bytes) {
    if (!Number.isFinite(bytes) || bytes < 0) return '';
    if (bytes < 1000) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = -1;
    do {
      value /= 1000;
      unit += 1;
    } while (value >= 1000 && unit < units.length - 1);
    return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]} (${bytes.toLocaleString()} bytes)`;
  }

  function formatTime(ms) {
    try {
      return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    } catch {
      return new Date(ms).toISOString();
    }
  }

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
    if (!response.ok) return;
    const size = Number(response.headers.get('Content-Length'));
    if (Number.isFinite(size)) ui.fileSize.textContent = formatBytes(size);
    const type = response.headers.get('Content-Type');
    if (type) ui.fileType.textContent = type.split(';')[0];
  }

  async function download(event) {
    event.preventDefault();
    if (linkExpired()) {
      close('This link has expired.');
      return;
    }
    showError('');
    ui.status.textContent = 'Getting the file…';
    ui.button.disabled = true;
    try {
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
        showError('Could not reach the server. Check your connection and try again.');
        return;
      }
      const answer = await response.json().catch(() => null);
      const code = answer && answer.error ? answer.error.code : '';
      if (response.status === 404) {
        close(MISSING);
        return;
      }
      if (code === 'wrong_password' || code === 'password_required') {
        showError('That password is not right. Try again.');
        ui.password.select();
        return;
      }
      if (!response.ok || !answer || typeof answer.url !== 'string') {
        showError('The server could not make a download link right now. Try again in a moment.');
        return;
      }
      // One more look, so a file deleted since the page opened is said in words, not in XML.
      if (data.headUrl) {
        const head = await fetch(data.headUrl, { method: 'HEAD', cache: 'no-store', credentials: 'omit' }).catch(() => null);
        if (head && head.status === 404) {
          close(GONE);
          return;
        }
      }
      ui.status.textContent = 'Your download has started.';
      window.location.assign(answer.url);
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
    describeFile();
  }

  start();
})();
