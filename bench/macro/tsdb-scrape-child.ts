/**
 * The mm-metrics side of bench/macro/side-by-side.ts with the real TSDB: a ScrapeManager
 * committing into `openDB` (WAL fdatasync per commit, head, block cuts), so CPU and RSS
 * are end to end like Prometheus's.
 *
 *   MM_CMD='node --import tsx bench/macro/tsdb-scrape-child.ts --data-dir {dataDir} {targets} --scrape-interval 1s' \
 *     node --import tsx bench/macro/side-by-side.ts
 *
 * Prints `SAMPLES <n>` (samples appended to the head so far) every second and once more
 * on SIGTERM, then closes the DB and exits.
 */
import { ScrapeManager, parseDuration, scrapeConfigWith, targetFromURL } from '../../src/scrape/index.js';
import { openDB } from '../../src/tsdb/index.js';

const args = process.argv.slice(2);
const targets: string[] = [];
let interval = 1000;
let dataDir = '';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--target') targets.push(args[++i]!);
  else if (args[i] === '--scrape-interval') interval = parseDuration(args[++i]!);
  else if (args[i] === '--data-dir') dataDir = args[++i]!;
}
if (targets.length === 0 || dataDir === '') {
  console.error('usage: tsdb-scrape-child.ts --data-dir DIR --scrape-interval 1s --target URL …');
  process.exit(2);
}

const db = await openDB(dataDir, { logger: { info: () => {}, warn: (o, m) => console.error(m, o) } });
db.start();
const mgr = new ScrapeManager(db);
const cfg = scrapeConfigWith('mattermost', { scrapeInterval: interval, scrapeTimeout: Math.min(interval, 10_000) });
mgr.setTargets(targets.map((u) => targetFromURL(cfg, u)));
mgr.start();
const report = (): void => {
  process.stdout.write(`SAMPLES ${db.head.metrics.samplesAppended}\n`);
};
const timer = setInterval(report, 1000);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void mgr
    .stop()
    .then(() => {
      report();
      return db.close();
    })
    .then(() => process.exit(0));
});
