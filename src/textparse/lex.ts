/**
 * Byte-level pieces shared by both parsers: the character-class table their lexers
 * scan with, Prometheus's unescaping of label values and HELP text, and the
 * construction of `ParseError`s (line/column are computed only when an error is
 * actually raised, so the hot path never counts lines).
 */
import { ParseError } from './errors.js';

/** [A-Za-z_:] — first byte of a metric name. */
export const C_MSTART = 1;
/** [0-9A-Za-z_:] — metric name byte. */
export const C_MCHAR = 2;
/** [A-Za-z_] — first byte of a label name. */
export const C_LSTART = 4;
/** [0-9A-Za-z_] — label name byte. */
export const C_LCHAR = 8;
/** 0.0.4 value byte: anything but NUL, TAB, LF, SP and `{` (promlex `[^{ \t\n]`). */
export const C_PVAL = 16;
/** OpenMetrics value/timestamp byte: anything but NUL, LF, SP (openmetricslex `[^ \n]`). */
export const C_OVAL = 32;
/** [0-9] */
export const C_DIGIT = 64;
/** SP or TAB (0.0.4 whitespace) */
export const C_BLANK = 128;

/**
 * Class bits per byte. NUL is excluded from every class because the golex-generated
 * lexers treat byte 0 as end of input; where 2.42 skips NULs instead (label values,
 * HELP/TYPE text, comments) the parsers do so explicitly.
 */
export const CLS: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 1; c < 256; c++) {
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
    const digit = c >= 0x30 && c <= 0x39;
    let f = 0;
    if (alpha || c === 0x3a) f |= C_MSTART | C_MCHAR;
    if (digit) f |= C_MCHAR | C_LCHAR | C_DIGIT;
    if (alpha) f |= C_LSTART | C_LCHAR;
    if (c !== 0x09 && c !== 0x0a && c !== 0x20 && c !== 0x7b) f |= C_PVAL;
    if (c !== 0x0a && c !== 0x20) f |= C_OVAL;
    if (c === 0x20 || c === 0x09) f |= C_BLANK;
    t[c] = f;
  }
  return t;
})();

/**
 * 1 for bytes a quoted label value can hold without special handling: not `"`,
 * not `\`, below 0x80 (high bytes are flagged for the UTF-8 check). NUL and raw
 * LF are plain here; the parsers decide about them separately.
 */
export const QPLAIN: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 0x80; c++) t[c] = c === 0x22 || c === 0x5c ? 0 : 1;
  return t;
})();

let scratch = new Uint8Array(256);

/**
 * Prometheus's `lvalReplacer` (label values everywhere, OpenMetrics HELP):
 * `\"`→`"`, `\\`→`\`, `\n`→LF, scanning left to right; any other backslash is kept
 * with the byte after it. With `helpOnly` it is 0.0.4's `helpReplacer`, which
 * leaves `\"` alone. Decodes the result as UTF-8.
 */
export function unescapeToString(b: Uint8Array, s: number, e: number, helpOnly: boolean, decode: (u: Uint8Array, s: number, e: number) => string): string {
  if (scratch.length < e - s) scratch = new Uint8Array(Math.max(e - s, scratch.length * 2));
  const out = scratch;
  let o = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c === 0x5c && i + 1 < e) {
      const d = b[i + 1]!;
      if (d === 0x5c) {
        out[o++] = 0x5c;
        i++;
        continue;
      }
      if (d === 0x6e) {
        out[o++] = 0x0a;
        i++;
        continue;
      }
      if (d === 0x22 && !helpOnly) {
        out[o++] = 0x22;
        i++;
        continue;
      }
    }
    out[o++] = c;
  }
  return decode(out, 0, o);
}

/** 1-based line and column (in bytes) of `pos` in `b`. */
export function lineCol(b: Uint8Array, pos: number): { line: number; column: number } {
  let line = 1;
  let ls = 0;
  const end = Math.min(pos, b.length);
  for (let i = 0; i < end; i++) {
    if (b[i] === 0x0a) {
      line++;
      ls = i + 1;
    }
  }
  return { line, column: pos - ls + 1 };
}

/**
 * Describes what was found at `pos` for an error message: `end of line`,
 * `end of input`, or the bytes up to the next blank/LF as a quoted string.
 */
export function describeAt(b: Uint8Array, pos: number, virtualNewline: boolean): string {
  const n = b.length;
  if (pos >= n) return virtualNewline && pos === n ? 'end of line' : 'end of input';
  const c = b[pos]!;
  if (c === 0x0a) return 'end of line';
  if (c === 0) return 'NUL byte';
  let e = pos + 1;
  if ((CLS[c]! & C_MCHAR) !== 0 || c === 0x2b || c === 0x2d || c === 0x2e || c >= 0x80) {
    while (e < n && e - pos < 32 && b[e] !== 0x0a && b[e] !== 0x20 && b[e] !== 0x09 && b[e] !== 0) e++;
  }
  return quote(b, pos, e);
}

/** JSON-style quoting of bytes (latin1 for invalid UTF-8 so nothing is lost). */
export function quote(b: Uint8Array, s: number, e: number): string {
  let str = '';
  for (let i = s; i < e && i - s < 64; i++) str += String.fromCharCode(b[i]!);
  return JSON.stringify(str);
}

/** Builds the ParseError for byte offset `pos`. */
export function errorAt(b: Uint8Array, pos: number, detail: string): ParseError {
  const { line, column } = lineCol(b, pos);
  return new ParseError(line, column, detail);
}
