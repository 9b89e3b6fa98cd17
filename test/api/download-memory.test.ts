/**
 * Downloads stream: a 128 MiB archive fetched by an external client (curl) over real
 * HTTP raises this process's heap + buffer memory by far less than the archive size,
 * and the bytes arrive intact.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BASE_PATH } from '../../src/api/server.js';
import { newId } from '../../src/jobs/id.js';
import { dumpLocation } from '../../src/jobs/paths.js';
import { startHarness, type Harness } from './support/harness.js';

const TOKEN = 'memory-token-0123456789abcdef';
const SIZE = 128 << 20;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ auth: { mode: 'static', token: TOKEN } });
});
afterAll(async () => {
  await h?.close();
});

test('a 128 MiB archive streams to an external client with bounded server memory', async () => {
  const id = newId();
  const loc = dumpLocation(id);
  const file = path.join(h.dir, loc);
  await mkdir(path.dirname(file), { recursive: true });
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const hash = createHash('sha256');
  const ws = createWriteStream(file);
  for (let i = 0; i < SIZE >> 20; i++) {
    block[0] = i; // every MiB differs
    hash.update(block);
    if (!ws.write(Buffer.from(block))) await new Promise<void>((r) => ws.once('drain', () => r()));
  }
  await new Promise<void>((r) => ws.end(() => r()));
  const sha256 = hash.digest('hex');
  const now = Date.now();
  await h.store.create({ id, status: 'success', create_at: now, min_t: 0, max_t: 1, dump_location: loc, progress: 100, error: '', data_min_t: 0, data_max_t: 1, size: SIZE, sha256, owner: '', lease_until: 0, update_at: now });

  globalThis.gc?.();
  const base = process.memoryUsage();
  let peak = 0;
  const sampler = setInterval(() => {
    // Live memory, not garbage awaiting a collection (which depends on the machine's load).
    globalThis.gc?.();
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
  }, 20);
  const out = path.join(h.dir, 'downloaded.tar.gz');
  // --limit-rate keeps the client slower than the disk so back-pressure is exercised.
  const code = await new Promise<number>((resolve) => {
    const c = spawn('curl', ['-sS', '-o', out, '--limit-rate', '200M', '-H', `Authorization: Bearer ${TOKEN}`, `${h.url}${BASE_PATH}/jobs/download/${id}`], { stdio: 'inherit' });
    c.on('exit', (n) => resolve(n ?? -1));
  });
  clearInterval(sampler);
  expect(code).toBe(0);
  const got = createHash('sha256');
  for await (const chunk of createReadStream(out)) got.update(chunk as Buffer);
  expect(got.digest('hex')).toBe(sha256);
  expect(peak).toBeLessThan(32 << 20);
});
