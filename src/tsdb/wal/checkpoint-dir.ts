/**
 * Checkpoint directories: `checkpoint.%08d` where the number is the last WAL
 * segment folded into it (Prometheus's `checkpointDir`); written as
 * `checkpoint.%08d.tmp` and renamed, so a `.tmp` is always an interrupted one.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { segmentName } from './segment.js';
import { fsyncDir } from './fsutil.js';

const PREFIX = 'checkpoint.';

/** `checkpoint.00000012` for 12. */
export function checkpointName(i: number): string {
  return PREFIX + segmentName(i);
}

/** Index of a finished checkpoint dir name, or -1 (tmp dirs and others). */
export function parseCheckpointName(name: string): number {
  if (!name.startsWith(PREFIX)) return -1;
  const rest = name.slice(PREFIX.length);
  if (rest.length === 0 || !/^[0-9]+$/.test(rest)) return -1;
  return Number(rest);
}

/** The newest finished checkpoint in `walDir`, or null. */
export async function lastCheckpoint(walDir: string): Promise<{ dir: string; index: number } | null> {
  let best = -1;
  let bestName = '';
  for (const e of await readdir(walDir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const i = parseCheckpointName(e.name);
    if (i > best) {
      best = i;
      bestName = e.name;
    }
  }
  return best < 0 ? null : { dir: join(walDir, bestName), index: best };
}

/** Deletes finished checkpoints with index < `maxIndex` (Prometheus's `DeleteCheckpoints`). */
export async function deleteCheckpoints(walDir: string, maxIndex: number): Promise<number[]> {
  const removed: number[] = [];
  for (const e of await readdir(walDir, { withFileTypes: true })) {
    const i = parseCheckpointName(e.name);
    if (i >= 0 && i < maxIndex) {
      await rm(join(walDir, e.name), { recursive: true, force: true });
      removed.push(i);
    }
  }
  if (removed.length > 0) await fsyncDir(walDir);
  return removed.sort((a, b) => a - b);
}

/** Removes `checkpoint.*.tmp` dirs left by an interrupted checkpoint. */
export async function removeTmpCheckpoints(walDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const e of await readdir(walDir, { withFileTypes: true })) {
    if (e.name.startsWith(PREFIX) && e.name.endsWith('.tmp')) {
      await rm(join(walDir, e.name), { recursive: true, force: true });
      removed.push(e.name);
    }
  }
  return removed;
}
