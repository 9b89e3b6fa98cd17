/**
 * Regenerates the Prometheus-written WAL fixtures in this folder (see README.md):
 *   node --import tsx test/tsdb/wal/testdata/make-fixtures.ts
 * Needs /usr/bin/prometheus (2.42). Output differs per run (timestamps), so the
 * tests check content, not bytes.
 */
import { cp, mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProm, startTarget } from '../prom-harness.js';

const here = new URL('.', import.meta.url).pathname;
for (const mode of ['snappy', 'plain'] as const) {
  const work = await mkdtemp(join(tmpdir(), 'mm-walfix-'));
  const target = await startTarget(
    (n) =>
      '# TYPE mm_fix_gauge gauge\nmm_fix_gauge{i="a"} 1.5\n' +
      `# TYPE mm_fix_counter_total counter\nmm_fix_counter_total ${n * 10}\n` +
      'mm_fix_nan NaN\n' +
      (n <= 2 ? 'mm_fix_vanish 7\n' : '') +
      // Enough series that the series record spans pages (first/middle/last fragments).
      Array.from({ length: 1000 }, (_, i) => `mm_fix_many{i="${i}",path="/api/v4/some/long/route/${i % 37}"} ${i * n}\n`).join(''),
  );
  const cfg = `global: {scrape_interval: 1s, scrape_timeout: 900ms}\nscrape_configs:\n  - job_name: fix\n    static_configs: [{targets: ['${target.addr}']}]\n`;
  const prom = await startProm(work, join(work, 'data'), cfg, mode === 'plain' ? ['--no-storage.tsdb.wal-compression'] : []);
  while (target.scrapes() < 5) await new Promise((r) => setTimeout(r, 100));
  await prom.stop();
  await target.close();
  const out = join(here, `prom-2.42-${mode}`);
  await rm(out, { recursive: true, force: true });
  await cp(join(work, 'data', 'wal'), out, { recursive: true });
  console.log(mode, await readdir(out));
  await rm(work, { recursive: true, force: true });
}
