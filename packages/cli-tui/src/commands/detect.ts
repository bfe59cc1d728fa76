import { resolve } from 'node:path';
import * as core from '@crypto-anomaly/core';
import type { Interval } from '@crypto-anomaly/data';
import * as data from '@crypto-anomaly/data';
import { type Command, Option } from 'commander';
import type { CommandContext } from '../command-context.js';
import { CliError } from '../errors.js';
import { configOf, pick } from '../options.js';
import { assertOutputsApartFromModel, checkTargets } from '../output-folders.js';
import { runSession } from '../session.js';
import {
  addSourceOptions,
  SAMPLE_SYMBOL,
  type SourceKind,
  sourceSettings,
  waiveLegacyStoreNote,
} from '../sources.js';
import { withEngineInput } from './pipeline-options.js';

/** `crypto-anomaly detect --model MODEL_DIR`: score new candles with a saved pipeline. */
export function addDetectCommand(
  program: Command,
  context: CommandContext,
  sources: readonly SourceKind[],
): void {
  const command = program
    .command('detect')
    .description('score candles with a pipeline saved by train (or run), without training');
  addSourceOptions(command, sources, 'store');
  command
    .option('--model <model-dir>', 'the saved pipeline (train --out, or <run --out>/model)')
    .option('--out <dir>', 'output folder for the anomaly CSVs, summary.json and charts (default output/)')
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend (default auto)').choices([
        'auto',
        'wasm',
        'node',
        'cpu',
      ]),
    )
    .option('--config <file.json>', 'settings file (its source keys); flags override it')
    .option('--no-tui', 'plain lines instead of the dashboard (automatic when not a terminal or in CI)')
    .option('--json', 'one JSON document of the outcome on stdout; the progress lines go to stderr')
    .option('--no-charts', 'skip the PNG charts')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly detect --model models/btc --since 2024-06-01 --out runs/june      from the local store
  crypto-anomaly detect --model models/btc --input BTCUSDT-1h-2024-07.csv --out runs/july
  crypto-anomaly detect --model output/model --source sample --since 2024-06-01 --out runs/sample
                                                        (a run's model: --out apart from its folder)

The symbol and interval default to an --input file name's (ETHUSDT-1h-....csv), else to the
model's; a model of another pair or interval is used with a warning. Without --source or --input
the candles come from the store, or from the bundled sample for a model trained on it (named SAMPLE).`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const config = await configOf(command);
      const model = pick<string>(command, 'model', config.model);
      if (!model) {
        throw new CliError('USAGE', '--model <model-dir> is required', {
          option: '--model',
          hint: "name a folder written by crypto-anomaly train --out (or a run's output/model)",
        });
      }
      const modelDir = resolve(model);
      const outDir = resolve(pick<string>(command, 'out', config.out) ?? 'output');
      const backend = pick<'auto' | 'wasm' | 'node' | 'cpu'>(command, 'backend', config.backend);
      const tui = pick<boolean>(command, 'tui', config.tui) ?? true;
      const charts = pick<boolean>(command, 'charts', config.charts) ?? true;
      assertOutputsApartFromModel(core, outDir, modelDir);
      await checkTargets(core, [{ option: '--out', dir: outDir, kind: 'outputs' }]);
      // The model says what it was trained on: its symbol and interval are the defaults here, and
      // a model of the bundled sample reads the sample unless a source is named (the store has
      // no SAMPLE candles, and Binance none to fetch).
      const manifest = await core.readManifest(modelDir);
      const defaultKind: SourceKind = manifest.trainedOn.symbol === SAMPLE_SYMBOL ? 'sample' : 'store';
      const settings = sourceSettings(command, config, defaultKind);
      if (settings.kind !== 'store' && settings.kind !== 'binance') waiveLegacyStoreNote();
      // A CSV file names its own pair and interval (BTCUSDT-1h-2024-07.csv), as it does for run:
      // they come before the model's, which the warnings below then compare with.
      const fromFile =
        settings.kind === 'csv' && settings.input ? data.parseKlineFileName(settings.input) : {};
      const symbol = settings.symbol ?? fromFile.symbol ?? manifest.trainedOn.symbol;
      const interval: Interval = settings.interval ?? fromFile.interval ?? manifest.trainedOn.interval;
      const warnings = core.TrainedPipeline.mismatchWarnings(manifest, { symbol, interval });
      for (const warning of warnings) context.err(`warning: ${warning}`);
      if (
        manifest.trainedOn.symbol.toUpperCase() !== symbol.toUpperCase() ||
        manifest.trainedOn.interval !== interval
      ) {
        context.err(
          settings.kind === 'csv' && settings.input
            ? `hint: train one on the file with crypto-anomaly train --input ${settings.input} --out DIR`
            : `hint: train one with crypto-anomaly train --symbol ${symbol} --interval ${interval} --out DIR`,
        );
      }
      const title = `crypto-anomaly detect · ${symbol} ${interval} with ${modelDir} → ${outDir}`;
      const json = command.getOptionValue('json') === true;
      await runSession({ title, tui, json, context }, async (reporter) => {
        const source = { kind: settings.kind, defaults: { symbol, interval } };
        return withEngineInput(command, config, reporter, source, async (input) => {
          const result = await core.detectWithPipeline({
            ...input,
            // The engine warns of the mismatch as well: said once, above, before the dashboard.
            onEvent: (event) => {
              if (!(event.type === 'log' && event.level === 'warn' && warnings.includes(event.message))) {
                input.onEvent(event);
              }
            },
            modelDir,
            symbol,
            interval,
            // Another interval is used with the warning above, as --help says.
            allowOtherInterval: true,
            outDir,
            ...(backend ? { backend } : {}),
            charts,
          });
          return {
            outDir: result.outDir,
            files: result.files,
            topAnomalies: result.topAnomalies,
            details: { modelDir, symbol, interval },
          };
        });
      });
    });
}
