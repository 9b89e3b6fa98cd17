/**
 * The service's own `/metrics`: a prom-client registry built per app (never the
 * global one), with Node's process metrics and gauges/counters that read the
 * components' plain counter objects at scrape time. Names follow Prometheus's where a
 * component mirrors a Prometheus one (`prometheus_tsdb_*`, `prometheus_target_*`), so
 * the Mattermost dashboards' queries for those work against us too.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ScrapeStats } from '../scrape/index.js';
import type { DB } from '../tsdb/db.js';
import type { ShipperStats } from '../dump/shipper.js';

export interface MetricSources {
  scrape?: () => ScrapeStats | null;
  db?: () => DB | null;
  shipper?: () => ShipperStats | null;
  isLeader?: () => boolean;
  jobs?: () => Promise<Record<string, number>>;
}

/** A counter whose value is read from a monotonic source at collect time. */
function readCounter(reg: Registry, name: string, help: string, read: () => number | null): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [reg],
    collect() {
      const v = read();
      if (v === null) return;
      // Sources are monotonic while the process lives; guard anyway.
      if (v > last) this.inc(v - last);
      last = Math.max(last, v);
    },
  });
}

function readGauge(reg: Registry, name: string, help: string, read: () => number | null): void {
  new Gauge({
    name,
    help,
    registers: [reg],
    collect() {
      const v = read();
      if (v !== null) this.set(v);
    },
  });
}

export function createMetricsRegistry(src: MetricSources): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  const sc = () => src.scrape?.() ?? null;
  readCounter(reg, 'prometheus_target_scrapes_total', 'Scrapes run.', () => sc()?.scrapes ?? null);
  readCounter(reg, 'mm_metrics_target_scrapes_failed_total', 'Scrapes that failed (up = 0).', () => sc()?.failedScrapes ?? null);
  readCounter(reg, 'mm_metrics_target_samples_scraped_total', 'Samples parsed from targets.', () => sc()?.samplesScraped ?? null);
  readCounter(reg, 'prometheus_target_scrapes_sample_out_of_order_total', 'Samples rejected as out of order.', () => sc()?.outOfOrder ?? null);
  readCounter(reg, 'prometheus_target_scrapes_sample_duplicate_timestamp_total', 'Samples rejected as duplicates.', () => sc()?.duplicates ?? null);
  readCounter(reg, 'prometheus_target_scrapes_sample_out_of_bounds_total', 'Samples rejected as out of bounds.', () => sc()?.outOfBounds ?? null);

  const db = () => src.db?.() ?? null;
  // db.stats() walks every head series (chunk counts): fine for the API, too dear for a
  // 1 s self-scrape, so the gauges that need it share one snapshot per 10 s.
  let statsAt = 0;
  let statsSnap: ReturnType<DB['stats']> | null = null;
  const dbStats = (): ReturnType<DB['stats']> | null => {
    const d = db();
    if (!d) return null;
    if (statsSnap === null || Date.now() - statsAt > 10_000) {
      statsSnap = d.stats();
      statsAt = Date.now();
    }
    return statsSnap;
  };
  readGauge(reg, 'prometheus_tsdb_head_series', 'Series in the head.', () => db()?.head.series.size ?? null);
  readCounter(reg, 'prometheus_tsdb_head_samples_appended_total', 'Samples appended to the head.', () => db()?.head.metrics.samplesAppended ?? null);
  readCounter(reg, 'prometheus_tsdb_head_series_created_total', 'Series created in the head.', () => db()?.head.metrics.seriesCreated ?? null);
  readGauge(reg, 'prometheus_tsdb_blocks_loaded', 'Blocks loaded.', () => db()?.blocks().length ?? null);
  readCounter(reg, 'prometheus_tsdb_compactions_total', 'Head cuts and block compactions.', () => {
    const d = db();
    return d ? d.metrics.headCuts + d.metrics.compactions : null;
  });
  readCounter(reg, 'prometheus_tsdb_compactions_failed_total', 'Failed compactions.', () => db()?.metrics.compactionFailures ?? null);
  readCounter(reg, 'prometheus_tsdb_wal_corruptions_total', 'WAL corruptions repaired.', () => db()?.metrics.walCorruptions ?? null);
  readGauge(reg, 'prometheus_tsdb_storage_blocks_bytes', 'Bytes of persisted blocks.', () => dbStats()?.blocks.bytes ?? null);
  readGauge(reg, 'prometheus_tsdb_head_chunks', 'Chunks in the head.', () => dbStats()?.head.numChunks ?? null);

  const sh = () => src.shipper?.() ?? null;
  readCounter(reg, 'mm_metrics_shipper_uploaded_blocks_total', 'Blocks uploaded to the file store.', () => sh()?.uploadedBlocks ?? null);
  readCounter(reg, 'mm_metrics_shipper_uploaded_bytes_total', 'Bytes uploaded to the file store.', () => sh()?.uploadedBytes ?? null);
  readCounter(reg, 'mm_metrics_shipper_removed_blocks_total', 'Blocks removed from the file store by retention.', () => sh()?.removedBlocks ?? null);
  readGauge(reg, 'mm_metrics_shipper_last_sync_timestamp_seconds', 'Last successful sync.', () => {
    const s = sh();
    return s ? s.lastSync / 1000 : null;
  });
  readGauge(reg, 'mm_metrics_scraper_leader', '1 when this node holds the scraper role.', () => (src.isLeader ? (src.isLeader() ? 1 : 0) : null));
  if (src.jobs) {
    const jobs = src.jobs;
    new Gauge({
      name: 'mm_metrics_dump_jobs',
      help: 'Dump jobs by status.',
      labelNames: ['status'],
      registers: [reg],
      async collect() {
        const counts = await jobs();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
  }
  return reg;
}
