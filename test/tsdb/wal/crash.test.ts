/**
 * Crash safety: a child process logs records in a loop and is SIGKILLed at random
 * moments, again and again on the same WAL (each start replays and repairs, as
 * the head does). After every kill, every record whose log() had resolved
 * (printed as `ack <seq>`) must read back, in order, and nothing corrupt may be
 * returned; a damaged tail is only allowed in the newest written segment.
 * 12 kills by default (alternating compressed and plain records), 100 with MM_SOAK=1.
 *
 * SIGKILL does not drop the page cache, so on its own it rarely tears a write.
 * To model a power loss as well, every other run the parent then damages the
 * bytes *after* the last acknowledged record (those were never promised durable):
 * cut at a random point, or zero-filled from a random point, as a filesystem may
 * leave them. The next start must repair that and lose nothing acknowledged.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { open, readdir, stat, truncate } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CorruptionError, openReader, parseSegmentName, segmentName } from '../../../src/tsdb/wal/index.js';
import { checkPayload, readAll, removeDir, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const RUNS = process.env.MM_SOAK === '1' ? 100 : 12;

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

interface RunResult {
  maxAck: number;
  start: number;
  repaired: string;
  bad: string;
}

/** Runs the child until it has acked something, waits `killAfter` ms more, SIGKILLs it. */
function runOnce(dir: string, compress: boolean, seed: number, killAfter: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, compress ? '1' : '0', String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const res: RunResult = { maxAck: -1, start: -1, repaired: '', bad: '' };
    let buf = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ack ')) {
          res.maxAck = Math.max(res.maxAck, Number(line.slice(4)));
          if (timer === null) timer = setTimeout(() => child.kill('SIGKILL'), killAfter);
        } else if (line.startsWith('start ')) res.start = Number(line.slice(6));
        else if (line.startsWith('repaired ')) res.repaired = line;
        else if (line.startsWith('bad ')) res.bad = line;
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (timer !== null) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code} ${signal}: ${res.bad} ${err}`));
      else resolve(res);
    });
  });
}

/** Where the record with sequence `seq` ends (segment, offset), read from the WAL. */
function endOf(dir: string, seq: number): { seg: number; off: number } {
  const r = openReader([{ dir }]);
  let i = 0;
  let at = { seg: -1, off: -1 };
  while (r.next()) {
    if (i === seq) at = { seg: r.segment(), off: r.offset() };
    i++;
  }
  r.close();
  return at;
}

/** Models a power loss: damages unacknowledged bytes after the end of record `seq`. */
async function loseUnsyncedTail(dir: string, seq: number, u: number, zero: boolean): Promise<boolean> {
  const segs = (await readdir(dir)).map(parseSegmentName).filter((i) => i >= 0);
  const { seg, off } = endOf(dir, seq);
  if (seg < 0) return false;
  // Later segments hold only unacknowledged records: drop their content too.
  for (const i of segs) if (i > seg) await truncate(`${dir}/${segmentName(i)}`, 0);
  const path = `${dir}/${segmentName(seg)}`;
  const size = (await stat(path)).size;
  if (size <= off) return false;
  const cut = off + Math.floor(u * (size - off));
  if (!zero) {
    await truncate(path, cut);
  } else {
    const fh = await open(path, 'r+');
    await fh.write(new Uint8Array(size - cut), 0, size - cut, cut);
    await fh.close();
  }
  return true;
}

describe('crash safety under SIGKILL', () => {
  test(
    'every acknowledged record survives repeated kills and simulated torn tails, and nothing corrupt is read',
    async () => {
      const dir = await tempDir('walcrash');
      dirs.push(dir);
      let x = 7;
      const rand = () => (x = (x * 1103515245 + 12345) >>> 0) / 4294967296;
      let totalAcked = -1;
      let repairs = 0;
      let damaged = 0;
      for (let run = 0; run < RUNS; run++) {
        const r = await runOnce(dir, run % 2 === 0, 1000 + run, Math.floor(rand() * 400));
        expect(r.bad, 'child found a bad record on replay').toBe('');
        // The child resumed right after the records that survived the previous kill.
        expect(r.start).toBeGreaterThan(totalAcked);
        if (r.repaired !== '') repairs++;
        totalAcked = Math.max(totalAcked, r.maxAck);

        const { recs, err } = readAll([{ dir }]);
        const seqs = recs.map(checkPayload);
        // In order, no gaps, no corrupt payloads…
        expect(seqs.every((s, i) => s === i)).toBe(true);
        // …and every acknowledged record is there.
        expect(recs.length).toBeGreaterThan(totalAcked);
        if (err !== null) {
          // Only a torn tail in the newest segment holding data is acceptable.
          expect(err).toBeInstanceOf(CorruptionError);
          const segs = (await readdir(dir)).map(parseSegmentName).filter((i) => i >= 0);
          let lastWithData = -1;
          for (const i of segs) if ((await stat(`${dir}/${segmentName(i)}`)).size > 0) lastWithData = Math.max(lastWithData, i);
          expect((err as CorruptionError).segment).toBe(lastWithData);
        }
        if (run % 2 === 1 && (await loseUnsyncedTail(dir, totalAcked, rand(), rand() < 0.5))) damaged++;
      }
      expect(totalAcked).toBeGreaterThan(RUNS);
      expect(damaged).toBeGreaterThan(0);
      // The last damage is repaired by one more start.
      const last = await runOnce(dir, false, 1, 0);
      expect(last.start).toBeGreaterThan(totalAcked);
      if (last.repaired !== '') repairs++;
      expect(repairs).toBeGreaterThan(0);
      console.log(`crash test: ${RUNS} kills, ${totalAcked + 1} records acknowledged, ${damaged} simulated torn tails, ${repairs} repairs`);
    },
    RUNS * 10_000,
  );
});
