import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  assertHtmlReportTarget,
  FOLDER_MARKER_FILE,
  type FolderMarker,
  isCoreError,
  writeHtmlReport,
} from '@crypto-anomaly/core';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { CliError } from '../errors.js';
import { runReportLines, setProblem, summaryLines } from '../report.js';
import { readRunForReport } from '../report-html.js';

/** `crypto-anomaly report DIR`: a run's summary.json, printed for people. */
export function addReportCommand(program: Command, context: CommandContext): void {
  program
    .command('report')
    .description("print the summary of a run's outputs (its summary.json)")
    .argument('<dir>', 'the output folder of a run (its --out)')
    .option('--json', 'print summary.json as it is, for scripts')
    .option('--full', 'print every key of summary.json (settings, versions, split times)')
    .option(
      '--html',
      'write one self-contained HTML report (zoomable charts, sortable anomalies, works offline)',
    )
    .option('--out <file>', 'with --html: the file to write (default <dir>-report.html beside the folder)')
    .option(
      '--labels <events.csv>',
      'with --html: known anomalies (time, or start and end columns) drawn as bands',
    )
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly report output/            the last run with the default --out
  crypto-anomaly report runs/btc --full    every key, settings included
  crypto-anomaly report runs/btc --json    the raw JSON, e.g. for jq
  crypto-anomaly report runs/btc --html    writes runs/btc-report.html, to open in a browser`,
    )
    .action(async (dir: string, options: ReportOptions) => {
      if (!options.html && (options.out !== undefined || options.labels !== undefined)) {
        throw new CliError(
          'USAGE',
          `${options.out !== undefined ? '--out' : '--labels'} only goes with --html`,
          {
            hint: `crypto-anomaly report ${dir} --html${options.out !== undefined ? ` --out ${options.out}` : ''}`,
          },
        );
      }
      if (options.html && options.json) {
        throw new CliError('USAGE', '--html and --json cannot be combined', {
          hint: 'run report twice: once with --json, once with --html',
        });
      }
      const folder = resolve(dir);
      const path = join(folder, 'summary.json');
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Killed between the two renames of a swap: the previous set waits beside the folder.
        const displaced = (await readdir(dirname(folder)).catch(() => [] as string[])).find(
          (name) => name.startsWith(`.${basename(folder)}.`) && name.endsWith('.old'),
        );
        throw new CliError('RUNTIME', `no readable summary.json in ${dir} (${code ?? String(error)})`, {
          hint: displaced
            ? `a run was killed while swapping its files in; the previous run is in ${join(dirname(folder), displaced)} and the next run into ${dir} restores it first`
            : `give the --out folder of a finished run, e.g. crypto-anomaly run --out ${dir} first`,
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
      // One run's set or nothing: a summary that does not belong with the files is not reported.
      const marker = await readMarker(folder);
      const problem = setProblem(summary as never, marker, (file) => existsSync(join(folder, file)));
      if (problem) {
        throw new CliError('RUNTIME', `${dir} is not one complete run: ${problem}`, {
          hint: `run again with --out ${dir} to write a whole new set`,
        });
      }
      if (!marker) {
        context.err(
          `note: ${dir} has no ${FOLDER_MARKER_FILE} (written by an earlier version), so it is not checked as one run`,
        );
      }
      if (options.html) {
        await writeReport(folder, summary as never, options, context);
        return;
      }
      if (options.json) {
        context.out(JSON.stringify(summary, null, 2));
        return;
      }
      context.out(`Summary of ${path}`);
      const short = options.full ? undefined : runReportLines(summary as never, context.width());
      // --full promises every value: nothing is cut to the terminal's width (the terminal wraps).
      const lines =
        short ?? summaryLines(summary as never, options.full ? Number.POSITIVE_INFINITY : context.width());
      for (const line of lines) context.out(line);
    });
}

interface ReportOptions {
  json?: boolean;
  full?: boolean;
  html?: boolean;
  out?: string;
  labels?: string;
}

/** `--html`: the run's report as one HTML file, never over a file crypto-anomaly did not write. */
async function writeReport(
  folder: string,
  summary: Parameters<typeof readRunForReport>[1],
  options: ReportOptions,
  context: CommandContext,
): Promise<void> {
  const target = resolve(options.out ?? `${folder}-report.html`);
  try {
    await assertHtmlReportTarget(target);
  } catch (error) {
    if (isCoreError(error) && error.code === 'TARGET_NOT_OURS') {
      throw new CliError('USAGE', error.message, {
        hint: 'choose another file with --out; a file crypto-anomaly did not write is never replaced',
        cause: error,
      });
    }
    throw error;
  }
  const input = await readRunForReport(folder, summary, options.labels);
  const { bytes } = await writeHtmlReport(target, input);
  context.out(`wrote ${target} (${(bytes / 1024).toFixed(0)} KB, works offline): open it in a browser`);
}

/** The folder's marker, if it has a readable one. */
async function readMarker(folder: string): Promise<FolderMarker | undefined> {
  try {
    const marker = JSON.parse(await readFile(join(folder, FOLDER_MARKER_FILE), 'utf8')) as FolderMarker;
    return marker?.format === 'crypto-anomaly-folder' && Array.isArray(marker.files) ? marker : undefined;
  } catch {
    return undefined;
  }
}
