/**
 * `mm-metrics run`: the service. With no flags it runs on its embedded default: data under
 * ./data, a local-directory file store, scraping itself and the local Mattermost node
 * (localhost:8067) and its node exporter (localhost:9100), API and UI on 127.0.0.1:8075.
 *
 * Settings precedence: defaults < --mattermost-config < --config < environment < flags.
 * SIGTERM/SIGINT: stop scraping, flush, final file-store sync, hand running jobs back,
 * exit 0 (a second signal exits at once with 130).
 */
import type { Command } from 'commander';
import pino from 'pino';
import { loadConfigDetailed, type Config } from '../config/index.js';
import { settingsFromConfig } from '../app/settings.js';
import { startApp, APP_VERSION } from '../app.js';
import { parseDuration } from '../scrape/index.js';

interface RunFlags {
  config?: string;
  mattermostConfig?: string;
  dataDir?: string;
  listen?: string;
  target: string[];
  scrapeInterval?: string;
  adminToken?: string;
  logLevel?: string;
}

/** Set by a test harness to bound shutdown (ms). */
const SHUTDOWN_BOUND_MS = Number(process.env.MM_METRICS_SHUTDOWN_TIMEOUT_MS ?? 60_000);

export function register(program: Command): void {
  program
    .command('run')
    .description('run the service (collector, file-store shipping, dump API and web UI)')
    .option('--config <file>', 'YAML configuration file')
    .option('--mattermost-config <file>', "take MetricsSettings, ClusterSettings, FileSettings and SqlSettings from a Mattermost config.json")
    .option('--data-dir <dir>', 'data directory (default ./data)')
    .option('--listen <host:port>', 'API and UI listen address (default 127.0.0.1:8075)')
    .option('--target <url>', 'extra static target, e.g. http://host:9100/metrics (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--scrape-interval <duration>', 'scrape interval, e.g. 1s, 60s')
    .option('--admin-token <token>', 'static admin token (default: generated once, kept in the data dir)')
    .option('--log-level <level>', 'trace|debug|info|warn|error')
    .action(async (flags: RunFlags) => {
      const code = await run(flags);
      if (code !== 0) process.exitCode = code;
    });
}

async function run(flags: RunFlags): Promise<number> {
  const overrides: Record<string, unknown> = {};
  const set = (path: string, v: unknown): void => {
    const parts = path.split('.');
    let o = overrides;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1] as string] = v;
  };
  if (flags.dataDir) set('storage.dataDir', flags.dataDir);
  if (flags.listen) set('server.listenAddress', flags.listen);
  if (flags.scrapeInterval) {
    let ms: number;
    try {
      ms = parseDuration(flags.scrapeInterval);
    } catch (e) {
      process.stderr.write(`mm-metrics: configuration error: --scrape-interval: ${(e as Error).message} (e.g. 1s, 15s, 1m)\n`);
      return 2;
    }
    set('scrape.interval', flags.scrapeInterval);
    // A short interval with the default 10 s timeout would be invalid; follow it down as Prometheus caps it.
    if (ms < 10_000) set('scrape.timeout', flags.scrapeInterval);
  }
  if (flags.adminToken) set('server.adminToken', flags.adminToken);
  if (flags.logLevel) set('log.level', flags.logLevel);

  let cfg: Config;
  let warnings: string[];
  try {
    ({ config: cfg, warnings } = await loadConfigDetailed({
      ...(flags.config ? { file: flags.config } : {}),
      ...(flags.mattermostConfig ? { mattermostConfig: flags.mattermostConfig } : {}),
      env: process.env,
      overrides,
      overridesSource: 'command-line flag',
    }));
  } catch (e) {
    process.stderr.write(`mm-metrics: configuration error: ${(e as Error).message}\n`);
    return 2;
  }
  const log = pino({ level: cfg.log.level, base: { app: 'mm-metrics' }, redact: ['*.token', '*.password', '*.secretAccessKey', '*.dataSource'] });
  for (const w of warnings) log.warn(w);
  const settings = settingsFromConfig(cfg);
  for (const url of flags.target) settings.targets.extra.push({ url, job: 'static' });

  let app;
  try {
    app = await startApp(settings, log);
  } catch (e) {
    const err = e as Error & { code?: string };
    log.fatal({ err: err.message, code: err.code }, 'start failed');
    // A DataSource that cannot be parsed is a configuration error (the message names the
    // part that is wrong and never the password), like the ones the loader reports.
    if (err.code === 'MM_ERR_DSN_INVALID') {
      process.stderr.write(`mm-metrics: configuration error: cluster.database.dataSource: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`mm-metrics: ${err.message}\n`);
    return 1;
  }
  // One write, so a reader of stderr sees the URL and the token together.
  let banner = `mm-metrics ${APP_VERSION} running: ${app.url}\n`;
  if (app.newAdminToken) {
    banner += (
      `\nAdmin token (shown once; stored 0600 in ${settings.dataDir}/admin-token):\n  ${app.newAdminToken}\n` +
        `Open the URL above and paste it, or: curl -H "Authorization: Bearer <token>" ${app.url}jobs\n\n`
    );
  }
  process.stderr.write(banner);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`mm-metrics: second ${sig}, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      log.info({ signal: sig }, 'shutting down');
      const timer = setTimeout(() => {
        log.error({ boundMs: SHUTDOWN_BOUND_MS }, 'shutdown took too long, exiting');
        process.exit(1);
      }, SHUTDOWN_BOUND_MS);
      timer.unref();
      app
        .stop()
        .then(() => {
          log.info('stopped');
          resolve();
        })
        .catch((e: unknown) => {
          log.error({ err: (e as Error).message }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}
