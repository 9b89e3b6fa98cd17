/**
 * The side-by-side targets: `n` HTTP servers, each serving the same Mattermost-like
 * exposition of `series` series (gzip when asked, as promhttp does; counters growing every
 * scrape). Each body is rendered once per scrape index and shared by every target, so
 * serving costs the bench process little next to the two scrapers it measures.
 */
import zlib from 'node:zlib';
import { TargetServer } from '../../test/support/target-server.js';
import { buildMattermostExposition, TEXT_CONTENT_TYPE } from '../../test/support/mm-exposition.js';

export async function startSideTargets(n: number, series: number): Promise<TargetServer[]> {
  const cache = new Map<number, { raw: Buffer; gz: Buffer }>();
  const bodyFor = (index: number): { raw: Buffer; gz: Buffer } => {
    let b = cache.get(index);
    if (b === undefined) {
      const raw = Buffer.from(buildMattermostExposition({ series, seed: 5, scrapeIndex: index }));
      b = { raw, gz: zlib.gzipSync(raw, { level: 1 }) };
      cache.set(index, b);
      for (const k of cache.keys()) if (k < index - 4) cache.delete(k);
    }
    return b;
  };
  const servers: TargetServer[] = [];
  for (let i = 0; i < n; i++) {
    const s = await TargetServer.start();
    s.define('/metrics', (r) => {
      const b = bodyFor(r.index);
      const gzip = /\bgzip\b/.test(String(r.headers['accept-encoding'] ?? ''));
      const headers: Record<string, string> = gzip ? { 'Content-Encoding': 'gzip' } : {};
      return { status: 200, contentType: TEXT_CONTENT_TYPE, body: gzip ? b.gz : b.raw, headers };
    });
    servers.push(s);
  }
  return servers;
}
