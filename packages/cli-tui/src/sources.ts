import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { CandleAcceptance, Interval, KlineSource } from '@crypto-anomaly/data';
import * as data from '@crypto-anomaly/data';
import { type Command, Option } from 'commander';
import type { ConfigFile } from './config.js';
import { CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { renderFill } from './fetching.js';
import { configDate, parse, pick, readDate } from './options.js';
import type { Reporter } from './reporter-api.js';

/** Where candles come from: the bundled sample, Binance (through the store), a CSV, the store. */
export type SourceKind = 'sample' | 'binance' | 'csv' | 'store';

export const DEFAULT_SYMBOL = 'BTCUSDT';
/**
 * The symbol of the bundled sample market unless --symbol names one: its outputs are named and
 * titled as the synthetic sample they are (SAMPLE_processed_data.csv), not as a real pair. The
 * candles are the same whatever the symbol.
 */
export const SAMPLE_SYMBOL = 'SAMPLE';
export const DEFAULT_INTERVAL: Interval = '1h';

/**
 * Adds --source, --input, --symbol, --interval, --since, --until, --store and --base-url, and
 * --archive / --archive-base-url where Binance is one of the sources.
 */
export function addSourceOptions(
  command: Command,
  kinds: readonly SourceKind[],
  defaultKind: SourceKind,
): Command {
  if (kinds.includes('binance')) {
    command
      .option(
        '--archive',
        'with --source binance: bulk-load the monthly/daily archive files (data.binance.vision) before the REST fetch, as fetch --archive does',
      )
      .option(
        '--archive-base-url <url>',
        'archive base URL, with --archive (default https://data.binance.vision)',
        parse.url,
      );
  }
  rememberDates(command);
  defaultKinds.set(command, defaultKind);
  return command
    .addOption(
      new Option('--source <kind>', `where candles come from (default ${defaultKind})`).choices([...kinds]),
    )
    .option('--input <file.csv>', 'Binance-layout kline CSV (with --source csv; implies it)')
    .option(
      '--symbol <symbol>',
      `trading pair (default ${DEFAULT_SYMBOL}, or the CSV file name's; the bundled sample is named ${SAMPLE_SYMBOL})`,
      parse.symbol,
    )
    .option('--interval <interval>', `candle interval (default ${DEFAULT_INTERVAL})`, parse.interval)
    .option(
      '--since <date>',
      'first candle, UTC: 2018-01-01, 2018-01-01T12:00, Unix seconds (10 digits) or ms (13 digits)',
      parse.date,
    )
    .option('--until <date>', 'load candles before this time, same forms (default: now)', parse.date)
    .option(
      '--allow-gaps',
      'accept missing candles in the range (exchange outages); other bad candles are always refused',
    )
    .option(
      '--store <file>',
      'the local kline store (DuckDB file; default $CRYPTO_ANOMALY_STORE, else $XDG_DATA_HOME/crypto-anomaly/klines.duckdb)',
    )
    .option('--base-url <url>', 'Binance REST base URL, with --source binance', parse.url);
}

/** Each command's default --source, as `addSourceOptions` was told it. */
const defaultKinds = new WeakMap<Command, SourceKind>();

/**
 * True when the command, as given, reads the kline store: a command without --source always does
 * (fetch, watch); one with it when the source (flag, else --input's csv, else its default) is the
 * store or Binance. A config file's `source` is not seen here.
 */
export function readsStore(command: Command): boolean {
  const defaultKind = defaultKinds.get(command);
  if (defaultKind === undefined) return true;
  const kind =
    (command.getOptionValue('source') as SourceKind | undefined) ??
    (command.getOptionValue('input') !== undefined ? 'csv' : defaultKind);
  return kind === 'store' || kind === 'binance';
}

/** The note a command owes when it reads the store at its old place (see `owedLegacyStoreNote`). */
let legacyStoreNote: string | undefined;

/**
 * Before a command runs: when it reads the default store (no --store) and only the old
 * ~/.crypto-anomaly/ one exists, that one is read, and a note saying so is owed. It is said by
 * `sayLegacyStoreNote` once the command's checks have passed, so a usage error comes first.
 */
export function owedLegacyStoreNote(command: Command): void {
  legacyStoreNote = undefined;
  if (!command.options.some((option) => option.long === '--store')) return;
  if (command.getOptionValue('store') !== undefined || !readsStore(command)) return;
  const location = data.defaultStoreLocation();
  if (location.source !== 'legacy') return;
  legacyStoreNote =
    `note: using the store at its old place, ${location.path}; new installs keep it in the XDG data folder ` +
    '($XDG_DATA_HOME/crypto-anomaly/, else ~/.local/share/crypto-anomaly/): move the file there to follow, or keep it where it is';
}

/** Drops the owed note: the command found it reads no store after all (detect on a sample model). */
export function waiveLegacyStoreNote(): void {
  legacyStoreNote = undefined;
}

/** Says the owed note, once, to `err` (stderr). */
export function sayLegacyStoreNote(err: (line: string) => void): void {
  if (legacyStoreNote !== undefined) err(legacyStoreNote);
  legacyStoreNote = undefined;
}

/** The text each date flag was given as, so a number's unit can be said back (see `rangeNotes`). */
const givenDates = new WeakMap<Command, Map<string, string>>();

/** Remembers the raw text of --since and --until: commander keeps only the parsed time. */
function rememberDates(command: Command): Command {
  const given = new Map<string, string>();
  givenDates.set(command, given);
  for (const flag of ['since', 'until']) command.on(`option:${flag}`, (raw: string) => given.set(flag, raw));
  return command;
}

/** One line per date given as a plain number, saying which unit it was read in and what time that is. */
export function rangeNotes(command: Command, config: ConfigFile): string[] {
  const notes: string[] = [];
  for (const flag of ['since', 'until'] as const) {
    const fromFlag = command.getOptionValueSource(flag) === 'cli';
    const raw = fromFlag ? givenDates.get(command)?.get(flag) : config[flag];
    if (raw === undefined) continue;
    const date = readDate(raw);
    if ('problem' in date || !date.unit) continue;
    const name = fromFlag ? `--${flag}` : `--config (${flag})`;
    notes.push(`${name} ${raw} is read as Unix ${date.unit}: ${new Date(date.time).toISOString()}`);
  }
  return notes;
}

export interface OpenedSource {
  kind: SourceKind;
  source: KlineSource;
  symbol: string;
  interval: Interval;
  since?: number;
  until?: number;
  /** Closes what the source opened (the store). */
  close(): Promise<void>;
}

/** The source settings from flags over the config file, checked together. */
export function sourceSettings(command: Command, config: ConfigFile, defaultKind: SourceKind) {
  const input = pick(command, 'input', config.input);
  // --input on the command line means that file, whatever source the config names (init writes
  // "source": "sample"): only a --source on the command line can contradict it.
  const inputGiven = command.getOptionValueSource('input') === 'cli';
  const sourceGiven = command.getOptionValueSource('source') === 'cli';
  const kind =
    inputGiven && !sourceGiven
      ? 'csv'
      : (pick<SourceKind>(command, 'source', config.source) ?? (input ? 'csv' : defaultKind));
  const since = pick(command, 'since', configDate('since', config.since));
  const until = pick(command, 'until', configDate('until', config.until));
  if (kind === 'csv' && !input) {
    throw new CliError('USAGE', '--input is required with --source csv', {
      option: '--input',
      hint: 'name a Binance-layout kline CSV, e.g. --input BTCUSDT-1h.csv',
    });
  }
  if (kind !== 'csv' && input) {
    throw new CliError('USAGE', `--input is only read with --source csv (the source is ${kind})`, {
      option: '--input',
      hint: 'drop --source or set it to csv',
    });
  }
  if (since !== undefined && until !== undefined && since >= until) {
    throw new CliError('USAGE', '--since must be before --until', {
      option: '--since',
      hint: 'swap the two dates',
    });
  }
  for (const [flag, name] of [
    ['--archive', 'archive'],
    ['--archive-base-url', 'archiveBaseUrl'],
  ] as const) {
    if (kind !== 'binance' && command.getOptionValueSource(name) === 'cli') {
      throw new CliError('USAGE', `${flag} is only read with --source binance (the source is ${kind})`, {
        option: flag,
        hint: 'add --source binance, or load the archive first with crypto-anomaly fetch --archive',
      });
    }
  }
  if (kind === 'binance' && since === undefined) {
    throw new CliError('USAGE', '--since is required with --source binance', {
      option: '--since',
      hint: 'say where the download starts, e.g. --since 2024-01-01',
    });
  }
  return {
    kind,
    input,
    symbol: pick<string>(command, 'symbol', config.symbol),
    interval: pick<Interval>(command, 'interval', config.interval),
    since,
    until,
    store: pick<string>(command, 'store', config.store),
    baseUrl: pick<string>(command, 'baseUrl', config.baseUrl),
    archive: pick<boolean>(command, 'archive', config.archive) ?? false,
    archiveBaseUrl: pick<string>(command, 'archiveBaseUrl', config.archiveBaseUrl),
    allowGaps: pick<boolean>(command, 'allowGaps', config.allowGaps) ?? false,
  };
}

/**
 * Opens the source the flags ask for. The store (DuckDB) and the sample generator are loaded only
 * here, when a command needs them. With --source binance nothing is downloaded yet: the source
 * fills the store when the engine loads it.
 */
export async function openSource(
  command: Command,
  config: ConfigFile,
  reporter: Reporter,
  defaultKind: SourceKind,
  given?: { symbol: string; interval: Interval },
): Promise<OpenedSource> {
  const defaults = given ?? { symbol: DEFAULT_SYMBOL, interval: DEFAULT_INTERVAL };
  const settings = sourceSettings(command, config, defaultKind);
  for (const note of rangeNotes(command, config)) reporter.line(note);
  const acceptance = { allowGaps: settings.allowGaps };
  const range = {
    ...(settings.since !== undefined ? { since: settings.since } : {}),
    ...(settings.until !== undefined ? { until: settings.until } : {}),
  };
  switch (settings.kind) {
    case 'sample': {
      const symbol = settings.symbol ?? given?.symbol ?? SAMPLE_SYMBOL;
      const interval = settings.interval ?? defaults.interval;
      const sampleStart = configDate('sample.start', config.sample?.start);
      const source = data.sampleSource({
        symbol,
        interval,
        ...(config.sample?.seed !== undefined ? { seed: config.sample.seed } : {}),
        ...(config.sample?.count !== undefined ? { count: config.sample.count } : {}),
        ...(sampleStart !== undefined ? { start: sampleStart } : {}),
      });
      return {
        kind: 'sample',
        source: checkedSource(source, acceptance),
        symbol,
        interval,
        ...range,
        close: async () => {},
      };
    }
    case 'csv': {
      const fromName = data.parseKlineFileName(settings.input!);
      // A pair that contradicts the file's name would label its candles, outputs and model wrong
      // (a wrong interval is refused by the candles' own grid).
      if (
        settings.symbol !== undefined &&
        fromName.symbol !== undefined &&
        settings.symbol !== fromName.symbol
      ) {
        throw new CliError(
          'RUNTIME',
          `--input ${basename(settings.input!)} holds ${fromName.symbol} by its name, but the pair given (--symbol or the config's symbol) is ${settings.symbol}: its outputs and model would be labelled with the wrong pair`,
          {
            option: '--symbol',
            hint: `leave --symbol out (the file's name gives ${fromName.symbol}), or rename the file if its name is wrong`,
            exitCode: ExitCode.usageError,
          },
        );
      }
      const symbol = settings.symbol ?? fromName.symbol ?? defaults.symbol;
      const interval = settings.interval ?? fromName.interval ?? defaults.interval;
      const source = data.csvSource(settings.input!, { symbol, interval });
      return {
        kind: 'csv',
        source: checkedSource(fileRangeWhenEmpty(source), acceptance, {
          lineOf: (time) => source.lineOf(time),
          // The run keeps what it loaded; the file's copy and its lines only served the checks.
          afterCheck: () => source.release(),
        }),
        symbol,
        interval,
        ...range,
        close: async () => {},
      };
    }
    case 'store':
    case 'binance': {
      const symbol = settings.symbol ?? defaults.symbol;
      const interval = settings.interval ?? defaults.interval;
      const storePath = storePathOf(settings.store);
      // Only Binance, which fills the store, may start one; reading the store needs it there.
      const store =
        settings.kind === 'binance'
          ? await data.KlineStore.open(storePath)
          : await openExistingStore(storePath, (path) => {
              const from = new Date(settings.since ?? Date.now() - 30 * 86_400_000)
                .toISOString()
                .slice(0, 10);
              return new CliError(
                'RUNTIME',
                `no kline store at ${path}: nothing to load, and none was created`,
                {
                  hint:
                    `fetch the candles first: crypto-anomaly fetch --symbol ${symbol} --interval ${interval} --since ${from}` +
                    `${settings.store === undefined ? '' : ` --store ${settings.store}`} (or check --store)`,
                },
              );
            });
      reporter.line(`Kline store: ${store.path}`);
      // Binance: each load fills the store first (archive, then REST), rendered as fetch lines.
      const source =
        settings.kind === 'binance'
          ? data.binanceSource(store, settings.baseUrl ? { baseUrl: settings.baseUrl } : {}, {
              ...range,
              archive: settings.archive
                ? settings.archiveBaseUrl
                  ? { baseUrl: settings.archiveBaseUrl }
                  : {}
                : false,
              onProgress: renderFill(reporter),
              signal: reporter.signal,
            })
          : fetchFirstWhenEmpty(data.storeSource(store), settings.since);
      return {
        kind: settings.kind,
        source: checkedSource(source, acceptance),
        symbol,
        interval,
        ...range,
        close: () => store.close(),
      };
    }
  }
}

/**
 * The source with the data package's candle checks run on what it loads, before the engine sees
 * it: every command that trains or scores candles (run, train, detect) opens its source here, so
 * every source is checked. A refusal names the candles (and CSV lines) at fault.
 */
function checkedSource(
  source: KlineSource,
  acceptance: CandleAcceptance,
  file?: { lineOf: (openTime: number) => number | undefined; afterCheck: () => void },
): KlineSource {
  return {
    describe: () => source.describe(),
    async load(request) {
      const klines = await source.load(request);
      if (klines.length > 0) {
        data.assertCandleQuality(klines, request.symbol, request.interval, {
          ...acceptance,
          source: source.describe(),
          ...(file ? { lineOf: file.lineOf } : {}),
        });
      }
      file?.afterCheck();
      return klines;
    },
  };
}

/**
 * The CSV source, failing with the file's own span when the requested range holds none of its
 * candles: the engine's hint (fetch them first) does not fit a file.
 */
function fileRangeWhenEmpty(source: KlineSource): KlineSource {
  return {
    describe: () => source.describe(),
    async load(request) {
      const klines = await source.load(request);
      if (klines.length > 0 || (request.start === undefined && request.end === undefined)) return klines;
      const all = await source.load({ symbol: request.symbol, interval: request.interval });
      const day = (time: number) => new Date(time).toISOString().slice(0, 16).replace('T', ' ');
      const asked = `${request.start === undefined ? 'its start' : day(request.start)} to ${request.end === undefined ? 'now' : day(request.end)}`;
      throw new CliError(
        'RUNTIME',
        `${source.describe()} holds candles from ${day(all[0]!.openTime)} to ${day(all.at(-1)!.openTime)} UTC, none from ${asked} UTC`,
        { hint: 'widen --since/--until to the span the file holds, or give a file that covers the range' },
      );
    },
  };
}

/**
 * The store source, failing with a hint to fetch when the requested range holds no candles: the
 * engine's own hint (load a longer range) does not fit a store that was never filled.
 */
function fetchFirstWhenEmpty(source: KlineSource, since: number | undefined): KlineSource {
  return {
    describe: () => source.describe(),
    async load(request) {
      const klines = await source.load(request);
      if (klines.length > 0) return klines;
      const from = new Date(since ?? Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
      throw new CliError(
        'RUNTIME',
        `${source.describe()} has no ${request.symbol} ${request.interval} candles in the requested range`,
        {
          hint:
            `fetch them first: crypto-anomaly fetch --symbol ${request.symbol} --interval ${request.interval} ` +
            `--since ${from} (or widen --since/--until)`,
        },
      );
    },
  };
}

/** `--store` as given (resolved), else the default store's path. */
export function storePathOf(given: string | undefined): string {
  return given === undefined ? data.defaultStorePath() : resolve(given);
}

/**
 * Opens a store that must be there already. Opening creates a missing file, so a command that
 * only reads (a mistyped `--store`, a store never fetched into) would leave an empty store behind:
 * it is refused with `missing(path)` instead, and nothing is created.
 */
export async function openExistingStore(
  path: string,
  missing: (path: string) => CliError,
): Promise<data.KlineStore> {
  if (!existsSync(path)) throw missing(path);
  return data.KlineStore.open(path);
}
