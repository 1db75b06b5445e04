// SPDX-License-Identifier: Apache-2.0
// Large files in parts (S3 multipart upload, every step pre-signed by the API): 4 parts in flight,
// each retried up to 5 times (after 0, 1, 3, 5, 10 s), one progress figure over all parts, Pause /
// Resume / Cancel (Cancel aborts the upload in the store), and resume after a reload: the plan and
// upload id are kept in localStorage (never the file), and when the same file (name, size,
// last-modified) is picked again the stored parts are listed and only the others are sent.
// What is sent may be the file itself or bytes made from it on demand (an encrypted upload passes
// its size and a body(start, end) that encrypts each part just before it is sent; its plans are
// kept apart from the plain ones by `variant`).
// app.js calls window.presignMultipart.saved() and .upload(); nothing else reaches in here.
'use strict';

(() => {
  const STORAGE_PREFIX = 'presign.multipart.v1:';
  const IN_FLIGHT = 4;
  const RETRY_DELAYS_S = [0, 1, 3, 5, 10];
  const SIGN_BATCH = 20;
  const URL_MARGIN_MS = 30_000; // re-sign a part URL this long before it expires
  const MADE_AHEAD = 2; // part bodies made before a worker takes them (an encrypted part is encrypted then)

  const storageKey = (file, base, variant = '') =>
    `${STORAGE_PREFIX}${base}|${file.name}|${file.size}|${file.lastModified}${variant ? `|${variant}` : ''}`;

  function readSaved(key) {
    try {
      const value = JSON.parse(window.localStorage.getItem(key) || 'null');
      return value && value.plan && typeof value.plan.plan === 'string' ? value : null;
    } catch {
      return null;
    }
  }
  function writeSaved(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch {
      // Without storage the upload still works; it just cannot resume after a reload.
    }
  }
  function forget(key) {
    try {
      window.localStorage.removeItem(key);
    } catch {
      // nothing to forget
    }
  }

  /** The plan saved for this very file (same name, size, last-modified), API and variant, still valid. */
  function saved(file, base, variant = '') {
    const entry = readSaved(storageKey(file, base, variant));
    if (!entry) return null;
    if (Date.parse(entry.plan.planExpiresAt) - Date.now() < 60_000) {
      forget(storageKey(file, base, variant));
      return null;
    }
    return { ...entry.plan, uploadId: entry.uploadId, resumed: true };
  }

  /** Forgets the plan saved for this file (a resume that cannot go on starts afresh). */
  function discard(file, base, variant = '') {
    forget(storageKey(file, base, variant));
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function xmlValues(text, name) {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    return Array.from(doc.getElementsByTagName(name)).map((node) => node.textContent);
  }

  /**
   * Uploads `file` by `plan` (POST /uploads' multipart answer, or saved()). Resolves when complete.
   * options.size and options.body(start, end) -> Promise<Blob or Uint8Array> replace the file's
   * bytes when set; the bodies of the next parts are made ahead while parts are on the wire.
   */
  async function upload(options) {
    const { base, file, plan, context, callApi, storageError, isForbiddenHeader, FriendlyError, CancelledError,
      onProgress, setStatus, variant } = options;
    const totalSize = options.size ?? file.size;
    const bodyOf = options.body || (async (start, end) => file.slice(start, end));
    const key = storageKey(file, base, variant);
    const state = { cancelled: false, stopped: false, paused: false, waiters: [], requests: new Set() };
    const loadedOf = new Map(); // part number -> bytes sent of it so far
    const done = new Map(); // part number -> ETag
    const partBytes = (n) => (n < plan.partCount ? plan.partSize : totalSize - plan.partSize * (plan.partCount - 1));
    const report = () => {
      let sent = 0;
      for (const n of done.keys()) sent += partBytes(n);
      for (const [n, bytes] of loadedOf) if (!done.has(n)) sent += bytes;
      onProgress(sent, totalSize);
    };

    // ---- Pause / Resume / Cancel ------------------------------------------------------------
    const cancelButton = document.getElementById('cancel-button');
    const pauseButton = document.createElement('button');
    pauseButton.type = 'button';
    pauseButton.className = 'button button-quiet';
    pauseButton.id = 'pause-button';
    pauseButton.textContent = 'Pause';
    if (cancelButton) cancelButton.before(pauseButton);
    const abortAll = () => {
      for (const xhr of state.requests) xhr.abort();
    };
    pauseButton.addEventListener('click', () => {
      state.paused = !state.paused;
      pauseButton.textContent = state.paused ? 'Resume' : 'Pause';
      if (state.paused) {
        abortAll(); // the parts in flight start over on resume
        setStatus(`Paused “${file.name}”.`);
      } else {
        setStatus(`Uploading “${file.name}” in parts…`);
        state.waiters.splice(0).forEach((wake) => wake());
      }
    });
    const onCancel = () => {
      state.cancelled = true;
      abortAll();
      state.waiters.splice(0).forEach((wake) => wake());
    };
    if (cancelButton) cancelButton.addEventListener('click', onCancel);
    const checkpoint = async () => {
      while (state.paused && !state.cancelled) await new Promise((wake) => state.waiters.push(wake));
      if (state.cancelled || state.stopped) throw new CancelledError('cancelled');
    };

    const send = (method, url, headers, body, onUpload) => new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      state.requests.add(xhr);
      xhr.open(method, url);
      for (const [name, value] of Object.entries(headers || {})) {
        if (!isForbiddenHeader(name.toLowerCase())) xhr.setRequestHeader(name, String(value));
      }
      if (onUpload) xhr.upload.addEventListener('progress', (event) => onUpload(event.loaded));
      const settle = (action) => {
        state.requests.delete(xhr);
        action();
      };
      xhr.addEventListener('load', () => settle(() => {
        // S3 may answer CompleteMultipartUpload with 200 and an <Error> in the body.
        if (xhr.status >= 200 && xhr.status < 300 && !/<Error>/.test(xhr.responseText || '')) resolve(xhr);
        else reject(storageError(xhr.status, xhr.responseText, context));
      }));
      xhr.addEventListener('error', () => settle(() => reject(new FriendlyError(
        `The upload could not reach the storage at ${new URL(url).host}. Check your connection.`, 'network error'))));
      xhr.addEventListener('abort', () => settle(() => reject(new CancelledError('aborted'))));
      xhr.send(body === undefined ? null : body);
    });

    const planBody = () => ({ plan: plan.plan, uploadId: state.uploadId });

    try {
      // ---- CreateMultipartUpload, or the parts already stored ---------------------------------
      state.uploadId = plan.uploadId;
      if (!state.uploadId) {
        setStatus(`Starting the upload of “${file.name}” in ${plan.partCount} parts…`);
        const created = await send('POST', plan.url, plan.headers, undefined, null);
        state.uploadId = xmlValues(created.responseText, 'UploadId')[0];
        if (!state.uploadId) throw new FriendlyError('The storage did not start the upload.', 'no UploadId');
        const { uploadId: _ignored, resumed: _also, ...cleanPlan } = plan;
        writeSaved(key, { plan: cleanPlan, uploadId: state.uploadId, started: Date.now() });
      } else {
        setStatus(`Resuming “${file.name}”: asking the storage which parts it has…`);
        let marker = 0;
        for (;;) {
          const query = new URLSearchParams({ plan: plan.plan, uploadId: state.uploadId, partNumberMarker: String(marker) });
          const signed = await callApi(base, 'GET', `/uploads/parts?${query}`, undefined, context);
          let listed;
          try {
            listed = await send('GET', signed.url, {}, undefined, null);
          } catch (error) {
            if (error instanceof CancelledError) throw error;
            forget(key); // the upload is gone (aborted, swept): start afresh next time
            throw new FriendlyError(`The earlier upload of “${file.name}” can no longer be resumed. Choose the file again to start over.`,
              String(error && error.detail || error));
          }
          const doc = new DOMParser().parseFromString(listed.responseText, 'application/xml');
          for (const part of Array.from(doc.getElementsByTagName('Part'))) {
            const n = Number(part.getElementsByTagName('PartNumber')[0].textContent);
            const size = Number(part.getElementsByTagName('Size')[0].textContent);
            // A part of another size is not this plan's part: send it again.
            if (size === partBytes(n)) done.set(n, part.getElementsByTagName('ETag')[0].textContent);
          }
          if (xmlValues(listed.responseText, 'IsTruncated')[0] !== 'true') break;
          marker = Number(xmlValues(listed.responseText, 'NextPartNumberMarker')[0]);
        }
      }
      report();

      // ---- the parts: 4 in flight, URLs signed in batches just before use ----------------------
      const missing = [];
      for (let n = 1; n <= plan.partCount; n += 1) if (!done.has(n)) missing.push(n);
      const urls = new Map(); // part number -> { url, headers, deadline }
      let signing = null;
      const urlFor = async (n) => {
        const known = urls.get(n);
        if (known && known.deadline - Date.now() > URL_MARGIN_MS) return known;
        if (!signing) {
          const batch = [n, ...missing.filter((m) => m !== n && !urls.has(m))].slice(0, SIGN_BATCH);
          signing = callApi(base, 'POST', '/uploads/parts', { ...planBody(), partNumbers: batch }, context)
            .then((answer) => {
              const deadline = Date.parse(answer.expiresAt);
              for (const part of answer.parts) urls.set(part.partNumber, { url: part.url, headers: part.headers, deadline });
            })
            .finally(() => { signing = null; });
        }
        await signing;
        return urls.get(n) && urls.get(n).deadline - Date.now() > URL_MARGIN_MS ? urls.get(n) : urlFor(n);
      };
      const ahead = new Map(); // part number -> its body in the making
      const bodyFor = (n) => {
        if (!ahead.has(n)) {
          const start = (n - 1) * plan.partSize;
          const making = bodyOf(start, start + partBytes(n));
          making.catch(() => {}); // a failure is seen (and retried) when the part is sent
          ahead.set(n, making);
        }
        return ahead.get(n);
      };
      const sendPart = async (n) => {
        let body = null; // made once, kept for the retries
        for (let attempt = 0; ; attempt += 1) {
          await checkpoint();
          try {
            // The body is made while the URL is signed.
            const [signed, bytes] = await Promise.all([urlFor(n), body || bodyFor(n)]);
            ahead.delete(n);
            body = bytes;
            await checkpoint();
            const xhr = await send('PUT', signed.url, signed.headers, body, (loaded) => {
              loadedOf.set(n, loaded);
              report();
            });
            const etag = xhr.getResponseHeader('ETag');
            if (!etag) {
              throw new FriendlyError('The storage does not let this page read ETag headers (its CORS rules must expose ETag).',
                'no ETag');
            }
            done.set(n, etag);
            urls.delete(n);
            report();
            return;
          } catch (error) {
            ahead.delete(n);
            loadedOf.delete(n);
            report();
            if (state.cancelled || state.stopped) throw error instanceof CancelledError ? error : new CancelledError('cancelled');
            if (error instanceof CancelledError && state.paused) {
              attempt -= 1; // a pause is not a failure
              continue;
            }
            if (attempt >= RETRY_DELAYS_S.length) throw error;
            urls.delete(n); // a refused URL may have expired: sign again
            await sleep(RETRY_DELAYS_S[attempt] * 1000);
          }
        }
      };
      setStatus(`Uploading “${file.name}” in parts…`);
      let next = 0;
      const worker = async () => {
        while (next < missing.length) {
          const n = missing[next];
          next += 1;
          for (const m of missing.slice(next, next + MADE_AHEAD)) bodyFor(m);
          await sendPart(n);
        }
      };
      const workers = [];
      for (let i = 0; i < IN_FLIGHT; i += 1) workers.push(worker());
      try {
        await Promise.all(workers);
      } catch (error) {
        state.stopped = true; // the other workers stop too; the upload stays resumable
        abortAll();
        throw error;
      }

      // ---- Complete: the client sends the part list itself ------------------------------------
      await checkpoint();
      setStatus(`Finishing “${file.name}”…`);
      const signed = await callApi(base, 'POST', '/uploads/complete', planBody(), context);
      const xml = ['<CompleteMultipartUpload>'];
      for (let n = 1; n <= plan.partCount; n += 1) {
        xml.push(`<Part><PartNumber>${n}</PartNumber><ETag>${done.get(n).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</ETag></Part>`);
      }
      xml.push('</CompleteMultipartUpload>');
      // The signed headers (If-None-Match: *: a Complete never overwrites an existing object).
      await send('POST', signed.url, { ...(signed.headers || {}), 'Content-Type': 'application/xml' }, xml.join(''), null);
      forget(key);
      return { key: plan.key, parts: plan.partCount, resumedParts: plan.partCount - missing.length };
    } catch (error) {
      if (state.cancelled && state.uploadId) {
        // Cancel aborts the upload in the store and forgets it here.
        forget(key);
        try {
          const signed = await callApi(base, 'POST', '/uploads/abort', planBody(), context);
          await fetch(signed.url, { method: 'DELETE', credentials: 'omit', referrerPolicy: 'no-referrer' });
        } catch {
          // The store's sweep removes what an abort could not.
        }
        throw new CancelledError('cancelled');
      }
      throw error;
    } finally {
      pauseButton.remove();
      if (cancelButton) cancelButton.removeEventListener('click', onCancel);
    }
  }

  window.presignMultipart = Object.freeze({ saved, discard, upload });
})();
