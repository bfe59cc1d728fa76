import {
  CONTAMINATION_RULE,
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
  DEFAULT_DENSE_AUTOENCODER_OPTIONS,
  DEFAULT_FEATURE_OPTIONS,
  DEFAULT_POT,
  DETECTOR_NAMES,
  type DetectorName,
  FEATURE_SETS,
  type FeatureSetName,
  isContamination,
  type PipelineEvent,
  type ThresholdMethod,
  type WindowSize,
} from '@crypto-anomaly/core';
import type { Interval, KlineSource } from '@crypto-anomaly/data';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { RunOutcome } from '../api.js';
import type { ConfigFile } from '../config.js';
import { parse, pick } from '../options.js';
import type { Reporter } from '../reporter-api.js';
import { DEFAULT_INTERVAL, DEFAULT_SYMBOL, openSource, SAMPLE_SYMBOL, type SourceKind } from '../sources.js';

const THRESHOLD_CHOICES =
  `contamination:C (C ${CONTAMINATION_RULE}), pot, spot[:RISK] or dspot[:RISK] (RISK in (0, 0.5), ` +
  'e.g. dspot:0.01)';

/**
 * `--threshold`: `contamination:C`, `pot` (core's DEFAULT_POT), `spot[:RISK]` or `dspot[:RISK]`
 * (adaptive: SPOT / DSPOT, RISK the share of normal rows expected above the threshold).
 */
export function parseThreshold(value: string): ThresholdMethod {
  const [kind, argument, ...rest] = value.trim().split(':');
  const number =
    argument !== undefined && /^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(argument)
      ? Number(argument)
      : Number.NaN;
  if (rest.length === 0) {
    if (kind === 'contamination' && isContamination(number)) return { kind, contamination: number };
    if (kind === 'pot' && argument === undefined) return { ...DEFAULT_POT };
    if ((kind === 'spot' || kind === 'dspot') && argument === undefined) return { kind };
    if ((kind === 'spot' || kind === 'dspot') && number > 0 && number < 0.5) return { kind, risk: number };
  }
  throw new InvalidArgumentError(`Expected ${THRESHOLD_CHOICES}.`);
}

/** `--train-window`, `--step`: a whole number of candles, or a duration such as 2y, 3mo, 90d, 12h. */
export function parseWindowSize(value: string): WindowSize {
  const text = value.trim();
  if (/^\d+$/.test(text) && Number(text) > 0 && Number.isSafeInteger(Number(text))) return Number(text);
  if (/^\d+(\.\d+)?(mo|y|w|d|h|m)$/.test(text) && Number.parseFloat(text) > 0) return text;
  throw new InvalidArgumentError(
    'Expected candles (a whole number, e.g. 500) or a duration: a number and y, mo, w, d, h or m (e.g. 2y, 3mo, 90d).',
  );
}

/** Flags shared by run, train and detect: training, backend, display. */
export function addEngineOptions(command: Command, options: { training: boolean }): Command {
  if (options.training) {
    command
      .option(
        '--threshold <method>',
        `how each detector's threshold is set: ${THRESHOLD_CHOICES}; spot and dspot adapt row by row ` +
          'to the scores after training (default: the config, else contamination:0.01)',
        parseThreshold,
      )
      .option(
        '--epochs <n>',
        `most epochs of both autoencoders (default: the config, else ${DEFAULT_DENSE_AUTOENCODER_OPTIONS.epochs} and ${DEFAULT_ATTENTION_AUTOENCODER_OPTIONS.epochs})`,
        parse.positiveInteger,
      )
      .option(
        '--detectors <list>',
        `the detectors to train, e.g. iforest,autoencoder to skip the slow attention one (default: the config, else ${DETECTOR_NAMES.join(',')})`,
        parse.detectors,
      )
      .addOption(
        new Option(
          '--features <set>',
          'the features the detectors see: relative (levels against the candles before them) or ' +
            `classic (the original eleven) (default: the config, else ${DEFAULT_FEATURE_OPTIONS.set})`,
        ).choices(Object.keys(FEATURE_SETS)),
      )
      .option(
        '--seed <n>',
        'seed of splits, trees and weights: same seed, same results (default 42)',
        parse.nonNegativeInteger,
      );
  }
  return command
    .addOption(
      new Option(
        '--backend <name>',
        'TensorFlow.js backend (default auto: node, else wasm, else cpu)',
      ).choices(['auto', 'wasm', 'node', 'cpu']),
    )
    .option('--config <file.json>', 'settings file (see the README); flags override it')
    .option('--no-tui', 'plain lines instead of the dashboard (automatic when not a terminal or in CI)')
    .option('--json', 'one JSON document of the outcome on stdout; the progress lines go to stderr')
    .option('--no-charts', 'skip the PNG charts');
}

/** The engine settings from flags over the config file. */
export function engineSettings(command: Command, config: ConfigFile) {
  const epochs = pick<number>(command, 'epochs', config.epochs);
  const seed = pick<number>(command, 'seed', config.seed);
  const backend = pick<'auto' | 'wasm' | 'node' | 'cpu'>(command, 'backend', config.backend);
  // --threshold overrides the config file's pipeline.threshold (a detector's own section still wins).
  const threshold = command.getOptionValue('threshold') as ThresholdMethod | undefined;
  const pipeline = threshold ? { ...config.pipeline, threshold } : config.pipeline;
  // --detectors overrides the config file's pipeline.detectors.
  const detectors = command.getOptionValue('detectors') as DetectorName[] | undefined;
  const withDetectors = detectors ? { ...pipeline, detectors } : pipeline;
  // --features overrides the config file's pipeline.features.set (its windows are kept).
  const featureSet = command.getOptionValue('features') as FeatureSetName | undefined;
  const engineConfig = featureSet
    ? { ...withDetectors, features: { ...withDetectors?.features, set: featureSet } }
    : withDetectors;
  return {
    ...(epochs !== undefined ? { epochs } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(backend !== undefined ? { backend } : {}),
    ...(engineConfig ? { config: engineConfig } : {}),
    charts: pick<boolean>(command, 'charts', config.charts) ?? true,
    tui: pick<boolean>(command, 'tui', config.tui) ?? true,
    json: command.getOptionValue('json') === true,
  };
}

/** What run, train and detect hand the engine about the candles and the session. */
export interface EngineInput {
  source: KlineSource;
  symbol: string;
  interval: Interval;
  since?: number;
  until?: number;
  onEvent: (event: PipelineEvent) => void;
  signal: AbortSignal;
}

/**
 * Opens the source the flags ask for, runs `work` on it with the session's events and stop signal,
 * and closes the source whatever happens. The outcome gets the wall time of `work`.
 */
export async function withEngineInput(
  command: Command,
  config: ConfigFile,
  reporter: Reporter,
  source: { kind: SourceKind; defaults?: { symbol: string; interval: Interval } },
  work: (input: EngineInput) => Promise<Omit<RunOutcome, 'elapsedMs'>>,
): Promise<RunOutcome> {
  const opened = await openSource(command, config, reporter, source.kind, source.defaults);
  try {
    const started = Date.now();
    const outcome = await work({
      source: opened.source,
      symbol: opened.symbol,
      interval: opened.interval,
      ...(opened.since !== undefined ? { since: opened.since } : {}),
      ...(opened.until !== undefined ? { until: opened.until } : {}),
      onEvent: (event) => reporter.event(event),
      signal: reporter.signal,
    });
    return { ...outcome, elapsedMs: Date.now() - started };
  } finally {
    await opened.close();
  }
}

/** The session title of run and train: the pair, a note when the bundled sample is the source, where it goes. */
export function trainingTitle(
  name: 'run' | 'train',
  settings: { kind: SourceKind; symbol?: string | undefined; interval?: Interval | undefined },
  target: string,
): string {
  const symbol = settings.symbol ?? (settings.kind === 'sample' ? SAMPLE_SYMBOL : DEFAULT_SYMBOL);
  const interval = settings.interval ?? DEFAULT_INTERVAL;
  const sample = settings.kind === 'sample' ? ' · bundled sample market (default source)' : '';
  return `crypto-anomaly ${name} · ${symbol} ${interval}${sample} → ${target}`;
}
