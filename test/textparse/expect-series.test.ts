/**
 * `PromTextParser.expectSeries`: a hint from the scrape cache that lets the parser
 * skip tokenizing a label list it has seen before. Whatever the hint, the parser
 * must return exactly what it returns without one (entries, series bytes, labels,
 * values, timestamps, errors); the hint may only change how fast.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Entry, ParseError, PromTextParser } from '../../src/textparse/index.js';
import { choicesOf, docArb, mutate, mutationsArb, renderText } from './gen.js';

const RUNS = process.env['MM_SOAK'] ? 20_000 : 300;
const TIMEOUT = process.env['MM_SOAK'] ? 1_800_000 : 60_000;
const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

class Pairs {
  out: string[] = [];
  reset(): void {
    this.out = [];
  }
  set(n: string, v: string): void {
    this.out.push(n, v);
  }
}

/** What a scrape could observe of one body, plus which samples matched their hint. */
interface Observed {
  entries: unknown[];
  error: string | null;
  matched: boolean[];
}

/**
 * Parses `body`; before each `next()`, `hint(k)` (k = index of the upcoming sample)
 * may return key bytes to expect. Labels are read only for every `labelsEvery`-th
 * sample, as the scrape loop reads them only on a cache miss.
 */
function observe(body: Uint8Array, hint: ((k: number) => Uint8Array | null) | null, labelsEvery = 1): Observed {
  const p = new PromTextParser(body);
  const entries: unknown[] = [];
  const matched: boolean[] = [];
  let k = 0;
  try {
    for (;;) {
      const h = hint === null ? null : hint(k);
      if (h !== null) p.expectSeries(new DataView(h.buffer, h.byteOffset, h.byteLength), 0, h.length);
      const e = p.next();
      if (e === Entry.EOF) break;
      if (e !== Entry.Series) {
        entries.push(e);
        continue;
      }
      const sink = new Pairs();
      if (k % labelsEvery === 0) p.labels(sink);
      entries.push([Buffer.from(p.series()).toString('latin1'), p.seriesStartOffset(), p.seriesEndOffset(), sink.out, Object.is(p.value(), -0) ? '-0' : p.value(), p.hasTimestamp() ? p.timestamp() : null]);
      matched.push(p.seriesMatchedExpected());
      k++;
    }
    return { entries, error: null, matched };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return { entries, error: e.message, matched };
  }
}

/** Series bytes of each sample of a body (as far as it parses). */
function keys(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const p = new PromTextParser(body);
  try {
    for (let e = p.next(); e !== Entry.EOF; e = p.next()) if (e === Entry.Series) out.push(p.series().slice());
  } catch {
    /* keys up to the error */
  }
  return out;
}

function strip(o: Observed): Omit<Observed, 'matched'> {
  return { entries: o.entries, error: o.error };
}

describe('expectSeries never changes what the 0.0.4 parser returns', () => {
  test.each([
    ['the expected labelled series followed by its value matches', 'a{b="c"} 1\n', 'a{b="c"}', true, 1],
    ['the expected labelled series with a timestamp matches', 'a{b="c"} 1 1700000000000\n', 'a{b="c"}', true, 1],
    ['a bare name followed by a blank and a value matches', 'up 1\n', 'up', true, 1],
    ['a bare name that goes on (longer name) does not match', 'upper 1\n', 'up', false, 1],
    ['a bare name followed by a label list does not match', 'up{a="b"} 1\n', 'up', false, 1],
    ['a bare name followed by blanks and a label list does not match', 'up {a="b"} 1\n', 'up', false, 1],
    ['a label list that differs in one byte does not match', 'a{b="d"} 1\n', 'a{b="c"}', false, 1],
    ['a key running to the end of the body does not match', 'a{b="c"}', 'a{b="c"}', false, 0],
    ['a key followed by a bad value gives the same parse error', 'a{b="c"} x\n', 'a{b="c"}', false, 0],
    ['a key with leading blanks matches the same bytes', '  a{b="c"} 7\n', '  a{b="c"}', true, 1],
    ['escaped and UTF-8 label values match and still decode', 'a{b="x\\"é\\n"} 2\n', 'a{b="x\\"é\\n"}', true, 1],
    ['a key whose value is missing (end of line) does not match', 'a{b="c"}\n', 'a{b="c"}', false, 0],
  ])('%s', (_name, body, key, wantMatch, wantSamples) => {
    const b = enc(body);
    const plain = observe(b, null);
    const hinted = observe(b, () => enc(key));
    expect(strip(hinted)).toEqual(strip(plain));
    expect(hinted.matched.length).toBe(wantSamples);
    if (wantSamples > 0) expect(hinted.matched[0]).toBe(wantMatch);
  });

  test('generated bodies with every sample hinted by its own key: all match, same output, labels read lazily or not at all', () => {
    fc.assert(
      fc.property(docArb({ format: 'text' }), fc.array(fc.nat(), { maxLength: 64 }), fc.integer({ min: 1, max: 3 }), (doc, seq, every) => {
        const b = enc(renderText(doc, choicesOf(seq)).body);
        const ks = keys(b);
        const plain = observe(b, null, every);
        const hinted = observe(b, (k) => ks[k] ?? null, every);
        expect(strip(hinted)).toEqual(strip(plain));
        expect(hinted.matched.every((m) => m)).toBe(true);
      }),
      { numRuns: RUNS, seed: 77 },
    );
  }, TIMEOUT);

  test('mutated bodies hinted with keys of the unmutated body (right, shifted or truncated): same output and errors', () => {
    fc.assert(
      fc.property(docArb({ format: 'text' }), fc.array(fc.nat(), { maxLength: 64 }), mutationsArb, fc.array(fc.nat(), { minLength: 1, maxLength: 32 }), (doc, seq, muts, picks) => {
        const orig = enc(renderText(doc, choicesOf(seq)).body);
        const ks = keys(orig);
        const b = mutate(orig, muts);
        const hint = (k: number): Uint8Array | null => {
          if (ks.length === 0) return null;
          const pick = picks[k % picks.length]!;
          const key = ks[(k + (pick % 3) - 1 + ks.length) % ks.length]!;
          // Sometimes a prefix of the key, to probe the end-of-key rules.
          return pick % 5 === 0 ? key.subarray(0, Math.max(1, key.length - 1 - (pick % 4))) : key;
        };
        expect(strip(observe(b, hint))).toEqual(strip(observe(b, null)));
      }),
      { numRuns: RUNS * 2, seed: 78 },
    );
  }, TIMEOUT);
});
