/**
 * Entry for `MM_BENCH_MACRO=1 npm run bench`: runs bench/macro/side-by-side.ts
 * (scrape-side CPU and RSS against Prometheus 2.42; MM_SIDE_MINUTES etc. apply).
 */
import './side-by-side.js';
