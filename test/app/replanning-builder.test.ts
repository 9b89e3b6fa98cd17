import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pino from 'pino';
import { Labels } from '../../src/storage/index.js';
import { openDB, type DB } from '../../src/tsdb/db.js';
import { openLocalFileStore } from '../../src/filestore/local.js';
import type { Body, ByteRange, FileStore, ObjectInfo } from '../../src/filestore/filestore.js';
import { HeadShipper } from '../../src/dump/head-shipper.js';
import { DATA_ROOT } from '../../src/dump/shipper.js';
import { TsdbDumpBuilder } from '../../src/dump/builder.js';
import { ReplanningBuilder } from '../../src/app/replanning-builder.js';
import type { DumpJob } from '../../src/jobs/types.js';

const L = Labels.fromPairs('__name__', 'm', 'instance', 'a:1', 'job', 'prometheus');

/**
 * The real local store, plus what the leader's pruning does in a cluster: the first time
 * a dump reads the files of block `victim` (after listing it), the block is deleted.
 */
class PruningStore implements FileStore {
  victim = '';
  pruned = 0;
  constructor(private readonly inner: FileStore) {}
  get description(): string {
    return this.inner.description;
  }
  private async hit(key: string): Promise<void> {
    const dir = `${DATA_ROOT}/${this.victim}`;
    if (this.victim && key.startsWith(dir) && !key.endsWith('meta.json')) {
      this.victim = '';
      this.pruned++;
      await this.inner.delete(`${dir}/meta.json`);
      await this.inner.deletePrefix(dir);
    }
  }
  put(key: string, body: Body, size?: number): Promise<void> {
    return this.inner.put(key, body, size);
  }
  putFile(key: string, p: string): Promise<void> {
    return this.inner.putFile(key, p);
  }
  async get(key: string, range?: ByteRange): Promise<Readable> {
    await this.hit(key);
    return this.inner.get(key, range);
  }
  async getFile(key: string, p: string): Promise<void> {
    await this.hit(key);
    return this.inner.getFile(key, p);
  }
  stat(key: string): Promise<ObjectInfo | null> {
    return this.inner.stat(key);
  }
  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }
  async list(prefix: string): Promise<string[]> {
    await this.hit(prefix + '/');
    return this.inner.list(prefix);
  }
  listDirs(prefix: string): Promise<string[]> {
    return this.inner.listDirs(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  deletePrefix(prefix: string): Promise<void> {
    return this.inner.deletePrefix(prefix);
  }
  check(): Promise<void> {
    return this.inner.check();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function job(mint: number, maxt: number): DumpJob {
  return {
    id: 'replanreplanreplanreplan01',
    status: 'in_progress',
    create_at: Date.now(),
    min_t: mint,
    max_t: maxt,
    dump_location: '',
    progress: 0,
    error: '',
    data_min_t: 0,
    data_max_t: 0,
    size: 0,
    sha256: '',
    owner: 'n',
    lease_until: 0,
    update_at: 0,
  };
}

describe('ReplanningBuilder (cluster dumps while head snapshots are replaced)', () => {
  let dir: string;
  let db: DB;
  let store: PruningStore;
  let first = '';
  const t0 = Date.now() - 3_600_000;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-replan-'));
    db = await openDB(join(dir, 'tsdb'), { retentionMs: 10 * 86_400_000, compaction: false });
    store = new PruningStore(await openLocalFileStore(join(dir, 'store')));
    const append = async (from: number, to: number) => {
      for (let t = from; t < to; t += 15_000) {
        const a = db.appender();
        a.append(0, L, t, t);
        await a.commit();
      }
    };
    // Two snapshots of one leader: the second covers the first (kept by a long grace).
    const hs = new HeadShipper({ db, store, periodMs: 60_000, nodeId: 'leader', pruneGraceMs: 3_600_000 });
    await append(t0, t0 + 600_000);
    first = (await hs.shipOnce())!;
    await append(t0 + 600_000, t0 + 1_200_000);
    await hs.shipOnce();
  });
  afterEach(async () => {
    await db.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const builder = () =>
    new TsdbDumpBuilder({ store, db: null, workDir: join(dir, 'work'), appVersion: '0.1.0', packetInfo: async () => ({ serverId: 'qwertyuiopasdfghjklzxcvbnm', serverVersion: '10.5.0' }) });

  test('a snapshot pruned after the dump listed it fails the plain builder', async () => {
    store.victim = first;
    await expect(builder().build(job(t0, t0 + 1_200_000), () => {}, new AbortController().signal)).rejects.toThrow();
    expect(store.pruned).toBe(1);
  });

  test('the re-planning builder builds again from a fresh listing and the dump holds all the data', async () => {
    store.victim = first;
    const res = await new ReplanningBuilder(builder(), store, pino({ level: 'silent' })).build(job(t0, t0 + 1_200_000), () => {}, new AbortController().signal);
    expect(store.pruned).toBe(1);
    expect(res.data_min_t).toBe(t0);
    expect(res.data_max_t).toBe(t0 + 1_200_000 - 15_000);
  });

  test('a failure with no vanished input is not retried', async () => {
    let calls = 0;
    const failing = { estimate: builder().estimate.bind(builder()), build: async () => (calls++, Promise.reject(new Error('disk full'))) };
    await expect(new ReplanningBuilder(failing, store, pino({ level: 'silent' })).build(job(t0, t0 + 1), () => {}, new AbortController().signal)).rejects.toThrow('disk full');
    expect(calls).toBe(1);
  });
});
