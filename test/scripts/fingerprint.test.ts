/**
 * scripts/fingerprint.mjs `builtFrom`, which bin/mm-metrics.js asks at every start whether
 * dist/ may run: stat-only when nothing changed since the last content match, content hash
 * otherwise; a changed source is never taken for the built one.
 */
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { builtFrom, fingerprint, statFingerprint } from '../../scripts/fingerprint.mjs';
import { Cleanups } from '../support/tsdb.js';

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

async function tree(): Promise<{ src: string; dist: string }> {
  const root = await cleanups.tmp('mm-fingerprint-');
  const src = join(root, 'src');
  const dist = join(root, 'dist');
  mkdirSync(join(src, 'a'), { recursive: true });
  mkdirSync(dist);
  writeFileSync(join(src, 'main.ts'), 'export const x = 1;\n');
  writeFileSync(join(src, 'a', 'b.ts'), 'export const y = 2;\n');
  utimesSync(join(src, 'a', 'b.ts'), 1000, 1000);
  writeFileSync(join(src, 'a', 'types.d.ts'), 'declare const z: number;\n');
  writeFileSync(join(dist, 'BUILD'), fingerprint(src) + '\n');
  return { src, dist };
}

describe('builtFrom (bin/mm-metrics.js: run dist/ only when built from these sources)', () => {
  test('a fresh build matches; the first check records BUILD.stat, later checks match on stats alone', async () => {
    const { src, dist } = await tree();
    expect(existsSync(join(dist, 'BUILD.stat'))).toBe(false);
    expect(builtFrom(src, dist)).toBe(true);
    expect(readFileSync(join(dist, 'BUILD.stat'), 'utf8')).toBe(`${readFileSync(join(dist, 'BUILD'), 'utf8').trim()}\n${statFingerprint(src)}`);
    // Stats alone decide now: a BUILD.stat vouching for a BUILD value is believed without hashing.
    writeFileSync(join(dist, 'BUILD'), 'not-a-content-hash\n');
    expect(builtFrom(src, dist)).toBe(false); // BUILD.stat was for another BUILD
    writeFileSync(join(dist, 'BUILD.stat'), `not-a-content-hash\n${statFingerprint(src)}`);
    expect(builtFrom(src, dist)).toBe(true);
  });

  test.each([
    ['a source edited', (src: string) => writeFileSync(join(src, 'main.ts'), 'export const x = 2;\n')],
    ['a source edited with the same size and its mtime put back', (src: string) => {
      const p = join(src, 'a', 'b.ts'); // its mtime was set to exactly 1000 s by tree()
      writeFileSync(p, 'export const y = 3;\n');
      utimesSync(p, 1000, 1000);
      expect(statSync(p).mtimeMs).toBe(1_000_000);
    }],
    ['a source added', (src: string) => writeFileSync(join(src, 'a', 'c.ts'), 'export {};\n')],
    ['a source removed', (src: string) => unlinkSync(join(src, 'main.ts'))],
  ])('%s after a matching check: no longer built from the sources', async (_name, change) => {
    const { src, dist } = await tree();
    expect(builtFrom(src, dist)).toBe(true);
    change(src);
    expect(builtFrom(src, dist)).toBe(false);
    expect(builtFrom(src, dist)).toBe(false);
  });

  test('only metadata changed (touch, as after a checkout): the content hash still matches and BUILD.stat is refreshed', async () => {
    const { src, dist } = await tree();
    expect(builtFrom(src, dist)).toBe(true);
    const before = readFileSync(join(dist, 'BUILD.stat'), 'utf8');
    utimesSync(join(src, 'main.ts'), new Date(), new Date(Date.now() + 5000));
    expect(builtFrom(src, dist)).toBe(true);
    const after = readFileSync(join(dist, 'BUILD.stat'), 'utf8');
    expect(after).not.toBe(before);
    expect(after.slice(after.indexOf('\n') + 1)).toBe(statFingerprint(src));
  });

  test('.d.ts files do not count; no BUILD means never built', async () => {
    const { src, dist } = await tree();
    writeFileSync(join(src, 'a', 'types.d.ts'), 'declare const z: string;\n');
    expect(builtFrom(src, dist)).toBe(true);
    const other = await tree();
    writeFileSync(join(other.dist, 'BUILD'), '');
    expect(builtFrom(other.src, other.dist)).toBe(false);
  });
});
