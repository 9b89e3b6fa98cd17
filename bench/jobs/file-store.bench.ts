/**
 * FileJobStore mutation cost: every mutation rewrites jobs.json with tmp + fsync +
 * rename + dir fsync, so the figure is dominated by fsync; it bounds how often the
 * runner may write progress (it writes at most once per second per job).
 * Run alone: node --import tsx bench/jobs/file-store.bench.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openFileJobStore } from '../../src/jobs/file-store.js';
import { newId } from '../../src/jobs/id.js';
import type { DumpJob } from '../../src/jobs/types.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'mm-bench-jobs-'));
try {
  const store = await openFileJobStore(dir);
  const mk = (i: number): DumpJob => ({ id: newId(), status: 'success', create_at: 1_700_000_000_000 + i, min_t: 0, max_t: 1, dump_location: '', progress: 100, error: '', data_min_t: 0, data_max_t: 1, size: 1, sha256: 'a'.repeat(64), owner: '', lease_until: 0, update_at: 0 });
  for (const n of [10, 1000]) {
    while ((await store.list()).length < n - 1) await store.create(mk((await store.list()).length));
    const ops = 100;
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) await store.create({ ...mk(n + i), status: 'pending' });
    const c = (performance.now() - t0) / ops;
    const t1 = performance.now();
    for (let i = 0; i < ops; i++) {
      const j = await store.claim('bench', 60_000, Date.now());
      if (j) await store.update({ ...j, progress: 50 }, 'bench');
    }
    const u = (performance.now() - t1) / ops / 2;
    console.log(`FIGURE job_store_create_with_${n}_jobs: ${c.toFixed(2)} ms/op`);
    console.log(`FIGURE job_store_claim_or_update_with_${n}_jobs: ${u.toFixed(2)} ms/op`);
  }
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
