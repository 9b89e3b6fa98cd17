// The fingerprint of the TypeScript sources that bin/mm-metrics.js compares with dist/BUILD:
// a SHA-256 over every source file's relative path and content, so any edit, addition or
// removal since the build makes dist/ stale (content, not mtimes: checkouts reset mtimes).
// `builtFrom` checks it cheaply at every start: a stat-only fingerprint first, the content
// hash only when that changed.
import { readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// node:crypto is loaded only when content is hashed (its import alone costs ~7 ms CPU,
// more than the whole stat check).
const require = createRequire(import.meta.url);

/** Relative paths of src's .ts files (no .d.ts), sorted so the fingerprint is stable. */
export function listSources(dir, rel = '') {
  const out = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...listSources(dir, p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

export function fingerprint(dir, files = listSources(dir)) {
  const h = require('node:crypto').createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update('\0');
    h.update(readFileSync(join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * A cheap stand-in for `fingerprint`: one line per source file with its relative path,
 * size, inode, mtime and ctime, read with stat only (no content, no hashing). Equal
 * values mean no file was added, removed, replaced or written since: every write updates
 * ctime, which no user call can set back, so an edit is never missed; a mismatch
 * (checkout, copy, touch, chmod) only sends the caller back to the content hash.
 */
export function statFingerprint(dir, files = listSources(dir)) {
  let out = '';
  for (const f of files) {
    const s = statSync(join(dir, f));
    out += `${f}\t${s.size} ${s.ino} ${s.mtimeMs} ${s.ctimeMs}\n`;
  }
  return out;
}

/**
 * Whether `distDir` (with `BUILD` = `fingerprint(srcDir)` at build time) was built from
 * exactly the sources in `srcDir`. Fast path: `BUILD.stat` (written here, best effort)
 * holds the content fingerprint it vouches for, then the `statFingerprint` seen when
 * that content last matched; if both still hold, no source is read or hashed. Otherwise the sources are
 * hashed, and on a match `BUILD.stat` is refreshed (temp + rename; a read-only dist/ just
 * stays on the slow path). The stat fingerprint is taken before the content is read, so
 * an edit racing with this check leaves a `BUILD.stat` that no longer matches.
 */
export function builtFrom(srcDir, distDir) {
  let built;
  try {
    built = readFileSync(join(distDir, 'BUILD'), 'utf8').trim();
  } catch {
    return false;
  }
  const files = listSources(srcDir);
  const st = statFingerprint(srcDir, files);
  try {
    const m = readFileSync(join(distDir, 'BUILD.stat'), 'utf8');
    const nl = m.indexOf('\n');
    if (m.slice(0, nl) === built && m.slice(nl + 1) === st) return true;
  } catch {
    // no manifest yet: hash
  }
  if (fingerprint(srcDir, files) !== built) return false;
  const tmp = join(distDir, `.BUILD.stat.${process.pid}`);
  try {
    writeFileSync(tmp, `${built}\n${st}`);
    renameSync(tmp, join(distDir, 'BUILD.stat'));
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing written
    }
  }
  return true;
}
