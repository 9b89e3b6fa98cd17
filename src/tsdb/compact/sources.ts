/**
 * Adapters that present a persisted block or a head range as a `SeriesSource` for
 * `compactSources`.
 */
import type { Block } from '../block/index.js';
import type { ChunkMeta } from '../chunks/index.js';
import type { Head } from '../head/head.js';
import { headBlockSeries } from '../head/block.js';
import { labelsHash } from '../head/series-map.js';
import { XORChunk } from '../chunkenc/index.js';
import type { SeriesSource } from './compactor.js';
import type { Interval } from './merge-chunks.js';

/** A block as a compaction input. Chunks are read lazily, one series at a time. */
export function blockSource(b: Block): SeriesSource {
  const ir = b.index();
  const cr = b.chunks();
  const tombs = b.tombstones();
  const meta = b.meta;
  return {
    name: `block ${meta.ulid}`,
    sourceUlids: meta.compaction.sources && meta.compaction.sources.length > 0 ? meta.compaction.sources : [meta.ulid],
    level: meta.compaction.level,
    parent: { ulid: meta.ulid, minTime: meta.minTime, maxTime: meta.maxTime },
    series() {
      const out: Array<{ labels: ReturnType<typeof ir.series>['labels']; id: number }> = [];
      for (const id of ir.allPostings()) out.push({ labels: ir.series(id).labels, id });
      return out;
    },
    chunks(id: number): ChunkMeta[] {
      return ir.series(id).chunks.map((c) => ({ ref: c.ref, minTime: c.minTime, maxTime: c.maxTime, chunk: cr.chunk(c.ref) }));
    },
    deleted(id: number): readonly Interval[] | null {
      const d = tombs.get(id);
      return d.length > 0 ? d : null;
    },
  };
}

/**
 * A time range [mint, maxt) of the head as a compaction input. Chunk bytes are copied
 * when the source is created, so later head appends and truncation cannot change what
 * a long-running dump reads.
 */
export function headSource(head: Head, mint: number, maxt: number): SeriesSource {
  const hs = headBlockSeries(head, mint, maxt);
  for (const s of hs) {
    for (const c of s.chunks) if (c.chunk) c.chunk = XORChunk.fromBytes(c.chunk.bytes().slice());
  }
  return {
    name: 'head',
    sourceUlids: [],
    level: 0,
    parent: null,
    series: () => hs.map((s, id) => ({ labels: s.labels, id })),
    chunks: (id: number) => (hs[id] as (typeof hs)[number]).chunks,
    // Head tombstones (delete.ts), looked up by labels: the ids here are list positions.
    deleted: (id: number) => {
      if (head.tombstones.size === 0) return null;
      const lset = (hs[id] as (typeof hs)[number]).labels;
      const s = head.series.getByLabels(labelsHash(lset), lset);
      const d = s === undefined ? [] : head.tombstones.get(s.ref);
      return d.length > 0 ? d : null;
    },
  };
}
