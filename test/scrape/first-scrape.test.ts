import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ScrapeManager, scrapeConfigWith, targetFromURL } from '../../src/scrape/index.js';
import { MemoryStorage } from '../support/memory-appender.js';
import { TargetServer, text } from '../support/target-server.js';

describe('first scrape bound (cluster takeover)', () => {
  let server: TargetServer;
  beforeAll(async () => {
    server = await TargetServer.start();
    for (let i = 0; i < 8; i++) server.define(`/t${i}`, () => text('x 1\n'));
  });
  afterAll(async () => {
    await server.close();
  });

  test('with firstScrapeWithinMs every target is scraped within the bound, not up to a whole interval later', async () => {
    const cfg = scrapeConfigWith('prometheus', { scrapeInterval: 60_000, scrapeTimeout: 10_000 });
    const m = new ScrapeManager(new MemoryStorage(), { firstScrapeWithinMs: 500, jitterSeed: 12345 });
    m.setTargets(Array.from({ length: 8 }, (_, i) => targetFromURL(cfg, server.url(`/t${i}`))));
    const t0 = Date.now();
    m.start();
    while (m.targets().some((t) => t.health === 'unknown') && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
    const elapsed = Date.now() - t0;
    await m.stop();
    expect(m.targets().length).toBe(0);
    // 500 ms bound plus scrape time; without the option the 60 s phases spread over a minute.
    expect(elapsed).toBeLessThan(2_500);
  });

  test('without it the first scrapes follow the per-target phase over the interval', async () => {
    const cfg = scrapeConfigWith('prometheus', { scrapeInterval: 60_000, scrapeTimeout: 10_000 });
    const m = new ScrapeManager(new MemoryStorage(), { jitterSeed: 12345 });
    m.setTargets(Array.from({ length: 8 }, (_, i) => targetFromURL(cfg, server.url(`/t${i}`))));
    m.start();
    await new Promise((r) => setTimeout(r, 1500));
    const scraped = m.targets().filter((t) => t.health !== 'unknown').length;
    await m.stop();
    // Eight phases uniform over 60 s: the chance that all land in the first 1.5 s is negligible.
    expect(scraped).toBeLessThan(8);
  });
});
