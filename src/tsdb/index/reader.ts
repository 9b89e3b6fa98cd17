/**
 * Index format v2 reader (Prometheus `index.Reader`).
 *
 * The file is read into memory once (Prometheus mmaps it; indexes are small next to
 * chunk files). On open we check the header and TOC CRC, decode the symbol table (CRC
 * checked) and the postings offset table (CRC checked) into a map name → sorted values
 * with their list offsets, and check every label name is a symbol, as 2.42 does.
 * Series entries and postings lists are decoded on demand, each CRC checked.
 *
 * Errors are `IndexError`s naming the file and offset; nothing here throws anything
 * else for bad bytes (fuzzed).
 */
import { readFileSync } from 'node:fs';
import { crc32c, decodeUtf8 } from '../encoding/index.js';
import { Labels } from '../../storage/index.js';
import { IndexError, ERR_INDEX_CHECKSUM, ERR_INDEX_CORRUPT, ERR_INDEX_HEADER } from './errors.js';
import { EMPTY_POSTINGS, mergePostings } from './postings.js';
import { compareUtf8 } from './order.js';
import { INDEX_FORMAT_V1, INDEX_FORMAT_V2, INDEX_HEADER_LEN, INDEX_TOC_LEN, MAGIC_INDEX } from './writer.js';
import type { IndexChunkMeta, TOC } from './writer.js';

/** One series as stored: labels and chunk metas (refs and inclusive time ranges). */
export interface IndexSeries {
  labels: Labels;
  chunks: IndexChunkMeta[];
}

interface NameEntry {
  values: string[];
  offsets: number[];
}

const TWO32 = 4294967296;

export class IndexReader {
  readonly path: string;
  /** The whole index file; dropped by close() so a closed reader holds no index bytes. */
  private b: Uint8Array;
  private readonly view: DataView;
  readonly version: number;
  readonly toc: TOC;
  private readonly syms: string[];
  /** name → values ascending + postings offsets, in table order. */
  private readonly table: Map<string, NameEntry>;
  private readonly names: string[];

  private constructor(path: string, b: Uint8Array) {
    this.path = path;
    this.b = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (b.length < INDEX_HEADER_LEN + INDEX_TOC_LEN) throw this.err(ERR_INDEX_HEADER, 0, `index file of ${b.length} bytes is too short`);
    const magic = this.view.getUint32(0);
    if (magic !== MAGIC_INDEX) throw this.err(ERR_INDEX_HEADER, 0, `invalid magic number ${magic.toString(16)}`);
    this.version = b[4] as number;
    if (this.version === INDEX_FORMAT_V1) throw this.err(ERR_INDEX_HEADER, 4, 'index format version 1 is not supported (written by Prometheus < 2.0.0-beta.x); compact it with Prometheus first');
    if (this.version !== INDEX_FORMAT_V2) throw this.err(ERR_INDEX_HEADER, 4, `unknown index file version ${this.version}`);
    this.toc = this.readTOC();
    this.syms = this.readSymbols(this.toc.symbols);
    this.table = new Map();
    this.names = [];
    this.readPostingsOffsetTable(this.toc.postingsTable);
  }

  /** Opens and validates the index file at `path`. */
  static open(path: string): IndexReader {
    let b: Uint8Array;
    try {
      b = readFileSync(path);
    } catch (e) {
      throw new IndexError(ERR_INDEX_HEADER, path, -1, `open index: ${(e as Error).message}`, { cause: e });
    }
    return new IndexReader(path, b);
  }

  /** Wraps index bytes already in memory (`name` is used in errors). */
  static fromBytes(b: Uint8Array, name = 'index'): IndexReader {
    return new IndexReader(name, b);
  }

  private err(code: string, off: number, msg: string): IndexError {
    return new IndexError(code, this.path, off, msg);
  }

  /** Size of the index file in bytes. */
  size(): number {
    return this.b.length;
  }

  private be64At(off: number): number {
    const hi = this.view.getUint32(off);
    const lo = this.view.getUint32(off + 4);
    if (hi > 0x1fffff) throw this.err(ERR_INDEX_HEADER, off, 'TOC offset above 2^53');
    return hi * TWO32 + lo;
  }

  private readTOC(): TOC {
    const off = this.b.length - INDEX_TOC_LEN;
    const want = this.view.getUint32(off + 48);
    const got = crc32c(this.b, off, off + 48);
    if (want !== got) throw this.err(ERR_INDEX_CHECKSUM, off, 'read TOC: checksum mismatch (truncated or corrupt index)');
    const toc: TOC = {
      symbols: this.be64At(off),
      series: this.be64At(off + 8),
      labelIndices: this.be64At(off + 16),
      labelIndicesTable: this.be64At(off + 24),
      postings: this.be64At(off + 32),
      postingsTable: this.be64At(off + 40),
    };
    for (const [k, v] of Object.entries(toc)) {
      if (v > off) throw this.err(ERR_INDEX_HEADER, off, `TOC entry ${k}=${v} points past the TOC`);
    }
    return toc;
  }

  /**
   * Bounds of a `BE32 len | content | BE32 CRC` section at `off`, CRC checked.
   * Returns [contentStart, contentEnd].
   */
  private section(off: number, what: string): [number, number] {
    if (off + 4 > this.b.length) throw this.err(ERR_INDEX_CORRUPT, off, `${what}: section header past end of file`);
    const len = this.view.getUint32(off);
    const start = off + 4;
    const end = start + len;
    if (end + 4 > this.b.length) throw this.err(ERR_INDEX_CORRUPT, off, `${what}: section of ${len} bytes runs past end of file`);
    const want = this.view.getUint32(end);
    if (crc32c(this.b, start, end) !== want) throw this.err(ERR_INDEX_CHECKSUM, off, `${what}: checksum mismatch`);
    return [start, end];
  }

  private readSymbols(off: number): string[] {
    const [start, end] = this.section(off, 'read symbols');
    if (end - start < 4) throw this.err(ERR_INDEX_CORRUPT, off, 'read symbols: missing count');
    const n = this.view.getUint32(start);
    const out: string[] = new Array(Math.min(n, end - start));
    const r = new Reader(this.b, start + 4, end);
    for (let i = 0; i < n; i++) {
      const s = r.str();
      if (r.bad) throw this.err(ERR_INDEX_CORRUPT, r.pos, `read symbols: symbol ${i} of ${n} does not decode`);
      out[i] = s;
    }
    out.length = n;
    return out;
  }

  private readPostingsOffsetTable(off: number): void {
    const [start, end] = this.section(off, 'read postings offset table');
    if (end - start < 4) throw this.err(ERR_INDEX_CORRUPT, off, 'read postings offset table: missing count');
    const n = this.view.getUint32(start);
    const r = new Reader(this.b, start + 4, end);
    let cur: NameEntry | null = null;
    let curName = '';
    for (let i = 0; i < n; i++) {
      const at = r.pos;
      const keyCount = r.uvarint();
      if (!r.bad && keyCount !== 2) throw this.err(ERR_INDEX_CORRUPT, at, `unexpected number of keys for postings offset table: ${keyCount}`);
      const name = r.str();
      const value = r.str();
      const o = r.uvarint();
      if (r.bad) throw this.err(ERR_INDEX_CORRUPT, at, `read postings offset table: entry ${i} of ${n} does not decode`);
      if (cur === null || name !== curName) {
        if (this.table.has(name)) throw this.err(ERR_INDEX_CORRUPT, at, `postings offset table: label name ${JSON.stringify(name)} is not contiguous`);
        cur = { values: [], offsets: [] };
        curName = name;
        this.table.set(name, cur);
        if (name !== '') this.names.push(name);
      }
      cur.values.push(value);
      cur.offsets.push(o);
    }
    // 2.42 checks that every label name is a symbol ("reverse symbol lookup").
    const symSet = new Set(this.syms);
    for (const name of this.names) {
      if (!symSet.has(name)) throw this.err(ERR_INDEX_CORRUPT, off, `reverse symbol lookup: label name ${JSON.stringify(name)} is not in the symbol table`);
    }
    this.names.sort(compareUtf8);
  }

  /** All symbols in table order (ascending bytes). */
  symbols(): readonly string[] {
    return this.syms;
  }

  /** Symbol at position `i` (v2 reference). */
  symbol(i: number): string {
    const s = this.syms[i];
    if (s === undefined) throw this.err(ERR_INDEX_CORRUPT, -1, `unknown symbol reference ${i}`);
    return s;
  }

  /** Label names ascending, excluding the all-postings key "". */
  labelNames(): string[] {
    return this.names.slice();
  }

  /** Values of `name` ascending (empty when the name is unknown). For "" it is [""] as in Prometheus. */
  labelValues(name: string): string[] {
    const e = this.table.get(name);
    return e === undefined ? [] : e.values.slice();
  }

  /** Series IDs having `name` = any of `values`, ascending. */
  postings(name: string, ...values: string[]): Uint32Array {
    const e = this.table.get(name);
    if (e === undefined) return EMPTY_POSTINGS;
    if (values.length === 1) {
      const i = binarySearch(e.values, values[0] as string);
      return i < 0 ? EMPTY_POSTINGS : this.readPostings(e.offsets[i] as number);
    }
    const lists: Uint32Array[] = [];
    for (const v of values) {
      const i = binarySearch(e.values, v);
      if (i >= 0) lists.push(this.readPostings(e.offsets[i] as number));
    }
    return mergePostings(...lists);
  }

  /** Every series ID (the ("","") list). */
  allPostings(): Uint32Array {
    return this.postings('', '');
  }

  /** Block series IDs are already in label order: returns `p`. */
  sortedPostings(p: Uint32Array): Uint32Array {
    return p;
  }

  private readPostings(off: number): Uint32Array {
    const [start, end] = this.section(off, 'read postings');
    if (end - start < 4) throw this.err(ERR_INDEX_CORRUPT, off, 'read postings: missing count');
    const n = this.view.getUint32(start);
    if (end - start - 4 !== 4 * n) throw this.err(ERR_INDEX_CORRUPT, off, `unexpected postings length, should be ${4 * n} bytes for ${n} postings, got ${end - start - 4} bytes`);
    const out = new Uint32Array(n);
    let p = start + 4;
    for (let i = 0; i < n; i++, p += 4) out[i] = this.view.getUint32(p);
    return out;
  }

  /** Decodes series `id` (offset / 16). Throws IndexError naming the offset when it does not decode. */
  series(id: number): IndexSeries {
    const off = id * 16;
    const b = this.b;
    if (off >= b.length) throw this.err(ERR_INDEX_CORRUPT, off, `series ${id} lies past the end of the index`);
    const r = new Reader(b, off, Math.min(b.length, off + 5));
    const len = r.uvarint();
    if (r.bad) throw this.err(ERR_INDEX_CORRUPT, off, `series ${id}: bad length`);
    const start = r.pos;
    const end = start + len;
    if (end + 4 > b.length) throw this.err(ERR_INDEX_CORRUPT, off, `series ${id}: entry of ${len} bytes runs past end of file`);
    if (crc32c(b, start, end) !== this.view.getUint32(end)) throw this.err(ERR_INDEX_CHECKSUM, off, `series ${id}: checksum mismatch`);
    r.reset(start, end);
    const k = r.uvarint();
    if (r.bad || k > len) throw this.err(ERR_INDEX_CORRUPT, off, `series ${id}: bad label count`);
    const flat: string[] = new Array(2 * k);
    for (let i = 0; i < 2 * k; i++) {
      const si = r.uvarint();
      const s = this.syms[si];
      if (r.bad || s === undefined) throw this.err(ERR_INDEX_CORRUPT, off, `series ${id}: lookup label ${i >>> 1}: unknown symbol ${si}`);
      flat[i] = s;
    }
    const nc = r.uvarint();
    if (r.bad || nc > len) throw this.err(ERR_INDEX_CORRUPT, off, `series ${id}: bad chunk count`);
    const chunks: IndexChunkMeta[] = new Array(nc);
    if (nc > 0) {
      let t0 = r.varint();
      let maxt = r.uvarint() + t0;
      let ref0 = r.uvarint();
      chunks[0] = { ref: ref0, minTime: t0, maxTime: maxt };
      t0 = maxt;
      for (let i = 1; i < nc; i++) {
        const mint = r.uvarint() + t0;
        maxt = r.uvarint() + mint;
        ref0 += r.varint();
        t0 = maxt;
        chunks[i] = { ref: ref0, minTime: mint, maxTime: maxt };
      }
      if (r.bad) throw this.err(ERR_INDEX_CORRUPT, off, `series ${id}: chunk metas do not decode`);
    }
    return { labels: Labels.fromSortedFlat(flat), chunks };
  }

  /** Releases the file bytes (nothing to close: the file was read at open). */
  close(): void {
    // Anything still holding a closed Block must not keep its index alive.
    this.b = new Uint8Array(0);
  }
}

/** Index of `v` in `arr` (ascending by bytes, as the writer sorts them), else -1. */
function binarySearch(arr: readonly string[], v: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    const c = compareUtf8(arr[m] as string, v);
    if (c === 0) return m;
    if (c < 0) lo = m + 1;
    else hi = m;
  }
  return -1;
}

/** Minimal non-throwing varint/string reader over a byte range (sticky `bad`). */
class Reader {
  b: Uint8Array;
  pos: number;
  end: number;
  bad: boolean;
  constructor(b: Uint8Array, pos: number, end: number) {
    this.b = b;
    this.pos = pos;
    this.end = end;
    this.bad = false;
  }
  reset(pos: number, end: number): void {
    this.pos = pos;
    this.end = end;
  }
  uvarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        this.bad = true;
        return 0;
      }
      const c = this.b[this.pos++] as number;
      x += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (x > Number.MAX_SAFE_INTEGER) {
          this.bad = true;
          return 0;
        }
        return x;
      }
      mul *= 128;
    }
    this.bad = true;
    return 0;
  }
  varint(): number {
    const ux = this.uvarint();
    return ux % 2 === 0 ? ux / 2 : -(ux + 1) / 2;
  }
  str(): string {
    const n = this.uvarint();
    if (this.bad || this.pos + n > this.end) {
      this.bad = true;
      return '';
    }
    const s = decodeUtf8(this.b, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
