/**
 * Cluster mode: ships the leader's head to the file store every few minutes, so a
 * leader that dies loses at most one period of scraped data (regular blocks are only
 * cut every 2 h and shipped every sync period).
 *
 * Each pass writes the whole head [head.minTime, head.maxTime] as one block into a temp
 * dir and uploads it with hints `mm-head-snapshot` and `mm-node:<id>`. Snapshots overlap
 * each other and the regular blocks; dumps merge overlapping blocks, so the overlap costs
 * space, never correctness. After an upload, this node's older snapshots that are
 * covered by newer blocks of the same node (snapshots or regular blocks) are deleted, once
 * those have been in the store for `pruneGraceMs` (a running dump may have listed the old
 * one) — a block of
 * node N holds all of N's data for its range — so the store keeps about one snapshot
 * per node. Snapshots of other nodes (earlier leaders) are never touched: they may be the
 * only copy of what those nodes scraped.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTime } from 'ulid';
import type { FileStore } from '../filestore/filestore.js';
import type { DB } from '../tsdb/db.js';
import { DATA_ROOT, HEAD_SNAPSHOT_HINT, NODE_HINT_PREFIX, blockNode, remoteBlocks, uploadBlock } from './shipper.js';

export interface HeadShipperOptions {
  db: DB;
  store: FileStore;
  periodMs: number;
  nodeId: string;
  /** Where snapshot blocks are staged; default the OS temp dir. */
  workDir?: string;
  /**
   * A superseded snapshot is deleted only once a block covering it has been in the store
   * this long (by its ULID time), so a dump that listed the snapshot can still read it.
   * Default 0 (delete at once). Dumps that outlast it re-plan (src/app).
   */
  pruneGraceMs?: number;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export class HeadShipper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Wall-clock ms of the last successful snapshot upload, and its data max time. */
  lastShipAt = 0;
  lastShippedMaxt = -Infinity;
  snapshots = 0;

  constructor(private readonly opts: HeadShipperOptions) {}

  /** Starts (or restarts, after stop()) the periodic snapshots. */
  start(): void {
    this.stopped = false;
    if (this.timer) return;
    this.timer = setInterval(() => this.enqueue(), this.opts.periodMs);
    this.timer.unref();
  }

  /** Stops the timer and runs one last snapshot (the node's newest data). start() may follow. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.enqueue();
    this.stopped = true;
    await this.running;
  }

  /** One snapshot now, in turn with the periodic ones, whether or not the timer runs. */
  shipNow(): Promise<void> {
    this.running = this.running
      .then(() => this.shipOnce())
      .catch((e: unknown) => this.opts.log?.warn({ err: (e as Error).message }, 'head snapshot upload failed'));
    return this.running.then(() => undefined);
  }

  private enqueue(): void {
    if (this.stopped) return;
    void this.shipNow();
  }

  /** One pass; returns the ULID uploaded, or null when the head had nothing new. */
  async shipOnce(): Promise<string | null> {
    const { db, store, nodeId } = this.opts;
    const h = db.head;
    if (h.isEmpty() || h.maxTime <= this.lastShippedMaxt) return null;
    const parent = this.opts.workDir ?? tmpdir();
    await mkdir(parent, { recursive: true });
    const dir = await mkdtemp(join(parent, 'mm-head-snap-'));
    try {
      const meta = await db.flushHead(dir, h.minTime, h.maxTime);
      if (!meta) return null;
      await uploadBlock(store, join(dir, meta.ulid), meta.ulid, [HEAD_SNAPSHOT_HINT, NODE_HINT_PREFIX + nodeId]);
      this.lastShipAt = Date.now();
      this.lastShippedMaxt = meta.maxTime - 1;
      this.snapshots++;
      await this.prune(meta.ulid);
      return meta.ulid;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Deletes this node's snapshots covered by other blocks of this node that are older than the grace. */
  private async prune(keep: string): Promise<void> {
    const { store, nodeId } = this.opts;
    const grace = this.opts.pruneGraceMs ?? 0;
    const settled = Date.now() - grace;
    const mine = (await remoteBlocks(store)).filter((m) => blockNode(m) === nodeId);
    for (const s of mine) {
      if (s.ulid === keep || !(s.compaction?.hints ?? []).includes(HEAD_SNAPSHOT_HINT)) continue;
      // Covered by the union of this node's newer blocks (typically: the regular block cut
      // from the head since, plus the newest snapshot).
      const newer = mine
        .filter((o) => o.ulid !== s.ulid && (o.ulid === keep || o.ulid > s.ulid) && (grace <= 0 || ulidTime(o.ulid) <= settled))
        .sort((a, b) => a.minTime - b.minTime);
      let reach = s.minTime;
      for (const o of newer) if (o.minTime <= reach && o.maxTime > reach) reach = o.maxTime;
      if (reach < s.maxTime) continue;
      await store.delete(`${DATA_ROOT}/${s.ulid}/meta.json`);
      await store.deletePrefix(`${DATA_ROOT}/${s.ulid}`);
    }
  }
}

/** Creation time (ms) encoded in a ULID; +Infinity when it cannot be read (never counts as settled). */
function ulidTime(u: string): number {
  try {
    return decodeTime(u);
  } catch {
    return Infinity;
  }
}
