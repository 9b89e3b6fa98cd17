/**
 * Pure planning over block metas, separated from I/O so it can be table-tested
 * (Prometheus splits `LeveledCompactor.Plan(dir)` from `plan(metas)` the same way):
 *
 *   - which blocks to compact next (`planCompaction`, tsdb/compact.go `plan`,
 *     `selectOverlappingDirs`, `selectDirs`, `splitByRange`);
 *   - which blocks to delete (`deletableBlocks`: marked deletable, parents of another
 *     block, beyond time retention, beyond size retention; tsdb/db.go);
 *   - the block ranges (`exponentialBlockRanges`) and the range a head cut writes
 *     (`headCutRange`, tsdb/db.go `Compact` + tsdb/head.go `compactable`).
 *
 * Nothing here touches the file system or the clock.
 */
import { rangeForTimestamp } from '../chunkenc/cut.js';

/** The part of a block's meta.json the planner reads (structurally matches BlockMeta). */
export interface PlanMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats?: { numSeries?: number; numTombstones?: number } | undefined;
  compaction: {
    level: number;
    deletable?: boolean | undefined;
    failed?: boolean | undefined;
    parents?: readonly { ulid: string }[] | undefined;
  };
}

/**
 * Prometheus `ExponentialBlockRanges(minSize, steps, stepSize)`: minSize, ×stepSize, …
 * The binary uses (2h, 10, 3) truncated to ranges ≤ the max block duration.
 */
export function exponentialBlockRanges(minSize: number, steps: number, stepSize: number): number[] {
  const out: number[] = [];
  let cur = minSize;
  for (let i = 0; i < steps; i++) {
    out.push(cur);
    cur *= stepSize;
  }
  return out;
}

/**
 * Compaction ranges the way cmd/prometheus derives them: exponential from `blockRange`,
 * keeping only ranges ≤ `maxBlockDuration` (default min(31 d, retention / 10)).
 */
export function compactionRanges(blockRange: number, maxBlockDuration: number): number[] {
  const r = exponentialBlockRanges(blockRange, 10, 3).filter((x) => x <= maxBlockDuration);
  return r.length === 0 ? [blockRange] : r;
}

/**
 * Whether the head should be persisted (Prometheus `Head.compactable`): it spans more
 * than 1.5 chunk ranges. Times are the head's oldest and newest sample.
 */
export function headCompactable(headMint: number, headMaxt: number, chunkRange: number): boolean {
  if (headMint === Infinity || headMaxt === -Infinity) return false;
  return headMaxt - headMint > (chunkRange / 2) * 3;
}

/**
 * The block a head cut writes: [headMint, end of the chunk range holding headMint).
 * Half-open, as meta.json's maxTime. The first block after start may begin unaligned.
 */
export function headCutRange(headMint: number, chunkRange: number): { mint: number; maxt: number } {
  return { mint: headMint, maxt: rangeForTimestamp(headMint, chunkRange) };
}

/** Go's "floor toward -inf for negatives" aligned window start used by splitByRange. */
function alignedStart(t: number, tr: number): number {
  return t >= 0 ? tr * Math.trunc(t / tr) : tr * Math.trunc((t - tr + 1) / tr);
}

/** Groups time-sorted metas into aligned windows of size `tr`; blocks crossing a window edge are skipped. */
export function splitByRange<M extends PlanMeta>(ds: readonly M[], tr: number): M[][] {
  const out: M[][] = [];
  for (let i = 0; i < ds.length; ) {
    const m = ds[i] as M;
    const t0 = alignedStart(m.minTime, tr);
    if (m.maxTime > t0 + tr) {
      i++;
      continue;
    }
    const group: M[] = [];
    for (; i < ds.length; i++) {
      if ((ds[i] as M).maxTime > t0 + tr) break;
      group.push(ds[i] as M);
    }
    if (group.length > 0) out.push(group);
  }
  return out;
}

/** The first run of time-overlapping blocks (input sorted by minTime), or []. */
export function selectOverlapping<M extends PlanMeta>(ds: readonly M[]): M[] {
  if (ds.length < 2) return [];
  const out: M[] = [];
  let globalMaxt = (ds[0] as M).maxTime;
  for (let i = 1; i < ds.length; i++) {
    const d = ds[i] as M;
    if (d.minTime < globalMaxt) {
      if (out.length === 0) out.push(ds[i - 1] as M);
      out.push(d);
    } else if (out.length > 0) {
      break;
    }
    if (d.maxTime > globalMaxt) globalMaxt = d.maxTime;
  }
  return out;
}

/** Prometheus `selectDirs`: the first group of ≥ 2 blocks that fills a larger range or lies before the newest block. */
export function selectDirs<M extends PlanMeta>(ds: readonly M[], ranges: readonly number[]): M[] {
  if (ranges.length < 2 || ds.length < 1) return [];
  const highTime = (ds[ds.length - 1] as M).minTime;
  for (const iv of ranges.slice(1)) {
    const parts = splitByRange(ds, iv);
    outer: for (const p of parts) {
      for (const d of p) if (d.compaction.failed === true) continue outer;
      const mint = (p[0] as M).minTime;
      const maxt = (p[p.length - 1] as M).maxTime;
      if ((maxt - mint === iv || maxt <= highTime) && p.length > 1) return p;
    }
  }
  return [];
}

/**
 * The blocks to compact together next, or [] (Prometheus `LeveledCompactor.plan`):
 * overlapping blocks first (vertical compaction), then a group filling a larger range
 * (never including the newest block), then a single block with > 5 % tombstones.
 */
export function planCompaction<M extends PlanMeta>(metas: readonly M[], ranges: readonly number[]): M[] {
  const dms = metas.slice().sort((a, b) => a.minTime - b.minTime);
  const overlapping = selectOverlapping(dms);
  if (overlapping.length > 0) return overlapping;
  // Leave the newest block alone: a full block-size window to back it up piece-wise.
  const rest = dms.slice(0, dms.length - 1);
  const sel = selectDirs(rest, ranges);
  if (sel.length > 0) return sel;
  const mid = ranges[Math.floor(ranges.length / 2)] ?? 0;
  for (let i = rest.length - 1; i >= 0; i--) {
    const m = rest[i] as M;
    const nt = m.stats?.numTombstones ?? 0;
    const ns = m.stats?.numSeries ?? 0;
    if (m.maxTime - m.minTime < mid) {
      // An entirely deleted block is worth rewriting whatever its size.
      if (nt > 0 && nt >= ns) return [m];
      break;
    }
    if (nt / (ns + 1) > 0.05) return [m];
  }
  return [];
}

/** Why a block is deleted; for logs and metrics. */
export type DeleteReason = 'deletable' | 'parent' | 'retention-time' | 'retention-size';

export interface RetentionOptions {
  /** Time retention in ms; 0 disables. Relative to the newest block's maxTime (Prometheus). */
  retentionMs: number;
  /** Size retention in bytes; 0 disables. */
  maxBytes: number;
  /** Bytes the head holds on disk (WAL), counted first against `maxBytes`. */
  headBytes: number;
}

/**
 * Blocks to delete and why (Prometheus `deletableBlocks` + the parents rule of
 * `reloadBlocks`). `sizes` gives each block's bytes on disk (for size retention).
 * Parents named by a loaded block are returned even when not loaded themselves, so a
 * crash between writing a compacted block and deleting its inputs heals on restart.
 */
export function deletableBlocks<M extends PlanMeta>(
  metas: readonly M[],
  opts: RetentionOptions,
  sizes: ReadonlyMap<string, number> = new Map(),
): Map<string, DeleteReason> {
  const out = new Map<string, DeleteReason>();
  for (const m of metas) for (const p of m.compaction.parents ?? []) out.set(p.ulid, 'parent');
  // Newest first by maxTime, so retention removes the oldest.
  const blocks = metas.filter((m) => !out.has(m.ulid)).sort((a, b) => b.maxTime - a.maxTime);
  for (const b of blocks) if (b.compaction.deletable === true && !out.has(b.ulid)) out.set(b.ulid, 'deletable');
  if (opts.retentionMs > 0 && blocks.length > 0) {
    const newest = (blocks[0] as M).maxTime;
    for (let i = 1; i < blocks.length; i++) {
      if (newest - (blocks[i] as M).maxTime > opts.retentionMs) {
        for (const b of blocks.slice(i)) if (!out.has(b.ulid)) out.set(b.ulid, 'retention-time');
        break;
      }
    }
  }
  if (opts.maxBytes > 0 && blocks.length > 0) {
    let total = opts.headBytes;
    for (let i = 0; i < blocks.length; i++) {
      total += sizes.get((blocks[i] as M).ulid) ?? 0;
      if (total > opts.maxBytes) {
        for (const b of blocks.slice(i)) if (!out.has(b.ulid)) out.set(b.ulid, 'retention-size');
        break;
      }
    }
  }
  return out;
}
