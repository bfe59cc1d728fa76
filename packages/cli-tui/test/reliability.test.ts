import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleMarket, klinesToCsv } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The built binary against a table of bad inputs: files, flags, model folders, servers and
 * targets. Each row runs in a folder of its own whose files are hashed before and after: the row
 * asserts the exit code, a message on stderr that names the problem, and that no file that was
 * there before changed or went away. Then stops by real signals at each stage, and a stdout
 * closed by its reader. Training, where a row reaches it, is tiny (600 candles, 1 epoch).
 *
 * RELIABILITY_BIN runs the table against another build (e.g. an older main's dist/bin.js).
 */
const bin = process.env['RELIABILITY_BIN'] ?? fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let root: string;

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function environment(cwd: string): NodeJS.ProcessEnv {
  // A store of the folder's own, so no row reads or writes ~/.crypto-anomaly.
  return { ...process.env, CI: 'true', NO_COLOR: '1', CRYPTO_ANOMALY_STORE: join(cwd, 'store.duckdb') };
}

function start(args: readonly string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd, env: environment(cwd) });
}

/** Runs the binary to its end (asynchronously: the fake servers live in this process). */
function cli(args: readonly string[], cwd: string): Promise<Result> {
  const child = start(args, cwd);
  return collect(child);
}

function collect(child: ChildProcess): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
}

/** sha256 of every file under `dir`, by path relative to it. */
function hashTree(dir: string): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    hashes.set(relative(dir, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
  }
  return hashes;
}

/** Temporary files a write in progress leaves: atomic writes must never leave them behind. */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => /\.tmp$|\.partial$|\.tmp\/|\.old$/.test(name));
}

// ---------------------------------------------------------------------------------------------
// Inputs

const HEADER =
  'open_time,open,high,low,close,volume,close_time,quote_asset_volume,number_of_trades,taker_buy_base_asset_volume,taker_buy_quote_asset_volume,ignore';

/** 600 clean hourly candles from the sample market as CSV lines, the header first (line 1). */
function csvLines(interval: '1h' | '4h' = '1h'): string[] {
  return klinesToCsv(generateSampleMarket({ count: 600, interval }).klines)
    .trim()
    .split('\n');
}

/** Replaces fields of one line (0-based index in `lines`; line number = index + 1). */
function withFields(lines: string[], index: number, change: (fields: string[]) => void): string[] {
  const copy = [...lines];
  const fields = copy[index]!.split(',');
  change(fields);
  copy[index] = fields.join(',');
  return copy;
}

// Export layout: open_time_utc, open_time, open, high, low, close, volume, ...
const OPEN = 2;
const HIGH = 3;
const LOW = 4;
const CLOSE = 5;
const VOLUME = 6;

const text = (lines: string[]) => `${lines.join('\n')}\n`;

function badCsvFiles(): Record<string, string> {
  const lines = csvLines();
  const duplicate = [...lines];
  duplicate.splice(201, 0, withFields(lines, 200, (f) => (f[CLOSE] = String(Number(f[CLOSE]) + 1)))[200]!);
  return {
    'empty.csv': '',
    'header-only.csv': `${HEADER}\n`,
    'high-below-low.csv': text(
      withFields(lines, 300, (f) => {
        [f[HIGH], f[LOW]] = [f[LOW]!, f[HIGH]!];
      }),
    ),
    'close-outside.csv': text(withFields(lines, 400, (f) => (f[CLOSE] = String(Number(f[HIGH]) * 1.5)))),
    'duplicate-times.csv': text(duplicate),
    'four-hour.csv': text(csvLines('4h')),
    'gap.csv': text(lines.filter((_, index) => index < 300 || index > 305)),
    'nan-field.csv': text(withFields(lines, 100, (f) => (f[CLOSE] = 'NaN'))),
    'garbage.csv': text(
      lines.map((line, index) => (index === 50 ? 'hello world this is not a candle' : line)),
    ),
    'open-quote.csv': text(
      lines.map((line, index) => (index === 50 ? 'hello, "this is not a candle' : line)),
    ),
    'open-negative.csv': text(withFields(lines, 120, (f) => (f[OPEN] = '-5'))),
    'volume-text.csv': text(withFields(lines, 130, (f) => (f[VOLUME] = 'lots'))),
  };
}

/** The settings of every row that might train: tiny, and two detectors (one with weights.bin). */
const TINY = JSON.stringify({
  sample: { count: 600 },
  pipeline: {
    detectors: ['isolation-forest', 'autoencoder'],
    isolationForest: { nEstimators: 20 },
    autoencoder: { epochs: 1 },
  },
});

/** A model folder trained once, copied into the rows that damage it. */
let model: string;

/** Fake Binance REST stand-ins on 127.0.0.1. */
const servers: Record<'500' | 'bad-json' | 'slow', { server: Server; url: string }> = {} as never;

function fakeBinance(answer: (response: import('node:http').ServerResponse) => void) {
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/api/v3/time')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ serverTime: Date.now() }));
      return;
    }
    answer(response);
  });
  return new Promise<{ server: Server; url: string }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cli-reliability-'));
  writeFileSync(join(root, 'tiny.json'), TINY);
  model = join(root, 'model');
  const trained = await cli(['train', '--config', join(root, 'tiny.json'), '--out', model], root);
  expect(trained.stderr).toBe('');
  expect(trained.status).toBe(0);
  servers['500'] = await fakeBinance((response) => {
    response.writeHead(500, { 'content-type': 'text/html' });
    response.end('<html><body>Internal Server Error</body></html>');
  });
  servers['bad-json'] = await fakeBinance((response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('[[1704067200000,"42000.00000000","42');
  });
  // Never answers: a fetch in progress, for the signal rows.
  servers.slow = await fakeBinance(() => {});
});

afterAll(async () => {
  for (const { server } of Object.values(servers)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  rmSync(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The table

interface Row {
  name: string;
  /** Files the folder holds before the run (paths relative to it). */
  files?: Record<string, string>;
  /** More preparation, e.g. a damaged copy of the trained model. */
  setup?: (dir: string) => void;
  args: (dir: string) => string[];
  exit: number;
  /** What stderr must say: it names the problem (a file, a line, a flag). */
  message: RegExp;
  /** What stderr must not say (e.g. advice about an option that does not exist). */
  notMessage?: RegExp;
}

const tiny = (dir: string) => ['--config', join(dir, 'tiny.json')];
const runCsv = (file: string) => (dir: string) => [
  'run',
  '--input',
  file,
  '--out',
  'out',
  '--no-charts',
  ...tiny(dir),
];
const detect = (dir: string) => [
  'detect',
  '--model',
  'model',
  '--source',
  'sample',
  '--out',
  'out',
  '--no-charts',
  ...tiny(dir),
];
/** The trained model copied in, then damaged by `damage`. */
const damagedModel = (damage: (modelDir: string) => void) => (dir: string) => {
  cpSync(model, join(dir, 'model'), { recursive: true });
  damage(join(dir, 'model'));
};
const editManifest =
  (edit: (manifest: { detectors: { folder: string }[] }) => void) => (modelDir: string) => {
    const path = join(modelDir, 'pipeline.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    edit(manifest);
    writeFileSync(path, JSON.stringify(manifest, null, 2));
  };
const binance = (server: keyof typeof servers) => () => [
  'run',
  '--source',
  'binance',
  '--since',
  '2024-01-01',
  '--until',
  '2024-01-03',
  '--base-url',
  servers[server].url,
  '--out',
  'out',
];

const rows: Row[] = [
  // Files that lie
  {
    name: 'an empty CSV says the file is empty',
    args: runCsv('empty.csv'),
    exit: 1,
    message: /empty\.csv is empty/,
    notMessage: /fetch them first/,
  },
  {
    name: 'a header-only CSV says it has no rows',
    args: runCsv('header-only.csv'),
    exit: 1,
    message: /header-only\.csv holds a header but no candle rows/,
    notMessage: /fetch them first/,
  },
  {
    name: 'high < low is named by line and time, not by a preprocessing stage',
    args: runCsv('high-below-low.csv'),
    exit: 1,
    message: /line 301 \(2024-01-13 11:00 UTC\): high [\d.]+ below low [\d.]+/,
    notMessage: /logFeatures|preprocess/,
  },
  {
    name: 'a close outside [low, high] is named by line',
    args: runCsv('close-outside.csv'),
    exit: 1,
    message: /line 401 \(.*\): close [\d.]+ outside \[low [\d.]+, high [\d.]+\]/,
  },
  {
    name: 'an open price at or below zero is named by line',
    args: runCsv('open-negative.csv'),
    exit: 1,
    message: /line 121 \(.*\): /,
  },
  {
    name: 'two lines with the same time and different values name both lines',
    args: runCsv('duplicate-times.csv'),
    exit: 1,
    message:
      /lines 201 and 202 both hold the candle opening at 2024-01-09T07:00:00\.000Z with different values \(close /,
  },
  {
    name: '4h candles run as 1h are refused, naming both spacings',
    args: runCsv('four-hour.csv'),
    exit: 1,
    message: /candles are 4h apart, but the interval is 1h/,
  },
  {
    name: 'missing candles are refused, naming where, unless allowed',
    args: runCsv('gap.csv'),
    exit: 1,
    message: /6 of 600 1h candles are missing: .*between line 300 \(2024-01-13 10:00 UTC\) and line 301/,
  },
  {
    name: 'a NaN field names its line and column, and the hint names no option that does not exist',
    args: runCsv('nan-field.csv'),
    exit: 1,
    message: /nan-field\.csv line 101: close is not a number: "NaN"/,
    notMessage: /--skip-malformed/,
  },
  {
    name: 'a word in a number column names its line',
    args: runCsv('volume-text.csv'),
    exit: 1,
    message: /volume-text\.csv line 131: volume is not a number: "lots"/,
  },
  {
    name: 'an unquoted garbage line names its line',
    args: runCsv('garbage.csv'),
    exit: 1,
    message: /garbage\.csv line 51: expected \d+ columns, got 1/,
    notMessage: /--skip-malformed/,
  },
  {
    name: 'a quote that is never closed names the line it opens on, not the end of the file',
    args: runCsv('open-quote.csv'),
    exit: 1,
    message: /open-quote\.csv line 51: a quote opened on this line is never closed/,
  },
  {
    name: 'a range the CSV does not cover says what the file holds, not to fetch',
    files: { 'BTCUSDT_1h.csv': text(csvLines()) },
    args: (dir) => [
      'run',
      '--input',
      'BTCUSDT_1h.csv',
      '--since',
      '2030-01-01',
      '--out',
      'out',
      ...tiny(dir),
    ],
    exit: 1,
    message:
      /BTCUSDT_1h\.csv .*holds candles from 2024-01-01 00:00 to 2024-01-25 23:00 UTC, none from 2030-01-01 00:00 to now UTC/,
    notMessage: /fetch them first/,
  },
  {
    name: 'a CSV that does not exist names it',
    args: runCsv('missing.csv'),
    exit: 1,
    message: /missing\.csv/,
  },

  // Flags
  {
    name: 'an 8-digit --since is refused, saying which numbers are read in which unit',
    args: () => ['run', '--since', '17040672', '--out', 'out'],
    exit: 2,
    message:
      /--since.*"17040672" is a number of 8 digits: a number is read as Unix seconds \(10 digits.*\) or Unix milliseconds \(13 digits/,
  },
  {
    name: 'a microsecond --until (16 digits) is refused',
    args: () => ['run', '--until', '1704067200000000', '--out', 'out'],
    exit: 2,
    message: /--until.*16 digits/,
  },
  {
    name: 'a date that does not exist is refused',
    args: () => ['run', '--since', '2024-02-31', '--out', 'out'],
    exit: 2,
    message: /--since.*"2024-02-31" is not a date/,
  },
  {
    name: 'an ambiguous number in the config file names the key',
    files: { 'since.json': JSON.stringify({ since: 1704067200123456 }) },
    args: () => ['run', '--config', 'since.json', '--out', 'out'],
    exit: 2,
    message: /--config \(since\): "1704067200123456" is a number of 16 digits/,
  },
  ...['0.5', '0', '-1', '0.7', 'lots'].map(
    (value): Row => ({
      name: `score --contamination ${value} is refused by the one rule (0, 0.5)`,
      files: { 'points.csv': 'x,y\n1,2\n3,4\n5,6\n' },
      args: () => [
        'score',
        '--detector',
        'iforest',
        '--input',
        'points.csv',
        '--out',
        'scored.csv',
        `--contamination=${value}`,
      ],
      exit: 2,
      message: /--contamination.*in \(0, 0\.5\)/,
    }),
  ),
  {
    name: 'a config contamination of 0.5 is refused where the file is read, naming the key',
    files: {
      'half.json': JSON.stringify({ pipeline: { threshold: { kind: 'contamination', contamination: 0.5 } } }),
    },
    args: () => ['run', '--config', 'half.json', '--out', 'out'],
    exit: 2,
    message: /pipeline\.threshold\.contamination: must be in \(0, 0\.5\)/,
  },
  {
    name: 'score --out equal to --input is refused and the input kept',
    files: { 'points.csv': 'x,y\n1,2\n3,4\n5,6\n' },
    args: () => ['score', '--detector', 'iforest', '--input', 'points.csv', '--out', './points.csv'],
    exit: 2,
    message: /--out \.\/points\.csv is the --input file/,
  },
  {
    name: 'an unknown score detector is named',
    files: { 'points.csv': 'x,y\n1,2\n3,4\n5,6\n' },
    args: () => ['score', '--detector', 'forest', '--input', 'points.csv', '--out', 'scored.csv'],
    exit: 2,
    message: /'forest'.*iforest/,
  },
  {
    name: 'an unknown pipeline detector in the config names the key',
    files: { 'forest.json': JSON.stringify({ pipeline: { detectors: ['forest'] } }) },
    args: () => ['run', '--config', 'forest.json', '--out', 'out'],
    exit: 2,
    message: /pipeline\.detectors\[0\]/,
  },

  // Model folders (validation by another engineer, code MODEL_INVALID)
  {
    name: 'a model folder without its manifest names pipeline.json',
    setup: damagedModel((dir) => rmSync(join(dir, 'pipeline.json'))),
    args: detect,
    exit: 1,
    message: /pipeline\.json/,
  },
  {
    name: 'a manifest with detectors: [] names the file and the key',
    setup: damagedModel(editManifest((manifest) => (manifest.detectors = []))),
    args: detect,
    exit: 1,
    message: /pipeline\.json.*detectors/,
  },
  {
    name: 'a detector folder of ../../other is refused, naming it',
    setup: damagedModel(editManifest((manifest) => (manifest.detectors[1]!.folder = '../../other'))),
    args: detect,
    exit: 1,
    message: /pipeline\.json.*\.\.\/\.\.\/other/,
  },
  {
    name: 'a truncated weights.bin names the file',
    // Half its bytes (the default dense autoencoder's weights are 25 numbers, 100 bytes).
    setup: damagedModel((dir) => {
      const weights = join(dir, 'autoencoder', 'weights.bin');
      truncateSync(weights, Math.floor(statSync(weights).size / 2));
    }),
    args: detect,
    exit: 1,
    message: /weights\.bin/,
  },

  // Servers (kept simple: retries with backoff, then a named failure)
  {
    name: 'a REST stand-in answering 500 is named after the retries',
    args: binance('500'),
    exit: 1,
    message: /HTTP 500; gave up after \d+ attempts/,
  },
  {
    name: 'a REST stand-in answering broken JSON is named after the retries',
    args: binance('bad-json'),
    exit: 1,
    message: /not valid JSON.*gave up after \d+ attempts/,
  },

  // Targets. Refusing a folder that holds the user's own files is another engineer's work
  // ("check the output folder before training"): until it lands this row fails, the run writing
  // its outputs over the user's summary.json.
  {
    name: 'run --out . in a folder with user files refuses (exit 2) and changes nothing',
    files: { 'notes.txt': 'my notes\n', 'summary.json': '{"mine": true}\n' },
    args: (dir) => ['run', '--out', '.', '--no-charts', ...tiny(dir)],
    exit: 2,
    message: /--out/,
  },
];

describe('reliability: bad inputs (exit code, a message naming the problem, no file changed)', () => {
  const files = badCsvFiles();
  it.each(rows)('$name', async (row) => {
    const dir = mkdtempSync(join(root, 'row-'));
    writeFileSync(join(dir, 'tiny.json'), TINY);
    for (const [name, content] of Object.entries({ ...files, ...row.files })) {
      writeFileSync(join(dir, name), content);
    }
    row.setup?.(dir);
    const before = hashTree(dir);
    const result = await cli(row.args(dir), dir);
    expect(result.stderr).toMatch(row.message);
    if (row.notMessage) expect(result.stderr).not.toMatch(row.notMessage);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
    expect(result.status).toBe(row.exit);
    const after = hashTree(dir);
    for (const [path, hash] of before) expect(after.get(path), `${path} changed or went away`).toBe(hash);
    expect(leftovers(dir)).toEqual([]);
  });

  it('--allow-gaps accepts the gaps a user knows about (and only with it)', async () => {
    const dir = mkdtempSync(join(root, 'row-'));
    writeFileSync(join(dir, 'tiny.json'), TINY);
    writeFileSync(join(dir, 'gap.csv'), files['gap.csv']!);
    const result = await cli([...runCsv('gap.csv')(dir), '--allow-gaps'], dir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(existsSync(join(dir, 'out', 'summary.json'))).toBe(true);
  });

  it('a 10-digit --since is read as Unix seconds, and the run says so', async () => {
    const dir = mkdtempSync(join(root, 'row-'));
    writeFileSync(join(dir, 'tiny.json'), TINY);
    const result = await cli(
      ['run', '--since', '1704067200', '--until', '2024-01-20', '--out', 'out', '--no-charts', ...tiny(dir)],
      dir,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--since 1704067200 is read as Unix seconds: 2024-01-01T00:00:00\.000Z/);
    const summary = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8'));
    // Hourly candles from 2024-01-01 (not 1970) to 2024-01-20: 19 days, less the feature warm-up.
    expect(summary.range.from.startsWith('2024-01-0')).toBe(true);
    expect(summary.rows.candles).toBe(19 * 24);
  });
});

// ---------------------------------------------------------------------------------------------
// Pipes and signals

/** Resolves when the child's stdout has printed a line matching `pattern` (rejects if it exits first). */
function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      seen += chunk;
      if (pattern.test(seen)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('close', (status) => reject(new Error(`exited (${status}) before ${pattern}:\n${seen}`)));
  });
}

/**
 * Stopped by `signal`, saying so on stderr: work that saw the stop exits 130 (SIGINT) or 143
 * (SIGTERM); work that could not (a read that never returns) ends by the signal itself, which
 * shells report as the same 130 / 143 and Node as the signal.
 */
function expectStoppedBy(
  signal: 'SIGINT' | 'SIGTERM',
  result: Omit<Result, 'stdout'>,
  how: 'exit code' | 'signal' = 'exit code',
): void {
  expect(result.stderr).toMatch(new RegExp(`stopped .*${signal}`));
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const ended = { status: result.status, signal: result.signal };
  if (how === 'signal') expect(ended).toEqual({ status: null, signal });
  else expect(ended).toEqual({ status: signal === 'SIGINT' ? 130 : 143, signal: null });
}

interface StopRow {
  stage: string;
  signal: 'SIGINT' | 'SIGTERM';
  files?: Record<string, string>;
  setup?: (dir: string) => void;
  args: (dir: string) => string[];
  /** The stdout line that says the stage is under way. */
  when: RegExp;
  /** Signals to send (a second one exits at once). Default 1. */
  times?: number;
  /** The work cannot see the stop (a blocked read): the process ends by the signal. */
  stuck?: true;
}

/** A FIFO as --input: reading it blocks until a writer comes, like a hung network file system. */
function fifo(dir: string, name: string): void {
  const made = spawnSync('mkfifo', [join(dir, name)]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
}

// Scoring with a forest runs on the main thread without a pause: a signal is seen when it ends,
// so the forest is large enough to be under way when the signal comes, and no larger.
const bigForest = JSON.stringify({
  sample: { count: 2000 },
  pipeline: { detectors: ['isolation-forest'], isolationForest: { nEstimators: 2000, maxSamples: 256 } },
});
const longTraining = JSON.stringify({
  sample: { count: 1500 },
  pipeline: { detectors: ['autoencoder'], autoencoder: { epochs: 500, patience: 500 } },
});
const forestOnly = JSON.stringify({
  sample: { count: 600 },
  pipeline: { detectors: ['isolation-forest'], isolationForest: { nEstimators: 20 } },
});

const stopRows: StopRow[] = [
  {
    stage: 'loading (a CSV whose read never returns)',
    signal: 'SIGTERM',
    stuck: true,
    setup: (dir) => fifo(dir, 'BTCUSDT_1h.csv'),
    args: () => ['run', '--input', 'BTCUSDT_1h.csv', '--out', 'out'],
    when: /^source: CSV file/m,
  },
  {
    stage: 'loading, with a second Ctrl+C',
    signal: 'SIGINT',
    times: 2,
    stuck: true,
    setup: (dir) => fifo(dir, 'BTCUSDT_1h.csv'),
    args: () => ['run', '--input', 'BTCUSDT_1h.csv', '--out', 'out'],
    when: /^source: CSV file/m,
  },
  {
    stage: 'features and preprocessing (right after loading)',
    signal: 'SIGINT',
    files: { 'forest.json': bigForest },
    args: () => ['run', '--config', 'forest.json', '--out', 'out'],
    when: /^stage load done/m,
  },
  {
    stage: 'forest training',
    signal: 'SIGTERM',
    files: { 'forest.json': bigForest },
    args: () => ['run', '--config', 'forest.json', '--out', 'out'],
    when: /^stage preprocess done/m,
  },
  {
    stage: 'autoencoder epochs',
    signal: 'SIGTERM',
    files: { 'long.json': longTraining },
    args: () => ['run', '--config', 'long.json', '--out', 'out'],
    when: /^autoencoder epoch 1\//m,
  },
  {
    stage: 'output writing',
    signal: 'SIGTERM',
    files: { 'forest.json': forestOnly },
    args: () => ['run', '--config', 'forest.json', '--out', 'out'],
    when: /^stage consensus done/m,
  },
  {
    stage: 'fetching (a server that never answers)',
    signal: 'SIGINT',
    args: () => [
      'run',
      '--source',
      'binance',
      '--since',
      '2024-01-01',
      '--base-url',
      servers.slow.url,
      '--out',
      'out',
    ],
    when: /^fetch: started/m,
  },
];

describe('reliability: SIGINT and SIGTERM stop every stage promptly (130 / 143, nothing half-written)', () => {
  it.each(stopRows)(
    '$signal during $stage',
    async (row) => {
      const dir = mkdtempSync(join(root, 'stop-'));
      for (const [name, content] of Object.entries(row.files ?? {})) writeFileSync(join(dir, name), content);
      row.setup?.(dir);
      const child = start(row.args(dir), dir);
      const result = collect(child);
      await waitForLine(child, row.when);
      child.kill(row.signal);
      if (row.times === 2) {
        // Two signals sent together arrive as one: the second comes a moment later.
        await new Promise((resolve) => setTimeout(resolve, 300));
        child.kill(row.signal);
      }
      // The test's timeout (generous, not an assertion on time) is the bound on "promptly".
      const stopped = await result;
      expectStoppedBy(row.signal, stopped, row.stuck ? 'signal' : 'exit code');
      if (row.times === 2) expect(stopped.stderr).toMatch(/then SIGINT: leaving at once/);
      expect(leftovers(dir)).toEqual([]);
    },
    30_000,
  );

  it('SIGTERM while the output folder cannot be made (--out under /proc) still stops', async () => {
    const dir = mkdtempSync(join(root, 'stop-'));
    writeFileSync(join(dir, 'forest.json'), forestOnly);
    const child = start(['run', '--config', 'forest.json', '--out', '/proc/nope/out'], dir);
    const result = collect(child);
    // Once the outputs are checked before training (another engineer's work), the run refuses
    // /proc/nope at once; until then it gets there after training and a recursive mkdir spins.
    const reached = await waitForLine(child, /^stage consensus done/m).then(
      () => true,
      () => false,
    );
    if (reached) child.kill('SIGTERM');
    const { status, signal, stderr } = await result;
    if (reached) {
      expectStoppedBy('SIGTERM', { status, signal, stderr }, 'signal');
    } else {
      expect(status).not.toBe(0);
      expect(stderr).toMatch(/\/proc\/nope/);
    }
  }, 30_000);
});

describe('reliability: a closed stdout never kills the work', () => {
  it('run | head -2: stops printing, finishes, writes the files, exits 0', async () => {
    const dir = mkdtempSync(join(root, 'pipe-'));
    writeFileSync(join(dir, 'forest.json'), forestOnly);
    const child = start(['run', '--config', 'forest.json', '--out', 'out'], dir);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    let lines = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      lines += chunk.toString().split('\n').length - 1;
      // What head -2 does: read two lines, then close its end of the pipe.
      if (lines >= 2) child.stdout!.destroy();
    });
    const status = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE/);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    for (const name of ['summary.json', 'anomalies_consensus.csv', 'SAMPLE_processed_data.csv']) {
      expect(existsSync(join(dir, 'out', name)), name).toBe(true);
    }
    expect(statSync(join(dir, 'out', 'model', 'pipeline.json')).size).toBeGreaterThan(0);
    expect(leftovers(dir)).toEqual([]);
  });

  it('report DIR | head: a reader gone before the first line, exit 0 and no stack trace', async () => {
    const dir = mkdtempSync(join(root, 'pipe-'));
    cpSync(model, join(dir, 'model'), { recursive: true });
    writeFileSync(join(dir, 'tiny.json'), TINY);
    const made = await cli(
      ['detect', '--model', 'model', '--source', 'sample', '--out', 'out', '--no-charts', ...tiny(dir)],
      dir,
    );
    expect(made.status).toBe(0);
    const child = start(['report', 'out', '--full'], dir);
    child.stdout!.destroy();
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const status = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
