/**
 * Property tests: generated expositions parse back to what was generated, and no
 * input — random bytes, mutated valid bodies, truncated bodies — makes a parser
 * throw anything but ParseError (or leave it in a state where accessors throw).
 * MM_SOAK=1 multiplies the number of runs.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Entry, OpenMetricsParser, ParseError, PromTextParser, type Parser } from '../../src/textparse/index.js';
import { choicesOf, docArb, mutate, mutationsArb, renderOM, renderText, type Expected } from './gen.js';

const RUNS = process.env['MM_SOAK'] ? 20_000 : 300;
/** Soak runs take minutes per property. */
const TIMEOUT = process.env['MM_SOAK'] ? 1_800_000 : 60_000;

class Pairs {
  names: string[] = [];
  values: string[] = [];
  reset(): void {
    this.names = [];
    this.values = [];
  }
  set(n: string, v: string): void {
    this.names.push(n);
    this.values.push(v);
  }
}

/** Reads every entry with every accessor, as the scrape loop and metadata cache would. */
function collect(p: Parser): Expected[] {
  const out: Expected[] = [];
  const pairs = new Pairs();
  for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
    switch (e) {
      case Entry.Series: {
        p.labels(pairs);
        p.series();
        const ex = p.exemplar();
        p.createdTimestamp();
        out.push({
          kind: 'sample',
          name: pairs.values[0]!,
          labels: pairs.names.slice(1).map((n, i) => [n, pairs.values[i + 1]!]),
          value: p.value(),
          ts: p.hasTimestamp() ? p.timestamp() : null,
          exemplar:
            ex === null
              ? null
              : { labels: ex.labels.reduce<[string, string][]>((a, x, i) => (i % 2 === 0 ? [...a, [x, ex.labels[i + 1]!]] : a), []), value: ex.value, ts: ex.hasTimestamp ? ex.timestamp : null },
        });
        break;
      }
      case Entry.Help:
        out.push({ kind: 'help', ...p.help() });
        break;
      case Entry.Type:
        out.push({ kind: 'type', ...p.type() });
        break;
      case Entry.Unit:
        out.push({ kind: 'unit', ...p.unit() });
        break;
      case Entry.Comment:
        out.push({ kind: 'comment', text: p.comment() });
        break;
    }
  }
  return out;
}

/** Drives a parser to the end; returns the ParseError or null; rethrows anything else. */
function drive(p: Parser): ParseError | null {
  try {
    collect(p);
    return null;
  } catch (e) {
    if (e instanceof ParseError) {
      // A failed parser keeps reporting the same error.
      expect(() => p.next()).toThrow(e);
      return e;
    }
    throw e;
  }
}

const parsers = [
  ['0.0.4', (b: Uint8Array): Parser => new PromTextParser(b)],
  ['OpenMetrics', (b: Uint8Array): Parser => new OpenMetricsParser(b)],
] as const;

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

describe('generated expositions parse back to what was generated', () => {
  test('0.0.4 documents with random blanks, commas, escapes and float spellings', () => {
    fc.assert(
      fc.property(docArb({ format: 'text' }), fc.array(fc.nat(), { maxLength: 64 }), (doc, seq) => {
        const { body, expected } = renderText(doc, choicesOf(seq));
        expect(collect(new PromTextParser(enc(body)))).toEqual(expected);
      }),
      { numRuns: RUNS, seed: 4242 },
    );
  }, TIMEOUT);

  test('OpenMetrics documents with units, exemplars and float-second timestamps', () => {
    fc.assert(
      fc.property(docArb({ format: 'om' }), fc.array(fc.nat(), { maxLength: 64 }), (doc, seq) => {
        const { body, expected } = renderOM(doc, choicesOf(seq));
        expect(collect(new OpenMetricsParser(enc(body)))).toEqual(expected);
      }),
      { numRuns: RUNS, seed: 4343 },
    );
  }, TIMEOUT);
});

describe.each(parsers)('the %s parser throws nothing but ParseError', (_name, make) => {
  test('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        drive(make(b));
      }),
      { numRuns: RUNS * 3, seed: 1 },
    );
  }, TIMEOUT);

  test('on random byte strings over the lexers’ interesting bytes', () => {
    const alphabet = fc.constantFrom(...Array.from(Buffer.from('a_:{}=",# \t\n\r\\0.e+-9ITNFEOHPYUL\0')), 0xff, 0xc3, 0xa9);
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 120 }), (arr) => {
        drive(make(new Uint8Array(arr)));
      }),
      { numRuns: RUNS * 3, seed: 2 },
    );
  }, TIMEOUT);

  test('on mutations of valid bodies of both formats', () => {
    fc.assert(
      fc.property(fc.boolean(), docArb({ format: 'om' }), fc.array(fc.nat(), { maxLength: 16 }), mutationsArb, (asText, doc, seq, muts) => {
        const { body } = asText ? renderText(doc, choicesOf(seq)) : renderOM(doc, choicesOf(seq));
        drive(make(mutate(enc(body), muts)));
      }),
      { numRuns: RUNS * 2, seed: 3 },
    );
  }, TIMEOUT);

  test('on every prefix of valid bodies', () => {
    fc.assert(
      fc.property(fc.boolean(), docArb({ format: 'om', maxLines: 6 }), fc.array(fc.nat(), { maxLength: 16 }), (asText, doc, seq) => {
        const { body } = asText ? renderText(doc, choicesOf(seq)) : renderOM(doc, choicesOf(seq));
        const b = enc(body);
        for (let n = 0; n <= b.length; n++) drive(make(b.subarray(0, n)));
      }),
      { numRuns: Math.ceil(RUNS / 3), seed: 5 },
    );
  }, TIMEOUT);
});

describe('truncation', () => {
  test('an OpenMetrics body cut anywhere before its # EOF is rejected', () => {
    fc.assert(
      fc.property(docArb({ format: 'om', maxLines: 5 }), fc.array(fc.nat(), { maxLength: 16 }), (doc, seq) => {
        const { body } = renderOM(doc, choicesOf(seq));
        const b = enc(body);
        const eof = Buffer.from(b).lastIndexOf('# EOF');
        for (let n = 0; n < eof + 5; n++) expect(drive(new OpenMetricsParser(b.subarray(0, n)))).toBeInstanceOf(ParseError);
        expect(drive(new OpenMetricsParser(b.subarray(0, eof + 5)))).toBeNull();
      }),
      { numRuns: Math.ceil(RUNS / 3), seed: 6 },
    );
  }, TIMEOUT);
});
