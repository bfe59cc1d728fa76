import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { DenseAutoencoderOptions } from '@crypto-anomaly/core';
import { type Command, Option } from 'commander';
import { CliError } from '../errors.js';
import { configOf, parse, pick } from '../options.js';
import { PlainLogger } from '../plain-logger.js';
import type { CommandContext } from '../program.js';
import { withStopSignals } from '../session.js';

interface ScoreFlags {
  detector?: 'iforest' | 'autoencoder' | 'attention' | 'consensus';
  input?: string;
  out?: string;
  columns?: string[];
  exclude?: string[];
  trees?: number;
  maxSamples?: number;
  extensionLevel?: number;
  seed?: number;
  contamination?: 'auto' | number;
  fitRows?: number;
  config?: string;
}

/** `crypto-anomaly score`: any numeric CSV through a detector, rows plus score and is_anomaly out. */
export function addScoreCommand(program: Command, context: CommandContext): void {
  program
    .command('score')
    .description('score every row of any numeric CSV; writes the rows plus score and is_anomaly')
    .addOption(
      new Option('--detector <name>', 'the detector (consensus = the mean rank of all three)').choices([
        'iforest',
        'autoencoder',
        'attention',
        'consensus',
      ]),
    )
    .option('--input <file.csv>', 'the CSV to score (a header row, then rows)')
    .option('--out <file.csv>', 'where to write the scored rows')
    .option('--columns <a,b>', 'score only these columns (default: every numeric column)', parse.list)
    .option('--exclude <a,b>', 'leave these columns out, e.g. label,time', parse.list)
    .option('--trees <n>', 'isolation forest: trees (default 100)', parse.positiveInteger)
    .option('--max-samples <n>', 'isolation forest: rows per tree (default 256)', parse.positiveInteger)
    .option(
      '--extension-level <n>',
      'isolation forest: 0 = classic, up to columns - 1 = extended (default 0)',
      parse.nonNegativeInteger,
    )
    .option('--seed <n>', 'seed of sampling, trees and weights (default 0)', parse.nonNegativeInteger)
    .option(
      '--contamination <auto|fraction>',
      "share of rows to flag; auto = the forest's s > 0.5, else 1% (default auto)",
      parse.contamination,
    )
    .option(
      '--epochs <n>',
      'autoencoders: most epochs (default: the config, else theirs)',
      parse.positiveInteger,
    )
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend for the autoencoders (default auto)').choices([
        'auto',
        'wasm',
        'node',
        'cpu',
      ]),
    )
    .option('--fit-rows <n>', 'rows (a uniform sample) to fit on (default 50000)', parse.positiveInteger)
    .option('--config <file.json>', 'settings file (its "score" and "pipeline" keys); flags override it')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly score --detector iforest --input trades.csv --out scored.csv
  crypto-anomaly score --detector iforest --input data.csv --exclude label,time \\
      --trees 200 --extension-level 1 --contamination 0.05 --out scored.csv
  crypto-anomaly score --detector consensus --input data.csv --columns open,close,volume --out scored.csv

The file is read twice, in chunks, so files larger than memory work. The output is written to a
temporary file renamed at the end: an interrupted run leaves no half-written file.`,
    )
    .action(async (flags: ScoreFlags, command: Command) => {
      const config = await configOf(command);
      const fromConfig = config.score ?? {};
      const detector = pick(command, 'detector', fromConfig.detector);
      const input = pick(command, 'input', config.input);
      const out = pick(command, 'out', undefined as string | undefined);
      for (const [flag, value] of [
        ['--detector', detector],
        ['--input', input],
        ['--out', out],
      ] as const) {
        if (value === undefined) {
          throw new CliError('USAGE', `${flag} is required`, {
            option: flag,
            hint: 'see crypto-anomaly score --help',
          });
        }
      }
      if (await samePath(input!, out!)) {
        throw new CliError('USAGE', `--out ${out} is the --input file: scoring would overwrite it`, {
          option: '--out',
          hint: 'write the scored rows to another file, e.g. --out scored.csv',
        });
      }
      const columns = pick(command, 'columns', fromConfig.columns);
      const exclude = pick(command, 'exclude', fromConfig.exclude);
      if (columns && flags.exclude && command.getOptionValueSource('exclude') === 'cli') {
        throw new CliError('USAGE', '--columns and --exclude cannot be used together', {
          option: '--exclude',
          hint: 'name the columns to score with --columns, or the ones to leave out with --exclude',
        });
      }
      const seed = pick(command, 'seed', config.seed) ?? 0;
      const trees = pick(command, 'trees', fromConfig.trees) ?? 100;
      const maxSamples = pick(command, 'maxSamples', fromConfig.maxSamples) ?? 256;
      const extensionLevel = pick(command, 'extensionLevel', fromConfig.extensionLevel) ?? 0;
      const contamination = pick(command, 'contamination', fromConfig.contamination) ?? 'auto';
      const fitRows = pick(command, 'fitRows', fromConfig.fitRows) ?? 50_000;
      const epochs = pick<number>(command, 'epochs', config.epochs);
      const backend = pick<'auto' | 'wasm' | 'node' | 'cpu'>(command, 'backend', config.backend) ?? 'auto';

      const [core, { scoreCsv }] = await Promise.all([
        import('@crypto-anomaly/core'),
        import('../score-csv.js'),
      ]);
      const logger = new PlainLogger(context.out);
      const controller = new AbortController();
      const started = Date.now();
      await withStopSignals(context, controller, async () => {
        if (detector !== 'iforest') {
          const info = await core.selectBackend(backend);
          logger.event({ type: 'backend', name: info.name, description: info.description });
        }
        const result = await scoreCsv({
          input: input!,
          out: resolve(out!),
          detector: detector!,
          ...(columns ? { columns } : {}),
          ...(exclude ? { exclude } : {}),
          contamination,
          seed,
          fitRows,
          signal: controller.signal,
          onEvent: (event) => logger.event(event),
          createDetector: (name, threshold, columnCount) => {
            const withThreshold = threshold ? { threshold } : {};
            // The engine's default widths suit its 11 features; a network at least as wide as
            // the input learns the identity and reconstructs outliers too. An undercomplete
            // bottleneck for this file's width, unless the config sets its own.
            const bottleneck = Math.max(1, Math.ceil(columnCount / 2));
            switch (name) {
              case 'iforest':
                return new core.IsolationForestDetector({
                  nEstimators: trees,
                  maxSamples,
                  extensionLevel,
                  seed,
                  ...withThreshold,
                });
              case 'autoencoder':
                return new core.DenseAutoencoder({
                  hiddenLayers: [Math.min(32, 2 * columnCount), bottleneck],
                  ...(config.pipeline?.autoencoder as Partial<DenseAutoencoderOptions>),
                  ...(epochs !== undefined ? { epochs } : {}),
                  seed,
                  ...withThreshold,
                });
              case 'attention':
                return new core.AttentionAutoencoder({
                  latentDim: bottleneck,
                  ...config.pipeline?.attention,
                  ...(epochs !== undefined ? { epochs } : {}),
                  seed,
                  ...withThreshold,
                });
            }
          },
        });
        if (result.skippedColumns.length > 0) {
          logger.line(`left out non-numeric columns: ${result.skippedColumns.join(', ')}`);
        }
        logger.line(
          `scored ${result.rows} rows on ${result.columns.length} columns with ${detector}: ${result.flagged} flagged ` +
            `(threshold ${result.threshold.value}, ${result.threshold.description}) in ${((Date.now() - started) / 1000).toFixed(1)}s`,
        );
        logger.line(`wrote ${result.out}`);
      });
    });
}

/** True when two paths name the same file (through links too, when both exist). */
async function samePath(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [first, second] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return first !== undefined && second !== undefined && first.dev === second.dev && first.ino === second.ino;
}
