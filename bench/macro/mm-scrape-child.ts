/**
 * The mm-metrics side of bench/macro/side-by-side.ts until the full service exists:
 * a ScrapeManager writing into the in-memory appender, scraping the given URLs.
 *
 *   node --import tsx bench/macro/mm-scrape-child.ts --scrape-interval 1s --target URL [--target URL …]
 *
 * Prints `SAMPLES <n>` (committed samples so far, the side's own counter) every
 * second and once more on SIGTERM, then exits.
 */
import { ScrapeManager, parseDuration, scrapeConfigWith, targetFromURL } from '../../src/scrape/index.js';
import { MemoryStorage } from '../../test/support/memory-appender.js';

const args = process.argv.slice(2);
const targets: string[] = [];
let interval = 1000;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--target') targets.push(args[++i]!);
  else if (args[i] === '--scrape-interval') interval = parseDuration(args[++i]!);
}
if (targets.length === 0) {
  console.error('usage: mm-scrape-child.ts --scrape-interval 1s --target URL …');
  process.exit(2);
}

const st = new MemoryStorage();
const mgr = new ScrapeManager(st);
const cfg = scrapeConfigWith('mattermost', { scrapeInterval: interval, scrapeTimeout: Math.min(interval, 10_000) });
mgr.setTargets(targets.map((u) => targetFromURL(cfg, u)));
mgr.start();
const report = (): void => {
  process.stdout.write(`SAMPLES ${st.samplesAppended}\n`);
};
const timer = setInterval(report, 1000);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void mgr.stop().then(() => {
    report();
    process.exit(0);
  });
});
