// SPDX-License-Identifier: Apache-2.0
// End-to-end encryption for the page: RFC 8188 "aes128gcm" with WebCrypto, in the format
// adapters/crypto/FORMAT.md describes (the same bytes `presign encrypt` / `presign decrypt` use):
// 64 KiB records, no padding written (any RFC padding read), the file's name, type and size sealed
// in the header's keyid under HKDF info "presign metadata v1\0". The key never leaves this
// page: it is shown only in the share link's #fragment. Exposes window.presignE2E.
'use strict';

(function (global) {
  const RECORD_SIZE = 65536;
  const TAG_SIZE = 16;
  const RECORD_OVERHEAD = 17; // tag + delimiter
  const FIXED_HEADER = 21; // salt 16, rs 4, idlen 1
  const MIN_RECORD_SIZE = 18;
  const MAX_RECORD_SIZE = 16 * 1024 * 1024;
  const METADATA_OVERHEAD = 1 + 8 + 1 + TAG_SIZE;
  const MAX_METADATA = 255;
  const MAX_TYPE = 100;
  const MAX_EXTENSION = 16;
  const OCTET_STREAM = 'application/octet-stream';
  const RECORDS_PER_BATCH = 16; // 1 MiB read and encrypted at a time, then handed to a Blob
  const DECRYPT_BATCH = 1 << 20; // ciphertext gathered before decrypting its records together
  const BLOB_BATCH = 8 << 20; // plaintext gathered before it becomes one Blob part
  const BATCHES_IN_FLIGHT = 4; // encryptFile reads and seals this many batches at once
  const subtle = global.crypto && global.crypto.subtle;
  const utf8 = new TextEncoder();

  /** An error with a stable code (the C++ presign::e2e::errc names) and a message for people. */
  class E2EError extends Error {
    constructor(code, message) {
      super(message);
      this.name = 'E2EError';
      this.code = code;
    }
  }

  /** Exact body size for n plaintext bytes (what the upload signs as Content-Length). */
  function encryptedSize(n, recordSize = RECORD_SIZE, keyidSize = 0) {
    const records = Math.max(1, Math.ceil(n / (recordSize - RECORD_OVERHEAD)));
    return FIXED_HEADER + keyidSize + n + records * RECORD_OVERHEAD;
  }

  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  function base64urlEncode(bytes) {
    let out = '';
    let i = 0;
    for (; i + 3 <= bytes.length; i += 3) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out += ALPHABET[(v >> 18) & 63] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63] + ALPHABET[v & 63];
    }
    const rest = bytes.length - i;
    if (rest === 1) {
      const v = bytes[i] << 16;
      out += ALPHABET[(v >> 18) & 63] + ALPHABET[(v >> 12) & 63];
    } else if (rest === 2) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
      out += ALPHABET[(v >> 18) & 63] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63];
    }
    return out;
  }

  /** Strict unpadded base64url; null for anything else. */
  function base64urlDecode(text) {
    if (typeof text !== 'string' || text.length % 4 === 1) return null;
    const out = [];
    let acc = 0;
    let bits = 0;
    for (const c of text) {
      const v = ALPHABET.indexOf(c);
      if (v < 0) return null;
      acc = ((acc << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push((acc >> bits) & 0xff);
      }
    }
    if ((acc & ((1 << bits) - 1)) !== 0) return null;
    return Uint8Array.from(out);
  }

  function newSecret() {
    return global.crypto.getRandomValues(new Uint8Array(16));
  }

  /** The 16-byte key from its 22-character form (a share link's fragment). */
  function parseSecret(text) {
    const bytes = typeof text === 'string' && text.length === 22 ? base64urlDecode(text) : null;
    if (!bytes || bytes.length !== 16) {
      throw new E2EError('invalid_secret', 'The key in the link is damaged: it must be 22 characters of A–Z, a–z, 0–9, - and _.');
    }
    return bytes;
  }

  async function hkdf(secret, salt, info, length) {
    const base = await subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
    const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: utf8.encode(info) }, base, length * 8);
    return new Uint8Array(bits);
  }

  async function aesKey(raw, usage) {
    return subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, [usage]);
  }

  async function contentKeys(secret, salt, usage) {
    const cek = await hkdf(secret, salt, 'Content-Encoding: aes128gcm\0', 16);
    const nonceBase = await hkdf(secret, salt, 'Content-Encoding: nonce\0', 12);
    return { key: await aesKey(cek, usage), nonceBase };
  }

  // NONCE xor SEQ as a 96-bit big-endian number (RFC 8188 §2.3); SEQ < 2^48 here.
  function nonceFor(base, sequence) {
    const out = base.slice();
    let s = sequence;
    for (let i = 0; i < 6; i += 1) {
      out[11 - i] ^= s % 256;
      s = Math.floor(s / 256);
    }
    return out;
  }

  function headerBytes(salt, recordSize, keyid) {
    const out = new Uint8Array(FIXED_HEADER + keyid.length);
    out.set(salt, 0);
    new DataView(out.buffer).setUint32(16, recordSize);
    out[20] = keyid.length;
    out.set(keyid, FIXED_HEADER);
    return out;
  }

  // ---- metadata record (name, type, size) -----------------------------------------------------

  function safeFileName(name) {
    let n = String(name ?? '');
    const slash = Math.max(n.lastIndexOf('/'), n.lastIndexOf('\\'));
    if (slash >= 0) n = n.slice(slash + 1);
    n = Array.from(n).filter((c) => { const code = c.codePointAt(0); return code >= 0x20 && code !== 0x7f; }).join('');
    return n === '' || n === '.' || n === '..' ? 'file' : n;
  }

  // The longest prefix of `text` whose UTF-8 form has at most `size` bytes.
  function utf8Prefix(text, size) {
    let out = '';
    let used = 0;
    for (const c of text) {
      const bytes = utf8.encode(c).length;
      if (used + bytes > size) break;
      out += c;
      used += bytes;
    }
    return out;
  }

  /** The metadata shortened to fit the 255-byte keyid, as the C++ fit_metadata does. */
  function fitMetadata({ name, type, size }) {
    let t = typeof type === 'string' ? type : '';
    if (t === '' || t.length > MAX_TYPE || !/^[\x21-\x7e]+$/.test(t)) t = OCTET_STREAM;
    let n = safeFileName(name);
    const room = MAX_METADATA - METADATA_OVERHEAD - t.length;
    if (utf8.encode(n).length > room) {
      const dot = n.lastIndexOf('.');
      const extension = dot > 0 ? utf8Prefix(n.slice(dot), MAX_EXTENSION) : '';
      n = utf8Prefix(n, room - utf8.encode(extension).length) + extension;
    }
    return { name: n, type: t, size: Number(size) || 0 };
  }

  async function metadataKey(secret, salt, usage) {
    const block = await hkdf(secret, salt, 'presign metadata v1\0', 28);
    return { key: await aesKey(block.slice(0, 16), usage), nonce: block.slice(16, 28) };
  }

  async function sealMetadata(secret, salt, metadata) {
    const type = utf8.encode(metadata.type);
    const name = utf8.encode(metadata.name);
    if (type.length + name.length > MAX_METADATA - METADATA_OVERHEAD) {
      throw new E2EError('metadata_too_large', 'The file name is too long to store.');
    }
    const plain = new Uint8Array(10 + type.length + name.length);
    plain[0] = 1;
    new DataView(plain.buffer).setBigUint64(1, BigInt(metadata.size));
    plain[9] = type.length;
    plain.set(type, 10);
    plain.set(name, 10 + type.length);
    const { key, nonce } = await metadataKey(secret, salt, 'encrypt');
    return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce }, key, plain));
  }

  async function openMetadata(secret, salt, keyid) {
    const invalid = () => new E2EError('metadata_invalid',
      'The file’s name does not decrypt: the key in the link is wrong, or the file was changed.');
    if (keyid.length < METADATA_OVERHEAD || keyid.length > MAX_METADATA) throw invalid();
    const { key, nonce } = await metadataKey(secret, salt, 'decrypt');
    let plain;
    try {
      plain = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce }, key, keyid));
    } catch {
      throw invalid();
    }
    const typeLength = plain[9];
    if (plain[0] !== 1 || 10 + typeLength >= plain.length) throw invalid();
    const decoder = new TextDecoder();
    return {
      size: Number(new DataView(plain.buffer).getBigUint64(1)),
      type: decoder.decode(plain.subarray(10, 10 + typeLength)),
      name: decoder.decode(plain.subarray(10 + typeLength)),
    };
  }

  // ---- encryption -------------------------------------------------------------------------------

  /**
   * An encryption of one File or Blob whose ciphertext can be produced in any byte range, in any
   * order and more than once (the same secret and salt give the same bytes): upload parts are
   * encrypted when they are sent, and a resumed upload rebuilds the missing ones from the secret
   * and salt it kept. Record i holds plaintext [i*(rs-17), (i+1)*(rs-17)) at ciphertext offset
   * header + i*rs, so a range touches only its own records; a range's records are sealed
   * concurrently (GCM records are independent, and WebCrypto runs calls off the page's thread).
   * options: name, type (stored encrypted; default the file's), secret and salt (Uint8Array(16),
   * default new), recordSize (tests only).
   * Resolves to { size, secret, salt, metadata, recordCount, range(start, end) -> Promise<Uint8Array> }.
   * A range is one contiguous array (callers that send it wrap it in a Blob: Chromium sends a Blob
   * body far faster than an ArrayBuffer one).
   */
  async function createEncryptor(file, options = {}) {
    const recordSize = options.recordSize || RECORD_SIZE;
    const secret = options.secret || newSecret();
    const salt = options.salt || global.crypto.getRandomValues(new Uint8Array(16));
    if (!(secret instanceof Uint8Array) || secret.length !== 16 || !(salt instanceof Uint8Array) || salt.length !== 16) {
      throw new E2EError('invalid_secret', 'The key and salt must be 16 bytes each.');
    }
    const metadata = fitMetadata({ name: options.name ?? file.name, type: options.type ?? file.type, size: file.size });
    const keyid = await sealMetadata(secret, salt, metadata);
    const header = headerBytes(salt, recordSize, keyid);
    const size = encryptedSize(file.size, recordSize, keyid.length);
    const { key, nonceBase } = await contentKeys(secret, salt, 'encrypt');
    const per = recordSize - RECORD_OVERHEAD;
    const recordCount = Math.max(1, Math.ceil(file.size / per));

    // Records [first, last) sealed, in order; the plaintext is read once for all of them.
    async function sealRecords(first, last) {
      const plain = new Uint8Array(await file.slice(first * per, Math.min(file.size, last * per)).arrayBuffer());
      const sealing = [];
      for (let i = first; i < last; i += 1) {
        const piece = plain.subarray((i - first) * per, Math.min(plain.length, (i - first + 1) * per));
        const record = new Uint8Array(piece.length + 1);
        record.set(piece);
        record[piece.length] = i === recordCount - 1 ? 2 : 1;
        sealing.push(subtle.encrypt({ name: 'AES-GCM', iv: nonceFor(nonceBase, i) }, key, record)
          .then((sealed) => new Uint8Array(sealed)));
      }
      return Promise.all(sealing);
    }

    /** Ciphertext bytes [start, end) (end is clamped to the size). */
    async function range(start, end) {
      const stop = Math.min(end, size);
      if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || start > stop) {
        throw new E2EError('crypto_failure', `Invalid ciphertext range ${start}..${end}.`);
      }
      const out = new Uint8Array(stop - start);
      let at = 0;
      const put = (bytes) => {
        out.set(bytes, at);
        at += bytes.length;
      };
      if (start < header.length) put(header.subarray(start, Math.min(stop, header.length)));
      if (stop > header.length) {
        const from = Math.max(start, header.length) - header.length; // offsets in the records
        const to = stop - header.length;
        const first = Math.floor(from / recordSize);
        const last = Math.min(recordCount, Math.floor((to - 1) / recordSize) + 1);
        const sealed = await sealRecords(first, last);
        for (let i = first; i < last; i += 1) {
          const record = sealed[i - first];
          const at = i * recordSize;
          const lo = Math.max(from, at) - at;
          const hi = Math.min(to, at + record.length) - at;
          put(record.subarray(lo, hi));
        }
      }
      if (at !== out.length) throw new E2EError('crypto_failure', 'Encryption produced an unexpected size.');
      return out;
    }

    return { size, secret, salt, metadata, recordCount, range };
  }

  /**
   * Encrypts a File or Blob into a Blob of exactly `size` bytes (known before any encryption, see
   * sizeFor), 1 MiB at a time with a few batches in flight; each encrypted batch goes into the Blob
   * at once, so the browser can keep large files on disk rather than in the page's memory.
   * options: those of createEncryptor, and onProgress(doneBytes, totalBytes).
   * Returns { blob, size, secret, salt, metadata }.
   */
  async function encryptFile(file, options = {}) {
    const encryptor = await createEncryptor(file, options);
    const { size } = encryptor;
    const step = RECORDS_PER_BATCH * (options.recordSize || RECORD_SIZE);
    const batches = [];
    const parts = [];
    let done = 0;
    for (let start = 0; start < size || batches.length > 0;) {
      while (start < size && batches.length < BATCHES_IN_FLIGHT) {
        batches.push(encryptor.range(start, start + step));
        start += step;
      }
      const part = new Blob([await batches.shift()]);
      parts.push(part);
      done += part.size;
      if (options.onProgress) options.onProgress(Math.round((done / size) * file.size), file.size);
    }
    const blob = new Blob(parts, { type: OCTET_STREAM });
    if (blob.size !== size) throw new E2EError('crypto_failure', 'Encryption produced an unexpected size.');
    return { blob, size, secret: encryptor.secret, salt: encryptor.salt, metadata: encryptor.metadata };
  }

  /** The exact encrypted size of a file with this name and type, before encrypting it. */
  function sizeFor(file, options = {}) {
    const metadata = fitMetadata({ name: options.name ?? file.name, type: options.type ?? file.type, size: file.size });
    const keyid = METADATA_OVERHEAD + utf8.encode(metadata.type).length + utf8.encode(metadata.name).length;
    return encryptedSize(file.size, options.recordSize || RECORD_SIZE, keyid);
  }

  // ---- decryption -------------------------------------------------------------------------------

  function concat(a, b) {
    if (a.length === 0) return b;
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  /**
   * A streaming decryptor: `await update(bytes)` returns the plaintext pieces of records known not
   * to be the last; `await finish()` the last one, after checking the stored size. The first
   * failure (an E2EError) is final. `metadata` is set once the header has been read (null for a
   * body without keyid). Discard everything unless finish succeeds.
   */
  class Decryptor {
    constructor(secret) {
      this.secret = secret;
      this.pending = new Uint8Array(0);
      this.header = null;
      this.metadata = null;
      this.sequence = 0;
      this.plaintextBytes = 0;
      this.failure = null;
    }

    fail(code, message) {
      this.failure = new E2EError(code, message);
      throw this.failure;
    }

    async readHeader() {
      if (this.pending.length < FIXED_HEADER) return false;
      const idlen = this.pending[20];
      if (this.pending.length < FIXED_HEADER + idlen) return false;
      const view = new DataView(this.pending.buffer, this.pending.byteOffset);
      const recordSize = view.getUint32(16);
      const salt = this.pending.slice(0, 16);
      const keyid = this.pending.slice(FIXED_HEADER, FIXED_HEADER + idlen);
      this.pending = this.pending.slice(FIXED_HEADER + idlen);
      if (recordSize < MIN_RECORD_SIZE || recordSize > MAX_RECORD_SIZE) {
        this.fail('invalid_record_size', 'The file is damaged: its record size is impossible.');
      }
      this.header = { salt, recordSize, keyid };
      Object.assign(this, await contentKeys(this.secret, salt, 'decrypt'));
      if (keyid.length > 0) {
        try {
          this.metadata = await openMetadata(this.secret, salt, keyid);
        } catch (error) {
          this.failure = error;
          throw error;
        }
      }
      return true;
    }

    async open(record, last) {
      const sequence = this.sequence++;
      if (record.length < RECORD_OVERHEAD) this.fail('truncated', 'The file is incomplete: it ends inside a record.');
      let plain;
      try {
        plain = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonceFor(this.nonceBase, sequence) }, this.key, record));
      } catch {
        this.fail('record_tampered', 'The file does not decrypt: the key in the link is wrong, or the file was changed.');
      }
      let end = plain.length;
      while (end > 0 && plain[end - 1] === 0) end -= 1;
      const delimiter = end > 0 ? plain[end - 1] : 0;
      if (delimiter === 2 && !last) this.fail('trailing_data', 'The file was changed: data follows its end.');
      if (delimiter === 1 && last) this.fail('truncated', 'The file is incomplete: its last part is missing.');
      if (delimiter !== 1 && delimiter !== 2) this.fail('padding_invalid', 'The file was changed: a record is malformed.');
      this.plaintextBytes += end - 1;
      return plain.subarray(0, end - 1);
    }

    async update(bytes) {
      if (this.failure) throw this.failure;
      this.pending = concat(this.pending, bytes);
      if (!this.header && !(await this.readHeader())) return [];
      const rs = this.header.recordSize;
      // Every complete record known not to be the last goes to WebCrypto at once (open() takes its
      // sequence number before it awaits), so the browser's crypto threads work on them together
      // instead of one round trip per 64 KiB; the pieces come back in order.
      const records = [];
      let at = 0;
      while (this.pending.length - at > rs) {
        records.push(this.pending.subarray(at, at + rs));
        at += rs;
      }
      const out = await Promise.all(records.map((record) => this.open(record, false)));
      this.pending = this.pending.slice(at);
      return out;
    }

    async finish() {
      if (this.failure) throw this.failure;
      if (!this.header) this.fail('header_truncated', 'The file is incomplete: it ends inside its header.');
      if (this.pending.length === 0) this.fail('truncated', 'The file is incomplete: its last part is missing.');
      const last = await this.open(this.pending, true);
      this.pending = new Uint8Array(0);
      if (this.metadata && this.metadata.size !== this.plaintextBytes) {
        this.fail('size_mismatch', 'The file is incomplete or changed: its size is not the size it was shared with.');
      }
      this.failure = new E2EError('crypto_failure', 'finish called twice');
      return [last];
    }
  }

  /** Decrypts a whole Blob or Uint8Array; resolves to { blob, metadata } or rejects with E2EError. */
  async function decryptBytes(body, secret) {
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(await body.arrayBuffer());
    const decryptor = new Decryptor(secret);
    const parts = await decryptor.update(bytes);
    parts.push(...(await decryptor.finish()));
    return { blob: new Blob(parts), metadata: decryptor.metadata };
  }

  /**
   * Decrypts a fetch Response's body as it arrives into a Blob (kept by the browser, on disk
   * when large). onHeader(metadata) is called once the name is known; onProgress(bytes) as
   * ciphertext arrives. Rejects with E2EError on any wrong key or change; nothing is returned then.
   * Network chunks are gathered to DECRYPT_BATCH bytes before decrypting (so records go to WebCrypto
   * together), and plaintext to BLOB_BATCH bytes before it becomes a Blob part (each Blob costs a
   * round trip to the browser's blob store).
   */
  async function decryptResponse(response, secret, { onHeader, onProgress } = {}) {
    const decryptor = new Decryptor(secret);
    const reader = response.body.getReader();
    const parts = [];
    let plain = [];
    let plainBytes = 0;
    let incoming = [];
    let incomingBytes = 0;
    let received = 0;
    let announced = false;
    const keep = (pieces) => {
      for (const piece of pieces) {
        plain.push(piece);
        plainBytes += piece.length;
      }
      if (plainBytes >= BLOB_BATCH) {
        parts.push(new Blob(plain));
        plain = [];
        plainBytes = 0;
      }
    };
    const feed = async () => {
      let bytes = incoming[0];
      if (incoming.length > 1) {
        bytes = new Uint8Array(incomingBytes);
        let at = 0;
        for (const chunk of incoming) {
          bytes.set(chunk, at);
          at += chunk.length;
        }
      }
      incoming = [];
      incomingBytes = 0;
      keep(await decryptor.update(bytes));
      if (!announced && decryptor.header) {
        announced = true;
        if (onHeader) onHeader(decryptor.metadata);
      }
    };
    // One batch decrypts while the next arrives: the previous batch is awaited before the next
    // starts (order, and at most two batches in memory). The no-op catch only keeps a failure from
    // being reported as unhandled before it is awaited; the await below still throws it.
    let inflight = Promise.resolve();
    const start = async () => {
      await inflight;
      inflight = feed();
      inflight.catch(() => {});
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      incoming.push(value);
      incomingBytes += value.length;
      // The header goes first on its own, so the name shows before the first megabyte.
      if (incomingBytes >= DECRYPT_BATCH || (!decryptor.header && !announced)) {
        await start();
        if (!decryptor.header) await inflight;
      }
      if (onProgress) onProgress(received);
    }
    if (incomingBytes > 0) await start();
    await inflight;
    keep(await decryptor.finish());
    parts.push(new Blob(plain));
    return { blob: new Blob(parts, { type: (decryptor.metadata && decryptor.metadata.type) || OCTET_STREAM }), metadata: decryptor.metadata };
  }

  global.presignE2E = Object.freeze({
    RECORD_SIZE, E2EError, encryptedSize, sizeFor, base64urlEncode, base64urlDecode, newSecret, parseSecret,
    fitMetadata, safeFileName, createEncryptor, encryptFile, Decryptor, decryptBytes, decryptResponse,
    available: Boolean(subtle),
  });
})(window);
