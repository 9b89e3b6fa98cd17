/**
 * The scrape core (parser → label rules → appender) held to textparse's curated
 * edge-case table (test/textparse/cases.ts). Every expectation there is re-verified
 * against a running Prometheus 2.42 by test/textparse/prometheus-oracle.test.ts, so
 * this checks what our ExpositionAppender stores and which layer refuses a body —
 * not just what the parser yields — against 2.42's observed outcome.
 *
 * The oracle's target labels are not part of the expected label sets, so the core
 * runs with no target labels here.
 */
import { describe, expect, test } from 'vitest';
import { Labels } from '../../src/storage/index.js';
import { newParser } from '../../src/textparse/index.js';
import { AppendResult, ExpositionAppender, ScrapeErrorCode } from '../../src/scrape/index.js';
import { MemoryStorage } from '../support/memory-appender.js';
import { CONTENT_TYPE_CASES, OM_CASES, TEXT_CASES, caseBody, type Case } from '../textparse/cases.js';
import { caseT, inWindow } from '../textparse/check.js';
import { labelKey } from '../textparse/simulate.js';

const NOW = Date.now();
/** The scrape's own timestamp: distinct from NOW, which the cases' explicit timestamps use. */
const SCRAPE_T = NOW - 500;

function fmt(k: string, v: number, t: number | null): string {
  return `${k} ${Object.is(v, -0) ? '-0' : String(v)}${t === null ? '' : ' @' + t}`;
}

async function scrape(c: Case): Promise<{ err: AppendResult['err']; rows: string[] }> {
  const st = new MemoryStorage();
  const core = new ExpositionAppender(
    Labels.EMPTY,
    { honorLabels: false, honorTimestamps: true, sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 },
    newParser,
  );
  const res = new AppendResult();
  const app = st.appender();
  core.append(app, caseBody(c, NOW), c.ct ?? '', SCRAPE_T, res);
  if (res.err !== null) {
    await app.rollback();
    return { err: res.err, rows: [] };
  }
  await app.commit();
  const rows: string[] = [];
  for (const s of st.all()) {
    for (let i = 0; i < s.ts.length; i++) {
      const t = s.ts[i]!;
      const explicit = t === SCRAPE_T ? null : t;
      if (s.stale[i] === 0 && inWindow(explicit, NOW)) rows.push(fmt(labelKey(s.lset.toObject()), s.vs[i]!, explicit));
    }
  }
  return { err: null, rows: rows.sort() };
}

describe('the scrape core stores what Prometheus 2.42 stores for every curated textparse case', () => {
  test.each([...TEXT_CASES, ...OM_CASES, ...CONTENT_TYPE_CASES].map((c) => [`${c.id}: ${c.name}`, c] as const))('%s', async (_n, c) => {
    const { err, rows } = await scrape(c);
    const e = c.expect;
    expect({ ok: err === null, err: err?.message }, `${c.id}: accepted?`).toMatchObject({ ok: e.ok });
    if (!e.ok) {
      // 'parser' = a ParseError; 'scrape' = the label rules / head appender.
      expect(err!.code === ScrapeErrorCode.Parse ? 'parser' : 'scrape', `${c.id}: layer (${err!.message})`).toBe(e.layer);
      return;
    }
    const t = caseT(c, NOW);
    const want = e.samples.map(([l, v, ts]) => fmt(labelKey(l), v, ts === 'T' ? t : null)).sort();
    expect(rows, `${c.id}: stored samples`).toEqual(want);
  });
});
