/**
 * Differential test of the label rules of the scrape core against a running
 * Prometheus 2.42: generated 0.0.4 lines with repeated label names, empty values,
 * `__name__` labels, an exposed `job` (honor_labels, as the oracle scrapes) and
 * metric names with leading blanks. Both sides must agree on whether the scrape
 * fails and, when it does not, on every stored label set and value.
 *
 * Fixed seed; 150 bodies per run, 600 with MM_SOAK=1. Uses textparse's oracle
 * harness (one Prometheus process per 250 targets).
 */
import { describe, expect, test } from 'vitest';
import { Labels } from '../../src/storage/index.js';
import { newParser } from '../../src/textparse/index.js';
import { AppendResult, ExpositionAppender } from '../../src/scrape/index.js';
import { MemoryStorage } from '../support/memory-appender.js';
import { havePrometheus, runScrapeOracle, type OracleCase } from '../textparse/oracle.js';
import { labelKey } from '../textparse/simulate.js';

const N = process.env.MM_SOAK ? 600 : 150;
const CT = 'text/plain; version=0.0.4';

/** xorshift32, fixed seed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

function genBody(r: (n: number) => number): string {
  const names = ['foo', 'bar', 'a:b'];
  const blanks = ['', '', '', '', ' ', '\t', '  '];
  const labelNames = ['a', 'a', 'b', 'job', '__name__'];
  const values = ['', '1', '2', 'x', ' y', '1x'];
  const lines: string[] = [];
  if (r(2) === 0) lines.push('ok 1');
  const n = 1 + r(3);
  for (let i = 0; i < n; i++) {
    const pairs: string[] = [];
    const np = r(5);
    for (let j = 0; j < np; j++) pairs.push(`${labelNames[r(labelNames.length)]}="${values[r(values.length)]}"`);
    const braces = np === 0 && r(2) === 0 ? '' : `{${pairs.join(',')}}`;
    lines.push(`${blanks[r(blanks.length)]}${names[r(names.length)]}${braces} ${i + 2}`);
  }
  return lines.join('\n') + '\n';
}

/** Ours, scraped like the oracle's target: honor_labels, target labels job/instance/mm_case. */
async function ours(c: OracleCase): Promise<{ up: boolean; err: string; samples: string[] }> {
  const st = new MemoryStorage();
  const target = Labels.fromObject({ job: 'oracle', instance: '127.0.0.1:1', mm_case: c.id });
  const core = new ExpositionAppender(
    target,
    { honorLabels: true, honorTimestamps: true, sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 },
    newParser,
  );
  const res = new AppendResult();
  const app = st.appender();
  core.append(app, new TextEncoder().encode(c.body as string), CT, Date.now(), res);
  if (res.err !== null) {
    await app.rollback();
    return { up: false, err: res.err.message, samples: [] };
  }
  await app.commit();
  const samples = st.all().map((s) => {
    const o = s.lset.toObject();
    if (o.job === 'oracle') delete o.job;
    if (o.instance === '127.0.0.1:1') delete o.instance;
    if (o.mm_case === c.id) delete o.mm_case;
    return `${labelKey(o)} ${s.vs[0]}`;
  });
  return { up: true, err: '', samples: samples.sort() };
}

describe.skipIf(!havePrometheus)('label rules side by side with Prometheus 2.42 (generated bodies)', () => {
  test(`${N} bodies with repeated names, empty values, __name__ labels and blank-led names: same outcome and labels`, async () => {
    const r = rng(0x5eed42);
    const cases: OracleCase[] = [];
    for (let i = 0; i < N; i++) cases.push({ id: `lr${i}`, body: genBody(r), contentType: CT });
    const theirs = await runScrapeOracle(cases);
    const diffs: string[] = [];
    let failed = 0;
    for (const c of cases) {
      const o = await ours(c);
      const t = theirs.get(c.id)!;
      const theirUp = t.health === 'up';
      const theirSamples = theirUp ? t.samples.map((s) => `${labelKey(s.labels)} ${Number(s.value)}`).sort() : [];
      if (!o.up) failed++;
      if (o.up !== theirUp || JSON.stringify(o.samples) !== JSON.stringify(theirSamples)) {
        diffs.push(`${JSON.stringify(c.body)}\n  ours:   ${o.up ? 'up' : 'down ' + o.err} ${o.samples.join(' | ')}\n  theirs: ${t.health} ${t.lastError} ${theirSamples.join(' | ')}`);
      }
    }
    expect(diffs).toEqual([]);
    // The generator must exercise both outcomes.
    expect(failed).toBeGreaterThan(N / 10);
    expect(failed).toBeLessThan(N - N / 10);
  }, 180_000);
});
