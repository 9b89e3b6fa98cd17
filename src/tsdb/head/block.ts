/**
 * A time range of the head as block input (Prometheus `RangeHead` feeding
 * `LeveledCompactor.Write`): every series with samples in [mint, maxt), sorted by
 * labels, with the chunks that overlap the range.
 *
 * ```
 *   series S:  [cut 0][cut 1][cut 2][open chunk…]
 *   range:           [mint ───────────── maxt)
 *   BlockSeries:     cut1 (view), cut2 (view), open chunk (copy)
 * ```
 *
 * Finished chunks in chunks_head are read when the block writer asks for them
 * (`lazy`: a `DiskChunkMeta` reads its bytes at each access, so a 2 h head cut never
 * holds all of them in memory at once) or read up front (default: the caller keeps
 * them, e.g. a dump that outlives head truncations). In-memory heads pass views of the
 * arena. The open chunk is copied, because appends rewrite its sample count in place while the
 * block is being written. Chunks sticking out of the range are trimmed and re-encoded
 * by the block writer (Prometheus re-encodes them the same way). A live head cut at
 * aligned boundaries never has such chunks: chunks are cut at chunk-range boundaries.
 */
import { compareLabels, type Labels } from '../../storage/index.js';
import { XORChunk, type Chunk } from '../chunkenc/index.js';
import type { ChunkMeta } from '../chunks/index.js';
import type { ChunkDiskMapper } from './chunk-disk-mapper.js';
import type { Head } from './head.js';
import { META_STRIDE, metaLen } from './mem-series.js';

/**
 * A finished head chunk in chunks_head whose bytes are read (one pread) each time
 * `chunk` is read, and not kept. Valid while the head is not truncated past it: the
 * DB writes blocks and truncates under one mutex. Assigning `chunk` pins a value.
 */
export class DiskChunkMeta implements ChunkMeta {
  ref: number;
  minTime: number;
  maxTime: number;
  private readonly disk: ChunkDiskMapper;
  private readonly loc: number;
  private readonly len: number;
  private pinned: Chunk | null;

  constructor(disk: ChunkDiskMapper, loc: number, len: number, minTime: number, maxTime: number) {
    this.ref = 0;
    this.minTime = minTime;
    this.maxTime = maxTime;
    this.disk = disk;
    this.loc = loc;
    this.len = len;
    this.pinned = null;
  }

  get chunk(): Chunk | null {
    return this.pinned ?? XORChunk.fromBytes(this.disk.read(this.loc, this.len));
  }

  set chunk(c: Chunk | null) {
    this.pinned = c;
  }
}

/** One series for the block writer. */
export interface HeadBlockSeries {
  labels: Labels;
  chunks: ChunkMeta[];
}

/**
 * Series of `head` with at least one chunk overlapping [mint, maxt) (maxt exclusive),
 * sorted by labels. `lazy` (chunks_head only): finished chunks are `DiskChunkMeta`s,
 * read when used; use only while the head cannot be truncated meanwhile.
 */
export function headBlockSeries(head: Head, mint: number, maxt: number, opts: { lazy?: boolean } = {}): HeadBlockSeries[] {
  const out: HeadBlockSeries[] = [];
  const arena = head.arena;
  const disk = arena.disk;
  const lazy = opts.lazy === true && disk !== null;
  for (const s of head.series.values()) {
    const chunks: ChunkMeta[] = [];
    const m = s.cutMeta;
    for (let k = 0; k < m.length; k += META_STRIDE) {
      const cmint = m[k] as number;
      const cmaxt = m[k + 1] as number;
      if (cmaxt < mint || cmint >= maxt) continue;
      const loc = m[k + 2] as number;
      const len = metaLen(m[k + 3] as number);
      if (lazy) chunks.push(new DiskChunkMeta(disk as ChunkDiskMapper, loc, len, cmint, cmaxt));
      else chunks.push({ ref: 0, minTime: cmint, maxTime: cmaxt, chunk: XORChunk.fromBytes(arena.read(loc, len)) });
    }
    const h = s.head;
    if (h !== null && s.headN > 0 && s.headMaxt >= mint && s.headMint < maxt) {
      chunks.push({ ref: 0, minTime: s.headMint, maxTime: s.headMaxt, chunk: XORChunk.fromBytes(h.bytes().slice()) });
    }
    if (chunks.length > 0) out.push({ labels: s.lset, chunks });
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
}
