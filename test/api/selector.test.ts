import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseSelector, SelectorError } from '../../src/api/selector.js';
import { prometheusAccepts, startPrometheus, type RealPrometheus } from './support/prometheus.js';

let prom: RealPrometheus;
beforeAll(async () => {
  prom = await startPrometheus();
});
afterAll(async () => {
  await prom?.stop();
});

describe('parseSelector', () => {
  test.each([
    ['a bare metric name', 'up', ['__name__="up"']],
    ['a metric name with colons', 'job:rate5m:sum', ['__name__="job:rate5m:sum"']],
    ['label matchers only', '{job="node",instance=~"10\\\\..*"}', ['job="node"', 'instance=~"10\\\\..*"']],
    ['a metric with every operator', 'x{a="1", b!="2", c=~"3", d!~"4"}', ['__name__="x"', 'a="1"', 'b!="2"', 'c=~"3"', 'd!~"4"']],
    ['a trailing comma and spaces', '  x { a = "1" , }  ', ['__name__="x"', 'a="1"']],
    ['single quotes and raw strings', `{a='it"s', b=\`c\\d\`}`, ['a="it\\"s"', 'b="c\\\\d"']],
    ['Go escapes', '{a="\\t\\u00e9\\x41\\101\\U0001F600"}', ['a="\\té' + 'AA😀"']],
    ['an empty brace after a metric', 'up{}', ['__name__="up"']],
    ['a keyword as a label name', '{by="x", on="y"}', ['by="x"', 'on="y"']],
    ['an aggregation keyword as metric name (as Prometheus does)', 'sum{a="b"}', ['__name__="sum"', 'a="b"']],
    ['a metric name and a __name__ matcher (as Prometheus does)', 'up{__name__="x"}', ['__name__="up"', '__name__="x"']],
  ])('accepts %s', (_name, sel, want) => {
    expect(parseSelector(sel).map((m) => m.toString())).toEqual(want);
  });

  test.each([
    ['an empty string', '', /empty selector/],
    ['empty braces', '{}', /at least one non-empty matcher/],
    ['only empty-matching matchers', '{a="", b=~".*"}', /at least one non-empty matcher/],
    ['a missing operator', '{a "b"}', /at char 4: .*want one of = != =~ !~/],
    ['an unquoted value', '{a=b}', /at char 4: .*want a quoted string/],
    ['an unterminated brace', '{a="b"', /unterminated "\{"/],
    ['an unterminated string', '{a="b}', /at char 4: unterminated quoted string/],
    ['a bad escape', '{a="\\q"}', /unknown escape sequence \\q/],
    ['a wrong quote escape', `{a="\\'"}`, /unknown escape sequence/],
    ['a surrogate escape', '{a="\\ud800"}', /not a valid Unicode code point/],
    ['a bad regex', '{a=~"("}', /invalid regular expression/],
    ['a lookahead regex', '{a=~"(?=x)"}', /lookaround/],
    ['trailing input', 'up offset 5m', /after the selector/],
    ['a range', 'up[5m]', /after the selector/],
    ['a number word as metric name', 'Inf{a="b"}', /is a number in PromQL/],
    ['a label starting with a digit', '{1a="b"}', /want a label name/],
    ['a leading comma', '{,a="b"}', /want a label name/],
    ['a double comma', '{a="b",,c="d"}', /want a label name/],
    ['a very long selector', 'x{a="' + 'y'.repeat(5000) + '"}', /longer than 4096/],
  ])('rejects %s with a positioned message', (_name, sel, re) => {
    const err = (() => {
      try {
        parseSelector(sel);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SelectorError);
    expect((err as Error).message).toMatch(re);
  });
});

describe('parseSelector side by side with Prometheus 2.42 (/api/v1/series match[])', () => {
  const cases = [
    'up', 'up{}', '{}', '{a=""}', '{a="x"}', 'up{__name__="x"}', '{__name__="up"}', 'sum', 'SUM{a="b"}', 'Inf{a="b"}',
    'nan', 'by{a="b"}', 'foo_bar:baz{job=~"n.*",}', "{a='b'}", '{a=`b\\c`}', '{a="\\z"}', '{a="\\x4"}', '{a="\\400"}',
    '{a="\\377"}', '{a="\\U00110000"}', '{a="\\ud800"}', 'up offset 5m', 'up[5m]', 'up @ 10', '{a=~"(?i)x"}', '{a=~"x{2,3}"}',
    '{a!~"x"}', '{a!~""}', '{,}', '{a="b",,}', '{a="b"  ,  c="d"}', ' up ', '\tup\n', 'up{a="b"}{c="d"}', ':x', 'x:', '{a="\n"}',
    '{a=`\n`}', 'a-b', '{a.b="c"}', '{_="x"}', '{__name__=~"up|down"}', '{__name__!="x"}', 'up{a=~".+"}',
  ];
  test.each(cases)('%j is accepted by us exactly when Prometheus accepts it', async (sel) => {
    const want = await prometheusAccepts(prom, sel);
    let ours = true;
    let msg = '';
    try {
      parseSelector(sel);
    } catch (e) {
      ours = false;
      msg = (e as Error).message;
    }
    expect({ sel, ok: ours, msg: ours ? '' : msg }).toEqual({ sel, ok: want.ok, msg: ours ? '' : msg });
  });

  test('random selectors from a selector-shaped alphabet get the same verdict as Prometheus', async () => {
    const piece = fc.constantFrom('up', 'x_y', 'a', 'job', '__name__', '{', '}', ',', '=', '!=', '=~', '!~', '"v"', "'v'", '`v`', '""', '".*"', '"a|b"', ' ', '\\n', '"\\t"', '"\\q"', 'sum', 'on', '1', ':', '"(', '[5m]');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 9 }), async (parts) => {
        const sel = parts.join('');
        const want = await prometheusAccepts(prom, sel);
        let ours = true;
        try {
          parseSelector(sel);
        } catch {
          ours = false;
        }
        expect({ sel, ok: ours }).toEqual({ sel, ok: want.ok });
      }),
      { numRuns: 400, seed: 4242 },
    );
  });
});
