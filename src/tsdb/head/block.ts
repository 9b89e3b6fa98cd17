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
 * Finished chunks are passed as views of the head's chunk arena (no copy); the
 * open chunk is copied, because appends rewrite its sample count in place while the
 * block is being written. Chunks sticking out of the range are trimmed and re-encoded
 * by the block writer (Prometheus re-encodes them the same way). A live head cut at
 * aligned boundaries never has such chunks: chunks are cut at chunk-range boundaries.
 */
import { compareLabels, type Labels } from '../../storage/index.js';
import { XORChunk } from '../chunkenc/index.js';
import type { ChunkMeta } from '../chunks/index.js';
import type { Head } from './head.js';
import { META_STRIDE } from './mem-series.js';

/** One series for the block writer. */
export interface HeadBlockSeries {
  labels: Labels;
  chunks: ChunkMeta[];
}

/** Series of `head` with at least one chunk overlapping [mint, maxt) (maxt exclusive), sorted by labels. */
export function headBlockSeries(head: Head, mint: number, maxt: number): HeadBlockSeries[] {
  const out: HeadBlockSeries[] = [];
  const arena = head.arena;
  for (const s of head.series.values()) {
    const chunks: ChunkMeta[] = [];
    const m = s.cutMeta;
    for (let k = 0; k < m.length; k += META_STRIDE) {
      const cmint = m[k] as number;
      const cmaxt = m[k + 1] as number;
      if (cmaxt < mint || cmint >= maxt) continue;
      chunks.push({ ref: 0, minTime: cmint, maxTime: cmaxt, chunk: XORChunk.fromBytes(arena.view(m[k + 2] as number, m[k + 3] as number)) });
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
