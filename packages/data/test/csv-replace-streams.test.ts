import type { ReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSampleMarket, type Kline, readKlinesCsv, writeKlinesCsv } from '../src/index.js';

/** Every file stream the package opens, to see how far it has read a file. */
const opened = vi.hoisted((): { path: string; stream: ReadStream }[] => []);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const createReadStream = ((...args: Parameters<typeof fs.createReadStream>) => {
    const stream = fs.createReadStream(...args);
    opened.push({ path: String(args[0]), stream });
    return stream;
  }) as typeof fs.createReadStream;
  return { ...fs, createReadStream, default: { ...fs, createReadStream } };
});

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'csv-replace-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('writeKlinesCsv onto its own earlier export', () => {
  it('reads the file it replaces only as far as the export has come, a batch ahead at most', async () => {
    const klines = generateSampleMarket({ count: 60_000, interval: '1m', seed: 4 }).klines;
    const path = join(directory, 'BTCUSDT_1m.csv');
    await writeKlinesCsv(path, klines.slice(0, 50_000));
    const size = (await stat(path)).size;
    const bytesPerCandle = size / 50_000;
    /** How far the old file had been read past the candles the export had asked for, at each ask. */
    const ahead: number[] = [];
    async function* exported(): AsyncGenerator<Kline[]> {
      for (let at = 0; at < klines.length; at += 1000) {
        const reader = opened.find((o) => o.path === path);
        if (reader) ahead.push(reader.stream.bytesRead - at * bytesPerCandle);
        yield klines.slice(at, at + 1000);
      }
    }
    expect(await writeKlinesCsv(path, exported())).toBe(60_000);
    expect(await readKlinesCsv(path)).toEqual(klines);
    expect(ahead.length).toBeGreaterThan(40);
    // One batch (10,000 candles, about 1.7 MB) and the stream's buffers, not the 8.5 MB file.
    expect(Math.max(...ahead)).toBeLessThan(2_500_000);
    expect(size).toBeGreaterThan(6_000_000);
  });
});
