import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { CsvWriteOptions, Kline } from '../api.js';
import { existingTarget, writeFileAtomically } from '../atomic-file.js';
import { DataError } from '../errors.js';
import { assertKnownKeys, keysOf } from '../validate.js';
import { formatCsvTime, KLINE_CSV_HEADER } from './layout.js';
import { readKlinesCsvBatches } from './read-csv.js';

/** What `writeKlinesCsv`, `exportCsv` and `writeLabelsCsv` take (`CsvWriteOptions`). */
export const CSV_WRITE_KEYS = keysOf<CsvWriteOptions>({ overwrite: true });

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
 * The file replaced is read alongside the export, not into memory first (see `HeldCandles`).
 */
export async function writeKlinesCsv(
  path: string,
  klines: Iterable<Kline> | AsyncIterable<Kline> | AsyncIterable<Kline[]>,
  options: Partial<CsvWriteOptions> = {},
): Promise<number> {
  assertKnownKeys('writeKlinesCsv options', options, CSV_WRITE_KEYS);
  const replaces = await klineCsvTarget(path, options);
  return writeFileAtomically(path, async (temporary) => {
    // The candles the file holds now, checked off as the export writes them.
    const held = replaces ? new HeldCandles(path) : undefined;
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
          if (held) await held.offer(kline.openTime, line);
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
      await held?.close();
      throw error;
    }
    const lost = held ? await held.finish(temporary) : { count: 0, first: 0 };
    if (lost.count > 0) {
      throw new DataError(
        'TARGET_NOT_OURS',
        `${path} holds ${lost.count} candle${lost.count === 1 ? '' : 's'} this export does not have, or has with other ` +
          `values (the first opens ${formatCsvTime(lost.first)} UTC), so it was left as it is: replacing it would lose ` +
          'them. Write to another file, or export a range that covers them.',
      );
    }
    return rows;
  });
}

/**
 * The candles of a kline CSV an export replaces, checked off against the export's candles as both
 * go by in open-time order (the order of every export of the store): the file is read a batch
 * ahead of the export at most, so a re-export of a million candles onto its own file holds one
 * batch of the old file, not the whole file (read whole first, 1M rows peaked at 1.7 GB RSS).
 * A candle of the file that the export passes without writing it, or writes with other values
 * (another line), is lost. When either side is not in ascending order (klines handed over in any
 * order, or a file written so), the file is compared whole with the written one instead, in
 * memory: the only case whose memory grows with the file.
 */
class HeldCandles {
  readonly #path: string;
  readonly #batches: AsyncGenerator<Kline[]>;
  #batch: Kline[] = [];
  #at = 0;
  #ended = false;
  #lastHeld = Number.NEGATIVE_INFINITY;
  #lastOffered = Number.NEGATIVE_INFINITY;
  #unordered = false;
  #lost = 0;
  #firstLost = Number.POSITIVE_INFINITY;

  constructor(path: string) {
    this.#path = path;
    this.#batches = readKlinesCsvBatches(path);
  }

  /** The export writes `line` for the candle opening at `time`. */
  async offer(time: number, line: string): Promise<void> {
    if (this.#unordered) return;
    if (time <= this.#lastOffered) {
      // Handed over out of order: compared whole at the end; the file is not read on till then.
      this.#unordered = true;
      await this.close();
      return;
    }
    this.#lastOffered = time;
    for (let held = await this.#next(); held !== undefined; held = await this.#next()) {
      if (held.openTime > time) return;
      this.#take(held);
      if (held.openTime < time || klineToCsvLine(held) !== line) this.#lose(held.openTime);
      if (held.openTime === time) return;
    }
  }

  /** The candles lost once the export has written everything to `written`. */
  async finish(written: string): Promise<{ count: number; first: number }> {
    for (let held = await this.#next(); held !== undefined; held = await this.#next()) {
      this.#take(held);
      this.#lose(held.openTime);
    }
    if (this.#unordered) return this.#compareWhole(written);
    return { count: this.#lost, first: this.#firstLost };
  }

  /** Stops reading the file (the export failed, or the merge ended). */
  async close(): Promise<void> {
    await this.#batches.return(undefined).catch(() => undefined);
  }

  #lose(time: number): void {
    this.#lost++;
    this.#firstLost = Math.min(this.#firstLost, time);
  }

  /** Checks `held`, the file's next candle, off; a time not after the one before ends the merge. */
  #take(held: Kline): void {
    this.#at++;
    if (held.openTime <= this.#lastHeld) this.#unordered = true;
    this.#lastHeld = held.openTime;
  }

  /** The file's next candle not yet checked off; undefined at its end, or once out of order. */
  async #next(): Promise<Kline | undefined> {
    if (this.#unordered) {
      await this.close();
      return undefined;
    }
    while (this.#at >= this.#batch.length) {
      if (this.#ended) return undefined;
      const read = await this.#read(this.#batches);
      if (read === undefined) {
        this.#ended = true;
        return undefined;
      }
      this.#batch = read;
      this.#at = 0;
    }
    return this.#batch[this.#at];
  }

  async #read(batches: AsyncGenerator<Kline[]>): Promise<Kline[] | undefined> {
    try {
      const next = await batches.next();
      return next.done ? undefined : next.value;
    } catch (error) {
      throw new DataError(
        'TARGET_NOT_OURS',
        `${this.#path} already exists and cannot be read back as klines (${(error as Error).message}), so it was left as it is: write to another file.`,
        { cause: error },
      );
    }
  }

  /** Every candle of the file, as the line the export writes for it, checked off against `written`. */
  async #compareWhole(written: string): Promise<{ count: number; first: number }> {
    const held = new Map<number, string>();
    const file = readKlinesCsvBatches(this.#path);
    for (let batch = await this.#read(file); batch !== undefined; batch = await this.#read(file)) {
      for (const kline of batch) held.set(kline.openTime, klineToCsvLine(kline));
    }
    for await (const batch of readKlinesCsvBatches(written)) {
      for (const kline of batch) {
        if (held.get(kline.openTime) === klineToCsvLine(kline)) held.delete(kline.openTime);
      }
    }
    let first = Number.POSITIVE_INFINITY;
    for (const time of held.keys()) first = Math.min(first, time);
    return { count: held.size, first };
  }
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
