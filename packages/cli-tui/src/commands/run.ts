import { resolve } from 'node:path';
import * as core from '@crypto-anomaly/core';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { usageError } from '../errors.js';
import { configOf, pick } from '../options.js';
import { checkTargets, partialStop } from '../output-folders.js';
import { runSession } from '../session.js';
import { addSourceOptions, type SourceKind, sourceSettings } from '../sources.js';
import {
  addEngineOptions,
  engineSettings,
  parseWindowSize,
  trainingTitle,
  withEngineInput,
} from './pipeline-options.js';

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
  command
    .option('--out <dir>', 'output folder, created if missing (default output/)')
    .option(
      '--walk-forward',
      're-fit preprocessing, detectors and thresholds on a trailing window and score the next step, ' +
        'through the history: every row is judged by a model that saw only the past',
    )
    .option(
      '--train-window <size>',
      'with --walk-forward: candles each fold fits on, or a duration (2y, 18mo, 90d; default 2y, ' +
        'within 500-10,000 candles and half the history)',
      parseWindowSize,
    )
    .option(
      '--step <size>',
      'with --walk-forward: candles each fold scores, or a duration (default an eighth of the window, ' +
        'longer if needed to keep at most 24 folds)',
      parseWindowSize,
    );
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
  crypto-anomaly run --source csv --input BTCUSDT-1d.csv --threshold dspot
  crypto-anomaly run --source csv --input BTCUSDT-1d.csv --walk-forward --train-window 2y --step 3mo

Writes into --out: <SYMBOL>_processed_data.csv, anomalies_<detector>.csv (isolation_forest,
autoencoder, attention, consensus), summary.json, chart_*.png and model/ (for crypto-anomaly
detect), as one set that replaces the previous run's whole. --out must be new, empty or an
earlier run's folder: anything else is refused and nothing is deleted. --source binance
downloads what the store lacks first (see crypto-anomaly fetch); with --archive, the
monthly/daily archive files first, then the REST API for the rest.

--walk-forward writes the same files over the rows after the first window (all out of
sample, split "test"), each row with the threshold it was judged against; summary.json
lists the folds, model/ is the last fold's. Every fold trains the autoencoders: the cost
is about (folds) x (one run on the window). A stop discards a walk-forward run.`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const config = await configOf(command);
      const settings = sourceSettings(command, config, 'sample');
      const engine = engineSettings(command, config);
      const walkForward = walkForwardSettings(command);
      const outDir = resolve(pick<string>(command, 'out', config.out) ?? 'output');
      // Before any work: --out must be absent, empty or a run's outputs, and writable.
      await checkTargets(core, [{ option: '--out', dir: outDir, kind: 'outputs' }]);
      const title = trainingTitle('run', settings, outDir);
      await runSession({ title, tui: engine.tui, json: engine.json, context }, async (reporter) => {
        if (settings.kind === 'sample') {
          reporter.line(
            'Using the bundled sample market (the default source; --source binance or csv for real data).',
          );
        }
        const { tui: _tui, json: _json, ...options } = engine;
        return withEngineInput(command, config, reporter, { kind: 'sample' }, async (input) => {
          // q, Ctrl+C or a signal after a detector finished keeps a partial run (no charts).
          const result = await core.runPipeline({
            ...options,
            ...input,
            outDir,
            onAbort: 'keep-finished',
            ...(walkForward ? { walkForward } : {}),
          });
          if (result.partial) throw partialStop(reporter, result.outDir, result.partial, 'summary.json');
          return { outDir: result.outDir, files: result.files, topAnomalies: result.topAnomalies };
        });
      });
    });
}

/** `--walk-forward [--train-window S] [--step S]`; the sizes alone are refused, not silently ignored. */
function walkForwardSettings(command: Command): Partial<core.WalkForwardOptions> | undefined {
  const trainWindow = command.getOptionValue('trainWindow') as core.WindowSize | undefined;
  const step = command.getOptionValue('step') as core.WindowSize | undefined;
  if (!command.getOptionValue('walkForward')) {
    const given = trainWindow !== undefined ? '--train-window' : step !== undefined ? '--step' : undefined;
    if (given)
      throw usageError(given, 'only applies with --walk-forward', 'add --walk-forward, or leave it out');
    return undefined;
  }
  return { ...(trainWindow !== undefined ? { trainWindow } : {}), ...(step !== undefined ? { step } : {}) };
}
