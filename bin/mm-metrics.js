#!/usr/bin/env node
// Entry point. Runs dist/ (compiled by scripts/build.mjs, which `npm ci` runs as `prepare`)
// when it was built from exactly the sources present; otherwise, e.g. after editing src/
// without `npm run build`, runs the TypeScript sources through tsx's loader, which behaves
// the same but costs ~50 MB more resident memory. dist/ can never drift from the sources.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtFrom } from '../scripts/fingerprint.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function builtFromSources() {
  if (process.env.MM_METRICS_NO_DIST === '1') return false;
  // stat-only check when nothing changed since the last match; content hash otherwise
  return builtFrom(join(root, 'src'), join(root, 'dist'));
}

let main;
if (builtFromSources()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
