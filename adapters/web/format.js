// SPDX-License-Identifier: Apache-2.0
// Formatting shared by the page (app.js) and the recipient page (share.js): sizes in decimal units
// (1 KB = 1000 bytes, as browsers and operating systems show downloads) and times in the reader's
// locale. Exposes window.presignFormat.
'use strict';

(function (global) {
  // One formatter for every call: toLocaleString would build a new one each time (a list of a
  // thousand files spent most of its rendering there).
  let dateFormat = null;

  /** "12 bytes", "1.2 MB"; with { exact: true } also the byte count: "1.2 MB (1,234,567 bytes)". */
  function bytes(count, { exact = false } = {}) {
    if (!Number.isFinite(count) || count < 0) return '';
    if (count < 1000) return `${count} byte${count === 1 ? '' : 's'}`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let value = count;
    let unit = -1;
    do {
      value /= 1000;
      unit += 1;
    } while (value >= 1000 && unit < units.length - 1);
    const short = `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
    return exact ? `${short} (${count.toLocaleString()} bytes)` : short;
  }

  /** A moment (milliseconds since the epoch) as a medium date and a short time. */
  function time(ms) {
    try {
      dateFormat = dateFormat || new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
      return dateFormat.format(new Date(ms));
    } catch {
      return new Date(ms).toISOString();
    }
  }

  global.presignFormat = Object.freeze({ bytes, time });
})(window);
