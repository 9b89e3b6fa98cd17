/**
 * Go formatting used by `promtool tsdb` output, reproduced so our `tsdb list/analyze/dump`
 * output can be diffed against promtool's:
 *
 *  - `formatGoFloat`: fmt's `%g` for float64: shortest round-trip digits (as JS), but the
 *    exponent form is used when the decimal exponent is < -4 or >= 6 (JS: >= 21), with
 *    at least two exponent digits: 1e+06, 3.2e+08, 1e-05;
 *  - `goDuration`: `time.Duration.String()` for a millisecond count ("2h0m0s", "30.001s");
 *  - `goUnixUTC`: `time.Unix(s, 0).UTC().String()` ("2023-11-14 22:13:20 +0000 UTC");
 *  - `base2Bytes`: alecthomas/units `Base2Bytes.String()` ("46KiB126B");
 *  - `TabWriter`: text/tabwriter with promtool's settings (minwidth 13, padding 2, spaces).
 */
import { utf8Length } from '../tsdb/index/index.js';

/** Go `fmt.Sprintf("%g", v)` for a float64. */
export function formatGoFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  const neg = v < 0;
  // Shortest round-trip digits and exponent, as Go's strconv computes them.
  const e = (neg ? -v : v).toExponential();
  const ei = e.indexOf('e');
  const digits = e.slice(0, ei).replace('.', '');
  const x = Number(e.slice(ei + 1));
  const nd = digits.length;
  let out: string;
  if (x < -4 || x >= 6) {
    // %e with nd-1 fraction digits, exponent at least two digits.
    out = digits[0] + (nd > 1 ? '.' + digits.slice(1) : '') + 'e' + (x < 0 ? '-' : '+') + (Math.abs(x) < 10 ? '0' : '') + Math.abs(x);
  } else {
    const dp = x + 1; // digits before the decimal point
    if (dp <= 0) out = '0.' + '0'.repeat(-dp) + digits;
    else if (dp >= nd) out = digits + '0'.repeat(dp - nd);
    else out = digits.slice(0, dp) + '.' + digits.slice(dp);
  }
  return neg ? '-' + out : out;
}

/** Go `time.Duration(ms * 1e6).String()`. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let u = Math.abs(ms);
  let s: string;
  if (u < 1000) {
    s = `${u}ms`;
  } else {
    const frac = u % 1000;
    u = Math.floor(u / 1000);
    let f = '';
    if (frac !== 0) f = '.' + String(frac).padStart(3, '0').replace(/0+$/, '');
    s = `${u % 60}${f}s`;
    u = Math.floor(u / 60);
    if (u > 0) {
      s = `${u % 60}m` + s;
      u = Math.floor(u / 60);
      if (u > 0) s = `${u}h` + s;
    }
  }
  return neg ? '-' + s : s;
}

/** Go `time.Unix(ms/1000, 0).UTC().String()` (integer division truncating toward zero). */
export function goUnixUTC(ms: number): string {
  const sec = Math.trunc(ms / 1000);
  const d = new Date(sec * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

const UNITS = ['', 'K', 'M', 'G', 'T', 'P', 'E'];

/** alecthomas/units `Base2Bytes(n).String()`. */
export function base2Bytes(n: number): string {
  const out: string[] = new Array(UNITS.length).fill('');
  for (let i = 0; i < UNITS.length; i++) {
    const r = n % 1024;
    if (r !== 0 || (i === 0 && n === 0)) out[UNITS.length - 1 - i] = `${r}${UNITS[i]}${i === 0 ? 'B' : 'iB'}`;
    n = Math.trunc(n / 1024);
    if (n === 0) break;
  }
  return out.join('');
}

/**
 * Go `text/tabwriter` with flags 0, for tables whose lines have their cells ended by
 * tabs: a column is as wide as its widest cell plus `padding`, at least `minwidth`;
 * the text after a line's last tab is not aligned. Widths count runes, as Go does.
 */
export class TabWriter {
  private readonly lines: string[][];
  constructor(
    private readonly minwidth = 13,
    private readonly padding = 2,
  ) {
    this.lines = [];
  }

  /** Adds one line: `cells` joined by tabs (the last cell is not tab-terminated). */
  row(...cells: string[]): void {
    this.lines.push(cells);
  }

  /** The formatted text, every line ending in "\n". */
  flush(): string {
    // Column k's width comes from the consecutive lines that have a tab-terminated cell k.
    const out: string[] = [];
    const widths: number[] = [];
    for (const cells of this.lines) {
      for (let k = 0; k < cells.length - 1; k++) {
        const w = runeLength(cells[k] as string) + this.padding;
        widths[k] = Math.max(widths[k] ?? this.minwidth, w, this.minwidth);
      }
    }
    for (const cells of this.lines) {
      let s = '';
      for (let k = 0; k < cells.length; k++) {
        const c = cells[k] as string;
        if (k < cells.length - 1) s += c + ' '.repeat((widths[k] as number) - runeLength(c));
        else s += c;
      }
      out.push(s + '\n');
    }
    this.lines.length = 0;
    return out.join('');
  }
}

function runeLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Byte length of a string in UTF-8 (Go `len(s)`). */
export const goLen = utf8Length;
