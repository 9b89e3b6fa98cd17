/**
 * Builds the one block of a dump from many inputs (shipped blocks, local blocks, a head
 * snapshot), time-major and streaming, so memory and scratch disk do not grow with the
 * range and the archive can be compressed while the block is still being assembled.
 *
 *   inputs sorted by minTime, grouped into clusters of overlapping ranges
 *     │  (acquired one cluster ahead: downloaded or hard-linked, opened; released after)
 *     ▼
 *   cluster = one block, wholly inside the range, no selectors, no tombstones
 *     ──► LINK: its chunk segment files become segments of the dump block as they are
 *         (hard links; chunk offsets unchanged, so refs are remapped, not rewritten);
 *         only its index is read
 *   any other cluster (range edges, overlapping blocks, the head, selectors, tombstones)
 *     ──► MERGE: series by series through ChunkMerger (untouched chunks pass through
 *         without decoding; edges are cut; overlaps merged) into a ChunkWriter run whose
 *         finished segments are renamed into the dump block
 *     │  each series' chunk metas (final refs) ──► chunk spill file (chunk-spill.ts)
 *     ▼
 *   index: the sorted union of series, each with its chunks gathered from the spill in
 *   time order; then meta.json and an empty tombstones file.
 *
 *   <parent>/<ULID>/chunks/000001  ← link of input A's 000001   (onSegment as soon as placed)
 *                          000002  ← written run (range edge)
 *                          …
 *                   index, meta.json, tombstones
 *
 * Chunk files of linked blocks are not re-read or CRC-checked here: they are copied as
 * they are, like the plugin's tar of the blocks; Prometheus checks CRCs on read.
 * Memory: the label sets of the union (measured by bench/dump) and one cluster's
 * series list; nothing per chunk.
 */
import { copyFile, link, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Labels, Matcher } from '../storage/index.js';
import type { Block, BlockMeta } from '../tsdb/block/index.js';
import { writeMetaFile } from '../tsdb/block/meta.js';
import { ChunkWriter, chunkRefOffset, chunkRefSeg, segmentFileName, type ChunkMeta } from '../tsdb/chunks/index.js';
import type { SeriesSource } from '../tsdb/compact/compactor.js';
import { ChunkMerger, type Interval } from '../tsdb/compact/merge-chunks.js';
import { compareLabelsUtf8, compareUtf8 } from '../tsdb/index/order.js';
import { IndexWriter } from '../tsdb/index/writer.js';
import { writeTombstonesFile } from '../tsdb/tombstones/index.js';
import { ChunkSpillReader, ChunkSpillWriter, type SpilledChunk } from './chunk-spill.js';

const TWO32 = 4294967296;

/** One input of a dump, in time. */
export interface DumpInput {
  readonly name: string;
  /** Data range, [minTime, maxTime) like meta.json. */
  readonly minTime: number;
  readonly maxTime: number;
  /** Relative amount of work (samples or bytes), for progress only. */
  readonly weight: number;
  /**
   * Makes the input readable (download, open). Called at most once, in time order,
   * possibly while the previous cluster is still being processed.
   */
  acquire(): Promise<AcquiredInput>;
}

export interface AcquiredInput {
  /** The opened block when the input is a persisted block (its chunk files can then be linked). */
  readonly block: Block | null;
  readonly source: SeriesSource;
  /** Closes the input and removes any scratch copy. Idempotent. */
  release(): Promise<void>;
}

export interface AssembleOptions {
  /** ULID of the dump block (the caller names archive entries after it before it exists). */
  ulid: string;
  /** Output range [mint, maxt), maxt exclusive. */
  mint: number;
  maxt: number;
  /** Keep only series matching any of these matcher lists (each ANDed). */
  selectors?: Matcher[][];
  /** Scratch directory for chunk runs and the spill file (removed by the caller). */
  scratchDir: string;
  signal?: AbortSignal;
  /** Fraction of the input weight done (0–1). */
  onProgress?: (fraction: number) => void;
  /** Segment `name` of the dump block is final at `path`; called in segment order. */
  onSegment?: (name: string, path: string) => void;
  /** Size limit of written (not linked) segments; smaller means the archive can start sooner. Default 128 MiB. */
  segmentSize?: number;
}

export interface AssembleResult {
  meta: BlockMeta;
  dir: string;
  /** Segment files linked from inputs vs written. */
  linkedSegments: number;
  writtenSegments: number;
  /** Clusters handled by linking vs by merging. */
  linkedClusters: number;
  mergedClusters: number;
  /** Chunks passed through untouched vs re-encoded on the merge path. */
  passedChunks: number;
  reencodedChunks: number;
}

export class AssembleError extends Error {
  readonly code = 'MM_ERR_DUMP_ASSEMBLE';
}

function selected(lset: Labels, selectors: Matcher[][] | undefined): boolean {
  if (!selectors || selectors.length === 0) return true;
  outer: for (const ms of selectors) {
    for (const m of ms) if (!m.matches(lset.get(m.name))) continue outer;
    return true;
  }
  return false;
}

/** Lets the archive's reads and gzip callbacks run between stretches of index decoding. */
const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The series of the dump block: label sets, each numbered once (a Map by label key).
 * Consecutive blocks mostly list the same series in the same order, so `idOrdered`
 * first tries the series at the same position of the previous block, which skips
 * building a key string for almost every series.
 */
export class SeriesUnion {
  private readonly ids: Map<string, number>;
  readonly labels: Labels[];
  private prev: number[];
  private cur: number[];
  private pos: number;
  constructor() {
    this.ids = new Map();
    this.labels = [];
    this.prev = [];
    this.cur = [];
    this.pos = 0;
  }

  /** Starts a block whose series will come through `idOrdered`, in label order. */
  beginOrdered(): void {
    this.prev = this.cur;
    this.cur = [];
    this.pos = 0;
  }

  /** Number of `lset`, for series of a block in label order (after `beginOrdered`). */
  idOrdered(lset: Labels): number {
    const guess = this.prev[this.pos];
    if (guess !== undefined && (this.labels[guess] as Labels).equals(lset)) {
      this.pos++;
      this.cur.push(guess);
      return guess;
    }
    const id = this.id(lset);
    // Resynchronise after series that appeared or went away (look a short way ahead).
    const lim = Math.min(this.prev.length, this.pos + 64);
    for (let i = this.pos; i < lim; i++) {
      if (this.prev[i] === id) {
        this.pos = i + 1;
        break;
      }
    }
    this.cur.push(id);
    return id;
  }

  /** Number of `lset` (new series get the next number). */
  id(lset: Labels): number {
    const k = lset.key();
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.labels.length;
      this.ids.set(k, id);
      this.labels.push(lset);
    }
    return id;
  }
}

/** Groups inputs (sorted by minTime) into clusters of transitively overlapping ranges. */
export function clusterInputs<T extends { minTime: number; maxTime: number }>(inputs: readonly T[]): T[][] {
  const sorted = [...inputs].sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  const out: T[][] = [];
  let cur: T[] = [];
  let curMax = -Infinity;
  for (const x of sorted) {
    if (cur.length > 0 && x.minTime >= curMax) {
      out.push(cur);
      cur = [];
      curMax = -Infinity;
    }
    cur.push(x);
    curMax = Math.max(curMax, x.maxTime);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM') throw e;
    await copyFile(from, to);
  }
}

/**
 * Assembles the dump block into `parentDir/<opts.ulid>`. Returns null (and removes the
 * directory) when no sample of any input falls into the range and selection. Every
 * acquired input is released, on success and on failure.
 */
export async function assembleDumpBlock(inputs: readonly DumpInput[], parentDir: string, opts: AssembleOptions): Promise<AssembleResult | null> {
  const { mint, maxt, signal } = opts;
  const dir = join(parentDir, opts.ulid);
  const chunksDir = join(dir, 'chunks');
  await mkdir(chunksDir, { recursive: true });
  const clusters = clusterInputs(inputs.filter((x) => x.maxTime > mint && x.minTime < maxt));
  const totalWeight = clusters.reduce((a, c) => a + c.reduce((b, x) => b + Math.max(1, x.weight), 0), 0);

  // Acquisition one cluster ahead, so a download overlaps the previous cluster's work.
  const acquiring: Array<Promise<AcquiredInput[]> | undefined> = [];
  const acquireCluster = (i: number): Promise<AcquiredInput[]> => {
    let p = acquiring[i];
    if (p === undefined) {
      const ps = (clusters[i] as DumpInput[]).map((x) => x.acquire());
      p = Promise.allSettled(ps).then(async (rs) => {
        const ok = rs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const bad = rs.find((r) => r.status === 'rejected');
        if (bad) {
          for (const a of ok) await a.release().catch(() => {});
          throw (bad as PromiseRejectedResult).reason;
        }
        return ok;
      });
      p.catch(() => {}); // observed when awaited; never unhandled
      acquiring[i] = p;
    }
    return p;
  };

  const spill = await ChunkSpillWriter.create(join(opts.scratchDir, 'chunk-metas'));
  const union = new SeriesUnion();
  const merger = new ChunkMerger();
  const segmentSize = opts.segmentSize ?? 128 * 1024 * 1024;
  let seq = 0; // segments placed in chunksDir
  let linkedSegments = 0;
  let linkedClusters = 0;
  let mergedClusters = 0;
  let numSamples = 0;
  let numChunks = 0;
  let dataMin = Infinity;
  let dataMax = -Infinity;
  const sourceUlids = new Set<string>();
  let doneWeight = 0;

  // The current ChunkWriter run: writes into its own directory; finished segments are
  // renamed into chunksDir as `runBase + i + 1`.
  let cw: ChunkWriter | null = null;
  let runDir = '';
  let runBase = 0;
  let runPlaced = 0;
  let runs = 0;
  const placeRunSegments = async (all: boolean): Promise<void> => {
    if (cw === null) return;
    const files = cw.segmentFiles();
    const ready = all ? files.length : files.length - 1; // the last one is still open
    while (runPlaced < ready) {
      const name = segmentFileName(runBase + runPlaced + 1);
      await rename(files[runPlaced] as string, join(chunksDir, name));
      runPlaced++;
      opts.onSegment?.(name, join(chunksDir, name));
    }
  };
  const endRun = async (): Promise<void> => {
    if (cw === null) return;
    await cw.close();
    await placeRunSegments(true);
    seq = runBase + runPlaced;
    cw = null;
    await rm(runDir, { recursive: true, force: true });
  };

  let spillDone = false;
  try {
    for (let ci = 0; ci < clusters.length; ci++) {
      signal?.throwIfAborted();
      const cluster = clusters[ci] as DumpInput[];
      const clusterWeight = cluster.reduce((a, x) => a + Math.max(1, x.weight), 0);
      const acquired = await acquireCluster(ci);
      if (ci + 1 < clusters.length) void acquireCluster(ci + 1);
      try {
        for (const a of acquired) for (const u of a.source.sourceUlids) sourceUlids.add(u);
        const only = acquired.length === 1 ? (acquired[0] as AcquiredInput) : null;
        const b = only?.block ?? null;
        const linkable =
          b !== null &&
          (!opts.selectors || opts.selectors.length === 0) &&
          b.meta.minTime >= mint &&
          b.meta.maxTime <= maxt &&
          b.tombstones().total() === 0 &&
          typeof b.meta.stats?.numSamples === 'number';
        spill.beginRun();
        if (linkable) {
          await endRun();
          // LINK: the block's segments become ours; refs shift by the segments placed before.
          const segBase = seq;
          const files = b.chunks().segmentFiles();
          for (const f of files) {
            const name = segmentFileName(++seq);
            await linkOrCopy(f, join(chunksDir, name));
            linkedSegments++;
            opts.onSegment?.(name, join(chunksDir, name));
          }
          const ir = b.index();
          union.beginOrdered();
          let k = 0;
          for (const id of ir.allPostings()) {
            const s = ir.series(id);
            const cs = s.chunks;
            const n = cs.length;
            if (n === 0) continue;
            const g = union.idOrdered(s.labels);
            for (let i = 0; i < n; i++) {
              const c = cs[i] as SpilledChunk;
              const sg = chunkRefSeg(c.ref);
              if (sg >= files.length) throw new AssembleError(`${(only as AcquiredInput).source.name}: series ${s.labels.toString()} has a chunk in segment ${sg + 1} of ${files.length}`);
              c.ref = (segBase + sg) * TWO32 + chunkRefOffset(c.ref);
            }
            await spill.add(g, cs, n);
            numChunks += n;
            if ((cs[0] as SpilledChunk).minTime < dataMin) dataMin = (cs[0] as SpilledChunk).minTime;
            if ((cs[n - 1] as SpilledChunk).maxTime > dataMax) dataMax = (cs[n - 1] as SpilledChunk).maxTime;
            if ((++k & 2047) === 0) {
              signal?.throwIfAborted();
              await yieldNow();
            }
          }
          numSamples += b.meta.stats?.numSamples ?? 0;
          linkedClusters++;
        } else {
          // MERGE: series by series, in label order, into the current run.
          if (cw === null) {
            runDir = join(opts.scratchDir, `run-${runs++}`);
            cw = await ChunkWriter.create(runDir, { segmentSize });
            runBase = seq;
            runPlaced = 0;
          }
          const w: ChunkWriter = cw;
          const sources = acquired.map((a) => a.source);
          const byKey = new Map<string, { labels: Labels; refs: number[] }>();
          sources.forEach((src, si) => {
            for (const { labels, id } of src.series()) {
              if (!selected(labels, opts.selectors)) continue;
              const key = labels.key();
              let e = byKey.get(key);
              if (!e) byKey.set(key, (e = { labels, refs: [] }));
              e.refs.push(si, id);
            }
          });
          const all = [...byKey.values()].sort((x, y) => compareLabelsUtf8(x.labels, y.labels));
          byKey.clear();
          const inChunks: ChunkMeta[] = [];
          const outChunks: ChunkMeta[] = [];
          for (let i = 0; i < all.length; i++) {
            const e = all[i] as (typeof all)[number];
            inChunks.length = 0;
            outChunks.length = 0;
            let deleted: Interval[] | null = null;
            for (let r = 0; r < e.refs.length; r += 2) {
              const src = sources[e.refs[r] as number] as SeriesSource;
              const sid = e.refs[r + 1] as number;
              for (const c of src.chunks(sid)) inChunks.push(c);
              const d = src.deleted(sid);
              if (d && d.length > 0) (deleted ??= []).push(...d);
            }
            const n = merger.merge(inChunks, mint, maxt - 1, deleted, outChunks);
            if (n > 0) {
              await w.writeChunks(outChunks);
              for (const c of outChunks) {
                c.ref = (runBase + chunkRefSeg(c.ref)) * TWO32 + chunkRefOffset(c.ref);
                c.chunk = null; // the writer has copied the bytes
              }
              await spill.add(union.id(e.labels), outChunks, outChunks.length);
              numSamples += n;
              numChunks += outChunks.length;
              if ((outChunks[0] as ChunkMeta).minTime < dataMin) dataMin = (outChunks[0] as ChunkMeta).minTime;
              if ((outChunks[outChunks.length - 1] as ChunkMeta).maxTime > dataMax) dataMax = (outChunks[outChunks.length - 1] as ChunkMeta).maxTime;
              await placeRunSegments(false);
            }
            if ((i & 1023) === 1023) {
              signal?.throwIfAborted();
              opts.onProgress?.((doneWeight + (clusterWeight * i) / all.length) / totalWeight);
              await yieldNow();
            }
          }
          mergedClusters++;
        }
        spill.endRun();
      } finally {
        for (const a of acquired) await a.release();
        // Drop the handles: a closed block still references its index bytes.
        acquiring[ci] = undefined;
      }
      doneWeight += clusterWeight;
      opts.onProgress?.(doneWeight / totalWeight);
    }
    await endRun();
    await spill.close();
    spillDone = true;

    if (numSamples === 0) {
      await rm(dir, { recursive: true, force: true });
      return null;
    }
    signal?.throwIfAborted();
    await writeIndex(join(dir, 'index'), union, spill, signal);
    const meta: BlockMeta = {
      ulid: opts.ulid,
      minTime: dataMin,
      maxTime: dataMax + 1,
      stats: { numSamples, numSeries: union.labels.length, numChunks },
      compaction: { level: 1, sources: sourceUlids.size > 0 ? [...sourceUlids].sort() : [opts.ulid] },
      version: 1,
    };
    await writeTombstonesFile(dir);
    await writeMetaFile(dir, meta);
    return {
      meta,
      dir,
      linkedSegments,
      writtenSegments: seq - linkedSegments,
      linkedClusters,
      mergedClusters,
      passedChunks: merger.passed,
      reencodedChunks: merger.reencoded,
    };
  } finally {
    // Release whatever was acquired ahead and not yet processed.
    for (const p of acquiring) {
      if (p === undefined) continue;
      const got = await p.catch(() => [] as AcquiredInput[]);
      for (const a of got) await a.release().catch(() => {});
    }
    if (cw !== null) await (cw as ChunkWriter).close().catch(() => {});
    if (!spillDone) await spill.close().catch(() => {});
  }
}

/** Writes the index of the union: series in label order, each with its chunks from every run. */
async function writeIndex(path: string, union: SeriesUnion, spill: ChunkSpillWriter, signal: AbortSignal | undefined): Promise<void> {
  const labels = union.labels;
  const order = Array.from({ length: labels.length }, (_, i) => i);
  order.sort((a, b) => compareLabelsUtf8(labels[a] as Labels, labels[b] as Labels));
  // Prometheus's writers include the empty string among the symbols; so do we.
  const symbolSet = new Set<string>(['']);
  for (const l of labels) for (const s of l.pairs) symbolSet.add(s);
  const symbols = [...symbolSet].sort(compareUtf8);
  symbolSet.clear();
  const iw = await IndexWriter.create(path);
  const reader = new ChunkSpillReader(spill.path, spill.runs);
  try {
    for (const s of symbols) await iw.addSymbol(s);
    const cursors = reader.cursors;
    const pool: SpilledChunk[] = [];
    const view: SpilledChunk[] = [];
    let ref = 0;
    for (let i = 0; i < order.length; i++) {
      const g = order[i] as number;
      let n = 0;
      for (let c = 0; c < cursors.length; c++) {
        const cur = cursors[c] as (typeof cursors)[number];
        if (cur.next === g) n = cur.take(pool, n);
      }
      if (n === 0) throw new AssembleError(`series ${(labels[g] as Labels).toString()} has no chunks in the spill`);
      view.length = 0;
      for (let k = 0; k < n; k++) view.push(pool[k] as SpilledChunk);
      await iw.addSeries(++ref, labels[g] as Labels, view);
      if ((i & 4095) === 4095) signal?.throwIfAborted();
    }
    for (let c = 0; c < cursors.length; c++) {
      // A run not fully consumed lists series out of label order (a foreign or corrupt index).
      if ((cursors[c] as (typeof cursors)[number]).next !== -1) throw new AssembleError(`input ${c + 1}: series are not in label order; cannot merge its index`);
    }
    await iw.close();
  } catch (e) {
    await iw.abort().catch(() => {});
    throw e;
  } finally {
    reader.close();
  }
}
