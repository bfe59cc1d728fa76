import { resolve } from 'node:path';
import * as core from '@crypto-anomaly/core';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { configOf, pick } from '../options.js';
import { checkTargets, partialStop } from '../output-folders.js';
import { runSession } from '../session.js';
import { addSourceOptions, type SourceKind, sourceSettings } from '../sources.js';
import { addEngineOptions, engineSettings, trainingTitle, withEngineInput } from './pipeline-options.js';

/** `crypto-anomaly run`: the whole pipeline, from candles to files, with the dashboard. */
export function addRunCommand(
  program: Command,
  context: CommandContext,
  sources: readonly SourceKind[],
): void {
  const command = program
    .command('run')
    .description('the whole pipeline: candles, features, three detectors, anomaly CSVs, summary and charts');
  addSourceOptions(command, sources, 'sample');
  command.option('--out <dir>', 'output folder, created if missing (default output/)');
  addEngineOptions(command, { training: true })
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly run                                   the bundled sample market, default settings
  crypto-anomaly run --epochs 5 --out /tmp/quick       a quick look
  crypto-anomaly run --source csv --input BTCUSDT-1h.csv --out runs/btc
  crypto-anomaly run --source binance --symbol ETHUSDT --interval 1h --since 2024-01-01
  crypto-anomaly run --source binance --symbol ETHUSDT --interval 1m --since 2023-01-01 --archive
  crypto-anomaly run --source store --symbol ETHUSDT --interval 1h --since 2024-01-01
  crypto-anomaly run --config settings.json --no-tui   settings from a file, plain log lines

Writes into --out: <SYMBOL>_processed_data.csv, anomalies_<detector>.csv (isolation_forest,
autoencoder, attention, consensus), summary.json, chart_*.png and model/ (for crypto-anomaly
detect), as one set that replaces the previous run's whole. --out must be new, empty or an
earlier run's folder: anything else is refused and nothing is deleted. --source binance
downloads what the store lacks first (see crypto-anomaly fetch); with --archive, the
monthly/daily archive files first, then the REST API for the rest.`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const config = await configOf(command);
      const settings = sourceSettings(command, config, 'sample');
      const engine = engineSettings(command, config);
      const outDir = resolve(pick<string>(command, 'out', config.out) ?? 'output');
      // Before any work: --out must be absent, empty or a run's outputs, and writable.
      await checkTargets(core, [{ option: '--out', dir: outDir, kind: 'outputs' }]);
      const title = trainingTitle('run', settings, outDir);
      await runSession({ title, tui: engine.tui, context }, async (reporter) => {
        if (settings.kind === 'sample') {
          reporter.line(
            'Using the bundled sample market (the default source; --source binance or csv for real data).',
          );
        }
        const { tui: _tui, ...options } = engine;
        return withEngineInput(command, config, reporter, { kind: 'sample' }, async (input) => {
          // q, Ctrl+C or a signal after a detector finished keeps a partial run (no charts).
          const result = await core.runPipeline({ ...options, ...input, outDir, onAbort: 'keep-finished' });
          if (result.partial) throw partialStop(reporter, result.outDir, result.partial, 'summary.json');
          return { outDir: result.outDir, files: result.files, topAnomalies: result.topAnomalies };
        });
      });
    });
}
