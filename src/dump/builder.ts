/**
 * The dump builder: turns a job's range and filters into `tsdb_dump.tar.gz` in the file
 * store, a directory Prometheus opens as is.
 *
 *   file store blocks overlapping the range ─hard-link (local store) / download (S3)─┐
 *   local blocks not shipped yet        ──hard-link───────────────────────────────────┤
 *   head data in the range (to the last scrape) ─copy─────────────────────────────────┴─►
 *     assembleDumpBlock (assemble.ts): one block, cut to [min_t, max_t] to the millisecond,
 *     filtered by instance / selectors / groups; whole blocks inside the range have their
 *     chunk files linked, not rewritten
 *       │ chunk segments as soon as they are final            ┌─ index, meta.json, tombstones
 *       ▼                                                      ▼
 *   TarGzWriter (archive.ts) ─ gzip on the thread pool ─► store.put(dump/<id>/tsdb_dump.tar.gz)
 *   + data/wal/ (empty), metadata.yaml, SHA256SUMS (hashes taken while archiving)
 *
 * Memory and scratch disk stay flat as the range grows: inputs are acquired one cluster
 * ahead and released after, chunk metas wait in a spill file, nothing holds all series'
 * chunks (bench/dump/dump.bench.ts measures 1, 5 and 15 days).
 *
 * Differences from the plugin, on purpose (FACTS §4): blocks straddling either end of the
 * range are included and cut, not dropped or taken whole; unshipped and head data are
 * included, so a dump is fresh up to the last scrape; overlapping blocks (successive
 * leaders in a cluster) are merged; an empty result is an error, not an empty dump.
 * On failure or cancellation nothing appears in the store (its writes are atomic).
 */
import { createWriteStream, statSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ulid as newUlid } from 'ulid';
import type { FileStore } from '../filestore/filestore.js';
import { LocalFileStore } from '../filestore/local.js';
import { PrefixedFileStore } from '../filestore/prefixed.js';
import { Matcher, MatchType, parseSelector } from '../storage/index.js';
import { openBlock, type BlockMeta } from '../tsdb/block/index.js';
import { blockSource, headSource } from '../tsdb/compact/sources.js';
import type { DB } from '../tsdb/db.js';
import type { DumpBuilder, DumpEstimate, DumpResult } from '../jobs/builder.js';
import type { DumpJob, DumpRequest } from '../jobs/types.js';
import { dumpLocation } from '../jobs/paths.js';
import { groupSelectors } from '../jobs/groups.js';
import { listFiles, manifestText, MANIFEST_NAME, TarGzWriter } from './archive.js';
import { assembleDumpBlock, type AcquiredInput, type DumpInput } from './assemble.js';
import { renderPacketMetadata } from './metadata.js';
import { DATA_ROOT, remoteBlocks, type ShippedMeta } from './shipper.js';

/** Always kept beside a filtered dump: without them "no data" cannot be told from "target down". */
const SYNTHETIC_SELECTOR = '{__name__=~"up|scrape_.*"}';

/** Typical compressed size of a stored sample in a tar.gz'd block, for estimates before any block exists. */
const DEFAULT_BYTES_PER_SAMPLE = 1.2;

export class DumpError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface PacketInfo {
  serverId: string;
  serverVersion: string;
  licenseId?: string;
  customerId?: string;
}

export interface TsdbDumpBuilderOptions {
  store: FileStore;
  /** The local TSDB when this node has one (scraper role, or single node); null on a pure listener. */
  db: DB | null;
  /**
   * Parent of staging dirs. On the same file system as the TSDB and a local file store,
   * blocks are hard-linked into the dump (no copy); elsewhere they are copied (local
   * blocks) or fetched through the store (store blocks), one cluster ahead.
   */
  workDir: string;
  appVersion: string;
  packetInfo: () => Promise<PacketInfo>;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/** Escapes a literal for use inside an RE2 alternation. */
function reQuote(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The selectors a request stands for, as matcher lists ORed together (each list ANDed).
 * Returns undefined for "everything". Throws DumpError naming the bad selector.
 */
export function requestSelectors(req: DumpRequest): Matcher[][] | undefined {
  const texts = [...(req.matchers ?? []), ...groupSelectors(req.groups ?? [])];
  const lists: Matcher[][] = [];
  texts.forEach((t, i) => {
    try {
      lists.push(parseSelector(t));
    } catch (e) {
      throw new DumpError('MM_ERR_BAD_SELECTOR', `selector ${i + 1} ${JSON.stringify(t)}: ${(e as Error).message}`, { cause: e });
    }
  });
  if (lists.length > 0) lists.push(parseSelector(SYNTHETIC_SELECTOR));
  const inst = req.instances ?? [];
  if (inst.length > 0) {
    const m = new Matcher(MatchType.Regexp, 'instance', inst.map(reQuote).join('|'));
    if (lists.length === 0) lists.push([]);
    for (const l of lists) l.push(m);
  }
  return lists.length > 0 ? lists : undefined;
}

/** [mint, maxt] inclusive overlap of a half-open block [minTime, maxTime). */
function overlaps(m: { minTime: number; maxTime: number }, mint: number, maxt: number): boolean {
  return m.minTime <= maxt && m.maxTime > mint;
}

function overlapFraction(m: { minTime: number; maxTime: number }, mint: number, maxt: number): number {
  const lo = Math.max(m.minTime, mint);
  const hi = Math.min(m.maxTime, maxt + 1);
  const span = m.maxTime - m.minTime;
  return span <= 0 || hi <= lo ? 0 : (hi - lo) / span;
}

export class TsdbDumpBuilder implements DumpBuilder {
  constructor(private readonly opts: TsdbDumpBuilderOptions) {}

  /** Local blocks whose data the store does not fully hold yet (by compaction sources). */
  private localOnly(remote: ShippedMeta[], mint: number, maxt: number): BlockMeta[] {
    const db = this.opts.db;
    if (!db) return [];
    const shipped = new Set<string>();
    for (const r of remote) {
      shipped.add(r.ulid);
      for (const s of r.compaction?.sources ?? []) shipped.add(s);
    }
    return db.blocks().filter((b) => {
      if (!overlaps(b, mint, maxt)) return false;
      const srcs = b.compaction.sources && b.compaction.sources.length > 0 ? b.compaction.sources : [b.ulid];
      return !srcs.every((s) => shipped.has(s));
    });
  }

  async estimate(req: DumpRequest): Promise<DumpEstimate> {
    const { min_t: mint, max_t: maxt } = req;
    const remote = (await remoteBlocks(this.opts.store)).filter((m) => overlaps(m, mint, maxt));
    const local = this.localOnly(remote, mint, maxt);
    let samples = 0;
    let series = 0;
    for (const m of [...remote, ...local]) {
      samples += (m.stats?.numSamples ?? 0) * overlapFraction(m, mint, maxt);
      series = Math.max(series, m.stats?.numSeries ?? 0);
    }
    const db = this.opts.db;
    if (db && !db.head.isEmpty()) {
      const h = db.head;
      const st = db.stats().head;
      const frac = overlapFraction({ minTime: h.minTime, maxTime: h.maxTime + 1 }, mint, maxt);
      samples += st.numSamples * frac;
      if (frac > 0) series = Math.max(series, st.numSeries);
    }
    // Filters shrink the dump roughly in proportion to the series they keep; we cannot
    // know that without reading indexes, so the estimate stays an upper bound.
    return { bytes: Math.round(samples * DEFAULT_BYTES_PER_SAMPLE), blocks: remote.length + local.length, series };
  }

  async build(job: DumpJob, onProgress: (pct: number) => void, signal: AbortSignal): Promise<DumpResult> {
    const { min_t: mint, max_t: maxt } = job;
    const selectors = requestSelectors(job);
    await mkdir(this.opts.workDir, { recursive: true });
    const stage = await mkdtemp(join(this.opts.workDir, `dump-${job.id}-`));
    // Our own abort too: a failing archive stops the assembly and vice versa.
    const inner = new AbortController();
    const sig = anySignal(signal, inner.signal);
    const inputs: DumpInput[] = [];
    let archive: TarGzWriter | null = null;
    let archiving: Promise<void> = Promise.resolve();
    try {
      const srcDir = join(stage, 'src');
      const scratch = join(stage, 'scratch');
      const outData = join(stage, 'out', 'data');
      await mkdir(srcDir);
      await mkdir(scratch);
      await mkdir(outData, { recursive: true });
      // Asked first: a server that cannot say who it is fails the job before any work.
      const info = await this.opts.packetInfo();
      onProgress(1);

      // 1. Blocks in the file store: hard-linked right away from a local store (a
      //    snapshot retention cleanup cannot pull away), else downloaded one cluster ahead.
      const remote = (await remoteBlocks(this.opts.store)).filter((m) => overlaps(m, mint, maxt));
      const localRoot = localPathOf(this.opts.store, DATA_ROOT);
      for (const m of remote) {
        const dst = join(srcDir, m.ulid);
        let linked = false;
        if (localRoot !== null) {
          // Another file system (EXDEV) or a vanished block: fall back to fetching it through the store API.
          linked = await linkTree(join(localRoot, m.ulid), dst).then(
            () => true,
            async () => {
              await rm(dst, { recursive: true, force: true });
              return false;
            },
          );
        }
        inputs.push(linked ? blockInput(m, dst) : this.downloadInput(m, dst, sig));
      }
      // 2. Local blocks not (fully) shipped, hard-linked so compaction cannot pull them away.
      if (this.opts.db) {
        const dbDir = this.opts.db.dir;
        for (let attempt = 0; ; attempt++) {
          const local = this.localOnly(remote, mint, maxt);
          const linked: BlockMeta[] = [];
          try {
            for (const m of local) {
              await linkTree(join(dbDir, m.ulid), join(srcDir, `local-${m.ulid}`), true);
              linked.push(m);
            }
            for (const m of linked) inputs.push(blockInput(m, join(srcDir, `local-${m.ulid}`)));
            break;
          } catch (e) {
            // A block was compacted or deleted between listing and linking: list again.
            for (const m of linked) await rm(join(srcDir, `local-${m.ulid}`), { recursive: true, force: true });
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw e;
          }
        }
        // 3. Head data up to the last scrape (copied now: later appends cannot change it).
        const head = this.opts.db.head;
        if (!head.isEmpty()) {
          const lo = Math.max(mint, head.minTime);
          const hi = Math.min(maxt + 1, head.maxTime + 1);
          if (hi > lo) {
            const src = headSource(head, mint, maxt + 1);
            inputs.push({ name: 'head', minTime: lo, maxTime: hi, weight: this.opts.db.stats().head.numSamples, acquire: async () => ({ block: null, source: src, release: async () => {} }) });
          }
        }
      }
      if (inputs.length === 0) throw emptyError(mint, maxt, selectors);
      sig.throwIfAborted();

      // 4. The archive streams while the block is assembled: chunk segments go in as
      //    soon as they are final, gzip runs on the thread pool meanwhile.
      const ulid = newUlid();
      const blockPath = `data/${ulid}`;
      const location = dumpLocation(job.id);
      const w = new TarGzWriter(this.opts.store, location, { signal: sig });
      archive = w;
      await w.addDirectory('data');
      await w.addDirectory(blockPath);
      await w.addDirectory(`${blockPath}/chunks`);
      // Progress: half for assembling (by input weight), half for compressing what has
      // been assembled so far (gzip usually finishes last); never moves backwards.
      let assembled = 0;
      let placedBytes = 0;
      let archivedBytes = 0;
      let pct = 1;
      const report = () => {
        const zipped = placedBytes > 0 ? (assembled * archivedBytes) / placedBytes : 0;
        const p = 1 + Math.floor(96 * ((assembled + zipped) / 2));
        if (p > pct) onProgress((pct = p));
      };
      const enqueue = (name: string, path: string) => {
        const size = statSync(path).size;
        placedBytes += size;
        archiving = archiving.then(async () => {
          await w.addFile(`${blockPath}/chunks/${name}`, path);
          // Archived: the stage copy is not needed any more (keeps scratch disk flat for S3).
          await rm(path);
          archivedBytes += size;
          report();
        });
        archiving.catch((e: unknown) => inner.abort(e));
      };
      const res = await assembleDumpBlock(inputs, outData, {
        ulid,
        mint,
        maxt: maxt + 1,
        ...(selectors ? { selectors } : {}),
        scratchDir: scratch,
        signal: sig,
        onProgress: (f) => {
          assembled = f;
          report();
        },
        onSegment: enqueue,
      });
      if (res === null) throw emptyError(mint, maxt, selectors);
      assembled = 1;
      report();
      await archiving;

      // 5. The rest of the block, metadata.yaml, and the manifest of everything.
      for (const f of ['index', 'meta.json', 'tombstones']) await w.addFile(`${blockPath}/${f}`, join(res.dir, f));
      await w.addDirectory('data/wal');
      const stats = res.meta.stats ?? {};
      const metadata = renderPacketMetadata({
        generatedAt: Date.now(),
        serverVersion: info.serverVersion,
        serverId: info.serverId,
        ...(info.licenseId !== undefined ? { licenseId: info.licenseId } : {}),
        ...(info.customerId !== undefined ? { customerId: info.customerId } : {}),
        appVersion: this.opts.appVersion,
        requestedMinT: mint,
        requestedMaxT: maxt,
        dataMinT: res.meta.minTime,
        dataMaxT: res.meta.maxTime - 1,
        instances: job.instances ?? [],
        selectors: [...(job.matchers ?? []), ...groupSelectors(job.groups ?? [])],
        blocks: [res.meta.ulid],
        numSeries: stats.numSeries ?? 0,
        numSamples: stats.numSamples ?? 0,
      });
      await w.addBytes('metadata.yaml', Buffer.from(metadata, 'utf8'));
      await w.addBytes(MANIFEST_NAME, Buffer.from(manifestText(w.sums), 'utf8'));
      sig.throwIfAborted();
      if (pct < 98) onProgress((pct = 98));
      const done = await w.finish();
      onProgress(100);
      this.opts.log?.info(
        { job: job.id, bytes: done.size, series: stats.numSeries, samples: stats.numSamples, linkedBlocks: res.linkedClusters, mergedClusters: res.mergedClusters },
        'dump built',
      );
      return { location, size: done.size, sha256: done.sha256, data_min_t: res.meta.minTime, data_max_t: res.meta.maxTime - 1 };
    } catch (e) {
      // Nothing may appear in the store: stop the upload and wait until it has let go.
      inner.abort(e);
      await archiving.catch(() => {});
      await archive?.abort(e as Error);
      throw e;
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }

  /** A store block fetched into `dst` when its cluster comes up (S3, or a store on another file system). */
  private downloadInput(m: ShippedMeta, dst: string, signal: AbortSignal): DumpInput {
    const store = this.opts.store;
    return {
      name: `block ${m.ulid}`,
      minTime: m.minTime,
      maxTime: m.maxTime,
      weight: m.stats?.numSamples ?? 0,
      acquire: async () => {
        const prefix = `${DATA_ROOT}/${m.ulid}`;
        for (const key of await store.list(prefix)) {
          const path = join(dst, key.slice(prefix.length + 1));
          await mkdir(dirname(path), { recursive: true });
          // Scratch copy: no fsync (the stage is deleted after the dump either way).
          signal.throwIfAborted();
          await pipeline(await store.get(key), createWriteStream(path, { flags: 'wx' }), { signal });
        }
        return openInput(dst);
      },
    };
  }
}

function emptyError(mint: number, maxt: number, selectors: Matcher[][] | undefined): DumpError {
  return new DumpError('MM_ERR_DUMP_EMPTY', `no samples between ${new Date(mint).toISOString()} and ${new Date(maxt).toISOString()}${selectors ? ' for the chosen instances/series' : ''}`);
}

/** A block already in the stage at `dir`. */
function blockInput(m: { ulid: string; minTime: number; maxTime: number; stats?: { numSamples?: number } }, dir: string): DumpInput {
  return { name: `block ${m.ulid}`, minTime: m.minTime, maxTime: m.maxTime, weight: m.stats?.numSamples ?? 0, acquire: () => openInput(dir) };
}

/** Opens a staged block; releasing closes it and deletes the staged copy (linked dump segments survive). */
async function openInput(dir: string): Promise<AcquiredInput> {
  const b = await openBlock(dir);
  let released = false;
  return {
    block: b,
    source: blockSource(b),
    release: async () => {
      if (released) return;
      released = true;
      await b.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Path on disk of `key` when the store is a local directory (possibly behind a prefix), else null. */
function localPathOf(store: FileStore, key: string): string | null {
  if (store instanceof LocalFileStore) return join(store.root, key);
  if (store instanceof PrefixedFileStore) return localPathOf(store.inner, `${store.prefix}/${key}`);
  return null;
}

/**
 * Hard-links every file of `from` into `to` (same layout). With `copyAcrossDevices`, a
 * work dir on another file system gets copies instead (EXDEV); without, that fails.
 */
async function linkTree(from: string, to: string, copyAcrossDevices = false): Promise<void> {
  for (const f of await listFiles(from)) {
    const dst = join(to, f);
    await mkdir(join(dst, '..'), { recursive: true });
    try {
      await link(join(from, f), dst);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!copyAcrossDevices || (code !== 'EXDEV' && code !== 'EPERM')) throw e;
      await copyFile(join(from, f), dst);
    }
  }
  // listFiles returns nothing for a missing dir; make that an ENOENT like a vanished file.
  if ((await readdir(to).catch(() => null)) === null) {
    const e = new Error(`block ${from} vanished`) as NodeJS.ErrnoException;
    e.code = 'ENOENT';
    throw e;
  }
}

/** `AbortSignal.any` (Node ≥ 20.3) with a fallback for older 20.x. */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const c = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) c.abort(s.reason);
    else s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}
