/**
 * Key grammar shared by every backend, so that local and S3 accept and reject exactly the
 * same keys.
 *
 *   key    = segment *( "/" segment )
 *   prefix = "" | key [ "/" ]          ("" is the root of the store)
 *
 * A segment is non-empty, is not "." or "..", contains no "\" and no NUL, and does not start
 * with TEMP_MARKER (reserved for the local backend's in-flight writes). A key never starts or
 * ends with "/" and never has "//". These rules keep a key from escaping the local root on any
 * platform and keep S3 keys mappable one-to-one onto paths (the Mattermost plugin's layout,
 * `plugin-data/mattermost-plugin-metrics/...`, is well inside this grammar).
 */
import { InvalidKeyError } from './errors.js';

/**
 * Names starting with this are in-flight temp files of the local backend. They are invisible
 * to list/listDirs and cannot be used as key segments, so a half-written file is never
 * mistaken for an object.
 */
export const TEMP_MARKER = '.mm-tmp-';

/** Returns why `key` is not a valid key, or '' when it is. */
export function keyProblem(key: string): string {
  if (typeof key !== 'string') return 'not a string';
  if (key.length === 0) return 'empty key';
  if (key.startsWith('/')) return 'absolute keys are not allowed';
  if (key.endsWith('/')) return 'a key must not end with "/"';
  if (key.includes('\0')) return 'NUL character';
  if (key.includes('\\')) return 'backslash (use "/" as separator)';
  const segs = key.split('/');
  for (const s of segs) {
    if (s.length === 0) return 'empty path segment ("//")';
    if (s === '.' || s === '..') return `"${s}" path segment`;
    if (s.startsWith(TEMP_MARKER)) return `segment starts with reserved "${TEMP_MARKER}"`;
  }
  return '';
}

/** Throws InvalidKeyError unless `key` is valid. */
export function checkKey(op: string, key: string): string {
  const p = keyProblem(key);
  if (p !== '') throw new InvalidKeyError(op, String(key), p);
  return key;
}

/**
 * Validates a directory-like prefix and returns it normalised without a trailing "/"
 * ("" for the root). `allowRoot=false` rejects the root (used by deletePrefix, so that an empty
 * string can never wipe a whole store: the plugin had exactly this near-miss, FACTS §5).
 */
export function checkPrefix(op: string, prefix: string, allowRoot = true): string {
  if (typeof prefix !== 'string') throw new InvalidKeyError(op, String(prefix), 'not a string');
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (p === '') {
    if (allowRoot) return '';
    throw new InvalidKeyError(op, prefix, 'refusing to operate on the whole store (empty prefix)');
  }
  const problem = keyProblem(p);
  if (problem !== '') throw new InvalidKeyError(op, prefix, problem);
  return p;
}

/** Joins a normalised prefix ("" or "a/b") and a key or sub-prefix. */
export function joinKey(prefix: string, key: string): string {
  if (prefix === '') return key;
  if (key === '') return prefix;
  return prefix + '/' + key;
}

/**
 * Byte-wise (UTF-8) ordering, the order S3 lists keys in. JS string comparison orders by
 * UTF-16 code units, which differs for characters outside the BMP; comparing code points
 * gives the same order as UTF-8 bytes.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++; // skip the low surrogate we just compared as part of the pair
  }
  return a.length - b.length;
}
