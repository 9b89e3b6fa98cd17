/**
 * mm-metrics command line. Each subcommand lives in its own file under src/cli and
 * registers itself here.
 */
import { Command } from 'commander';
import { register as registerRun } from './run.js';
import { register as registerScrape } from './scrape.js';
import { register as registerTsdb } from './tsdb.js';
import { APP_VERSION } from '../app.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('mm-metrics').description('Metrics collector and troubleshooting-dump service for Mattermost').version(APP_VERSION);
  registerRun(program);
  registerScrape(program);
  registerTsdb(program);
  await program.parseAsync(argv);
}
