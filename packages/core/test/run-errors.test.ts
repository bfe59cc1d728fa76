import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDataError, sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoreError, runPipeline } from '../src/index.js';

/**
 * Which errors the pipeline's entry points reject with, as the README states them: CoreErrors for
 * the engine's own refusals, the source's errors unchanged (a DataError from the data package's
 * sources keeps its code and `until`, and the CLI's advice per code), the signal's reason on abort.
 */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'core-run-errors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runPipeline rejects with', () => {
  it("the source's DataError unchanged, e.g. a symbol the source refuses", async () => {
    const outDir = join(dir, 'lower-case');
    const error = await runPipeline({
      source: sampleSource({ count: 300 }),
      symbol: 'btcusdt',
      interval: '1h',
      outDir,
    }).catch((caught: unknown) => caught);
    expect(isCoreError(error)).toBe(false);
    expect(isDataError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/symbol/);
    expect(existsSync(outDir)).toBe(false);
  });

  it("the signal's reason when aborted: an AbortError DOMException by default", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await runPipeline({
      source: sampleSource({ count: 300 }),
      symbol: 'BTCUSDT',
      interval: '1h',
      outDir: join(dir, 'aborted'),
      signal: controller.signal,
    }).catch((caught: unknown) => caught);
    expect(error).toBe(controller.signal.reason);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
  });
});
