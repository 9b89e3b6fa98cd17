/**
 * Number syntax exactly as Prometheus 2.42's parsers accept it, read straight from
 * the body bytes (no string is built on the common path).
 *
 *  - `parseGoFloat`: Prometheus's `parseFloat` = reject any `p`, `P`, `_`, then Go
 *    `strconv.ParseFloat(s, 64)`. Accepted: `[+-]?(d+[.d*]|.d+)([eE][+-]?d+)?`,
 *    case-insensitive `inf`/`infinity` with an optional sign, and `nan` without a
 *    sign. Overflow (`1e400`) is an error (Go returns ErrRange), underflow is 0.
 *    Hex floats need a `p` exponent in Go, so with `p` rejected every hex form fails.
 *  - `parseGoInt64`: `strconv.ParseInt(s, 10, 64)` over a run of ASCII digits (the
 *    0.0.4 lexer only ever hands it digits): leading zeros fine, > 2^63-1 fails.
 *  - `goFloatToInt64`: Go's `int64(f)` on amd64 (truncate toward zero; NaN and
 *    out-of-range give the "integer indefinite" value -2^63), used for
 *    OpenMetrics' `int64(ts * 1000)`.
 *
 * Results travel through the module-level `numStatus` (0 = ok) instead of an object
 * or exception per value: these run once per sample on the scrape hot path.
 */

/** Outcome of the last parse call: one of the `NUM_*` codes. */
export let numStatus = 0;
export const NUM_OK = 0;
/** not a number in Go's syntax */
export const NUM_SYNTAX = 1;
/** well-formed but out of range (float overflow, int64 overflow) */
export const NUM_RANGE = 2;
/** contains `p`, `P` or `_`, which Prometheus rejects before calling Go */
export const NUM_UNSUPPORTED = 3;

/** Why a number was rejected, in Prometheus's words. */
export function numStatusText(s: number): string {
  switch (s) {
    case NUM_SYNTAX:
      return 'invalid syntax';
    case NUM_RANGE:
      return 'value out of range';
    case NUM_UNSUPPORTED:
      return 'unsupported character in float';
    default:
      return 'ok';
  }
}

/** Exact powers of ten representable as doubles (10^0 … 10^22), for Clinger's fast path. */
const POW10 = new Float64Array(23);
for (let k = 0, p = 1; k < 23; k++, p *= 10) POW10[k] = p;

/** Lower-cases an ASCII letter byte. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Case-insensitive compare of b[s..s+word.length) with an ASCII lower-case word. */
function matchesWord(b: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (lower(b[s + k]!) !== word.charCodeAt(k)) return false;
  return true;
}

/** Node's native latin1 decoder; works on any Uint8Array (one string, no copy of the body). */
const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

function latin1(b: Uint8Array, s: number, e: number): string {
  return latin1Slice.call(b, s, e);
}

/**
 * Parses b[s, e) as Prometheus's parseFloat does. On error returns 0 and sets
 * `numStatus`. The caller maps NaN to Prometheus's canonical bits on storage.
 */
export function parseGoFloat(b: Uint8Array, s: number, e: number): number {
  numStatus = NUM_OK;
  if (s >= e) {
    numStatus = NUM_SYNTAX;
    return 0;
  }
  let i = s;
  let neg = false;
  let c = b[i]!;
  if (c === 0x2b || c === 0x2d) {
    neg = c === 0x2d;
    i++;
  }
  // Integer part, fraction, exponent. `mant` holds up to 15 significant digits
  // exactly; beyond that (or for large exponents) the slow path below takes over.
  let mant = 0;
  let sig = 0; // significant digits seen (leading zeros excluded)
  let fracDigits = 0;
  let sawDigits = false;
  let sawDot = false;
  let trailingSig = 0; // significant digits dropped from `mant` (slow path needed)
  for (; i < e; i++) {
    c = b[i]!;
    if (c >= 0x30 && c <= 0x39) {
      sawDigits = true;
      if (sawDot) fracDigits++;
      if (sig === 0 && c === 0x30) continue;
      if (sig < 15) mant = mant * 10 + (c - 0x30);
      else trailingSig++;
      sig++;
      continue;
    }
    if (c === 0x2e && !sawDot) {
      sawDot = true;
      continue;
    }
    break;
  }
  if (!sawDigits) return special(b, s, e);
  // Hex: Go switches base on a "0x" prefix when at least one more byte follows;
  // without a `p` exponent (rejected below) that is always a syntax error.
  let exp = 0;
  let capped = false;
  const mantEnd = i;
  if (i < e) {
    c = b[i]!;
    if (c === 0x65 || c === 0x45) {
      i++;
      let eneg = false;
      if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) {
        eneg = b[i] === 0x2d;
        i++;
      }
      if (i >= e || b[i]! < 0x30 || b[i]! > 0x39) return fail(b, s, e);
      for (; i < e; i++) {
        c = b[i]!;
        if (c < 0x30 || c > 0x39) break;
        if (exp < 10000) exp = exp * 10 + (c - 0x30);
        else capped = true;
      }
      if (eneg) exp = -exp;
    }
  }
  if (i !== e) return fail(b, s, e);
  let v: number;
  const e10 = exp - fracDigits + trailingSig;
  if (trailingSig === 0 && e10 >= -22 && e10 <= 22) {
    // Clinger's fast path: both operands exact, one correctly rounded operation.
    v = e10 >= 0 ? mant * POW10[e10]! : mant / POW10[-e10]!;
  } else {
    // V8's string-to-number conversion is correctly rounded like Go's; the syntax
    // was validated above and is a subset of JS's StrDecimalLiteral. A huge
    // exponent is re-emitted as Go saw it (readFloat stops accumulating at 10000).
    v = capped ? Number(latin1(b, neg ? s + 1 : s, mantEnd) + 'e' + exp) : Math.abs(Number(latin1(b, s, e)));
    if (v === Infinity) {
      numStatus = NUM_RANGE;
      return 0;
    }
  }
  return neg ? -v : v;
}

/** Reports why b[s, e) was rejected: Prometheus's `pP_` check first, else syntax. */
function fail(b: Uint8Array, s: number, e: number): number {
  numStatus = NUM_SYNTAX;
  for (let k = s; k < e; k++) {
    const c = b[k]!;
    if (c === 0x70 || c === 0x50 || c === 0x5f) {
      numStatus = NUM_UNSUPPORTED;
      break;
    }
  }
  return 0;
}

/** Go's `special`: [+-]inf, [+-]infinity, nan (case-insensitive; no sign on nan). */
function special(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const c = b[i]!;
  if (c === 0x2b || c === 0x2d) {
    const neg = c === 0x2d;
    i++;
    if (matchesWord(b, i, e, 'inf') || matchesWord(b, i, e, 'infinity')) return neg ? -Infinity : Infinity;
    return fail(b, s, e);
  }
  if (matchesWord(b, i, e, 'inf') || matchesWord(b, i, e, 'infinity')) return Infinity;
  if (matchesWord(b, i, e, 'nan')) return NaN;
  return fail(b, s, e);
}

const INT64_MAX_DIGITS = '9223372036854775807';

/**
 * `strconv.ParseInt(b[s,e), 10, 64)` for a run of ASCII digits (the caller's lexer
 * guarantees digits only). Values above 2^53 come back as the nearest double: a
 * millisecond timestamp that large is ~285,000 years out and is rejected as out of
 * bounds when appended anyway.
 */
export function parseGoInt64(b: Uint8Array, s: number, e: number): number {
  numStatus = NUM_OK;
  while (s < e - 1 && b[s] === 0x30) s++;
  const n = e - s;
  if (n <= 15) {
    let v = 0;
    for (let k = s; k < e; k++) v = v * 10 + (b[k]! - 0x30);
    return v;
  }
  if (n > 19) {
    numStatus = NUM_RANGE;
    return 0;
  }
  if (n === 19) {
    for (let k = 0; k < 19; k++) {
      const d = b[s + k]! - INT64_MAX_DIGITS.charCodeAt(k);
      if (d < 0) break;
      if (d > 0) {
        numStatus = NUM_RANGE;
        return 0;
      }
    }
  }
  return Number(latin1(b, s, e));
}

const TWO63 = 2 ** 63;

/**
 * Go's `int64(f)` as compiled for amd64 (CVTTSD2SQ): truncation toward zero, and
 * -2^63 for NaN or anything outside [-2^63, 2^63). -0 becomes 0.
 */
export function goFloatToInt64(f: number): number {
  if (!(f > -TWO63 - 1 && f < TWO63)) return -TWO63;
  return Math.trunc(f) || 0;
}
