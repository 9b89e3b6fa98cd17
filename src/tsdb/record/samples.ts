/**
 * Samples records (type 2):
 *
 *   ┌──────────┬─────────────┬────────────┬─────────────────────────────────────────────┐
 *   │ type = 2 │ ref0 <BE64> │ t0 <BE64>  │ per sample (the first too):                 │
 *   │          │             │ (int64)    │ varint(ref-ref0) varint(t-t0) value <BE64>  │
 *   └──────────┴─────────────┴────────────┴─────────────────────────────────────────────┘
 *   An empty batch is the type byte alone. The deltas are *signed* varints
 *   (record.go; the format doc's "uvarint" is wrong).
 *
 * Values are raw IEEE-754 bits. The stale marker is the exact pattern
 * 0x7ff0000000000002; JS may rewrite a NaN's payload when a number is stored, so
 * staleness travels as `SampleBatch.stale[i]`, the encoder writes the pattern from
 * constants, and the decoder tests the bits. Any other NaN is written as Go's
 * `math.NaN()` (0x7ff8000000000001), which is what Prometheus stores for a scraped NaN.
 */
import { Encbuf } from '../encoding/index.js';
import { NORMAL_NAN_HI, NORMAL_NAN_LO, STALE_NAN_HI, STALE_NAN_LO } from '../../storage/index.js';
import { decbufFor } from './decbuf-pool.js';
import { RecordError } from './errors.js';
import { RecordType } from './type.js';

/**
 * Float samples as struct-of-arrays (no object per sample). `length` entries of
 * `refs` (head series refs), `ts` (ms), `vs` and `stale` (1 = stale marker; then
 * `vs[i]` is NaN and meaningless) are valid. Reused across records: `reset()`.
 */
export class SampleBatch {
  refs: Float64Array;
  ts: Float64Array;
  vs: Float64Array;
  stale: Uint8Array;
  length: number;

  constructor(capacity = 256) {
    const c = Math.max(1, capacity);
    this.refs = new Float64Array(c);
    this.ts = new Float64Array(c);
    this.vs = new Float64Array(c);
    this.stale = new Uint8Array(c);
    this.length = 0;
  }

  reset(): void {
    this.length = 0;
  }

  /** Makes room for `n` samples in total (keeps the first `length`). */
  ensure(n: number): void {
    if (n <= this.refs.length) return;
    let c = this.refs.length * 2;
    while (c < n) c *= 2;
    const grow = <T extends Float64Array | Uint8Array>(a: T, mk: (n: number) => T): T => {
      const b = mk(c);
      b.set(a.subarray(0, this.length));
      return b;
    };
    this.refs = grow(this.refs, (k) => new Float64Array(k));
    this.ts = grow(this.ts, (k) => new Float64Array(k));
    this.vs = grow(this.vs, (k) => new Float64Array(k));
    this.stale = grow(this.stale, (k) => new Uint8Array(k));
  }

  /** Appends a float sample. */
  push(ref: number, t: number, v: number): void {
    const i = this.length;
    if (i >= this.refs.length) this.ensure(i + 1);
    this.refs[i] = ref;
    this.ts[i] = t;
    this.vs[i] = v;
    this.stale[i] = 0;
    this.length = i + 1;
  }

  /** Appends a stale marker. */
  pushStale(ref: number, t: number): void {
    const i = this.length;
    if (i >= this.refs.length) this.ensure(i + 1);
    this.refs[i] = ref;
    this.ts[i] = t;
    this.vs[i] = NaN;
    this.stale[i] = 1;
    this.length = i + 1;
  }
}

/** Appends a samples record for `b[0:b.length)` to `out`. */
export function encodeSamples(b: SampleBatch, out: Encbuf): void {
  out.putByte(RecordType.Samples);
  const n = b.length;
  if (n === 0) return;
  const refs = b.refs;
  const ts = b.ts;
  const vs = b.vs;
  const stale = b.stale;
  const ref0 = refs[0] as number;
  const t0 = ts[0] as number;
  out.putBE64(ref0);
  out.putBE64Int(t0);
  // Worst case per sample: two 10-byte varints + 8 value bytes; reserve once.
  out.grow(n * 28);
  for (let i = 0; i < n; i++) {
    out.putVarint((refs[i] as number) - ref0);
    out.putVarint((ts[i] as number) - t0);
    const v = vs[i] as number;
    const p = out.len;
    if (stale[i] === 1) {
      out.view.setUint32(p, STALE_NAN_HI);
      out.view.setUint32(p + 4, STALE_NAN_LO);
    } else if (v !== v) {
      out.view.setUint32(p, NORMAL_NAN_HI);
      out.view.setUint32(p + 4, NORMAL_NAN_LO);
    } else {
      out.view.setFloat64(p, v);
    }
    out.len = p + 8;
  }
}

/**
 * Decodes a samples record into `into` (reset first). Throws `RecordError` if the
 * record is not a well-formed samples record.
 */
export function decodeSamples(rec: Uint8Array, into: SampleBatch): void {
  into.reset();
  const d = decbufFor(rec);
  const typ = d.byte();
  if (typ !== RecordType.Samples) throw new RecordError(typ, 0, `not a samples record: type ${typ}`);
  if (d.len() === 0) return;
  const ref0 = d.be64();
  const t0 = d.be64Int();
  // At least 10 bytes per sample: size once.
  into.ensure(Math.floor(d.len() / 10) + 1);
  const refs = into.refs;
  const ts = into.ts;
  const vs = into.vs;
  const stale = into.stale;
  const b = d.buf;
  let n = 0;
  while (d.pos < d.end && d.err === null) {
    const dref = d.varint();
    const dt = d.varint();
    if (d.end - d.pos < 8) {
      d.skip(8);
      break;
    }
    const p = d.pos;
    const hi = (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0;
    if (n >= refs.length) throw new RecordError(typ, d.pos + d.base, 'samples record: more samples than bytes allow');
    refs[n] = ref0 + dref;
    ts[n] = t0 + dt;
    if (hi === STALE_NAN_HI && d.view.getUint32(p + 4) === STALE_NAN_LO) {
      vs[n] = NaN;
      stale[n] = 1;
    } else {
      vs[n] = d.view.getFloat64(p);
      stale[n] = 0;
    }
    d.pos = p + 8;
    n++;
  }
  into.length = n;
  if (d.err !== null) throw new RecordError(typ, d.err.offset, `samples record: decode error after ${n} samples: ${d.err.message}`, { cause: d.err });
}
