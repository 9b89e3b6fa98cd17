/**
 * Special float values.
 *
 * Prometheus marks a series stale with one exact NaN bit pattern,
 * `StaleNaN = 0x7ff0000000000002` (model/value/value.go). An ordinary NaN
 * (`0x7ff8000000000001` in Go's math.NaN) is a normal value. ECMAScript does not
 * promise to keep a NaN's payload when a `number` is moved around, so staleness is
 * never inferred from a JS `number`: it travels as explicit state
 * (`Appender.appendStale`, `SampleIterator.atStale`) and encoders write the bits from
 * these constants.
 */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;
/** Go's math.NaN() bits, what Prometheus writes for a parsed "NaN". */
export const NORMAL_NAN_HI = 0x7ff80000;
export const NORMAL_NAN_LO = 0x00000001;

const scratch = new DataView(new ArrayBuffer(8));

/** True when the 8 bytes at `off` (big-endian) are the stale-marker pattern. */
export function isStaleNaNBits(hi: number, lo: number): boolean {
  return hi >>> 0 === STALE_NAN_HI && lo >>> 0 === STALE_NAN_LO;
}

/** Writes the stale marker bits big-endian into `view` at `off`. */
export function putStaleNaN(view: DataView, off: number): void {
  view.setUint32(off, STALE_NAN_HI);
  view.setUint32(off + 4, STALE_NAN_LO);
}

/** High 32 bits of a double (for XOR encoding and bit checks). */
export function float64Hi(v: number): number {
  scratch.setFloat64(0, v);
  return scratch.getUint32(0);
}

/** Low 32 bits of a double. */
export function float64Lo(v: number): number {
  scratch.setFloat64(0, v);
  return scratch.getUint32(4);
}

/** Bit-exact equality of two doubles (NaN == NaN when bits match; +0 != -0). */
export function float64BitsEqual(a: number, b: number): boolean {
  if (a === b) return a !== 0 || 1 / a === 1 / b;
  if (a !== a && b !== b) {
    scratch.setFloat64(0, a);
    const ah = scratch.getUint32(0);
    const al = scratch.getUint32(4);
    scratch.setFloat64(0, b);
    return ah === scratch.getUint32(0) && al === scratch.getUint32(4);
  }
  return false;
}

/** Prometheus's int64 extremes used as "unbounded" (±9.2e18 ms); clamp before encoding. */
// Doubles cannot hold int64 extremes exactly; ±2^63 is the nearest and compares the same way.
export const MIN_TIME = -(2 ** 63);
export const MAX_TIME = 2 ** 63;
