import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import type { CommandContext } from '../program.js';
import { runReportLines, summaryLines } from '../report.js';

/** `crypto-anomaly report DIR`: a run's summary.json, printed for people. */
export function addReportCommand(program: Command, context: CommandContext): void {
  program
    .command('report')
    .description("print the summary of a run's outputs (its summary.json)")
    .argument('<dir>', 'the output folder of a run (its --out)')
    .option('--json', 'print summary.json as it is, for scripts')
    .option('--full', 'print every key of summary.json (settings, versions, split times)')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly report output/            the last run with the default --out
  crypto-anomaly report runs/btc --full    every key, settings included
  crypto-anomaly report runs/btc --json    the raw JSON, e.g. for jq`,
    )
    .action(async (dir: string, options: { json?: boolean; full?: boolean }) => {
      const path = join(resolve(dir), 'summary.json');
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new CliError('RUNTIME', `no readable summary.json in ${dir} (${code ?? String(error)})`, {
          hint: `give the --out folder of a finished run, e.g. crypto-anomaly run --out ${dir} first`,
          cause: error,
        });
      }
      let summary: unknown;
      try {
        summary = JSON.parse(text);
      } catch (error) {
        throw new CliError('RUNTIME', `${path} is not valid JSON (${(error as Error).message})`, {
          hint: 'the file was changed or cut short; run the pipeline again to rewrite it',
          cause: error,
        });
      }
      if (options.json) {
        context.out(JSON.stringify(summary, null, 2));
        return;
      }
      context.out(`Summary of ${path}`);
      const short = options.full ? undefined : runReportLines(summary as never, context.width());
      for (const line of short ?? summaryLines(summary as never, context.width())) context.out(line);
    });
}
