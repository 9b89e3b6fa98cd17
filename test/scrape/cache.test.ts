import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Labels } from '../../src/storage/index.js';
import { ScrapeCache, hashBytes, hashLabelPairs } from '../../src/scrape/cache.js';

const enc = new TextEncoder();
const L = (name: string): Labels => Labels.fromPairs('__name__', name);

describe('scrape cache keyed by raw series bytes', () => {
  test('a miss returns -1, an added entry is found again by equal bytes at any offset', () => {
    const c = new ScrapeCache();
    const key = enc.encode('http_requests_total{code="200"}');
    expect(c.get(key, 0, key.length)).toBe(-1);
    const id = c.staleIdFor(1, L('a'));
    const e = c.add(key, 0, key.length, 7, L('a'), id);
    const body = enc.encode('xx http_requests_total{code="200"} 1\n');
    expect(c.get(body, 3, 3 + key.length)).toBe(e);
    expect(c.ref(e)).toBe(7);
    expect(c.lset(e).get('__name__')).toBe('a');
    expect(c.get(body, 3, 3 + key.length - 1)).toBe(-1);
  });

  test('a zero ref is not cached (as Prometheus addRef)', () => {
    const c = new ScrapeCache();
    const key = enc.encode('m');
    expect(c.add(key, 0, 1, 0, L('m'), -1)).toBe(-1);
    expect(c.get(key, 0, 1)).toBe(-1);
  });

  test('a flush drops entries not seen in the generation and keeps the others intact', () => {
    const c = new ScrapeCache();
    const keys = Array.from({ length: 1000 }, (_, i) => enc.encode(`m{i="${i}"}`));
    keys.forEach((k, i) => c.add(k, 0, k.length, i + 1, L('m' + i), -1));
    c.iterDone(true);
    // Next generation: only even keys seen.
    keys.forEach((k, i) => {
      if (i % 2 === 0) expect(c.get(k, 0, k.length)).toBeGreaterThanOrEqual(0);
    });
    c.iterDone(true);
    expect(c.size).toBe(500);
    keys.forEach((k, i) => {
      const e = c.get(k, 0, k.length);
      if (i % 2 === 0) {
        expect(e).toBeGreaterThanOrEqual(0);
        expect(c.ref(e)).toBe(i + 1);
        expect(c.lset(e).get('__name__')).toBe('m' + i);
      } else expect(e).toBe(-1);
    });
  });

  test('an unsuccessful generation keeps entries unless the cache more than doubled (+1000)', () => {
    const c = new ScrapeCache();
    const k0 = enc.encode('first');
    c.add(k0, 0, k0.length, 1, L('first'), -1);
    c.iterDone(true); // successfulCount = 1
    for (let i = 0; i < 1002; i++) {
      const k = enc.encode('churn' + i);
      c.add(k, 0, k.length, i + 2, L('c'), -1);
    }
    c.iterDone(false); // 1003 > 2*1+1000 → forced flush of entries not seen this generation
    expect(c.get(k0, 0, k0.length)).toBe(-1);
    expect(c.size).toBe(1002);
  });

  test('staleness: an id tracked in the previous generation and not in this one is reported once', () => {
    const c = new ScrapeCache();
    const a = c.staleIdFor(11, L('a'));
    const b = c.staleIdFor(22, L('b'));
    c.trackStaleness(a);
    c.trackStaleness(b);
    const stale = (): string[] => {
      const out: string[] = [];
      c.forEachStale((l) => (out.push(l.get('__name__')), true));
      return out;
    };
    expect(stale()).toEqual([]);
    c.iterDone(true);
    c.trackStaleness(a);
    expect(stale()).toEqual(['b']);
    c.iterDone(true);
    expect(stale()).toEqual(['a']);
    c.iterDone(true);
    expect(stale()).toEqual([]);
    // Unreferenced ids outside both generations are freed and reused.
    expect(c.staleIdCount).toBe(0);
    expect(c.staleIdFor(33, L('c'))).toBeLessThanOrEqual(1);
  });

  test('a staleness id referenced by a cache entry survives generations in which it was not tracked', () => {
    const c = new ScrapeCache();
    const k = enc.encode('m');
    const id = c.staleIdFor(5, L('m'));
    c.add(k, 0, 1, 1, L('m'), id);
    for (let i = 0; i < 3; i++) {
      expect(c.get(k, 0, 1)).toBeGreaterThanOrEqual(0); // seen, but e.g. its append was out of order
      c.iterDone(true);
    }
    expect(c.staleIdFor(5, L('m'))).toBe(id);
  });

  test('the cache agrees with a Map model over random add/get/flush sequences', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('add' as const), key: fc.string({ maxLength: 12 }) }),
      fc.record({ k: fc.constant('get' as const), key: fc.string({ maxLength: 12 }) }),
      fc.record({ k: fc.constant('done' as const), flush: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const c = new ScrapeCache();
        const model = new Map<string, { ref: number; seen: number }>();
        let iter = 1;
        let successful = 0;
        let nextRef = 1;
        for (const o of ops) {
          if (o.k === 'done') {
            let flush = o.flush;
            if (flush) successful = model.size;
            else if (model.size > successful * 2 + 1000) flush = true;
            if (flush) for (const [k, v] of model) if (v.seen !== iter) model.delete(k);
            c.iterDone(o.flush);
            iter++;
            continue;
          }
          const b = enc.encode(o.key);
          const e = c.get(b, 0, b.length);
          const m = model.get(o.key);
          expect(e >= 0).toBe(m !== undefined);
          if (m !== undefined) {
            m.seen = iter;
            expect(c.ref(e)).toBe(m.ref);
          } else if (o.k === 'add') {
            const ref = nextRef++;
            c.add(b, 0, b.length, ref, L('x'), -1);
            model.set(o.key, { ref, seen: iter });
          }
        }
        expect(c.size).toBe(model.size);
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  test('byte hashing is position independent and label-pair hashing tells value boundaries apart', () => {
    const a = enc.encode('__abcdefgh');
    const b = enc.encode('abcdefgh');
    expect(hashBytes(a, 2, a.length)).toBe(hashBytes(b, 0, b.length));
    expect(hashLabelPairs(['a', 'b'], ['1', ''], 2)).not.toBe(hashLabelPairs(['a'], ['1'], 1));
    expect(hashLabelPairs(['a'], ['bc'], 1)).not.toBe(hashLabelPairs(['ab'], ['c'], 1));
    expect(Number.isSafeInteger(hashLabelPairs(['a'], ['x'], 1))).toBe(true);
  });
});
