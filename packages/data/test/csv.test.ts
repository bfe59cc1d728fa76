import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  csvSource,
  formatCsvTime,
  generateSampleMarket,
  isDataError,
  KLINE_CSV_HEADER,
  klinesToCsv,
  parseKlineFileName,
  readKlinesCsv,
  writeKlinesCsv,
  writeLabelsCsv,
} from '../src/index.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'klines-csv-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const REAL_LINES = [
  KLINE_CSV_HEADER,
  '2017-08-17 00:00:00,1502928000000,4261.48000000,4485.39000000,4200.74000000,4285.08000000,795.15037700,1503014399999,3454770.05073206,3427,616.24854100,2678216.40060401,0',
  '2017-08-18 00:00:00,1503014400000,4285.08000000,4371.52000000,3938.77000000,4108.37000000,1199.88826400,1503100799999,5086958.30617151,5233,972.86871000,4129123.31651808,0',
  '2017-08-19 00:00:00,1503100800000,4108.37000000,4184.69000000,3850.00000000,4139.98000000,381.30976300,1503187199999,1549483.73542151,2153,274.33604200,1118001.87008735,0',
];

describe('CSV import', () => {
  it('reads the Binance layout with its ISO time column', async () => {
    const path = join(directory, 'BTCUSDT_1d.csv');
    await writeFile(path, `${REAL_LINES.join('\n')}\n`);
    const klines = await readKlinesCsv(path);
    expect(klines).toHaveLength(3);
    expect(klines[0]).toEqual({
      openTime: 1502928000000,
      open: 4261.48,
      high: 4485.39,
      low: 4200.74,
      close: 4285.08,
      volume: 795.150377,
      closeTime: 1503014399999,
      quoteAssetVolume: 3454770.05073206,
      numberOfTrades: 3427,
      takerBuyBaseAssetVolume: 616.248541,
      takerBuyQuoteAssetVolume: 2678216.40060401,
      ignore: 0,
    });
    // Exporting again gives the same text: the layout round-trips.
    expect(klinesToCsv(klines)).toBe(`${REAL_LINES.join('\n')}\n`);
  });

  it('round-trips generated klines through a file', async () => {
    const { klines } = generateSampleMarket({ count: 3000, seed: 9 });
    const path = join(directory, 'round-trip.csv');
    expect(await writeKlinesCsv(path, klines)).toBe(3000);
    expect(await readKlinesCsv(path)).toEqual(klines);
  });

  it('reads headerless archive files with microsecond timestamps', async () => {
    const path = join(directory, 'BTCUSDT-1m-2025-01-01.csv');
    await writeFile(
      path,
      [
        '1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,1735689659999999,768978.80559480,1900,4.52238000,423114.15755560,0',
        '1735689660000000,93610.93000000,93652.00000000,93606.35000000,93652.00000000,11.39574000,1735689719999999,1066958.04349750,1796,5.83180000,546024.92060250,0',
      ].join('\n'),
    );
    const klines = await readKlinesCsv(path);
    expect(klines.map((k) => [k.openTime, k.closeTime])).toEqual([
      [Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 1, 0, 0, 59, 999)],
      [Date.UTC(2025, 0, 1, 0, 1), Date.UTC(2025, 0, 1, 0, 1, 59, 999)],
    ]);
    expect(parseKlineFileName(path)).toEqual({ symbol: 'BTCUSDT', interval: '1m' });
  });

  it('accepts the archive header names', async () => {
    const path = join(directory, 'archive-header.csv');
    await writeFile(
      path,
      'open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n' +
        '1502928000000,1,2,0.5,1.5,10,1503014399999,15,3,4,6,0\n',
    );
    expect((await readKlinesCsv(path))[0]).toMatchObject({ numberOfTrades: 3, takerBuyBaseAssetVolume: 4 });
  });

  it('refuses a malformed line with its line number, or skips it only when asked', async () => {
    const path = join(directory, 'bad.csv');
    const lines = [...REAL_LINES];
    lines[2] = lines[2]!.replace('4371.52000000', 'abc');
    lines.push('2017-08-20 00:00:00,1503187200000,1,2,3');
    await writeFile(path, `${lines.join('\n')}\n`);
    await expect(readKlinesCsv(path)).rejects.toThrow(/line 3: high is not a number: "abc"/);
    const error = await readKlinesCsv(path).catch((caught) => caught);
    expect(isDataError(error) && error.code).toBe('MALFORMED_CSV');
    expect(error.message).toMatch(/skipMalformed/);
    // No command-line flag is offered that the CLI does not have.
    expect(error.message).not.toMatch(/--skip-malformed/);

    const skipped: [number, string][] = [];
    const klines = await readKlinesCsv(path, {
      skipMalformed: true,
      onSkippedLine: (line, reason) => skipped.push([line, reason]),
    });
    expect(klines.map((k) => k.openTime)).toEqual([1502928000000, 1503100800000]);
    expect(skipped).toEqual([
      [3, 'high is not a number: "abc"'],
      [5, 'expected 13 columns, got 5'],
    ]);
  });

  it('refuses a header that lacks Binance columns and a missing file', async () => {
    const path = join(directory, 'header.csv');
    await writeFile(path, 'time,price\n1,2\n');
    await expect(readKlinesCsv(path)).rejects.toThrow(/header lacks open_time, open/);
    await expect(readKlinesCsv(join(directory, 'nope.csv'))).rejects.toThrow(/CSV file not found/);
    // The path, not a line of a file: a folder is named as one.
    await expect(readKlinesCsv(directory)).rejects.toThrow(/is a folder, not a CSV file \(EISDIR\)/);
  });
});

describe('csvSource', () => {
  it('loads a sorted, de-duplicated range and guards symbol and interval', async () => {
    const path = join(directory, 'ETHUSDT_1d.csv');
    await writeFile(
      path,
      `${[REAL_LINES[0], REAL_LINES[3], REAL_LINES[1], REAL_LINES[2], REAL_LINES[1]].join('\n')}\n`,
    );
    const source = csvSource(path);
    expect(source.describe()).toBe(`CSV file ${path} (ETHUSDT 1d)`);
    const klines = await source.load({ symbol: 'ETHUSDT', interval: '1d' });
    expect(klines.map((k) => k.openTime)).toEqual([1502928000000, 1503014400000, 1503100800000]);
    expect(
      await source.load({ symbol: 'ETHUSDT', interval: '1d', start: 1503014400000, end: 1503100800000 }),
    ).toHaveLength(1);
    await expect(source.load({ symbol: 'BTCUSDT', interval: '1d' })).rejects.toThrow(/holds ETHUSDT/);
    await expect(source.load({ symbol: 'ETHUSDT', interval: '1h' })).rejects.toThrow(/holds 1d candles/);
  });

  it('refuses a misspelt option or request key instead of ignoring it', async () => {
    const path = join(directory, 'BTCUSDT_1d.csv');
    await writeFile(path, `${REAL_LINES.join('\n')}\n`);
    // skipMalformd would have refused the file at its first bad line, the opposite of what was asked.
    expect(() => csvSource(path, { skipMalformd: true } as never)).toThrow(
      /^unknown key skipMalformd in csvSource options \(the keys there are skipMalformed, onSkippedLine, symbol, interval\)\.$/,
    );
    await expect(readKlinesCsv(path, { skipMalformd: true } as never)).rejects.toThrow(
      /unknown key skipMalformd in readKlinesCsv options/,
    );
    const source = csvSource(path, { symbol: 'BTCUSDT', interval: '1d', skipMalformed: false });
    await expect(source.load({ symbol: 'BTCUSDT', interval: '1d', strat: 0 } as never)).rejects.toThrow(
      /unknown key strat in the load request/,
    );
    expect(await source.load({ symbol: 'BTCUSDT', interval: '1d' })).toHaveLength(3);
    await expect(writeKlinesCsv(join(directory, 'out.csv'), [], { overwite: true } as never)).rejects.toThrow(
      /^unknown key overwite in writeKlinesCsv options \(the keys there are overwrite\)\.$/,
    );
    await expect(writeLabelsCsv(join(directory, 'labels.csv'), [], { force: true } as never)).rejects.toThrow(
      /unknown key force in writeLabelsCsv options/,
    );
  });

  it('refuses two lines with the same open time and different values, naming both lines', async () => {
    const path = join(directory, 'ETHUSDT_1d-conflict.csv');
    const changed = REAL_LINES[2]!.replace('4108.37000000,1199', '4108.38000000,1199');
    await writeFile(path, `${[...REAL_LINES, changed].join('\n')}\n`);
    const error = await csvSource(path, { symbol: 'ETHUSDT', interval: '1d' })
      .load({ symbol: 'ETHUSDT', interval: '1d' })
      .catch((caught) => caught);
    expect(isDataError(error) && error.code).toBe('BAD_CANDLES');
    expect(error.message).toMatch(
      /lines 3 and 5 both hold the candle opening at 2017-08-18T00:00:00\.000Z with different values \(close 4108\.37 vs 4108\.38\)/,
    );
  });

  it('knows the line of each candle', async () => {
    const path = join(directory, 'ETHUSDT_1d-lines.csv');
    await writeFile(path, `${[REAL_LINES[0], '', REAL_LINES[3], REAL_LINES[1]].join('\n')}\n`);
    const source = csvSource(path);
    await source.load({ symbol: 'ETHUSDT', interval: '1d' });
    expect(source.lineOf(1503100800000)).toBe(3);
    expect(source.lineOf(1502928000000)).toBe(4);
    expect(source.lineOf(1)).toBeUndefined();
  });

  it('forgets what it read when released, and reads the file again on the next load', async () => {
    const path = join(directory, 'ETHUSDT_1d-release.csv');
    await writeFile(path, `${[REAL_LINES[0], REAL_LINES[1]].join('\n')}\n`);
    const source = csvSource(path);
    expect(await source.load({ symbol: 'ETHUSDT', interval: '1d' })).toHaveLength(1);
    expect(source.lineOf(1502928000000)).toBe(2);
    await writeFile(path, `${[REAL_LINES[0], REAL_LINES[1], REAL_LINES[3]].join('\n')}\n`);
    // Still the candles read first: loads are served from memory.
    expect(await source.load({ symbol: 'ETHUSDT', interval: '1d' })).toHaveLength(1);
    source.release();
    expect(source.lineOf(1502928000000)).toBeUndefined();
    expect(await source.load({ symbol: 'ETHUSDT', interval: '1d' })).toHaveLength(2);
    expect(source.lineOf(1503100800000)).toBe(3);
  });

  it('says a file is empty, or holds only a header, instead of finding no candles in a range', async () => {
    const empty = join(directory, 'BTCUSDT_1h-empty.csv');
    await writeFile(empty, '');
    const headerOnly = join(directory, 'BTCUSDT_1h-header.csv');
    await writeFile(headerOnly, `${KLINE_CSV_HEADER}\n`);
    const request = { symbol: 'BTCUSDT', interval: '1h' } as const;
    const first = await csvSource(empty)
      .load(request)
      .catch((caught) => caught);
    expect(isDataError(first) && first.code).toBe('NO_CANDLES');
    expect(first.message).toMatch(/BTCUSDT_1h-empty\.csv is empty/);
    await expect(csvSource(headerOnly).load(request)).rejects.toThrow(/holds a header but no candle rows/);
  });

  it('names the line a never-closed quote opens on', async () => {
    const path = join(directory, 'quote.csv');
    await writeFile(path, `${[...REAL_LINES.slice(0, 2), 'x, "oops', REAL_LINES[3]].join('\n')}\n`);
    await expect(readKlinesCsv(path)).rejects.toThrow(
      /quote\.csv line 3: a quote opened on this line is never closed/,
    );
  });

  it('writes asynchronously produced batches', async () => {
    const { klines } = generateSampleMarket({ count: 12 });
    async function* batches() {
      yield klines.slice(0, 5);
      yield klines.slice(5);
    }
    const path = join(directory, 'batches.csv');
    expect(await writeKlinesCsv(path, batches())).toBe(12);
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(13);
  });
});

describe('CSV export: one atomic write that replaces only its own files', () => {
  const { klines, labels } = generateSampleMarket({ count: 200, seed: 4 });
  /** Files in a folder whose names say a write was left half-done. */
  const partials = async (folder: string) =>
    (await readdir(folder)).filter((name) => name.endsWith('.partial'));

  it('leaves the previous file whole and no temporary file when the klines fail mid-way', async () => {
    const folder = await mkdtemp(join(directory, 'atomic-'));
    const path = join(folder, 'BTCUSDT-1h.csv');
    await writeKlinesCsv(path, klines.slice(0, 10));
    const before = await readFile(path, 'utf8');
    async function* failing() {
      yield klines.slice(0, 150);
      throw new Error('the exchange went away');
    }
    await expect(writeKlinesCsv(path, failing())).rejects.toThrow('the exchange went away');
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await partials(folder)).toEqual([]);
  });

  it('replaces a kline CSV it wrote, and an empty file, without being asked', async () => {
    const folder = await mkdtemp(join(directory, 'own-'));
    const path = join(folder, 'own.csv');
    await writeKlinesCsv(path, klines.slice(0, 10));
    expect(await writeKlinesCsv(path, klines.slice(0, 20))).toBe(20);
    expect(await readKlinesCsv(path)).toEqual(klines.slice(0, 20));
    const empty = join(folder, 'empty.csv');
    await writeFile(empty, '');
    expect(await writeKlinesCsv(empty, klines.slice(0, 3))).toBe(3);
    expect(await partials(folder)).toEqual([]);
  });

  it('refuses to replace a file it did not write (TARGET_NOT_OURS), unless overwrite is passed', async () => {
    const folder = await mkdtemp(join(directory, 'foreign-'));
    const path = join(folder, 'notes.csv');
    await writeFile(path, 'name,amount\nrent,900\n');
    const error = await writeKlinesCsv(path, klines).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('TARGET_NOT_OURS');
    expect(String(error)).toContain(path);
    expect(String(error)).toMatch(/overwrite: true/);
    expect(await readFile(path, 'utf8')).toBe('name,amount\nrent,900\n');
    // A Binance archive file (no header) is not one it wrote either.
    const archive = join(folder, 'BTCUSDT-1h-2024-01.csv');
    await writeFile(archive, `${REAL_LINES.slice(1).join('\n')}\n`);
    await expect(writeKlinesCsv(archive, klines)).rejects.toThrow(/already exists/);

    expect(await writeKlinesCsv(path, klines, { overwrite: true })).toBe(200);
    expect(await readKlinesCsv(path)).toEqual(klines);
    const folderTarget = join(folder, 'a-folder');
    await mkdir(folderTarget);
    await expect(writeKlinesCsv(folderTarget, klines, { overwrite: true })).rejects.toThrow(/is a folder/);
    expect(await partials(folder)).toEqual([]);
  });

  it('replaces its own export only when no candle of it would be lost or changed', async () => {
    const folder = await mkdtemp(join(directory, 'loses-'));
    const path = join(folder, 'BTCUSDT_1h.csv');
    await writeKlinesCsv(path, klines.slice(0, 100));
    // The same pair exported again over a wider range: every candle held is in it.
    expect(await writeKlinesCsv(path, klines.slice(0, 150))).toBe(150);
    const before = await readFile(path, 'utf8');
    for (const fewer of [klines.slice(100, 130), klines.slice(0, 149)]) {
      const error = await writeKlinesCsv(path, fewer).catch((e: unknown) => e);
      expect(isDataError(error) && error.code).toBe('TARGET_NOT_OURS');
      expect(String(error)).toMatch(/holds \d+ candles? this export does not have/);
    }
    const changed = klines.slice(0, 150).map((k, i) => (i === 7 ? { ...k, close: k.close + 1 } : k));
    await expect(writeKlinesCsv(path, changed)).rejects.toThrow(
      new RegExp(`holds 1 candle .*opens ${formatCsvTime(klines[7]!.openTime)}`),
    );
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await partials(folder)).toEqual([]);
    expect(await writeKlinesCsv(path, klines.slice(0, 10), { overwrite: true })).toBe(10);
  });

  it('compares a file or an export out of open-time order whole, with the same verdicts', async () => {
    const folder = await mkdtemp(join(directory, 'unordered-'));
    const path = join(folder, 'BTCUSDT_1h.csv');
    // Written newest first, with a candle twice: still its own export, replaced by a sorted superset.
    await writeKlinesCsv(path, [...klines.slice(0, 100).reverse(), klines[5]!]);
    expect(await writeKlinesCsv(path, klines.slice(0, 120))).toBe(120);
    // Sorted on disk, handed over out of order.
    const shuffled = [...klines.slice(60, 150), ...klines.slice(0, 60)];
    expect(await writeKlinesCsv(path, shuffled)).toBe(150);
    const before = await readFile(path, 'utf8');
    const lacking = shuffled.filter((k) => k.openTime !== klines[70]!.openTime);
    await expect(writeKlinesCsv(path, lacking)).rejects.toThrow(
      new RegExp(`holds 1 candle .*opens ${formatCsvTime(klines[70]!.openTime)}`),
    );
    await writeKlinesCsv(join(folder, 'reversed.csv'), klines.slice(0, 150).reverse());
    const changed = klines.slice(0, 150).map((k, i) => (i === 3 ? { ...k, volume: k.volume + 1 } : k));
    await expect(writeKlinesCsv(join(folder, 'reversed.csv'), changed)).rejects.toThrow(
      new RegExp(`holds 1 candle .*opens ${formatCsvTime(klines[3]!.openTime)}`),
    );
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await partials(folder)).toEqual([]);
  });

  it('refuses to replace its own layout with a line it cannot read back, wherever the line is', async () => {
    const folder = await mkdtemp(join(directory, 'unreadable-'));
    const path = join(folder, 'BTCUSDT_1h.csv');
    await writeKlinesCsv(path, klines.slice(0, 100));
    const damaged = (await readFile(path, 'utf8')).replace(/\n[^\n]*\n$/, '\nnot,a,candle\n');
    await writeFile(path, damaged);
    const error = await writeKlinesCsv(path, klines).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('TARGET_NOT_OURS');
    expect(String(error)).toMatch(/cannot be read back as klines \(.*line 101/);
    expect(await readFile(path, 'utf8')).toBe(damaged);
    expect(await partials(folder)).toEqual([]);
  });

  it('refuses a symbolic link in place of the file, and leaves the link and its file', async () => {
    const folder = await mkdtemp(join(directory, 'link-'));
    const real = join(folder, 'real.csv');
    await writeKlinesCsv(real, klines.slice(0, 10));
    await symlink(real, join(folder, 'latest.csv'));
    await expect(writeKlinesCsv(join(folder, 'latest.csv'), klines)).rejects.toThrow(/is a symbolic link/);
    expect((await lstat(join(folder, 'latest.csv'))).isSymbolicLink()).toBe(true);
    expect(await readKlinesCsv(real)).toEqual(klines.slice(0, 10));
  });

  it('creates a missing folder for the file, as a run creates its --out folder', async () => {
    const folder = await mkdtemp(join(directory, 'missing-'));
    expect(await writeKlinesCsv(join(folder, 'a', 'b', 'out.csv'), klines.slice(0, 5))).toBe(5);
  });

  it('writes the labels file through the same rename', async () => {
    const folder = await mkdtemp(join(directory, 'labels-'));
    const path = join(folder, 'labels.csv');
    await writeLabelsCsv(path, labels);
    expect((await readFile(path, 'utf8')).split('\n')[0]).toMatch(/^kind,/);
    expect(await readdir(folder)).toEqual(['labels.csv']);
    // Its own file is replaced; a file of the user's is not, unless told.
    await writeLabelsCsv(path, labels.slice(0, 1));
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(2);
    const mine = join(folder, 'notes.csv');
    await writeFile(mine, 'my,own\n1,2\n');
    const refused = await writeLabelsCsv(mine, labels).catch((error: unknown) => error);
    expect(isDataError(refused) && refused.code).toBe('TARGET_NOT_OURS');
    expect((refused as Error).message).toMatch(/notes.csv already exists and is not a labels file/);
    expect(await readFile(mine, 'utf8')).toBe('my,own\n1,2\n');
    await writeLabelsCsv(mine, labels, { overwrite: true });
    expect((await readFile(mine, 'utf8')).split('\n')[0]).toMatch(/^kind,/);
  });
});
