/**
 * The database: persisted blocks + the WAL-backed head, in one directory Prometheus
 * 2.42 can open (Prometheus tsdb/db.go).
 *
 * ```
 *  <dir>/lock                 one writer process (head/lockfile.ts)
 *  <dir>/wal/…                WAL segments + checkpoint       ─► replayed into the head at open
 *  <dir>/chunks_head/…        finished head chunks (Prometheus format, head/chunk-disk-mapper.ts)
 *                             ─► attached to their series before the WAL replay (head/mmap-load.ts)
 *  <dir>/<ULID>/…             blocks (meta.json, index, chunks/, tombstones)
 *
 *  openDB ─► lock ─► remove *.tmp-for-creation/-deletion ─► load blocks (drop parents,
 *            deletable) ─► load chunks_head (repair: drop a corrupt file and later ones)
 *            ─► WAL.open (new segment) ─► replay checkpoint + segments (skipping samples
 *            the chunks_head chunks hold)
 *            (repair a torn/corrupt tail, one log line) ─► ready
 *
 *  start() background loop, every compactionIntervalMs and after commits that make the
 *  head compactable (Prometheus db.run + compactc), serialised with every other
 *  maintenance operation:
 *     while head spans > 1.5 × blockRange:
 *         [mint, maxt) = [head.mint, end of its aligned range) ─► wait for appenders below maxt
 *         ─► write block ─► load it ─► head.truncateMemory(maxt)
 *     checkpoint + truncate the WAL (Prometheus truncateWAL rules)
 *     compact blocks (compact/, when enabled) ─► retention: delete whole blocks
 *  close(): stop the loop, flush and close the WAL, release blocks and lock.
 *           No block is cut on close (the WAL holds the head), as Prometheus.
 * ```
 *
 * Every maintenance step runs under one promise-chain mutex (`exclusive`), so a head cut,
 * a snapshot and close never interleave; appenders and queriers never wait for it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Appender, Matcher, Querier } from '../storage/index.js';
import { openBlock, readMetaFile, writeBlock, writeMetaFile, type Block, type BlockMeta } from './block/index.js';
import { compactSources } from './compact/compactor.js';
import { compactionRanges, deletableBlocks, headCompactable, headCutRange, planCompaction, type DeleteReason } from './compact/plan.js';
import { blockSource } from './compact/sources.js';
import { headBlockSeries } from './head/block.js';
import { DEFAULT_BLOCK_RANGE, Head, type HeadStats } from './head/head.js';
import { acquireDirLock, type DirLock } from './head/lockfile.js';
import { replayWAL, type ReplayStats } from './head/replay.js';
import { ChunkDiskMapper, DEFAULT_WRITE_BUFFER_SIZE, MAX_HEAD_CHUNK_FILE_SIZE } from './head/chunk-disk-mapper.js';
import { closeCopySource, finishHeadChunks, loadHeadChunks, type HeadChunksStats } from './head/mmap-load.js';
import { mergeQueriers } from './querier.js';
import { deleteInBlock, deleteInHead, TombstoneFilterQuerier, validateDeleteArgs, withoutDeleted } from './delete.js';
import { newCheckpointFilter } from './record/index.js';
import { checkpoint, DEFAULT_SEGMENT_SIZE, lastCheckpoint, WAL, type WalLogger } from './wal/index.js';

const DAY = 24 * 60 * 60 * 1000;

export const ERR_DB_READ_ONLY = 'MM_ERR_DB_READ_ONLY';
export const ERR_DB_CLOSED = 'MM_ERR_DB_CLOSED';

/** Misuse of a DB (writing to a read-only or closed one). */
export class DBError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'DBError';
  }
}

/** pino-compatible logger (`(obj, msg)` order); the WAL logs through it too. */
export type DBLogger = WalLogger;

/** Writes `level=… component=tsdb msg=…` lines to stderr (Prometheus logfmt style). */
export const stderrDBLogger: DBLogger = {
  info: (obj, msg) => logLine('info', obj, msg),
  warn: (obj, msg) => logLine('warn', obj, msg),
};

function logLine(level: string, obj: Record<string, unknown>, msg: string): void {
  let s = `level=${level} component=tsdb msg=${JSON.stringify(msg)}`;
  for (const k of Object.keys(obj)) s += ` ${k}=${JSON.stringify(obj[k])}`;
  process.stderr.write(s + '\n');
}

export interface DBOptions {
  /** Smallest block range and head chunk range, ms (Prometheus --storage.tsdb.min-block-duration, 2 h). */
  blockRange: number;
  /** Time retention, ms; 0 disables (Prometheus default 15 d). */
  retentionMs: number;
  /** Size retention, bytes (blocks + WAL); 0 disables. */
  maxBytes: number;
  /** Largest compacted block, ms; default min(31 d, retention / 10), as cmd/prometheus. */
  maxBlockDuration: number;
  /** Merge blocks into larger ranges (compact/). */
  compaction: boolean;
  /** Background loop period, ms (Prometheus checks every minute). */
  compactionIntervalMs: number;
  walSegmentSize: number;
  /** Snappy-compress WAL records (default true, as the prometheus binary). */
  walCompression: boolean;
  /** fdatasync before a commit resolves. */
  walSync: boolean;
  /** Reject samples more than this many ms ahead of the head (Prometheus 2.42: no limit). */
  maxFutureMs: number;
  /** Take `<dir>/lock` (default true). */
  lockfile: boolean;
  /** chunks_head write buffer (1 MiB; Prometheus uses 4 MiB, which stays resident once filled) and file size limit (128 MiB); small values for tests. */
  headChunkWriteBufferSize: number;
  headChunkFileSize: number;
  logger: DBLogger;
}

export function defaultDBOptions(): DBOptions {
  const retentionMs = 15 * DAY;
  return {
    blockRange: DEFAULT_BLOCK_RANGE,
    retentionMs,
    maxBytes: 0,
    maxBlockDuration: Math.min(31 * DAY, retentionMs / 10),
    compaction: true,
    compactionIntervalMs: 60_000,
    walSegmentSize: DEFAULT_SEGMENT_SIZE,
    walCompression: true,
    walSync: true,
    maxFutureMs: Infinity,
    lockfile: true,
    headChunkWriteBufferSize: DEFAULT_WRITE_BUFFER_SIZE,
    headChunkFileSize: MAX_HEAD_CHUNK_FILE_SIZE,
    logger: stderrDBLogger,
  };
}

/** Counters for the DB's metrics (Prometheus dbMetrics names in comments). */
export class DBMetrics {
  /** prometheus_tsdb_compactions_total (head cuts + block compactions) and failures. */
  headCuts = 0;
  compactions = 0;
  compactionFailures = 0;
  /** prometheus_tsdb_blocks_loaded */
  blocksLoaded = 0;
  /** prometheus_tsdb_time_retentions_total / size_retentions_total */
  timeRetentions = 0;
  sizeRetentions = 0;
  /** prometheus_tsdb_wal_truncations_total, checkpoint_creations_total */
  walTruncations = 0;
  checkpoints = 0;
  /** prometheus_tsdb_wal_corruptions_total */
  walCorruptions = 0;
  /** Failed loop runs (each followed by a backoff). */
  loopFailures = 0;
}

export interface DBStats {
  head: HeadStats;
  blocks: { count: number; numSeries: number; numSamples: number; numChunks: number; bytes: number; mint: number | null; maxt: number | null };
  replay: ReplayStats | null;
  /** What loading chunks_head at open found (null when there was nothing to load: a read-only open without chunks_head/). */
  headChunks: HeadChunksStats | null;
}

/** A loaded block plus the bookkeeping the DB needs. */
interface LoadedBlock {
  readonly block: Block;
  readonly meta: BlockMeta;
  readonly dir: string;
  /** Bytes on disk (Prometheus Block.Size), for size retention and stats. */
  readonly bytes: number;
}

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** Opens (creating if needed) a writable DB in `dir`. */
export async function openDB(dir: string, opts: Partial<DBOptions> = {}): Promise<DB> {
  const o = { ...defaultDBOptions(), ...opts };
  if (opts.maxBlockDuration === undefined && o.retentionMs > 0) o.maxBlockDuration = Math.min(31 * DAY, o.retentionMs / 10);
  if (!(o.blockRange > 0)) throw new RangeError(`block range must be positive, got ${o.blockRange}`);
  await mkdir(dir, { recursive: true });
  const lock = o.lockfile ? acquireDirLock(dir, (what) => o.logger.warn({ dir }, `took over ${what}`)) : null;
  try {
    await removeTmpDirs(dir, o.logger);
    const db = new DB(dir, o, false, lock);
    await db.init();
    return db;
  } catch (e) {
    lock?.release();
    throw e;
  }
}

/**
 * Opens `dir` read-only, as `promtool tsdb dump` does: no lock, nothing written or
 * deleted; blocks are loaded, the finished chunks in `chunks_head/` are read (a corrupt
 * file and the later ones are skipped, not deleted), and the WAL (checkpoint + segments)
 * is replayed into memory on top of them. A corrupt WAL tail is not repaired: replay
 * stops there and the rest is skipped.
 */
export async function openReadOnly(dir: string, opts: Partial<DBOptions> = {}): Promise<DB> {
  const o = { ...defaultDBOptions(), ...opts, lockfile: false };
  await stat(dir);
  const db = new DB(dir, o, true, null);
  await db.init();
  return db;
}

export class DB {
  readonly dir: string;
  readonly opts: DBOptions;
  readonly readOnly: boolean;
  readonly head: Head;
  readonly metrics: DBMetrics;
  private wal: WAL | null;
  private lock: DirLock | null;
  private loaded: LoadedBlock[];
  private replayStats: ReplayStats | null;
  private headChunksStats: HeadChunksStats | null;
  /** Head series refs removed by gc → WAL segment active then (checkpoints keep their Series records). */
  private readonly deletedRefs: Map<number, number>;
  /** Blocks with every sample deleted that stay (see emptiedRemovable); the planner skips them. */
  private readonly keptEmptied: Set<string>;
  private lastWALTruncation: number;
  private opChain: Promise<unknown>;
  private timer: NodeJS.Timeout | null;
  private loopRunning: Promise<void> | null;
  private started: boolean;
  private backoffMs: number;
  private closed: boolean;

  /** Use `openDB` / `openReadOnly`. */
  constructor(dir: string, opts: DBOptions, readOnly: boolean, lock: DirLock | null) {
    this.dir = dir;
    this.opts = opts;
    this.readOnly = readOnly;
    // A writable DB keeps finished head chunks in chunks_head/ (as Prometheus); a
    // read-only one writes nothing, so its head keeps them in memory: those loaded from
    // chunks_head (read-only, initInner) and those cut during WAL replay.
    const chunkDisk = readOnly ? null : new ChunkDiskMapper(join(dir, 'chunks_head'), { logger: opts.logger, writeBufferSize: opts.headChunkWriteBufferSize, maxFileSize: opts.headChunkFileSize });
    this.head = new Head({ chunkRange: opts.blockRange, wal: null, maxFutureMs: opts.maxFutureMs, chunkDisk });
    this.metrics = new DBMetrics();
    this.wal = null;
    this.lock = lock;
    this.loaded = [];
    this.replayStats = null;
    this.headChunksStats = null;
    this.deletedRefs = new Map();
    this.keptEmptied = new Set();
    this.lastWALTruncation = -Infinity;
    this.opChain = Promise.resolve();
    this.timer = null;
    this.loopRunning = null;
    this.started = false;
    this.backoffMs = 0;
    this.closed = false;
  }

  /** Loads blocks and replays the WAL; called once by the open functions. On failure, releases what it opened. */
  async init(): Promise<void> {
    try {
      await this.initInner();
    } catch (e) {
      for (const b of this.loaded) await b.block.close().catch(() => {});
      this.loaded = [];
      try {
        closeCopySource(this.head.pendingChunks);
        this.head.opts.chunkDisk?.close();
      } catch {
        // already failing; the open error is the one to report
      }
      this.closed = true;
      throw e;
    }
  }

  private async initInner(): Promise<void> {
    await this.reloadBlocks();
    const newest = this.loaded.length > 0 ? Math.max(...this.loaded.map((b) => b.meta.maxTime)) : -Infinity;
    this.head.minValidTime = newest;
    const walDir = join(this.dir, 'wal');
    if (this.readOnly) {
      // chunks_head read as promtool does (its finished chunks may be missing from a
      // truncated WAL), through a read-only mapper: nothing is created, repaired or
      // deleted; the chunks are copied into the in-memory head as their series appear.
      const hc = join(this.dir, 'chunks_head');
      if (existsSync(hc)) {
        const src = new ChunkDiskMapper(hc, { readOnly: true, logger: this.opts.logger });
        this.headChunksStats = loadHeadChunks(this.head, src, this.opts.logger);
      }
      this.replayStats = await this.replay(walDir, Infinity);
      finishHeadChunks(this.head);
      return;
    }
    const disk = this.head.opts.chunkDisk;
    if (disk !== null) this.headChunksStats = loadHeadChunks(this.head, disk, this.opts.logger);
    const wal = await WAL.open(walDir, {
      segmentSize: this.opts.walSegmentSize,
      compress: this.opts.walCompression,
      sync: this.opts.walSync,
      logger: this.opts.logger,
    });
    this.wal = wal;
    try {
      this.replayStats = await this.replay(walDir, wal.activeSegment - 1);
      finishHeadChunks(this.head);
    } catch (e) {
      await wal.close();
      throw e;
    }
    this.head.opts.wal = wal;
    this.head.compactableHook = () => this.kick();
  }

  /**
   * Replays checkpoint + segments ≤ `toSegment`. On corruption, a writable DB repairs
   * the log (cut at the last good record; one warning line from the WAL) and goes on
   * with what was read, as Prometheus does; a read-only one stops there.
   */
  private async replay(walDir: string, toSegment: number): Promise<ReplayStats | null> {
    let cp: { dir: string; index: number } | null;
    try {
      cp = await lastCheckpoint(walDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const fromSegment = cp === null ? 0 : cp.index + 1;
    let stats = replayWAL(this.head, { checkpointDir: cp?.dir ?? null, checkpointIndex: cp?.index ?? null, walDir, fromSegment, toSegment });
    const c = stats.corruption;
    if (c !== null) {
      this.metrics.walCorruptions++;
      if (this.readOnly || this.wal === null) {
        this.opts.logger.warn({ dir: c.dir, segment: c.segment, offset: c.offset, reason: c.reason }, 'wal corrupt: replay stopped there (read-only, not repaired)');
      } else {
        await this.wal.repair(c);
        if (cp !== null && c.dir === cp.dir) {
          // The checkpoint was cut; the WAL segments after it are still whole: read them.
          const more = replayWAL(this.head, { checkpointDir: null, checkpointIndex: null, walDir, fromSegment, toSegment });
          stats = { ...more, checkpoint: stats.checkpoint, records: stats.records + more.records, corruption: c };
        }
      }
    }
    if (stats.unknownRefSamples > 0) this.opts.logger.warn({ samples: stats.unknownRefSamples }, 'wal replay: samples for unknown series dropped');
    return stats;
  }

  // --- reading and writing ---------------------------------------------------------

  /** A new transaction on the head. */
  appender(): Appender {
    if (this.readOnly) throw new DBError(ERR_DB_READ_ONLY, `tsdb ${this.dir} is open read-only`);
    if (this.closed) throw new DBError(ERR_DB_CLOSED, `tsdb ${this.dir} is closed`);
    return this.head.appender();
  }

  /**
   * A querier over [mint, maxt] (ms, inclusive) merging the overlapping blocks (oldest
   * first) and the head. Blocks stay readable until `close()` on the querier, even if
   * retention or compaction deletes them meanwhile.
   */
  querier(mint: number, maxt: number): Querier {
    if (this.closed) throw new DBError(ERR_DB_CLOSED, `tsdb ${this.dir} is closed`);
    const qs: Querier[] = [];
    // Each block querier holds a read reference on its block until closed.
    for (const b of this.loaded) if (b.block.overlapsClosedInterval(mint, maxt)) qs.push(b.block.querier(mint, maxt));
    const h = this.head;
    // Head tombstones (delete.ts) are applied by a wrapper; blocks apply their own.
    if (!h.isEmpty() && h.maxTime >= mint && h.minTime <= maxt) qs.push(h.tombstones.size > 0 ? new TombstoneFilterQuerier(h.querier(mint, maxt), h) : h.querier(mint, maxt));
    return qs.length === 0 ? h.querier(mint, maxt) : mergeQueriers(qs);
  }

  /** Metas of the loaded blocks, oldest first. */
  blocks(): BlockMeta[] {
    return this.loaded.map((b) => b.meta);
  }

  stats(): DBStats {
    let numSeries = 0;
    let numSamples = 0;
    let numChunks = 0;
    let bytes = 0;
    let mint = Infinity;
    let maxt = -Infinity;
    for (const b of this.loaded) {
      numSeries += b.meta.stats.numSeries ?? 0;
      numSamples += b.meta.stats.numSamples ?? 0;
      numChunks += b.meta.stats.numChunks ?? 0;
      bytes += b.bytes;
      mint = Math.min(mint, b.meta.minTime);
      maxt = Math.max(maxt, b.meta.maxTime);
    }
    return {
      head: this.head.stats(),
      blocks: { count: this.loaded.length, numSeries, numSamples, numChunks, bytes, mint: mint === Infinity ? null : mint, maxt: maxt === -Infinity ? null : maxt },
      replay: this.replayStats,
      headChunks: this.headChunksStats,
    };
  }

  // --- maintenance -----------------------------------------------------------------

  /** Runs `fn` after every maintenance operation queued before it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.opChain.then(fn, fn);
    this.opChain = p.catch(() => {});
    return p;
  }

  /** Starts the background loop (head cuts, WAL truncation, compaction, retention). */
  start(): void {
    if (this.readOnly || this.closed || this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops the loop and waits for a run in progress. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.loopRunning !== null) await this.loopRunning;
  }

  /** Called after a commit that made the head compactable: run the loop now. */
  private kick(): void {
    if (!this.started || this.loopRunning !== null || this.backoffMs > 0) return;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (!this.started) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.loopRunning = this.compact()
        .then(
          () => {
            this.backoffMs = 0;
          },
          (e: unknown) => {
            // Exponential backoff 1 s … 1 min, as Prometheus db.run.
            this.metrics.loopFailures++;
            this.backoffMs = Math.min(60_000, Math.max(1000, this.backoffMs * 2));
            this.opts.logger.warn({ err: (e as Error)?.message ?? String(e), retryInMs: this.backoffMs }, 'tsdb maintenance failed');
          },
        )
        .finally(() => {
          this.loopRunning = null;
          this.schedule(this.backoffMs > 0 ? this.backoffMs : this.opts.compactionIntervalMs);
        });
    }, delay);
    this.timer.unref();
  }

  /**
   * One maintenance pass (what the loop runs; callable directly): persist the head while
   * it spans more than 1.5 block ranges, truncate the WAL, compact blocks, apply retention.
   */
  compact(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed || this.readOnly) return;
      const h = this.head;
      const range = this.opts.blockRange;
      let lastMaxt = -Infinity;
      while (headCompactable(h.minTime, h.maxTime, range)) {
        const { mint, maxt } = headCutRange(h.minTime, range);
        await h.waitForAppendersBelow(maxt);
        await this.persistHeadRange(mint, maxt);
        lastMaxt = maxt;
      }
      if (lastMaxt > -Infinity) await this.truncateWAL(lastMaxt);
      if (this.opts.compaction) await this.compactBlocks();
      await this.applyRetention();
    });
  }

  /** Writes [mint, maxt) of the head as a block in the data dir, loads it, truncates the head. */
  private async persistHeadRange(mint: number, maxt: number): Promise<void> {
    const series = withoutDeleted(this.head, headBlockSeries(this.head, mint, maxt, { lazy: true }));
    try {
      const meta = await writeBlock(this.dir, { mint, maxt, series });
      if (meta !== null) {
        await this.addBlock(join(this.dir, meta.ulid));
        this.opts.logger.info({ ulid: meta.ulid, mint, maxt, series: meta.stats.numSeries ?? 0, samples: meta.stats.numSamples ?? 0 }, 'write block');
      }
      this.metrics.headCuts++;
    } catch (e) {
      this.metrics.compactionFailures++;
      throw e;
    }
    const seg = this.wal?.activeSegment ?? 0;
    for (const ref of this.head.truncateMemory(maxt)) this.deletedRefs.set(ref, seg);
  }

  /**
   * Checkpoints and truncates the WAL after the head was truncated at `mint`
   * (Prometheus `Head.truncateWAL`): start a new segment, never take the newest; fold
   * the older two thirds of the segments into a checkpoint keeping series still alive
   * (or recently deleted) and samples ≥ mint; delete those segments and old checkpoints.
   */
  private async truncateWAL(mint: number): Promise<void> {
    const wal = this.wal;
    if (wal === null || mint <= this.lastWALTruncation) return;
    this.lastWALTruncation = mint;
    const { first, last: active } = await wal.segments();
    await wal.nextSegment();
    let last = active - 1; // never the segment that was active
    if (last < 0) return;
    last = first + Math.trunc(((last - first) * 2) / 3);
    if (last <= first) return;
    const head = this.head;
    const deleted = this.deletedRefs;
    const filter = newCheckpointFilter({ keep: (ref) => head.series.getByRef(ref) !== undefined || deleted.has(ref), mint });
    await checkpoint(wal.dir, first, last, filter, mint, { compress: this.opts.walCompression, segmentSize: this.opts.walSegmentSize, logger: this.opts.logger });
    this.metrics.checkpoints++;
    await wal.truncate(last + 1);
    this.metrics.walTruncations++;
    for (const [ref, seg] of deleted) if (seg < first) deleted.delete(ref);
  }

  /**
   * Whether blocks whose every sample was deleted may be removed (delete.ts): only when a
   * remaining block ends at least as late. Otherwise the next open would take a lower
   * minValidTime from the remaining blocks, and the WAL and chunks_head would load the
   * deleted samples into the head again (Prometheus 2.42 has this hole; the delete model
   * test found it in ours). Such a block is kept: its tombstones still hide everything,
   * and retention removes it in time.
   */
  private emptiedRemovable(ulids: readonly string[]): boolean {
    const going = new Set(ulids);
    let goneMax = -Infinity;
    let restMax = -Infinity;
    for (const b of this.loaded) {
      if (going.has(b.meta.ulid)) goneMax = Math.max(goneMax, b.meta.maxTime);
      else restMax = Math.max(restMax, b.meta.maxTime);
    }
    return restMax >= goneMax;
  }

  /**
   * Merges blocks while the planner finds something to do (Prometheus `compactBlocks`):
   * overlapping blocks first, then groups filling a larger range. The result lists its
   * inputs as parents, so a crash between writing it and deleting them heals at the next
   * open. A group with no samples left marks its blocks deletable; a failed compaction
   * marks them failed (the planner then skips them), as Prometheus does.
   */
  private async compactBlocks(): Promise<void> {
    const ranges = compactionRanges(this.opts.blockRange, this.opts.maxBlockDuration);
    for (;;) {
      // A compactable head goes first (it would be cut into a block the plan may want).
      if (headCompactable(this.head.minTime, this.head.maxTime, this.opts.blockRange)) return;
      const plan = planCompaction(this.keptEmptied.size > 0 ? this.blocks().filter((m) => !this.keptEmptied.has(m.ulid)) : this.blocks(), ranges);
      if (plan.length === 0) return;
      const inputs = plan.map((m) => this.loaded.find((b) => b.meta.ulid === m.ulid) as LoadedBlock);
      const mint = Math.min(...plan.map((m) => m.minTime));
      const maxt = Math.max(...plan.map((m) => m.maxTime));
      let res;
      try {
        res = await compactSources(
          inputs.map((b) => blockSource(b.block)),
          this.dir,
          { mint, maxt, recordParents: true, metaRange: 'requested' },
        );
      } catch (e) {
        this.metrics.compactionFailures++;
        for (const b of inputs) await this.rewriteMeta(b, { failed: true });
        throw e;
      }
      this.metrics.compactions++;
      if (res === null) {
        if (!this.emptiedRemovable(plan.map((m) => m.ulid))) {
          for (const m of plan) this.keptEmptied.add(m.ulid);
          continue;
        }
        for (const b of inputs) await this.rewriteMeta(b, { deletable: true });
        await this.deleteBlocks(new Map(plan.map((m) => [m.ulid, 'deletable' as const])));
        continue;
      }
      this.opts.logger.info({ ulid: res.meta.ulid, mint, maxt, sources: plan.map((m) => m.ulid) }, 'compact blocks');
      await this.addBlock(res.dir);
      await this.deleteBlocks(new Map(plan.map((m) => [m.ulid, 'parent' as const])));
    }
  }

  /** Best-effort rewrite of a block's meta.json compaction flags (failed / deletable). */
  private async rewriteMeta(b: LoadedBlock, flags: { failed?: boolean; deletable?: boolean }): Promise<void> {
    try {
      const { meta } = readMetaFile(b.dir);
      await writeMetaFile(b.dir, { ...meta, compaction: { ...meta.compaction, ...flags } });
    } catch (e) {
      this.opts.logger.warn({ block: b.meta.ulid, err: (e as Error)?.message ?? String(e) }, 'could not update meta.json');
    }
  }

  /** Deletes blocks past time/size retention, marked deletable, or superseded (parents). */
  private async applyRetention(): Promise<void> {
    // Head bytes = WAL + chunks_head, as Prometheus's size retention counts them.
    const walBytes = (this.wal !== null ? await dirSize(this.wal.dir) : 0) + (this.head.opts.chunkDisk?.size() ?? 0);
    const sizes = new Map(this.loaded.map((b) => [b.meta.ulid, b.bytes]));
    const del = deletableBlocks(this.blocks(), { retentionMs: this.opts.retentionMs, maxBytes: this.opts.maxBytes, headBytes: walBytes }, sizes);
    if (del.size > 0) await this.deleteBlocks(del);
  }

  // --- blocks on disk --------------------------------------------------------------

  /** Loads every block dir (skipping tmp dirs); drops parents and deletable ones (writable DB). */
  private async reloadBlocks(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const out: LoadedBlock[] = [];
    for (const name of names.sort()) {
      if (!ULID_RE.test(name)) continue;
      const dir = join(this.dir, name);
      try {
        out.push(await this.loadBlock(dir));
      } catch (e) {
        // A block that cannot be opened is reported and left alone (not deleted).
        this.opts.logger.warn({ block: name, err: (e as Error)?.message ?? String(e) }, 'skipping block that cannot be opened');
      }
    }
    out.sort((a, b) => a.meta.minTime - b.meta.minTime || (a.meta.ulid < b.meta.ulid ? -1 : 1));
    this.loaded = out;
    const del = deletableBlocks(this.blocks(), { retentionMs: 0, maxBytes: 0, headBytes: 0 });
    if (del.size > 0) {
      if (this.readOnly) this.loaded = this.loaded.filter((b) => !del.has(b.meta.ulid));
      else await this.deleteBlocks(del);
    }
    this.metrics.blocksLoaded = this.loaded.length;
  }

  private async loadBlock(dir: string): Promise<LoadedBlock> {
    const block = await openBlock(dir);
    return { block, meta: block.meta, dir, bytes: block.size() };
  }

  private async addBlock(dir: string): Promise<void> {
    const b = await this.loadBlock(dir);
    this.loaded = [...this.loaded, b].sort((x, y) => x.meta.minTime - y.meta.minTime);
    this.metrics.blocksLoaded = this.loaded.length;
  }

  /**
   * Deletes blocks atomically: out of the list first (new queriers stop using them),
   * wait for open queriers, rename to `<ULID>.tmp-for-deletion`, remove. Names not
   * loaded (parents listed by a compacted block) are deleted from disk if present.
   */
  private async deleteBlocks(del: ReadonlyMap<string, DeleteReason>): Promise<void> {
    const going = this.loaded.filter((b) => del.has(b.meta.ulid));
    this.loaded = this.loaded.filter((b) => !del.has(b.meta.ulid));
    this.metrics.blocksLoaded = this.loaded.length;
    for (const [ulid, reason] of del) {
      const lb = going.find((b) => b.meta.ulid === ulid);
      if (lb !== undefined) {
        const deadline = Date.now() + 60_000;
        while (lb.block.pendingReaders() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await lb.block.close();
      }
      const dir = join(this.dir, ulid);
      const tmp = dir + '.tmp-for-deletion';
      try {
        await rename(dir, tmp);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      await rm(tmp, { recursive: true, force: true });
      if (reason === 'retention-time') this.metrics.timeRetentions++;
      if (reason === 'retention-size') this.metrics.sizeRetentions++;
      this.opts.logger.info({ ulid, reason }, 'deleting block');
    }
  }

  // --- series deletion (delete.ts) -------------------------------------------------

  /**
   * Deletes the samples in [mint, maxt] (ms, inclusive) of the series matching all
   * `matchers` (Prometheus `DB.Delete`): tombstones in every overlapping block (file +
   * meta.json rewritten durably) and in the head (Tombstones WAL record first). Queries
   * stop returning the samples at once; head cuts, compaction and `cleanTombstones()`
   * drop them from disk. Bad arguments reject with `DeleteError` and change nothing.
   * Returns how many intervals were added to blocks and to the head.
   */
  delete(mint: number, maxt: number, matchers: readonly Matcher[]): Promise<{ blockIntervals: number; headIntervals: number }> {
    if (this.readOnly) return Promise.reject(new DBError(ERR_DB_READ_ONLY, `tsdb ${this.dir} is open read-only`));
    try {
      validateDeleteArgs(mint, maxt, matchers);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.exclusive(async () => {
      if (this.closed) throw new DBError(ERR_DB_CLOSED, `tsdb ${this.dir} is closed`);
      let blockIntervals = 0;
      for (const b of this.loaded) if (b.block.overlapsClosedInterval(mint, maxt)) blockIntervals += await deleteInBlock(b.block, mint, maxt, matchers);
      const headIntervals = await deleteInHead(this.head, mint, maxt, matchers);
      this.opts.logger.info({ mint, maxt, matchers: matchers.map((m) => m.toString()).join(','), blockIntervals, headIntervals }, 'delete series');
      return { blockIntervals, headIntervals };
    });
  }

  /**
   * Rewrites every block that has tombstones without the deleted data (Prometheus
   * `CleanTombstones`): the new block (level 1, own ULID as source, the old one as
   * parent) is written and loaded before the old one is deleted, so a crash at any point
   * leaves either the old block or the new one (a reopen deletes a listed parent). A
   * block whose every sample was deleted is just deleted. Returns the ULIDs replaced.
   */
  cleanTombstones(): Promise<{ replaced: string[]; created: string[] }> {
    if (this.readOnly) return Promise.reject(new DBError(ERR_DB_READ_ONLY, `tsdb ${this.dir} is open read-only`));
    return this.exclusive(async () => {
      if (this.closed) throw new DBError(ERR_DB_CLOSED, `tsdb ${this.dir} is closed`);
      const replaced: string[] = [];
      const created: string[] = [];
      for (const b of [...this.loaded]) {
        if (b.block.tombstones().total() === 0) continue;
        const m = b.meta;
        const res = await compactSources([blockSource(b.block)], this.dir, { mint: m.minTime, maxt: m.maxTime, level: 1, ownSources: true, recordParents: true, metaRange: 'requested' });
        if (res === null) {
          if (!this.emptiedRemovable([m.ulid])) {
            this.keptEmptied.add(m.ulid);
            this.opts.logger.info({ ulid: m.ulid }, 'clean tombstones: every sample deleted; block kept (newest block, it holds the head\'s lower bound)');
            continue;
          }
          await this.rewriteMeta(b, { deletable: true });
          await this.deleteBlocks(new Map([[m.ulid, 'deletable' as const]]));
        } else {
          await this.addBlock(res.dir);
          await this.deleteBlocks(new Map([[m.ulid, 'parent' as const]]));
          created.push(res.meta.ulid);
        }
        replaced.push(m.ulid);
        this.opts.logger.info({ ulid: m.ulid, replacement: res?.meta.ulid ?? null }, 'clean tombstones');
      }
      return { replaced, created };
    });
  }

  // --- snapshots for the dump builder -----------------------------------------------

  /**
   * Writes the head's samples in [mint, maxt] (ms, inclusive) as one block under
   * `destDir` (created if needed; not the data dir), clamped to the data present.
   * Returns its meta, or null when the range holds no samples. Used to include head
   * data that is not yet in a block (dumps), as Prometheus's snapshot `withHead`.
   */
  flushHead(destDir: string, mint: number, maxt: number): Promise<BlockMeta | null> {
    return this.exclusive(async () => {
      const h = this.head;
      if (h.isEmpty()) return null;
      const lo = Math.max(mint, h.minTime);
      const hi = Math.min(maxt, h.maxTime);
      if (lo > hi) return null;
      await mkdir(destDir, { recursive: true });
      return writeBlock(destDir, { mint: lo, maxt: hi + 1, series: withoutDeleted(h, headBlockSeries(h, lo, hi + 1, { lazy: true })) });
    });
  }

  // --- shutdown --------------------------------------------------------------------

  /** Stops the loop, flushes and closes the WAL, closes blocks, releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    await this.exclusive(async () => {
      this.closed = true;
    });
    let first: unknown = null;
    try {
      if (this.wal !== null) await this.wal.close();
    } catch (e) {
      first = e;
    }
    try {
      this.head.opts.chunkDisk?.close();
    } catch (e) {
      first ??= e;
    }
    for (const b of this.loaded) {
      try {
        await b.block.close();
      } catch (e) {
        first ??= e;
      }
    }
    this.lock?.release();
    this.lock = null;
    if (first !== null) throw first;
  }
}

/**
 * Removes `*.tmp-for-creation`, `*.tmp-for-deletion` and legacy `<ULID>.tmp` leftovers
 * (Prometheus removeBestEffortTmpDirs). Also removes Prometheus's memory snapshots
 * (`chunk_snapshot.*`, written only with its memory-snapshot-on-shutdown feature): we do
 * not maintain them, so after our writes they would be stale. (`chunks_head/` is ours
 * too now and is kept: head/chunk-disk-mapper.ts.)
 */
async function removeTmpDirs(dir: string, logger: DBLogger): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith('chunk_snapshot.')) {
      await rm(join(dir, name), { recursive: true, force: true });
      logger.info({ dir: name }, 'removed Prometheus memory snapshot (the WAL holds the same samples)');
      continue;
    }
    const base = name.replace(/\.(tmp-for-creation|tmp-for-deletion|tmp)$/, '');
    if (base === name || !ULID_RE.test(base)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    logger.info({ dir: name }, 'removed leftover temporary block directory');
  }
}

/** Bytes of the files under `dir` (recursive). */
async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}
