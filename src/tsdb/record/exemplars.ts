/**
 * Exemplars records (type 4):
 *
 *   ┌──────────┬─────────────┬───────────┬──────────────────────────────────────────────────────────┐
 *   │ type = 4 │ ref0 <BE64> │ t0 <BE64> │ per exemplar: varint(ref-ref0) varint(t-t0) value <BE64> │
 *   │          │             │           │               n <uvarint> n × (str name, str value)     │
 *   └──────────┴─────────────┴───────────┴──────────────────────────────────────────────────────────┘
 * Empty = the type byte alone. Deltas are signed varints (the doc says uvarint).
 * Exemplar values are plain floats (never stale markers).
 */
import type { Encbuf } from '../encoding/index.js';
import { Labels } from '../../storage/index.js';
import { decbufFor } from './decbuf-pool.js';
import { RecordError } from './errors.js';
import { putLabels, readLabels } from './labels-codec.js';
import { RecordType } from './type.js';

/** Exemplars as parallel arrays; `length` entries valid. */
export class ExemplarBatch {
  refs: Float64Array;
  ts: Float64Array;
  vs: Float64Array;
  labels: Labels[];
  length: number;

  constructor(capacity = 16) {
    const c = Math.max(1, capacity);
    this.refs = new Float64Array(c);
    this.ts = new Float64Array(c);
    this.vs = new Float64Array(c);
    this.labels = [];
    this.length = 0;
  }

  reset(): void {
    for (let i = 0; i < this.length; i++) this.labels[i] = Labels.EMPTY;
    this.length = 0;
  }

  push(ref: number, t: number, v: number, lset: Labels): void {
    const i = this.length;
    if (i >= this.refs.length) {
      const c = this.refs.length * 2;
      const g = (a: Float64Array) => {
        const b = new Float64Array(c);
        b.set(a);
        return b;
      };
      this.refs = g(this.refs);
      this.ts = g(this.ts);
      this.vs = g(this.vs);
    }
    this.refs[i] = ref;
    this.ts[i] = t;
    this.vs[i] = v;
    this.labels[i] = lset;
    this.length = i + 1;
  }
}

export function encodeExemplars(b: ExemplarBatch, out: Encbuf): void {
  out.putByte(RecordType.Exemplars);
  if (b.length === 0) return;
  const ref0 = b.refs[0] as number;
  const t0 = b.ts[0] as number;
  out.putBE64(ref0);
  out.putBE64Int(t0);
  for (let i = 0; i < b.length; i++) {
    out.putVarint((b.refs[i] as number) - ref0);
    out.putVarint((b.ts[i] as number) - t0);
    out.putBEFloat64(b.vs[i] as number);
    putLabels(out, b.labels[i] as Labels);
  }
}

/** Decodes an exemplars record into `into` (reset first); throws `RecordError` if malformed. */
export function decodeExemplars(rec: Uint8Array, into: ExemplarBatch): void {
  into.reset();
  const d = decbufFor(rec);
  const typ = d.byte();
  if (typ !== RecordType.Exemplars) throw new RecordError(typ, 0, `not an exemplars record: type ${typ}`);
  if (d.len() === 0) return;
  const ref0 = d.be64();
  const t0 = d.be64Int();
  while (d.pos < d.end && d.err === null) {
    const dref = d.varint();
    const dt = d.varint();
    const v = d.beFloat64();
    const lset = readLabels(d);
    if (d.err === null) into.push(ref0 + dref, t0 + dt, v, lset);
  }
  if (d.err !== null) throw new RecordError(typ, d.err.offset, `exemplars record: decode error after ${into.length} exemplars: ${d.err.message}`, { cause: d.err });
}
