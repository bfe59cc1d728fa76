import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  DETECTOR_NAMES,
  type DetectorName,
  type FittedThreshold,
  fitTablePipeline,
  type PipelineConfigInput,
  type PipelineEvent,
  TableSample,
  TableScorer,
} from '@crypto-anomaly/core';
import { existingTarget, writeFileAtomically } from '@crypto-anomaly/data';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from '../command-context.js';
import { type ConfigFile, SCORE_DETECTORS, type ScoreDetector } from '../config.js';
import { chooseColumns, readChunks } from '../csv-chunks.js';
import { CliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { configOf, parse, pick } from '../options.js';
import { PlainLogger } from '../plain-logger.js';
import { withStopSignals } from '../session.js';

interface ScoreFlags {
  detector?: ScoreDetector;
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
  json?: boolean;
}

/** `crypto-anomaly score`: any numeric CSV through a detector, rows plus score and is_anomaly out. */
export function addScoreCommand(program: Command, context: CommandContext): void {
  program
    .command('score')
    .description('score every row of any numeric CSV; writes the rows plus score and is_anomaly')
    .addOption(
      new Option('--detector <name>', 'the detector (consensus = the mean rank of all three)')
        .choices(SCORE_DETECTORS)
        // After choices(), which it replaces as the parser: the help still lists the choices.
        .argParser(detectorChoice),
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
      "share of rows to flag; auto = the forest's s > 0.5, else 1% (default: the config's pipeline threshold, else auto)",
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
    .option('--json', 'one JSON document of the outcome on stdout; the progress lines go to stderr')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly score --detector isolation-forest --input trades.csv --out scored.csv
  crypto-anomaly score --detector isolation-forest --input data.csv --exclude label,time \\
      --trees 200 --extension-level 1 --contamination 0.05 --out scored.csv
  crypto-anomaly score --detector consensus --input data.csv --columns open,close,volume --out scored.csv

The file is read twice, in chunks, so files larger than memory work. The output is written to a
temporary file renamed at the end: an interrupted run leaves no half-written file.
--detector iforest is read as isolation-forest.`,
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
      await assertRegularInput(input!);
      if (await samePath(input!, out!)) {
        throw new CliError('USAGE', `--out ${out} is the --input file: scoring would overwrite it`, {
          option: '--out',
          hint: 'write the scored rows to another file, e.g. --out scored.csv',
        });
      }
      await assertScoredCsvTarget(resolve(out!), input!);
      const columns = pick(command, 'columns', fromConfig.columns);
      const exclude = pick(command, 'exclude', fromConfig.exclude);
      if (columns && flags.exclude && command.getOptionValueSource('exclude') === 'cli') {
        throw new CliError('USAGE', '--columns and --exclude cannot be used together', {
          option: '--exclude',
          hint: 'name the columns to score with --columns, or the ones to leave out with --exclude',
        });
      }
      const seed = pick(command, 'seed', config.seed) ?? 0;
      // The config's `score` keys, then its `pipeline.isolationForest` section, then the defaults.
      const forest = config.pipeline?.isolationForest ?? {};
      const trees = pick(command, 'trees', fromConfig.trees ?? forest.nEstimators) ?? 100;
      const maxSamples = pick(command, 'maxSamples', fromConfig.maxSamples ?? forest.maxSamples) ?? 256;
      const extensionLevel =
        pick(command, 'extensionLevel', fromConfig.extensionLevel ?? forest.extensionLevel) ?? 0;
      // Undefined when neither a flag nor the score section gives one: the config's thresholds, if
      // any, then apply.
      const contamination = pick(command, 'contamination', fromConfig.contamination);
      const fitRows = pick(command, 'fitRows', fromConfig.fitRows) ?? 50_000;
      if (fitRows < 2) {
        throw new CliError('USAGE', '--fit-rows must be at least 2: a detector is fitted on rows', {
          option: '--fit-rows',
          hint: 'e.g. --fit-rows 50000 (the default)',
        });
      }
      const epochs = pick<number>(command, 'epochs', config.epochs);
      const backend = pick<'auto' | 'wasm' | 'node' | 'cpu'>(command, 'backend', config.backend) ?? 'auto';

      // With --json, stdout carries only the outcome's JSON document; people's lines go to stderr.
      const logger = new PlainLogger(flags.json ? context.err : context.out);
      const unused = unusedPipelineKeys(config.pipeline);
      if (unused.length > 0) {
        logger.line(
          `note: the config's ${unused.map((key) => `pipeline.${key}`).join(', ')} ${unused.length === 1 ? 'does' : 'do'} not apply to score, which scores the file's own columns, standardised`,
        );
      }
      const controller = new AbortController();
      const started = Date.now();
      await withStopSignals(context, controller, async () => {
        const result = await scoreCsv({
          input: input!,
          out: resolve(out!),
          detector: detector!,
          ...(columns ? { columns } : {}),
          ...(exclude ? { exclude } : {}),
          ...(contamination !== undefined ? { contamination } : {}),
          seed,
          fitRows,
          trees,
          maxSamples,
          extensionLevel,
          ...(epochs !== undefined ? { epochs } : {}),
          backend,
          pipeline: config.pipeline ?? {},
          signal: controller.signal,
          onEvent: (event) => logger.event(event),
        });
        for (const warning of result.warnings) logger.line(`warning: ${warning}`);
        if (result.skippedColumns.length > 0) {
          logger.line(`left out non-numeric columns: ${result.skippedColumns.join(', ')}`);
        }
        const share = result.rows > 0 ? result.flagged / result.rows : 0;
        logger.line(
          `scored ${result.rows} rows on ${result.columns.length} columns with ${detector}: ${result.flagged} flagged ` +
            `(${(share * 100).toFixed(share < 0.1 ? 2 : 1)}%; threshold ${result.threshold.value}, ${result.threshold.description}) in ${((Date.now() - started) / 1000).toFixed(1)}s`,
        );
        const configThreshold = config.pipeline?.threshold ?? config.pipeline?.isolationForest?.threshold;
        const forestAtHalf = contamination === 'auto' || (contamination === undefined && !configThreshold);
        if (forestAtHalf && share > 0.05) {
          logger.line(
            "note: --contamination auto flags every row the forest scores above 0.5 (scikit-learn's rule); give the share to flag, e.g. --contamination 0.01 for the top 1%",
          );
        }
        logger.line(`wrote ${result.out}`);
        if (flags.json) {
          context.out(
            JSON.stringify({ command: 'score', detector, ...result, elapsedMs: Date.now() - started }),
          );
        }
      });
    });
}

/**
 * `--out` may be a new or empty file, or a scored copy of this --input that `score` wrote: its
 * header is the input's plus `score,is_anomaly`, and its flags are its scores above one threshold
 * (a file whose flags someone edited, a labelled copy, is not). That one is replaced, losing only
 * scores `score` computes again; any other file is refused before any work and left as it is.
 */
async function assertScoredCsvTarget(path: string, input: string): Promise<void> {
  const target = await existingTarget(path, 1 << 16);
  if (target.kind === 'folder') {
    throw new CliError('USAGE', `--out ${path} is a folder: name the CSV file to write`, {
      option: '--out',
      hint: 'e.g. --out scored.csv',
    });
  }
  if (target.kind === 'none') return;
  const refuse = (why: string) =>
    // Exit 2 as a refused target is, with the hint printed (a usage error prints the usage line).
    new CliError('RUNTIME', `--out ${path} ${why}; it was left as it is`, {
      option: '--out',
      hint: 'name another file with --out, or move the existing one aside',
      exitCode: ExitCode.usageError,
    });
  if (target.kind === 'link') {
    throw refuse(`is a symbolic link (to ${target.to}), and score replaces its file whole, the link with it`);
  }
  const header = firstLine(target.head.toString('utf8'));
  // The input's first line, read as for the target (data's existingTarget): '' when it is absent.
  const source = await existingTarget(input, 1 << 16);
  const inputHeader = firstLine(source.kind === 'file' ? source.head.toString('utf8') : '');
  if (header !== `${inputHeader},score,is_anomaly`) {
    throw refuse(
      `already exists and is not a scored copy of ${input} that crypto-anomaly wrote (its first line: ${JSON.stringify(header.slice(0, 60))})`,
    );
  }
  if (!(await flagsFollowScores(path))) {
    throw refuse(
      'already exists and its is_anomaly column is not its scores above one threshold (edited since?)',
    );
  }
  // A scored copy of another file with the same columns is not this input's.
  const [rowsThere, rowsHere] = await Promise.all([nonEmptyLines(path), nonEmptyLines(input)]);
  if (rowsThere !== rowsHere) {
    throw refuse(
      `already exists and is not a scored copy of ${input}: it has ${rowsThere - 1} rows, the input ${rowsHere - 1}`,
    );
  }
}

/**
 * `--input` must be a regular file: score reads it twice (to fit, then to score), and a pipe or a
 * device gives its rows once (piped in, the fit took the stream and nothing was left to score).
 */
async function assertRegularInput(input: string): Promise<void> {
  const refuse = (what: string) =>
    new CliError(
      'RUNTIME',
      `--input ${input} is ${what}: score reads its input twice (to fit, then to score)`,
      {
        option: '--input',
        hint: 'save the rows to a file first (e.g. ... > rows.csv) and give that file',
        exitCode: ExitCode.usageError,
      },
    );
  if (input === '-') throw refuse('standard input');
  const stats = await stat(input).catch(() => undefined);
  if (stats && !stats.isFile() && !stats.isDirectory())
    throw refuse('not a regular file (a pipe or a device)');
  if (stats?.isFile()) await assertUtf8(input);
}

/**
 * Refuses (exit 2) an --input that is not UTF-8 text, judged on its first 64 KB: UTF-16 (a byte
 * order mark, or NUL bytes) and text in another encoding (latin-1's é) would be written back
 * altered (replacement characters where the file had letters).
 */
async function assertUtf8(input: string): Promise<void> {
  const handle = await open(input, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(1 << 16);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const refuse = (what: string, from: string) =>
    new CliError('RUNTIME', `--input ${input} is ${what}, and score reads and writes UTF-8`, {
      option: '--input',
      hint: `convert it first, e.g. iconv -f ${from} -t UTF-8 ${input} > utf8.csv`,
      exitCode: ExitCode.usageError,
    });
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff) || head.includes(0)) {
    throw refuse('UTF-16 text (or binary)', 'UTF-16');
  }
  try {
    // A character cut at the 64 KB boundary is not an error: `stream` leaves it pending.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    throw refuse('not UTF-8 text (another encoding, such as latin-1)', 'latin1');
  }
}

/** Lines with something on them (a header and the rows of a plain CSV). */
async function nonEmptyLines(path: string): Promise<number> {
  let count = 0;
  for await (const line of createInterface({
    input: createReadStream(path),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (line !== '') count++;
  }
  return count;
}

function firstLine(text: string): string {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0]!;
}

/** Whether every row's is_anomaly (0 or 1, its last field) is its score (the one before) above one threshold. */
async function flagsFollowScores(path: string): Promise<boolean> {
  let highestUnflagged = Number.NEGATIVE_INFINITY;
  let lowestFlagged = Number.POSITIVE_INFINITY;
  let first = true;
  for await (const line of createInterface({
    input: createReadStream(path),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (first || line === '') {
      first = false;
      continue;
    }
    const flagAt = line.lastIndexOf(',');
    const scoreAt = line.lastIndexOf(',', flagAt - 1);
    const flag = line.slice(flagAt + 1);
    const score = Number(line.slice(scoreAt + 1, flagAt));
    if (scoreAt < 0 || Number.isNaN(score) || (flag !== '0' && flag !== '1')) return false;
    if (flag === '1') lowestFlagged = Math.min(lowestFlagged, score);
    else highestUnflagged = Math.max(highestUnflagged, score);
  }
  return highestUnflagged <= lowestFlagged;
}

/** `--detector`: one of SCORE_DETECTORS, or `iforest`, the earlier name of isolation-forest. */
function detectorChoice(value: string): ScoreDetector {
  if (value === 'iforest') return 'isolation-forest';
  const known: readonly string[] = SCORE_DETECTORS;
  if (!known.includes(value)) {
    throw new InvalidArgumentError(
      `Allowed choices are ${SCORE_DETECTORS.join(', ')} (iforest is read as isolation-forest).`,
    );
  }
  return value as ScoreDetector;
}

interface ScoreCsvOptions {
  input: string;
  out: string;
  detector: ScoreDetector;
  columns?: readonly string[];
  exclude?: readonly string[];
  /** `auto`: the forest's classic s > 0.5 when it scores alone, the engine's default elsewhere. */
  /** Not given: the config's thresholds where it has them, else as `auto`. */
  contamination?: 'auto' | number;
  seed: number;
  /** Rows (a sample of the file) the detectors are fitted on. */
  fitRows: number;
  trees: number;
  maxSamples: number;
  extensionLevel: number;
  epochs?: number;
  backend: 'auto' | 'wasm' | 'node' | 'cpu';
  /** The config file's `pipeline`: its threshold and detector sections apply. */
  pipeline: NonNullable<ConfigFile['pipeline']>;
  onEvent: (event: PipelineEvent) => void;
  signal: AbortSignal;
}

interface ScoreCsvResult {
  rows: number;
  flagged: number;
  columns: string[];
  skippedColumns: string[];
  /** What people should know about the file (see ColumnChoice.warnings). */
  warnings: string[];
  threshold: FittedThreshold;
  out: string;
}

/** Rows read, fitted on and scored at a time. */
const CHUNK_ROWS = 8192;

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new CliError('STOPPED', 'scoring stopped before the end', {
      hint: 'no output file was written; run again to finish',
    });
  }
}

/**
 * Scores any numeric CSV with the engine: pass 1 streams the file into a `TableSample` (column
 * statistics and the rows to fit on), the engine fits a pipeline on it; pass 2 streams the file
 * again through a `TableScorer` into `out`, written atomically (a temporary file renamed at the
 * end), so an interrupted run leaves no half-written output.
 */
async function scoreCsv(options: ScoreCsvOptions): Promise<ScoreCsvResult> {
  const choice = await chooseColumns(options.input, {
    ...(options.columns ? { columns: options.columns } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
  });
  // Checked on the columns chosen, before the file is read through.
  if (options.extensionLevel > choice.names.length - 1) {
    throw new CliError(
      'USAGE',
      `--extension-level ${options.extensionLevel} is more than the ${choice.names.length} columns scored allow (at most ${choice.names.length - 1})`,
      {
        option: '--extension-level',
        hint: `give 0 (classic) to ${choice.names.length - 1} (fully extended)`,
      },
    );
  }
  const detectors: DetectorName[] =
    options.detector === 'consensus' ? [...DETECTOR_NAMES] : [options.detector];
  const table = new TableSample(choice.names, {
    detectors,
    sampleRows: options.fitRows,
    seed: options.seed,
  });
  for await (const chunk of readChunks(options.input, choice, CHUNK_ROWS)) {
    checkAborted(options.signal);
    table.add(chunk.matrix);
  }
  if (table.rowsRead < 2) {
    throw new CliError(
      'RUNTIME',
      `--input ${options.input} has ${table.rowsRead} data row(s); scoring needs at least 2`,
      { hint: 'give a CSV with more rows' },
    );
  }
  const pipeline = await fitTablePipeline(table, {
    config: detectorSettings(options, detectors.length === 1),
    seed: options.seed,
    backend: options.backend,
    source: options.input,
    onEvent: options.onEvent,
    signal: options.signal,
  });
  const scorer = new TableScorer(pipeline);
  // Read now: disposing an autoencoder forgets its threshold.
  const threshold = scorer.threshold;
  let rows = 0;
  let flagged = 0;
  try {
    await writeFileAtomically(options.out, async (temporary) => {
      const handle = await open(temporary, 'w');
      try {
        await writeWhole(handle, `${choice.header.map(csvField).join(',')},score,is_anomaly\n`);
        for await (const chunk of readChunks(options.input, choice, CHUNK_ROWS)) {
          checkAborted(options.signal);
          const { scores, flags } = await scorer.score(chunk.matrix, { signal: options.signal });
          let text = '';
          for (let r = 0; r < chunk.matrix.rows; r++) {
            flagged += flags[r]!;
            text += `${chunk.records[r]},${scores[r]},${flags[r]}\n`;
          }
          rows += chunk.matrix.rows;
          await writeWhole(handle, text);
        }
      } finally {
        await handle.close();
      }
    });
  } finally {
    pipeline.dispose();
  }
  return {
    rows,
    flagged,
    columns: choice.names,
    skippedColumns: choice.skipped,
    warnings: choice.warnings,
    threshold,
    out: options.out,
  };
}

/** The config's `pipeline` keys score has no use for: it scores the file's own columns. */
const PIPELINE_KEYS_SCORE_USES = new Set(['threshold', 'isolationForest', 'autoencoder', 'attention']);

function unusedPipelineKeys(pipeline: ConfigFile['pipeline']): string[] {
  return Object.keys(pipeline ?? {}).filter((key) => !PIPELINE_KEYS_SCORE_USES.has(key));
}

/**
 * The flags as the engine's detector sections, over the config file's `pipeline` sections (its
 * `threshold`, `isolationForest`, `autoencoder` and `attention`): the forest from --trees,
 * --max-samples and --extension-level; the autoencoders from --epochs; --seed for all three.
 * A --contamination share sets every threshold. `auto` puts the forest alone at its classic
 * s > 0.5; without either, the config's thresholds apply, and where it gives none, `auto`'s.
 */
function detectorSettings(options: ScoreCsvOptions, alone: boolean): PipelineConfigInput {
  const { pipeline } = options;
  const share =
    typeof options.contamination === 'number'
      ? { kind: 'contamination' as const, contamination: options.contamination }
      : undefined;
  const withShare = share ? { threshold: share } : {};
  const epochs = options.epochs !== undefined ? { epochs: options.epochs } : {};
  const classic = alone ? { kind: 'fixed' as const, value: 0.5 } : undefined;
  const forestThreshold =
    share ??
    (options.contamination === 'auto'
      ? classic
      : (pipeline.isolationForest?.threshold ?? pipeline.threshold ?? classic));
  return {
    ...(pipeline.threshold ? { threshold: pipeline.threshold } : {}),
    ...withShare,
    isolationForest: {
      ...pipeline.isolationForest,
      nEstimators: options.trees,
      maxSamples: options.maxSamples,
      extensionLevel: options.extensionLevel,
      seed: options.seed,
      ...(forestThreshold ? { threshold: forestThreshold } : {}),
    },
    autoencoder: { ...pipeline.autoencoder, ...epochs, seed: options.seed, ...withShare },
    attention: { ...pipeline.attention, ...epochs, seed: options.seed, ...withShare },
  };
}

function csvField(name: string): string {
  return /[",\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
}

/** True when two paths name the same file (through links too, when both exist). */
async function samePath(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [first, second] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return first !== undefined && second !== undefined && first.dev === second.dev && first.ino === second.ino;
}

/**
 * Writes `text` whole: a nearly full disk writes part of it and reports no error, and the file
 * renamed over --out would then be cut short. The rest is written until the disk says why not.
 */
async function writeWhole(handle: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
    if (bytesWritten <= 0)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    written += bytesWritten;
  }
}
