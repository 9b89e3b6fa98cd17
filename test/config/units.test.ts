/**
 * Durations and sizes. Durations are checked against Prometheus's own parser (promtool
 * rejects what model.ParseDuration rejects), for the forms both accept.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatBytes, formatDuration, parseBytes, parseDuration } from '../../src/config/index.js';

describe('parseDuration', () => {
  test.each([
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['1s', 1000],
    ['60s', 60_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['15d', 15 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1y', 365 * 86_400_000],
    ['1h1m1s1ms', 3_661_001],
    [60, 60_000],
    [0.25, 250],
    ['90', 90_000],
    [' 30s ', 30_000],
  ] as const)('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each(['', 'abc', 'x1s', '1s1m', '1m1m', '-1s', '1.5s', '1S', '1 s', 'ms', true, null, -1, Number.NaN, Infinity, {}])('%j is not a duration', (input) => {
    expect(parseDuration(input)).toBeNull();
  });

  test('formatDuration prints the largest units first', () => {
    expect([0, 500, 1000, 90_000, 5_400_000, 15 * 86_400_000, 3_661_001].map(formatDuration)).toEqual(['0s', '500ms', '1s', '1m30s', '1h30m', '2w1d', '1h1m1s1ms']);
  });
});

// Prometheus decides what a duration is; our parser must agree on the strings it accepts.
const havePromtool = existsSync('/usr/bin/promtool');
describe.skipIf(!havePromtool)('parseDuration agrees with Prometheus (promtool check config)', () => {
  const samples = ['0s', '500ms', '1s', '60s', '5m', '1h30m', '15d', '2w', '1y', '1h1m1s1ms', '1s1m', 'abc', '1.5s', '1S', '-1s', '1m1m'];
  test.each(samples)('%j', (d) => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-promdur-'));
    try {
      const f = join(dir, 'prometheus.yml');
      // scrape_timeout must be ≤ scrape_interval, so test the value as an evaluation_interval.
      writeFileSync(f, `global:\n  evaluation_interval: ${JSON.stringify(d)}\n`);
      let promOk = true;
      try {
        execFileSync('/usr/bin/promtool', ['check', 'config', f], { stdio: 'pipe' });
      } catch {
        promOk = false;
      }
      const ours = parseDuration(d);
      // Prometheus rejects a zero evaluation interval for other reasons; compare acceptance of the syntax.
      if (d === '0s') expect(ours).toBe(0);
      else expect(ours !== null, `ours=${ours} prometheus=${promOk}`).toBe(promOk);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseBytes', () => {
  test.each([
    [0, 0],
    [100, 100],
    ['100', 100],
    ['100B', 100],
    ['1KiB', 1024],
    ['512MiB', 512 * 1024 ** 2],
    ['1GiB', 1024 ** 3],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['2TiB', 2 * 1024 ** 4],
    ['1gib', 1024 ** 3],
  ] as const)('%j is %d bytes', (input, n) => {
    expect(parseBytes(input)).toBe(n);
  });

  test.each(['1MB', '1GB', '1 KB', 'lots', '', '-1', -1, 1.5, true])('%j is not a size', (input) => {
    expect(parseBytes(input)).toBeNull();
  });

  test('formatBytes uses the largest exact binary unit', () => {
    expect([100, 1024, 5 * 1024 ** 2, 1024 ** 3, 1500].map(formatBytes)).toEqual(['100B', '1KiB', '5MiB', '1GiB', '1500B']);
  });
});
