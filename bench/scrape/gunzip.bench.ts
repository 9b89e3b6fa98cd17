/**
 * Inflating a gzip scrape body (5,000-series Mattermost exposition, ~700 KB, gzip
 * level 1 as promhttp): a gunzip stream with 128 KiB output chunks, one-call
 * `gunzipSync` (a new engine and output buffer per body), and the `ReusableGunzip` that
 * `TargetFetcher` uses now (one engine and output buffer reused). CPU of the whole
 * process (threadpool and GC included), per body.
 *
 *   node --import tsx bench/scrape/gunzip.bench.ts
 *
 *   FIGURE scrape_gunzip_stream_cpu_ms_per_body
 *   FIGURE scrape_gunzip_sync_cpu_ms_per_body
 *   FIGURE scrape_gunzip_reused_cpu_ms_per_body
 */
import zlib from 'node:zlib';
import { ReusableGunzip } from '../../src/scrape/gunzip.js';
import { buildMattermostExposition } from '../../test/support/mm-exposition.js';

const raw = Buffer.from(buildMattermostExposition({ series: 5000, seed: 5, scrapeIndex: 3 }));
const gz = zlib.gzipSync(raw, { level: 1 });
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function stream(): Promise<number> {
  return new Promise((resolve, reject) => {
    const g = zlib.createGunzip({ chunkSize: 128 * 1024 });
    let n = 0;
    g.on('data', (d: Buffer) => (n += d.length));
    g.on('end', () => resolve(n));
    g.on('error', reject);
    // Fed in 64 KiB pieces, as a socket delivers it.
    for (let i = 0; i < gz.length; i += 65536) g.write(gz.subarray(i, i + 65536));
    g.end();
  });
}

const N = 200;
const reused = new ReusableGunzip();
async function run(mode: 'stream' | 'sync' | 'reused'): Promise<number> {
  const t0 = cpuMs();
  for (let i = 0; i < N; i++) {
    const n =
      mode === 'stream' ? await stream() : mode === 'sync' ? zlib.gunzipSync(gz, { chunkSize: raw.length + (raw.length >>> 4) }).length : reused.inflate(gz, 0).length;
    if (n !== raw.length) throw new Error(`inflated ${n} bytes, want ${raw.length}`);
  }
  return (cpuMs() - t0) / N;
}

await run('stream');
await run('sync');
await run('reused');
console.log(`FIGURE scrape_gunzip_stream_cpu_ms_per_body: ${(await run('stream')).toFixed(3)} ms`);
console.log(`FIGURE scrape_gunzip_sync_cpu_ms_per_body: ${(await run('sync')).toFixed(3)} ms`);
console.log(`FIGURE scrape_gunzip_reused_cpu_ms_per_body: ${(await run('reused')).toFixed(3)} ms`);
