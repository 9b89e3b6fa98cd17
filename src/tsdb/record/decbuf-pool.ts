/**
 * One shared `Decbuf` for all record decoders, re-pointed at each record instead
 * of allocating a reader and a DataView per record. It spans the record's whole
 * ArrayBuffer (records are views into the WAL reader's buffers, which rarely
 * change), with `base` set so error offsets are relative to the record.
 * Decoders are synchronous and never nested, so sharing is safe.
 */
import { Decbuf } from '../encoding/index.js';

const shared = new Decbuf(new Uint8Array(0));

/** The shared Decbuf positioned over `rec` (valid until the next call). */
export function decbufFor(rec: Uint8Array): Decbuf {
  const d = shared;
  if (d.buf.buffer !== rec.buffer) {
    d.buf = new Uint8Array(rec.buffer);
    d.view = new DataView(rec.buffer);
  }
  d.pos = rec.byteOffset;
  d.end = rec.byteOffset + rec.length;
  d.base = -rec.byteOffset;
  d.err = null;
  return d;
}
