/**
 * The dump builder: turns a job's range and filters into `tsdb_dump.tar.gz` in the file
 * store, a directory Prometheus opens as is.
 *
 *   file store blocks overlapping the range ──download──┐
 *   local blocks not shipped yet        ──hard-link──────┤
 *   head data in the range (to the last scrape) ─copy───┴─► compactSources ─► one block
 *        cut to [min_t, max_t] to the millisecond, filtered by instance / selectors / groups
 *   + data/wal/ (empty), metadata.yaml, SHA256SUMS ─► tar.gz streamed into the store
 *
 * Differences from the plugin, on purpose (FACTS §4): blocks straddling either end of the
 * range are included and cut, not dropped or taken whole; unshipped and head data are
 * included, so a dump is fresh up to the last scrape; overlapping blocks (successive
 * leaders in a cluster) are merged; an empty result is an error, not an empty dump.
 */
import { link, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { FileStore } from '../filestore/filestore.js';
import { Matcher, MatchType, parseSelector } from '../storage/index.js';
import { openBlock, type Block, type BlockMeta } from '../tsdb/block/index.js';
import { compactSources, type SeriesSource } from '../tsdb/compact/compactor.js';
import { blockSource, headSource } from '../tsdb/compact/sources.js';
import type { DB } from '../tsdb/db.js';
import type { DumpBuilder, DumpEstimate, DumpResult } from '../jobs/builder.js';
import type { DumpJob, DumpRequest } from '../jobs/types.js';
import { dumpLocation } from '../jobs/paths.js';
import { groupSelectors } from '../jobs/groups.js';
import { uploadTarGz, writeManifest, MANIFEST_NAME, listFiles } from './archive.js';
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
  /** Parent of staging dirs; on the same file system as the TSDB so hard links work. */
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
    const opened: Block[] = [];
    try {
      const srcDir = join(stage, 'src');
      await mkdir(srcDir);
      onProgress(1);

      // 1. Blocks in the file store.
      const remote = (await remoteBlocks(this.opts.store)).filter((m) => overlaps(m, mint, maxt));
      let i = 0;
      for (const m of remote) {
        signal.throwIfAborted();
        const prefix = `${DATA_ROOT}/${m.ulid}`;
        for (const key of await this.opts.store.list(prefix)) {
          const dst = join(srcDir, key.slice(DATA_ROOT.length + 1));
          await mkdir(dirname(dst), { recursive: true });
          await this.opts.store.getFile(key, dst);
        }
        onProgress(1 + Math.round((39 * ++i) / Math.max(1, remote.length)));
      }

      // 2. Local blocks not (fully) shipped, hard-linked so compaction cannot pull them away.
      const sources: SeriesSource[] = [];
      for (const m of remote) opened.push(await openBlock(join(srcDir, m.ulid)));
      if (this.opts.db) {
        const dbDir = this.opts.db.dir;
        for (let attempt = 0; ; attempt++) {
          const local = this.localOnly(remote, mint, maxt);
          const linked: string[] = [];
          try {
            for (const m of local) {
              await linkTree(join(dbDir, m.ulid), join(srcDir, `local-${m.ulid}`));
              linked.push(`local-${m.ulid}`);
            }
            for (const d of linked) opened.push(await openBlock(join(srcDir, d)));
            break;
          } catch (e) {
            // A block was compacted or deleted between listing and linking: list again.
            for (const d of linked) await rm(join(srcDir, d), { recursive: true, force: true });
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw e;
          }
        }
      }
      for (const b of opened) sources.push(blockSource(b));
      // 3. Head data up to the last scrape (copied: later appends cannot change it).
      if (this.opts.db && !this.opts.db.head.isEmpty()) sources.push(headSource(this.opts.db.head, mint, maxt + 1));
      onProgress(40);
      signal.throwIfAborted();

      // 4. One block cut to the range, filtered.
      const dataDir = join(stage, 'out', 'data');
      await mkdir(join(dataDir, 'wal'), { recursive: true });
      const res = await compactSources(sources, dataDir, {
        mint,
        maxt: maxt + 1,
        ...(selectors ? { selectors } : {}),
        level: 1,
        recordParents: false,
        metaRange: 'data',
        onProgress: (f) => onProgress(40 + Math.round(f * 45)),
        signal,
      });
      for (const b of opened.splice(0)) await b.close();
      if (res === null) {
        throw new DumpError('MM_ERR_DUMP_EMPTY', `no samples between ${new Date(mint).toISOString()} and ${new Date(maxt).toISOString()}${selectors ? ' for the chosen instances/series' : ''}`);
      }
      onProgress(85);

      // 5. metadata.yaml + manifest, then the archive.
      const outDir = join(stage, 'out');
      const info = await this.opts.packetInfo();
      const stats = res.meta.stats ?? {};
      await writeFile(
        join(outDir, 'metadata.yaml'),
        renderPacketMetadata({
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
        }),
      );
      await writeManifest(outDir);
      signal.throwIfAborted();
      const location = dumpLocation(job.id);
      const archive = await uploadTarGz(outDir, ['data', 'metadata.yaml', MANIFEST_NAME], this.opts.store, location, signal);
      onProgress(100);
      this.opts.log?.info({ job: job.id, bytes: archive.size, series: stats.numSeries, samples: stats.numSamples }, 'dump built');
      return { location, size: archive.size, sha256: archive.sha256, data_min_t: res.meta.minTime, data_max_t: res.meta.maxTime - 1 };
    } finally {
      for (const b of opened) await b.close().catch(() => {});
      await rm(stage, { recursive: true, force: true });
    }
  }
}

/** Hard-links every file of `from` into `to` (same layout). */
async function linkTree(from: string, to: string): Promise<void> {
  for (const f of await listFiles(from)) {
    const dst = join(to, f);
    await mkdir(join(dst, '..'), { recursive: true });
    await link(join(from, f), dst);
  }
  // listFiles returns nothing for a missing dir; make that an ENOENT like a vanished file.
  if ((await readdir(to).catch(() => null)) === null) {
    const e = new Error(`block ${from} vanished`) as NodeJS.ErrnoException;
    e.code = 'ENOENT';
    throw e;
  }
}
