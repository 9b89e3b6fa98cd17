/**
 * mm-metrics command line. Each subcommand lives in its own file under src/cli and
 * registers itself here.
 */
import { Command } from 'commander';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('mm-metrics').description('Metrics collector and troubleshooting-dump service for Mattermost').version('0.1.0');
  // Subcommands are registered by their modules (scrape, tsdb, run, dump).
  const registrations: Array<(p: Command) => void> = [];
  for (const mod of ['./scrape.js', './tsdb.js', './run.js']) {
    try {
      const m = (await import(mod)) as { register?: (p: Command) => void };
      if (m.register) registrations.push(m.register);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  for (const r of registrations) r(program);
  await program.parseAsync(argv);
}
