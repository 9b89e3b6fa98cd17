/** Shared helpers for the WAL tests: temp dirs and reading a whole WAL back. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openReader, type SegmentRange, type CorruptionError, type WalError } from '../../../src/tsdb/wal/index.js';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `mm-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Reads every record of `ranges` (copies), plus the error that stopped the reader. */
export function readAll(ranges: SegmentRange[]): { recs: Uint8Array[]; err: CorruptionError | WalError | null; segs: number[] } {
  const r = openReader(ranges);
  const recs: Uint8Array[] = [];
  const segs: number[] = [];
  while (r.next()) {
    recs.push(r.record().slice());
    segs.push(r.segment());
  }
  const err = r.err();
  r.close();
  return { recs, err, segs };
}

/** Deterministic record payload of `len` bytes for sequence number `seq` (checkable after a crash). */
export function payload(seq: number, len: number): Uint8Array {
  const b = new Uint8Array(Math.max(len, 8));
  new DataView(b.buffer).setFloat64(0, seq);
  let x = (seq * 2654435761) >>> 0;
  for (let i = 8; i < b.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    // Every other 8-byte block is constant so snappy has something to compress.
    b[i] = (i >>> 3) % 2 === 0 ? x >>> 24 : 0x41 + (i & 7);
  }
  return b;
}

/** Sequence number of a `payload()` record, or -1 if its bytes are not what `payload` makes. */
export function checkPayload(rec: Uint8Array): number {
  if (rec.length < 8) return -1;
  const seq = new DataView(rec.buffer, rec.byteOffset, rec.byteLength).getFloat64(0);
  if (!Number.isInteger(seq) || seq < 0) return -1;
  const want = payload(seq, rec.length);
  if (want.length !== rec.length) return -1;
  for (let i = 0; i < rec.length; i++) if (want[i] !== rec[i]) return -1;
  return seq;
}
