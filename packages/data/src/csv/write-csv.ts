import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { CsvWriteOptions, Kline } from '../api.js';
import { existingTarget, writeFileAtomically } from '../atomic-file.js';
import { DataError } from '../errors.js';
import { formatCsvTime, KLINE_CSV_HEADER } from './layout.js';
import { readKlinesCsv } from './read-csv.js';

/** One kline as a CSV line of the export layout (no newline). */
export function klineToCsvLine(k: Kline): string {
  return [
    formatCsvTime(k.openTime),
    k.openTime,
    decimal(k.open),
    decimal(k.high),
    decimal(k.low),
    decimal(k.close),
    decimal(k.volume),
    k.closeTime,
    decimal(k.quoteAssetVolume),
    k.numberOfTrades,
    decimal(k.takerBuyBaseAssetVolume),
    decimal(k.takerBuyQuoteAssetVolume),
    k.ignore,
  ].join(',');
}

/** Binance writes 8 decimals; toFixed(8) keeps that look and parses back to the same double. */
function decimal(value: number): string {
  return value.toFixed(8);
}

/** Klines as CSV text in the export layout, header included. */
export function klinesToCsv(klines: Iterable<Kline>): string {
  const lines = [KLINE_CSV_HEADER];
  for (const kline of klines) lines.push(klineToCsvLine(kline));
  return `${lines.join('\n')}\n`;
}

/**
 * Streams klines to a CSV file in the export layout; resolves to the number of rows written. The
 * file is written beside the target and renamed into place, so a failure leaves no half-written
 * CSV. An existing file is replaced only when it is a kline CSV in this layout (or empty) and
 * every candle it holds is in the new file with the same values, so the replacement loses nothing
 * (an earlier export of the same pair, now extended); anything else is refused with
 * `TARGET_NOT_OURS` and left as it is, unless `overwrite` is set (see `assertKlineCsvTarget`).
 */
export async function writeKlinesCsv(
  path: string,
  klines: Iterable<Kline> | AsyncIterable<Kline> | AsyncIterable<Kline[]>,
  options: Partial<CsvWriteOptions> = {},
): Promise<number> {
  const replaces = await klineCsvTarget(path, options);
  // The candles the file holds now, each as the line this export writes for it.
  const held = new Map<number, string>();
  if (replaces) {
    try {
      for (const kline of await readKlinesCsv(path)) held.set(kline.openTime, klineToCsvLine(kline));
    } catch (error) {
      throw new DataError(
        'TARGET_NOT_OURS',
        `${path} already exists and cannot be read back as klines (${(error as Error).message}), so it was left as it is: write to another file.`,
        { cause: error },
      );
    }
  }
  return writeFileAtomically(path, async (temporary) => {
    const output = createWriteStream(temporary, { encoding: 'utf8' });
    let rows = 0;
    let chunk: string[] = [KLINE_CSV_HEADER];
    const flush = async () => {
      if (chunk.length === 0) return;
      if (!output.write(`${chunk.join('\n')}\n`)) await once(output, 'drain');
      chunk = [];
    };
    try {
      for await (const item of klines as AsyncIterable<Kline | Kline[]>) {
        for (const kline of Array.isArray(item) ? item : [item]) {
          const line = klineToCsvLine(kline);
          if (held.get(kline.openTime) === line) held.delete(kline.openTime);
          chunk.push(line);
          rows++;
        }
        if (chunk.length >= 5000) await flush();
      }
      await flush();
      output.end();
      await finished(output);
    } catch (error) {
      output.destroy();
      await finished(output).catch(() => undefined);
      throw error;
    }
    if (held.size > 0) {
      let first = Number.POSITIVE_INFINITY;
      for (const time of held.keys()) first = Math.min(first, time);
      throw new DataError(
        'TARGET_NOT_OURS',
        `${path} holds ${held.size} candle${held.size === 1 ? '' : 's'} this export does not have, or has with other ` +
          `values (the first opens ${formatCsvTime(first)} UTC), so it was left as it is: replacing it would lose ` +
          'them. Write to another file, or export a range that covers them.',
      );
    }
    return rows;
  });
}

/**
 * Refuses a path `writeKlinesCsv` must not replace: an existing file that is not a kline CSV in
 * the layout it writes (first line `KLINE_CSV_HEADER`), or a folder. A missing or empty file
 * passes, and anything passes with `overwrite`. `writeKlinesCsv` checks on its own, and also refuses
 * to drop or change a candle the file holds; call this too before long work (a download) to refuse
 * before it starts rather than after.
 */
export async function assertKlineCsvTarget(
  path: string,
  options: Partial<CsvWriteOptions> = {},
): Promise<void> {
  await klineCsvTarget(path, options);
}

/** The checks of assertKlineCsvTarget; true when an existing kline CSV is to be replaced (and compared). */
async function klineCsvTarget(path: string, options: Partial<CsvWriteOptions>): Promise<boolean> {
  const expected = Buffer.from(`${KLINE_CSV_HEADER}\n`, 'utf8');
  const target = await existingTarget(path, expected.length);
  if (target.kind === 'folder') {
    throw new DataError('INVALID_ARGUMENT', `${path} is a folder: name a CSV file to write the klines to.`);
  }
  if (options.overwrite || target.kind === 'none') return false;
  if (target.kind === 'link') {
    throw new DataError(
      'TARGET_NOT_OURS',
      `${path} is a symbolic link (to ${target.to}), and the export replaces its file whole, the link with it, ` +
        'so it was left as it is: name the file it points to, or another file.',
    );
  }
  if (target.head.equals(expected)) return true;
  throw new DataError(
    'TARGET_NOT_OURS',
    `${path} already exists and is not a kline CSV in the layout this package writes (its first line is not ` +
      'the open_time_utc,open_time,... header), so it was left as it is: write to another file, move this one ' +
      'aside, or pass { overwrite: true } to replace it.',
  );
}
