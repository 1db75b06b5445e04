// SPDX-License-Identifier: Apache-2.0
// The keys of the files this browser encrypted (issue 19), kept in IndexedDB: object key -> the
// file's 16-byte secret (base64url), its salt (so an interrupted upload in parts can rebuild the
// same ciphertext when it resumes), its real name, type and size, and when it was made. The
// secrets never leave this browser except in a share link's #fragment and in a key file the
// person exports. Export writes every finished file's key as JSON; import merges such a file
// (keys already here are kept). Exposes window.presignKeys; app.js is its only user.
'use strict';

(() => {
  const DATABASE = 'presign-keys';
  const STORE = 'keys';
  const EXPORT_FORMAT = 'presign-keys';
  const EXPORT_VERSION = 1;
  const MAX_IMPORT_BYTES = 16 * 1024 * 1024;
  const SECRET_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/; // 16 bytes, unpadded base64url
  const MAX_KEY_LENGTH = 1024;

  // Every record, read once at start; reads are synchronous from here, writes go to both.
  const cache = new Map();
  let database = null; // null: IndexedDB is unavailable (private window), keys last this visit only

  const request = (req) => new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

  function openDatabase() {
    return new Promise((resolve, reject) => {
      const req = window.indexedDB.open(DATABASE, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('the key database is blocked by another tab'));
    });
  }

  function transaction(mode) {
    return database.transaction(STORE, mode).objectStore(STORE);
  }

  /** A record as stored, or null when it is not one (an import is checked field by field). */
  function validRecord(value) {
    if (!value || typeof value !== 'object') return null;
    const { key, secret, salt, name, type, size, created, complete } = value;
    if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH) return null;
    if (typeof secret !== 'string' || !SECRET_PATTERN.test(secret)) return null;
    if (salt !== undefined && (typeof salt !== 'string' || !SECRET_PATTERN.test(salt))) return null;
    if (typeof name !== 'string' || name.length > 1024) return null;
    if (!Number.isSafeInteger(size) || size < 0) return null;
    return {
      key,
      secret,
      ...(salt !== undefined ? { salt } : {}),
      name,
      type: typeof type === 'string' && type.length <= 255 ? type : 'application/octet-stream',
      size,
      created: Number.isFinite(created) ? created : Date.now(),
      complete: complete !== false,
    };
  }

  let loading = null;
  /** Opens the database and reads every key; resolves even when IndexedDB is unavailable. */
  function ready() {
    if (!loading) {
      loading = (async () => {
        try {
          database = await openDatabase();
          for (const value of await request(transaction('readonly').getAll())) {
            const record = validRecord(value);
            if (record) cache.set(record.key, record);
          }
        } catch {
          database = null;
        }
      })();
    }
    return loading;
  }

  /** The record of an object key, or null. */
  function lookup(key) {
    return cache.get(key) || null;
  }

  async function put(value) {
    const record = validRecord(value);
    if (!record) throw new Error('not a key record');
    cache.set(record.key, record);
    if (database) await request(transaction('readwrite').put(record));
    return record;
  }

  async function remove(key) {
    cache.delete(key);
    if (database) await request(transaction('readwrite').delete(key));
  }

  /** The finished files' keys as a JSON text (the salt, only needed to resume, is left out). */
  function exportText() {
    const keys = [...cache.values()].filter((record) => record.complete)
      .map(({ key, secret, name, type, size, created }) => ({ key, secret, name, type, size, created }));
    return JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, exported: new Date().toISOString(), keys }, null, 1);
  }

  /**
   * Merges an exported key file: keys not yet here are added, keys already here are kept.
   * Resolves to { added, known, invalid }; rejects with a sentence when the text is not a key file.
   */
  async function importText(text) {
    if (typeof text !== 'string' || text.length > MAX_IMPORT_BYTES) throw new Error('The file is too large to be a key file.');
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error('The file is not a presign key file (it is not JSON).');
    }
    if (!parsed || parsed.format !== EXPORT_FORMAT || !Array.isArray(parsed.keys)) {
      throw new Error('The file is not a presign key file.');
    }
    if (parsed.version !== EXPORT_VERSION) throw new Error(`The key file’s version (${parsed.version}) is not one this page reads.`);
    const result = { added: 0, known: 0, invalid: 0 };
    for (const value of parsed.keys) {
      const record = validRecord(value && typeof value === 'object' ? { ...value, salt: undefined, complete: true } : null);
      if (!record) result.invalid += 1;
      else if (cache.has(record.key)) result.known += 1;
      else {
        await put(record);
        result.added += 1;
      }
    }
    return result;
  }

  window.presignKeys = Object.freeze({
    ready,
    lookup,
    put,
    remove,
    exportText,
    importText,
    count: () => [...cache.values()].filter((record) => record.complete).length,
    persistent: () => database !== null,
  });
})();
