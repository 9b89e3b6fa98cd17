/**
 * Commit durability: a child process appends in a loop and prints `ACK n` after each
 * commit resolves; we SIGKILL it at random moments (the tiny block range makes head
 * cuts, block writes and WAL checkpoints happen several times a second, so many kills
 * land inside them; head chunks go to chunks_head/ through a 1 KiB buffer into 8 KiB
 * files, so kills also land mid chunk record and mid file cut), reopen the directory
 * and check that every acknowledged sample is there with its value. 12 kill points by default, 60 with MM_SOAK=1.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, test } from 'vitest';
import { Matcher, ValueType } from '../../../src/storage/index.js';
import { openDB } from '../../../src/tsdb/db.js';
import { CRASH_SERIES, crashTime, crashValue } from './crash-shared.js';

const child = new URL('./crash-child.ts', import.meta.url).pathname;
const quiet = { info: () => {}, warn: () => {} };
const cycles = process.env.MM_SOAK === '1' ? 60 : 12;
let dir = '';

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the child until killed after `ms` ms of appending; returns the last acknowledged iteration. */
async function runAndKill(first: number, ms: number): Promise<number> {
  const p = spawn(process.execPath, ['--import', 'tsx', child, dir, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let last = first - 1;
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
  const rl = createInterface({ input: p.stdout });
  let timer: NodeJS.Timeout | null = null;
  rl.on('line', (line) => {
    if (line === 'READY') timer = setTimeout(() => p.kill('SIGKILL'), ms);
    else if (line.startsWith('ACK ')) last = Number(line.slice(4));
  });
  await exited;
  if (timer !== null) clearTimeout(timer);
  if (p.signalCode !== 'SIGKILL') throw new Error(`child exited by itself (code ${p.exitCode}): ${stderr}`);
  return last;
}

describe('commit durability under kill -9', () => {
  test(`every acknowledged sample survives ${cycles} random SIGKILLs, block writes and checkpoints included`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-crash-'));
    const rnd = mulberry32(20240601);
    let lastAck = -1;
    let interrupted = 0;
    let chunksAttached = 0;
    let chunkRepairs = 0;
    for (let c = 0; c < cycles; c++) {
      lastAck = await runAndKill(lastAck + 1, 150 + Math.floor(rnd() * 1200));
      const names = await readdir(dir);
      const wal = await readdir(join(dir, 'wal')).catch(() => [] as string[]);
      if (names.some((n) => n.endsWith('.tmp-for-creation')) || wal.some((n) => n.endsWith('.tmp'))) interrupted++;

      const db = await openDB(dir, { blockRange: 2000, retentionMs: 0, logger: quiet });
      try {
        const hc = db.stats().headChunks!;
        chunksAttached += hc.chunksAttached;
        if (hc.corruption !== null) chunkRepairs++;
        const q = db.querier(-Infinity, Infinity);
        const set = q.select(true, null, Matcher.equal('__name__', 'crash_test'));
        let seen = 0;
        while (set.next()) {
          const s = Number(set.at().labels().get('series'));
          const it = set.at().iterator();
          let want = 0;
          while (it.next() === ValueType.Float) {
            // Every iteration up to lastAck exactly once, in order; at most the one in flight beyond.
            expect(it.atT()).toBe(crashTime(want));
            expect(it.atV()).toBe(crashValue(want, s));
            want++;
          }
          expect(it.err()).toBeNull();
          expect(want).toBeGreaterThanOrEqual(lastAck + 1);
          expect(want).toBeLessThanOrEqual(lastAck + 2);
          seen++;
        }
        expect(set.err()).toBeNull();
        expect(seen).toBe(lastAck >= 0 ? CRASH_SERIES : 0);
        q.close();
      } finally {
        await db.close();
      }
    }
    const blocks = (await readdir(dir)).filter((n) => /^[0-7][0-9A-Z]{25}$/.test(n));
    expect(lastAck).toBeGreaterThan(cycles * 10);
    expect(blocks.length).toBeGreaterThan(0);
    expect(chunksAttached).toBeGreaterThan(0);
    console.log(`crash test: ${cycles} kills, ${lastAck + 1} acknowledged commits, ${blocks.length} blocks, ${interrupted} kills left a block or checkpoint half-written, ${chunksAttached} head chunks attached from chunks_head at reopens, ${chunkRepairs} reopens repaired a torn chunks_head file`);
  }, 60_000 + cycles * 15_000);
});
