import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleMarket, INTERVALS, writeKlinesCsv } from '@crypto-anomaly/data';
import { describe, expect, it } from 'vitest';
import {
  configFileSchema,
  configSearchPaths,
  loadConfig,
  parseConfig,
  stripJsonComments,
} from '../src/config.js';
import { isCliError } from '../src/errors.js';
import { ExitCode, main } from '../src/index.js';
import { configDate, parse, parseDate, readDate } from '../src/options.js';
import { captureContext } from './capture.js';

function failure(run: () => unknown) {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('config file', () => {
  it('accepts every documented key', () => {
    const config = parseConfig({
      source: 'csv',
      input: 'klines.csv',
      symbol: 'ETHUSDT',
      interval: '1h',
      since: '2024-01-01',
      until: 1_700_000_000_000,
      out: 'runs/eth',
      epochs: 30,
      seed: 7,
      backend: 'wasm',
      tui: false,
      pipeline: {
        split: { train: 0.6, validation: 0.2 },
        threshold: { kind: 'pot', riskQuantile: 0.001, initialQuantile: 0.98 },
        detectors: ['isolation-forest', 'autoencoder'],
        isolationForest: { nEstimators: 100, extensionLevel: 1 },
        autoencoder: { epochs: 40, batchSize: 64, learningRate: 0.001, patience: 5 },
      },
      score: { detector: 'iforest', exclude: ['label'], contamination: 0.05 },
    });
    expect(config.pipeline?.autoencoder?.['batchSize']).toBe(64);
  });

  it("checks contamination with the engine's rule, (0, 0.5), naming the key", () => {
    for (const config of [
      { pipeline: { threshold: { kind: 'contamination', contamination: 0.5 } } },
      { score: { contamination: 0.5 } },
    ]) {
      expect((failure(() => parseConfig(config, 'c.json')) as Error).message).toMatch(
        /contamination: must be in \(0, 0\.5\)/,
      );
    }
    expect(parseConfig({ score: { contamination: 0.49 }, allowGaps: true })).toMatchObject({
      allowGaps: true,
    });
  });

  it('names the key path of a wrong value, what is accepted and the value given', () => {
    const error = failure(() => parseConfig({ pipeline: { split: { train: 2 } } }, 'my.json'));
    expect(isCliError(error) && error.code).toBe('USAGE');
    expect((error as Error).message).toBe(
      '--config my.json: pipeline.split.train: must be a number in (0, 1), e.g. 0.7, got 2',
    );
    expect(isCliError(error) && error.option).toBe('--config (pipeline.split.train)');
    expect((failure(() => parseConfig({ epochs: 'ten' })) as Error).message).toMatch(
      /: epochs: Invalid input: expected number, received string$/,
    );
  });

  it("checks the pipeline key with core's schema, so a file and a library call read alike", async () => {
    const core = await import('@crypto-anomaly/core');
    expect(configFileSchema.shape.pipeline.unwrap()).toBe(core.pipelineConfigSchema);
    // Ranges the engine checks are refused when the file is read, not when the run starts.
    const bad = {
      features: { rsiPeriod: 1 },
      threshold: { kind: 'pot', riskQuantile: 0.05, initialQuantile: 0.98 },
    };
    const parsed = core.pipelineConfigSchema.safeParse(bad, { reportInput: true });
    const engineLines = core.describeConfigIssues(core.pipelineConfigSchema, parsed.error!.issues, 'config');
    expect(engineLines).toEqual([
      'config.features.rsiPeriod: must be an integer in [2, 10000], got 1',
      expect.stringMatching(/^config\.threshold\.riskQuantile: must be below 1 - initialQuantile \(0\.02\)/),
    ]);
    expect((failure(() => parseConfig({ pipeline: bad }, 'c.json')) as Error).message).toBe(
      `--config c.json: ${engineLines.map((line) => line.replace(/^config\./, 'pipeline.')).join('; ')}`,
    );
  });

  it("calls the Isolation Forest 'isolation-forest' in score, reading 'iforest' as the same", () => {
    expect(parseConfig({ score: { detector: 'isolation-forest' } }).score?.detector).toBe('isolation-forest');
    expect(parseConfig({ score: { detector: 'iforest' } }).score?.detector).toBe('isolation-forest');
    expect(parseConfig({ score: { detector: 'consensus' } }).score?.detector).toBe('consensus');
    expect((failure(() => parseConfig({ score: { detector: 'forest' } })) as Error).message).toMatch(
      /score\.detector: .*"isolation-forest"\|"autoencoder"\|"attention"\|"consensus"\|"iforest", got "forest"/,
    );
  });

  it('names unknown keys, nested ones by their full path', () => {
    expect((failure(() => parseConfig({ epoch: 3 })) as Error).message).toMatch(/unknown key epoch/);
    expect(
      (failure(() => parseConfig({ pipeline: { isolationForest: { trees: 3 } } })) as Error).message,
    ).toMatch(/unknown key pipeline\.isolationForest\.trees \(the keys there are nEstimators, maxSamples,/);
    expect(
      (failure(() => parseConfig({ pipeline: { attention: { heads: 2, window: 8 } } })) as Error).message,
    ).toMatch(/unknown key pipeline\.attention\.window \(the keys there are windowSize, modelDim, heads,/);
    expect((failure(() => parseConfig({ pipeline: { detectors: ['forest'] } })) as Error).message).toMatch(
      /pipeline\.detectors\[0\]/,
    );
  });

  it('reads a file and reports missing files and bad JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-config-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ epochs: 5 }));
    await expect(loadConfig(good)).resolves.toEqual({ epochs: 5 });
    // A leading ~/ is the home folder, as in a shell.
    const tilde = join(dir, 'tilde.json');
    writeFileSync(tilde, JSON.stringify({ out: '~/ca-runs', store: 'data/~x.duckdb' }));
    await expect(loadConfig(tilde)).resolves.toEqual({
      out: join(homedir(), 'ca-runs'),
      store: 'data/~x.duckdb',
    });
    // Saved by an editor that writes a byte-order mark.
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, `\uFEFF${JSON.stringify({ epochs: 5 })}`);
    await expect(loadConfig(bom)).resolves.toEqual({ epochs: 5 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "epochs": ');
    await expect(loadConfig(bad)).rejects.toThrow(/bad\.json: is not valid JSON/);
    await expect(loadConfig(join(dir, 'none.json'))).rejects.toThrow(/none\.json: no such file/);
  });

  it('ships an example config that validates', async () => {
    const example = new URL('../examples/config.json', import.meta.url);
    await expect(loadConfig(example.pathname)).resolves.toMatchObject({ pipeline: expect.any(Object) });
  });
});

describe('config files with comments', () => {
  it('blanks // and /* */ comments outside strings, keeps strings whole and positions unchanged', () => {
    const text = [
      '// a comment',
      '{ "baseUrl": "https://example.com/a//b", /* block',
      ' still */ "symbol": "BTC/*USDT*/", // tail',
      '  "input": "x.csv" }',
    ].join('\n');
    const stripped = stripJsonComments(text);
    expect(stripped.length).toBe(text.length);
    expect(stripped.split('\n').length).toBe(text.split('\n').length);
    expect(JSON.parse(stripped)).toEqual({
      baseUrl: 'https://example.com/a//b',
      symbol: 'BTC/*USDT*/',
      input: 'x.csv',
    });
    // An escaped quote does not end a string.
    expect(JSON.parse(stripJsonComments('{"a": "say \\"//\\" here"} // c'))).toEqual({ a: 'say "//" here' });
  });

  it('loads a commented file and still names a JSON error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-comments-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, '// seed\n{ "seed": 7 /* the seed */ }\n');
    expect(await loadConfig(good)).toEqual({ seed: 7 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '// oops\n{ "seed": 7, }\n');
    await expect(loadConfig(bad)).rejects.toThrow(/is not valid JSON/);
  });

  it('is looked for in the working folder, then the XDG config folder (~/.config when unset or relative)', () => {
    expect(configSearchPaths('/work', { HOME: '/home/u', XDG_CONFIG_HOME: '/xdg' })).toEqual([
      '/work/crypto-anomaly.config.json',
      '/xdg/crypto-anomaly/config.json',
    ]);
    for (const xdg of [undefined, 'relative']) {
      expect(
        configSearchPaths('/work', { HOME: '/home/u', ...(xdg ? { XDG_CONFIG_HOME: xdg } : {}) })[1],
      ).toBe('/home/u/.config/crypto-anomaly/config.json');
    }
  });
});

describe('flag parsers', () => {
  it('parse dates as UTC', () => {
    expect(parseDate('2018-01-01')).toBe(Date.UTC(2018, 0, 1));
    expect(parseDate('2018-01-01T12:30')).toBe(Date.UTC(2018, 0, 1, 12, 30));
    expect(parseDate('2018-01-01T12:30+02:00')).toBe(Date.UTC(2018, 0, 1, 10, 30));
    expect(parseDate('1514764800000')).toBe(1514764800000);
    expect(parseDate('yesterday')).toBeUndefined();
    expect(parseDate('2018-13-45')).toBeUndefined();
    expect(parseDate('2024-02-31')).toBeUndefined();
    expect(parseDate('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
  });

  it('read a plain number by its length: 10 digits are seconds, 13 milliseconds, anything else is refused', () => {
    expect(readDate('1704067200')).toEqual({ time: Date.UTC(2024, 0, 1), unit: 'seconds' });
    expect(readDate(1704067200)).toEqual({ time: Date.UTC(2024, 0, 1), unit: 'seconds' });
    expect(readDate('1704067200000')).toEqual({ time: Date.UTC(2024, 0, 1), unit: 'milliseconds' });
    for (const ambiguous of ['17040672', '17040672000', '1704067200000000', '0']) {
      expect(() => parse.date(ambiguous)).toThrow(
        /is a number of \d+ digits: a number is read as Unix seconds \(10 digits.*\) or Unix milliseconds \(13 digits/,
      );
    }
    expect((failure(() => configDate('until', 1704067200000000)) as Error).message).toMatch(
      /^--config \(until\): "1704067200000000" is a number of 16 digits/,
    );
  });

  it('reject bad values with what is accepted', () => {
    expect(() => parse.positiveInteger('0')).toThrow(/whole number above 0/);
    expect(() => parse.positiveInteger('2.5')).toThrow(/whole number above 0/);
    expect(parse.positiveInteger('20')).toBe(20);
    expect(() => parse.interval('7h')).toThrow(/1m, 3m/);
    expect(parse.symbol('btcusdt')).toBe('BTCUSDT');
    for (const refused of ['0.9', '0.5', '0', '-1', '0x1', 'NaN']) {
      expect(() => parse.contamination(refused)).toThrow(/in \(0, 0\.5\)/);
    }
    expect(parse.contamination('0.05')).toBe(0.05);
    expect(parse.contamination('auto')).toBe('auto');
    expect(parse.list('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(() => parse.url('api.binance.com')).toThrow(/absolute URL/);
  });
});

describe('intervals', () => {
  it("are the data package's list", () => {
    expect(INTERVALS).toContain('1M');
    expect(parse.interval('1M')).toBe('1M');
    expect(() => parse.interval('2d')).toThrow(/Expected one of 1s, 1m/);
  });
});

describe('README', () => {
  it('shows a config file that validates', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const block = /```json\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(parseConfig(JSON.parse(block!))).toMatchObject({ pipeline: { detectors: expect.any(Array) } });
  });
});

describe('a config that names a source, and --input on the command line', () => {
  it('reads the --input file even when the config says "source": "sample" (init\'s starting config)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-config-source-'));
    const config = join(dir, 'crypto-anomaly.config.json');
    writeFileSync(config, JSON.stringify({ source: 'sample' }));
    await writeKlinesCsv(join(dir, 'ETHUSDT_1h.csv'), generateSampleMarket({ count: 400, seed: 5 }).klines);
    const io = captureContext();
    const code = await main(
      [
        'run',
        '--config',
        config,
        '--input',
        join(dir, 'ETHUSDT_1h.csv'),
        '--detectors',
        'iforest',
        '--no-charts',
        '--no-tui',
        '--out',
        join(dir, 'out'),
      ],
      io.context,
    );
    expect(code, io.stderr()).toBe(ExitCode.success);
    const summary = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8'));
    expect(summary.symbol).toBe('ETHUSDT');
    expect(summary.source).toMatch(/CSV file .*ETHUSDT_1h\.csv/);
  });
});
