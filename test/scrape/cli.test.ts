/**
 * `mm-metrics scrape URL` end to end: the real bin script in a child process against
 * a loopback target.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TargetServer, html, text } from '../support/target-server.js';

const run = promisify(execFile);
let server: TargetServer;

beforeAll(async () => {
  server = await TargetServer.start();
  server.define('/ok', () => text('# TYPE a counter\na_total{code="200"} 3\nb{job="exposed"} NaN\nc +Inf\n'));
  server.define('/html', () => html());
  server.define('/many', () => text('a 1\nb 1\nc 1\n'));
});
afterAll(async () => {
  await server.close();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['bin/mm-metrics.js', 'scrape', ...args], { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('mm-metrics scrape', () => {
  test('text output lists the stored samples then the synthetic series, one `{labels} value timestamp` per line', async () => {
    const r = await cli(server.url('/ok'), '--job', 'mm');
    expect(r.code).toBe(0);
    const ls = r.stdout.trim().split('\n');
    const inst = server.address;
    const ts = ls[0]!.split(' ').at(-1)!;
    expect(ts).toMatch(/^\d{13}$/);
    expect(ls.map((l) => l.replace(/ \d{13}$/, ' T'))).toEqual([
      `{__name__="a_total", code="200", instance="${inst}", job="mm"} 3 T`,
      `{__name__="b", exported_job="exposed", instance="${inst}", job="mm"} NaN T`,
      `{__name__="c", instance="${inst}", job="mm"} +Inf T`,
      `{__name__="up", instance="${inst}", job="mm"} 1 T`,
      expect.stringMatching(new RegExp(`^\\{__name__="scrape_duration_seconds", instance="${inst}", job="mm"\\} 0\\.\\d+(e-\\d+)? T$`)),
      `{__name__="scrape_samples_scraped", instance="${inst}", job="mm"} 3 T`,
      `{__name__="scrape_samples_post_metric_relabeling", instance="${inst}", job="mm"} 3 T`,
      `{__name__="scrape_series_added", instance="${inst}", job="mm"} 3 T`,
    ]);
    expect(new Set(ls.map((l) => l.split(' ').at(-1))).size).toBe(1);
  });

  test('json output is one object per line with special values as strings; --honor-labels keeps exposed labels', async () => {
    const r = await cli(server.url('/ok'), '--format', 'json', '--honor-labels');
    expect(r.code).toBe(0);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { labels: Record<string, string>; value: number | string; timestamp: number });
    expect(objs[1]!.labels).toEqual({ __name__: 'b', job: 'exposed', instance: server.address });
    expect(objs[1]!.value).toBe('NaN');
    expect(objs[2]!.value).toBe('+Inf');
    expect(objs[0]!.value).toBe(3);
    expect(objs[3]).toEqual({ labels: { __name__: 'up', instance: server.address, job: 'scrape' }, value: 1, timestamp: objs[0]!.timestamp });
  });

  test.each([
    { name: 'an HTML page', args: ['/html'], err: /error: scrape of .* failed: .*line 1/, scraped: 0 },
    { name: 'too many samples', args: ['/many', '--sample-limit', '2'], err: /sample limit exceeded/, scraped: 3 },
  ])('$name: prints up=0 and the report series, the error on stderr, exit code 1', async ({ args, err, scraped }) => {
    const [path, ...rest] = args;
    const r = await cli(server.url(path!), '--format', 'json', ...rest);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(err);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { labels: Record<string, string>; value: number });
    expect(objs.map((o) => o.labels.__name__)).toEqual(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);
    expect(objs[0]!.value).toBe(0);
    expect(objs[2]!.value).toBe(scraped);
  });

  test('a hanging target is cut at --timeout', async () => {
    server.define('/hang', () => ({ hang: true }));
    const t0 = Date.now();
    const r = await cli(server.url('/hang'), '--timeout', '500ms');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/context deadline exceeded/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test('bad arguments exit with code 2 and say what was wrong', async () => {
    expect((await cli('not a url')).stderr).toMatch(/invalid target URL/);
    expect((await cli(server.url('/ok'), '--timeout', '10')).stderr).toMatch(/not a valid duration/);
    const r = await cli(server.url('/ok'), '--format', 'yaml');
    expect([r.code, r.stderr]).toEqual([2, 'error: --format must be text or json, not "yaml"\n']);
  });
});
