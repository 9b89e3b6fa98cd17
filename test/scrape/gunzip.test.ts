import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import zlib from 'node:zlib';
import { GunzipError, ReusableGunzip } from '../../src/scrape/gunzip.js';

/** What Node's own gunzipSync makes of `input`: the bytes, or the error message. */
function reference(input: Uint8Array, limit: number): { ok: Buffer } | { err: string; code: string } {
  try {
    return { ok: zlib.gunzipSync(input, limit > 0 ? { maxOutputLength: limit - 1 } : {}) };
  } catch (e) {
    const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    return { err: (e as Error).message, code: tooLarge ? 'too_large' : 'corrupt' };
  }
}

function ours(g: ReusableGunzip, input: Uint8Array, limit: number): { ok: Buffer } | { err: string; code: string } {
  try {
    return { ok: Buffer.from(g.inflate(input, limit)) };
  } catch (e) {
    expect(e).toBeInstanceOf(GunzipError);
    return { err: (e as Error).message, code: (e as GunzipError).code };
  }
}

/** Same outcome as gunzipSync: same bytes, or an error of the same kind (corrupt: same message). */
function expectSame(g: ReusableGunzip, input: Uint8Array, limit = 0): void {
  const want = reference(input, limit);
  const got = ours(g, input, limit);
  if ('ok' in want) {
    expect('ok' in got ? got.ok.equals(want.ok) : got).toBe(true);
  } else {
    expect('err' in got).toBe(true);
    if ('err' in got) {
      expect(got.code).toBe(want.code);
      if (want.code === 'corrupt') expect(got.err).toBe(want.err);
    }
  }
}

function text(n: number, seed: number): Buffer {
  const lines: string[] = [];
  let x = seed;
  while (lines.length * 40 < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    lines.push(`mattermost_http_requests_total{handler="h${x % 97}"} ${x % 100000}`);
  }
  return Buffer.from(lines.join('\n')).subarray(0, n);
}

const big = text(900_000, 1);
const gz = (b: Uint8Array, level = 1): Buffer => zlib.gzipSync(b, { level });

describe('ReusableGunzip', () => {
  test('this Node exposes the engine internals, so the reusing path is the one under test', () => {
    expect(ReusableGunzip.supported()).toBe(true);
  });

  for (const fallback of [false, true]) {
    const g = new ReusableGunzip(fallback);
    const name = fallback ? 'gunzipSync fallback' : 'reused engine';
    test.each([
      { what: 'an empty body', input: gz(new Uint8Array(0)) },
      { what: 'a small body', input: gz(Buffer.from('up 1\n')) },
      { what: 'a body larger than the first output buffer (it grows)', input: gz(big) },
      { what: 'two gzip members back to back', input: Buffer.concat([gz(text(1000, 2)), gz(text(70_000, 3))]) },
      { what: 'a member followed by trailing garbage', input: Buffer.concat([gz(text(1000, 4)), Buffer.from('garbage')]) },
      { what: 'not gzip at all', input: Buffer.from('mattermost_up 1\n') },
      { what: 'a truncated body', input: gz(big).subarray(0, 5000) },
      { what: 'a body cut inside the trailer', input: gz(text(5000, 5)).subarray(0, gz(text(5000, 5)).length - 3) },
      { what: 'a bad CRC', input: (() => { const b = Buffer.from(gz(text(5000, 6))); b[b.length - 6]! ^= 0xff; return b; })() },
      { what: 'only a gzip header', input: gz(Buffer.from('x')).subarray(0, 10) },
    ])(`${name}: $what inflates as gunzipSync does`, ({ input }) => {
      expectSame(g, input);
      // …and the engine is usable afterwards, whatever happened.
      expectSame(g, gz(text(3000, 7)));
    });

    test(`${name}: the body size limit fails at limit bytes, not one byte before`, () => {
      const body = text(200_000, 8);
      const z = gz(body);
      expect(ours(g, z, body.length + 1)).toEqual({ ok: body });
      expect(ours(g, z, body.length)).toMatchObject({ code: 'too_large' });
      expect(ours(g, z, 1000)).toMatchObject({ code: 'too_large' });
      expect(ours(g, z, 0)).toEqual({ ok: body });
    });
  }

  test('an empty body is under a limit of 1 byte', () => {
    expect(ours(new ReusableGunzip(), gz(new Uint8Array(0)), 1)).toEqual({ ok: Buffer.alloc(0) });
  });

  test('alternating large and small bodies: each view holds its own body until the next call', () => {
    const g = new ReusableGunzip();
    const small = text(10_000, 9);
    for (let i = 0; i < 20; i++) {
      const b = i % 3 === 0 ? big : small;
      const v = g.inflate(gz(b), 0);
      expect(Buffer.from(v).equals(b)).toBe(true);
    }
  });

  test('the output buffer is reused: a steady body allocates no new output', () => {
    const g = new ReusableGunzip();
    const z = gz(big);
    const first = g.inflate(z, 0).buffer;
    for (let i = 0; i < 5; i++) expect(g.inflate(z, 0).buffer).toBe(first);
  });

  test('after a run of small bodies the buffer shrinks, and big bodies still inflate', () => {
    const g = new ReusableGunzip();
    const large = g.inflate(gz(big), 0).buffer.byteLength;
    const small = gz(text(1000, 10));
    for (let i = 0; i < 40; i++) g.inflate(small, 0);
    expect(g.inflate(small, 0).buffer.byteLength).toBeLessThan(large / 4);
    expect(Buffer.from(g.inflate(gz(big), 0)).equals(big)).toBe(true);
  });

  test('fast-check: random bodies and random damage give what gunzipSync gives', () => {
    const g = new ReusableGunzip();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 0, max: 9 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.option(fc.nat(), { nil: undefined }),
        // gunzipSync's maxOutputLength (limit − 1) must be ≥ 1, so the reference has no limit 1.
        fc.oneof(fc.constant(0), fc.integer({ min: 2, max: 4000 })),
        (body, level, flips, cut, limit) => {
          const z = Buffer.from(gz(body, level));
          for (const [at, v] of flips) z[at % z.length] = v;
          const input = cut === undefined ? z : z.subarray(0, cut % (z.length + 1));
          expectSame(g, input, limit);
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });
});
