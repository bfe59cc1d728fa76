import { dirname, resolve } from 'node:path';
import * as data from '@crypto-anomaly/data';
import { type Command, InvalidArgumentError } from 'commander';
import type { CommandContext } from '../command-context.js';
import { CliError, isUnwritable, unwritableFile } from '../errors.js';
import { renderFill } from '../fetching.js';
import { formatCount, formatTime } from '../format.js';
import { configDate, configOf, parse, pick } from '../options.js';
import { runSession } from '../session.js';

/** A duration flag in seconds (fractions allowed), as milliseconds. */
function seconds(value: string): number {
  const number = /^(\d+\.?\d*|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(number > 0) || !Number.isFinite(number)) {
    throw new InvalidArgumentError('Expected a number of seconds above 0, e.g. 30 or 0.5.');
  }
  return Math.round(number * 1000);
}

/** `crypto-anomaly fetch`: fill the local store from Binance, with progress. */
export function addFetchCommand(program: Command, context: CommandContext): void {
  program
    .command('fetch')
    .description('download klines from Binance into the local store (incremental, resumable)')
    .option('--symbol <symbol>', 'trading pair, e.g. BTCUSDT', parse.symbol)
    .option('--interval <interval>', 'candle interval, e.g. 1h', parse.interval)
    .option('--since <date>', 'first candle, UTC: 2018-01-01, 2018-01-01T12:00 or Unix ms', parse.date)
    .option('--until <date>', 'download candles before this time (default: now)', parse.date)
    .option('--base-url <url>', 'Binance REST base URL (default https://data-api.binance.vision)', parse.url)
    .option(
      '--store <file>',
      'the local kline store (DuckDB; default $CRYPTO_ANOMALY_STORE, else $XDG_DATA_HOME/crypto-anomaly/klines.duckdb)',
    )
    .option('--csv <file>', 'also export the range to a Binance-layout CSV')
    .option('--archive', 'bulk-load the monthly/daily archive files (data.binance.vision) first')
    .option('--archive-base-url <url>', 'archive base URL (default https://data.binance.vision)', parse.url)
    .option(
      '--request-timeout <seconds>',
      'deadline of one request, last byte included; a slower one is retried (default 15, archive 60)',
      seconds,
    )
    .option(
      '--give-up-after <seconds>',
      'stop the whole fetch after this long, waits included; what was fetched is kept (default 3600)',
      seconds,
    )
    .option(
      '--config <file.json>',
      'settings file (symbol, interval, since, until, store, baseUrl, archive, requestTimeout, giveUpAfter)',
    )
    .option('--no-tui', 'plain lines instead of the progress screen (automatic when not a terminal or in CI)')
    .option('--json', 'one JSON document of the outcome on stdout; the progress lines go to stderr')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly fetch --symbol BTCUSDT --interval 1d --since 2018-01-01
  crypto-anomaly fetch --symbol ETHUSDT --interval 1m --since 2023-01-01 --archive
  crypto-anomaly fetch --symbol BTCUSDT --interval 1h --since 2024-01-01 --csv BTCUSDT-1h.csv

Only spans not already stored are downloaded, so running it again resumes. Rate limits are
respected; every wait and retry is printed with its reason. No API key is sent (the endpoints
used are public).`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const config = await configOf(command);
      const symbol = pick<string>(command, 'symbol', config.symbol);
      const interval = pick<data.Interval>(command, 'interval', config.interval);
      const since = pick<number>(command, 'since', configDate('since', config.since));
      const until = pick<number>(command, 'until', configDate('until', config.until));
      for (const [flag, value, example] of [
        ['--symbol', symbol, 'BTCUSDT'],
        ['--interval', interval, '1h'],
        ['--since', since, '2024-01-01'],
      ] as const) {
        if (value === undefined) {
          throw new CliError('USAGE', `${flag} is required`, {
            option: flag,
            hint: `e.g. ${flag} ${example}`,
          });
        }
      }
      if (until !== undefined && since! >= until) {
        throw new CliError('USAGE', '--since must be before --until', {
          option: '--since',
          hint: 'swap the two dates',
        });
      }
      const baseUrl = pick<string>(command, 'baseUrl', config.baseUrl);
      const archive = pick<boolean>(command, 'archive', config.archive) ?? false;
      const archiveBaseUrl = pick<string>(command, 'archiveBaseUrl', config.archiveBaseUrl);
      const csv = pick<string>(command, 'csv', config.csv);
      const requestTimeoutMs = pick<number>(
        command,
        'requestTimeout',
        config.requestTimeout !== undefined ? config.requestTimeout * 1000 : undefined,
      );
      const giveUpAfterMs = pick<number>(
        command,
        'giveUpAfter',
        config.giveUpAfter !== undefined ? config.giveUpAfter * 1000 : undefined,
      );
      const tui = pick<boolean>(command, 'tui', config.tui) ?? true;
      const title = `crypto-anomaly fetch · ${symbol} ${interval} from ${formatTime(since!)} UTC`;
      const csvTarget = csv ? resolve(csv) : undefined;
      // Refused before the download rather than after it: the file is named, and left as it is.
      if (csvTarget) await csvTargetOrRefuse(() => data.assertKlineCsvTarget(csvTarget), csvTarget);
      const json = command.getOptionValue('json') === true;
      const stoppedHint = 'what was fetched is stored; the same fetch again goes on from there';
      await runSession({ title, tui, json, context, mode: 'fetch', stoppedHint }, async (reporter) => {
        const store = await data.KlineStore.open(pick<string>(command, 'store', config.store));
        try {
          reporter.event({
            type: 'source',
            description: `Binance ${baseUrl ?? data.DEFAULT_REST_BASE_URL} → ${store.path}`,
          });
          const requestTimeout = requestTimeoutMs !== undefined ? { requestTimeoutMs } : {};
          const source = data.binanceSource(
            store,
            { ...(baseUrl ? { baseUrl } : {}), ...requestTimeout },
            {
              archive: archive
                ? { ...(archiveBaseUrl ? { baseUrl: archiveBaseUrl } : {}), ...requestTimeout }
                : false,
              onProgress: renderFill(reporter),
              signal: reporter.signal,
              ...(giveUpAfterMs !== undefined ? { giveUpAfterMs } : {}),
            },
          );
          const range = { start: since!, ...(until !== undefined ? { end: until } : {}) };
          const result = await source.fill({ symbol: symbol!, interval: interval!, ...range });
          // What the range holds, and from when to when, in one read.
          const [bounds] = await store.query(
            'SELECT count(*) AS held, min(open_time) AS first, max(open_time) AS last FROM klines WHERE symbol = ? AND interval = ? AND open_time >= ? AND open_time < ?',
            [symbol!, interval!, range.start, range.end ?? Number.MAX_SAFE_INTEGER],
          );
          const held = Number(bounds?.['held'] ?? 0);
          const span =
            held > 0
              ? `, ${formatTime(Number(bounds!['first']))} to ${formatTime(Number(bounds!['last']))} UTC`
              : '';
          reporter.line(
            `store: ${store.path} holds ${formatCount(held)} ${symbol} ${interval} candles in the range${span}`,
          );
          // Spans inside the range the exchange has no candles for (outages): said, not left for
          // run to find.
          const gaps = await store.findGaps(symbol!, interval!, range);
          if (gaps.length > 0) {
            const missing = gaps.reduce((sum, gap) => sum + gap.missing, 0);
            const listed = gaps
              .slice(0, 3)
              .map((gap) => `${formatTime(gap.start)} (${formatCount(gap.missing)})`)
              .join(', ');
            reporter.line(
              `store: ${formatCount(missing)} candles missing in ${gaps.length} gap${gaps.length === 1 ? '' : 's'} the exchange has no candles for: ${listed}${gaps.length > 3 ? ', ...' : ''} (run refuses gaps unless --allow-gaps)`,
            );
          }
          const files: Record<string, string> = { store: store.path };
          let csvRows: number | undefined;
          if (csvTarget) {
            // A chunk of candles at a time: a million-candle export no longer holds them all.
            const klines = store.klineChunks(symbol!, interval!, range);
            const rows = await csvTargetOrRefuse(() => data.writeKlinesCsv(csvTarget, klines), csvTarget);
            reporter.line(`csv: wrote ${formatCount(rows)} rows to ${csvTarget}`);
            csvRows = rows;
            files['csv'] = csvTarget;
          }
          return {
            outDir: dirname(csvTarget ?? store.path),
            files,
            topAnomalies: {},
            elapsedMs: result.elapsedMs,
            details: {
              symbol,
              interval,
              store: store.path,
              candlesInRange: held,
              gaps: gaps.slice(0, 100).map((gap) => ({
                from: new Date(gap.start).toISOString(),
                missing: gap.missing,
              })),
              unserved: result.fetch.unserved.map(({ start, end }) => ({
                from: new Date(start).toISOString(),
                to: new Date(end).toISOString(),
              })),
              ...(csvRows !== undefined ? { csvRows } : {}),
            },
          };
        } finally {
          await store.close();
        }
      });
    });
}

/** Runs a check or write of the --csv file, turning the data package's refusal into a usage error (exit 2). */
async function csvTargetOrRefuse<T>(work: () => Promise<T>, target: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (error instanceof Error && error.name === 'DataError' && code === 'TARGET_NOT_OURS') {
      throw new CliError(
        'USAGE',
        // The library's own words, but for the API's way out ({ overwrite: true }), which --csv has not.
        error.message.includes('overwrite: true')
          ? `--csv: ${target} already exists and is not a kline CSV written by crypto-anomaly; it was left as it is. ` +
              'Name another file with --csv, or move this one aside and run again'
          : `--csv: ${error.message.replace(/\.$/, '')}`,
        {
          option: '--csv',
          hint: 'name another file with --csv, or move the existing one aside',
          cause: error,
        },
      );
    }
    // A path the file cannot be made at: under a file (ENOTDIR), without permission, read-only.
    if (isUnwritable(error)) throw unwritableFile('--csv', target, error);
    throw error;
  }
}
