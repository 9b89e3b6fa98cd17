/**
 * The `mm-metrics tsdb …` commands run as a process, next to promtool 2.42 on the same
 * directories: same stdout, same exit status, same error text.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = new URL('../../bin/mm-metrics.js', import.meta.url).pathname;
let tmp: string;
let input: string;

async function exec(cmd: string, args: string[]): Promise<{ out: string; err: string; code: number }> {
  try {
    const r = await run(cmd, args, { maxBuffer: 1 << 28 });
    return { out: r.stdout, err: r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { out: x.stdout, err: x.stderr, code: x.code };
  }
}
const ours = (...a: string[]) => exec(process.execPath, [BIN, 'tsdb', ...a]);
const prom = (...a: string[]) => exec('/usr/bin/promtool', ['tsdb', ...a]);
const noUlid = (s: string) => s.replace(/[0-7][0-9A-HJKMNP-TV-Z]{25}/g, 'ULID');
const sections = (s: string) => s.split('\n\n').map((x) => x.split('\n').sort());

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-cli-tsdb-'));
  input = join(tmp, 'in.om');
  const lines = ['# HELP http_requests_total Requests.', '# TYPE http_requests_total counter'];
  for (let i = 0; i < 400; i++) {
    lines.push(`http_requests_total{code="200",handler="getPosts"} ${i * 3} ${1_700_000_000 + i * 30}`);
  }
  for (let i = 0; i < 400; i++) lines.push(`http_requests_total{code="500",handler="createPost"} ${i % 7} ${1_700_000_000 + i * 30}`);
  lines.push('# TYPE temp gauge');
  for (let i = 0; i < 100; i++) lines.push(`temp{room="café ☕"} ${i % 2 ? 'NaN' : (i / 7).toString()} ${1_700_000_000 + i * 120}`);
  lines.push('# EOF');
  await writeFile(input, lines.join('\n') + '\n');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('mm-metrics tsdb next to promtool tsdb', () => {
  let P: string;
  let O: string;
  test('create-blocks-from openmetrics prints the same table (plain and -r) and exits 0', async () => {
    P = join(tmp, 'p');
    O = join(tmp, 'o');
    const p = await prom('create-blocks-from', 'openmetrics', input, P);
    const o = await ours('create-blocks-from', 'openmetrics', input, O);
    expect(o.code, o.err).toBe(0);
    expect(noUlid(o.out)).toBe(noUlid(p.out));
    const p2 = await prom('create-blocks-from', '-r', 'openmetrics', input, join(tmp, 'p2'));
    const o2 = await ours('create-blocks-from', '-r', 'openmetrics', input, join(tmp, 'o2'));
    expect(noUlid(o2.out)).toBe(noUlid(p2.out));
    const q = await ours('create-blocks-from', '-q', 'openmetrics', input, join(tmp, 'o3'));
    expect(q.out).toBe('');
    expect((await readdir(join(tmp, 'o3'))).length).toBe((await readdir(P)).length);
    await mkdir(join(P, 'wal'));
    await mkdir(join(O, 'wal'));
  }, 60_000);

  test.each([[[]], [['-r']]])('list %j prints what promtool prints', async (flags) => {
    const p = await prom('list', ...flags, O);
    const o = await ours('list', ...flags, O);
    expect(o.code, o.err).toBe(0);
    expect(o.out).toBe(p.out);
  });

  test('analyze prints the same lists, and names a missing block the same way', async () => {
    const p = await prom('analyze', O);
    const o = await ours('analyze', O);
    expect(o.code, o.err).toBe(0);
    expect(sections(o.out)).toEqual(sections(p.out));
    const p3 = await prom('analyze', '--limit=3', O);
    const o3 = await ours('analyze', '--limit=3', O);
    expect(o3.out.split('\n').map((l) => l.split(' ')[0])).toEqual(p3.out.split('\n').map((l) => l.split(' ')[0]));
    const pm = await prom('analyze', O, '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    const om = await ours('analyze', O, '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(om.code).toBe(1);
    expect(pm.code).not.toBe(0);
    expect(om.err).toContain('block 01ARZ3NDEKTSV4RRFFQ69G5FAV not found');
    expect(pm.err).toContain('block 01ARZ3NDEKTSV4RRFFQ69G5FAV not found');
  }, 60_000);

  test.each([
    [[]],
    [['--match=http_requests_total{code="500"}']],
    [['--match={room=~"caf.*"}', '--min-time=1700001000000', '--max-time=1700006000000']],
  ])('dump %j prints what promtool prints', async (flags) => {
    const p = await prom('dump', ...flags, P);
    const o = await ours('dump', ...flags, P);
    expect(p.code, p.err).toBe(0);
    expect(o.code, o.err).toBe(0);
    expect(o.out).toBe(p.out);
    expect(o.out.length).toBeGreaterThan(0);
  }, 60_000);

  test('a file without timestamps fails with promtool\'s message and exit status 1', async () => {
    const bad = join(tmp, 'bad.om');
    await writeFile(bad, '# TYPE a gauge\na 1\n# EOF\n');
    const p = await prom('create-blocks-from', 'openmetrics', bad, join(tmp, 'pb'));
    const o = await ours('create-blocks-from', 'openmetrics', bad, join(tmp, 'ob'));
    expect(o.code).toBe(1);
    expect(o.err.trim()).toBe(p.err.trim());
  });
});

describe('dump of a directory written by a running Prometheus 2.42 (head in the WAL) plus a block', () => {
  test('equals promtool tsdb dump', async () => {
    const { spawn } = await import('node:child_process');
    const net = await import('node:net');
    const port: number = await new Promise((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const dir = join(tmp, 'prom');
    await mkdir(dir);
    await writeFile(join(dir, 'prom.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
    const data = join(dir, 'data');
    const server = spawn('/usr/bin/prometheus', [`--config.file=${join(dir, 'prom.yml')}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 8000));
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    // Add a block written by promtool next to the WAL.
    expect((await prom('create-blocks-from', 'openmetrics', input, data)).code).toBe(0);
    const p = await prom('dump', data);
    const o = await ours('dump', data);
    expect(p.code, p.err).toBe(0);
    expect(o.code, o.err).toBe(0);
    expect(o.out.split('\n').length).toBeGreaterThan(1000);
    expect(o.out).toBe(p.out);
    const m = '--match={__name__=~"go_.*|http_requests_total"}';
    expect((await ours('dump', m, data)).out).toBe((await prom('dump', m, data)).out);
  }, 120_000);
});
