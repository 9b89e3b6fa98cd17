/**
 * Serves the side-by-side targets (MM_SIDE_TARGETS × MM_SIDE_SERIES, see targets.ts) until
 * killed, and prints `--target URL …` for a manual run of the service with any node flags:
 *
 *   node --import tsx bench/macro/serve-targets.ts > /tmp/targets.txt &
 *   node --trace-gc bin/mm-metrics.js run --scrape-interval 1s $(cat /tmp/targets.txt) …
 */
import { startSideTargets } from './targets.js';

const servers = await startSideTargets(Number(process.env.MM_SIDE_TARGETS ?? 10), Number(process.env.MM_SIDE_SERIES ?? 5000));
console.log(servers.map((s) => `--target ${s.url('/metrics')}`).join(' '));
