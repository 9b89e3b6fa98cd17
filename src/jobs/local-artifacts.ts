/**
 * Dump archives in a local directory laid out like the file store
 * (`<root>/plugin-data/mattermost-plugin-metrics/dump/<id>/tsdb_dump.tar.gz`).
 *
 * Implements the API's artifact reader (`stat`/`open` with byte ranges, streamed) and
 * the runner's `deleteArtifacts`. The app uses it when the file store is a local
 * directory; with S3 the file store's own reader stands in. Every key is resolved
 * inside `root` and must lie under the dump folder, so a forged `dump_location`
 * (`../../etc/passwd`, an absolute path) can neither be read nor deleted.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DUMP_ROOT, dumpDir } from './paths.js';
import type { DumpJob } from './types.js';

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export class ArtifactPathError extends Error {
  readonly code = 'MM_ERR_ARTIFACT_PATH';
  constructor(location: string) {
    super(`artifact location ${JSON.stringify(location)} is not under ${DUMP_ROOT}/`);
    this.name = 'ArtifactPathError';
  }
}

export class LocalDumpArtifacts {
  readonly root: string;
  private readonly dumpRoot: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.dumpRoot = path.join(this.root, DUMP_ROOT);
    this.deleteArtifacts = this.deleteArtifacts.bind(this);
  }

  /** Absolute path of a file-store key; throws ArtifactPathError if it would leave the dump folder. */
  resolve(location: string): string {
    if (typeof location !== 'string' || location === '' || location.includes('\0') || path.isAbsolute(location)) {
      throw new ArtifactPathError(String(location));
    }
    const abs = path.resolve(this.root, location);
    if (!abs.startsWith(this.dumpRoot + path.sep)) throw new ArtifactPathError(location);
    return abs;
  }

  /** Size of the archive, or null if it does not exist (or is not a regular file). */
  async stat(location: string): Promise<{ size: number; mtimeMs: number } | null> {
    try {
      const st = await fsp.stat(this.resolve(location));
      return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw e;
    }
  }

  /**
   * A stream of the archive (or of one inclusive byte range). The file is opened before
   * this resolves, so a missing file is a rejection here and not an error mid-response.
   */
  async open(location: string, range?: ByteRange): Promise<Readable> {
    const fh = await fsp.open(this.resolve(location), 'r');
    return range ? fh.createReadStream({ start: range.start, end: range.end }) : fh.createReadStream();
  }

  /** Removes `dump/<id>/` (idempotent). Bound in the constructor so it can be passed as a function. */
  async deleteArtifacts(job: DumpJob): Promise<void> {
    await fsp.rm(path.join(this.root, dumpDir(job.id)), { recursive: true, force: true });
  }
}
