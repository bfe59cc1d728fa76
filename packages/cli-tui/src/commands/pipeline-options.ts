import type { PipelineEvent } from '@crypto-anomaly/core';
import type { Interval, KlineSource } from '@crypto-anomaly/data';
import { type Command, Option } from 'commander';
import type { RunOutcome } from '../api.js';
import type { ConfigFile } from '../config.js';
import { parse, pick } from '../options.js';
import type { Reporter } from '../reporter-api.js';
import { DEFAULT_INTERVAL, DEFAULT_SYMBOL, openSource, type SourceKind } from '../sources.js';

/** Flags shared by run, train and detect: training, backend, display. */
export function addEngineOptions(command: Command, options: { training: boolean }): Command {
  if (options.training) {
    command
      .option(
        '--epochs <n>',
        'most epochs of both autoencoders (default: the config, else 60 and 30)',
        parse.positiveInteger,
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
    .option('--no-charts', 'skip the PNG charts');
}

/** The engine settings from flags over the config file. */
export function engineSettings(command: Command, config: ConfigFile) {
  const epochs = pick<number>(command, 'epochs', config.epochs);
  const seed = pick<number>(command, 'seed', config.seed);
  const backend = pick<'auto' | 'wasm' | 'node' | 'cpu'>(command, 'backend', config.backend);
  return {
    ...(epochs !== undefined ? { epochs } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(backend !== undefined ? { backend } : {}),
    ...(config.pipeline ? { config: config.pipeline } : {}),
    charts: pick<boolean>(command, 'charts', config.charts) ?? true,
    tui: pick<boolean>(command, 'tui', config.tui) ?? true,
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
  const symbol = settings.symbol ?? DEFAULT_SYMBOL;
  const interval = settings.interval ?? DEFAULT_INTERVAL;
  const sample = settings.kind === 'sample' ? ' · bundled sample market (default source)' : '';
  return `crypto-anomaly ${name} · ${symbol} ${interval}${sample} → ${target}`;
}
