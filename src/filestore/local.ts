/**
 * Local-directory FileStore (Mattermost FileSettings.DriverName = "local").
 *
 *   root/
 *     plugin-data/mattermost-plugin-metrics/data/01J.../meta.json     ← key "plugin-data/.../meta.json"
 *     plugin-data/mattermost-plugin-metrics/data/01J.../.mm-tmp-meta.json.3f9a…  ← in-flight put (invisible)
 *
 * Durability (STYLE.md §7): put writes `.mm-tmp-*` in the target directory, fsyncs it, renames
 * it over the key, then fsyncs the directory. Newly created directories are fsynced into their
 * parents. A crash leaves either the old object, the new one, or a stray temp file that list()
 * ignores (and that deletePrefix removes with its directory).
 *
 * Directories are an implementation detail: delete() prunes directories it empties (up to the
 * root), so "a directory exists" ⇔ "some object is below it", as in S3. A put racing a prune
 * recreates the directory and retries.
 */
import { constants as fsc, createReadStream } from 'node:fs';
import { access, lstat, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { FileStoreError, FileStoreErrorCode, NotFoundError } from './errors.js';
import type { Body, ByteRange, FileStore, ObjectInfo } from './filestore.js';
import { checkKey, checkPrefix, compareKeys, joinKey, TEMP_MARKER } from './keys.js';
import {
  checkRangeShape,
  checkSizeArg,
  chunkBytes,
  downloadTo,
  fsyncDir,
  ioError,
  resolveRange,
  sizeMismatch,
  sourceSize,
  tempPathFor,
  typedReadable,
  writeAll,
} from './util.js';

/** Options of the local backend; see defaultLocalOptions(). */
export interface LocalFileStoreOptions {
  /** Root directory; created if missing. Relative paths resolve against the process CWD. */
  root: string;
  /** fsync files and directories on write (default true). Off only for throwaway test stores. */
  fsync: boolean;
}

export function defaultLocalOptions(): LocalFileStoreOptions {
  return { root: './data/filestore', fsync: true };
}

/** Opens (and creates) a local store rooted at `root`. */
export async function openLocalFileStore(opts: string | Partial<LocalFileStoreOptions>): Promise<LocalFileStore> {
  const o: LocalFileStoreOptions = { ...defaultLocalOptions(), ...(typeof opts === 'string' ? { root: opts } : opts) };
  const root = resolve(o.root);
  try {
    await mkdir(root, { recursive: true });
    const st = await stat(root);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new FileStoreError(FileStoreErrorCode.Config, 'open', '', `open local file store at ${root}: ${errText(e)}`);
  }
  return new LocalFileStore(root, o.fsync);
}

/** How many times put() recreates a directory pruned under it by a concurrent delete. */
const MKDIR_RETRIES = 5;

export class LocalFileStore implements FileStore {
  readonly description: string;
  readonly root: string;
  private readonly fsync: boolean;
  private closed: boolean;

  constructor(root: string, fsync: boolean) {
    this.root = root;
    this.fsync = fsync;
    this.closed = false;
    this.description = `local:${root}`;
  }

  /** Absolute path of a validated key or normalised prefix ("" = root). */
  private abs(key: string): string {
    return key === '' ? this.root : this.root + '/' + key;
  }

  private open(op: string): void {
    if (this.closed) throw new FileStoreError(FileStoreErrorCode.Closed, op, '', `${op}: file store ${this.description} is closed`);
  }

  async put(key: string, body: Body, size?: number): Promise<void> {
    this.open('put');
    checkKey('put', key);
    checkSizeArg('put', key, body, size);
    const target = this.abs(key);
    const dir = dirname(target);
    let fh: FileHandle | null = null;
    const tmp = tempPathFor(target);
    let renamed = false;
    try {
      // Create the directory and the temp file; retry if a concurrent delete pruned the directory in between.
      for (let attempt = 0; ; attempt++) {
        await this.ensureDir('put', key, dir);
        try {
          fh = await open(tmp, 'wx', 0o644);
          break;
        } catch (e) {
          if (errno(e) !== 'ENOENT' || attempt >= MKDIR_RETRIES) throw e;
        }
      }
      let written = 0;
      if (body instanceof Uint8Array) {
        await writeAll(fh, body);
        written = body.length;
      } else {
        try {
          for await (const chunk of body) {
            const b = chunkBytes(chunk);
            written += b.length;
            if (size !== undefined && written > size) throw sizeMismatch('put', key, size, `> ${size}`);
            await writeAll(fh, b);
          }
        } finally {
          if (!body.destroyed) body.destroy();
        }
        if (size !== undefined && written !== size) throw sizeMismatch('put', key, size, written);
      }
      if (this.fsync) await fh.sync();
      await fh.close();
      fh = null;
      await rename(tmp, target);
      renamed = true;
      if (this.fsync) await fsyncDir(dir);
    } catch (e) {
      throw this.mapError('put', key, e);
    } finally {
      if (fh !== null) await fh.close().catch(() => undefined);
      if (!renamed) await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    this.open('putFile');
    checkKey('putFile', key);
    const size = await sourceSize('putFile', key, localPath);
    await this.put(key, createReadStream(localPath), size);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    this.open('get');
    checkKey('get', key);
    checkRangeShape('get', key, range);
    let fh: FileHandle | null = null;
    try {
      fh = await open(this.abs(key), 'r');
      const st = await fh.stat();
      // Opening a directory for reading succeeds on Linux; a directory is not an object.
      if (!st.isFile()) throw new NotFoundError('get', key);
      let start = 0;
      let end = Infinity;
      if (range !== undefined) [start, end] = resolveRange('get', key, range, st.size);
      const src = fh.createReadStream({ start, end, autoClose: true, highWaterMark: 256 * 1024 });
      fh = null; // owned by the stream now
      return typedReadable(src, (e) => this.mapError('get', key, e));
    } catch (e) {
      if (fh !== null) await fh.close().catch(() => undefined);
      throw this.mapError('get', key, e);
    }
  }

  async getFile(key: string, localPath: string): Promise<void> {
    this.open('getFile');
    checkKey('getFile', key);
    const src = await this.get(key);
    try {
      await downloadTo(src, localPath);
    } catch (e) {
      throw this.mapError('getFile', key, e, localPath);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    this.open('stat');
    checkKey('stat', key);
    try {
      const st = await stat(this.abs(key));
      return st.isFile() ? { size: st.size, mtime: st.mtime } : null;
    } catch (e) {
      const c = errno(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return null;
      throw this.mapError('stat', key, e);
    }
  }

  async exists(key: string): Promise<boolean> {
    checkKey('exists', key);
    return (await this.stat(key)) !== null;
  }

  async list(prefix: string): Promise<string[]> {
    this.open('list');
    const p = checkPrefix('list', prefix);
    const out: string[] = [];
    try {
      await this.walk(p, out);
    } catch (e) {
      throw this.mapError('list', prefix, e);
    }
    return out.sort(compareKeys);
  }

  /** Appends every object key below directory-key `dir` to `out`. Missing directories are empty. */
  private async walk(dir: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(this.abs(dir), { withFileTypes: true });
    } catch (e) {
      const c = errno(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return;
      throw e;
    }
    for (const ent of entries) {
      if (ent.name.startsWith(TEMP_MARKER)) continue;
      const k = joinKey(dir, ent.name);
      if (ent.isFile()) out.push(k);
      else if (ent.isDirectory()) await this.walk(k, out);
      // Symlinks and special files were not written by us and are not objects.
    }
  }

  async listDirs(prefix: string): Promise<string[]> {
    this.open('listDirs');
    const p = checkPrefix('listDirs', prefix);
    const out: string[] = [];
    try {
      let entries;
      try {
        entries = await readdir(this.abs(p), { withFileTypes: true });
      } catch (e) {
        const c = errno(e);
        if (c === 'ENOENT' || c === 'ENOTDIR') return [];
        throw e;
      }
      for (const ent of entries) {
        if (!ent.isDirectory() || ent.name.startsWith(TEMP_MARKER)) continue;
        const k = joinKey(p, ent.name);
        // Only directories holding an object count, as with S3's CommonPrefixes.
        if (await this.hasObject(k)) out.push(k);
      }
    } catch (e) {
      throw this.mapError('listDirs', prefix, e);
    }
    return out.sort(compareKeys);
  }

  /** True when some object exists below directory-key `dir` (depth-first, stops at the first file). */
  private async hasObject(dir: string): Promise<boolean> {
    let entries;
    try {
      entries = await readdir(this.abs(dir), { withFileTypes: true });
    } catch {
      return false;
    }
    for (const ent of entries) if (ent.isFile() && !ent.name.startsWith(TEMP_MARKER)) return true;
    for (const ent of entries) if (ent.isDirectory() && (await this.hasObject(joinKey(dir, ent.name)))) return true;
    return false;
  }

  async delete(key: string): Promise<void> {
    this.open('delete');
    checkKey('delete', key);
    const target = this.abs(key);
    try {
      await unlink(target);
    } catch (e) {
      const c = errno(e);
      // Missing, or a directory (EISDIR on Linux, EPERM elsewhere): no object by that key.
      if (c === 'ENOENT' || c === 'ENOTDIR' || c === 'EISDIR' || c === 'EPERM') return;
      throw this.mapError('delete', key, e);
    }
    try {
      if (this.fsync) await fsyncDir(dirname(target));
      await this.prune(dirname(target));
    } catch (e) {
      throw this.mapError('delete', key, e);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.open('deletePrefix');
    const p = checkPrefix('deletePrefix', prefix, false);
    const dir = this.abs(p);
    try {
      const st = await lstat(dir).catch((e: unknown) => {
        if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return null;
        throw e;
      });
      // A file named exactly like the prefix is not "under" it (S3 lists "prefix/").
      if (st === null || !st.isDirectory()) return;
      await rm(dir, { recursive: true, force: true });
      if (this.fsync) await fsyncDir(dirname(dir));
      await this.prune(dirname(dir));
    } catch (e) {
      throw this.mapError('deletePrefix', prefix, e);
    }
  }

  async check(): Promise<void> {
    this.open('check');
    try {
      const st = await stat(this.root);
      if (!st.isDirectory()) throw ioError('check', '', `${this.root} is not a directory`, FileStoreErrorCode.Config);
      await access(this.root, fsc.R_OK | fsc.W_OK | fsc.X_OK);
    } catch (e) {
      throw this.mapError('check', '', e);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Creates `dir` and fsyncs each newly created directory entry into its parent. */
  private async ensureDir(op: string, key: string, dir: string): Promise<void> {
    let first: string | undefined;
    try {
      first = await mkdir(dir, { recursive: true });
    } catch (e) {
      const c = errno(e);
      if (c === 'EEXIST' || c === 'ENOTDIR') {
        throw new FileStoreError(FileStoreErrorCode.Conflict, op, key, `${op} ${JSON.stringify(key)}: a parent path of the key is an object (the local store cannot hold both "a" and "a/b")`);
      }
      throw e;
    }
    if (first === undefined || !this.fsync) return;
    // mkdir created `first` … `dir`; each needs its entry fsynced in its parent.
    for (let d = dir; ; d = dirname(d)) {
      await fsyncDir(dirname(d));
      if (d === first || d === this.root || dirname(d) === d) break;
    }
  }

  /** Removes now-empty directories from `dir` up to (not including) the root. */
  private async prune(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root + '/'); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // ENOTEMPTY (the usual case), ENOENT (a concurrent prune), or anything else: stop quietly
      }
    }
  }

  private mapError(op: string, key: string, e: unknown, localPath?: string): FileStoreError {
    if (e instanceof FileStoreError) return e;
    const c = errno(e);
    const where = localPath !== undefined ? ` (local file ${localPath})` : '';
    if (localPath === undefined && (c === 'ENOENT' || c === 'ENOTDIR') && (op === 'get' || op === 'getFile')) return new NotFoundError(op, key);
    if (c === 'EISDIR' && op === 'put') {
      return new FileStoreError(FileStoreErrorCode.Conflict, op, key, `${op} ${JSON.stringify(key)}: a directory with this name holds other objects (the local store cannot hold both "a" and "a/b")`);
    }
    if (c === 'EACCES' || c === 'EPERM' || c === 'EROFS') return ioError(op, key, `permission denied${where}: ${errText(e)}`, FileStoreErrorCode.AccessDenied);
    return new FileStoreError(FileStoreErrorCode.Io, op, key, `${op} ${JSON.stringify(key)}${where}: ${errText(e)}`, { cause: e });
  }
}

function errno(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : '';
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
