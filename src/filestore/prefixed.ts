/**
 * A view of another FileStore under a fixed key prefix, e.g. the plugin's
 * `plugin-data/mattermost-plugin-metrics` inside a Mattermost file store. Keys passed in are
 * relative to the prefix; keys returned are relative to the prefix too, so code using the view
 * cannot tell it from a store of its own. Errors from the inner store pass through unchanged
 * (keeping their S3 fields) and so name the full key, which is what an operator finds in the
 * bucket or directory.
 *
 * close() does not close the inner store: a view is usually one of several over a shared
 * store whose owner closes it.
 */
import type { Readable } from 'node:stream';
import { FileStoreError, FileStoreErrorCode } from './errors.js';
import type { Body, ByteRange, FileStore, ObjectInfo } from './filestore.js';
import { checkKey, checkPrefix, joinKey } from './keys.js';

export class PrefixedFileStore implements FileStore {
  readonly description: string;
  readonly inner: FileStore;
  /** Normalised: no leading or trailing "/", never empty. */
  readonly prefix: string;
  private closed: boolean;

  constructor(inner: FileStore, prefix: string) {
    const p = checkPrefix('open', prefix.replace(/^\/+/, ''));
    if (p === '') throw new FileStoreError(FileStoreErrorCode.Config, 'open', prefix, 'open prefixed file store: empty prefix (use the inner store directly)');
    this.inner = inner;
    this.prefix = p;
    this.closed = false;
    this.description = `${inner.description} under ${p}/`;
  }

  private open(op: string): void {
    if (this.closed) throw new FileStoreError(FileStoreErrorCode.Closed, op, '', `${op}: file store ${this.description} is closed`);
  }

  private k(op: string, key: string): string {
    return joinKey(this.prefix, checkKey(op, key));
  }

  private strip(full: string): string {
    return full.slice(this.prefix.length + 1);
  }

  async put(key: string, body: Body, size?: number): Promise<void> {
    this.open('put');
    const full = this.k('put', key);
    return this.inner.put(full, body, size);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    this.open('putFile');
    const full = this.k('putFile', key);
    return this.inner.putFile(full, localPath);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    this.open('get');
    const full = this.k('get', key);
    return this.inner.get(full, range);
  }

  async getFile(key: string, localPath: string): Promise<void> {
    this.open('getFile');
    const full = this.k('getFile', key);
    return this.inner.getFile(full, localPath);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    this.open('stat');
    const full = this.k('stat', key);
    return this.inner.stat(full);
  }

  async exists(key: string): Promise<boolean> {
    checkKey('exists', key);
    return (await this.stat(key)) !== null;
  }

  async list(prefix: string): Promise<string[]> {
    this.open('list');
    const p = checkPrefix('list', prefix);
    const keys = await this.inner.list(joinKey(this.prefix, p));
    return keys.map((k) => this.strip(k));
  }

  async listDirs(prefix: string): Promise<string[]> {
    this.open('listDirs');
    const p = checkPrefix('listDirs', prefix);
    const dirs = await this.inner.listDirs(joinKey(this.prefix, p));
    return dirs.map((k) => this.strip(k));
  }

  async delete(key: string): Promise<void> {
    this.open('delete');
    const full = this.k('delete', key);
    return this.inner.delete(full);
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.open('deletePrefix');
    // Refuse the empty prefix here too: deleting "everything in the view" is the same accident.
    const p = checkPrefix('deletePrefix', prefix, false);
    return this.inner.deletePrefix(joinKey(this.prefix, p));
  }

  async check(): Promise<void> {
    this.open('check');
    return this.inner.check();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
