/**
 * Download path: throughput of GET /jobs/download/{id} over real HTTP on loopback, and
 * the server-side memory it needs (the archive must stream, never sit in memory).
 * Run alone: node --expose-gc --import tsx bench/api/download.bench.ts
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { buildServer, BASE_PATH } from '../../src/api/server.js';
import { openFileJobStore } from '../../src/jobs/file-store.js';
import { newId } from '../../src/jobs/id.js';
import { LocalDumpArtifacts } from '../../src/jobs/local-artifacts.js';
import { dumpLocation } from '../../src/jobs/paths.js';
import { JobRunner } from '../../src/jobs/runner.js';

const SIZE_MB = Number(process.env.MM_BENCH_DOWNLOAD_MB ?? 256);
const TOKEN = 'bench-token-0123456789abcdef';

const dir = await mkdtemp(path.join(os.tmpdir(), 'mm-bench-dl-'));
try {
  const store = await openFileJobStore(path.join(dir, 'jobs'));
  const artifacts = new LocalDumpArtifacts(dir);
  const id = newId();
  const loc = dumpLocation(id);
  await mkdir(path.dirname(path.join(dir, loc)), { recursive: true });
  // Deterministic incompressible-looking content, 1 MiB pattern repeated.
  const block = Buffer.alloc(1 << 20);
  let x = 12345;
  for (let i = 0; i < block.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    block[i] = x >>> 24;
  }
  const ws = createWriteStream(path.join(dir, loc));
  for (let i = 0; i < SIZE_MB; i++) if (!ws.write(block)) await new Promise<void>((r) => ws.once('drain', () => r()));
  await new Promise<void>((r) => ws.end(() => r()));
  const now = Date.now();
  await store.create({ id, status: 'success', create_at: now, min_t: 0, max_t: 1, dump_location: loc, progress: 100, error: '', data_min_t: 0, data_max_t: 1, size: SIZE_MB << 20, sha256: '', owner: '', lease_until: 0, update_at: now });
  const runner = new JobRunner({ store, nodeId: 'bench', deleteArtifacts: artifacts.deleteArtifacts, builder: { estimate: async () => ({ bytes: 0, blocks: 0, series: 0 }), build: async () => { throw new Error('not used'); } } });
  const app = await buildServer({
    jobStore: store, jobs: runner, artifacts, auth: { mode: 'static', token: TOKEN }, logger: pino({ level: 'warn' }),
    stats: { stats: async () => ({ min_t: 0, max_t: 0, num_samples: 0, num_series: 0 }) }, targets: { targets: () => [] }, metrics: { render: () => '' },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${BASE_PATH}/jobs/download/${id}`;

  globalThis.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakBuffers = base.arrayBuffers + base.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers + m.heapUsed);
  }, 10);
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  let got = 0;
  // The client runs in this process too; it drops each chunk right away.
  for await (const chunk of res.body!) got += (chunk as Uint8Array).byteLength;
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (got !== SIZE_MB << 20) throw new Error(`downloaded ${got} bytes, want ${SIZE_MB << 20}`);
  console.log(`FIGURE api_download_throughput: ${(SIZE_MB / secs).toFixed(0)} MiB/s`);
  console.log(`FIGURE api_download_peak_heap_plus_buffers_delta: ${((peakBuffers - base.arrayBuffers - base.heapUsed) / 2 ** 20).toFixed(1)} MiB (archive ${SIZE_MB} MiB)`);
  console.log(`FIGURE api_download_peak_rss_delta: ${((peakRss - base.rss) / 2 ** 20).toFixed(1)} MiB (archive ${SIZE_MB} MiB)`);
  await app.close();
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
