/**
 * `npm run bench`: runs every bench/**\/*.bench.ts in its own process (so one
 * benchmark's heap never skews another's), echoes their output and collects the
 * `FIGURE name: value unit` lines into a summary at the end.
 * Filter with an argument: `npm run bench -- scrape` runs files whose path contains "scrape".
 * Macro side-by-side runs (bench/macro) are long; they run only with MM_BENCH_MACRO=1.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv[2] ?? '';

function walk(dir: string, out: string[]): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e === 'macro' && process.env.MM_BENCH_MACRO !== '1') continue;
      if (e === 'node_modules') continue;
      walk(p, out);
    } else if (e.endsWith('.bench.ts')) out.push(p);
  }
  return out;
}

const files = walk(join(root, 'bench'), []).sort().filter((f) => f.includes(filter));
const figures: string[] = [];
let failed = 0;
for (const f of files) {
  const rel = relative(root, f);
  process.stdout.write(`\n== ${rel}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', f], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout ?? '');
  for (const line of (r.stdout ?? '').split('\n')) if (line.startsWith('FIGURE ')) figures.push(`${rel}: ${line.slice(7)}`);
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`!! ${rel} exited with ${r.status}\n`);
  }
}
process.stdout.write('\n== figures\n' + figures.join('\n') + '\n');
process.exit(failed === 0 ? 0 : 1);
