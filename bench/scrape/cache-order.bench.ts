/**
 * The scrape cache's scrape-order prediction, alone and together with the parser's
 * `expectSeries` hint, on a 10,000-series Mattermost exposition (fixed seed).
 *
 *   node --import tsx bench/scrape/cache-order.bench.ts
 *
 * Side by side (STYLE.md §13), per CPU second of this process:
 *  - scrape_cache_lookups_per_s_hashed: every lookup hashes (keys looked up in an
 *    order unrelated to the previous scrape, so the prediction never matches; the
 *    path before the prediction existed, plus one failed compare);
 *  - scrape_cache_lookups_per_s_ordered: keys in exposition order (the steady state);
 *  - textparse_cached_samples_per_s_plain: parse + cache lookup, labels tokenized;
 *  - textparse_cached_samples_per_s_expected: parse with `expectSeries` from the
 *    cache's prediction + `hit` (label list not tokenized on a match).
 */
import { ScrapeCache } from '../../src/scrape/cache.js';
import { PromTextParser } from '../../src/textparse/promtext.js';
import { Entry } from '../../src/textparse/parser.js';
import { Labels } from '../../src/storage/index.js';
import { buildMattermostExposition } from '../../test/support/mm-exposition.js';

const SERIES = Number(process.env.MM_BENCH_SERIES ?? 10_000);
const enc = new TextEncoder();
const bodies: Uint8Array[] = [];
for (let k = 0; k < 4; k++) bodies.push(enc.encode(buildMattermostExposition({ series: SERIES, seed: 42, scrapeIndex: k })));
const LSET = Labels.fromObject({ a: 'b' });

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function figure(name: string, value: number, unit: string): void {
  console.log(`FIGURE ${name}: ${Math.round(value)} ${unit}`);
}

/** Series offsets of a body as [start, end) pairs. */
function offsets(body: Uint8Array): Int32Array {
  const p = new PromTextParser(body);
  const out: number[] = [];
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) if (e === Entry.Series) out.push(p.seriesStartOffset(), p.seriesEndOffset());
  return Int32Array.from(out);
}

function fill(cache: ScrapeCache, body: Uint8Array, offs: Int32Array): void {
  for (let i = 0; i < offs.length; i += 2) if (cache.get(body, offs[i]!, offs[i + 1]!) < 0) cache.add(body, offs[i]!, offs[i + 1]!, i + 1, LSET, -1);
  cache.iterDone(true);
}

function lookups(ordered: boolean): number {
  const offs = bodies.map(offsets);
  const cache = new ScrapeCache();
  fill(cache, bodies[0]!, offs[0]!);
  // Unordered: visit the series with a stride coprime to the count, so no key follows its predecessor.
  const n = offs[0]!.length / 2;
  let stride = 7919;
  while (n % stride === 0) stride += 2;
  let found = 0;
  let total = 0;
  const t0 = cpuMs();
  for (let r = 0; r < 200; r++) {
    const b = bodies[r % bodies.length]!;
    const o = offs[r % bodies.length]!;
    for (let k = 0; k < n; k++) {
      const i = ordered ? k : (k * stride) % n;
      if (cache.get(b, o[2 * i]!, o[2 * i + 1]!) >= 0) found++;
    }
    total += n;
    cache.iterDone(true);
  }
  const dt = cpuMs() - t0;
  if (found !== total) throw new Error(`lookups: ${found} of ${total} found`);
  return (total / dt) * 1000;
}

function parse(expected: boolean): number {
  const cache = new ScrapeCache();
  fill(cache, bodies[0]!, offsets(bodies[0]!));
  let total = 0;
  let sum = 0;
  const t0 = cpuMs();
  for (let r = 0; r < 100; r++) {
    const b = bodies[r % bodies.length]!;
    const p = new PromTextParser(b);
    let pe = -1;
    for (;;) {
      if (expected) {
        pe = cache.predicted();
        if (pe >= 0) p.expectSeries(cache.keyView(), cache.keyOffset(pe), cache.keyLength(pe));
      }
      const et = p.next();
      if (et === Entry.EOF) break;
      if (et !== Entry.Series) continue;
      const ce = expected && p.seriesMatchedExpected() ? cache.hit(pe) : cache.get(b, p.seriesStartOffset(), p.seriesEndOffset());
      if (ce < 0) throw new Error('miss');
      sum += p.value();
      total++;
    }
    cache.iterDone(true);
  }
  const dt = cpuMs() - t0;
  if (sum === -1) console.log(sum);
  return (total / dt) * 1000;
}

for (let round = 0; round < 2; round++) {
  const last = round === 1;
  const h = lookups(false);
  const o = lookups(true);
  const pp = parse(false);
  const pe = parse(true);
  if (last) {
    figure('scrape_cache_lookups_per_s_hashed', h, 'lookups/s');
    figure('scrape_cache_lookups_per_s_ordered', o, 'lookups/s');
    figure('textparse_cached_samples_per_s_plain', pp, 'samples/s');
    figure('textparse_cached_samples_per_s_expected', pe, 'samples/s');
  }
}
