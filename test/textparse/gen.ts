/**
 * fast-check generators for expositions: a small document model (metadata lines,
 * comments, samples with labels, values, timestamps, exemplars) rendered to 0.0.4
 * or OpenMetrics text with randomly chosen but valid spellings (blanks, commas,
 * escapes, float forms), plus byte-level mutations of rendered bodies.
 *
 * `render*` returns the body and the entries a correct parser must yield, so the
 * property tests can check "parses back to what was generated".
 */
import fc from 'fast-check';
import { goFloatToInt64 } from '../../src/textparse/index.js';

export type Format = 'text' | 'om';

export type GenLine =
  | { kind: 'help'; name: string; text: string }
  | { kind: 'type'; name: string; type: string }
  | { kind: 'unit'; name: string; unit: string }
  | { kind: 'comment'; text: string }
  | { kind: 'blank' }
  | {
      kind: 'sample';
      name: string;
      labels: [string, string][];
      value: number;
      /** 0.0.4: ms integer; OM: float seconds */
      ts: number | null;
      exemplar: { labels: [string, string][]; value: number; ts: number | null } | null;
    };

/** What the parser must yield for one line. */
export type Expected =
  | { kind: 'help'; name: string; text: string }
  | { kind: 'type'; name: string; type: string }
  | { kind: 'unit'; name: string; unit: string }
  | { kind: 'comment'; text: string }
  | {
      kind: 'sample';
      name: string;
      labels: [string, string][];
      value: number;
      ts: number | null;
      exemplar: { labels: [string, string][]; value: number; ts: number | null } | null;
    };

const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/);
const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/);
const interestingChar = fc.constantFrom('"', '\\', '\n', 'é', '€', '😀', '\0', ' ', '\t', '{', '}', ',', '=', '#', 'n');
const labelValue = fc.string({ unit: fc.oneof(interestingChar, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 8 });
const helpText = fc.string({ unit: fc.oneof(interestingChar, fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 })), maxLength: 12 });

const value = fc.oneof(
  { weight: 4, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer({ min: -1e6, max: 1e6 }) },
  { weight: 1, arbitrary: fc.constantFrom(0.005, 0.1, 2.5, 1e-300, 5e-324, 1.7976931348623157e308) },
);

const TEXT_TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const OM_TYPES = ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown'];

export interface DocOptions {
  format: Format;
  /** generator for 0.0.4 timestamps (ms) */
  tsMs?: fc.Arbitrary<number>;
  /** generator for OpenMetrics timestamps (float seconds) */
  tsSec?: fc.Arbitrary<number>;
  maxLines?: number;
}

export function docArb(o: DocOptions): fc.Arbitrary<GenLine[]> {
  const om = o.format === 'om';
  const ts: fc.Arbitrary<number> = om
    ? (o.tsSec ?? fc.double({ min: -1e11, max: 1e11, noNaN: true }))
    : (o.tsMs ?? fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })));
  const labels = fc.array(fc.tuple(labelName, labelValue), { maxLength: 4 });
  const sample = fc
    .record({
      name: metricName,
      labels,
      value,
      ts: fc.option(ts, { freq: 3 }),
      suffix: fc.constantFrom('', '', '_total', '_bucket'),
      exemplar: fc.option(
        fc.record({
          labels: fc.array(fc.tuple(labelName, labelValue), { maxLength: 2 }),
          value,
          ts: fc.option(fc.double({ min: -1e11, max: 1e11, noNaN: true }), { freq: 2 }),
        }),
        { freq: 2 },
      ),
    })
    .map((s): GenLine => {
      const name = s.name + s.suffix;
      const canEx = om && (name.endsWith('_total') || name.endsWith('_bucket'));
      return { kind: 'sample', name, labels: s.labels, value: s.value, ts: s.ts, exemplar: canEx ? s.exemplar : null };
    });
  const lines: fc.Arbitrary<GenLine>[] = [
    sample,
    sample,
    sample,
    fc.record({ kind: fc.constant('help' as const), name: metricName, text: helpText }),
    fc.record({ kind: fc.constant('type' as const), name: metricName, type: fc.constantFrom(...(om ? OM_TYPES : TEXT_TYPES)) }),
  ];
  if (om) {
    lines.push(
      metricName.chain((n) =>
        fc.constantFrom('', 'seconds', 'bytes').map((u): GenLine => ({ kind: 'unit', name: u === '' ? n : `${n}_${u}`, unit: u })),
      ),
    );
  } else {
    lines.push(fc.record({ kind: fc.constant('comment' as const), text: fc.stringMatching(/^[a-zA-Z0-9 ._-]{0,10}$/) }));
    lines.push(fc.constant({ kind: 'blank' } as GenLine));
  }
  return fc.array(fc.oneof(...lines), { maxLength: o.maxLines ?? 12 });
}

/** Random but valid renderings. `choices` is a stream of small integers. */
export interface Choices {
  pick(n: number): number;
}

export function choicesOf(seq: number[]): Choices {
  let i = 0;
  return { pick: (n) => (seq.length === 0 ? 0 : seq[i++ % seq.length]! % n) };
}

function floatText(v: number, c: Choices, om: boolean): string {
  if (Object.is(v, -0)) return ['-0', '-0.0', '-0e5'][c.pick(3)]!;
  if (Number.isNaN(v)) return ['NaN', 'nan', 'NAN'][c.pick(3)]!;
  if (v === Infinity) return ['+Inf', 'Inf', 'inf', '+infinity', 'Infinity'][c.pick(5)]!;
  if (v === -Infinity) return ['-Inf', '-inf', '-Infinity'][c.pick(3)]!;
  const forms = [String(v), v.toExponential(), v.toExponential().toUpperCase()];
  if (Number.isInteger(v) && Math.abs(v) < 1e15) forms.push(v.toFixed(1), (v < 0 ? '-' : '') + '00' + String(Math.abs(v)));
  if (Math.abs(v) < 1 && v !== 0 && !om) forms.push(String(v).replace('0.', '.'));
  const f = forms[c.pick(forms.length)]!;
  return Object.is(Number(f), v) ? f : String(v);
}

function escapeValue(v: string, c: Choices, rawNewlineOk: boolean): string {
  let s = '';
  for (const ch of v) {
    if (ch === '\\') s += '\\\\';
    else if (ch === '"') s += '\\"';
    else if (ch === '\n') s += rawNewlineOk && c.pick(2) === 0 ? '\n' : '\\n';
    else s += ch;
  }
  return s;
}

function blank(c: Choices): string {
  return [' ', '\t', '  ', ' \t'][c.pick(4)]!;
}

/** Renders 0.0.4 text and the entries it must parse to. */
export function renderText(doc: GenLine[], c: Choices): { body: string; expected: Expected[] } {
  let body = '';
  const expected: Expected[] = [];
  for (const l of doc) {
    switch (l.kind) {
      case 'blank':
        body += ['', ' ', '\t '][c.pick(3)] + '\n';
        break;
      case 'comment':
        body += '# ' + 'c' + l.text + '\n';
        expected.push({ kind: 'comment', text: '# c' + l.text });
        break;
      case 'help': {
        const t = l.text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
        body += `#${blank(c)}HELP${blank(c)}${l.name} ${t}\n`;
        // 2.42 quirk: text of only blanks (and skipped NULs) lexes as whitespace → empty.
        expected.push({ kind: 'help', name: l.name, text: /^[ \t\0]*$/.test(l.text) ? '' : l.text });
        break;
      }
      case 'type':
        body += `#${blank(c)}TYPE${blank(c)}${l.name} ${l.type}\n`;
        expected.push({ kind: 'type', name: l.name, type: l.type === 'untyped' ? 'unknown' : l.type });
        break;
      case 'unit':
        break;
      case 'sample': {
        let s = l.name;
        if (l.labels.length > 0 || c.pick(4) === 0) {
          if (c.pick(3) === 0) s += blank(c);
          s += '{';
          l.labels.forEach(([n, v], i) => {
            if (i > 0) s += [',', ', ', ' ', ',\t'][c.pick(4)];
            s += `${n}${c.pick(4) === 0 ? ' = ' : '='}"${escapeValue(v, c, true)}"`;
          });
          if (l.labels.length > 0 && c.pick(4) === 0) s += ',';
          s += '}';
        }
        s += blank(c) + floatText(l.value, c, false);
        if (l.ts !== null) s += blank(c) + (c.pick(4) === 0 ? '000' : '') + String(l.ts);
        if (c.pick(4) === 0) s += blank(c);
        body += s + '\n';
        expected.push({ kind: 'sample', name: l.name, labels: l.labels, value: l.value, ts: l.ts, exemplar: null });
        break;
      }
    }
  }
  if (body.endsWith('\n') && c.pick(4) === 0) body = body.slice(0, -1);
  return { body, expected };
}

/** Renders OpenMetrics text (with `# EOF`) and the entries it must parse to. */
export function renderOM(doc: GenLine[], c: Choices): { body: string; expected: Expected[] } {
  let body = '';
  const expected: Expected[] = [];
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  for (const l of doc) {
    switch (l.kind) {
      case 'help':
        body += `# HELP ${l.name} ${esc(l.text)}\n`;
        expected.push({ kind: 'help', name: l.name, text: l.text });
        break;
      case 'type':
        body += `# TYPE ${l.name} ${l.type}\n`;
        expected.push({ kind: 'type', name: l.name, type: l.type });
        break;
      case 'unit':
        body += `# UNIT ${l.name} ${l.unit}\n`;
        expected.push({ kind: 'unit', name: l.name, unit: l.unit });
        break;
      case 'sample': {
        let s = l.name;
        if (l.labels.length > 0 || c.pick(4) === 0) s += '{' + l.labels.map(([n, v]) => `${n}="${esc(v)}"`).join(',') + '}';
        s += ' ' + floatText(l.value, c, true);
        let ts: number | null = null;
        if (l.ts !== null) {
          s += ' ' + String(l.ts);
          ts = goFloatToInt64(Number(String(l.ts)) * 1000);
        }
        let ex: Extract<Expected, { kind: 'sample' }>['exemplar'] = null;
        if (l.exemplar !== null) {
          const e = l.exemplar;
          // Exemplar label values come back raw (escaped), as 2.42 stores them.
          // (NUL is not allowed there: the exemplar lexer state does not skip it.)
          const raw: [string, string][] = e.labels.map(([n, v]) => [n, esc(v.replace(/\0/g, ''))]);
          s += ' # {' + raw.map(([n, v]) => `${n}="${v}"`).join(',') + '} ' + floatText(e.value, c, true);
          if (e.ts !== null) s += ' ' + String(e.ts);
          ex = { labels: raw, value: e.value, ts: e.ts === null ? null : goFloatToInt64(e.ts * 1000) };
        }
        body += s + '\n';
        expected.push({ kind: 'sample', name: l.name, labels: l.labels, value: l.value, ts, exemplar: ex });
        break;
      }
      default:
        break;
    }
  }
  body += c.pick(3) === 0 ? '# EOF' : '# EOF\n';
  return { body, expected };
}

/** Bytes that matter to the lexers, for mutations. */
const MUTATION_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x23, 0x2c, 0x2b, 0x2d, 0x2e, 0x30, 0x31, 0x3d, 0x5c, 0x5f, 0x65, 0x7b, 0x7d, 0x61, 0x3a, 0xc3, 0xff, 0x45, 0x4f, 0x46];

export type Mutation = [op: number, pos: number, arg: number];

export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(
  fc.tuple(fc.nat(4), fc.nat(), fc.nat()),
  { minLength: 1, maxLength: 4 },
);

/** Applies insert / replace / delete / duplicate / truncate operations to a body. */
export function mutate(body: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(body);
  for (const [op, p, a] of muts) {
    const pos = b.length === 0 ? 0 : p % (b.length + 1);
    const byte = MUTATION_BYTES[a % MUTATION_BYTES.length]!;
    switch (op) {
      case 0:
        b.splice(pos, 0, byte);
        break;
      case 1:
        if (pos < b.length) b[pos] = byte;
        break;
      case 2:
        b.splice(pos, 1 + (a % 3));
        break;
      case 3: {
        const len = 1 + (a % 12);
        b.splice(pos, 0, ...b.slice(pos, pos + len));
        break;
      }
      default:
        b = b.slice(0, pos);
    }
  }
  return new Uint8Array(b);
}
