/**
 * Tombstones records (type 3): deleted intervals of head series.
 *
 *   ┌──────────┬───────────────────────────────────────────────────┐
 *   │ type = 3 │ repeated: ref <BE64> │ mint <varint> │ maxt <varint> │
 *   └──────────┴───────────────────────────────────────────────────┘
 * Intervals are closed [mint, maxt]. Prometheus clamps them to the head's range
 * before logging, so they fit in doubles; an int64 extreme in foreign data is a
 * decode error naming its offset.
 */
import type { Encbuf } from '../encoding/index.js';
import { decbufFor } from './decbuf-pool.js';
import { RecordError } from './errors.js';
import { RecordType } from './type.js';

/** Tombstones as parallel arrays; `length` entries valid. */
export class TombstoneBatch {
  refs: Float64Array;
  mints: Float64Array;
  maxts: Float64Array;
  length: number;

  constructor(capacity = 16) {
    const c = Math.max(1, capacity);
    this.refs = new Float64Array(c);
    this.mints = new Float64Array(c);
    this.maxts = new Float64Array(c);
    this.length = 0;
  }

  reset(): void {
    this.length = 0;
  }

  push(ref: number, mint: number, maxt: number): void {
    const i = this.length;
    if (i >= this.refs.length) {
      const c = this.refs.length * 2;
      const g = (a: Float64Array) => {
        const b = new Float64Array(c);
        b.set(a);
        return b;
      };
      this.refs = g(this.refs);
      this.mints = g(this.mints);
      this.maxts = g(this.maxts);
    }
    this.refs[i] = ref;
    this.mints[i] = mint;
    this.maxts[i] = maxt;
    this.length = i + 1;
  }
}

export function encodeTombstones(b: TombstoneBatch, out: Encbuf): void {
  out.putByte(RecordType.Tombstones);
  for (let i = 0; i < b.length; i++) {
    out.putBE64(b.refs[i] as number);
    out.putVarint(b.mints[i] as number);
    out.putVarint(b.maxts[i] as number);
  }
}

/** Decodes a tombstones record into `into` (reset first); throws `RecordError` if malformed. */
export function decodeTombstones(rec: Uint8Array, into: TombstoneBatch): void {
  into.reset();
  const d = decbufFor(rec);
  const typ = d.byte();
  if (typ !== RecordType.Tombstones) throw new RecordError(typ, 0, `not a tombstones record: type ${typ}`);
  while (d.pos < d.end && d.err === null) {
    const ref = d.be64();
    const mint = d.varint();
    const maxt = d.varint();
    if (d.err === null) into.push(ref, mint, maxt);
  }
  if (d.err !== null) throw new RecordError(typ, d.err.offset, `tombstones record: ${d.err.message}`, { cause: d.err });
}
