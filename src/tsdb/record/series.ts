/**
 * Series records (type 1): the labels of new head series with their refs.
 *
 *   ┌──────────┬──────────────────────────────────────────────────────────┐
 *   │ type = 1 │ repeated: ref <BE64> │ n <uvarint> │ n × (str name, str value) │
 *   └──────────┴──────────────────────────────────────────────────────────┘
 * Written before the samples that use the refs (commit order: series, then samples).
 */
import type { Encbuf } from '../encoding/index.js';
import { Labels } from '../../storage/index.js';
import { decbufFor } from './decbuf-pool.js';
import { RecordError } from './errors.js';
import { putLabels, readLabels } from './labels-codec.js';
import { RecordType } from './type.js';

/** Series as parallel arrays: `refs[i]` names `labels[i]`; `length` entries valid. Reuse with `reset()`. */
export class SeriesBatch {
  refs: Float64Array;
  labels: Labels[];
  length: number;

  constructor(capacity = 64) {
    this.refs = new Float64Array(Math.max(1, capacity));
    this.labels = [];
    this.length = 0;
  }

  reset(): void {
    // Drop label references so decoded strings can be collected.
    for (let i = 0; i < this.length; i++) this.labels[i] = Labels.EMPTY;
    this.length = 0;
  }

  push(ref: number, lset: Labels): void {
    const i = this.length;
    if (i >= this.refs.length) {
      const r = new Float64Array(this.refs.length * 2);
      r.set(this.refs);
      this.refs = r;
    }
    this.refs[i] = ref;
    this.labels[i] = lset;
    this.length = i + 1;
  }
}

/** Appends a series record for `b` to `out`. */
export function encodeSeries(b: SeriesBatch, out: Encbuf): void {
  out.putByte(RecordType.Series);
  for (let i = 0; i < b.length; i++) {
    out.putBE64(b.refs[i] as number);
    putLabels(out, b.labels[i] as Labels);
  }
}

/** Decodes a series record into `into` (reset first); throws `RecordError` if malformed. */
export function decodeSeries(rec: Uint8Array, into: SeriesBatch): void {
  into.reset();
  const d = decbufFor(rec);
  const typ = d.byte();
  if (typ !== RecordType.Series) throw new RecordError(typ, 0, `not a series record: type ${typ}`);
  while (d.pos < d.end && d.err === null) {
    const ref = d.be64();
    const lset = readLabels(d);
    if (d.err === null) into.push(ref, lset);
  }
  if (d.err !== null) throw new RecordError(typ, d.err.offset, `series record: decode error after ${into.length} series: ${d.err.message}`, { cause: d.err });
}
