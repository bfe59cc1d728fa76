import { resolve } from 'node:path';
import type { Interval } from '@crypto-anomaly/data';
import * as data from '@crypto-anomaly/data';
import { type Command, InvalidArgumentError } from 'commander';
import { parseBusUrl } from '../bus/connection.js';
import { type IngestSettings, runIngest } from '../bus/ingest.js';
import type { CommandContext } from '../command-context.js';
import { usageError } from '../errors.js';
import { parse } from '../options.js';
import { readSymbols } from '../watch/symbols.js';
import { parseSpeed } from './watch.js';

/** `crypto-anomaly ingest`: closed candles into the bus (JetStream), for the workers. */
export function addIngestCommand(program: Command, context: CommandContext): void {
  program
    .command('ingest')
    .description('publish closed candles of many pairs to the bus (NATS JetStream) for the workers')
    .requiredOption('--bus <url>', 'the NATS server(s): nats://HOST:PORT, a cluster with commas')
    .option('--symbols <list|file>', 'pairs: BTCUSDT,ETHUSDT or a file naming them (one a line)')
    .option(
      '--interval <interval>',
      'candle interval (default 1m; a replayed file names its own)',
      parse.interval,
    )
    .option(
      '--replay <file.csv|sample>',
      'replay kline CSVs (commas between files) or the bundled sample market instead of the live stream',
    )
    .option('--candles <n>', 'with --replay sample: candles per pair (default 1500)', parse.positiveInteger)
    .option('--speed <n|max>', 'replay speed: max, or N times real time (default max)', parseSpeed)
    .option(
      '--history <n>',
      'live, first start: candles per pair back-filled before the stream (default 1000)',
      parse.positiveInteger,
    )
    .option('--base-url <url>', 'Binance REST base URL (back-fill)', parse.url)
    .option(
      '--stream-url <url>',
      'Binance WebSocket base URL (default wss://stream.binance.com:9443)',
      parseWsUrl,
    )
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly ingest --bus nats://127.0.0.1:4222 --symbols BTCUSDT,ETHUSDT --interval 1m
  crypto-anomaly ingest --bus nats://127.0.0.1:4222 --symbols BTCUSDT,ETHUSDT --replay sample

Each candle is stored once in the KLINES stream (subject klines.1m.BTCUSDT, message id
BTCUSDT:1m:OPENTIME): run two ingest processes for redundancy. A restart resumes after the
last stored candle of each pair. Ends with one JSON line on stdout: candles stored and duplicates.`,
    )
    .action(async (flags: Record<string, unknown>) => {
      await runIngest(ingestSettingsOf(flags), context);
    });
}

function parseWsUrl(value: string): string {
  if (!/^wss?:\/\/[^\s]+$/.test(value)) throw new InvalidArgumentError('Expected a ws:// or wss:// URL.');
  return value.replace(/\/+$/, '');
}

export function ingestSettingsOf(flags: Record<string, unknown>): IngestSettings {
  const bus = parseBusUrl(flags['bus'] as string);
  const replayValue = typeof flags['replay'] === 'string' ? (flags['replay'] as string) : undefined;
  const sample = replayValue === 'sample';
  const files = new Map<string, string>();
  let symbols = typeof flags['symbols'] === 'string' ? readSymbols(flags['symbols'] as string) : undefined;
  let interval = flags['interval'] as Interval | undefined;
  if (replayValue !== undefined && !sample) {
    const paths = replayValue
      .split(',')
      .map((file) => file.trim())
      .filter((file) => file !== '')
      .map((file) => resolve(file));
    for (const path of paths) {
      const named = data.parseKlineFileName(path);
      const symbol = named.symbol ?? (paths.length === 1 ? symbols?.[0] : undefined);
      if (!symbol) {
        throw usageError(
          '--replay',
          `cannot tell the pair of ${path} from its name`,
          'name it like BTCUSDT-1m.csv',
        );
      }
      files.set(symbol, path);
      interval ??= named.interval;
    }
    symbols = [...files.keys()];
  }
  if (!symbols)
    throw usageError('--symbols', 'is required (or --replay FILE.csv)', 'e.g. --symbols BTCUSDT,ETHUSDT');
  if (flags['candles'] !== undefined && !sample) {
    throw usageError('--candles', 'is only read with --replay sample', 'drop it');
  }
  if (flags['speed'] !== undefined && replayValue === undefined) {
    throw usageError('--speed', 'is only read with --replay', 'drop it for a live run');
  }
  return {
    bus,
    symbols,
    interval: interval ?? '1m',
    ...(replayValue !== undefined
      ? {
          replay: {
            files,
            ...(sample ? { sample: { candles: (flags['candles'] as number) ?? 1_500 } } : {}),
          },
        }
      : {}),
    speed: (flags['speed'] as number | 'max' | undefined) ?? 'max',
    history: (flags['history'] as number | undefined) ?? 1_000,
    ...(flags['baseUrl'] !== undefined ? { baseUrl: flags['baseUrl'] as string } : {}),
    ...(flags['streamUrl'] !== undefined ? { streamUrl: flags['streamUrl'] as string } : {}),
  };
}
