import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as core from '@crypto-anomaly/core';
import type { Command } from 'commander';
import { runTrainOnBus } from '../bus/train-bus.js';
import type { CommandContext } from '../command-context.js';
import { CliError } from '../errors.js';
import { configOf, pick } from '../options.js';
import { assertModelAndOutputsApart, checkTargets, partialStop } from '../output-folders.js';
import { runSession } from '../session.js';
import { addSourceOptions, type SourceKind, sourceSettings } from '../sources.js';
import { addEngineOptions, engineSettings, trainingTitle, withEngineInput } from './pipeline-options.js';

/** Every file under `dir`, by its path relative to it. */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length + 1)] = path;
  }
  return files;
}

/** `crypto-anomaly train --out MODEL_DIR`: train the pipeline and save it for `detect`. */
export function addTrainCommand(
  program: Command,
  context: CommandContext,
  sources: readonly SourceKind[],
): void {
  const command = program
    .command('train')
    .description('train the pipeline (scaler, three detectors, thresholds) and save it for detect');
  addSourceOptions(command, sources, 'sample');
  command
    .option(
      '--out <model-dir>',
      'folder to save the trained pipeline in: new, empty or a model saved before (replaced whole)',
    )
    .option('--outputs <dir>', 'also write the anomaly CSVs, summary.json and charts there')
    .option(
      '--bus <url>',
      'train on the workers of the bus (NATS) instead: one job per pair, models stored there',
    )
    .option('--symbols <list|file>', 'with --bus: the pairs, BTCUSDT,ETHUSDT or a file naming them');
  addEngineOptions(command, { training: true })
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly train --out models/btc                       on the bundled sample
  crypto-anomaly train --source csv --input BTCUSDT-1h.csv --until 2024-06-01 --out models/btc
  crypto-anomaly train --source store --since 2023-01-01 --epochs 40 --out models/btc --outputs runs/btc
  crypto-anomaly train --bus nats://127.0.0.1:4222 --symbols BTCUSDT,ETHUSDT --interval 1h --source binance --since 2018-01-01`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const config = await configOf(command);
      const settings = sourceSettings(command, config, 'sample');
      const engine = engineSettings(command, config);
      if (command.opts()['bus'] !== undefined) return runTrainOnBus(command, config, engine, context);
      const out = pick<string>(command, 'out', config.model);
      if (!out) {
        throw new CliError('USAGE', '--out <model-dir> is required', {
          option: '--out',
          hint: 'name the folder to save the model in, e.g. --out models/btc',
        });
      }
      const modelDir = resolve(out);
      const outputs = pick<string>(command, 'outputs', config.outputs);
      assertModelAndOutputsApart(core, modelDir, outputs);
      // Before any training: each folder absent, empty or ours, and writable (the model inside
      // --outputs as <outputs>/model is part of that set).
      await checkTargets(core, [
        ...(outputs ? [{ option: '--outputs', dir: resolve(outputs), kind: 'outputs' as const }] : []),
        ...(outputs && modelDir === join(resolve(outputs), 'model')
          ? []
          : [{ option: '--out', dir: modelDir, kind: 'model' as const }]),
      ]);
      const title = trainingTitle('train', settings, modelDir);
      await runSession({ title, tui: engine.tui, json: engine.json, context }, async (reporter) => {
        if (settings.kind === 'sample') {
          reporter.line(
            'Training on the bundled sample market (the default source; --source csv or store for real data).',
          );
        }
        const { tui: _tui, json: _json, ...options } = engine;
        return withEngineInput(command, config, reporter, { kind: 'sample' }, async (input) => {
          // q, Ctrl+C or a signal after a detector finished keeps a partial model (and outputs).
          const result = await core.trainPipeline({
            ...options,
            ...input,
            modelDir,
            ...(outputs ? { outDir: resolve(outputs) } : {}),
            onAbort: 'keep-finished',
          });
          result.pipeline.dispose();
          if (result.partial) {
            throw result.outputs
              ? partialStop(reporter, result.outputs.outDir, result.partial, 'summary.json')
              : partialStop(reporter, result.modelDir, result.partial, '.crypto-anomaly.json');
          }
          reporter.line(
            `Model saved to ${result.modelDir}; score new candles with crypto-anomaly detect --model ${out}`,
          );
          return {
            outDir: result.outputs?.outDir ?? result.modelDir,
            files: result.outputs?.files ?? (await filesUnder(result.modelDir)),
            topAnomalies: result.outputs?.topAnomalies ?? {},
            details: { modelDir: result.modelDir },
          };
        });
      });
    });
}
