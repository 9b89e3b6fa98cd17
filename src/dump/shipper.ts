/**
 * Ships finished TSDB blocks to the file store and prunes old ones, in the Mattermost
 * plugin's layout (`plugin-data/mattermost-plugin-metrics/data/<ULID>/…`), so the
 * plugin and this service can share a store.
 *
 * Upload order per block: chunks/*, tombstones, index, then meta.json LAST, so a block
 * without meta.json in the store means "not (fully) uploaded" and is uploaded again on
 * the next sync — the plugin instead skipped any block whose folder existed, which made a
 * half-uploaded block permanent (FACTS §4). Uploads read from a hard-linked snapshot of
 * the block so a compaction deleting the block mid-upload cannot tear it.
 *
 * The "already shipped" knowledge is only a cache: every sync re-lists the store.
 */
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FileStore } from '../filestore/filestore.js';
import { marshalMeta, parseMeta as parseBlockMeta } from '../tsdb/block/meta.js';
import { listFiles } from './archive.js';

export const DATA_ROOT = 'plugin-data/mattermost-plugin-metrics/data';

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** The fields of meta.json the shipper and dump builder need. */
export interface ShippedMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats?: { numSamples?: number; numSeries?: number; numChunks?: number };
  compaction?: { level?: number; sources?: string[]; hints?: string[] };
  version: number;
}

export function isUlid(name: string): boolean {
  return ULID_RE.test(name);
}

export function parseMeta(text: string, where: string): ShippedMeta {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: meta.json is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const o = m as ShippedMeta;
  if (typeof o !== 'object' || o === null || typeof o.ulid !== 'string' || typeof o.minTime !== 'number' || typeof o.maxTime !== 'number') {
    throw new Error(`${where}: meta.json lacks ulid/minTime/maxTime`);
  }
  if (o.version !== 1) throw new Error(`${where}: meta.json version ${String(o.version)} (want 1)`);
  return o;
}

/** Local block directories (ULID-named, with a readable version-1 meta.json). */
export async function localBlocks(dbDir: string): Promise<ShippedMeta[]> {
  const out: ShippedMeta[] = [];
  let names: string[];
  try {
    names = await readdir(dbDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  for (const n of names) {
    if (!isUlid(n)) continue;
    try {
      const meta = parseMeta(await readFile(join(dbDir, n, 'meta.json'), 'utf8'), join(dbDir, n));
      if (meta.ulid === n) out.push(meta);
    } catch {
      // A block without a readable meta.json is being written or deleted: not finished.
    }
  }
  return out.sort((a, b) => a.minTime - b.minTime);
}

async function readStoreText(store: FileStore, key: string): Promise<string> {
  const s = await store.get(key);
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts).toString('utf8');
}

/** Blocks in the store with a complete upload (meta.json present). */
export async function remoteBlocks(store: FileStore): Promise<ShippedMeta[]> {
  const out: ShippedMeta[] = [];
  for (const dir of await store.listDirs(DATA_ROOT)) {
    const ulid = dir.slice(DATA_ROOT.length + 1);
    if (!isUlid(ulid)) continue;
    const key = `${dir}/meta.json`;
    if (!(await store.exists(key))) continue;
    try {
      out.push(parseMeta(await readStoreText(store, key), key));
    } catch {
      // Unreadable meta: treated as not uploaded (it is re-uploaded if we have it locally).
    }
  }
  return out.sort((a, b) => a.minTime - b.minTime);
}

/** Hint naming the node whose data a shipped block holds (cluster mode); Prometheus ignores unknown hints. */
export const NODE_HINT_PREFIX = 'mm-node:';
/** Hint on a block that is a snapshot of a head (cluster mode, shipped every few minutes). */
export const HEAD_SNAPSHOT_HINT = 'mm-head-snapshot';

export function blockNode(m: ShippedMeta): string | null {
  for (const h of m.compaction?.hints ?? []) if (h.startsWith(NODE_HINT_PREFIX)) return h.slice(NODE_HINT_PREFIX.length);
  return null;
}

/**
 * Uploads one block directory, meta.json last. Returns the bytes uploaded. With `hints`,
 * the uploaded meta.json carries them in compaction.hints (the local file is unchanged).
 */
export async function uploadBlock(store: FileStore, blockDir: string, ulid: string, hints: readonly string[] = []): Promise<number> {
  // Hard-link snapshot: the block may be compacted away while we upload.
  const snap = await mkdtemp(join(tmpdir(), `mm-ship-${ulid}-`));
  let bytes = 0;
  try {
    const files = await listFiles(blockDir);
    for (const f of files) {
      await mkdir(dirname(join(snap, f)), { recursive: true });
      try {
        await link(join(blockDir, f), join(snap, f));
      } catch (e) {
        // Another filesystem (EXDEV) or no hard links: copy instead.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM') throw e;
        await copyFile(join(blockDir, f), join(snap, f));
      }
    }
    if (hints.length > 0) {
      const metaPath = join(snap, 'meta.json');
      const meta = parseBlockMeta(await readFile(metaPath, 'utf8'), metaPath);
      meta.compaction.hints = [...new Set([...(meta.compaction.hints ?? []), ...hints])];
      await rm(metaPath); // a hard link: replace, never write through to the local block
      await writeFile(metaPath, marshalMeta(meta));
    }
    const rank = (f: string) => (f === 'meta.json' ? 3 : f === 'index' ? 2 : f === 'tombstones' ? 1 : 0);
    files.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    for (const f of files) {
      bytes += (await stat(join(snap, f))).size;
      await store.putFile(`${DATA_ROOT}/${ulid}/${f}`, join(snap, f));
    }
  } finally {
    await rm(snap, { recursive: true, force: true });
  }
  return bytes;
}

export interface ShipperOptions {
  /** Local TSDB directory holding `<ULID>/` blocks. */
  dbDir: string;
  store: FileStore;
  /** Remote retention (ms): blocks whose maxTime is older than now − this are removed. Plugin default 15 d. */
  retentionMs: number;
  /** Sync period (ms). Plugin default 60 min. */
  syncPeriodMs: number;
  /** Cleanup period (ms). Plugin default 120 min. */
  cleanupPeriodMs: number;
  now?: () => number;
  /** Cluster mode: this node's id, recorded as a hint in every shipped block's meta.json. */
  nodeId?: string;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface ShipperStats {
  lastSync: number;
  lastSyncError: string;
  uploadedBlocks: number;
  uploadedBytes: number;
  removedBlocks: number;
}

/**
 * Owns the sync and cleanup loops. `start()` schedules them (first run one period after
 * start, as the plugin, plus an immediate sync so a restart ships what it has);
 * `stop()` waits for a running pass, then runs the final sync.
 */
export class Shipper {
  private readonly opts: Required<Omit<ShipperOptions, 'log' | 'nodeId'>> & Pick<ShipperOptions, 'log' | 'nodeId'>;
  private syncTimer: NodeJS.Timeout | null = null;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  readonly stats: ShipperStats = { lastSync: 0, lastSyncError: '', uploadedBlocks: 0, uploadedBytes: 0, removedBlocks: 0 };

  constructor(opts: ShipperOptions) {
    this.opts = { now: Date.now, ...opts };
  }

  start(): void {
    this.stopped = false;
    this.enqueue(() => this.sync());
    this.syncTimer = setInterval(() => this.enqueue(() => this.sync()), this.opts.syncPeriodMs);
    this.cleanupTimer = setInterval(() => this.enqueue(() => this.cleanup()), this.opts.cleanupPeriodMs);
    this.syncTimer.unref();
    this.cleanupTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.syncTimer = this.cleanupTimer = null;
    this.enqueue(() => this.sync());
    this.stopped = true;
    await this.running;
  }

  /** Runs passes one at a time; a failing pass is logged and does not stop the loop. */
  private enqueue(fn: () => Promise<unknown>): Promise<unknown> {
    if (this.stopped) return this.running;
    this.running = this.running.then(fn).catch((e: unknown) => {
      this.stats.lastSyncError = (e as Error).message;
      this.opts.log?.warn({ err: (e as Error).message }, 'file store sync failed');
    });
    return this.running;
  }

  /** Uploads local finished blocks within retention that the store lacks. Returns the ULIDs uploaded. */
  async sync(): Promise<string[]> {
    const { store, dbDir, retentionMs } = this.opts;
    const now = this.opts.now();
    // A local block compacted from blocks already shipped holds nothing new: its
    // compaction sources are all in the store, so it is not uploaded again.
    const remote = new Set<string>();
    for (const m of await remoteBlocks(store)) {
      remote.add(m.ulid);
      for (const s of m.compaction?.sources ?? []) remote.add(s);
    }
    const uploaded: string[] = [];
    for (const meta of await localBlocks(dbDir)) {
      if (meta.maxTime <= now - retentionMs || remote.has(meta.ulid)) continue;
      const srcs = meta.compaction?.sources ?? [];
      if (srcs.length > 0 && srcs.every((s) => remote.has(s))) continue;
      try {
        const n = await uploadBlock(store, join(dbDir, meta.ulid), meta.ulid, this.opts.nodeId ? [NODE_HINT_PREFIX + this.opts.nodeId] : []);
        uploaded.push(meta.ulid);
        this.stats.uploadedBlocks++;
        this.stats.uploadedBytes += n;
        this.opts.log?.info({ block: meta.ulid, bytes: n }, 'block shipped to file store');
      } catch (e) {
        // The block may have been compacted away between listing and linking: skip it.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
    }
    this.stats.lastSync = now;
    this.stats.lastSyncError = '';
    return uploaded;
  }

  /** Removes blocks past retention from the store. Returns the ULIDs removed. */
  async cleanup(): Promise<string[]> {
    const { store, retentionMs } = this.opts;
    const cutoff = this.opts.now() - retentionMs;
    const removed: string[] = [];
    for (const meta of await remoteBlocks(store)) {
      if (meta.maxTime < cutoff) {
        // meta.json first, so an interrupted removal leaves "not uploaded", never a torn block.
        await store.delete(`${DATA_ROOT}/${meta.ulid}/meta.json`);
        await store.deletePrefix(`${DATA_ROOT}/${meta.ulid}`);
        removed.push(meta.ulid);
        this.stats.removedBlocks++;
      }
    }
    return removed;
  }
}
