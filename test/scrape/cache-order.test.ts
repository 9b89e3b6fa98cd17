/**
 * The scrape cache's scrape-order prediction (`predicted`, `hit`, and the
 * prediction-first path of `get`): it may only make lookups cheaper, never change
 * which entry a key finds.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Labels } from '../../src/storage/index.js';
import { ScrapeCache } from '../../src/scrape/cache.js';

const enc = new TextEncoder();
const L = Labels.fromPairs('__name__', 'm');
const key = (i: number): Uint8Array => enc.encode(`m{i="${i}"}`);

/** Key bytes of entry `e` as the cache holds them. */
function keyOf(c: ScrapeCache, e: number): string {
  const v = c.keyView();
  return Buffer.from(v.buffer, v.byteOffset + c.keyOffset(e), c.keyLength(e)).toString('latin1');
}

/** One scrape: looks every key up (adding misses with ref = 1 + key number) and ends the generation. */
function scrape(c: ScrapeCache, ids: number[]): number[] {
  const out: number[] = [];
  for (const i of ids) {
    const k = key(i);
    let e = c.get(k, 0, k.length);
    if (e < 0) e = c.add(k, 0, k.length, i + 1, L, -1);
    out.push(e);
  }
  c.iterDone(true);
  return out;
}

describe('scrape cache: scrape-order prediction', () => {
  test('after one scrape, each entry predicts the one that followed it, starting with the first', () => {
    const c = new ScrapeCache();
    const es = scrape(c, [5, 3, 9, 1]);
    for (const e of es) {
      expect(c.predicted()).toBe(e);
      expect(c.hit(c.predicted())).toBe(e);
    }
    c.iterDone(true);
    expect(c.size).toBe(4);
    expect(keyOf(c, c.predicted())).toBe('m{i="5"}');
  });

  test('a changed order still finds every key and the next scrape predicts the new order', () => {
    const c = new ScrapeCache();
    scrape(c, [1, 2, 3, 4]);
    const es = scrape(c, [4, 3, 2, 1]);
    expect(es.map((e) => c.ref(e))).toEqual([5, 4, 3, 2]);
    for (const e of es) {
      expect(c.predicted()).toBe(e);
      c.hit(e);
    }
  });

  test('entries dropped by a flush are renumbered and the surviving order is kept', () => {
    const c = new ScrapeCache();
    scrape(c, [0, 1, 2, 3, 4, 5]);
    scrape(c, [0, 2, 4]); // 1, 3, 5 dropped at this flush
    expect(c.size).toBe(3);
    const seen: string[] = [];
    for (let k = 0; k < 3; k++) {
      const e = c.predicted();
      seen.push(keyOf(c, e));
      c.hit(e);
    }
    expect(seen).toEqual(['m{i="0"}', 'm{i="2"}', 'm{i="4"}']);
  });

  test('a series exposed twice in one scrape does not break lookups of the others', () => {
    const c = new ScrapeCache();
    scrape(c, [1, 2, 2, 3]);
    const es = scrape(c, [1, 2, 2, 3]);
    expect(es.map((e) => c.ref(e))).toEqual([2, 3, 3, 4]);
  });

  test('random scrape sequences (orders, churn, duplicates) find exactly the entries a plain map would', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }), { minLength: 1, maxLength: 12 }), (scrapes) => {
        const c = new ScrapeCache();
        // Model: key → ref of the entries alive (seen in the previous successful scrape, or added in it).
        let alive = new Set<number>();
        for (const ids of scrapes) {
          const next = new Set<number>();
          for (const i of ids) {
            const k = key(i);
            const e = c.get(k, 0, k.length);
            if (alive.has(i) || next.has(i)) {
              expect(e).toBeGreaterThanOrEqual(0);
              expect(keyOf(c, e)).toBe(`m{i="${i}"}`);
              expect(c.ref(e)).toBe(i + 1);
            } else {
              expect(e).toBe(-1);
              c.add(k, 0, k.length, i + 1, L, -1);
            }
            next.add(i);
          }
          c.iterDone(true);
          alive = next;
          expect(c.size).toBe(alive.size);
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
