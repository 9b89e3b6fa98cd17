/**
 * Wiring: settings → the objects of each role, and their start/stop order.
 *
 *   every node     file store ─ local TSDB ─ block shipper ─ job store ─ job runner (dump
 *                  builder) ─ HTTP API + UI
 *   scraper role   scrape manager (─ periodic head snapshots in a cluster)
 *
 * Single node: both, always. Cluster (ClusterSettings.Enable): the scraper role only while
 * this node holds the leader lock; scraping stops the moment the lock is lost, then the
 * stint's last head snapshot is shipped. The local TSDB stays open on every node (dumps read
 * the unshipped data it holds), and every node ships the blocks it cut. Jobs live in the
 * Mattermost database (opened lazily: a node whose database is away still serves).
 *
 * start order: file store → TSDB → shipper → (cluster DB) → job store → runner → API listen →
 * (cluster: discovery → elector) → scraper role. stop: the reverse, each awaited; the
 * shipper's final sync runs after scraping stopped and before the TSDB closes.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { FileStore } from './filestore/filestore.js';
import { openDB, type DB } from './tsdb/db.js';
import { ScrapeManager, DEFAULT_USER_AGENT, type ScrapeConfig } from './scrape/index.js';
import { Shipper, remoteBlocks, type ShippedMeta } from './dump/shipper.js';
import { TsdbDumpBuilder, type PacketInfo } from './dump/builder.js';
import { newMattermostId } from './dump/metadata.js';
import { openFileJobStore } from './jobs/file-store.js';
import { JobRunner } from './jobs/runner.js';
import { dumpDir } from './jobs/paths.js';
import type { DumpJob, JobStore } from './jobs/types.js';
import { buildServer, loadOrCreateAdminToken, BASE_PATH, type ApiServer, type TargetStatus as ApiTargetStatus, type AuthConfig } from './api/index.js';
import { ClusterDiscovery, LeaderElector, openDb, type ClusterNode, type Db } from './cluster/index.js';
import { LazyDbJobStore } from './app/cluster-job-store.js';
import { jobLeaseMs, leaderTimings, worstCaseTakeoverMs } from './app/cluster-timings.js';
import { ReplanningBuilder } from './app/replanning-builder.js';
import { DedupingJobControl } from './app/job-dedupe.js';
import { createMetricsRegistry } from './app/metrics.js';
import { buildScrapeTargets, type TargetSettings } from './app/targets.js';
import { HeadShipper } from './dump/head-shipper.js';

export const APP_VERSION = '0.1.0';

/** Everything the app needs, resolved (durations in ms). Built by src/config from files, env and flags. */
export interface AppSettings {
  dataDir: string;
  listen: { host: string; port: number };
  auth: { mode: 'static'; token?: string | undefined } | { mode: 'mattermost'; siteURL: string; strictCsrf?: boolean };
  scrape: Omit<ScrapeConfig, 'jobName' | 'metricsPath' | 'scheme' | 'params'>;
  targets: Omit<TargetSettings, 'base' | 'selfUrl'> & { scrapeSelf: boolean };
  tsdb: { retentionMs: number; maxBytes: number };
  shipping: { retentionMs: number; syncPeriodMs: number; cleanupPeriodMs: number };
  /** Opens the file store (local or S3); the app owns and closes it. */
  openFileStore: () => Promise<FileStore>;
  cluster: null | {
    driverName: string;
    dataSource: string;
    clusterName: string;
    nodeId: string;
    discoveryPollMs: number;
    takeoverBoundMs: number;
    headShipPeriodMs: number;
  };
  /** Support-packet identity; serverId is generated and kept in the data dir when not given. */
  packet: { serverId?: string; serverVersion: string; licenseId?: string; customerId?: string };
}

export interface App {
  /** Base URL of the UI/API, e.g. http://127.0.0.1:8075/plugins/com.mattermost.mattermost-plugin-metrics/ */
  readonly url: string;
  /** The static admin token when it was created by this start (print it once), else null. */
  readonly newAdminToken: string | null;
  readonly db: DB;
  isScraper(): boolean;
  stop(): Promise<void>;
}

/** A stable id for support packets, created once per data dir. */
async function serverId(dataDir: string, given?: string): Promise<string> {
  if (given) return given;
  const p = join(dataDir, 'server-id');
  try {
    const s = (await readFile(p, 'utf8')).trim();
    if (/^[a-z0-9]{26}$/.test(s)) return s;
  } catch {
    // first start
  }
  const id = newMattermostId();
  await writeFile(p, id + '\n', { mode: 0o644 });
  return id;
}

function toApiTarget(t: ReturnType<ScrapeManager['targets']>[number], interval: number, timeout: number): ApiTargetStatus {
  return {
    scrape_url: t.scrapeUrl,
    job: t.labels.job ?? t.scrapePool,
    instance: t.labels.instance ?? '',
    labels: t.labels,
    health: t.health,
    last_scrape: t.lastScrape ? Date.parse(t.lastScrape) : 0,
    last_scrape_duration: t.lastScrapeDuration,
    last_samples: t.lastSamples,
    last_error: t.lastError,
    interval: interval / 1000,
    timeout: timeout / 1000,
  };
}

export async function startApp(s: AppSettings, log: Logger): Promise<App> {
  const stack: Array<{ name: string; stop: () => Promise<void> }> = [];
  const stopAll = async (): Promise<void> => {
    for (const { name, stop } of stack.splice(0).reverse()) {
      try {
        await stop();
      } catch (e) {
        log.error({ err: (e as Error).message, component: name }, 'stop failed');
      }
    }
  };
  try {
    await mkdir(s.dataDir, { recursive: true });
    const store = await s.openFileStore();
    stack.push({ name: 'file store', stop: () => store.close() });
    await store.check();
    log.info({ store: store.description }, 'file store ready');

    const db = await openDB(join(s.dataDir, 'tsdb'), {
      retentionMs: s.tsdb.retentionMs,
      maxBytes: s.tsdb.maxBytes,
      logger: { info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m) },
    });
    stack.push({ name: 'tsdb', stop: () => db.close() });
    db.start();
    log.info({ dir: db.dir, head: db.stats().head.numSeries, blocks: db.blocks().length }, 'tsdb open');

    // Block shipping runs on every node: a node ships the blocks it cut itself, whatever its
    // role now (in a cluster, a former leader's blocks would otherwise stay local).
    const nodeId = s.cluster?.nodeId ?? hostname();
    const shipper = new Shipper({
      dbDir: db.dir,
      store,
      retentionMs: s.shipping.retentionMs,
      syncPeriodMs: s.shipping.syncPeriodMs,
      cleanupPeriodMs: s.shipping.cleanupPeriodMs,
      ...(s.cluster ? { nodeId } : {}),
      log,
    });
    shipper.start();
    stack.push({ name: 'shipper', stop: () => shipper.stop() });

    let clusterDb: Db | null = null;
    let jobStore: JobStore;
    const timings = s.cluster ? leaderTimings(s.cluster.takeoverBoundMs) : null;
    if (s.cluster) {
      // A malformed DataSource throws here (DataSourceError, password-free): a config error.
      // An unreachable database is not fatal: the node serves what it can and retries.
      const clusterLog = log.child({ component: 'cluster' });
      clusterDb = openDb(s.cluster.driverName, s.cluster.dataSource, { logger: clusterLog });
      const cdb = clusterDb;
      stack.push({ name: 'cluster db', stop: () => cdb.close() });
      const lazy = new LazyDbJobStore(cdb);
      jobStore = lazy;
      try {
        await lazy.ready();
        log.info({ db: cdb.description }, 'cluster database ready');
      } catch (e) {
        const err = e as Error & { code?: string };
        log.error(
          { err: err.message, code: err.code, db: cdb.description },
          'cluster database unavailable at start: serving the UI, stats and stored dumps; dump jobs and scraping resume when it answers',
        );
      }
    } else {
      jobStore = await openFileJobStore(join(s.dataDir, 'jobs'));
    }
    const js = jobStore;
    stack.push({ name: 'job store', stop: () => js.close() });

    const sid = await serverId(s.dataDir, s.packet.serverId);
    const packetInfo = async (): Promise<PacketInfo> => ({
      serverId: sid,
      serverVersion: s.packet.serverVersion,
      ...(s.packet.licenseId ? { licenseId: s.packet.licenseId } : {}),
      ...(s.packet.customerId ? { customerId: s.packet.customerId } : {}),
    });
    const tsdbBuilder = new TsdbDumpBuilder({ store, db, workDir: join(s.dataDir, 'tmp'), appVersion: APP_VERSION, packetInfo, log });
    // In a cluster the leader replaces head snapshots under running dumps: re-plan those.
    const builder = s.cluster ? new ReplanningBuilder(tsdbBuilder, store, log) : tsdbBuilder;
    const runner = new JobRunner({
      store: jobStore,
      builder,
      deleteArtifacts: (job: DumpJob) => store.deletePrefix(dumpDir(job.id)),
      nodeId,
      logger: log,
      // A job whose node died is taken over once its lease ran out: within the takeover bound.
      ...(s.cluster ? { options: { leaseMs: jobLeaseMs(s.cluster.takeoverBoundMs) } } : {}),
    });
    await runner.start();
    stack.push({ name: 'job runner', stop: () => runner.stop() });

    // --- scraper role -------------------------------------------------------------
    // Single node: always. Cluster: while this node holds the leader lock. Transitions:
    // onLose stops the scrape loops synchronously (no request leaves after it), then the
    // head snapshot of the stint is shipped; a later start waits for that tail.
    let manager: ScrapeManager | null = null;
    let nodes: ClusterNode[] | null = null;
    let elector: LeaderElector | null = null;
    let selfUrl: string | null = null;
    let roleTail: Promise<void> = Promise.resolve();
    let refreshSeq = 0;
    const base: ScrapeConfig = { ...s.scrape, jobName: 'prometheus', metricsPath: '/metrics', scheme: 'http', params: {} };
    // In a cluster every node scrapes a target at the same phase (offsets seeded by the
    // cluster name, not the host), so a new leader continues the old one's sample grid; the
    // User-Agent names the node, so target logs show which node scraped.
    const scrapeOpts = s.cluster
      ? {
          userAgent: `${DEFAULT_USER_AGENT} (node ${nodeId.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 100)})`,
          jitterSeed: createHash('sha256').update(`mm-metrics-cluster:${s.cluster.clusterName}`).digest().readUInt32BE(0),
          // A new leader's first samples must come within the takeover bound: what the
          // election may use of it is worstCaseTakeoverMs, the rest bounds the first scrape.
          firstScrapeWithinMs: Math.max(1000, s.cluster.takeoverBoundMs - worstCaseTakeoverMs(leaderTimings(s.cluster.takeoverBoundMs))),
        }
      : {};
    // A superseded snapshot stays a while for dumps that listed it (they re-plan after that).
    const headShipper = s.cluster
      ? new HeadShipper({ db, store, periodMs: s.cluster.headShipPeriodMs, nodeId, workDir: join(s.dataDir, 'tmp'), pruneGraceMs: Math.max(2 * s.cluster.headShipPeriodMs, 10 * 60_000), log })
      : null;
    if (headShipper) {
      // A node restarted after a crash holds the data it scraped since its last snapshot:
      // ship it now, whatever role it gets.
      if (!db.head.isEmpty()) void headShipper.shipNow();
      stack.push({ name: 'head snapshots', stop: () => headShipper.stop() });
    }
    const refreshTargets = async (): Promise<void> => {
      const m = manager;
      if (!m) return;
      const seq = ++refreshSeq;
      // In a cluster whose node list is not known yet (first poll pending or failing), the
      // local-node fallback would scrape a wrong instance: scrape only ourselves and extras.
      const unknown = s.cluster !== null && nodes === null;
      const ts: TargetSettings = {
        ...s.targets,
        ...(unknown ? { mattermostEnabled: false, nodeExporter: { ...s.targets.nodeExporter, enabled: false }, calls: { ...s.targets.calls, enabled: false } } : {}),
        base,
        selfUrl: s.targets.scrapeSelf ? selfUrl : null,
      };
      const { targets, problems } = await buildScrapeTargets(ts, nodes);
      for (const p of problems) log.warn(p, 'target skipped');
      if (manager === m && seq === refreshSeq) m.setTargets(targets);
    };
    const startScraper = async (): Promise<void> => {
      if (manager) return;
      await roleTail; // the previous stint's last snapshot
      if (manager || (elector !== null && !elector.isLeader())) return;
      const m = new ScrapeManager(db, { logger: log, ...scrapeOpts });
      manager = m;
      await refreshTargets();
      if (manager !== m) return; // lost the role meanwhile; stopScraper stopped m
      m.start();
      headShipper?.start();
      log.info({ targets: m.targets().length }, 'scraper role started');
    };
    const stopScraper = (final: boolean): Promise<void> => {
      const m = manager;
      manager = null;
      if (!m) return roleTail;
      const stopped = m.stop(); // aborts every loop now, synchronously
      roleTail = roleTail.then(async () => {
        await stopped;
        // Scraping has stopped; what this node holds is still worth shipping (after a lost
        // leadership too: the new leader does not have it).
        if (headShipper) await headShipper.stop();
        log.info({ final }, 'scraper role stopped');
      });
      return roleTail;
    };
    stack.push({ name: 'scraper role', stop: () => stopScraper(true) });

    // --- API -----------------------------------------------------------------------
    const registry = createMetricsRegistry({
      scrape: () => manager?.stats() ?? null,
      db: () => db,
      shipper: () => shipper.stats,
      isLeader: () => manager !== null,
      jobs: async () => {
        const out: Record<string, number> = { pending: 0, in_progress: 0, success: 0, error: 0 };
        // The cluster's job store is in the database: while it is away the gauge is left
        // out rather than failing the whole /metrics page.
        let jobs: DumpJob[];
        try {
          jobs = await js.list();
        } catch {
          return {};
        }
        for (const j of jobs) out[j.status] = (out[j.status] ?? 0) + 1;
        return out;
      },
    });
    let statsCache: { at: number; metas: ShippedMeta[] } | null = null;
    const shippedMetas = async (): Promise<ShippedMeta[]> => {
      if (statsCache && Date.now() - statsCache.at < 15_000) return statsCache.metas;
      statsCache = { at: Date.now(), metas: await remoteBlocks(store) };
      return statsCache.metas;
    };
    let auth: AuthConfig;
    let newAdminToken: string | null = null;
    if (s.auth.mode === 'mattermost') auth = { mode: 'mattermost', siteURL: s.auth.siteURL, strictCsrf: s.auth.strictCsrf ?? false };
    else if (s.auth.token) auth = { mode: 'static', token: s.auth.token };
    else {
      const t = await loadOrCreateAdminToken(s.dataDir);
      if (t.created) newAdminToken = t.token;
      auth = { mode: 'static', token: t.token };
    }
    const api: ApiServer = await buildServer({
      jobStore,
      // In a cluster one request sent to several nodes at once makes one job.
      jobs: clusterDb ? new DedupingJobControl(runner, jobStore, clusterDb, log) : runner,
      stats: {
        async stats() {
          // The plugin's numbers over shipped blocks (max of series, sum of samples), widened by
          // local blocks not shipped yet so the range check admits everything a dump can hold.
          const metas = await shippedMetas();
          const all = [...metas, ...db.blocks()];
          const min_t = all.length ? Math.min(...all.map((m) => m.minTime)) : 0;
          const max_t = all.length ? Math.max(...all.map((m) => m.maxTime)) : 0;
          const h = db.stats().head;
          return {
            min_t,
            max_t,
            num_samples: metas.reduce((a, m) => a + (m.stats?.numSamples ?? 0), 0),
            num_series: metas.reduce((a, m) => Math.max(a, m.stats?.numSeries ?? 0), 0),
            num_blocks: metas.length,
            ...(h.mint !== null && h.maxt !== null ? { head: { min_t: h.mint, max_t: h.maxt, num_series: h.numSeries, num_samples: h.numSamples, num_chunks: h.numChunks } } : {}),
          };
        },
      },
      targets: { targets: () => (manager ? manager.targets().map((t) => toApiTarget(t, s.scrape.scrapeInterval, s.scrape.scrapeTimeout)) : []) },
      artifacts: { stat: (k) => store.stat(k), open: (k, r) => store.get(k, r) },
      metrics: { render: () => registry.metrics() },
      ready: () => true,
      auth,
      logger: log,
      // Prometheus's admin delete_series / clean_tombstones act on this node's local TSDB only;
      // blocks already shipped to the file store (cluster mode) are not changed.
      tsdbAdmin: { deleteSeries: (mint, maxt, ms) => db.delete(mint, maxt, ms), cleanTombstones: () => db.cleanTombstones() },
    });
    await api.listen({ host: s.listen.host, port: s.listen.port });
    stack.push({ name: 'api', stop: () => api.close() });
    const addr = api.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : s.listen.port;
    const hostForUrl = s.listen.host.includes(':') ? `[${s.listen.host}]` : s.listen.host;
    const origin = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}`;
    selfUrl = `${origin}/metrics`;

    // --- roles ---------------------------------------------------------------------
    if (s.cluster && clusterDb) {
      const discovery = new ClusterDiscovery(clusterDb, { clusterName: s.cluster.clusterName, pollIntervalMs: s.cluster.discoveryPollMs });
      discovery.onChange((ns: ClusterNode[]) => {
        nodes = ns; // discovery logs the change
        void refreshTargets();
      });
      discovery.start();
      stack.push({ name: 'discovery', stop: () => discovery.stop() });
      const el = new LeaderElector(clusterDb, { name: `mm-metrics-scraper:${s.cluster.clusterName}`, nodeId, ...(timings ?? {}) });
      elector = el;
      el.onAcquire((i) => {
        log.info({ term: i.term, waitedMs: i.waitedMs }, 'acquired scraper role');
        void startScraper().catch((e: unknown) => log.error({ err: (e as Error).message }, 'starting the scraper role failed'));
      });
      el.onLose((i) => {
        log.warn({ term: i.term, reason: i.reason, detail: i.detail }, 'lost scraper role');
        void stopScraper(false).catch((e: unknown) => log.error({ err: (e as Error).message }, 'stopping the scraper role failed'));
      });
      el.start();
      stack.push({ name: 'leader elector', stop: () => el.stop() });
    } else {
      await startScraper();
    }

    return {
      url: `${origin}${BASE_PATH}/`,
      newAdminToken,
      db,
      isScraper: () => manager !== null && (elector === null || elector.isLeader()),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
