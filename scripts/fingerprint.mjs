// The fingerprint of the TypeScript sources that bin/mm-metrics.js compares with dist/BUILD:
// a SHA-256 over every source file's relative path and content, so any edit, addition or
// removal since the build makes dist/ stale (content, not mtimes: checkouts reset mtimes).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update('\0');
    h.update(readFileSync(join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex');
}
