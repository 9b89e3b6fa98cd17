/**
 * Writes one block from series with their chunks: Prometheus's `LeveledCompactor.write`
 * + `populateBlock` for a single source (a head range or an import), spec §2–§8.
 *
 *   <parent>/<ULID>.tmp-for-creation/   chunks/000001…, index, meta.json, tombstones
 *        │  fsync every file and the directories
 *        ▼  rename
 *   <parent>/<ULID>/
 *
 * The block covers [mint, maxt) (maxt exclusive, as meta.json). Chunks entirely outside
 * are dropped; chunks sticking out are re-encoded with only the samples inside, as
 * Prometheus re-encodes chunks crossing the compaction range. Series without chunks left
 * are skipped. A block without samples is not written (returns null), as Prometheus.
 *
 * Symbols default to every label string of every input series plus "" — what a
 * Prometheus head block holds (the head's symbol table includes the all-postings key
 * and all series it knows), so a promtool-equivalent input gives a byte-identical index.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid as newUlid } from 'ulid';
import type { Labels } from '../../storage/index.js';
import { ValueType } from '../../storage/index.js';
import { Encoding, XORChunk } from '../chunkenc/index.js';
import type { XORIterator } from '../chunkenc/index.js';
import { ChunkWriter } from '../chunks/index.js';
import type { ChunkMeta } from '../chunks/index.js';
import { IndexWriter, compareLabelsUtf8, compareUtf8 } from '../index/index.js';
import { writeTombstonesFile } from '../tombstones/index.js';
import { writeMetaFile, META_VERSION_1 } from './meta.js';
import type { BlockDesc, BlockMeta } from './meta.js';

/** One series for the block writer. `chunks` carry their data (`chunk` set), in time order. */
export interface BlockSeries {
  labels: Labels;
  chunks: ChunkMeta[];
}

export interface WriteBlockOptions {
  /** Block range [mint, maxt) in ms; maxt exclusive (meta.json). */
  mint: number;
  maxt: number;
  /** The series, any order (sorted here by label bytes). */
  series: Iterable<BlockSeries>;
  /** Symbol table to write (sorted or not, deduplicated here); default: all label strings of `series` plus "". */
  symbols?: Iterable<string>;
  /** ULID for the block; default a new one (upper case). */
  ulid?: string;
  /** meta.json compaction fields; default level 1, sources [ulid]. */
  level?: number;
  sources?: string[];
  parents?: BlockDesc[];
  hints?: string[];
  /** Chunk segment size limit (default 512 MiB). */
  segmentSize?: number;
}

export const TMP_FOR_CREATION_SUFFIX = '.tmp-for-creation';
export const TMP_FOR_DELETION_SUFFIX = '.tmp-for-deletion';

/** Writes the block into `parentDir/<ULID>`; returns its meta, or null when there were no samples. */
export async function writeBlock(parentDir: string, opts: WriteBlockOptions): Promise<BlockMeta | null> {
  const { mint, maxt } = opts;
  if (!(maxt > mint)) throw new RangeError(`writeBlock: empty range [${mint}, ${maxt})`);
  const series = Array.from(opts.series);
  series.sort((a, b) => compareLabelsUtf8(a.labels, b.labels));
  for (let i = 1; i < series.length; i++) {
    if (compareLabelsUtf8((series[i - 1] as BlockSeries).labels, (series[i] as BlockSeries).labels) === 0) {
      throw new Error(`writeBlock: duplicate series ${(series[i] as BlockSeries).labels.toString()}`);
    }
  }
  let symbols: string[];
  if (opts.symbols !== undefined) {
    symbols = [...new Set(opts.symbols)];
  } else {
    const set = new Set<string>(['']);
    for (const s of series) for (const x of s.labels.pairs) set.add(x);
    symbols = [...set];
  }
  symbols.sort(compareUtf8);

  const id = opts.ulid ?? newUlid();
  const tmp = join(parentDir, id + TMP_FOR_CREATION_SUFFIX);
  const dir = join(parentDir, id);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  let cw: ChunkWriter | null = null;
  let iw: IndexWriter | null = null;
  try {
    cw = await ChunkWriter.create(join(tmp, 'chunks'), opts.segmentSize !== undefined ? { segmentSize: opts.segmentSize } : {});
    iw = await IndexWriter.create(join(tmp, 'index'));
    for (const s of symbols) await iw.addSymbol(s);
    let numSamples = 0;
    let numChunks = 0;
    let numSeries = 0;
    let ref = 0;
    for (const s of series) {
      const chks = clipChunks(s.chunks, mint, maxt - 1);
      if (chks.length === 0) continue;
      await cw.writeChunks(chks);
      await iw.addSeries(ref++, s.labels, chks);
      numSeries++;
      numChunks += chks.length;
      for (const c of chks) numSamples += c.chunk!.numSamples();
    }
    await cw.close();
    cw = null;
    await iw.close();
    iw = null;
    if (numSamples === 0) {
      await rm(tmp, { recursive: true, force: true });
      return null;
    }
    const meta: BlockMeta = {
      ulid: id,
      minTime: mint,
      maxTime: maxt,
      stats: { numSamples, numSeries, numChunks },
      compaction: {
        level: opts.level ?? 1,
        sources: opts.sources ?? [id],
        ...(opts.parents && opts.parents.length > 0 ? { parents: opts.parents } : {}),
        ...(opts.hints && opts.hints.length > 0 ? { hints: opts.hints } : {}),
      },
      version: META_VERSION_1,
    };
    await writeMetaFile(tmp, meta);
    await writeTombstonesFile(tmp);
    await fsyncPath(join(tmp, 'chunks'));
    await fsyncPath(tmp);
    await rename(tmp, dir);
    await fsyncPath(parentDir);
    return meta;
  } catch (e) {
    await cw?.close().catch(() => undefined);
    await iw?.abort().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
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
 * The chunks of one series restricted to [mint, maxt] (inclusive): chunks inside are
 * kept as they are, chunks outside dropped, chunks crossing an edge re-encoded with the
 * samples inside (bit-exact values). Returns new metas for re-encoded chunks only.
 */
export function clipChunks(chunks: readonly ChunkMeta[], mint: number, maxt: number): ChunkMeta[] {
  const out: ChunkMeta[] = [];
  for (const c of chunks) {
    if (c.maxTime < mint || c.minTime > maxt) continue;
    if (c.minTime >= mint && c.maxTime <= maxt) {
      out.push(c);
      continue;
    }
    const chunk = c.chunk;
    if (chunk === null) throw new Error('clipChunks: chunk meta without data');
    if (chunk.encoding() !== Encoding.XOR) throw new Error(`cannot trim a ${chunk.encoding()} chunk to the block range`);
    const it = chunk.iterator(null) as XORIterator;
    const nc = new XORChunk();
    const app = nc.appender();
    let first = 0;
    let last = 0;
    let n = 0;
    while (it.next() === ValueType.Float) {
      const t = it.atT();
      if (t < mint) continue;
      if (t > maxt) break;
      app.appendBits(t, it.atVHi(), it.atVLo());
      if (n === 0) first = t;
      last = t;
      n++;
    }
    const err = it.err();
    if (err !== null) throw err;
    if (n > 0) out.push({ ref: 0, minTime: first, maxTime: last, chunk: nc });
  }
  return out;
}

