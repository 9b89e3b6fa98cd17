/**
 * Metadata records (type 6), written by Prometheus only with
 * `--enable-feature=metadata-wal-records`:
 *
 *   ┌──────────┬───────────────────────────────────────────────────────────────────┐
 *   │ type = 6 │ repeated: ref <uvarint> │ metric type <u8> │ nFields <uvarint>       │
 *   │          │           nFields × (str name, str value)  ("UNIT", "HELP" known) │
 *   └──────────┴───────────────────────────────────────────────────────────────────┘
 * Unknown field names are skipped, as Prometheus does. Note the ref is a uvarint
 * here, unlike the BE64 refs of the other records.
 */
import type { Encbuf } from '../encoding/index.js';
import { decbufFor } from './decbuf-pool.js';
import { RecordError } from './errors.js';
import { RecordType } from './type.js';

/** Metadata as parallel arrays; `length` entries valid. */
export class MetadataBatch {
  refs: Float64Array;
  types: Uint8Array;
  units: string[];
  helps: string[];
  length: number;

  constructor(capacity = 16) {
    const c = Math.max(1, capacity);
    this.refs = new Float64Array(c);
    this.types = new Uint8Array(c);
    this.units = [];
    this.helps = [];
    this.length = 0;
  }

  reset(): void {
    this.length = 0;
  }

  push(ref: number, type: number, unit: string, help: string): void {
    const i = this.length;
    if (i >= this.refs.length) {
      const r = new Float64Array(this.refs.length * 2);
      r.set(this.refs);
      this.refs = r;
      const t = new Uint8Array(this.types.length * 2);
      t.set(this.types);
      this.types = t;
    }
    this.refs[i] = ref;
    this.types[i] = type;
    this.units[i] = unit;
    this.helps[i] = help;
    this.length = i + 1;
  }
}

export function encodeMetadata(b: MetadataBatch, out: Encbuf): void {
  out.putByte(RecordType.Metadata);
  for (let i = 0; i < b.length; i++) {
    out.putUvarint(b.refs[i] as number);
    out.putByte(b.types[i] as number);
    out.putUvarint(2);
    out.putUvarintStr('UNIT');
    out.putUvarintStr(b.units[i] as string);
    out.putUvarintStr('HELP');
    out.putUvarintStr(b.helps[i] as string);
  }
}

/** Decodes a metadata record into `into` (reset first); throws `RecordError` if malformed. */
export function decodeMetadata(rec: Uint8Array, into: MetadataBatch): void {
  into.reset();
  const d = decbufFor(rec);
  const typ = d.byte();
  if (typ !== RecordType.Metadata) throw new RecordError(typ, 0, `not a metadata record: type ${typ}`);
  while (d.pos < d.end && d.err === null) {
    const ref = d.uvarint();
    const mt = d.byte();
    const nf = d.uvarint();
    let unit = '';
    let help = '';
    for (let k = 0; k < nf && d.err === null; k++) {
      const name = d.uvarintStr();
      const value = d.uvarintStr();
      if (name === 'UNIT') unit = value;
      else if (name === 'HELP') help = value;
    }
    if (d.err === null) into.push(ref, mt, unit, help);
  }
  if (d.err !== null) throw new RecordError(typ, d.err.offset, `metadata record: ${d.err.message}`, { cause: d.err });
}
