/**
 * Writes one new block from several series sources (blocks, a head range): the
 * `LeveledCompactor.write` + `populateBlock` of Prometheus, streaming.
 *
 *   pass 1  every source lists its series (labels only)  ─► sorted union, symbols
 *   pass 2  per series, in label order: load its chunks from every source,
 *           ChunkMerger (pass-through / cut / merge) ─► chunks/ file, index entry
 *   then    meta.json, tombstones, fsync, rename `<ULID>.tmp-for-creation` → `<ULID>`
 *
 * Memory holds the label sets and one series' chunks at a time, never all samples, so a
 * dump of 15 days costs about what a dump of one hour does plus the label sets.
 * Used by DB compaction (overlapping and adjacent blocks) and by the dump builder
 * (range cut, series selection).
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid as newUlid } from 'ulid';
import type { Labels, Matcher } from '../../storage/index.js';
import type { ChunkMeta } from '../chunks/index.js';
import { ChunkWriter } from '../chunks/index.js';
import { IndexWriter } from '../index/writer.js';
import { compareLabelsUtf8, compareUtf8 } from '../index/order.js';
import { ChunkMerger, type Interval } from './merge-chunks.js';
import { writeMetaFile, type BlockMeta } from '../block/meta.js';
import { writeTombstonesFile } from '../tombstones/index.js';

/** One input of a compaction. Series ids are the source's own; any order. */
export interface SeriesSource {
  /** Description for errors ("block 01H…", "head"). */
  readonly name: string;
  /** ULIDs this source stands for (meta.compaction.sources of a block). */
  readonly sourceUlids: readonly string[];
  /** compaction.level of a block; 0 for the head. */
  readonly level: number;
  /** Every series (label set + the source's id), any order. */
  series(): Array<{ labels: Labels; id: number }>;
  /** The chunks of series `id`, data loaded, time-ordered. */
  chunks(id: number): ChunkMeta[];
  /** Tombstoned intervals of series `id` (inclusive), or null. */
  deleted(id: number): readonly Interval[] | null;
  /** The block's ULID/min/max if the source is a block, for meta.compaction.parents. */
  readonly parent: { ulid: string; minTime: number; maxTime: number } | null;
}

export interface CompactOptions {
  /** Output range, half-open [mint, maxt) like meta.json. Samples outside are dropped. */
  mint: number;
  maxt: number;
  /**
   * Keep only series matching ANY of these matcher lists (each list is ANDed, as one
   * `match[]` selector). Empty/absent: every series.
   */
  selectors?: Matcher[][];
  /** compaction.level of the result; default max(source levels) + 1 (at least 1). */
  level?: number;
  /** Record parents in meta.json (DB compaction: Prometheus deletes listed parents on reload). Default true for DB use. */
  recordParents?: boolean;
  /** meta.json min/max: the requested range (Prometheus compaction) or the data actually written (dumps). */
  metaRange?: 'requested' | 'data';
  /** Extra compaction hints. */
  hints?: string[];
  /**
   * meta.compaction.sources = [the new ULID] instead of the union of the inputs' sources
   * (Prometheus `Compactor.Write`, used by CleanTombstones).
   */
  ownSources?: boolean;
  /** Called with the fraction of series done (0–1). */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface CompactResult {
  meta: BlockMeta;
  dir: string;
  /** Chunks copied untouched vs re-encoded. */
  passedChunks: number;
  reencodedChunks: number;
}

function selected(lset: Labels, selectors: Matcher[][] | undefined): boolean {
  if (!selectors || selectors.length === 0) return true;
  outer: for (const ms of selectors) {
    for (const m of ms) if (!m.matches(lset.get(m.name))) continue outer;
    return true;
  }
  return false;
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes the merged block into `parentDir/<ULID>`. Returns null (and leaves nothing
 * behind) when no sample falls into the range.
 */
export async function compactSources(sources: readonly SeriesSource[], parentDir: string, opts: CompactOptions): Promise<CompactResult | null> {
  const { mint, maxt } = opts;
  // Pass 1: the sorted union of label sets, remembering where each series lives.
  const byKey = new Map<string, { labels: Labels; refs: Array<[number, number]> }>();
  sources.forEach((src, si) => {
    for (const { labels, id } of src.series()) {
      if (!selected(labels, opts.selectors)) continue;
      const k = labels.key();
      let e = byKey.get(k);
      if (!e) {
        e = { labels, refs: [] };
        byKey.set(k, e);
      }
      e.refs.push([si, id]);
    }
  });
  const all = [...byKey.values()].sort((a, b) => compareLabelsUtf8(a.labels, b.labels));
  // Prometheus's writers include the empty string among the symbols; so do we (byte-compatible indexes).
  const symbolSet = new Set<string>(['']);
  for (const e of all) for (const s of e.labels.pairs) symbolSet.add(s);
  const symbols = [...symbolSet].sort(compareUtf8);

  const id = newUlid();
  const tmp = join(parentDir, `${id}.tmp-for-creation`);
  await mkdir(join(tmp, 'chunks'), { recursive: true });
  let cw: ChunkWriter | null = null;
  let iw: IndexWriter | null = null;
  try {
    cw = await ChunkWriter.create(join(tmp, 'chunks'));
    iw = await IndexWriter.create(join(tmp, 'index'));
    for (const s of symbols) await iw.addSymbol(s);

    const merger = new ChunkMerger();
    const inChunks: ChunkMeta[] = [];
    const outChunks: ChunkMeta[] = [];
    let numSeries = 0;
    let numSamples = 0;
    let numChunks = 0;
    let dataMin = Infinity;
    let dataMax = -Infinity;
    let ref = 0;
    for (let i = 0; i < all.length; i++) {
      opts.signal?.throwIfAborted();
      const e = all[i] as (typeof all)[number];
      inChunks.length = 0;
      outChunks.length = 0;
      let deleted: Interval[] | null = null;
      for (const [si, sid] of e.refs) {
        const src = sources[si] as SeriesSource;
        const d = src.deleted(sid);
        if (d && d.length > 0 && e.refs.length > 1) {
          // A source's tombstones delete only its own samples (Prometheus applies them per
          // block): drop them from this source's chunks before merging with the others.
          merger.merge(src.chunks(sid), -Infinity, Infinity, d, inChunks);
          continue;
        }
        for (const c of src.chunks(sid)) inChunks.push(c);
        if (d && d.length > 0) (deleted ??= []).push(...d);
      }
      const n = merger.merge(inChunks, mint, maxt - 1, deleted, outChunks);
      if (n === 0) continue;
      await cw.writeChunks(outChunks);
      await iw.addSeries(++ref, e.labels, outChunks);
      numSeries++;
      numSamples += n;
      numChunks += outChunks.length;
      dataMin = Math.min(dataMin, (outChunks[0] as ChunkMeta).minTime);
      dataMax = Math.max(dataMax, (outChunks[outChunks.length - 1] as ChunkMeta).maxTime);
      if (opts.onProgress && (i & 255) === 0) opts.onProgress(i / all.length);
      // Chunk data can be released now; the writer has copied it.
      for (const c of outChunks) c.chunk = null;
    }
    await cw.close();
    cw = null;
    await iw.close();
    iw = null;
    if (numSamples === 0) {
      await rm(tmp, { recursive: true, force: true });
      return null;
    }
    const level = opts.level ?? Math.max(1, ...sources.map((s) => s.level + 1));
    const srcUlids = [...new Set(sources.flatMap((s) => s.sourceUlids))].sort();
    const parents = opts.recordParents === false ? [] : sources.flatMap((s) => (s.parent ? [s.parent] : []));
    const useData = opts.metaRange === 'data';
    const meta: BlockMeta = {
      ulid: id,
      minTime: useData ? dataMin : mint,
      maxTime: useData ? dataMax + 1 : maxt,
      stats: { numSamples, numSeries, numChunks },
      compaction: {
        level,
        sources: srcUlids.length > 0 && opts.ownSources !== true ? srcUlids : [id],
        ...(parents.length > 0 ? { parents } : {}),
        ...(opts.hints && opts.hints.length > 0 ? { hints: opts.hints } : {}),
      },
      version: 1,
    };
    await writeTombstonesFile(tmp);
    await writeMetaFile(tmp, meta);
    await fsyncPath(join(tmp, 'chunks'));
    await fsyncPath(tmp);
    const final = join(parentDir, id);
    await rename(tmp, final);
    await fsyncPath(parentDir);
    opts.onProgress?.(1);
    return { meta, dir: final, passedChunks: merger.passed, reencodedChunks: merger.reencoded };
  } catch (err) {
    await cw?.close().catch(() => {});
    await iw?.abort().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
