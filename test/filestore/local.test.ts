/**
 * Local-backend specifics: what is on disk (plain files a Mattermost server or the Go plugin
 * can read), temp-file hygiene, directory pruning, the file/directory conflict, races between
 * put and pruning, and containment of path tricks.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FileStoreErrorCode, isFileStoreError, openFileStore, openLocalFileStore, type LocalFileStore } from '../../src/filestore/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-local-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function fresh(name: string): Promise<{ store: LocalFileStore; root: string }> {
  const root = join(tmp, name, 'root');
  return { store: await openLocalFileStore(root), root };
}

/** All paths below `dir`, relative, including directories (with a trailing "/"). */
async function tree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(p + '/', ...(await tree(dir, p)));
    else out.push(p);
  }
  return out.sort();
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(isFileStoreError(e), String(e)).toBe(true);
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('local file store on disk', () => {
  test('objects are plain files at root/<key>, the layout the Mattermost plugin uses', async () => {
    const { store, root } = await fresh('layout');
    await store.put('plugin-data/mattermost-plugin-metrics/data/01HZX/meta.json', Buffer.from('{"version":1}'));
    expect(await readFile(join(root, 'plugin-data/mattermost-plugin-metrics/data/01HZX/meta.json'), 'utf8')).toBe('{"version":1}');
    expect(await tree(root)).toEqual([
      'plugin-data/',
      'plugin-data/mattermost-plugin-metrics/',
      'plugin-data/mattermost-plugin-metrics/data/',
      'plugin-data/mattermost-plugin-metrics/data/01HZX/',
      'plugin-data/mattermost-plugin-metrics/data/01HZX/meta.json',
    ]);
  });

  test('puts leave no temp files behind, and stray temp files are invisible to list and listDirs', async () => {
    const { store, root } = await fresh('temps');
    await store.put('a/b', Readable.from([Buffer.from('x')]));
    await store.put('a/c', Buffer.from('y'));
    expect(await tree(root)).toEqual(['a/', 'a/b', 'a/c']);
    // A crash mid-put leaves a temp file; it must never look like an object.
    await writeFile(join(root, 'a', '.mm-tmp-b.123abc'), 'partial');
    await mkdir(join(root, 'ghost'));
    await writeFile(join(root, 'ghost', '.mm-tmp-x.456def'), 'partial');
    expect(await store.list('')).toEqual(['a/b', 'a/c']);
    expect(await store.listDirs('')).toEqual(['a']);
    await store.deletePrefix('a');
    expect(await tree(root)).toEqual(['ghost/', 'ghost/.mm-tmp-x.456def']);
  });

  test('a failed put removes its temp file and keeps the old content', async () => {
    const { store, root } = await fresh('failed');
    await store.put('k', Buffer.from('old'));
    const bad = new Readable({
      read() {
        this.destroy(new Error('boom'));
      },
    });
    await expect(store.put('k', bad)).rejects.toThrow();
    expect(await tree(root)).toEqual(['k']);
    expect(await readFile(join(root, 'k'), 'utf8')).toBe('old');
  });

  test('delete prunes directories it empties, up to but not including the root', async () => {
    const { store, root } = await fresh('prune');
    await store.put('x/y/z/leaf', Buffer.from('1'));
    await store.put('x/keep', Buffer.from('2'));
    await store.delete('x/y/z/leaf');
    expect(await tree(root)).toEqual(['x/', 'x/keep']);
    await store.delete('x/keep');
    expect(await tree(root)).toEqual([]);
    await store.put('again', Buffer.from('root still usable'));
    expect(await tree(root)).toEqual(['again']);
  });

  test('a key cannot be both an object and a directory: Conflict in both directions', async () => {
    const { store } = await fresh('conflict');
    await store.put('a', Buffer.from('file'));
    expect(await codeOf(store.put('a/b', Buffer.from('under a file')))).toBe(FileStoreErrorCode.Conflict);
    await store.put('d/e', Buffer.from('x'));
    expect(await codeOf(store.put('d', Buffer.from('over a directory')))).toBe(FileStoreErrorCode.Conflict);
    expect(await store.list('')).toEqual(['a', 'd/e']);
  });

  test('puts racing with deletes that prune the same directory all succeed', async () => {
    const { store } = await fresh('race');
    const ops: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      ops.push(store.put(`r/d/k${i}`, Buffer.from(String(i))));
      ops.push(store.delete(`r/d/k${i - 1}`));
    }
    await Promise.all(ops);
    const left = await store.list('r');
    // Every put succeeded; whatever survived the deletes is intact.
    expect(left).toContain('r/d/k199');
    for (const k of left) expect((await readFile(join(tmp, 'race', 'root', k), 'utf8')).length).toBeGreaterThan(0);
  });

  test('path tricks never create anything outside the root', async () => {
    const { store } = await fresh('escape');
    for (const key of ['../outside', '../../outside', '/tmp/outside', 'a/../../outside', 'a\\..\\..\\outside']) {
      expect(await codeOf(store.put(key, Buffer.from('x')))).toBe(FileStoreErrorCode.InvalidKey);
    }
    expect(await tree(join(tmp, 'escape'))).toEqual(['root/']);
  });

  test('opening a root that is a file fails with a Config error naming the path', async () => {
    const f = join(tmp, 'a-file');
    await writeFile(f, 'x');
    let err: unknown = null;
    try {
      await openLocalFileStore(f);
    } catch (e) {
      err = e;
    }
    expect(isFileStoreError(err, FileStoreErrorCode.Config)).toBe(true);
    expect((err as Error).message).toContain(f);
  });

  // Root ignores permission bits, so this can only be checked as an ordinary user.
  test.skipIf(process.getuid?.() === 0)('a read-only root gives AccessDenied on put and on check', async () => {
    const { store, root } = await fresh('readonly');
    await chmod(root, 0o555);
    try {
      expect(await codeOf(store.put('x', Buffer.from('x')))).toBe(FileStoreErrorCode.AccessDenied);
      expect(await codeOf(store.check())).toBe(FileStoreErrorCode.AccessDenied);
    } finally {
      await chmod(root, 0o755);
    }
  });

  test('openFileStore picks the backend from the driver name', async () => {
    const store = await openFileStore({ driver: 'local', root: join(tmp, 'factory') });
    expect(store.description).toBe(`local:${join(tmp, 'factory')}`);
    await store.put('k', Buffer.from('v'));
    expect(await store.exists('k')).toBe(true);
    const s3 = await openFileStore({ driver: 's3', bucket: 'b', endpoint: '127.0.0.1:1', ssl: false });
    expect(s3.description).toBe('s3://b at http://127.0.0.1:1');
    await s3.close();
  });

  test('with fsync off the store still behaves the same', async () => {
    const store = await openLocalFileStore({ root: join(tmp, 'nofsync'), fsync: false });
    await store.put('a/b', Buffer.from('v'));
    expect(await store.list('')).toEqual(['a/b']);
    await store.delete('a/b');
    expect(await store.list('')).toEqual([]);
  });
});
