import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { Labels, Matcher, MatchType, ValueType } from '../../src/storage/index.js';
import { openDB, type DB } from '../../src/tsdb/db.js';
import { openBlock } from '../../src/tsdb/block/index.js';
import { openLocalFileStore } from '../../src/filestore/local.js';
import type { FileStore } from '../../src/filestore/filestore.js';
import { Shipper, remoteBlocks } from '../../src/dump/shipper.js';
import { TsdbDumpBuilder, requestSelectors } from '../../src/dump/builder.js';
import { JobStatus, type DumpJob } from '../../src/jobs/types.js';
import { havePrometheus, startPrometheus } from '../support/prometheus.js';

const H = 3_600_000;
const STEP = 15_000;
// A fixed 2h-aligned origin in the past so block boundaries are predictable.
const T0 = Math.floor((Date.now() - 30 * H) / (2 * H)) * 2 * H;
const END = T0 + 9 * H; // head keeps the last ~3h after cuts

const SERIES = [
  Labels.fromPairs('__name__', 'mattermost_http_requests_total', 'instance', 'app1:8067', 'job', 'prometheus'),
  Labels.fromPairs('__name__', 'mattermost_http_requests_total', 'instance', 'app2:8067', 'job', 'prometheus'),
  Labels.fromPairs('__name__', 'mattermost_db_master_connections_total', 'instance', 'app1:8067', 'job', 'prometheus'),
  Labels.fromPairs('__name__', 'node_load1', 'instance', 'app1:9100', 'job', 'node'),
  Labels.fromPairs('__name__', 'up', 'instance', 'app1:8067', 'job', 'prometheus'),
];
const value = (si: number, t: number) => si * 1000 + (t - T0) / STEP;

function job(over: Partial<DumpJob>): DumpJob {
  return {
    id: 'abcdefghijklmnopqrstuvwxyz',
    status: JobStatus.InProgress,
    create_at: Date.now(),
    min_t: T0,
    max_t: END,
    dump_location: '',
    progress: 0,
    error: '',
    data_min_t: 0,
    data_max_t: 0,
    size: 0,
    sha256: '',
    owner: 'test',
    lease_until: 0,
    update_at: 0,
    ...over,
  };
}

describe('TsdbDumpBuilder', () => {
  let dir: string;
  let db: DB;
  let store: FileStore;
  let builder: TsdbDumpBuilder;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-dump-'));
    db = await openDB(join(dir, 'tsdb'), { retentionMs: 100 * 24 * H, compaction: false });
    for (let t = T0; t < END; t += STEP) {
      const app = db.appender();
      SERIES.forEach((l, si) => app.append(0, l, t, value(si, t)));
      await app.commit();
    }
    await db.compact(); // cuts the oldest 2h ranges into blocks; the rest stays in the head
    store = await openLocalFileStore(join(dir, 'store'));
    const shipper = new Shipper({ dbDir: db.dir, store, retentionMs: 100 * 24 * H, syncPeriodMs: H, cleanupPeriodMs: H });
    await shipper.sync();
    builder = new TsdbDumpBuilder({
      store,
      db,
      workDir: join(dir, 'work'),
      appVersion: '0.1.0',
      packetInfo: async () => ({ serverId: 'qwertyuiopasdfghjklzxcvbnm', serverVersion: '10.5.0' }),
    });
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function extract(j: DumpJob): Promise<{ out: string; res: Awaited<ReturnType<TsdbDumpBuilder['build']>> }> {
    const res = await builder.build(j, () => {}, new AbortController().signal);
    const archive = join(dir, 'store', res.location);
    const bytes = await readFile(archive);
    expect(res.size).toBe(bytes.length);
    expect(res.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const out = await mkdtemp(join(dir, 'x-'));
    execFileSync('tar', ['xzf', archive, '-C', out]);
    execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out });
    return { out, res };
  }

  async function read(dataDir: string): Promise<Map<string, Array<[number, number]>>> {
    const ulids = execFileSync('ls', [dataDir], { encoding: 'utf8' }).split('\n').filter((n) => /^[0-9A-Z]{26}$/.test(n));
    expect(ulids.length).toBe(1);
    const b = await openBlock(join(dataDir, ulids[0]!));
    const q = b.querier(-1e15, 1e15);
    const ss = q.select(true, null, new Matcher(MatchType.Regexp, '__name__', '.+'));
    const m = new Map<string, Array<[number, number]>>();
    while (ss.next()) {
      const it = ss.at().iterator();
      const arr: Array<[number, number]> = [];
      while (it.next() === ValueType.Float) arr.push([it.atT(), it.atV()]);
      m.set(ss.at().labels().toString(), arr);
    }
    q.close();
    await b.close();
    return m;
  }

  test('the setup has shipped blocks and head data, so a dump must combine both', async () => {
    expect((await remoteBlocks(store)).length).toBeGreaterThanOrEqual(2);
    expect(db.head.isEmpty()).toBe(false);
    expect(db.head.minTime).toBeLessThan(END - 2 * H);
  });

  test('a range cut to the millisecond across shipped blocks and the head holds exactly the samples inside it', async () => {
    const mint = T0 + H + 7_500; // inside a block, not on a sample
    const maxt = END - 30 * 60_000; // inside the head
    const { out, res } = await extract(job({ min_t: mint, max_t: maxt }));
    const got = await read(join(out, 'data'));
    expect(got.size).toBe(SERIES.length);
    SERIES.forEach((l, si) => {
      const want: Array<[number, number]> = [];
      for (let t = T0; t < END; t += STEP) if (t >= mint && t <= maxt) want.push([t, value(si, t)]);
      expect(got.get(l.toString())).toEqual(want);
    });
    expect(res.data_min_t).toBe(T0 + H + STEP);
    expect(res.data_max_t).toBeLessThanOrEqual(maxt);
    const meta = parseYaml(await readFile(join(out, 'metadata.yaml'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ version: 1, type: 'plugin-packet', server_id: 'qwertyuiopasdfghjklzxcvbnm' });
    expect((meta.extras as Record<string, unknown>).min).toBe(mint);
  });

  test('instances and groups filter the series, and the synthetic up series stays', async () => {
    const { out } = await extract(job({ instances: ['app1:8067'], groups: ['database'] }));
    const got = await read(join(out, 'data'));
    expect([...got.keys()].sort()).toEqual(
      ['{__name__="mattermost_db_master_connections_total", instance="app1:8067", job="prometheus"}', '{__name__="up", instance="app1:8067", job="prometheus"}'].sort(),
    );
  });

  test('a range with no data fails with a clear error and leaves nothing in the store', async () => {
    await expect(builder.build(job({ id: 'zzzzzzzzzzzzzzzzzzzzzzzzzz', min_t: T0 - 10 * H, max_t: T0 - 9 * H }), () => {}, new AbortController().signal)).rejects.toThrow(/no samples between/);
    expect(await store.exists('plugin-data/mattermost-plugin-metrics/dump/zzzzzzzzzzzzzzzzzzzzzzzzzz/tsdb_dump.tar.gz')).toBe(false);
  });

  test('bad selectors are rejected with the selector named', () => {
    expect(() => requestSelectors({ min_t: 0, max_t: 1, matchers: ['{a=~"("}'] })).toThrow(/selector 1/);
  });

  test('an estimate is in the right order of magnitude before building', async () => {
    const e = await builder.estimate({ min_t: T0, max_t: END });
    const samples = SERIES.length * ((END - T0) / STEP);
    expect(e.bytes).toBeGreaterThan(samples * 0.1);
    expect(e.bytes).toBeLessThan(samples * 16);
    expect(e.series).toBe(SERIES.length);
  });

  test.runIf(havePrometheus)('the extracted dump opens in Prometheus 2.42 with retention off and answers with the same samples', async () => {
    const { out } = await extract(job({}));
    const dumped = execFileSync('promtool', ['tsdb', 'dump', join(out, 'data')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(dumped.trim().split('\n').length).toBe(SERIES.length * ((END - T0) / STEP));
    const prom = await startPrometheus({ dataDir: join(out, 'data'), args: ['--storage.tsdb.retention.time=100y'] });
    try {
      const r = await prom.query(`count_over_time(node_load1[${(END - T0) / 1000}s])`, END - 1);
      expect(JSON.stringify(r)).toContain(String((END - T0) / STEP));
    } finally {
      await prom.stop();
    }
  });
});
