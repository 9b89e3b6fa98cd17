/**
 * Index format v2 writer, byte-identical to Prometheus 2.42's `tsdb/index` `Writer`
 * for the same symbols and series (spec §6; golden test on a promtool block).
 *
 *     ┌────────────────────────────┐ 0      magic BAAAD700, version 2
 *     │ symbol table               │ 5      len, #symbols, str…, CRC
 *     │ series (each 16-aligned)   │        uvarint len, labels as symbol refs, chunk metas, CRC
 *     │ label indices (4-aligned)  │        legacy, still written by 2.42
 *     │ postings (4-aligned)       │        ("","") = all series first, then name/value ascending
 *     │ label offset table         │        legacy
 *     │ postings offset table      │        (name, value) → absolute offset of the list
 *     │ TOC (52 bytes)             │        six BE64 offsets + CRC, always the last 52 bytes
 *     └────────────────────────────┘
 *
 * Stages, as Go's `ensureStage`: symbols must all be added (sorted) before the first
 * series; series must be added in label order; `close()` writes everything after the
 * series. Calling a stage's method after a later stage started fails with an error
 * naming both stages. Series IDs are `offset / 16` of each entry.
 *
 * Where Go streams postings through temporary files, we keep the postings in memory
 * (one number per series and label): the bytes are the same; memory is ~8 bytes per
 * (series × label), fine for the block sizes mm-metrics writes.
 */
import { crc32c, crc32cUpdate, Encbuf } from '../encoding/index.js';
import type { Labels } from '../../storage/index.js';
import { FileSink } from './file-sink.js';
import { IndexWriterError } from './errors.js';
import { compareLabelsUtf8, compareUtf8 } from './order.js';

/** `MagicIndex`. */
export const MAGIC_INDEX = 0xbaaad700;
/** Index format written (v2: symbol references are positions). */
export const INDEX_FORMAT_V2 = 2;
export const INDEX_FORMAT_V1 = 1;
/** Magic + version. */
export const INDEX_HEADER_LEN = 5;
/** Six BE64 offsets + CRC32. */
export const INDEX_TOC_LEN = 6 * 8 + 4;

/** Writer stages (Go `indexWriterStage`). */
export const IndexStage = {
  None: 0,
  Symbols: 1,
  Series: 2,
  Done: 3,
} as const;
export type IndexStage = (typeof IndexStage)[keyof typeof IndexStage];

export function indexStageName(s: IndexStage): string {
  switch (s) {
    case IndexStage.None:
      return 'none';
    case IndexStage.Symbols:
      return 'symbols';
    case IndexStage.Series:
      return 'series';
    case IndexStage.Done:
      return 'done';
  }
}

/** What the index stores per chunk: the chunk file ref and the inclusive time range. */
export interface IndexChunkMeta {
  ref: number;
  minTime: number;
  maxTime: number;
}

/** Offsets of the index sections (Go `TOC`). 0 means absent. */
export interface TOC {
  symbols: number;
  series: number;
  labelIndices: number;
  labelIndicesTable: number;
  postings: number;
  postingsTable: number;
}

export class IndexWriter {
  private readonly f: FileSink;
  private stage: IndexStage;
  readonly toc: TOC;
  private readonly symbolEntries: Encbuf;
  private numSymbols: number;
  private lastSymbol: string;
  private readonly symIndex: Map<string, number>;
  private lastSeries: Labels | null;
  private lastRef: number;
  /** IDs of all series, ascending (the ("","") postings). */
  private readonly all: number[];
  /** name → value → series IDs. */
  private readonly postings: Map<string, Map<string, number[]>>;
  private readonly buf1: Encbuf;
  private readonly buf2: Encbuf;
  /** (name, offset) of each label index, for the label offset table. */
  private readonly labelIndexOffsets: Array<[string, number]>;
  /** (name, value, offset) of each postings list, for the postings offset table. */
  private readonly postingsOffsets: Array<[string, string, number]>;

  private constructor(f: FileSink) {
    this.f = f;
    this.stage = IndexStage.None;
    this.toc = { symbols: 0, series: 0, labelIndices: 0, labelIndicesTable: 0, postings: 0, postingsTable: 0 };
    this.symbolEntries = new Encbuf(1 << 16);
    this.numSymbols = 0;
    this.lastSymbol = '';
    this.symIndex = new Map();
    this.lastSeries = null;
    this.lastRef = 0;
    this.all = [];
    this.postings = new Map();
    this.buf1 = new Encbuf(1 << 12);
    this.buf2 = new Encbuf(1 << 12);
    this.labelIndexOffsets = [];
    this.postingsOffsets = [];
  }

  /** Creates the index at `path` (written as `path.tmp`, renamed on `close()`), header included. */
  static async create(path: string): Promise<IndexWriter> {
    const f = await FileSink.create(path);
    const w = new IndexWriter(f);
    const b = w.buf1;
    b.reset();
    b.putBE32(MAGIC_INDEX);
    b.putByte(INDEX_FORMAT_V2);
    await f.write(b.get());
    return w;
  }

  /** Moves forward to stage `s`, running the transitions in between (Go `ensureStage`). */
  private async ensureStage(s: IndexStage): Promise<void> {
    if (this.stage === s) return;
    if (this.stage < s - 1) await this.ensureStage((s - 1) as IndexStage);
    if (this.stage > s) throw new IndexWriterError(`invalid stage "${indexStageName(s)}", currently at "${indexStageName(this.stage)}"`);
    switch (s) {
      case IndexStage.Symbols:
        this.toc.symbols = this.f.pos;
        break;
      case IndexStage.Series:
        await this.finishSymbols();
        this.toc.series = this.f.pos;
        break;
      case IndexStage.Done:
        this.toc.labelIndices = this.f.pos;
        await this.writeLabelIndices();
        this.toc.postings = this.f.pos;
        await this.writePostings();
        this.toc.labelIndicesTable = this.f.pos;
        await this.writeLabelIndicesOffsetTable();
        this.toc.postingsTable = this.f.pos;
        await this.writePostingsOffsetTable();
        await this.writeTOC();
        break;
    }
    this.stage = s;
  }

  /** Adds the next symbol; symbols must be strictly ascending by bytes. */
  async addSymbol(sym: string): Promise<void> {
    await this.ensureStage(IndexStage.Symbols);
    if (this.numSymbols !== 0 && compareUtf8(sym, this.lastSymbol) <= 0) throw new IndexWriterError(`symbol ${JSON.stringify(sym)} out-of-order`);
    this.symIndex.set(sym, this.numSymbols);
    this.lastSymbol = sym;
    this.numSymbols++;
    this.symbolEntries.putUvarintStr(sym);
  }

  private async finishSymbols(): Promise<void> {
    const b = this.buf1;
    b.reset();
    const content = this.symbolEntries.get();
    b.putBE32(4 + content.length);
    b.putBE32(this.numSymbols);
    // CRC covers #symbols + entries.
    const full = crc32cUpdate(crc32c(b.get(), 4, 8), content);
    await this.f.write(b.get());
    await this.f.write(content);
    b.reset();
    b.putBE32(full);
    await this.f.write(b.get());
  }

  /**
   * Adds a series. `ref` only has to be non-decreasing (Go checks the same); label sets
   * must be strictly ascending (`labels.Compare` on bytes) and every name and value must
   * be a symbol. Chunks must be in time order and must not overlap.
   */
  async addSeries(ref: number, lset: Labels, chunks: readonly IndexChunkMeta[]): Promise<void> {
    await this.ensureStage(IndexStage.Series);
    const last = this.lastSeries;
    if (last === null ? lset.length === 0 : compareLabelsUtf8(lset, last) <= 0) {
      throw new IndexWriterError(`out-of-order series added with label set ${JSON.stringify(lset.toString())}`);
    }
    if (last !== null && ref < this.lastRef) throw new IndexWriterError(`series with reference greater than ${ref} already added`);
    await this.f.addPadding(16);
    const id = this.f.pos / 16;
    if (id > 0xffffffff) throw new IndexWriterError('index exceeds 64 GiB: series references no longer fit in 32 bits');

    const b = this.buf2;
    b.reset();
    const p = lset.pairs;
    b.putUvarint(p.length >>> 1);
    for (let i = 0; i < p.length; i++) {
      const s = p[i] as string;
      const idx = this.symIndex.get(s);
      if (idx === undefined) throw new IndexWriterError(`symbol entry for ${JSON.stringify(s)} does not exist`);
      b.putUvarint(idx);
    }
    b.putUvarint(chunks.length);
    if (chunks.length > 0) {
      const c0 = chunks[0] as IndexChunkMeta;
      if (c0.maxTime < c0.minTime) throw new IndexWriterError(`chunk maxTime ${c0.maxTime} < minTime ${c0.minTime} for ${lset.toString()}`);
      b.putVarint(c0.minTime);
      b.putUvarint(c0.maxTime - c0.minTime);
      b.putUvarint(c0.ref);
      let t0 = c0.maxTime;
      let ref0 = c0.ref;
      for (let i = 1; i < chunks.length; i++) {
        const c = chunks[i] as IndexChunkMeta;
        if (c.minTime < t0 || c.maxTime < c.minTime) throw new IndexWriterError(`chunks of ${lset.toString()} overlap or are out of order at chunk ${i}`);
        b.putUvarint(c.minTime - t0);
        b.putUvarint(c.maxTime - c.minTime);
        t0 = c.maxTime;
        b.putVarint(c.ref - ref0);
        ref0 = c.ref;
      }
    }
    const content = b.get();
    const h = this.buf1;
    h.reset();
    h.putUvarint(content.length);
    await this.f.write(h.get());
    await this.f.write(content);
    h.reset();
    h.putBE32(crc32c(content));
    await this.f.write(h.get());

    this.all.push(id);
    for (let i = 0; i < p.length; i += 2) {
      const name = p[i] as string;
      let vals = this.postings.get(name);
      if (vals === undefined) {
        vals = new Map();
        this.postings.set(name, vals);
      }
      const v = p[i + 1] as string;
      const ids = vals.get(v);
      if (ids === undefined) vals.set(v, [id]);
      else ids.push(id);
    }
    this.lastSeries = lset;
    this.lastRef = ref;
  }

  /** Label names ascending, and for each its values ascending (byte order). */
  private sortedKeys(): Array<[string, string[]]> {
    const names = [...this.postings.keys()].sort(compareUtf8);
    return names.map((n) => [n, [...this.postings.get(n)!.keys()].sort(compareUtf8)]);
  }

  private async writeLabelIndices(): Promise<void> {
    for (const [name, values] of this.sortedKeys()) {
      if (name === '') continue;
      await this.f.addPadding(4);
      this.labelIndexOffsets.push([name, this.f.pos]);
      const b = this.buf2;
      b.reset();
      b.putBE32(1);
      b.putBE32(values.length);
      for (const v of values) b.putBE32(this.symIndex.get(v)!);
      await this.writeSection(b.get());
    }
  }

  /** `BE32 len`, content, `BE32 CRC32C(content)`. */
  private async writeSection(content: Uint8Array): Promise<void> {
    const h = this.buf1;
    h.reset();
    h.putBE32(content.length);
    await this.f.write(h.get());
    await this.f.write(content);
    h.reset();
    h.putBE32(crc32c(content));
    await this.f.write(h.get());
  }

  private async writePosting(name: string, value: string, ids: readonly number[]): Promise<void> {
    await this.f.addPadding(4);
    this.postingsOffsets.push([name, value, this.f.pos]);
    const b = this.buf2;
    b.reset();
    b.putBE32(ids.length);
    for (let i = 0; i < ids.length; i++) b.putBE32(ids[i] as number);
    await this.writeSection(b.get());
  }

  private async writePostings(): Promise<void> {
    await this.f.addPadding(4);
    await this.writePosting('', '', this.all);
    for (const [name, values] of this.sortedKeys()) {
      const m = this.postings.get(name)!;
      for (const v of values) await this.writePosting(name, v, m.get(v)!);
    }
  }

  private async writeLabelIndicesOffsetTable(): Promise<void> {
    const b = this.buf2;
    b.reset();
    b.putBE32(this.labelIndexOffsets.length);
    for (const [name, off] of this.labelIndexOffsets) {
      b.putUvarint(1);
      b.putUvarintStr(name);
      b.putUvarint(off);
    }
    await this.writeSection(b.get());
  }

  private async writePostingsOffsetTable(): Promise<void> {
    const b = this.buf2;
    b.reset();
    b.putBE32(this.postingsOffsets.length);
    for (const [name, value, off] of this.postingsOffsets) {
      b.putUvarint(2);
      b.putUvarintStr(name);
      b.putUvarintStr(value);
      b.putUvarint(off);
    }
    await this.writeSection(b.get());
  }

  private async writeTOC(): Promise<void> {
    const b = this.buf1;
    b.reset();
    const t = this.toc;
    b.putBE64(t.symbols);
    b.putBE64(t.series);
    b.putBE64(t.labelIndices);
    b.putBE64(t.labelIndicesTable);
    b.putBE64(t.postings);
    b.putBE64(t.postingsTable);
    b.putBE32(crc32c(b.get()));
    await this.f.write(b.get());
  }

  /** Writes the remaining sections and the TOC, fsyncs and renames the file into place. */
  async close(): Promise<void> {
    try {
      await this.ensureStage(IndexStage.Done);
      await this.f.finish();
    } catch (e) {
      await this.f.abort();
      throw e;
    }
  }

  /** Drops the partially written file. */
  async abort(): Promise<void> {
    await this.f.abort();
  }
}

