/**
 * The `tombstones` file of a block (Prometheus `tsdb/tombstones/tombstones.go`), as the
 * 2.42 code writes it — not as its format doc says (spec §0.1, §7):
 *
 *     ┌────────────────┬───────────┬──────────────────────────────────────────┬──────────────┐
 *     │ magic 0130BA30 │ version 1 │ entries: uvarint ref, varint mint, maxt… │ CRC32C BE32  │
 *     └────────────────┴───────────┴──────────────────────────────────────────┴──────────────┘
 *     The CRC covers the entries only (not the magic, not the version byte). No trailer,
 *     no padding. An absent file means "no tombstones". Intervals are closed [mint, maxt].
 *
 * Prometheus iterates a Go map when writing, so its entry order is random; we write
 * refs ascending and intervals in time order, so our files are deterministic.
 *
 * Unbounded intervals: deleting "everything" stores times near ±2^63 ms, beyond what a
 * double holds exactly. We decode such varints approximately (they only mean
 * "unbounded" and compare correctly against any real timestamp) and write back the
 * nearest int64, so a re-written file may differ from the original in those bytes only.
 */
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c, Encbuf } from '../encoding/index.js';

export const MAGIC_TOMBSTONE = 0x0130ba30;
export const TOMBSTONE_FORMAT_V1 = 1;
export const TOMBSTONES_FILENAME = 'tombstones';
/** Magic + version. */
const HEADER_SIZE = 5;
const CRC_SIZE = 4;

export class TombstonesError extends Error {
  readonly code: string;
  readonly file: string;
  readonly offset: number;
  constructor(code: string, file: string, offset: number, message: string) {
    super(`${file}${offset >= 0 ? ` at offset ${offset}` : ''}: ${message}`);
    this.code = code;
    this.file = file;
    this.offset = offset;
    this.name = 'TombstonesError';
  }
}
export const ERR_TOMBSTONES_CORRUPT = 'MM_ERR_TOMBSTONES_CORRUPT';
export const ERR_TOMBSTONES_CHECKSUM = 'MM_ERR_TOMBSTONES_CHECKSUM';

/** A closed time interval [mint, maxt] in ms. */
export interface Interval {
  mint: number;
  maxt: number;
}

/** True when `t` lies in [iv.mint, iv.maxt] (Go `Interval.InBounds`). */
export function inBounds(iv: Interval, t: number): boolean {
  return t >= iv.mint && t <= iv.maxt;
}

/** True when `t` lies in one of `ivs`: the per-sample deletion check of tombstone-aware iterators. */
export function anyInBounds(ivs: readonly Interval[], t: number): boolean {
  for (let i = 0; i < ivs.length; i++) {
    const iv = ivs[i] as Interval;
    if (t >= iv.mint && t <= iv.maxt) return true;
  }
  return false;
}

/** True when [mint, maxt] is inside one of `ivs` (Go `Interval.IsSubrange`). */
export function isSubrange(mint: number, maxt: number, ivs: readonly Interval[]): boolean {
  for (const iv of ivs) if (mint >= iv.mint && maxt <= iv.maxt) return true;
  return false;
}

/**
 * Adds `n` to sorted, non-overlapping `ivs`, merging overlapping and adjacent intervals
 * (Go `Intervals.Add`). Returns a new array.
 */
export function addInterval(ivs: readonly Interval[], n: Interval): Interval[] {
  const out: Interval[] = [];
  let cur: Interval = { mint: n.mint, maxt: n.maxt };
  let placed = false;
  for (const iv of ivs) {
    if (placed) {
      out.push(iv);
      continue;
    }
    if (iv.maxt + 1 < cur.mint) {
      out.push(iv);
    } else if (cur.maxt + 1 < iv.mint) {
      out.push(cur);
      out.push(iv);
      placed = true;
    } else {
      cur = { mint: Math.min(iv.mint, cur.mint), maxt: Math.max(iv.maxt, cur.maxt) };
    }
  }
  if (!placed) out.push(cur);
  return out;
}

/** In-memory tombstones (Go `MemTombstones`): series ref → sorted merged intervals. */
export class MemTombstones {
  private readonly m: Map<number, Interval[]>;

  constructor() {
    this.m = new Map();
  }

  /** Intervals deleted for `ref` (empty array when none). */
  get(ref: number): readonly Interval[] {
    return this.m.get(ref) ?? NONE;
  }

  /** Adds intervals for `ref`, merging with existing ones. */
  addInterval(ref: number, ...ivs: Interval[]): void {
    let cur = this.m.get(ref) ?? [];
    for (const iv of ivs) cur = addInterval(cur, iv);
    this.m.set(ref, cur);
  }

  /** Deletes all intervals of `ref`. */
  deleteRef(ref: number): void {
    this.m.delete(ref);
  }

  /** Number of intervals over all series (Go `Total`, which counts intervals). */
  total(): number {
    let n = 0;
    for (const v of this.m.values()) n += v.length;
    return n;
  }

  /** A deep copy (intervals arrays are never mutated in place, so sharing them is safe). */
  clone(): MemTombstones {
    const c = new MemTombstones();
    for (const [ref, ivs] of this.m) c.m.set(ref, ivs);
    return c;
  }

  /**
   * Drops intervals that end before `t` (Go `TruncateBefore`, run by the head's gc: data
   * older than the cut is in a block, where the deletion was applied).
   */
  truncateBefore(t: number): void {
    for (const [ref, ivs] of this.m) {
      const keep = ivs.filter((iv) => iv.maxt >= t);
      if (keep.length === 0) this.m.delete(ref);
      else if (keep.length !== ivs.length) this.m.set(ref, keep);
    }
  }

  /** Number of series with tombstones. */
  get size(): number {
    return this.m.size;
  }

  /** Series refs with tombstones, ascending. */
  refs(): number[] {
    return [...this.m.keys()].sort((a, b) => a - b);
  }

  /** Calls `fn` per ref (ascending) with its intervals. */
  forEach(fn: (ref: number, ivs: readonly Interval[]) => void): void {
    for (const r of this.refs()) fn(r, this.m.get(r)!);
  }
}

const NONE: readonly Interval[] = Object.freeze([]);
const TWO32 = 4294967296;

/** Encodes the file bytes: magic, version, entries (refs ascending), CRC over the entries. */
export function encodeTombstones(t: MemTombstones): Uint8Array {
  const b = new Encbuf(64);
  b.putBE32(MAGIC_TOMBSTONE);
  b.putByte(TOMBSTONE_FORMAT_V1);
  const start = b.len;
  t.forEach((ref, ivs) => {
    for (const iv of ivs) {
      b.putUvarint(ref);
      putVarint64(b, iv.mint);
      putVarint64(b, iv.maxt);
    }
  });
  const crc = crc32c(b.buf, start, b.len);
  b.putBE32(crc);
  return b.get().slice();
}

/** Go `PutVarint` of the int64 nearest to `x` (exact for safe integers; saturates at ±2^63). */
function putVarint64(b: Encbuf, x: number): void {
  if (Number.isSafeInteger(x) && Math.abs(x) < 2 ** 52) {
    b.putVarint(x);
    return;
  }
  // zigzag on hi/lo halves of the int64 two's complement.
  let v = Math.round(x);
  if (v >= 2 ** 63) v = 2 ** 63 - 1024; // largest double below 2^63
  if (v < -(2 ** 63)) v = -(2 ** 63);
  let hi = Math.floor(v / TWO32);
  let lo = v - hi * TWO32;
  hi = hi | 0;
  lo = lo >>> 0;
  const sign = hi >> 31;
  let zh = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
  let zl = ((lo << 1) ^ sign) >>> 0;
  while (zh !== 0 || zl >= 0x80) {
    b.putByte((zl & 0x7f) | 0x80);
    zl = ((zl >>> 7) | (zh << 25)) >>> 0;
    zh >>>= 7;
  }
  b.putByte(zl);
}

/** Decodes file bytes. `name` is used in errors. */
export function decodeTombstones(b: Uint8Array, name = TOMBSTONES_FILENAME): MemTombstones {
  if (b.length < HEADER_SIZE) throw new TombstonesError(ERR_TOMBSTONES_CORRUPT, name, 0, `tombstones header: file has ${b.length} bytes`);
  if (b.length < HEADER_SIZE + CRC_SIZE) throw new TombstonesError(ERR_TOMBSTONES_CORRUPT, name, 0, `tombstones file of ${b.length} bytes has no checksum`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0);
  if (magic !== MAGIC_TOMBSTONE) throw new TombstonesError(ERR_TOMBSTONES_CORRUPT, name, 0, `invalid magic number ${magic.toString(16)}`);
  const end = b.length - CRC_SIZE;
  if (crc32c(b, HEADER_SIZE, end) !== v.getUint32(end)) throw new TombstonesError(ERR_TOMBSTONES_CHECKSUM, name, end, 'checksum mismatch');
  if (b[4] !== TOMBSTONE_FORMAT_V1) throw new TombstonesError(ERR_TOMBSTONES_CORRUPT, name, 4, `invalid tombstone format ${(b[4] as number).toString(16)}`);
  const t = new MemTombstones();
  let p = HEADER_SIZE;
  const rd = { p: 0, ok: true, odd: false };
  while (p < end) {
    const at = p;
    rd.p = p;
    const ref = readUvarintApprox(b, end, rd);
    const mint = unzigzag(readUvarintApprox(b, end, rd), rd.odd);
    const maxt = unzigzag(readUvarintApprox(b, end, rd), rd.odd);
    if (!rd.ok) throw new TombstonesError(ERR_TOMBSTONES_CORRUPT, name, at, 'tombstone entry does not decode');
    if (!Number.isSafeInteger(ref)) throw new TombstonesError(ERR_TOMBSTONES_CORRUPT, name, at, 'series reference above 2^53');
    p = rd.p;
    t.addInterval(ref, { mint, maxt });
  }
  return t;
}

/** uvarint as a double (exact below 2^53, nearest above). */
function readUvarintApprox(b: Uint8Array, end: number, rd: { p: number; ok: boolean; odd: boolean }): number {
  // The lowest bit is kept apart: above 2^53 the double loses it, and zigzag needs it.
  rd.odd = rd.p < end && ((b[rd.p] as number) & 1) === 1;
  let x = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (rd.p >= end) {
      rd.ok = false;
      return 0;
    }
    const c = b[rd.p++] as number;
    x += (c & 0x7f) * mul;
    if (c < 0x80) return x;
    mul *= 128;
  }
  rd.ok = false;
  return 0;
}

function unzigzag(ux: number, odd: boolean): number {
  if (ux <= Number.MAX_SAFE_INTEGER) return odd ? -(ux + 1) / 2 : ux / 2;
  // Beyond 2^53 the value is approximate; the sign and magnitude are what matter ("unbounded").
  return odd ? -ux / 2 : ux / 2;
}

/**
 * Reads `<dir>/tombstones`. An absent file gives empty tombstones, as in Prometheus.
 * Returns the tombstones and the file size (0 when absent).
 */
export function readTombstones(dir: string): { tombstones: MemTombstones; size: number } {
  const path = join(dir, TOMBSTONES_FILENAME);
  let b: Uint8Array;
  try {
    b = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { tombstones: new MemTombstones(), size: 0 };
    throw new TombstonesError(ERR_TOMBSTONES_CORRUPT, path, -1, `read tombstones: ${(e as Error).message}`);
  }
  return { tombstones: decodeTombstones(b, path), size: b.length };
}

/** Writes `<dir>/tombstones` via `tombstones.tmp` + fsync + rename (Go `WriteFile`). Returns the size. */
export async function writeTombstones(dir: string, t: MemTombstones): Promise<number> {
  const path = join(dir, TOMBSTONES_FILENAME);
  const tmp = path + '.tmp';
  const bytes = encodeTombstones(t);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return bytes.length;
}

/** Writes `<dir>/tombstones` (empty by default, as every new block gets one). Returns the size. */
export async function writeTombstonesFile(dir: string, t: MemTombstones = new MemTombstones()): Promise<number> {
  return writeTombstones(dir, t);
}
