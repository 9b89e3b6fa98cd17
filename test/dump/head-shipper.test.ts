import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../../src/storage/index.js';
import { openDB, type DB } from '../../src/tsdb/db.js';
import { openLocalFileStore } from '../../src/filestore/local.js';
import type { FileStore } from '../../src/filestore/filestore.js';
import { HeadShipper } from '../../src/dump/head-shipper.js';
import { HEAD_SNAPSHOT_HINT, Shipper, blockNode, remoteBlocks } from '../../src/dump/shipper.js';

const H = 3_600_000;
const T0 = Math.floor((Date.now() - 20 * H) / (2 * H)) * 2 * H;
const L = Labels.fromPairs('__name__', 'm', 'instance', 'a:1', 'job', 'prometheus');

async function appendRange(db: DB, from: number, to: number): Promise<void> {
  for (let t = from; t < to; t += 15_000) {
    const app = db.appender();
    app.append(0, L, t, t / 1000);
    await app.commit();
  }
}

describe('HeadShipper', () => {
  let dir: string;
  let db: DB;
  let store: FileStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-headship-'));
    db = await openDB(join(dir, 'tsdb'), { retentionMs: 100 * 24 * H, compaction: false });
    store = await openLocalFileStore(join(dir, 'store'));
  });
  afterEach(async () => {
    await db.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('ships the whole head as a hinted snapshot and skips a pass when nothing is new', async () => {
    await appendRange(db, T0, T0 + H);
    const hs = new HeadShipper({ db, store, periodMs: 60_000, nodeId: 'node-a' });
    const id = await hs.shipOnce();
    expect(id).not.toBeNull();
    const [m] = await remoteBlocks(store);
    expect(m!.ulid).toBe(id);
    expect(m!.compaction?.hints).toEqual(expect.arrayContaining([HEAD_SNAPSHOT_HINT, 'mm-node:node-a']));
    expect(blockNode(m!)).toBe('node-a');
    expect(m!.minTime).toBe(T0);
    expect(m!.maxTime).toBe(T0 + H - 15_000 + 1);
    expect(await hs.shipOnce()).toBeNull();
  });

  test('older snapshots of this node are pruned once newer blocks of the node cover them; other nodes are never touched', async () => {
    await appendRange(db, T0, T0 + H);
    // A snapshot of another node over the same time: must survive everything below.
    const other = new HeadShipper({ db, store, periodMs: 60_000, nodeId: 'node-b' });
    const otherId = await other.shipOnce();
    const hs = new HeadShipper({ db, store, periodMs: 60_000, nodeId: 'node-a' });
    const first = await hs.shipOnce();
    await appendRange(db, T0 + H, T0 + 2 * H);
    const second = await hs.shipOnce(); // covers the first (same head, longer)
    let ids = (await remoteBlocks(store)).map((m) => m.ulid);
    expect(ids).toContain(second);
    expect(ids).not.toContain(first);
    expect(ids).toContain(otherId);
    // The head is cut into a regular block (shipped with the node hint) and keeps growing.
    await appendRange(db, T0 + 2 * H, T0 + 4 * H);
    await db.compact();
    const sh = new Shipper({ dbDir: db.dir, store, retentionMs: 100 * 24 * H, syncPeriodMs: H, cleanupPeriodMs: H, nodeId: 'node-a' });
    expect((await sh.sync()).length).toBeGreaterThan(0);
    const third = await hs.shipOnce();
    ids = (await remoteBlocks(store)).map((m) => m.ulid);
    expect(ids).toContain(third);
    expect(ids).not.toContain(second);
    expect(ids).toContain(otherId);
  });

  test('with a prune grace, a superseded snapshot stays readable until its successor has been in the store that long', async () => {
    await appendRange(db, T0, T0 + H);
    const hs = new HeadShipper({ db, store, periodMs: 60_000, nodeId: 'node-a', pruneGraceMs: 1500 });
    const first = await hs.shipOnce();
    await appendRange(db, T0 + H, T0 + 2 * H);
    const second = await hs.shipOnce();
    expect((await remoteBlocks(store)).map((m) => m.ulid)).toEqual(expect.arrayContaining([first, second]));
    await new Promise((r) => setTimeout(r, 1700)); // the second has settled, a third will not have
    await appendRange(db, T0 + 2 * H, T0 + 2 * H + 60_000);
    const third = await hs.shipOnce();
    const ids = (await remoteBlocks(store)).map((m) => m.ulid);
    expect(ids).not.toContain(first);
    expect(ids).toEqual(expect.arrayContaining([second, third]));
  });
});
