/** Helpers shared by the jobs/api tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newId } from '../../../src/jobs/id.js';
import { JobStatus, type DumpJob } from '../../../src/jobs/types.js';

export function makeJob(over: Partial<DumpJob> = {}): DumpJob {
  const now = Date.now();
  return {
    id: newId(), status: JobStatus.Pending, create_at: now, min_t: 1000, max_t: 2000,
    instances: [], matchers: [], groups: [],
    dump_location: '', progress: 0, error: '', data_min_t: 0, data_max_t: 0, size: 0, sha256: '',
    owner: '', lease_until: 0, update_at: now, attempts: 0,
    ...over,
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls `fn` until it returns a truthy value or `ms` passes. */
export async function waitFor<T>(fn: () => Promise<T> | T, ms = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
