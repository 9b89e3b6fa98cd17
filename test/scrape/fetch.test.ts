import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { TargetFetcher, SCRAPE_ACCEPT_HEADER } from '../../src/scrape/fetch.js';
import { ScrapeError, ScrapeErrorCode } from '../../src/scrape/errors.js';
import { TargetServer, text, html, status, hang, down, sequence } from '../support/target-server.js';
import { freePort } from '../support/prometheus.js';

let server: TargetServer;
let seen: http.IncomingHttpHeaders | null = null;

beforeAll(async () => {
  server = await TargetServer.start();
  server.define('/headers', (r) => ((seen = r.headers), text('m 1\n')));
  server.define('/plain', () => text('m 1\n'));
  server.define('/gzip', () => ({ ...text('m 1\n'.repeat(1000)), gzip: true }));
  server.define('/ten', () => text('0123456789'));
  server.define('/html', () => html());
  server.define('/503', () => status(503, 'busy'));
  server.define('/hang', hang());
  server.define('/down', () => down());
  server.define('/slow-body', () => ({ ...text('m 1\n'), delayMs: 400 }));
  server.define('/redirect', () => ({ status: 302, headers: { Location: '/plain' }, contentType: null, body: '' }));
  server.define('/nogzip-bomb', () => ({ ...text('#' + ' '.repeat(5_000_000) + '\n'), gzip: true }));
  server.define('/flip', sequence(text('a 1\n'), text('bb 2\n'), status(500)));
});
afterAll(async () => {
  await server.close();
});

async function fetchOnce(path: string, o: ConstructorParameters<typeof TargetFetcher>[1] = {}): Promise<{ body: string; contentType: string }> {
  const f = new TargetFetcher(server.url(path), { timeout: 2000, ...o });
  try {
    const r = await f.fetch();
    return { body: Buffer.from(r.body).toString('utf8'), contentType: r.contentType };
  } finally {
    f.close();
  }
}

async function fetchErr(path: string, o: ConstructorParameters<typeof TargetFetcher>[1] = {}): Promise<ScrapeError> {
  try {
    await fetchOnce(path, o);
  } catch (e) {
    expect(e).toBeInstanceOf(ScrapeError);
    return e as ScrapeError;
  }
  throw new Error('expected the fetch to fail');
}

describe('scrape HTTP fetch', () => {
  test('the request carries exactly the headers Prometheus 2.42 sends', async () => {
    await fetchOnce('/headers', { timeout: 1500, userAgent: 'mm-metrics/test' });
    expect(seen?.accept).toBe(SCRAPE_ACCEPT_HEADER);
    expect(seen?.accept).toBe(
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    );
    expect(seen?.['accept-encoding']).toBe('gzip');
    expect(seen?.['user-agent']).toBe('mm-metrics/test');
    expect(seen?.['x-prometheus-scrape-timeout-seconds']).toBe('1.5');
  });

  test('a plain body and its content type come back as sent', async () => {
    expect(await fetchOnce('/plain')).toEqual({ body: 'm 1\n', contentType: 'text/plain; version=0.0.4; charset=utf-8' });
  });

  test('a gzip body is decompressed', async () => {
    const r = await fetchOnce('/gzip');
    expect(r.body).toBe('m 1\n'.repeat(1000));
  });

  test.each([
    { name: 'a body of exactly the limit fails', limit: 10, ok: false },
    { name: 'a body one byte under the limit passes', limit: 11, ok: true },
    { name: 'no limit passes', limit: 0, ok: true },
  ])('$name', async ({ limit, ok }) => {
    if (ok) expect((await fetchOnce('/ten', { bodySizeLimit: limit })).body).toBe('0123456789');
    else {
      const e = await fetchErr('/ten', { bodySizeLimit: limit });
      expect(e.code).toBe(ScrapeErrorCode.BodySizeLimit);
      expect(e.message).toBe('body size limit exceeded');
    }
  });

  test('the body size limit applies to the decompressed size, so a gzip bomb stops early', async () => {
    const e = await fetchErr('/nogzip-bomb', { bodySizeLimit: 100_000 });
    expect(e.code).toBe(ScrapeErrorCode.BodySizeLimit);
    const gz = zlib.gzipSync(Buffer.from('#' + ' '.repeat(5_000_000) + '\n'));
    expect(gz.length).toBeLessThan(100_000);
  });

  test.each([
    { name: 'a non-200 status fails with the status in the message', path: '/503', code: ScrapeErrorCode.HttpStatus, msg: 'server returned HTTP status 503 Service Unavailable' },
    { name: 'a socket destroyed by the target fails as a fetch error', path: '/down', code: ScrapeErrorCode.Fetch, msg: 'Get "' },
  ])('$name', async ({ path, code, msg }) => {
    const e = await fetchErr(path);
    expect(e.code).toBe(code);
    expect(e.message).toContain(msg);
  });

  test('an HTML page is fetched fine (it fails later, in the parser)', async () => {
    const r = await fetchOnce('/html');
    expect(r.contentType).toContain('text/html');
    expect(r.body).toContain('<!DOCTYPE html>');
  });

  test('a hanging target fails after the timeout, not before, and not much later', async () => {
    const t0 = Date.now();
    const e = await fetchErr('/hang', { timeout: 300 });
    const took = Date.now() - t0;
    expect(e.code).toBe(ScrapeErrorCode.Timeout);
    expect(e.message).toContain('context deadline exceeded');
    expect(took).toBeGreaterThanOrEqual(295);
    expect(took).toBeLessThan(1500);
  });

  test('the timeout covers the body: a slow response past the timeout fails', async () => {
    expect((await fetchErr('/slow-body', { timeout: 200 })).code).toBe(ScrapeErrorCode.Timeout);
    expect((await fetchOnce('/slow-body', { timeout: 1500 })).body).toBe('m 1\n');
  });

  test('connection refused is a fetch error worded like Go', async () => {
    const port = await freePort();
    const f = new TargetFetcher(`http://127.0.0.1:${port}/metrics`, { timeout: 1000 });
    await expect(f.fetch()).rejects.toThrow(`Get "http://127.0.0.1:${port}/metrics": dial tcp 127.0.0.1:${port}: connect: connection refused`);
    f.close();
  });

  test('redirects are followed', async () => {
    expect((await fetchOnce('/redirect')).body).toBe('m 1\n');
  });

  test('one fetcher reuses its connection and buffer across scrapes; each body is valid until the next fetch', async () => {
    const f = new TargetFetcher(server.url('/flip'), { timeout: 1000 });
    const a = await f.fetch();
    expect(Buffer.from(a.body).toString()).toBe('a 1\n');
    const b = await f.fetch();
    expect(Buffer.from(b.body).toString()).toBe('bb 2\n');
    expect(b.body.buffer).toBe(a.body.buffer);
    await expect(f.fetch()).rejects.toThrow('500');
    f.close();
  });

  test('a kept-alive connection closed by the server while idle is retried once transparently', async () => {
    const srv = http.createServer((_req, res) => res.end('m 1\n'));
    srv.keepAliveTimeout = 50;
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    const f = new TargetFetcher(`http://127.0.0.1:${port}/`, { timeout: 1000 });
    for (let i = 0; i < 5; i++) {
      expect(Buffer.from((await f.fetch()).body).toString()).toBe('m 1\n');
      await new Promise((r) => setTimeout(r, 45 + i * 5));
    }
    f.close();
    await new Promise((r) => srv.close(r));
  });
});

describe('the test target server', () => {
  test('one Mattermost path serves both formats and sizes by query, counting requests per scraper', async () => {
    const { mattermostTarget } = await import('../support/target-server.js');
    server.define('/mm', mattermostTarget({ series: 50 }));
    const om = await fetchOnce('/mm?format=openmetrics&series=30&gzip=1');
    expect(om.contentType).toContain('application/openmetrics-text');
    expect(om.body.endsWith('# EOF\n')).toBe(true);
    expect(om.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length).toBe(30);
    const txt = await fetchOnce('/mm');
    expect(txt.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length).toBe(50);
    expect(server.requests('/mm', 'mm-metrics')).toBe(2);
  });
});
