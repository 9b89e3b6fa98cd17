import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openLocalFileStore } from '../../src/filestore/local.js';
import { openS3FileStore } from '../../src/filestore/index.js';
import { PrefixedFileStore } from '../../src/filestore/prefixed.js';
import type { FileStore } from '../../src/filestore/filestore.js';
import { DATA_ROOT, uploadBlock } from '../../src/dump/shipper.js';
import { listFiles } from '../../src/dump/archive.js';
import { TsdbDumpBuilder } from '../../src/dump/builder.js';
import { dumpLocation } from '../../src/jobs/paths.js';
import { JobStatus, type DumpJob } from '../../src/jobs/types.js';
import { startS3rver, type TestS3Server } from '../filestore/s3rver-server.js';
import { BLOCK, H, T0, expectedSamples, readBlockSamples, seriesLabels, writeBlocks, type BlockSpec } from './support/blocks.js';

const N = 36; // three days of 2 h blocks
const STEP = 60_000;
const SERIES = seriesLabels(20);
const specs: BlockSpec[] = Array.from({ length: N }, (_, i) => ({ mint: T0 + i * BLOCK, maxt: T0 + (i + 1) * BLOCK, series: SERIES, step: STEP }));

function job(id: string, over: Partial<DumpJob> = {}): DumpJob {
  return {
    id,
    status: JobStatus.InProgress,
    create_at: Date.now(),
    min_t: T0,
    max_t: T0 + N * BLOCK - 1,
    dump_location: '',
    progress: 0,
    error: '',
    data_min_t: 0,
    data_max_t: 0,
    size: 0,
    sha256: '',
    owner: 'test',
    lease_until: 0,
    update_at: 0,
    ...over,
  };
}

const packetInfo = async () => ({ serverId: 'qwertyuiopasdfghjklzxcvbnm', serverVersion: '10.5.0' });

describe('TsdbDumpBuilder over many shipped blocks', () => {
  let dir: string;
  let s3: TestS3Server;
  const stores: Record<string, FileStore> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-dump-many-'));
    // Blocks written straight into a local store's layout, then uploaded to S3 as the shipper does.
    const local = await openLocalFileStore({ root: join(dir, 'local'), fsync: false });
    const metas = await writeBlocks(join(dir, 'local', DATA_ROOT), specs);
    s3 = await startS3rver(['dumps']);
    const s3store = openS3FileStore({ bucket: 'dumps', endpoint: s3.endpoint, ssl: false, accessKeyId: s3.accessKeyId, secretAccessKey: 'test-secret' });
    for (const m of metas) await uploadBlock(s3store, join(dir, 'local', DATA_ROOT, m.ulid), m.ulid);
    // The same local directory seen through a prefix, as inside a Mattermost file store.
    const outer = await openLocalFileStore({ root: join(dir), fsync: false });
    stores.local = local;
    stores.s3 = s3store;
    stores.prefixed = new PrefixedFileStore(outer, 'local');
  }, 120_000);

  afterAll(async () => {
    for (const s of Object.values(stores)) await s.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const logs: Array<Record<string, unknown>> = [];
  function builder(store: FileStore, workDir: string): TsdbDumpBuilder {
    const log = { info: (o: object) => logs.push(o as Record<string, unknown>), warn: () => {} };
    return new TsdbDumpBuilder({ store, db: null, workDir, appVersion: '0.1.0', packetInfo, log });
  }

  async function fetchArchive(store: FileStore, key: string, to: string): Promise<Buffer> {
    await store.getFile(key, to);
    return readFile(to);
  }

  test.each([
    ['a local store (block files hard-linked into the dump)', 'local'],
    ['a local store behind a key prefix', 'prefixed'],
    ['an S3 store (blocks downloaded one cluster ahead)', 's3'],
  ])('a three-day dump from %s holds exactly the samples of the range and checks out with sha256sum', async (_name, which) => {
    const store = stores[which] as FileStore;
    const id = `many${which}`.padEnd(26, 'x');
    const mint = T0 + 3 * BLOCK + 12_345;
    const maxt = T0 + (N - 2) * BLOCK + 30 * 60_000;
    const work = join(dir, `work-${which}`);
    logs.length = 0;
    const progress: number[] = [];
    const res = await builder(store, work).build(job(id, { min_t: mint, max_t: maxt }), (p) => progress.push(p), new AbortController().signal);
    // Progress only moves forward, in steps, and ends at 100.
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.every((p, i) => i === 0 || p > progress[i - 1]!)).toBe(true);
    expect(progress.at(-1)).toBe(100);
    expect(res.location).toBe(dumpLocation(id));
    // Blocks 0–2 and N−1 are outside, 3 and N−2 are cut; every block between is linked whole.
    expect(logs.at(-1)).toMatchObject({ linkedBlocks: N - 6, mergedClusters: 2 });
    const bytes = await fetchArchive(store, res.location, join(dir, `${which}.tar.gz`));
    expect(res.size).toBe(bytes.length);
    expect(res.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const out = join(dir, `x-${which}`);
    await mkdir(out);
    execFileSync('tar', ['xzf', join(dir, `${which}.tar.gz`), '-C', out]);
    execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out });
    const ulids = (await readdir(join(out, 'data'))).filter((n) => /^[0-9A-Z]{26}$/.test(n));
    expect(ulids).toHaveLength(1);
    expect(await readdir(join(out, 'data', 'wal'))).toEqual([]);
    const got = await readBlockSamples(join(out, 'data', ulids[0]!));
    expect(got).toEqual(expectedSamples(specs, mint, maxt));
    // The stage is gone and the store holds the blocks and this one archive.
    expect(await readdir(work)).toEqual([]);
    expect((await store.list('plugin-data/mattermost-plugin-metrics/dump')).filter((k) => k.includes(id))).toEqual([res.location]);
    await store.delete(res.location);
  }, 120_000);

  const otherFs = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;
  test.runIf(otherFs)('a work dir on another file system than the local store fetches blocks through the store instead of linking them', async () => {
    const work = await mkdtemp('/dev/shm/mm-dump-work-');
    try {
      logs.length = 0;
      const id = 'otherfsxxxxxxxxxxxxxxxxxxx';
      const res = await builder(stores.local as FileStore, work).build(job(id), () => {}, new AbortController().signal);
      await stores.local!.getFile(res.location, join(dir, 'otherfs.tar.gz'));
      const out = join(dir, 'x-otherfs');
      await mkdir(out);
      execFileSync('tar', ['xzf', join(dir, 'otherfs.tar.gz'), '-C', out]);
      const ulid = (await readdir(join(out, 'data'))).find((n) => /^[0-9A-Z]{26}$/.test(n))!;
      expect(await readBlockSamples(join(out, 'data', ulid))).toEqual(expectedSamples(specs, T0, T0 + N * BLOCK - 1));
      expect(logs.at(-1)).toMatchObject({ linkedBlocks: N });
      expect(await readdir(work)).toEqual([]);
      await stores.local!.delete(res.location);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);

  test.each([
    ['a local store', 'local'],
    ['an S3 store', 's3'],
  ])('cancelling mid-build on %s leaves nothing in the store and nothing in the work dir', async (_name, which) => {
    const store = stores[which] as FileStore;
    const id = `cancel${which}`.padEnd(26, 'x');
    const work = join(dir, `work-cancel-${which}`);
    const ac = new AbortController();
    let seen = 0;
    const p = builder(store, work).build(
      job(id),
      (pct) => {
        seen = Math.max(seen, pct);
        if (pct >= 30) ac.abort(new Error('cancelled by admin'));
      },
      ac.signal,
    );
    await expect(p).rejects.toThrow(/cancelled by admin/);
    expect(seen).toBeGreaterThanOrEqual(30);
    expect(seen).toBeLessThan(100);
    expect(await store.list('plugin-data/mattermost-plugin-metrics/dump')).toEqual([]);
    expect(await readdir(work)).toEqual([]);
    if (which === 'local') {
      // No temp file of the aborted upload either (an emptied folder may stay: it holds no object).
      expect(await listFiles(join(dir, 'local', 'plugin-data/mattermost-plugin-metrics/dump'))).toEqual([]);
    }
  }, 120_000);

  test('a store that refuses the archive fails the build and keeps nothing', async () => {
    const id = 'refusedxxxxxxxxxxxxxxxxxxx';
    // A file where the dump's folder should be: the local store cannot create the archive.
    const blocker = join(dir, 'local', 'plugin-data/mattermost-plugin-metrics/dump', id);
    await mkdir(join(blocker, '..'), { recursive: true });
    await writeFile(blocker, 'not a folder');
    const work = join(dir, 'work-refused');
    await expect(builder(stores.local as FileStore, work).build(job(id), () => {}, new AbortController().signal)).rejects.toThrow();
    expect(await readdir(work)).toEqual([]);
    expect(await listFiles(join(blocker, '..'))).toEqual([id]);
    await rm(blocker);
  }, 120_000);

  test('a range before the first block fails as empty without starting an upload', async () => {
    const id = 'emptyxxxxxxxxxxxxxxxxxxxxx';
    const work = join(dir, 'work-empty');
    await expect(builder(stores.local as FileStore, work).build(job(id, { min_t: T0 - 10 * H, max_t: T0 - 9 * H }), () => {}, new AbortController().signal)).rejects.toMatchObject({ code: 'MM_ERR_DUMP_EMPTY' });
    expect(await stores.local!.exists(dumpLocation(id))).toBe(false);
  });
});
