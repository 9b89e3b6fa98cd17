/**
 * Edge-case expositions with the outcome a real Prometheus 2.42 scrape produces.
 * The same table drives two tests: `promtext.test.ts`/`openmetrics.test.ts` check our
 * parser (through `simulateScrape`) against `expect`, and `prometheus-oracle.test.ts`
 * checks a running 2.42 against the very same `expect` (so every expectation here is
 * re-verified against Prometheus whenever the suite runs).
 *
 * Body placeholders: `@T@` → the test's "now" in ms (0.0.4 timestamps), `@S@` → the
 * same instant in float seconds with 3 decimals (OpenMetrics). An expected sample
 * timestamp of `'T'` means that instant; `null` means the scrape's own timestamp.
 */

export const TEXT = 'text/plain; version=0.0.4';
export const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type Labels = Record<string, string>;
export type ExpectedSample = [Labels, number, ('T' | null)?];

export type Expect =
  | {
      ok: true;
      samples: ExpectedSample[];
      metadata?: Record<string, { type: string; help: string; unit: string }>;
      /** [series labels, exemplar labels, value, 'T' | null] */
      exemplars?: [Labels, Labels, number, 'T' | null][];
    }
  | { ok: false; layer: 'parser' | 'scrape' };

export interface Case {
  id: string;
  name: string;
  ct: string | null;
  /** a string is UTF-8 encoded unless `latin1` is set (then one byte per char) */
  body: string;
  latin1?: boolean;
  expect: Expect;
}

const ok = (samples: ExpectedSample[], extra: Omit<Extract<Expect, { ok: true }>, 'ok' | 'samples'> = {}): Expect => ({ ok: true, samples, ...extra });
const parserErr: Expect = { ok: false, layer: 'parser' };
const scrapeErr: Expect = { ok: false, layer: 'scrape' };
const m = (name: string, extra: Labels = {}): Labels => ({ __name__: name, ...extra });
const md = (type: string, help = '', unit = '') => ({ type, help, unit });

export const TEXT_CASES: Case[] = [
  // ── accepted ──────────────────────────────────────────────────────────────
  { id: 'p_nofinal', name: 'a body without a final newline is accepted', ct: TEXT, body: 'foo 1', expect: ok([[m('foo'), 1]]) },
  { id: 'p_emptybody', name: 'an empty body is an empty exposition, not an error', ct: TEXT, body: '', expect: ok([]) },
  { id: 'p_blank', name: 'blank and blank-only lines are ignored', ct: TEXT, body: '  \n\t\n\nfoo 1\n\n', expect: ok([[m('foo'), 1]]) },
  { id: 'p_nocomma', name: 'label pairs need no comma and may end with one', ct: TEXT, body: 'foo{a="1" b="2",} 1\n', expect: ok([[m('foo', { a: '1', b: '2' }), 1]]) },
  { id: 'p_nosep', name: 'label pairs may touch each other', ct: TEXT, body: 'foo{a="1"b="2"} 1\n', expect: ok([[m('foo', { a: '1', b: '2' }), 1]]) },
  { id: 'p_lblank', name: 'blanks may surround every label token', ct: TEXT, body: 'foo{ a="1"\t,\tb = "2" } 1\n', expect: ok([[m('foo', { a: '1', b: '2' }), 1]]) },
  { id: 'p_namesp', name: 'a blank may separate the name from the brace', ct: TEXT, body: 'foo {a="1"} 1\n', expect: ok([[m('foo', { a: '1' }), 1]]) },
  { id: 'p_bracev', name: 'the value may touch the closing brace', ct: TEXT, body: 'foo{a="1"}2\n', expect: ok([[m('foo', { a: '1' }), 2]]) },
  { id: 'p_namev', name: 'a signed value may touch the metric name', ct: TEXT, body: 'foo-1\n', expect: ok([[m('foo'), -1]]) },
  { id: 'p_empty', name: 'empty braces are accepted', ct: TEXT, body: 'foo{} 1\n', expect: ok([[m('foo'), 1]]) },
  { id: 'p_rawlf', name: 'a raw newline inside a label value is part of the value', ct: TEXT, body: 'foo{a="x\ny"} 1\n', expect: ok([[m('foo', { a: 'x\ny' }), 1]]) },
  {
    id: 'p_esc',
    name: 'label values decode backslash, quote and n escapes and keep unknown ones',
    ct: TEXT,
    body: 'foo{a="\\q",b="x\\\\y",c="\\n",d="x\\"y",e="\\\\n"} 1\n',
    expect: ok([[m('foo', { a: '\\q', b: 'x\\y', c: '\n', d: 'x"y', e: '\\n' }), 1]]),
  },
  {
    id: 'p_special',
    name: 'inf, infinity and nan are accepted in any case, inf with a sign',
    ct: TEXT,
    body: 'a +Inf\nb infinity\nc -infinity\nd iNf\ne nan\nf Infinity\ng -inF\nh NaN\n',
    expect: ok([
      [m('a'), Infinity],
      [m('b'), Infinity],
      [m('c'), -Infinity],
      [m('d'), Infinity],
      [m('e'), NaN],
      [m('f'), Infinity],
      [m('g'), -Infinity],
      [m('h'), NaN],
    ]),
  },
  {
    id: 'p_decimal',
    name: 'decimal forms: underflow to zero, leading dot, trailing dot, leading zeros, exponents',
    ct: TEXT,
    body: 'a 1e-400\nb .5\nc 5.\nd 0042\ne 1E+03\nf -1e-400\ng 1.7976931348623157e308\nh 5.e-3\ni 0.1\n',
    expect: ok([
      [m('a'), 0],
      [m('b'), 0.5],
      [m('c'), 5],
      [m('d'), 42],
      [m('e'), 1000],
      [m('f'), -0],
      [m('g'), 1.7976931348623157e308],
      [m('h'), 0.005],
      [m('i'), 0.1],
    ]),
  },
  { id: 'p_tszero', name: 'timestamps may have leading zeros', ct: TEXT, body: 'foo 1 000000@T@\n', expect: ok([[m('foo'), 1, 'T']]) },
  { id: 'p_tstab', name: 'tabs and trailing blanks around value and timestamp', ct: TEXT, body: 'foo\t1\t@T@\t \n', expect: ok([[m('foo'), 1, 'T']]) },
  {
    id: 'p_meta',
    name: 'HELP decodes only backslash and n escapes; TYPE untyped means unknown; HELP keeps all but one separator',
    ct: TEXT,
    body: '# HELP foo a\\\\b\\nc\\"d\\q\n# TYPE foo untyped\nfoo 1\n# HELP bar  two  \n# TYPE bar\tgauge\nbar 1\n',
    expect: ok([[m('foo'), 1], [m('bar'), 1]], { metadata: { foo: md('unknown', 'a\\b\nc\\"d\\q'), bar: md('gauge', ' two  ') } }),
  },
  { id: 'p_helpempty', name: 'a HELP line without text gives an empty help', ct: TEXT, body: '# HELP foo\nfoo 1\n', expect: ok([[m('foo'), 1]], { metadata: { foo: md('unknown') } }) },
  { id: 'p_helponly', name: 'metadata without samples is accepted', ct: TEXT, body: '# HELP foo\n', expect: ok([], { metadata: { foo: md('unknown') } }) },
  {
    id: 'p_typesep',
    name: 'the byte after a TYPE name is dropped whatever it is',
    ct: TEXT,
    body: '# TYPE foo-counter\nfoo 1\n',
    expect: ok([[m('foo'), 1]], { metadata: { foo: md('counter') } }),
  },
  { id: 'p_nulline', name: 'a NUL byte at the start of a line ends the body silently', ct: TEXT, body: 'foo 1\n\0bar 2\n', latin1: true, expect: ok([[m('foo'), 1]]) },
  { id: 'p_eofcomment', name: '# EOF is an ordinary comment in 0.0.4', ct: TEXT, body: 'foo 1\n# EOF\nbar 2', expect: ok([[m('foo'), 1], [m('bar'), 2]]) },
  { id: 'p_hashhelp', name: 'a # not followed by a blank starts a comment, even #HELP', ct: TEXT, body: '#HELP foo x\nfoo 1\n', expect: ok([[m('foo'), 1]]) },
  {
    id: 'p_nulkw',
    name: 'NUL bytes inside HELP and TYPE keywords are skipped',
    ct: TEXT,
    body: '# HE\0LP foo bar\n# T\0YPE foo counter\nfoo 1\n',
    latin1: true,
    expect: ok([[m('foo'), 1]], { metadata: { foo: md('counter', 'bar') } }),
  },
  { id: 'p_nulquote', name: 'NULs right after a closing quote join the value with the quote', ct: TEXT, body: 'foo{a="x"\0\0} 1\n', latin1: true, expect: ok([[m('foo', { a: 'x"\0' }), 1]]) },
  { id: 'p_nulval', name: 'a NUL inside a label value is kept', ct: TEXT, body: 'foo{a="x\0y"} 1\n', latin1: true, expect: ok([[m('foo', { a: 'x\0y' }), 1]]) },
  { id: 'p_nulblank', name: 'NULs in the blanks before a label value are skipped', ct: TEXT, body: 'foo{a= \0"x"} 1\n', latin1: true, expect: ok([[m('foo', { a: 'x' }), 1]]) },
  { id: 'p_nulcomment', name: 'a NUL right after "# " ends the body', ct: TEXT, body: '# \0x\nfoo 1\n', latin1: true, expect: ok([]) },
  { id: 'p_nulhash', name: 'a NUL right after # ends the body', ct: TEXT, body: '#\0\nfoo 1\n', latin1: true, expect: ok([]) },
  { id: 'p_nulonly', name: 'a body of one NUL byte is an empty exposition', ct: TEXT, body: '\0', latin1: true, expect: ok([]) },
  { id: 'p_nulhelp', name: 'a NUL inside HELP text is kept', ct: TEXT, body: '# HELP foo a\0b\nfoo 1\n', latin1: true, expect: ok([[m('foo'), 1]], { metadata: { foo: md('unknown', 'a\0b') } }) },
  { id: 'p_nulesc', name: 'a backslash escapes the byte after skipped NULs', ct: TEXT, body: 'foo{a="x\\\0n"} 1\n', latin1: true, expect: ok([[m('foo', { a: 'x\\\0n' }), 1]]) },
  { id: 'p_colons', name: 'metric names may contain colons', ct: TEXT, body: 'a:b:c 1\n', expect: ok([[m('a:b:c'), 1]]) },
  { id: 'p_lnames', name: 'label names may start with an underscore and contain digits', ct: TEXT, body: 'foo{a1_="1",_b="2"} 1\n', expect: ok([[m('foo', { a1_: '1', _b: '2' }), 1]]) },
  { id: 'p_emptyval', name: 'a label with an empty value is dropped', ct: TEXT, body: 'foo{a=""} 1\n', expect: ok([[m('foo'), 1]]) },
  { id: 'p_emptydup1', name: 'a repeated name with one empty value drops both pairs', ct: TEXT, body: 'foo{a="",a="1"} 1\n', expect: ok([[m('foo'), 1]]) },
  { id: 'p_emptydup2', name: 'a repeated name with a trailing empty value drops both pairs', ct: TEXT, body: 'foo{a="1",a=""} 1\n', expect: ok([[m('foo'), 1]]) },
  { id: 'p_dupline', name: 'the same series twice keeps the first sample', ct: TEXT, body: 'foo 1\nfoo 2\n', expect: ok([[m('foo'), 1]]) },
  { id: 'p_utf8', name: 'UTF-8 label values are accepted', ct: TEXT, body: 'foo{a="é€😀"} 1\n', expect: ok([[m('foo', { a: 'é€😀' }), 1]]) },
  { id: 'p_tsmax', name: 'the largest int64 timestamp is accepted (and later dropped as out of bounds)', ct: TEXT, body: 'foo 1 9223372036854775807\nbar 1\n', expect: ok([[m('bar'), 1]]) },
  { id: 'p_hist', name: 'histogram structure is not validated', ct: TEXT, body: '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="0.5"} 9\nh_sum 1\n', expect: ok([[m('h_bucket', { le: '1' }), 5], [m('h_bucket', { le: '0.5' }), 9], [m('h_sum'), 1]], { metadata: { h: md('histogram') } }) },
  { id: 'p_latemeta', name: 'repeated and late metadata lines are accepted, the last wins', ct: TEXT, body: 'foo 1\n# TYPE foo gauge\n# TYPE foo counter\n# HELP foo x\n# HELP foo y\n', expect: ok([[m('foo'), 1]], { metadata: { foo: md('counter', 'y') } }) },
  { id: 'p_unitcomment', name: '# UNIT is a comment in 0.0.4', ct: TEXT, body: '# UNIT foo seconds\nfoo 1\n', expect: ok([[m('foo'), 1]]) },
  // ── rejected by the parser ───────────────────────────────────────────────
  { id: 'r_plusnan', name: 'a signed NaN is rejected', ct: TEXT, body: 'foo +NaN\n', expect: parserErr },
  { id: 'r_minusnan', name: 'a negative NaN is rejected', ct: TEXT, body: 'foo -nan\n', expect: parserErr },
  { id: 'r_infinit', name: 'a truncated infinity is rejected', ct: TEXT, body: 'foo infinit\n', expect: parserErr },
  { id: 'r_hexp', name: 'a hex float is rejected', ct: TEXT, body: 'foo 0x1p3\n', expect: parserErr },
  { id: 'r_hex', name: 'a hex integer is rejected', ct: TEXT, body: 'foo 0x10\n', expect: parserErr },
  { id: 'r_under', name: 'underscores in numbers are rejected', ct: TEXT, body: 'foo 1_000\n', expect: parserErr },
  { id: 'r_dot', name: 'a lone dot is not a number', ct: TEXT, body: 'foo .\n', expect: parserErr },
  { id: 'r_exp', name: 'an exponent without digits is rejected', ct: TEXT, body: 'foo 1e\n', expect: parserErr },
  { id: 'r_overflow', name: 'a float overflow is rejected', ct: TEXT, body: 'foo 1e400\n', expect: parserErr },
  { id: 'r_overflow2', name: 'a value just above the largest float is rejected', ct: TEXT, body: 'foo 1.7976931348623159e308\n', expect: parserErr },
  { id: 'r_crlf', name: 'CRLF line endings are rejected', ct: TEXT, body: 'foo 1\r\n', expect: parserErr },
  { id: 'r_commas', name: 'two commas between labels are rejected', ct: TEXT, body: 'foo{a="1",,b="2"} 1\n', expect: parserErr },
  { id: 'r_comma', name: 'a lone comma in braces is rejected', ct: TEXT, body: 'foo{,} 1\n', expect: parserErr },
  { id: 'r_bslf', name: 'a backslash before a newline in a label value is rejected', ct: TEXT, body: 'foo{a="x\\\ny"} 1\n', expect: parserErr },
  { id: 'r_negts', name: 'a negative timestamp is rejected', ct: TEXT, body: 'foo 1 -1000\n', expect: parserErr },
  { id: 'r_tsover', name: 'a timestamp above int64 is rejected', ct: TEXT, body: 'foo 1 9223372036854775808\n', expect: parserErr },
  { id: 'r_tsfrac', name: 'a fractional timestamp is rejected', ct: TEXT, body: 'foo 1 1.5\n', expect: parserErr },
  { id: 'r_three', name: 'a third number after the timestamp is rejected', ct: TEXT, body: 'foo{a="1"} 1 2 3\n', expect: parserErr },
  { id: 'r_tsnul', name: 'a NUL after the timestamp is rejected', ct: TEXT, body: 'foo 1 1\0\n', latin1: true, expect: parserErr },
  { id: 'r_twobraces', name: 'two label groups are rejected', ct: TEXT, body: 'foo{a="1"}{b="2"} 1\n', expect: parserErr },
  { id: 'r_closebrace', name: 'a stray closing brace is not a value', ct: TEXT, body: 'foo} 1\n', expect: parserErr },
  { id: 'r_noname', name: 'a line starting with a brace is rejected', ct: TEXT, body: '{a="1"} 1\n', expect: parserErr },
  { id: 'r_digitlabel', name: 'a label name starting with a digit is rejected', ct: TEXT, body: 'foo{1a="1"} 1\n', expect: parserErr },
  { id: 'r_colonlabel', name: 'a colon in a label name is rejected', ct: TEXT, body: 'foo{a:b="1"} 1\n', expect: parserErr },
  { id: 'r_novalue', name: 'a sample without a value is rejected', ct: TEXT, body: 'foo{a="1"}\n', expect: parserErr },
  { id: 'r_novalueend', name: 'a last line without a value is rejected', ct: TEXT, body: 'foo 1\nbar', expect: parserErr },
  { id: 'r_typeblank', name: 'a blank after the TYPE word is rejected', ct: TEXT, body: '# TYPE foo counter \nfoo 1\n', expect: parserErr },
  { id: 'r_typeempty', name: 'a TYPE line without a type is rejected', ct: TEXT, body: '# TYPE foo\nfoo 1\n', expect: parserErr },
  { id: 'r_typebad', name: 'an unknown TYPE word is rejected', ct: TEXT, body: '# TYPE foo gaugehistogram\nfoo 1\n', expect: parserErr },
  { id: 'r_typecase', name: 'TYPE words are case-sensitive', ct: TEXT, body: '# TYPE foo Counter\nfoo 1\n', expect: parserErr },
  { id: 'r_helputf8', name: 'HELP text that is not UTF-8 is rejected', ct: TEXT, body: '# HELP foo \xff\nfoo 1\n', latin1: true, expect: parserErr },
  { id: 'r_lvutf8', name: 'a label value that is not UTF-8 is rejected by the parser', ct: TEXT, body: 'foo{a="\xff"} 1\n', latin1: true, expect: parserErr },
  { id: 'r_surrogate', name: 'a UTF-8 encoded surrogate in a label value is rejected', ct: TEXT, body: 'foo{a="\xed\xa0\x80"} 1\n', latin1: true, expect: parserErr },
  { id: 'r_helpnul', name: 'a NUL right after a HELP name is rejected', ct: TEXT, body: '# HELP foo\0\nfoo 1\n', latin1: true, expect: parserErr },
  { id: 'r_unterminated', name: 'an unterminated label value is rejected', ct: TEXT, body: 'foo{a="1} 1\n', expect: parserErr },
  { id: 'r_bare', name: 'a value without a metric name is rejected', ct: TEXT, body: '1 2\n', expect: parserErr },
  // ── accepted by the parser, rejected by the scrape loop / appender ─────────
  { id: 's_lead', name: 'a sample line starting with a blank fails as an invalid metric name', ct: TEXT, body: ' foo 1\n', expect: scrapeErr },
  { id: 's_leadtab', name: 'a sample line starting with a tab fails as an invalid metric name', ct: TEXT, body: 'bar 1\n\tfoo 1\n', expect: scrapeErr },
  { id: 's_dup', name: 'a repeated label name fails the scrape', ct: TEXT, body: 'foo{a="1",a="2"} 1\n', expect: scrapeErr },
  { id: 's_dupsorted', name: 'a repeated label name among others fails the scrape', ct: TEXT, body: 'foo{b="1",a="2",b="3"} 1\n', expect: scrapeErr },
  { id: 's_namelabel', name: 'a __name__ label next to the metric name fails the scrape', ct: TEXT, body: 'foo{__name__="bar"} 1\n', expect: scrapeErr },
  { id: 's_emptyname', name: 'an empty __name__ label removes the name and fails the scrape', ct: TEXT, body: 'foo{__name__=""} 1\n', expect: scrapeErr },
];

export const OM_CASES: Case[] = [
  // ── accepted ──────────────────────────────────────────────────────────────
  {
    id: 'o_full',
    name: 'metadata, escapes, exemplar with timestamp and _created are read as 2.42 does',
    ct: OM,
    body: '# TYPE foo counter\n# HELP foo a\\\\b\\nc\\"d\\q\n# UNIT foo_x x\nfoo_total{a="x\\"y"} 1.5 # {t="a\\"b"} 2 @S@\nfoo_created 1.5e9\n# EOF\n',
    expect: ok([[m('foo_total', { a: 'x"y' }), 1.5], [m('foo_created'), 1.5e9]], {
      metadata: { foo: md('counter', 'a\\b\nc"d\\q'), foo_x: md('unknown', '', 'x') },
      exemplars: [[m('foo_total', { a: 'x"y' }), { t: 'a\\"b' }, 2, 'T']],
    }),
  },
  { id: 'o_noeolf', name: '# EOF without a final newline is accepted', ct: OM, body: 'foo 1\n# EOF', expect: ok([[m('foo'), 1]]) },
  { id: 'o_eofonly', name: 'a body of only # EOF is an empty exposition', ct: OM, body: '# EOF\n', expect: ok([]) },
  { id: 'o_eofnul', name: 'NUL bytes after # EOF are skipped', ct: OM, body: 'foo 1\n# EOF\n\0', latin1: true, expect: ok([[m('foo'), 1]]) },
  { id: 'o_eofnul2', name: 'NUL bytes right after # EOF are skipped', ct: OM, body: 'foo 1\n# EOF\0', latin1: true, expect: ok([[m('foo'), 1]]) },
  { id: 'o_eofnul3', name: 'a NUL inside the EOF keyword is skipped', ct: OM, body: 'foo 1\n# E\0OF\n', latin1: true, expect: ok([[m('foo'), 1]]) },
  { id: 'o_unit', name: 'a UNIT that is a suffix after an underscore is accepted', ct: OM, body: '# UNIT foo_seconds seconds\nfoo_seconds 1\n# EOF\n', expect: ok([[m('foo_seconds'), 1]], { metadata: { foo_seconds: md('unknown', '', 'seconds') } }) },
  { id: 'o_unitempty', name: 'an empty UNIT is accepted', ct: OM, body: '# UNIT foo \nfoo 1\n# EOF\n', expect: ok([[m('foo'), 1]], { metadata: { foo: md('unknown') } }) },
  { id: 'o_helpempty', name: 'an empty HELP text after the separating space is accepted', ct: OM, body: '# HELP foo \nfoo 1\n# EOF\n', expect: ok([[m('foo'), 1]], { metadata: { foo: md('unknown') } }) },
  { id: 'o_ts', name: 'float-second timestamps become milliseconds', ct: OM, body: 'a 1 @S@\n# EOF\n', expect: ok([[m('a'), 1, 'T']]) },
  { id: 'o_tsex', name: 'a timestamp and an exemplar timestamp on one line', ct: OM, body: 'foo_total 1 @S@ # {a="b"} 1 @S@\n# EOF\n', expect: ok([[m('foo_total'), 1, 'T']], { exemplars: [[m('foo_total'), { a: 'b' }, 1, 'T']] }) },
  { id: 'o_emptybrace', name: 'empty braces are accepted', ct: OM, body: 'foo{} 1\n# EOF\n', expect: ok([[m('foo'), 1]]) },
  { id: 'o_exempty', name: 'an exemplar with no labels is accepted', ct: OM, body: 'foo_total 1 # {} 1\n# EOF\n', expect: ok([[m('foo_total'), 1]], { exemplars: [[m('foo_total'), {}, 1, null]] }) },
  { id: 'o_exbucket', name: 'exemplars are allowed on _bucket samples', ct: OM, body: 'foo_bucket{le="+Inf"} 1 # {a="b"} 1\n# EOF\n', expect: ok([[m('foo_bucket', { le: '+Inf' }), 1]], { exemplars: [[m('foo_bucket', { le: '+Inf' }), { a: 'b' }, 1, null]] }) },
  { id: 'o_exraw', name: 'exemplar label values are not unescaped', ct: OM, body: 'foo_total 1 # {a="x\\ny"} 1\n# EOF\n', expect: ok([[m('foo_total'), 1]], { exemplars: [[m('foo_total'), { a: 'x\\ny' }, 1, null]] }) },
  { id: 'o_exnan', name: 'an exemplar value may be NaN', ct: OM, body: 'foo_total 1 # {a="b"} NaN\n# EOF\n', expect: ok([[m('foo_total'), 1]], { exemplars: [[m('foo_total'), { a: 'b' }, NaN, null]] }) },
  { id: 'o_nulval', name: 'a NUL inside a label value is kept', ct: OM, body: 'foo{a="x\0y"} 1\n# EOF\n', latin1: true, expect: ok([[m('foo', { a: 'x\0y' }), 1]]) },
  { id: 'o_nulquote', name: 'a NUL after a closing quote joins the value with the quote', ct: OM, body: 'foo{a="x"\0} 1\n# EOF\n', latin1: true, expect: ok([[m('foo', { a: 'x"' }), 1]]) },
  {
    id: 'o_types',
    name: 'stateset, info and gaugehistogram samples are ordinary series',
    ct: OM,
    body: '# TYPE foo stateset\nfoo{foo="a"} 1\n# TYPE bar info\nbar_info{x="y"} 1\n# TYPE h gaugehistogram\nh_bucket{le="+Inf"} 1\nh_gcount 1\nh_gsum 1\n# EOF\n',
    expect: ok(
      [[m('foo', { foo: 'a' }), 1], [m('bar_info', { x: 'y' }), 1], [m('h_bucket', { le: '+Inf' }), 1], [m('h_gcount'), 1], [m('h_gsum'), 1]],
      { metadata: { foo: md('stateset'), bar: md('info'), h: md('gaugehistogram') } },
    ),
  },
  { id: 'o_retype', name: 'a repeated TYPE line is accepted and the last wins', ct: OM, body: '# TYPE foo counter\n# TYPE foo gauge\nfoo 1\n# EOF\n', expect: ok([[m('foo'), 1]], { metadata: { foo: md('gauge') } }) },
  { id: 'o_colon', name: 'colons in names are accepted', ct: OM, body: 'a:b 1\n# HELP a:b x\n# EOF\n', expect: ok([[m('a:b'), 1]], { metadata: { 'a:b': md('unknown', 'x') } }) },
  { id: 'o_labels', name: 'labels separated by single commas', ct: OM, body: 'foo{a="1",b="2"} 1\n# EOF\n', expect: ok([[m('foo', { a: '1', b: '2' }), 1]]) },
  { id: 'o_tabval', name: 'special floats as values', ct: OM, body: 'a +Inf\nb -Inf\nc NaN\nd 1e-400\n# EOF\n', expect: ok([[m('a'), Infinity], [m('b'), -Infinity], [m('c'), NaN], [m('d'), 0]]) },
  // ── rejected ──────────────────────────────────────────────────────────────
  { id: 'q_noeof', name: 'a body without # EOF is rejected', ct: OM, body: 'foo 1\n', expect: parserErr },
  { id: 'q_empty', name: 'an empty body is rejected', ct: OM, body: '', expect: parserErr },
  { id: 'q_after', name: 'a blank line after # EOF is rejected', ct: OM, body: 'foo 1\n# EOF\n\n', expect: parserErr },
  { id: 'q_after2', name: 'a second # EOF is rejected', ct: OM, body: 'foo 1\n# EOF\n# EOF\n', expect: parserErr },
  { id: 'q_after3', name: 'a sample after # EOF is rejected', ct: OM, body: 'foo 1\n# EOF\nfoo 2\n', expect: parserErr },
  { id: 'q_eofsp', name: 'a blank after # EOF is rejected', ct: OM, body: 'foo 1\n# EOF \n', expect: parserErr },
  { id: 'q_eof2sp', name: 'two spaces before EOF are rejected', ct: OM, body: 'foo 1\n#  EOF\n', expect: parserErr },
  { id: 'q_unit', name: 'a UNIT that is not a suffix is rejected', ct: OM, body: '# UNIT foo seconds\nfoo 1\n# EOF\n', expect: parserErr },
  { id: 'q_unitall', name: 'a UNIT equal to the whole name is rejected', ct: OM, body: '# UNIT seconds seconds\n# EOF\n', expect: parserErr },
  { id: 'q_unitnous', name: 'a UNIT suffix without an underscore is rejected', ct: OM, body: '# UNIT fooseconds seconds\n# EOF\n', expect: parserErr },
  { id: 'q_unittotal', name: 'a UNIT followed by _total in the family name is rejected', ct: OM, body: '# UNIT foo_seconds_total seconds\n# EOF\n', expect: parserErr },
  { id: 'q_exgauge', name: 'an exemplar on a sample not named _total or _bucket fails the scrape', ct: OM, body: 'foo 1 # {a="b"} 1\n# EOF\n', expect: parserErr },
  { id: 'q_exgauge_ts', name: 'an exemplar after a timestamp on a gauge fails the scrape', ct: OM, body: 'foo 1 @S@ # {a="b"} 1\n# EOF\n', expect: parserErr },
  { id: 'q_trail', name: 'a blank after the value is rejected', ct: OM, body: 'foo 1 \n# EOF\n', expect: parserErr },
  { id: 'q_trail2', name: 'a blank after labels and value is rejected', ct: OM, body: 'foo{a="1"} 1 \n# EOF\n', expect: parserErr },
  { id: 'q_untyped', name: 'TYPE untyped is rejected', ct: OM, body: '# TYPE foo untyped\nfoo 1\n# EOF\n', expect: parserErr },
  { id: 'q_typecase', name: 'TYPE words are lower case only', ct: OM, body: '# TYPE foo Counter\n# EOF\n', expect: parserErr },
  { id: 'q_helpnosp', name: 'a HELP line without the space before its text is rejected', ct: OM, body: '# HELP foo\nfoo 1\n# EOF\n', expect: parserErr },
  { id: 'q_blank', name: 'a blank line is rejected', ct: OM, body: 'foo 1\n\n# EOF\n', expect: parserErr },
  { id: 'q_comment', name: 'a comment line is rejected', ct: OM, body: '# comment\nfoo 1\n# EOF\n', expect: parserErr },
  { id: 'q_trailcomma', name: 'a trailing comma in labels is rejected', ct: OM, body: 'foo{a="1",} 1\n# EOF\n', expect: parserErr },
  { id: 'q_spcomma', name: 'a space before a comma in labels is rejected', ct: OM, body: 'foo{a="1" ,b="2"} 1\n# EOF\n', expect: parserErr },
  { id: 'q_nanTs', name: 'a NaN timestamp is rejected', ct: OM, body: 'foo 1 NaN\n# EOF\n', expect: parserErr },
  { id: 'q_infTs', name: 'an infinite timestamp is rejected', ct: OM, body: 'foo 1 +Inf\n# EOF\n', expect: parserErr },
  { id: 'q_hashx', name: 'a # not followed by " {" after a value is rejected', ct: OM, body: 'foo_total 1 #x\n# EOF\n', expect: parserErr },
  { id: 'q_2sp', name: 'two spaces before the value are rejected', ct: OM, body: 'foo  1\n# EOF\n', expect: parserErr },
  { id: 'q_tab', name: 'a tab before the value is rejected', ct: OM, body: 'foo\t1\n# EOF\n', expect: parserErr },
  { id: 'q_rawlf', name: 'a raw newline inside a label value is rejected', ct: OM, body: 'foo{a="x\ny"} 1\n# EOF\n', expect: parserErr },
  { id: 'q_exnoval', name: 'an exemplar without a value is rejected', ct: OM, body: 'foo_total 1 # {a="b"}\n# EOF\n', expect: parserErr },
  { id: 'q_exsp', name: 'a blank after the exemplar value is rejected', ct: OM, body: 'foo_total 1 # {a="b"} 1 \n# EOF\n', expect: parserErr },
  { id: 'q_ex3', name: 'a third number in an exemplar is rejected', ct: OM, body: 'foo_total 1 # {a="b"} 1 1 1\n# EOF\n', expect: parserErr },
  { id: 'q_excomma', name: 'a trailing comma in exemplar labels is rejected', ct: OM, body: 'foo_total 1 # {a="b",} 1\n# EOF\n', expect: parserErr },
  { id: 'q_exnants', name: 'a NaN exemplar timestamp is rejected', ct: OM, body: 'foo_total 1 # {a="b"} 1 NaN\n# EOF\n', expect: parserErr },
  { id: 'q_exnul', name: 'a NUL inside an exemplar label value is rejected', ct: OM, body: 'foo_total 1 # {a="x\0"} 1\n# EOF\n', latin1: true, expect: parserErr },
  { id: 'q_exutf8', name: 'an exemplar label value that is not UTF-8 is rejected', ct: OM, body: 'foo_total 1 # {a="\xff"} 1\n# EOF\n', latin1: true, expect: parserErr },
  { id: 'q_helputf8', name: 'HELP text that is not UTF-8 is rejected', ct: OM, body: '# HELP foo \xff\n# EOF\n', latin1: true, expect: parserErr },
  { id: 'q_hexp', name: 'a hex float value is rejected', ct: OM, body: 'foo 0x1p3\n# EOF\n', expect: parserErr },
  { id: 'q_plusnan', name: 'a signed NaN value is rejected', ct: OM, body: 'foo +nan\n# EOF\n', expect: parserErr },
  { id: 'q_nospace', name: 'a value touching the closing brace is rejected', ct: OM, body: 'foo{a="1"}1\n# EOF\n', expect: parserErr },
  { id: 'q_crlf', name: 'CRLF line endings are rejected', ct: OM, body: 'foo 1\r\n# EOF\n', expect: parserErr },
  { id: 'q_tstrail', name: 'a blank after the timestamp is rejected', ct: OM, body: 'foo 1 1e3 \n# EOF\n', expect: parserErr },
  { id: 'q_3num', name: 'a third number is rejected', ct: OM, body: 'foo 1 1 1\n# EOF\n', expect: parserErr },
  // ── accepted by the parser, rejected later ────────────────────────────────
  { id: 't_dup', name: 'a repeated label name fails the scrape', ct: OM, body: 'foo{a="1",a="2"} 1\n# EOF\n', expect: scrapeErr },
];

/** Parser choice by Content-Type: the body is valid 0.0.4 but lacks # EOF. */
const CT_BODY = 'foo 1\n';
export const CONTENT_TYPE_CASES: Case[] = [
  ['c_om', 'application/openmetrics-text', false],
  ['c_omcase', 'APPLICATION/OpenMetrics-Text; version=0.0.1', false],
  ['c_omsemi2', 'application/openmetrics-text;;', true],
  ['c_omsemi', 'application/openmetrics-text;', false],
  ['c_omsemisp', 'application/openmetrics-text; version=1.0.0 ;  ', false],
  ['c_text', 'text/plain; version=0.0.4', true],
  ['c_lead', ' application/openmetrics-text', false],
  ['c_noeq', 'application/openmetrics-text; charset', true],
  ['c_spsemi', 'application/openmetrics-text ; version=1.0.0', false],
  ['c_dupeq', 'application/openmetrics-text; version=1.0.0; version=1.0.0', true],
  ['c_dupne', 'application/openmetrics-text; version=1.0.0; Version=2', true],
  ['c_quoted', 'application/openmetrics-text; a="x;y"', false],
  ['c_unterminated', 'application/openmetrics-text; a="x', true],
  ['c_emptyval', 'application/openmetrics-text; a=', true],
  ['c_slash', 'application/openmetrics-text/x', true],
  ['c_list', 'application/openmetrics-text, text/plain', true],
  ['c_junk', 'application/openmetrics-text; a=b c', true],
  ['c_star', "application/openmetrics-text; a*=utf-8''x", false],
  ['c_other', 'application/json', true],
  ['c_none', null, true],
  ['c_proto', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited', false],
].map(([id, ct, textParser]) => ({
  id: id as string,
  name: `Content-Type ${JSON.stringify(ct)} ${textParser ? 'selects the 0.0.4 parser' : 'does not select the 0.0.4 parser'}`,
  ct: ct as string | null,
  body: CT_BODY,
  expect: textParser ? ok([[m('foo'), 1]]) : parserErr,
}));

CONTENT_TYPE_CASES.push({
  id: 'c_protoempty',
  name: 'an empty body served as protobuf is an empty exposition',
  ct: 'application/vnd.google.protobuf',
  body: '',
  expect: ok([]),
});

/** Bytes of a case body with the placeholders filled in. */
export function caseBody(c: Case, nowMs: number): Uint8Array {
  const s = c.body.replaceAll('@T@', String(nowMs)).replaceAll('@S@', (nowMs / 1000).toFixed(3));
  return new Uint8Array(Buffer.from(s, c.latin1 ? 'latin1' : 'utf8'));
}
