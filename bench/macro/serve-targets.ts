/**
 * Serves the side-by-side targets (MM_SIDE_TARGETS × MM_SIDE_SERIES Mattermost-like series,
 * gzip, counters growing every scrape) until killed, and prints `--target URL …` for a
 * manual run of the service with any node flags:
 *
 *   node --import tsx bench/macro/serve-targets.ts > /tmp/targets.txt &
 *   node --trace-gc bin/mm-metrics.js run --scrape-interval 1s $(cat /tmp/targets.txt) …
 */
import zlib from 'node:zlib';
import { TargetServer } from '../../test/support/target-server.js';
import { buildMattermostExposition, TEXT_CONTENT_TYPE } from '../../test/support/mm-exposition.js';

const TARGETS = Number(process.env.MM_SIDE_TARGETS ?? 10);
const SERIES = Number(process.env.MM_SIDE_SERIES ?? 5000);
const cache = new Map<number, { raw: Buffer; gz: Buffer }>();
function bodyFor(index: number): { raw: Buffer; gz: Buffer } {
  let b = cache.get(index);
  if (b === undefined) {
    const raw = Buffer.from(buildMattermostExposition({ series: SERIES, seed: 5, scrapeIndex: index }));
    b = { raw, gz: zlib.gzipSync(raw, { level: 1 }) };
    cache.set(index, b);
    for (const k of cache.keys()) if (k < index - 4) cache.delete(k);
  }
  return b;
}
const urls: string[] = [];
for (let i = 0; i < TARGETS; i++) {
  const s = await TargetServer.start();
  s.define('/metrics', (r) => {
    const b = bodyFor(r.index);
    const gzip = /\bgzip\b/.test(String(r.headers['accept-encoding'] ?? ''));
    const headers: Record<string, string> = gzip ? { 'Content-Encoding': 'gzip' } : {};
    return { status: 200, contentType: TEXT_CONTENT_TYPE, body: gzip ? b.gz : b.raw, headers };
  });
  urls.push(s.url('/metrics'));
}
console.log(urls.map((u) => `--target ${u}`).join(' '));
