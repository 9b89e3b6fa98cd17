import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openLocalFileStore } from '../../src/filestore/local.js';
import type { FileStore } from '../../src/filestore/filestore.js';
import { DATA_ROOT, Shipper, remoteBlocks } from '../../src/dump/shipper.js';
import { uploadTarGz, writeManifest } from '../../src/dump/archive.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function fakeBlock(dbDir: string, ulid: string, minTime: number, maxTime: number): Promise<void> {
  const d = join(dbDir, ulid);
  await mkdir(join(d, 'chunks'), { recursive: true });
  await writeFile(join(d, 'chunks', '000001'), Buffer.alloc(1000, 7));
  await writeFile(join(d, 'index'), Buffer.alloc(500, 3));
  await writeFile(join(d, 'tombstones'), Buffer.from([0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0]));
  await writeFile(join(d, 'meta.json'), JSON.stringify({ ulid, minTime, maxTime, stats: {}, compaction: { level: 1, sources: [ulid] }, version: 1 }, null, '\t'));
}

describe('Shipper', () => {
  let dir: string;
  let store: FileStore;
  const now = 1_700_000_000_000;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-ship-test-'));
    store = await openLocalFileStore(join(dir, 'store'));
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('uploads finished blocks within retention, skips old ones, and is idempotent', async () => {
    const db = join(dir, 'db');
    await fakeBlock(db, '01HAAAAAAAAAAAAAAAAAAAAAAA', now - 4 * HOUR, now - 2 * HOUR);
    await fakeBlock(db, '01HBBBBBBBBBBBBBBBBBBBBBBB', now - 20 * DAY, now - 20 * DAY + 2 * HOUR);
    await mkdir(join(db, '01HCCCCCCCCCCCCCCCCCCCCCCC.tmp-for-creation'), { recursive: true });
    await mkdir(join(db, 'wal'), { recursive: true });
    const s = new Shipper({ dbDir: db, store, retentionMs: 15 * DAY, syncPeriodMs: HOUR, cleanupPeriodMs: HOUR, now: () => now });
    expect(await s.sync()).toEqual(['01HAAAAAAAAAAAAAAAAAAAAAAA']);
    expect(await s.sync()).toEqual([]);
    const keys = await store.list(DATA_ROOT);
    expect(keys).toEqual([
      `${DATA_ROOT}/01HAAAAAAAAAAAAAAAAAAAAAAA/chunks/000001`,
      `${DATA_ROOT}/01HAAAAAAAAAAAAAAAAAAAAAAA/index`,
      `${DATA_ROOT}/01HAAAAAAAAAAAAAAAAAAAAAAA/meta.json`,
      `${DATA_ROOT}/01HAAAAAAAAAAAAAAAAAAAAAAA/tombstones`,
    ]);
    expect(s.stats.uploadedBlocks).toBe(1);
    expect(s.stats.uploadedBytes).toBeGreaterThan(1500);
  });

  test('a block uploaded without meta.json (interrupted) is uploaded again', async () => {
    const db = join(dir, 'db');
    const ulid = '01HAAAAAAAAAAAAAAAAAAAAAAA';
    await fakeBlock(db, ulid, now - 4 * HOUR, now - 2 * HOUR);
    await store.put(`${DATA_ROOT}/${ulid}/index`, Buffer.from('partial'));
    expect((await remoteBlocks(store)).length).toBe(0);
    const s = new Shipper({ dbDir: db, store, retentionMs: 15 * DAY, syncPeriodMs: HOUR, cleanupPeriodMs: HOUR, now: () => now });
    expect(await s.sync()).toEqual([ulid]);
    const idx = await store.get(`${DATA_ROOT}/${ulid}/index`);
    let n = 0;
    for await (const c of idx) n += (c as Buffer).length;
    expect(n).toBe(500);
  });

  test('cleanup removes blocks whose maxTime is past retention and keeps the rest', async () => {
    const db = join(dir, 'db');
    await fakeBlock(db, '01HAAAAAAAAAAAAAAAAAAAAAAA', now - 4 * HOUR, now - 2 * HOUR);
    await fakeBlock(db, '01HBBBBBBBBBBBBBBBBBBBBBBB', now - 10 * DAY, now - 10 * DAY + 2 * HOUR);
    let clock = now;
    const s = new Shipper({ dbDir: db, store, retentionMs: 15 * DAY, syncPeriodMs: HOUR, cleanupPeriodMs: HOUR, now: () => clock });
    await s.sync();
    expect((await remoteBlocks(store)).map((m) => m.ulid)).toHaveLength(2);
    clock = now + 6 * DAY;
    expect(await s.cleanup()).toEqual(['01HBBBBBBBBBBBBBBBBBBBBBBB']);
    expect((await remoteBlocks(store)).map((m) => m.ulid)).toEqual(['01HAAAAAAAAAAAAAAAAAAAAAAA']);
    expect(await store.list(`${DATA_ROOT}/01HBBBBBBBBBBBBBBBBBBBBBBB`)).toEqual([]);
  });

  test('stop() runs a final sync', async () => {
    const db = join(dir, 'db');
    const s = new Shipper({ dbDir: db, store, retentionMs: 15 * DAY, syncPeriodMs: HOUR, cleanupPeriodMs: HOUR, now: () => now });
    s.start();
    await fakeBlock(db, '01HAAAAAAAAAAAAAAAAAAAAAAA', now - 4 * HOUR, now - 2 * HOUR);
    await s.stop();
    expect((await remoteBlocks(store)).map((m) => m.ulid)).toEqual(['01HAAAAAAAAAAAAAAAAAAAAAAA']);
  });
});

describe('uploadTarGz', () => {
  test('streams a directory into the store as a tar.gz that GNU tar extracts, with a sha256sum manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mm-archive-test-'));
    try {
      const stage = join(dir, 'stage');
      await fakeBlock(join(stage, 'data'), '01HAAAAAAAAAAAAAAAAAAAAAAA', 0, 1000);
      await mkdir(join(stage, 'data', 'wal'), { recursive: true });
      await writeFile(join(stage, 'metadata.yaml'), 'version: 1\n');
      const covered = await writeManifest(stage);
      expect(covered).toContain('data/01HAAAAAAAAAAAAAAAAAAAAAAA/index');
      const store = await openLocalFileStore(join(dir, 'store'));
      const res = await uploadTarGz(stage, ['data', 'metadata.yaml', 'SHA256SUMS'], store, 'dump/x/tsdb_dump.tar.gz');
      const archive = join(dir, 'store', 'dump', 'x', 'tsdb_dump.tar.gz');
      const bytes = await readFile(archive);
      expect(res.size).toBe(bytes.length);
      expect(res.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      const out = join(dir, 'out');
      await mkdir(out);
      execFileSync('tar', ['xzf', archive, '-C', out]);
      execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out });
      expect((await readFile(join(out, 'data', '01HAAAAAAAAAAAAAAAAAAAAAAA', 'index'))).length).toBe(500);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
