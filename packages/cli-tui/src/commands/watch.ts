import { resolve } from 'node:path';
import { durationMs, type ThresholdKind } from '@crypto-anomaly/core';
import type { Interval } from '@crypto-anomaly/data';
import * as data from '@crypto-anomaly/data';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { runWatchBus } from '../bus/watch-bus.js';
import type { CommandContext } from '../command-context.js';
import { usageError } from '../errors.js';
import { parse } from '../options.js';
import { sayLegacyStoreNote, waiveLegacyStoreNote } from '../sources.js';
import { runWatch, type WatchSettings } from '../watch/run-watch.js';
import { readSymbols } from '../watch/symbols.js';

/** `--cooldown`: 0, or a whole number and a unit (s, m, h, d), e.g. 15m. */
export function parseCooldown(value: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(value.trim());
  if (!match || (match[2] === undefined && match[1] !== '0')) {
    throw new InvalidArgumentError('Expected 0 or a duration such as 90s, 15m, 4h or 1d.');
  }
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's']!;
  return Number(match[1]) * unit;
}

/** `--speed`: max, or how many times real time (a positive number). */
export function parseSpeed(value: string): number | 'max' {
  if (value === 'max') return 'max';
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(number > 0)) {
    throw new InvalidArgumentError('Expected max or a positive number of times real time, e.g. 60.');
  }
  return number;
}

/** `--replay sample` without --symbols / --interval: the bundled sample market's own pair and interval. */
export const SAMPLE_SYMBOL = 'BTCUSDT';
export const SAMPLE_INTERVAL: Interval = '1h';

/** Candles of the default cool-down: a storm gives one alert per symbol every 5 candles. */
export const COOLDOWN_CANDLES = 5;

/**
 * `crypto-anomaly watch`: live anomaly monitoring of many pairs (or a replay of history through the
 * very same path), alerts to the dashboard, stdout, a file and a webhook.
 */
export function addWatchCommand(program: Command, context: CommandContext): void {
  program
    .command('watch')
    .description('score closed candles of many pairs as they close, and alert on anomalies')
    .option('--symbols <list|file>', 'pairs to watch: BTCUSDT,ETHUSDT or a file naming them (one a line)')
    .option('--quote <asset>', 'with --top: the quote asset of the pairs, e.g. USDT', parse.symbol)
    .option(
      '--top <n>',
      "with --quote: the N pairs most traded over 24 h (the exchange's ticker)",
      parse.positiveInteger,
    )
    .option(
      '--interval <interval>',
      'candle interval (default 1m; a replayed file names its own)',
      parse.interval,
    )
    .option('--model <dir>', 'models: a folder per pair, DIR/SYMBOL_INTERVAL as train --out writes it')
    .option(
      '--store <file>',
      'the DuckDB store of candles, scores and alerts (default $CRYPTO_ANOMALY_STORE, else $XDG_DATA_HOME/crypto-anomaly/klines.duckdb)',
    )
    .option('--base-url <url>', 'Binance REST base URL: warm-up, back-fill, --top', parse.url)
    .option(
      '--stream-url <url>',
      'Binance WebSocket base URL (default wss://stream.binance.com:9443)',
      parseWsUrl,
    )
    .option('--json', 'JSON lines on stdout (alerts, a status line a minute) instead of the dashboard')
    .option(
      '--replay <file.csv|sample>',
      'replay a kline CSV (as fetch --csv writes it; several with commas), or the bundled sample market (offline), instead of the live stream',
    )
    .option(
      '--replay-store',
      "replay the store's candles of --symbols (--since/--until) instead of the live stream",
    )
    .option(
      '--since <date>',
      'with --replay-store: first candle; with --bus: alerts and scores stored from then (default the last 24 h of alerts), UTC',
      parse.date,
    )
    .option('--until <date>', 'with --replay-store: candles before this time, UTC', parse.date)
    .option('--speed <n|max>', 'replay speed: max, or N times real time (default max)', parseSpeed)
    .option('--alerts-file <file>', 'append each alert to FILE as a JSON line (never one id twice)')
    .option(
      '--webhook <url>',
      'POST each alert as JSON to URL (https; retried with backoff; never one id twice)',
      parse.webhookUrl,
    )
    .option(
      '--webhook-journal <file>',
      "the webhook's record of alerts queued and sent (default: beside the store; needed with a replay that keeps no store)",
    )
    .option(
      '--cooldown <duration>',
      `per pair: at most one alert per duration of candles, e.g. 15m (default ${COOLDOWN_CANDLES} candles; 0 for none)`,
      parseCooldown,
    )
    .addOption(
      new Option(
        '--thresholds <kind>',
        'fitted: as trained; spot / dspot: adapt to the stream (default dspot)',
      ).choices(['fitted', 'spot', 'dspot']),
    )
    .option(
      '--status-every <seconds>',
      'seconds between two status lines off a terminal (default 60)',
      parse.positiveInteger,
    )
    .option(
      '--train-missing',
      'train the model of a pair that has none (from its history) in a worker thread while the others stream',
    )
    .option(
      '--model-for-all',
      'score pairs without a model of their own with --model (one model folder), with a warning',
    )
    .option(
      '--refit-every <duration>',
      "re-fit each pair's model on its trailing window (2 years, 500-10,000 candles) every duration of " +
        'candles (e.g. 1d, 12h, 1w) in a worker thread; scoring goes on with the old model until the new one is in',
      parseRefitEvery,
    )
    .option(
      '--epochs <n>',
      'with --train-missing or --refit-every: most epochs of the autoencoders',
      parse.positiveInteger,
    )
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend (default auto)').choices([
        'auto',
        'wasm',
        'node',
        'cpu',
      ]),
    )
    .option('--no-tui', 'plain lines instead of the dashboard (automatic when not a terminal or in CI)')
    .option('--bus <url>', "distributed mode: show the workers' alerts and scores from this NATS server")
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly watch --symbols BTCUSDT,ETHUSDT --interval 1m --model models
  crypto-anomaly watch --quote USDT --top 50 --interval 1m --model models --train-missing
  crypto-anomaly watch --symbols pairs.txt --model models --alerts-file alerts.jsonl --webhook https://example.com/hook
  crypto-anomaly watch --replay BTCUSDT-1h.csv --model models --json       history through the same path
  crypto-anomaly watch --replay sample --symbols BTCUSDT --interval 1h --model models --speed max   offline

Models are looked up as --model/SYMBOL_INTERVAL (crypto-anomaly train --out models/BTCUSDT_1m).
Every closed candle is stored once, scored once and its scores and alerts saved in the store: a
restart (even after kill -9) resumes after the last candle scored, and no alert is sent twice.
A replay (--replay FILE.csv|sample) keeps nothing unless --store names a file, and never writes
over candles a store holds with different ones.
Off a terminal or with --json, stdout carries only JSON lines: each alert, and a status line a minute.
Keys on the dashboard: ↑/↓ select, enter detail, esc back, s sort, q quit.`,
    )
    .action(async (flags: Record<string, unknown>) => {
      if (flags['bus'] !== undefined) return runWatchBus(flags, context);
      const settings = settingsOf(flags);
      if (settings.storePath === undefined) waiveLegacyStoreNote();
      sayLegacyStoreNote(context.err);
      await runWatch(settings, context);
    });
}

function parseWsUrl(value: string): string {
  if (!/^wss?:\/\/[^\s]+$/.test(value)) throw new InvalidArgumentError('Expected a ws:// or wss:// URL.');
  return value.replace(/\/+$/, '');
}

/** The flags, checked together: every refusal names the flag, before anything is opened. */
export function settingsOf(flags: Record<string, unknown>): WatchSettings {
  // `--replay sample`: the bundled sample market, offline, for the pairs of --symbols.
  const replaySample = typeof flags['replay'] === 'string' && (flags['replay'] as string).trim() === 'sample';
  const replayFiles =
    typeof flags['replay'] === 'string' && !replaySample
      ? (flags['replay'] as string)
          .split(',')
          .map((file) => file.trim())
          .filter((file) => file !== '')
          .map((file) => resolve(file))
      : [];
  const replayStore = flags['replayStore'] === true;
  if ((replayFiles.length > 0 || replaySample) && replayStore) {
    throw usageError(
      '--replay-store',
      'cannot be combined with --replay',
      'replay either a file or the store',
    );
  }
  if (flags['symbols'] !== undefined && flags['top'] !== undefined) {
    throw usageError(
      '--top',
      'cannot be combined with --symbols',
      'name the pairs, or let --quote --top pick them',
    );
  }
  if ((flags['quote'] === undefined) !== (flags['top'] === undefined)) {
    throw usageError(
      flags['quote'] === undefined ? '--top' : '--quote',
      '--quote and --top go together',
      'e.g. --quote USDT --top 20',
    );
  }
  if (flags['top'] !== undefined && (replayFiles.length > 0 || replaySample)) {
    throw usageError(
      '--top',
      'picks live pairs; a replay names its own',
      replaySample ? 'name the pairs with --symbols' : 'drop --quote/--top',
    );
  }
  for (const flag of ['since', 'until'] as const) {
    if (flags[flag] !== undefined && !replayStore) {
      throw usageError(`--${flag}`, 'is only read with --replay-store', 'add --replay-store or drop it');
    }
  }
  if (flags['speed'] !== undefined && replayFiles.length === 0 && !replayStore && !replaySample) {
    throw usageError('--speed', 'is only read with --replay or --replay-store', 'drop it for a live run');
  }
  if (flags['refitEvery'] !== undefined && flags['modelForAll'] === true) {
    throw usageError(
      '--refit-every',
      'cannot be combined with --model-for-all (a re-fit writes each pair its own model folder)',
      'train each pair its own model, or drop --refit-every',
    );
  }
  if (flags['trainMissing'] === true && flags['modelForAll'] === true) {
    throw usageError(
      '--train-missing',
      'cannot be combined with --model-for-all',
      'choose one for pairs without a model',
    );
  }
  if (typeof flags['model'] !== 'string') {
    throw usageError(
      '--model',
      'is required',
      'name the folder of the models, e.g. --model models (models/BTCUSDT_1m/...)',
    );
  }
  let symbols = typeof flags['symbols'] === 'string' ? readSymbols(flags['symbols'] as string) : undefined;
  let interval = flags['interval'] as Interval | undefined;
  // A replayed file names its pair and interval (BTCUSDT-1h.csv); --symbols and --interval override.
  const files = new Map<string, string>();
  for (const [index, file] of replayFiles.entries()) {
    const named = data.parseKlineFileName(file);
    const symbol = named.symbol ?? (replayFiles.length === 1 ? symbols?.[0] : undefined);
    if (!symbol) {
      throw usageError(
        '--replay',
        `cannot tell the pair of ${file} from its name`,
        'name it like BTCUSDT-1h.csv, or give --symbols with one file',
      );
    }
    if (replayFiles.length === 1 && symbols && symbols.length === 1) files.set(symbols[0]!, file);
    else files.set(symbol, file);
    interval ??= index === 0 ? named.interval : undefined;
  }
  if (replayFiles.length > 0) symbols = [...files.keys()];
  if (replaySample) {
    symbols ??= [SAMPLE_SYMBOL];
    interval ??= SAMPLE_INTERVAL;
  }
  if (!symbols && flags['top'] === undefined) {
    throw usageError(
      '--symbols',
      'is required (or --quote with --top, or --replay FILE.csv)',
      'e.g. --symbols BTCUSDT,ETHUSDT',
    );
  }
  const mode = replaySample
    ? 'replay-sample'
    : replayFiles.length > 0
      ? 'replay-csv'
      : replayStore
        ? 'replay-store'
        : 'live';
  // A replay of a file or the sample keeps nothing unless a store is named: its candles must not
  // land in the default store over the ones fetched from Binance (the same symbol and times).
  const storePath =
    typeof flags['store'] === 'string'
      ? resolve(flags['store'] as string)
      : mode === 'replay-sample' || mode === 'replay-csv'
        ? undefined
        : data.defaultStorePath();
  if (storePath === undefined && flags['webhook'] !== undefined && flags['webhookJournal'] === undefined) {
    throw usageError(
      '--webhook-journal',
      "is needed for --webhook with a replay that keeps no store (the journal's default place is beside the store)",
      'add --webhook-journal FILE, or --store FILE to keep the replay',
    );
  }
  return {
    mode,
    ...(symbols ? { symbols } : {}),
    ...(flags['top'] !== undefined
      ? { top: { quote: flags['quote'] as string, count: flags['top'] as number } }
      : {}),
    replayFiles: files,
    interval: interval ?? '1m',
    modelRoot: resolve(flags['model'] as string),
    ...(storePath !== undefined ? { storePath } : {}),
    ...(flags['baseUrl'] !== undefined ? { baseUrl: flags['baseUrl'] as string } : {}),
    ...(flags['streamUrl'] !== undefined ? { streamUrl: flags['streamUrl'] as string } : {}),
    json: flags['json'] === true,
    tui: flags['tui'] !== false,
    ...(flags['since'] !== undefined ? { since: flags['since'] as number } : {}),
    ...(flags['until'] !== undefined ? { until: flags['until'] as number } : {}),
    speed: (flags['speed'] as number | 'max' | undefined) ?? 'max',
    ...(flags['alertsFile'] !== undefined ? { alertsFile: resolve(flags['alertsFile'] as string) } : {}),
    ...(flags['webhook'] !== undefined ? { webhook: flags['webhook'] as string } : {}),
    ...(flags['webhookJournal'] !== undefined
      ? { webhookJournal: resolve(flags['webhookJournal'] as string) }
      : {}),
    cooldownMs:
      (flags['cooldown'] as number | undefined) ??
      COOLDOWN_CANDLES * data.intervalToMilliseconds(interval ?? '1m'),
    thresholds: (flags['thresholds'] as ThresholdKind | undefined) ?? 'dspot',
    statusEveryMs: ((flags['statusEvery'] as number | undefined) ?? 60) * 1000,
    trainMissing: flags['trainMissing'] === true,
    ...(flags['refitEvery'] !== undefined ? { refitEveryMs: flags['refitEvery'] as number } : {}),
    modelForAll: flags['modelForAll'] === true,
    ...(flags['epochs'] !== undefined ? { epochs: flags['epochs'] as number } : {}),
    ...(flags['backend'] !== undefined
      ? { backend: flags['backend'] as 'auto' | 'wasm' | 'node' | 'cpu' }
      : {}),
  };
}

/** `--refit-every`: a duration of candles (core's `durationMs`: 1d, 12h, 1w, 3mo). */
function parseRefitEvery(value: string): number {
  const ms = durationMs(value);
  if (ms === undefined) {
    throw new InvalidArgumentError('Expected a duration: a number and y, mo, w, d, h or m, e.g. 1d or 12h.');
  }
  return ms;
}
