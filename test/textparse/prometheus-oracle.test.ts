/**
 * Our parsers against the real thing: Prometheus 2.42 (one process scraping every
 * case at once) and promtool's OpenMetrics backfill.
 *
 *  1. Every curated case in cases.ts is checked against Prometheus: the table's
 *     expectations (which our parser is held to in promtext/openmetrics.test.ts)
 *     must be what 2.42 really does.
 *  2. Generated bodies (valid ones and byte-mutated ones, both formats, fixed seeds)
 *     are scraped too, and our simulated scrape must agree with Prometheus on
 *     accept/reject, the rejecting layer, samples, timestamps and metadata.
 *  3. OpenMetrics bodies with a timestamp on every sample go through
 *     `promtool tsdb create-blocks-from openmetrics`; the dumped samples must equal
 *     what our parser reads.
 *
 * Skipped (with the reason in the name) only when the binaries are missing.
 * MM_SOAK=1 scrapes many more generated bodies.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Entry, OpenMetricsParser } from '../../src/textparse/index.js';
import { CONTENT_TYPE_CASES, OM, OM_CASES, TEXT, TEXT_CASES, caseBody, type Case } from './cases.js';
import { assertOracleMatchesCase, assertSimMatchesOracle } from './check.js';
import { docArb, mutate, mutationsArb, renderOM, renderText, choicesOf } from './gen.js';
import { havePrometheus, havePromtool, runPromtoolOpenMetrics, runScrapeOracle, type OracleCase, type OracleResult } from './oracle.js';
import { labelKey, promValue, simulateScrape } from './simulate.js';

const SOAK = !!process.env['MM_SOAK'];
const NOW = Date.now();
const CURATED: Case[] = [...TEXT_CASES, ...OM_CASES, ...CONTENT_TYPE_CASES];

interface Generated {
  id: string;
  body: Uint8Array;
  ct: string;
}

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** Deterministic generated bodies (timestamps near NOW so Prometheus keeps them). */
function generated(n: number, seed: number): Generated[] {
  const tsMs = fc.integer({ min: NOW - 120_000, max: NOW + 120_000 });
  const tsSec = tsMs.map((ms) => ms / 1000);
  const textDocs = fc.sample(fc.tuple(docArb({ format: 'text', tsMs }), fc.array(fc.nat(), { maxLength: 32 })), { seed, numRuns: n });
  const omDocs = fc.sample(fc.tuple(docArb({ format: 'om', tsSec }), fc.array(fc.nat(), { maxLength: 32 })), { seed: seed + 1, numRuns: n });
  const muts = fc.sample(mutationsArb, { seed: seed + 2, numRuns: 2 * n });
  const out: Generated[] = [];
  textDocs.forEach(([doc, seq], i) => {
    const body = enc(renderText(doc, choicesOf(seq)).body);
    out.push({ id: `gt${seed}_${i}`, body, ct: TEXT });
    out.push({ id: `mt${seed}_${i}`, body: mutate(body, muts[i]!), ct: TEXT });
  });
  omDocs.forEach(([doc, seq], i) => {
    const body = enc(renderOM(doc, choicesOf(seq)).body);
    out.push({ id: `go${seed}_${i}`, body, ct: OM });
    out.push({ id: `mo${seed}_${i}`, body: mutate(body, muts[n + i]!), ct: OM });
  });
  return out;
}

/** Lexer-level "token soup": random runs of the bytes and words the two lexers care about. */
function soup(n: number, seed: number): Generated[] {
  const ts = String(NOW);
  const sec = (NOW / 1000).toFixed(3);
  const tokens = [
    'foo', 'a', '_', ':', 'x_total', 'y_bucket', '{', '}', '=', '"', '\\', '\\"', ',', ' ', ' ', '\t', '\n', '\n', '\0', '#', '# ',
    'HELP ', 'TYPE ', 'UNIT ', 'EOF', 'counter', 'untyped', '1', '-1', '.5', 'e3', 'NaN', '+Inf', '\xff', 'é', '\xc3\xa9', '\r', ts, sec, ' # {',
  ];
  const arb = fc.tuple(fc.boolean(), fc.array(fc.constantFrom(...tokens), { maxLength: 24 }), fc.boolean());
  return fc.sample(arb, { seed, numRuns: n }).map(([om, toks, eof], i) => ({
    id: `soup${seed}_${i}`,
    body: new Uint8Array(Buffer.from(toks.join('') + (om && eof ? '\n# EOF\n' : ''), 'latin1')),
    ct: om ? OM : TEXT,
  }));
}

const GENERATED: Generated[] = SOAK ? [...generated(150, 11), ...generated(150, 12), ...soup(600, 13)] : [...generated(40, 7), ...soup(80, 8)];

describe.skipIf(!havePrometheus)('real Prometheus 2.42 scraping edge-case bodies (skipped if /usr/bin/prometheus is missing)', () => {
  let results: Map<string, OracleResult>;

  beforeAll(async () => {
    const cases: OracleCase[] = [
      ...CURATED.map((c) => ({ id: c.id.toLowerCase(), body: caseBody(c, NOW), contentType: c.ct })),
      ...GENERATED.map((g) => ({ id: g.id, body: g.body, contentType: g.ct })),
    ];
    results = await runScrapeOracle(cases);
  }, 180_000);

  afterAll(() => {
    results?.clear();
  });

  test.each(CURATED.map((c) => [c.name, c] as const))('Prometheus agrees: %s', (_n, c) => {
    assertOracleMatchesCase(results.get(c.id.toLowerCase())!, c, NOW);
  });

  test('generated and mutated bodies: our parser and Prometheus agree on every one', () => {
    let accepted = 0;
    let rejected = 0;
    for (const g of GENERATED) {
      const sim = simulateScrape(g.body, g.ct);
      assertSimMatchesOracle(sim, results.get(g.id)!, NOW, `${g.id} ${JSON.stringify(Buffer.from(g.body).toString('latin1'))}`);
      if (sim.ok) accepted++;
      else rejected++;
    }
    console.log(`generated bodies: ${accepted} accepted, ${rejected} rejected, all as Prometheus did`);
    // Both outcomes must be exercised for the comparison to mean something.
    expect(accepted).toBeGreaterThan(GENERATED.length / 4);
    expect(rejected).toBeGreaterThan(GENERATED.length / 8);
  });
});

/** Every sample our OpenMetrics parser reads, as promtool's backfill would append it. */
function ourSamples(body: Uint8Array): { ok: boolean; rows: string[] } {
  const sim = simulateScrape(body, OM);
  if (!sim.ok) return { ok: false, rows: [] };
  const p = new OpenMetricsParser(body);
  const rows: string[] = [];
  const pairs: { n: string[]; v: string[] } = { n: [], v: [] };
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
    if (e !== Entry.Series) continue;
    p.labels({ reset: () => ((pairs.n = []), (pairs.v = [])), set: (n, v) => (pairs.n.push(n), pairs.v.push(v)) });
    const l: Record<string, string> = {};
    pairs.n.forEach((n, i) => pairs.v[i] !== '' && (l[n] = pairs.v[i]!));
    rows.push(`${labelKey(l)} ${p.value()} ${p.timestamp()}`);
  }
  return { ok: true, rows: rows.sort() };
}

const PROMTOOL_BODIES: [string, string][] = [
  [
    'a counter family with exemplars, _created and float-second timestamps in many spellings',
    '# TYPE rpc counter\n# HELP rpc Calls.\nrpc_total{code="200"} 10 1700000000.001 # {trace="a\\"b"} 1 1700000000\n' +
      'rpc_total{code="500"} 1.5e3 1700000000.005\nrpc_created{code="200"} 1.6e9 1700000001.0019\n' +
      'rpc_total{code="404"} NaN 1.7e9\nrpc_total{code="302"} -Inf 1700000002.9999\n# EOF\n',
  ],
  [
    'a histogram with escaped label values and an empty label',
    '# TYPE h histogram\nh_bucket{le="0.5",x="a\\\\b\\nc"} 1 1700000003\nh_bucket{le="+Inf",x="a\\\\b\\nc",e=""} 2 1700000003.5\n' +
      'h_sum{x="é"} 0.75 1700000004\nh_count 2 1700000004.25\n# EOF',
  ],
  ['stateset, info, gaugehistogram and unit metadata', '# TYPE s stateset\n# UNIT t_seconds seconds\ns{s="a"} 1 1700000005\nt_seconds 0.5 1700000005\ni_info{v="1"} 1 1700000006\nh_gcount 3 1700000006\n# EOF\n'],
  ['an exemplar on a gauge is refused', 'g 1 1700000000 # {a="b"} 1\n# EOF\n'],
  ['a missing # EOF is refused', 'g 1 1700000000\n'],
  ['a trailing comma is refused', 'g{a="1",} 1 1700000000\n# EOF\n'],
  ['a NaN timestamp is refused', 'g 1 NaN\n# EOF\n'],
];

describe.skipIf(!havePromtool)('promtool tsdb create-blocks-from openmetrics (skipped if /usr/bin/promtool is missing)', () => {
  test.each(PROMTOOL_BODIES)('promtool and our parser agree: %s', async (_n, body) => {
    const b = enc(body);
    const ours = ourSamples(b);
    const theirs = await runPromtoolOpenMetrics(b);
    expect({ ok: theirs.ok, error: theirs.error }).toMatchObject({ ok: ours.ok });
    if (!ours.ok) return;
    const rows = theirs.samples.map((s) => `${labelKey(s.labels)} ${promValue(s.value)} ${s.t}`).sort();
    expect(rows).toEqual(ours.rows);
  });

  test('generated OpenMetrics bodies with timestamps on every sample read the same in promtool', async () => {
    // Strictly increasing timestamps, so the block writer never sees out-of-order samples.
    const docs = fc.sample(fc.tuple(docArb({ format: 'om', maxLines: 10 }), fc.array(fc.nat(), { maxLength: 16 })), { seed: 99, numRuns: SOAK ? 200 : 25 });
    let compared = 0;
    for (const [doc, seq] of docs) {
      let k = 0;
      for (const l of doc) if (l.kind === 'sample') l.ts = 1_700_000_000 + k++ * 1.25 + (seq[k % (seq.length || 1)] ?? 0) % 997 / 1000;
      const body = enc(renderOM(doc, choicesOf(seq)).body);
      const ours = ourSamples(body);
      const theirs = await runPromtoolOpenMetrics(body);
      expect({ ok: theirs.ok, error: theirs.error, body: Buffer.from(body).toString() }).toMatchObject({ ok: ours.ok });
      if (!ours.ok) continue;
      compared++;
      expect(theirs.samples.map((s) => `${labelKey(s.labels)} ${promValue(s.value)} ${s.t}`).sort()).toEqual(ours.rows);
    }
    expect(compared).toBeGreaterThan(docs.length / 2);
  }, 120_000);
});
