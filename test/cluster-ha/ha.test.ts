/**
 * Issue 5, high availability, end to end on the real components: three `mm-metrics run`
 * processes per database (a private PostgreSQL cluster and a private MariaDB server, so the
 * suite may crash and restart them), each behind its own cuttable TCP link to the database;
 * fake Mattermost nodes on 127.0.0.2… (the metrics listener, Calls and a node exporter on the
 * ports all nodes share) registered through ClusterDiscovery rows the test inserts, ages and
 * removes; one shared file store (s3rver for PostgreSQL, a local directory for MariaDB).
 *
 * The scenarios run in order on one cluster per database: topology changes, leader kill -9,
 * a leader cut from the database, a database crash, dumps after the failovers, concurrent
 * job requests and a job left by a dead node. Figures (takeover times, data gaps, closest
 * handover) are printed as `FIGURE` lines and asserted against the configured bounds.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { Db } from '../../src/cluster/db.js';
import { openFileStore, type FileStore } from '../../src/filestore/index.js';
import { blockNode, remoteBlocks } from '../../src/dump/shipper.js';
import { startS3rver, type TestS3Server } from '../filestore/s3rver-server.js';
import { startPrometheus } from '../support/prometheus.js';
import {
  FakeNode,
  MmProc,
  TcpProxy,
  commonFreePort,
  createClusterDiscovery,
  newMmId,
  pingNode,
  registerNode,
  scraperConcurrency,
  sleep,
  privateMariaDBAvailable,
  privatePostgresAvailable,
  startHaMariaDB,
  startHaPostgres,
  waitFor,
  type HaDatabase,
} from './harness.js';

const run = promisify(execFile);

// Timings of the test cluster (the product defaults are 60s / 60s / 30s / 5m). MM_SOAK=1
// runs the same scenarios with the product's default takeover bound (30 s).
const INTERVAL_MS = 1000;
const POLL_MS = 2000;
const TAKEOVER_MS = process.env.MM_SOAK ? 30_000 : 10_000;
const HEAD_SHIP_MS = 3000;
const CLUSTER = 'ha-test';
const TOKEN = 'ha-admin-token-0123456789abcdef';

interface Case {
  name: string;
  start: () => Promise<HaDatabase>;
  available: boolean;
  store: 's3' | 'local';
}

const CASES: Array<[string, Case]> = [
  ['PostgreSQL with an S3 file store', { name: 'pg', start: startHaPostgres, available: privatePostgresAvailable(), store: 's3' }],
  ['MariaDB with a local-directory file store', { name: 'my', start: startHaMariaDB, available: privateMariaDBAvailable(), store: 'local' }],
];
for (const [title, c] of CASES) if (!c.available) process.stderr.write(`test/cluster-ha: skipping "${title}": private database servers need root and the server binaries\n`);

function figure(name: string, value: number, unit: string): void {
  process.stdout.write(`FIGURE ${name}: ${Math.round(value)} ${unit}\n`);
}

describe.each(CASES)('high availability on %s', (_title, c) => {
  if (!c.available) {
    test.skip('needs root and the database server binaries', () => {});
    return;
  }
  let dir: string;
  let db: HaDatabase;
  let sql: Db;
  let s3: TestS3Server | null = null;
  const proxies: TcpProxy[] = [];
  const fakes = new Map<string, FakeNode>();
  const procs: MmProc[] = [];
  let metricsPort = 0;
  let nodePort = 0;
  /** Leader samples over the run: more than one leader at one instant is a split brain. */
  const leaderSamples: Array<{ t: number; leaders: string[] }> = [];
  let sampling = true;
  let sampler: Promise<void> = Promise.resolve();

  const instance = (ip: string, port = metricsPort): string => `${ip}:${port}`;
  const byName = (n: string): MmProc => procs.find((p) => p.name === n)!;

  /** The node whose scraper role is running now, by the processes' own gauges (exactly one). */
  async function currentLeader(timeoutMs = TAKEOVER_MS + 10_000, not: string[] = []): Promise<MmProc> {
    return waitFor(
      'exactly one leader',
      async () => {
        const g = await Promise.all(procs.map(async (p) => ((await p.leaderGauge()) === 1 ? p : null)));
        const ls = g.filter((p): p is MmProc => p !== null);
        return ls.length === 1 && !not.includes(ls[0]!.name) ? ls[0]! : null;
      },
      timeoutMs,
      200,
    );
  }

  /** First scrape of `ip`'s metrics by someone other than `notBy`, after `after`. */
  async function firstScrapeAfter(ip: string, after: number, notBy: string[], timeoutMs: number): Promise<{ t: number; by: string }> {
    return waitFor(`a scrape of ${ip} after ${new Date(after).toISOString()} by another node`, () => fakes.get(ip)!.log.find((r) => r.what === 'metrics' && r.t > after && !notBy.includes(r.by)), timeoutMs, 50);
  }

  function lastScrapeBy(ip: string, by: string, before = Infinity): number {
    const l = fakes.get(ip)!.log.filter((r) => r.what === 'metrics' && r.by === by && r.t < before);
    return l.length ? l[l.length - 1]!.t : 0;
  }

  async function writeConfig(name: string, dbPort: number, o: { dataSource?: string; clusterName?: string; dataDir?: string } = {}): Promise<string> {
    const fileStore =
      c.store === 's3'
        ? { driver: 's3', s3: { bucket: 'ha', endpoint: s3!.endpoint, ssl: false, region: 'us-east-1', accessKeyId: s3!.accessKeyId, secretAccessKey: 'ha-s3-secret-never-logged' } }
        : { driver: 'local', directory: join(dir, 'shared-store') };
    const cfg = {
      scrape: { interval: `${INTERVAL_MS / 1000}s`, timeout: `${INTERVAL_MS / 1000}s` },
      targets: {
        mattermost: { metricsListenAddress: `:${metricsPort}` },
        nodeExporter: { enabled: true, port: nodePort },
        calls: { enabled: true },
      },
      storage: { dataDir: o.dataDir ?? join(dir, name), syncPeriod: '10s' },
      server: { listenAddress: '127.0.0.1:0', adminToken: TOKEN },
      fileStore,
      cluster: {
        enable: true,
        clusterName: o.clusterName ?? CLUSTER,
        nodeId: name,
        database: { driver: db.driver, dataSource: o.dataSource ?? db.dsn(dbPort) },
        discoveryPollInterval: `${POLL_MS / 1000}s`,
        leaderTakeover: `${TAKEOVER_MS / 1000}s`,
        headShipPeriod: `${HEAD_SHIP_MS / 1000}s`,
      },
      log: { level: 'info' },
    };
    const p = join(dir, `${name}.yaml`);
    await writeFile(p, stringify(cfg));
    return p;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `mm-ha-${c.name}-`));
    const ips = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const [database, s3server] = await Promise.all([c.start(), c.store === 's3' ? startS3rver(['ha']) : Promise.resolve(null)]);
    db = database;
    s3 = s3server;
    sql = db.open();
    await createClusterDiscovery(sql);
    metricsPort = await commonFreePort(ips);
    nodePort = await commonFreePort(ips, [metricsPort]);
    for (const [i, ip] of ips.entries()) fakes.set(ip, await FakeNode.start(ip, `mm${i + 1}`, metricsPort, nodePort));
    await registerNode(sql, CLUSTER, '127.0.0.2');
    await registerNode(sql, CLUSTER, '127.0.0.3');
    await registerNode(sql, 'another-cluster', '127.0.0.4'); // not ours: never scraped
    for (const name of ['a', 'b', 'c']) {
      const proxy = await TcpProxy.start(db.port);
      proxies.push(proxy);
      procs.push(new MmProc(name, await writeConfig(name, proxy.port), TOKEN));
    }
    await Promise.all(procs.map((p) => p.start()));
    sampler = (async () => {
      while (sampling) {
        const t = Date.now();
        const g = await Promise.all(procs.map(async (p) => ((await p.leaderGauge()) === 1 ? p.name : null)));
        leaderSamples.push({ t, leaders: g.filter((x): x is string => x !== null) });
        await sleep(250);
      }
    })();
  }, 180_000);

  afterAll(async () => {
    sampling = false;
    await sampler;
    await Promise.all([...procs, ...badProcs].map((p) => p.stop().catch(() => {})));
    for (const p of proxies) await p.close();
    for (const f of fakes.values()) await f.close();
    await sql?.close();
    await db?.stop();
    await s3?.stop();
    if (process.env.MM_HA_KEEP) console.log('kept', dir);
    else await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test('exactly one node scrapes, each Mattermost node’s metrics, node exporter and Calls targets with their own instance; every node serves the API', async () => {
    const leader = await currentLeader();
    const want = ['127.0.0.2', '127.0.0.3'].flatMap((ip) => [`calls ${instance(ip)}`, `node ${instance(ip, nodePort)}`, `prometheus ${instance(ip)}`]);
    const targets = await waitFor(
      'the leader’s targets up',
      async () => {
        const ts = (await (await leader.api('targets')).json()) as Array<{ job: string; instance: string; health: string }>;
        const mm = ts.filter((t) => t.job !== 'mm-metrics');
        return mm.length === want.length && mm.every((t) => t.health === 'up') ? ts : null;
      },
      15_000,
      250,
    );
    expect(targets.filter((t) => t.job !== 'mm-metrics').map((t) => `${t.job} ${t.instance}`).sort()).toEqual(want.sort());
    for (const p of procs) {
      const stats = await p.api('tsdb/stats');
      expect(stats.status).toBe(200);
      if (p !== leader) expect(await (await p.api('targets')).json()).toEqual([]);
    }
    expect(fakes.get('127.0.0.4')!.log.length).toBe(0);
  });

  test('targets follow ClusterDiscovery within one poll: a node joins, an aged node leaves with staleness markers, a garbage hostname is skipped', async () => {
    const leader = await currentLeader();
    await registerNode(sql, CLUSTER, 'bad host/../?x');
    const joinAt = Date.now();
    await registerNode(sql, CLUSTER, '127.0.0.4');
    const first = await firstScrapeAfter('127.0.0.4', joinAt, [], POLL_MS + 3 * INTERVAL_MS + 2000);
    figure(`${c.name}_join_to_first_scrape_ms`, first.t - joinAt, 'ms');
    expect(first.by).toBe(leader.name);
    expect(first.t - joinAt).toBeLessThanOrEqual(POLL_MS + 2 * INTERVAL_MS + 1000);

    const leaveAt = Date.now();
    await pingNode(sql, CLUSTER, '127.0.0.3', Date.now() - 31 * 60_000);
    await waitFor('127.0.0.3 no longer scraped', () => {
      const last = lastScrapeBy('127.0.0.3', leader.name);
      return last > leaveAt && Date.now() - last > 2 * INTERVAL_MS;
    }, POLL_MS + 5000);
    const left = lastScrapeBy('127.0.0.3', leader.name) - leaveAt;
    figure(`${c.name}_leave_to_last_scrape_ms`, left, 'ms');
    expect(left).toBeLessThanOrEqual(POLL_MS + INTERVAL_MS + 1000);
    const warned = leader.events('ignoring ClusterDiscovery row with an unusable hostname');
    expect(warned.length).toBe(1);
    // The node comes back (its next ping) so later scenarios scrape three nodes.
    await pingNode(sql, CLUSTER, '127.0.0.3', Date.now());
    await firstScrapeAfter('127.0.0.3', Date.now(), [], POLL_MS + 3 * INTERVAL_MS + 2000);
  });

  /** What each failover looked like, for the dump checks. */
  const failovers: Array<{ kind: string; from: string; to: string; at: number; lastOld: number; firstNew: number }> = [];
  let runStart = 0;

  test('leader kill -9: a standby takes the role and scrapes within the takeover bound', async () => {
    runStart = Math.min(...fakes.get('127.0.0.2')!.log.map((r) => r.t));
    const old = await currentLeader();
    await sleep(HEAD_SHIP_MS + 500); // at least one snapshot since the last topology change
    const killAt = await old.kill9();
    const lastOld = lastScrapeBy('127.0.0.2', old.name);
    const first = await firstScrapeAfter('127.0.0.2', killAt, [old.name], TAKEOVER_MS + INTERVAL_MS + 10_000);
    const neu = byName(first.by);
    const acquired = neu.events('acquired scraper role').at(-1)!.time;
    figure(`${c.name}_kill9_takeover_ms`, acquired - killAt, 'ms');
    figure(`${c.name}_kill9_first_scrape_ms`, first.t - killAt, 'ms');
    figure(`${c.name}_kill9_scrape_gap_ms`, first.t - lastOld, 'ms');
    expect(acquired - killAt).toBeLessThanOrEqual(TAKEOVER_MS);
    expect(first.t - killAt).toBeLessThanOrEqual(TAKEOVER_MS); // the first scrape itself is within the bound
    failovers.push({ kind: 'kill -9', from: old.name, to: neu.name, at: killAt, lastOld, firstNew: first.t });
  }, 4 * TAKEOVER_MS + 30_000);

  test('a leader cut from the database stops scraping before a standby starts, and stays standby once reconnected', async () => {
    const old = await currentLeader();
    await sleep(HEAD_SHIP_MS + 1000); // a stint long enough to have shipped a snapshot
    const proxy = proxies[procs.indexOf(old)]!;
    const cutAt = Date.now();
    proxy.cut();
    const lost = await waitFor('the cut leader to give up its role', () => old.events('lost scraper role').find((l) => l.time >= cutAt), TAKEOVER_MS);
    const lastOld = lastScrapeBy('127.0.0.2', old.name);
    const first = await firstScrapeAfter('127.0.0.2', cutAt, [old.name], TAKEOVER_MS + INTERVAL_MS + 10_000);
    const neu = byName(first.by);
    figure(`${c.name}_cut_role_lost_ms`, lost.time - cutAt, 'ms');
    figure(`${c.name}_cut_first_scrape_ms`, first.t - cutAt, 'ms');
    // Scraping stopped at the loss: no request of the old leader arrived after it.
    for (const f of fakes.values()) expect(f.log.filter((r) => r.by === old.name && r.t > lost.time + 50)).toEqual([]);
    expect(first.t).toBeGreaterThan(lost.time);
    expect(first.t - cutAt).toBeLessThanOrEqual(TAKEOVER_MS);
    failovers.push({ kind: 'cut', from: old.name, to: neu.name, at: cutAt, lastOld, firstNew: first.t });
    proxy.restore();
    await sleep(3 * POLL_MS);
    expect((await currentLeader(5000)).name).toBe(neu.name);
    expect(await old.leaderGauge()).toBe(0);
  }, 4 * TAKEOVER_MS + 30_000);

  test('a database crash and restart: the role is re-acquired within the bound after the database is back, by one node', async () => {
    const old = await currentLeader();
    await sleep(HEAD_SHIP_MS + 1000);
    const crashAt = Date.now();
    await db.crashRestart();
    const upAt = Date.now();
    const first = await firstScrapeAfter('127.0.0.2', upAt, [], TAKEOVER_MS + INTERVAL_MS + 10_000);
    figure(`${c.name}_db_restart_down_ms`, upAt - crashAt, 'ms');
    figure(`${c.name}_db_restart_first_scrape_after_up_ms`, first.t - upAt, 'ms');
    expect(first.t - upAt).toBeLessThanOrEqual(TAKEOVER_MS);
    const lost = old.events('lost scraper role').find((l) => l.time >= crashAt);
    expect(lost).toBeDefined();
    failovers.push({ kind: 'db restart', from: old.name, to: first.by, at: crashAt, lastOld: lastScrapeBy('127.0.0.2', old.name, first.t), firstNew: first.t });
    await currentLeader();
  }, 4 * TAKEOVER_MS + 30_000);

  interface JobView {
    id: string;
    status: string;
    error: string;
    owner: string;
    attempts?: number;
    size: number;
    sha256: string;
    dump_location: string;
  }

  async function waitJob(p: MmProc, id: string, timeoutMs = 60_000): Promise<JobView> {
    return waitFor(
      `job ${id} to finish`,
      async () => {
        const r = await p.api(`jobs/${id}`);
        if (r.status !== 200) return null;
        const j = (await r.json()) as JobView;
        return j.status === 'success' || j.status === 'error' ? j : null;
      },
      timeoutMs,
      250,
    );
  }

  async function openStore(): Promise<FileStore> {
    return c.store === 's3'
      ? openFileStore({ driver: 's3', bucket: 'ha', endpoint: s3!.endpoint, ssl: false, region: 'us-east-1', accessKeyId: s3!.accessKeyId, secretAccessKey: 'x', pathPrefix: '' })
      : openFileStore({ driver: 'local', root: join(dir, 'shared-store') });
  }

  /** Downloads and extracts a dump; returns the extracted data dir. */
  async function fetchDump(p: MmProc, job: JobView, name: string): Promise<string> {
    const r = await p.api(`jobs/download/${job.id}`);
    expect(r.status).toBe(200);
    const bytes = Buffer.from(await r.arrayBuffer());
    expect(bytes.length).toBe(job.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(job.sha256);
    const out = join(dir, name);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'dump.tar.gz'), bytes);
    await run('tar', ['xzf', 'dump.tar.gz'], { cwd: out });
    return join(out, 'data');
  }

  /** `promtool tsdb dump --match`: [timestamp, value text] of every sample of one selector. */
  async function promtoolSamples(dataDir: string, selector: string): Promise<Array<[number, string]>> {
    const { stdout } = await run('promtool', ['tsdb', 'dump', `--match=${selector}`, dataDir], { maxBuffer: 256 << 20 });
    const out: Array<[number, string]> = [];
    for (const line of stdout.split('\n')) {
      const m = /\} (\S+) (\d+)$/.exec(line);
      if (m) out.push([Number(m[2]), m[1]!]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  /**
   * The largest gap between consecutive samples that ends after `from` and starts before
   * `to` (the first scrape of the new leader: its own sample, timestamped a few ms earlier,
   * starts the next, ordinary, gap).
   */
  function gapOver(ts: number[], from: number, to: number): number {
    let g = 0;
    for (let i = 1; i < ts.length; i++) if (ts[i]! > from && ts[i - 1]! < to - 100) g = Math.max(g, ts[i]! - ts[i - 1]!);
    return g;
  }

  /** The largest gap between consecutive samples that overlaps none of the failovers. */
  function gapOutsideFailovers(ts: number[]): number {
    let g = 0;
    for (let i = 1; i < ts.length; i++) if (!failovers.some((f) => ts[i]! > f.at && ts[i - 1]! < f.firstNew - 100)) g = Math.max(g, ts[i]! - ts[i - 1]!);
    return g;
  }

  let dumpJobOnB: JobView | null = null;

  test('a dump created on a standby after the failovers holds each leader’s data (gaps within the bounds, staleness of the node that left) and opens in Prometheus', async () => {
    expect(failovers.length).toBe(3);
    const leader = await currentLeader();
    const b = procs.find((p) => p.running && p !== leader)!;
    await sleep(HEAD_SHIP_MS + 1500); // the current leader's latest snapshot
    if (process.env.MM_HA_DEBUG) {
      const st = await openStore();
      console.log('keys', JSON.stringify(await st.list('plugin-data/mattermost-plugin-metrics/data')));
      for (const m of await remoteBlocks(st)) console.log('preblock', m.ulid, m.minTime - runStart, m.maxTime - runStart, m.stats?.numSamples, m.compaction?.hints);
      await st.close();
      console.log('dump on', b.name, 'leader', leader.name);
    }
    const maxT = Date.now();
    const created = await b.api('jobs/create', { method: 'POST', body: JSON.stringify({ min_t: runStart - 60_000, max_t: maxT }) });
    expect(created.status).toBe(200);
    const job = await waitJob(b, ((await created.json()) as JobView).id);
    expect(job.error).toBe('');
    expect(job.status).toBe('success');
    dumpJobOnB = job;
    // Listed and downloadable on every live node, byte for byte the same.
    for (const p of procs.filter((x) => x.running)) {
      const list = (await (await p.api('jobs')).json()) as JobView[];
      expect(list.map((j) => j.id)).toContain(job.id);
    }
    const data = await fetchDump(b, job, 'dump-b');
    for (const p of procs.filter((x) => x.running && x !== b)) await fetchDump(p, job, `dump-${p.name}`);

    const sel = `{__name__="mattermost_http_requests_total",instance="${instance('127.0.0.2')}",job="prometheus"}`;
    const samples = await promtoolSamples(data, sel);
    const ts = samples.map(([t]) => t);
    if (process.env.MM_HA_DEBUG) {
      const st = await openStore();
      for (const m of await remoteBlocks(st)) console.log('block', m.ulid, m.minTime - runStart, m.maxTime - runStart, m.stats?.numSamples, m.compaction?.hints);
      await st.close();
      console.log('failovers', failovers.map((f) => ({ ...f, at: f.at - runStart, lastOld: f.lastOld - runStart, firstNew: f.firstNew - runStart })));
      console.log('samples', ts.map((t) => t - runStart).join(' '));
      for (const p of procs) for (const l of p.lines) if (/snapshot|ship|role|dump|failed/.test(l.msg)) console.log('LOG', p.name, l.time - runStart, l.msg, JSON.stringify(l).slice(0, 300));
    }
    // About one sample per second of the run outside the failover gaps.
    expect(ts.length).toBeGreaterThan((ts[ts.length - 1]! - ts[0]! - failovers.reduce((a, f) => a + (f.firstNew - f.at), 0)) / INTERVAL_MS / 2);
    // Each leader's stint is in the dump: samples on both sides of every failover.
    // The documented bound: a failover costs at most takeover + one interval of samples,
    // plus, when the leader died without a last snapshot, what it scraped since its latest
    // one (≤ headShipPeriod + one upload). A database restart adds the time it was down.
    const bounds: Record<string, number> = {
      'kill -9': HEAD_SHIP_MS + TAKEOVER_MS + INTERVAL_MS + 1000,
      cut: TAKEOVER_MS + INTERVAL_MS + 200,
      'db restart': TAKEOVER_MS + INTERVAL_MS + 200,
    };
    for (const f of failovers) {
      const gap = gapOver(ts, f.at, f.firstNew);
      figure(`${c.name}_dump_gap_${f.kind.replace(/\W+/g, '_')}_ms`, gap, 'ms');
      expect(ts.some((t) => t < f.at && t > f.at - 30_000), `data of ${f.from} before the ${f.kind}`).toBe(true);
      expect(ts.some((t) => t >= f.firstNew - 5), `data of ${f.to} after the ${f.kind}`).toBe(true);
      expect(gap, `gap around the ${f.kind}`).toBeLessThanOrEqual(bounds[f.kind]! + (f.kind === 'db restart' ? f.firstNew - f.at : 0));
      // What was lost beyond the scraping gap itself: only the killed leader's unshipped tail.
      const lost = gap - (f.firstNew - f.lastOld);
      figure(`${c.name}_dump_lost_${f.kind.replace(/\W+/g, '_')}_ms`, Math.max(0, lost), 'ms');
      expect(lost, `data lost at the ${f.kind}`).toBeLessThanOrEqual(f.kind === 'kill -9' ? HEAD_SHIP_MS + 1000 : 200);
    }
    // Outside the failovers, one sample per interval (a few late ticks on a loaded machine).
    const worst = gapOutsideFailovers(ts);
    figure(`${c.name}_dump_worst_gap_outside_failovers_ms`, worst, 'ms');
    expect(worst).toBeLessThanOrEqual(3 * INTERVAL_MS);

    // The node that left got staleness markers (and came back later).
    const up3 = await promtoolSamples(data, `{__name__="up",instance="${instance('127.0.0.3')}",job="prometheus"}`);
    expect(up3.some(([, v]) => v === 'NaN')).toBe(true);

    // Prometheus 2.42 opens the dump and reads the same samples.
    const prom = await startPrometheus({ dataDir: data, args: ['--storage.tsdb.retention.time=100y'] });
    try {
      const last = ts[ts.length - 1]!;
      const raw = await prom.rawSamples(sel, last - ts[0]! + 1000, last);
      expect(raw.length).toBe(1);
      expect(raw[0]!.values.map((v) => v.t)).toEqual(ts.filter((t, i) => samples[i]![1] !== 'NaN'));
    } finally {
      await prom.stop();
    }
  }, 120_000);

  test('jobs: the same request sent to every node at once makes one job and one dump; different requests at once each run exactly once; a job left by a dead node is retried after its lease, or ends as error after the last try', async () => {
    const alive = procs.filter((p) => p.running);
    const runsOf = (id: string) => procs.flatMap((p) => p.lines.filter((l) => l.msg === 'dump job started' && l.job === id)).length;
    const store = await openStore();
    const archives = async (id: string) => store.list(`plugin-data/mattermost-plugin-metrics/dump/${id}`);
    try {
      const same = JSON.stringify({ min_t: Date.now() - 20_000, max_t: Date.now(), groups: ['api'] });
      const sameIds = await Promise.all(
        alive.map(async (p) => {
          const r = await p.api('jobs/create', { method: 'POST', body: same });
          expect(r.status).toBe(200);
          return ((await r.json()) as JobView).id;
        }),
      );
      expect(new Set(sameIds).size).toBe(1);
      const one = await waitJob(alive[0]!, sameIds[0]!);
      expect(one.error).toBe('');
      expect(one.status).toBe('success');
      expect(runsOf(one.id)).toBe(1);
      expect(await archives(one.id)).toEqual([`plugin-data/mattermost-plugin-metrics/dump/${one.id}/tsdb_dump.tar.gz`]);

      const t = Date.now();
      const rs = await Promise.all(alive.map((p, i) => p.api('jobs/create', { method: 'POST', body: JSON.stringify({ min_t: t - 20_000 - i, max_t: t }) })));
      const ids = await Promise.all(rs.map(async (r) => ((await r.json()) as JobView).id));
      expect(new Set(ids).size).toBe(alive.length);
      for (const id of ids) {
        const j = await waitJob(alive[0]!, id);
        expect(j.error).toBe('');
        expect(j.status).toBe('success');
        expect(runsOf(id), `runs of job ${id}`).toBe(1);
        expect(await archives(id)).toEqual([`plugin-data/mattermost-plugin-metrics/dump/${id}/tsdb_dump.tar.gz`]);
      }
    } finally {
      await store.close();
    }

    // Jobs a dead node left in progress (lease run out): one with tries left, one without.
    const now = Date.now();
    const ghost = async (attempts: number): Promise<string> => {
      const id = newMmId();
      await sql.exec(
        'INSERT INTO mmmetrics_jobs (id, status, create_at, update_at, min_t, max_t, request, dump_location, progress, error, data_min_t, data_max_t, size, sha256, owner, lease_until, attempts) ' +
          "VALUES (?, 'in_progress', ?, ?, ?, ?, '{}', '', 40, '', 0, 0, 0, '', 'dead-node', ?, ?)",
        [id, now, now, now - 20_000, now, now - 1000, attempts],
      );
      return id;
    };
    const retried = await ghost(1);
    const exhausted = await ghost(3);
    const r1 = await waitJob(alive[0]!, retried);
    expect(r1.status).toBe('success');
    expect(r1.attempts).toBe(2);
    const r2 = await waitJob(alive[0]!, exhausted);
    expect(r2.status).toBe('error');
    expect(r2.error).toMatch(/gave up after 3 attempts/);
  }, 120_000);

  test('never two scrapers at once over the whole run, by the targets’ logs and the nodes’ own gauges', () => {
    const all = [...fakes.values()];
    const conc = scraperConcurrency(all, 1.5 * INTERVAL_MS);
    figure(`${c.name}_max_concurrent_scrapers`, conc.maxConcurrent, 'scrapers');
    figure(`${c.name}_closest_handover_ms`, conc.closestHandoverMs, 'ms');
    expect(conc.maxConcurrent).toBe(1);
    expect(conc.switches).toBeGreaterThanOrEqual(failovers.length);
    expect(leaderSamples.filter((s) => s.leaders.length > 1)).toEqual([]);
  });

  test('the killed leader restarts as a standby and ships what it scraped after its last snapshot: nothing it stored is lost', async () => {
    const k = failovers[0]!;
    const killed = byName(k.from);
    await killed.restart();
    const store = await openStore();
    try {
      await waitFor('the restarted node’s start-up snapshot', async () => (await remoteBlocks(store)).find((m) => blockNode(m) === killed.name && m.maxTime > k.lastOld - 500), 30_000, 250);
    } finally {
      await store.close();
    }
    expect(await killed.leaderGauge()).toBe(0);
    // Every node serves the jobs made before it came back.
    expect(((await (await killed.api('jobs')).json()) as JobView[]).map((j) => j.id)).toContain(dumpJobOnB!.id);
    const created = await killed.api('jobs/create', { method: 'POST', body: JSON.stringify({ min_t: runStart - 60_000, max_t: Date.now() }) });
    const job = await waitJob(killed, ((await created.json()) as JobView).id);
    expect(job.error).toBe('');
    expect(job.status).toBe('success');
    const data = await fetchDump(killed, job, 'dump-restarted');
    const ts = (await promtoolSamples(data, `{__name__="mattermost_http_requests_total",instance="${instance('127.0.0.2')}",job="prometheus"}`)).map(([t]) => t);
    const gap = gapOver(ts, k.at, k.firstNew);
    figure(`${c.name}_dump_gap_kill_9_after_restart_ms`, gap, 'ms');
    // Back: everything it scraped up to the kill, so the gap is only the scraping gap.
    expect(gap).toBeLessThanOrEqual(k.firstNew - k.lastOld + 200);
  }, 120_000);

  const badProcs: MmProc[] = [];

  test('bad input: a malformed DataSource is a clear start error; an unreachable database, a wrong password or a missing ClusterDiscovery table leave the node serving what it can, its stored data intact', async () => {
    // The cluster stops; node b's data directory is reused below.
    const bDir = join(dir, 'b');
    await byName('b').stop();
    expect(byName('b').exitCode).toBe(0);

    const pw = db.password;
    const malformed = db.driver === 'postgres' ? `postgres://${db.user}:${pw}@127.0.0.1:99999/${db.database}` : `${db.user}:${pw}@tcp(127.0.0.1:notaport)/${db.database}`;
    const closed = await TcpProxy.start(db.port); // a port nobody listens on once closed
    const unreachablePort = closed.port;
    await closed.close();
    await db.createDatabase('mattermost_empty');
    const wrongPw = 'Wr0ng-pa55word-xyz';
    const mk = async (name: string, o: Parameters<typeof writeConfig>[2]) => {
      const p = new MmProc(name, await writeConfig(name, db.port, o), TOKEN);
      badProcs.push(p);
      return p;
    };
    const bad = await mk('malformed', { dataSource: malformed });
    const unreachable = await mk('unreachable', { dataSource: db.dsn(unreachablePort), dataDir: bDir });
    const wrong = await mk('wrongpw', { dataSource: db.dsn(db.port, wrongPw) });
    const notable = await mk('notable', { dataSource: db.dsn(db.port, pw, 'mattermost_empty'), clusterName: 'lonely' });

    const [badStart] = await Promise.allSettled([bad.start(), unreachable.start(), wrong.start(), notable.start()]);
    expect(badStart.status).toBe('rejected');
    expect(bad.exitCode).toBe(2);
    expect(bad.output).toMatch(/configuration error: cluster\.database\.dataSource: invalid data source \((port|host)\)/);

    // Unreachable: serves the UI/API, its own stored data (node b's TSDB), and says why jobs are away.
    const stats = (await (await unreachable.api('tsdb/stats')).json()) as { head?: { num_series: number } };
    expect(stats.head?.num_series).toBeGreaterThan(100);
    const jobs = await unreachable.api('jobs');
    expect(jobs.status).toBe(503);
    expect(((await jobs.json()) as { error: string }).error).toMatch(/database .*127\.0\.0\.1:\d+.* did not answer/);
    expect(await unreachable.leaderGauge()).toBe(0);
    expect((await unreachable.api('')).status).toBe(200); // the UI

    // Wrong password: the authentication failure is reported, without any password.
    const wj = await wrong.api('jobs');
    expect(wj.status).toBe(503);
    expect(((await wj.json()) as { error: string }).error).toMatch(db.driver === 'postgres' ? /password authentication failed/ : /Access denied/);

    // Missing table: discovery says so clearly; the node still leads its own cluster, scrapes
    // itself only (no guessed Mattermost target), and runs dump jobs.
    await waitFor('the missing-table error', () => notable.events('cluster discovery failed').find((l) => JSON.stringify(l).includes('table ClusterDiscovery not found')), 20_000);
    await waitFor('the lonely node to lead', async () => (await notable.leaderGauge()) === 1, TAKEOVER_MS + 10_000);
    const ts = (await (await notable.api('targets')).json()) as Array<{ job: string }>;
    expect(ts.map((t) => t.job)).toEqual(['mm-metrics']);
    await sleep(3 * INTERVAL_MS);
    const created = await notable.api('jobs/create', { method: 'POST', body: JSON.stringify({ min_t: Date.now() - 60_000, max_t: Date.now() }) });
    expect(created.status).toBe(200);
    const nj = await waitJob(notable, ((await created.json()) as JobView).id);
    expect(nj.error).toBe('');
    expect(nj.status).toBe('success');
  }, 120_000);

  test('no database password, S3 secret or admin token ever appears in any process’s output', () => {
    const secrets = [db.password, 'Wr0ng-pa55word-xyz', 'ha-s3-secret-never-logged', TOKEN];
    for (const p of [...procs, ...badProcs]) {
      expect(p.output.length).toBeGreaterThan(0);
      for (const sec of secrets) expect(p.output.includes(sec), `${sec.slice(0, 4)}… in the output of ${p.name}`).toBe(false);
    }
  });
});
