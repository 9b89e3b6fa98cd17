/**
 * Byte-order comparison of strings and label sets.
 *
 * The index stores symbols, label values and series sorted by raw UTF-8 bytes (Go's
 * string `<`). JS `<` compares UTF-16 code units, which agrees with UTF-8 byte order
 * except between a surrogate pair (code points >= U+10000) and U+E000–U+FFFF: UTF-16
 * puts the pair first, UTF-8 puts it last. `compareUtf8` fixes exactly that case at
 * the first differing code unit, without encoding anything.
 */
import type { Labels } from '../../storage/index.js';

/** Go-style `a < b` on the UTF-8 bytes: negative, zero or positive. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (D800–DFFF) encode code points above FFFF: move them after E000–FFFF.
        x = x < 0xe000 ? x + 0x2000 : x - 0x800;
        y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Prometheus `labels.Compare` with byte-order string comparison. */
export function compareLabelsUtf8(a: Labels, b: Labels): number {
  const x = a.pairs;
  const y = b.pairs;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareUtf8(x[i] as string, y[i] as string);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

/** Byte length of `s` in UTF-8 (no allocation). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3; // BMP, or a lone surrogate (encoded as U+FFFD, 3 bytes)
  }
  return n;
}
