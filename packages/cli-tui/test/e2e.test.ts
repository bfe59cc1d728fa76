import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KlineStore, sampleSource, writeKlinesCsv } from '@crypto-anomaly/data';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The built binary as a child process, not a terminal (pipes) and with CI set: the plain logger.
 * A small sample market (1,500 candles) and one or two epochs keep each run to a few seconds.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
let work: string;
let smallSample: string;

function cli(...args: string[]) {
  return cliIn(work, ...args);
}

function cliIn(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd, timeout: 120_000 });
}

/** Every file under `dir`, '/'-separated and sorted. */
function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** A run's folder is one set: the marker's run id is the summary's, and it lists exactly the files there. */
function expectOneSet(dir: string): { runId: string; files: string[]; partial: boolean } {
  const marker = readJson(join(dir, '.crypto-anomaly.json'));
  const summary = readJson(join(dir, 'summary.json'));
  expect(summary.runId).toBe(marker.runId);
  expect(filesIn(dir).filter((file) => file !== '.crypto-anomaly.json')).toEqual(marker.files);
  if (existsSync(join(dir, 'model'))) {
    expect(readJson(join(dir, 'model', '.crypto-anomaly.json')).runId).toBe(marker.runId);
  }
  return marker;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cli-e2e-'));
  smallSample = join(work, 'small.json');
  writeFileSync(
    smallSample,
    JSON.stringify({ sample: { count: 1500 }, pipeline: { attention: { epochs: 1 } } }),
  );
});

const noControlCharacters = (text: string) => !text.includes('\u001b') && !text.includes('\r');

describe('crypto-anomaly run (non-TTY)', () => {
  let result: ReturnType<typeof cli>;
  let out: string;
  beforeAll(() => {
    out = join(work, 'run');
    result = cli('run', '--config', smallSample, '--epochs', '2', '--out', out);
  });

  it('exits 0 and writes the outputs: CSVs, summary, charts, model', () => {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const files = readdirSync(out);
    for (const name of [
      'summary.json',
      'anomalies_consensus.csv',
      'anomalies_isolation_forest.csv',
      'model',
    ]) {
      expect(files).toContain(name);
    }
    expect(files.some((name) => name.endsWith('.png'))).toBe(true);
    expect(existsSync(join(out, 'model', 'pipeline.json'))).toBe(true);
    expect(files.some((name) => name.includes('partial') || name.endsWith('.tmp'))).toBe(false);
  });

  it('says the sample is the default source and logs one plain line per stage and per epoch', () => {
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/bundled sample market \(the default source/);
    for (const stage of [
      'load',
      'features',
      'preprocess',
      'isolation-forest',
      'autoencoder',
      'attention',
      'consensus',
      'outputs',
      'charts',
    ]) {
      expect(lines.filter((line) => line.startsWith(`stage ${stage} `))).toHaveLength(1);
    }
    expect(
      lines.filter((line) => /^autoencoder epoch \d+\/2: loss /.test(line)).length,
    ).toBeGreaterThanOrEqual(1);
    expect(lines.filter((line) => /^attention epoch 1\/1: loss /.test(line))).toHaveLength(1);
    expect(lines.some((line) => /^stage charts done/.test(line))).toBe(true);
    expect(noControlCharacters(result.stdout)).toBe(true);
  });

  it('ends with the final table and the files', () => {
    expect(result.stdout).toMatch(/Top anomalies \(\* = over the threshold\)\ntime \(UTC\)/);
    expect(result.stdout).toMatch(/\nconsensus \(threshold [\d.]+\)\n {2}\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    expect(result.stdout).toMatch(new RegExp(`Files in ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n {2}`));
    expect(result.stdout).toMatch(/\nFinished in [\d.]+(ms|s)\.\n$/);
  });

  it('report prints the run summary (exit 0)', () => {
    const report = cli('report', out);
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(/^Summary of .*summary\.json\n/);
    expect(report.stdout.split('\n').length).toBeGreaterThan(5);
  });
});

describe('crypto-anomaly train and detect (non-TTY)', () => {
  it('trains on the older candles, then scores the newer ones with the saved model', async () => {
    const model = join(work, 'model');
    const train = cli(
      'train',
      '--config',
      smallSample,
      '--epochs',
      '1',
      '--until',
      '2024-02-20',
      '--out',
      model,
    );
    expect(train.stderr).toBe('');
    expect(train.status).toBe(0);
    expect(existsSync(join(model, 'pipeline.json'))).toBe(true);
    expect(train.stdout).toMatch(/Model saved to /);
    const detected = join(work, 'detected');
    const detect = cli(
      'detect',
      '--model',
      model,
      '--source',
      'sample',
      '--config',
      smallSample,
      '--since',
      '2024-02-20',
      '--out',
      detected,
      '--no-charts',
    );
    expect(detect.stderr).not.toMatch(/error/i);
    expect(detect.status).toBe(0);
    expect(detect.stdout).toMatch(/scoring with the saved model/);
    expect(existsSync(join(detected, 'anomalies_consensus.csv'))).toBe(true);

    // Another pair's file: its name gives the pair and interval, the model is used with a warning.
    const ethFile = join(work, 'ETHUSDT-1h.csv');
    await writeKlinesCsv(
      ethFile,
      sampleSource({ count: 600 }).market({ symbol: 'ETHUSDT', interval: '1h' }).klines,
    );
    const eth = cli(
      'detect',
      '--model',
      model,
      '--input',
      ethFile,
      '--out',
      join(work, 'detected-eth'),
      '--no-charts',
    );
    expect(eth.status, eth.stderr).toBe(0);
    expect(eth.stderr).toMatch(/warning: the model was trained on SAMPLE, not ETHUSDT/);
    expect(eth.stderr).toContain(
      `hint: train one on the file with crypto-anomaly train --input ${ethFile} --out DIR`,
    );
    expect(JSON.parse(readFileSync(join(work, 'detected-eth', 'summary.json'), 'utf8')).symbol).toBe(
      'ETHUSDT',
    );
    // Said once: the engine's warning of the same mismatch is not repeated in the progress lines.
    expect(`${eth.stdout}${eth.stderr}`.match(/trained on SAMPLE, not ETHUSDT/g)).toHaveLength(1);

    // Another interval too (the engine refuses it unless asked): used with a warning.
    const fourHours = join(work, 'SAMPLE-4h.csv');
    await writeKlinesCsv(fourHours, sampleSource({ count: 300 }).market({ interval: '4h' }).klines);
    const slower = cli(
      'detect',
      '--model',
      model,
      '--input',
      fourHours,
      '--out',
      join(work, 'detected-4h'),
      '--no-charts',
    );
    expect(slower.status, slower.stderr).toBe(0);
    expect(slower.stderr).toMatch(/warning: the model was trained on 1h candles, not 4h/);
    const summary = JSON.parse(readFileSync(join(work, 'detected-4h', 'summary.json'), 'utf8'));
    expect(summary.interval).toBe('4h');
    expect(summary.rows).toMatchObject({ train: 0, validation: 0 });
  });
});

describe('crypto-anomaly score (non-TTY)', () => {
  it('streams a numeric CSV through the isolation forest and appends score and is_anomaly', () => {
    const input = join(work, 'points.csv');
    const rows = ['id,x,y,label'];
    for (let i = 0; i < 3000; i++) {
      const outlier = i % 500 === 250;
      rows.push(
        `p${i},${outlier ? 40 : Math.sin(i) * 3},${outlier ? -40 : Math.cos(i * 1.3) * 2},${outlier ? 1 : 0}`,
      );
    }
    writeFileSync(input, `${rows.join('\n')}\n`);
    const output = join(work, 'scored.csv');
    const result = cli(
      'score',
      '--detector',
      'iforest',
      '--input',
      input,
      '--exclude',
      'label',
      '--contamination',
      '0.01',
      '--out',
      output,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/left out non-numeric columns: id/);
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('id,x,y,label,score,is_anomaly');
    expect(lines).toHaveLength(3001);
    const flagged = lines.slice(1).filter((line) => line.endsWith(',1'));
    // 1% contamination of 3,000 rows: about 30 flagged, the 6 planted outliers among them.
    expect(flagged.length).toBeGreaterThanOrEqual(20);
    expect(flagged.length).toBeLessThanOrEqual(40);
    expect(flagged.filter((line) => line.split(',')[3] === '1')).toHaveLength(6);
  });
});

describe('exit codes', () => {
  it('exits 2 on a bad flag value, naming the flag and showing the usage line', () => {
    const result = cli('run', '--epochs', 'zero');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/option '--epochs <n>' argument 'zero' is invalid/);
    expect(result.stderr).toMatch(/usage: crypto-anomaly run \[options\]/);
  });

  it('exits 2 when flags contradict, naming the flag', () => {
    const result = cli('run', '--source', 'csv');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^error: --input is required with --source csv\n\(usage: crypto-anomaly run/,
    );
  });

  it('exits 2 on a config file with a wrong key, naming its path', () => {
    const config = join(work, 'bad.json');
    writeFileSync(config, JSON.stringify({ pipeline: { isolationForest: { nEstimators: -5 } } }));
    const result = cli('run', '--config', config);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/pipeline\.isolationForest\.nEstimators/);
  });

  it('exits 1 on a runtime failure with one line of cause and one of hint, the stack only with --verbose', () => {
    const missing = join(work, 'missing.csv');
    const result = cli('run', '--source', 'csv', '--input', missing, '--out', join(work, 'never'));
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^error: .*missing\.csv/);
    expect(lines[1]).toMatch(/^hint: /);
    const verbose = cli(
      'run',
      '--source',
      'csv',
      '--input',
      missing,
      '--out',
      join(work, 'never'),
      '--verbose',
    );
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('a missing or empty store says which fetch command fills it, and a missing one is not created', async () => {
    const storePath = join(work, 'empty.duckdb');
    const run = () =>
      cli(
        'run',
        '--source',
        'store',
        '--store',
        storePath,
        '--symbol',
        'ETHUSDT',
        '--since',
        '2024-03-01',
        '--no-tui',
        '--out',
        join(work, 'never'),
      );
    const missing = run();
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([
      `error: no kline store at ${storePath}: nothing to load, and none was created`,
      `hint: fetch the candles first: crypto-anomaly fetch --symbol ETHUSDT --interval 1h --since 2024-03-01 --store ${storePath} (or check --store)`,
    ]);
    expect(existsSync(storePath)).toBe(false);
    const store = await KlineStore.open(storePath);
    await store.close();
    const result = run();
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^error: .*has no ETHUSDT 1h candles in the requested range/);
    expect(lines[1]).toBe(
      'hint: fetch them first: crypto-anomaly fetch --symbol ETHUSDT --interval 1h --since 2024-03-01 (or widen --since/--until)',
    );
  });
});

describe('stopping', () => {
  it('SIGINT after the forest finished keeps it: a complete set marked partial, exit non-zero, saying so', async () => {
    const out = join(work, 'stopped');
    const child: ChildProcess = spawn(
      process.execPath,
      [bin, 'run', '--config', smallSample, '--epochs', '50', '--out', out],
      {
        env,
        cwd: work,
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk) => {
        stdout += chunk;
        if (/autoencoder epoch 1\//.test(stdout)) resolve();
      });
    });
    child.kill('SIGINT');
    const code = await exit;
    expect(code).not.toBe(0);
    expect(code).not.toBe(null);
    expect(stderr).toMatch(/^error: stopped before the end/);
    expect(stdout).toMatch(
      /Stopped early: kept a partial run in .*stopped.*not trained: autoencoder, attention/,
    );
    const set = expectOneSet(out);
    expect(set.partial).toBe(true);
    expect(readJson(join(out, 'summary.json'))).toMatchObject({
      partial: true,
      missingDetectors: ['autoencoder', 'attention'],
    });
    expect(set.files).toContain('anomalies_isolation_forest.csv');
    expect(set.files).not.toContain('anomalies_autoencoder.csv');
    expect(readdirSync(work).filter((name) => name.startsWith('.stopped.'))).toEqual([]);
    const report = cli('report', out);
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(/partial run: stopped before autoencoder, attention finished/);
  });
});

describe('q in the dashboard (a real terminal, tmux)', () => {
  const hasTmux = spawnSync('tmux', ['-V']).status === 0;
  const socket = `cli-e2e-q-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

  it.skipIf(!hasTmux)(
    hasTmux
      ? 'q after the forest finished keeps it as a partial run, says so and exits 1'
      : 'SKIPPED: tmux is not installed (apt-get install tmux to run the real-terminal test)',
    async () => {
      const out = join(work, 'quit');
      // Training long enough to be seen and stopped: no early stop, 50 epochs of each autoencoder
      // (the dashboard no longer slows training, and a run on the small sample ended before the
      // screen was read).
      const slow = join(work, 'slow.json');
      writeFileSync(
        slow,
        JSON.stringify({
          sample: { count: 3000 },
          pipeline: { autoencoder: { patience: 50 }, attention: { patience: 50 } },
        }),
      );
      const command = [
        'env -i',
        `PATH=${JSON.stringify(process.env['PATH'] ?? '/usr/bin:/bin')}`,
        `HOME=${JSON.stringify(process.env['HOME'] ?? work)}`,
        'TERM=xterm-256color',
        JSON.stringify(process.execPath),
        JSON.stringify(bin),
        `run --config ${JSON.stringify(slow)} --epochs 50 --out ${JSON.stringify(out)}`,
        '; echo "EXIT=$?"; sleep 120',
      ].join(' ');
      try {
        expect(tmux('new-session', '-d', '-s', 'q', '-x', '100', '-y', '30', command).status).toBe(0);
        const screen = () => tmux('capture-pane', '-p', '-t', 'q').stdout;
        const waitFor = async (predicate: (text: string) => boolean) => {
          for (let tries = 0; tries < 400 && !predicate(screen()); tries++) {
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
          return screen();
        };
        expect(await waitFor((text) => /epoch \d+\/50/.test(text))).toMatch(/epoch \d+\/50/);
        tmux('send-keys', '-t', 'q', 'q');
        const end = await waitFor((text) => /EXIT=\d+/.test(text));
        expect(end).toMatch(/EXIT=1/);
        expect(end.replace(/\s+/g, ' ')).toMatch(/kept a partial run/);
        expect(readJson(join(out, 'summary.json'))).toMatchObject({ partial: true });
        expect(expectOneSet(out).files).toContain('anomalies_isolation_forest.csv');
      } finally {
        tmux('kill-server');
      }
    },
    150_000,
  );
});

describe('folders the program did not write', () => {
  let input: string;
  beforeAll(async () => {
    input = join(work, 'in.csv');
    await writeKlinesCsv(input, sampleSource({ count: 600 }).market().klines);
  });

  it('train --out . beside the input CSV refuses (exit 2) before training and deletes nothing', () => {
    const folder = join(work, 'here');
    mkdirSync(folder);
    const csv = readFileSync(input, 'utf8');
    writeFileSync(join(folder, 'in.csv'), csv);
    const result = cliIn(
      folder,
      'train',
      '--source',
      'csv',
      '--input',
      'in.csv',
      '--epochs',
      '1',
      '--out',
      '.',
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^error: --out: .*here is not empty \(in\.csv\) and was not written by crypto-anomaly/,
    );
    expect(result.stderr).toMatch(/choose a new or empty folder/);
    expect(result.stdout).not.toMatch(/stage /);
    expect(readdirSync(folder)).toEqual(['in.csv']);
    expect(readFileSync(join(folder, 'in.csv'), 'utf8')).toBe(csv);
    expect(readdirSync(work).filter((name) => name.startsWith('.here'))).toEqual([]);
  });

  it('refuses --out of run on a folder with a user file, and an output folder that cannot be created, before training', () => {
    const folder = join(work, 'mine');
    mkdirSync(folder);
    writeFileSync(join(folder, 'notes.txt'), 'keep me');
    const refused = cli('run', '--config', smallSample, '--epochs', '1', '--out', folder);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^error: --out: .*notes\.txt/);
    expect(readFileSync(join(folder, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(readdirSync(folder)).toEqual(['notes.txt']);
    for (const args of [
      ['run', '--out', '/proc/nope'],
      ['train', '--out', '/proc/nope'],
    ]) {
      const result = cli(...args, '--config', smallSample, '--epochs', '1');
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^error: --out: Cannot create \/proc\/nope/);
      expect(result.stdout).not.toMatch(/stage /);
    }
  });

  it('train --out d --outputs d (or one inside the other) is a usage error; the default <outputs>/model is fine', () => {
    const d = join(work, 'both');
    for (const [model, outputs] of [
      [d, d],
      [join(d, 'sub', 'model'), d],
      [d, join(d, 'runs')],
    ]) {
      const result = cli(
        'train',
        '--config',
        smallSample,
        '--epochs',
        '1',
        '--out',
        model!,
        '--outputs',
        outputs!,
      );
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^error: --outputs: .* overlaps --out/);
      expect(existsSync(d)).toBe(false);
    }
    const nested = cli(
      'train',
      '--config',
      smallSample,
      '--epochs',
      '1',
      '--no-charts',
      '--out',
      join(d, 'model'),
      '--outputs',
      d,
    );
    expect(nested.stderr).toBe('');
    expect(nested.status).toBe(0);
    expectOneSet(d);
  });

  it('detect refuses --out that holds the --model it reads', () => {
    const result = cli(
      'detect',
      '--model',
      join(work, 'run', 'model'),
      '--source',
      'sample',
      '--out',
      join(work, 'run'),
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: --out: .*would replace the model/);
    expect(existsSync(join(work, 'run', 'model', 'pipeline.json'))).toBe(true);
  });
});

describe('a run is one consistent set of files', () => {
  it('a second run into the same folder swaps the whole set in; report checks it', () => {
    const out = join(work, 'twice');
    const first = cli('run', '--config', smallSample, '--epochs', '1', '--out', out);
    expect(first.status).toBe(0);
    const before = expectOneSet(out);
    expect(before.files.some((file) => file.endsWith('.png'))).toBe(true);
    const second = cli('run', '--config', smallSample, '--epochs', '1', '--no-charts', '--out', out);
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    const after = expectOneSet(out);
    expect(after.runId).not.toBe(before.runId);
    // The first run's charts went with its set.
    expect(after.files.some((file) => file.endsWith('.png'))).toBe(false);
    expect(readdirSync(work).filter((name) => name.startsWith('.twice.'))).toEqual([]);
    expect(cli('report', out).status).toBe(0);

    // A mixed folder: report says so instead of describing a run that is not there.
    const summaryPath = join(out, 'summary.json');
    const summary = readJson(summaryPath);
    writeFileSync(summaryPath, JSON.stringify({ ...summary, runId: before.runId }));
    const mixed = cli('report', out);
    expect(mixed.status).toBe(1);
    expect(mixed.stderr).toMatch(
      /^error: .*summary\.json is from run .* but the folder's files are from run /,
    );
    writeFileSync(summaryPath, JSON.stringify(summary));
    rmSync(join(out, 'anomalies_consensus.csv'));
    const missing = cli('report', out);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*incomplete: anomalies_consensus\.csv is missing/);
  });

  it('SIGKILL during the output stage leaves the previous set or the new one, never a mix', async () => {
    const out = join(work, 'killed');
    expect(cli('run', '--config', smallSample, '--epochs', '1', '--no-charts', '--out', out).status).toBe(0);
    const before = expectOneSet(out);
    const child = spawn(
      process.execPath,
      [bin, 'run', '--config', smallSample, '--epochs', '1', '--out', out],
      {
        env,
        cwd: work,
      },
    );
    let stdout = '';
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk) => {
        stdout += chunk;
        if (/stage consensus done/.test(stdout)) resolve();
      });
    });
    child.kill('SIGKILL');
    await exit;
    if (existsSync(out)) {
      const after = expectOneSet(out);
      expect(after.runId === before.runId || after.files.some((file) => file.endsWith('.png'))).toBe(true);
    }
    // Whatever the moment, the next run repairs what the killed one left and writes a whole set.
    const next = cli('run', '--config', smallSample, '--epochs', '1', '--no-charts', '--out', out);
    expect(next.stderr).toBe('');
    expect(next.status).toBe(0);
    expectOneSet(out);
    expect(readdirSync(work).filter((name) => name.startsWith('.killed.'))).toEqual([]);
  });
});
