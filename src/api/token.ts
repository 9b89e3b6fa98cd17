/**
 * The static admin token: generated once, kept in the data dir with mode 0600.
 *
 * The caller (src/app.ts) prints the token when `created` is true — that is the only
 * time it is shown; afterwards it is read from the file. It is never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminToken {
  token: string;
  /** True when this call generated the token (print it once). */
  created: boolean;
  /** Where it is stored. */
  path: string;
}

export class AdminTokenError extends Error {
  readonly code = 'MM_ERR_ADMIN_TOKEN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminTokenError';
  }
}

/** Minimum length of a token read from the file (a generated one has 43 chars). */
const MIN_TOKEN_LENGTH = 20;

/**
 * Reads `<dataDir>/admin-token`, or creates it with 32 random bytes (base64url) via
 * tmp + fsync + rename + dir fsync. Tightens the mode to 0600 if it was looser.
 */
export async function loadOrCreateAdminToken(dataDir: string): Promise<AdminToken> {
  await fsp.mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const text = await fsp.readFile(file, 'utf8');
    const token = text.trim();
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new AdminTokenError(`${file}: token must be at least ${MIN_TOKEN_LENGTH} characters without spaces`);
    }
    const st = await fsp.stat(file);
    if ((st.mode & 0o077) !== 0) await fsp.chmod(file, 0o600);
    return { token, created: false, path: file };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('base64url');
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(token + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  // link() fails if another process created the file meanwhile: then its token wins.
  try {
    await fsp.link(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateAdminToken(dataDir);
    throw e;
  }
  await fsp.rm(tmp, { force: true });
  const dh = await fsp.open(dataDir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return { token, created: true, path: file };
}

/**
 * Compares two secrets in time independent of where they differ and of their lengths
 * (both are hashed to 32 bytes first, so timingSafeEqual always sees equal lengths).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** Short non-reversible key for caches and logs: never the token itself. */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
