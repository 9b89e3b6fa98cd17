/**
 * A scraped NaN is stored with Prometheus's value.NormalNaN bits 0x7FF8000000000001
 * (JS `NaN` is 0x7FF8000000000000), end to end: HTTP target → ScrapeLoop → the real
 * TSDB head → WAL segment bytes and block chunk bytes. The WAL samples record and the
 * first value of an XOR chunk hold the 64 value bits verbatim (big-endian), so the bit
 * patterns can be counted in the raw files. The same body is scraped by Prometheus
 * 2.42 with WAL compression off, and its WAL is held to the same count, so the
 * expectation is the reference's, not a reading of the spec.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newParser } from '../../src/textparse/index.js';
import { ScrapeLoop, newTarget, scrapeConfigWith } from '../../src/scrape/index.js';
import { openDB, type DB } from '../../src/tsdb/index.js';
import { TargetServer, text, openMetrics } from '../support/target-server.js';
import { Prometheus, havePrometheus } from '../support/prometheus.js';

const NORMAL_NAN = Buffer.from('7ff8000000000001', 'hex');
const JS_NAN = Buffer.from('7ff8000000000000', 'hex');
const STALE_NAN = Buffer.from('7ff0000000000002', 'hex');

/** Four NaN spellings Go's ParseFloat accepts, in both formats; one ordinary value. */
const TEXT_BODY = 'n1 NaN\nn2 nan\nn3{a="b"} NAN\nplain 1.5\n';
const OM_BODY = '# TYPE o1 gauge\no1 NaN\no2 nan\n# EOF\n';
const NAN_SAMPLES_PER_SCRAPE = 5;

function count(hay: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}

async function filesUnder(dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) parts.push(await filesUnder(p));
    else if (e.isFile()) parts.push(await readFile(p));
  }
  return Buffer.concat(parts);
}

let server: TargetServer;
let dir = '';
let db: DB | null = null;

beforeAll(async () => {
  server = await TargetServer.start();
  // Two scrapes with NaNs, then a body without them: stale markers (their own bits).
  server.define('/text', (r) => text(r.index < 2 ? TEXT_BODY : 'plain 2\n'));
  server.define('/om', (r) => openMetrics(r.index < 2 ? OM_BODY : '# EOF\n'));
  dir = await mkdtemp(path.join(os.tmpdir(), 'mm-nan-bits-'));
});

afterAll(async () => {
  await db?.close();
  await server?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('a scraped NaN keeps Prometheus NormalNaN bits', () => {
  test('in our WAL and in a block written from the head', async () => {
    db = await openDB(path.join(dir, 'data'), { walCompression: false, compaction: false, logger: { info() {}, warn() {} } });
    const loops = ['text', 'om'].map(
      (p) => new ScrapeLoop(newTarget(scrapeConfigWith(p, { metricsPath: '/' + p }), { __address__: server.address }), db!, { newParser }),
    );
    const t0 = Date.now() - 10_000;
    for (let k = 0; k < 3; k++) for (const l of loops) await l.scrapeAndReport(t0 + k * 1000);
    for (const l of loops) {
      expect(l.status().health).toBe('up');
      await l.stop();
    }
    const meta = await db.flushHead(path.join(dir, 'flushed'), t0, t0 + 3000);
    expect(meta).not.toBeNull();
    await db.close();
    db = null;

    const wal = await filesUnder(path.join(dir, 'data', 'wal'));
    expect(count(wal, NORMAL_NAN)).toBe(2 * NAN_SAMPLES_PER_SCRAPE);
    expect(count(wal, JS_NAN)).toBe(0);
    // The five NaN series went stale at the third scrape.
    expect(count(wal, STALE_NAN)).toBe(NAN_SAMPLES_PER_SCRAPE);

    // XOR chunks: the first sample's value is written whole; the second NaN (same
    // bits) is an XOR of 0, so each NaN series' chunk holds the pattern once.
    const chunks = await filesUnder(path.join(dir, 'flushed'));
    expect(count(chunks, NORMAL_NAN)).toBe(NAN_SAMPLES_PER_SCRAPE);
    expect(count(chunks, JS_NAN)).toBe(0);
  });

  test.skipIf(!havePrometheus)('in the WAL of Prometheus 2.42 scraping the same bodies', async () => {
    const server2 = await TargetServer.start();
    server2.define('/text', () => text(TEXT_BODY));
    server2.define('/om', () => openMetrics(OM_BODY));
    const prom = await Prometheus.start({
      args: ['--no-storage.tsdb.wal-compression'],
      keepData: true,
      scrapeConfigs: ['text', 'om'].map((p) => ({ job_name: p, metrics_path: '/' + p, scrape_interval: '1s', static_configs: [{ targets: [server2.address] }] })),
    });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await prom.query('count_over_time(up[1m]) >= 2');
        if (r.resultType === 'vector' && r.result.length === 2) break;
        if (Date.now() > deadline) throw new Error(`Prometheus did not scrape:\n${prom.logs()}`);
        await new Promise((res) => setTimeout(res, 300));
      }
      await prom.stop();
      const wal = await filesUnder(path.join(prom.dataDir, 'wal'));
      // At least two scrapes of each body (the two jobs' scrape counts may differ by
      // one at the moment of the stop, so no exact total).
      expect(count(wal, NORMAL_NAN)).toBeGreaterThanOrEqual(2 * NAN_SAMPLES_PER_SCRAPE);
      expect(count(wal, JS_NAN)).toBe(0);
    } finally {
      await prom.stop();
      await rm(prom.dir, { recursive: true, force: true });
      await server2.close();
    }
  }, 60_000);
});
