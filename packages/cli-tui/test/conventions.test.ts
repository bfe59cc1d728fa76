import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
  DEFAULT_DENSE_AUTOENCODER_OPTIONS,
  DETECTOR_NAMES,
} from '@crypto-anomaly/core';
import { type Kline, KlineStore, sampleSource, writeKlinesCsv } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

/**
 * The command line's conventions for scripts, through the built binary: --json (one document on
 * stdout, people's lines on stderr), --version, NO_COLOR / --no-color, config discovery and init,
 * the XDG store, shell completion, --detectors, and help that states the engine's defaults.
 * HOME and the XDG folders point into a temporary folder, so the user's own files are never read.
 */
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
let work: string;
let home: string;
let env: NodeJS.ProcessEnv;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cliIn(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Result {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd,
    env: { ...env, ...extraEnv },
    timeout: 240_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Asynchronous, for commands that talk to a server in this process. */
function cliAsync(cwd: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** stdout as exactly one JSON document (JSON.parse refuses anything more or less). */
function oneDocument(result: Result): Record<string, unknown> {
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

let klines: Kline[];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cli-conventions-'));
  home = join(work, 'home');
  mkdirSync(home);
  const {
    CRYPTO_ANOMALY_STORE: _store,
    XDG_DATA_HOME: _data,
    XDG_CONFIG_HOME: _config,
    NO_COLOR: _noColor,
    FORCE_COLOR: _forceColor,
    ...rest
  } = process.env;
  env = { ...rest, HOME: home, CI: 'true' };
  writeFileSync(
    join(work, 'small.json'),
    JSON.stringify({ sample: { count: 1500 }, pipeline: { attention: { epochs: 1 } } }),
  );
  klines = await sampleSource({ count: 600, start: Date.UTC(2024, 0, 1) }).load({
    symbol: 'BTCUSDT',
    interval: '1h',
  });
  // A stand-in for Binance's REST API on 127.0.0.1: the klines endpoint and the server time.
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    response.writeHead(url.pathname.startsWith('/api/v3/') ? 200 : 404, {
      'content-type': 'application/json',
    });
    if (url.pathname === '/api/v3/time') return response.end(JSON.stringify({ serverTime: Date.now() }));
    const start = Number(url.searchParams.get('startTime') ?? 0);
    const end = Number(url.searchParams.get('endTime') ?? Number.MAX_SAFE_INTEGER);
    const limit = Number(url.searchParams.get('limit') ?? 500);
    const page = klines
      .filter((k) => k.openTime >= start && k.openTime <= end)
      .slice(0, limit)
      .map((k) => [
        k.openTime,
        String(k.open),
        String(k.high),
        String(k.low),
        String(k.close),
        String(k.volume),
        k.closeTime,
        String(k.quoteAssetVolume),
        k.numberOfTrades,
        String(k.takerBuyBaseAssetVolume),
        String(k.takerBuyQuoteAssetVolume),
        '0',
      ]);
    response.end(JSON.stringify(page));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('--version', () => {
  it('prints the package version with --version and -v', () => {
    for (const flag of ['--version', '-v']) {
      const result = cliIn(work, [flag]);
      expect(result.status).toBe(0);
      expect(result.stdout.trim()).toBe(manifest.version);
    }
  });
});

describe('--json: one JSON document on stdout, people on stderr', () => {
  it('run --detectors trains only those and prints its outcome as one document', () => {
    const out = join(work, 'run-json');
    const result = cliIn(work, [
      'run',
      '--config',
      'small.json',
      '--detectors',
      'iforest,autoencoder',
      '--epochs',
      '1',
      '--no-charts',
      '--json',
      '--out',
      out,
    ]);
    const document = oneDocument(result);
    expect(document).toMatchObject({ command: 'run', outDir: out });
    expect(Object.keys(document['topAnomalies'] as object).sort()).toEqual([
      'autoencoder',
      'consensus',
      'isolation-forest',
    ]);
    expect(readdirSync(out)).not.toContain('anomalies_attention.csv');
    expect(readdirSync(out)).toContain('anomalies_autoencoder.csv');
    // The bundled sample is named as a sample, not as a real pair.
    expect(readdirSync(out)).toContain('SAMPLE_processed_data.csv');
    // The progress lines and the final table went to stderr.
    expect(result.stderr).toMatch(/stage isolation-forest done/);
    expect(result.stderr).toMatch(/Top anomalies/);
  }, 240_000);

  it('train and detect print one document each', () => {
    const model = join(work, 'models', 'BTCUSDT_1h');
    const train = cliIn(work, [
      'train',
      '--config',
      'small.json',
      // The sample's candles under the pair's name: the watch test below replays them as BTCUSDT.
      '--symbol',
      'BTCUSDT',
      '--detectors',
      'isolation-forest',
      '--no-charts',
      '--json',
      '--out',
      model,
    ]);
    expect(oneDocument(train)).toMatchObject({ command: 'train', modelDir: model });
    expect(train.stderr).toMatch(/Model saved to/);

    const detect = cliIn(work, [
      'detect',
      '--model',
      model,
      '--source',
      'sample',
      '--no-charts',
      '--json',
      '--out',
      join(work, 'detect-json'),
    ]);
    expect(oneDocument(detect)).toMatchObject({ command: 'detect', modelDir: model, symbol: 'BTCUSDT' });
  }, 240_000);

  it('score prints its counts as one document', () => {
    const input = join(work, 'numbers.csv');
    const rows = Array.from(
      { length: 300 },
      (_, i) => `${i},${Math.sin(i)},${i % 7 === 0 ? 50 : Math.cos(i)}`,
    );
    writeFileSync(input, `id,a,b\n${rows.join('\n')}\n`);
    const result = cliIn(work, [
      'score',
      '--detector',
      'isolation-forest',
      '--input',
      input,
      '--exclude',
      'id',
      '--out',
      join(work, 'scored.csv'),
      '--json',
    ]);
    const document = oneDocument(result);
    expect(document).toMatchObject({ command: 'score', rows: 300, columns: ['a', 'b'] });
    expect(result.stderr).toMatch(/scored 300 rows/);
  }, 120_000);

  it('fetch prints what it stored as one document', async () => {
    const result = await cliAsync(work, [
      'fetch',
      '--symbol',
      'BTCUSDT',
      '--interval',
      '1h',
      '--since',
      '2024-01-01',
      '--until',
      '2024-01-10',
      '--base-url',
      baseUrl,
      '--store',
      join(work, 'fetch.duckdb'),
      '--json',
    ]);
    const document = oneDocument(result);
    expect(document).toMatchObject({ command: 'fetch', symbol: 'BTCUSDT', candlesInRange: 9 * 24 });
    expect(result.stderr).toMatch(/fetch: done/);
  }, 120_000);

  it('watch prints JSON lines, each one a document', async () => {
    // The model of the train test above (models/BTCUSDT_1h), replaying candles it did not see.
    mkdirSync(join(work, 'replay'));
    const replay = join(work, 'replay', 'BTCUSDT-1h.csv');
    await writeKlinesCsv(replay, klines);
    const result = cliIn(work, [
      'watch',
      '--replay',
      replay,
      '--model',
      join(work, 'models'),
      '--store',
      join(work, 'watch.duckdb'),
      '--json',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'status', final: true });
  }, 240_000);
});

describe('--detectors', () => {
  it('refuses an unknown name, naming it and the known ones, before any work', () => {
    const out = join(work, 'refused');
    const result = cliIn(work, ['run', '--detectors', 'iforest,lstm', '--out', out]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/lstm is not a detector/);
    for (const name of DETECTOR_NAMES) expect(result.stderr).toContain(name);
    expect(existsSync(out)).toBe(false);
  });
});

describe('help', () => {
  it("run --help states the engine's default epochs and detectors", () => {
    const help = cliIn(work, ['run', '--help']).stdout.replace(/\s+/g, ' ');
    const epochs = `else ${DEFAULT_DENSE_AUTOENCODER_OPTIONS.epochs} and ${DEFAULT_ATTENTION_AUTOENCODER_OPTIONS.epochs})`;
    expect(help).toContain(epochs);
    expect(help).toContain(DETECTOR_NAMES.join(','));
  });
});

describe('colour', () => {
  /** An SGR colour sequence: ESC [ ... m with a 3x/4x/9x/38/48 parameter. */
  const colour = new RegExp(`${String.fromCharCode(27)}\\[(?:\\d+;)*(?:3\\d|4\\d|9\\d|38|48)(?:;\\d+)*m`);

  it('no colour in plain output with NO_COLOR or --no-color', () => {
    for (const [args, extra] of [
      [['run', '--help'], { NO_COLOR: '1' }],
      [['--no-color', 'completion', 'bash'], {}],
      [['detect', '--no-color'], {}],
    ] as const) {
      const result = cliIn(work, [...args], extra);
      expect(result.stdout + result.stderr).not.toMatch(colour);
    }
  });

  const hasTmux = spawnSync('tmux', ['-V']).status === 0;
  it.skipIf(!hasTmux)(
    hasTmux
      ? 'the dashboard in a real terminal has colour, and none with NO_COLOR or --no-color'
      : 'SKIPPED: tmux is not installed (apt-get install tmux to run the real-terminal test)',
    async () => {
      const socket = `cli-conventions-${process.pid}`;
      const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
      try {
        const screens: Record<string, string> = {};
        for (const [name, prefix, flag] of [
          ['coloured', '', ''],
          ['NO_COLOR', 'NO_COLOR=1', ''],
          ['--no-color', '', '--no-color'],
        ] as const) {
          const command = [
            'env -i',
            `PATH=${JSON.stringify(process.env['PATH'] ?? '/usr/bin:/bin')}`,
            `HOME=${JSON.stringify(home)}`,
            'TERM=xterm-256color',
            prefix,
            JSON.stringify(process.execPath),
            JSON.stringify(bin),
            `run --config small.json --detectors isolation-forest --no-charts ${flag}`,
            `--out ${JSON.stringify(join(work, `tmux-${name}`))}`,
            '; sleep 60',
          ].join(' ');
          expect(
            tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', '-c', work, command).status,
          ).toBe(0);
          const deadline = Date.now() + 120_000;
          let screen = '';
          while (Date.now() < deadline && !/finished in /.test(screen)) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            screen = tmux('capture-pane', '-p', '-e', '-t', name).stdout;
          }
          expect(screen, `the ${name} dashboard finished`).toMatch(/finished in /);
          screens[name] = screen;
          tmux('send-keys', '-t', name, 'q');
        }
        expect(screens['coloured']).toMatch(colour);
        expect(screens['NO_COLOR']).not.toMatch(colour);
        expect(screens['--no-color']).not.toMatch(colour);
      } finally {
        tmux('kill-server');
      }
    },
    300_000,
  );
});

describe('config files', () => {
  it('init writes a commented config the loader accepts, and never replaces a file', async () => {
    const folder = join(work, 'init');
    mkdirSync(folder);
    const first = cliIn(folder, ['init']);
    expect(first.status, first.stderr).toBe(0);
    const path = join(folder, 'crypto-anomaly.config.json');
    expect(first.stdout.trim()).toBe(path);
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^\s*\/\/ /m);
    const config = await loadConfig(path);
    expect(config.pipeline?.detectors).toEqual([...DETECTOR_NAMES]);
    expect(config.pipeline?.autoencoder?.epochs).toBe(DEFAULT_DENSE_AUTOENCODER_OPTIONS.epochs);
    // It changes nothing until edited: no symbol, so the bundled sample is still named SAMPLE.
    expect(config.symbol).toBeUndefined();

    writeFileSync(path, '{ "seed": 7 }\n');
    const again = cliIn(folder, ['init']);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists; it was left as it is/);
    expect(readFileSync(path, 'utf8')).toBe('{ "seed": 7 }\n');
    expect(readdirSync(folder)).toEqual(['crypto-anomaly.config.json']);

    const xdg = join(work, 'init-xdg');
    const global = cliIn(folder, ['init', '--global'], { XDG_CONFIG_HOME: xdg });
    expect(global.status, global.stderr).toBe(0);
    await expect(loadConfig(join(xdg, 'crypto-anomaly', 'config.json'))).resolves.toBeDefined();
  });

  it('is found in the working folder, then the XDG config folder; --config wins', () => {
    const folder = join(work, 'discovery');
    const xdg = join(work, 'discovery-xdg');
    mkdirSync(join(xdg, 'crypto-anomaly'), { recursive: true });
    mkdirSync(folder);
    // A key each file gets wrong in its own way: the error names the file that was read.
    const xdgFile = join(xdg, 'crypto-anomaly', 'config.json');
    writeFileSync(xdgFile, '// the XDG one\n{ "epochs": -1 }\n');
    const extra = { XDG_CONFIG_HOME: xdg };
    const fromXdg = cliIn(folder, ['run', '--out', 'never'], extra);
    expect(fromXdg.status).toBe(2);
    expect(fromXdg.stderr).toContain(`note: using the config file ${xdgFile}`);
    expect(fromXdg.stderr).toContain(`--config ${xdgFile}: epochs`);

    const localFile = join(folder, 'crypto-anomaly.config.json');
    writeFileSync(localFile, '{ "seed": -1 }\n');
    const fromFolder = cliIn(folder, ['run', '--out', 'never'], extra);
    expect(fromFolder.status).toBe(2);
    expect(fromFolder.stderr).toContain(`--config ${localFile}: seed`);

    const chosen = join(work, 'chosen.json');
    writeFileSync(chosen, '{ "backend": "gpu" }\n');
    const fromFlag = cliIn(folder, ['run', '--config', chosen, '--out', 'never'], extra);
    expect(fromFlag.status).toBe(2);
    expect(fromFlag.stderr).toContain(`--config ${chosen}: backend`);
    expect(fromFlag.stderr).not.toMatch(/note: using the config file/);
    expect(existsSync(join(folder, 'never'))).toBe(false);
  });
});

describe('the default store', () => {
  const storeRun = (extra: NodeJS.ProcessEnv) =>
    cliIn(
      work,
      ['run', '--source', 'store', '--since', '2024-01-01', '--no-charts', '--out', 'store-run'],
      extra,
    );

  it('lives in the XDG data folder; an old ~/.crypto-anomaly/ store is read with a note, never moved', async () => {
    const fresh = join(work, 'fresh-home');
    mkdirSync(fresh);
    const xdgData = join(work, 'xdg-data');
    const first = storeRun({ HOME: fresh, XDG_DATA_HOME: xdgData });
    // No store yet: the run stops asking for a fetch, naming the store where it belongs, and
    // creates none (a mistyped --store must not leave an empty store behind).
    expect(first.status).toBe(1);
    expect(first.stderr).toContain(`no kline store at ${join(xdgData, 'crypto-anomaly', 'klines.duckdb')}`);
    expect(first.stderr).toMatch(
      /hint: fetch the candles first: crypto-anomaly fetch --symbol BTCUSDT --interval 1h --since 2024-01-01/,
    );
    expect(existsSync(join(xdgData, 'crypto-anomaly', 'klines.duckdb'))).toBe(false);
    expect(first.stderr).not.toMatch(/old place/);

    const oldHome = join(work, 'old-home');
    const legacy = join(oldHome, '.crypto-anomaly', 'klines.duckdb');
    mkdirSync(join(oldHome, '.crypto-anomaly'), { recursive: true });
    const store = await KlineStore.open(legacy);
    await store.close();
    const old = storeRun({ HOME: oldHome });
    expect(old.stderr).toContain(`note: using the store at its old place, ${legacy}`);
    expect(old.stdout + old.stderr).toContain(`Kline store: ${legacy}`);
    expect(existsSync(legacy)).toBe(true);
    expect(existsSync(join(oldHome, '.local', 'share', 'crypto-anomaly', 'klines.duckdb'))).toBe(false);
  }, 120_000);
});

describe('shell completion', () => {
  it('bash: commands, options and choices complete with compgen', () => {
    const script = cliIn(work, ['completion', 'bash']);
    expect(script.status).toBe(0);
    writeFileSync(join(work, 'completion.bash'), script.stdout);
    const complete = (...words: string[]) =>
      spawnSync(
        'bash',
        [
          '-c',
          `source ${JSON.stringify(join(work, 'completion.bash'))}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _crypto_anomaly_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      )
        .stdout.split('\n')
        .filter(Boolean);
    expect(complete('crypto-anomaly', 'ru')).toEqual(['run']);
    expect(complete('crypto-anomaly', 'co')).toEqual(['completion']);
    expect(complete('crypto-anomaly', 'run', '--det')).toEqual(['--detectors']);
    expect(complete('crypto-anomaly', 'watch', '--rep')).toEqual(['--replay', '--replay-store']);
    expect(complete('crypto-anomaly', 'run', '--backend', '')).toEqual(['auto', 'wasm', 'node', 'cpu']);
    // A command's own commands, then their options.
    expect(complete('crypto-anomaly', 'models', '')).toEqual(['push', 'list']);
    expect(complete('crypto-anomaly', 'models', 'push', '--pa')).toEqual(['--pairs']);
    expect(complete('crypto-anomaly', 'models', 'list', '--')).toEqual(['--bus', '--json', '--help']);
  });

  it('zsh and fish scripts name every command; an unknown shell is a usage error', () => {
    const zsh = cliIn(work, ['completion', 'zsh']).stdout;
    const fish = cliIn(work, ['completion', 'fish']).stdout;
    expect(zsh).toMatch(/^#compdef crypto-anomaly/);
    for (const command of ['run', 'train', 'detect', 'score', 'fetch', 'watch', 'init', 'completion']) {
      expect(zsh).toContain(`'${command}:`);
      expect(fish).toContain(`-a ${command} `);
    }
    expect(fish).toContain("__fish_seen_subcommand_from run' -l detectors");
    expect(zsh).toContain("'push:store model folders on the bus");
    // Each shell, where installed, parses its script without running it.
    for (const [shell, text, check] of [
      ['zsh', zsh, '-n'],
      ['fish', fish, '--no-execute'],
    ] as const) {
      if (spawnSync(shell, ['--version']).status !== 0) continue;
      const file = join(work, `completion.${shell}`);
      writeFileSync(file, text);
      const parsed = spawnSync(shell, [check, file], { encoding: 'utf8' });
      expect(parsed.status, `${shell} parses its script: ${parsed.stderr}`).toBe(0);
    }
    if (spawnSync('fish', ['--version']).status === 0) {
      // fish completes from the script as a user's shell would (complete -C).
      const completes = (line: string) =>
        spawnSync('fish', ['-c', `source ${join(work, 'completion.fish')}; complete -C '${line}'`], {
          encoding: 'utf8',
        })
          .stdout.split('\n')
          .filter(Boolean)
          .map((entry) => entry.split('\t')[0]);
      expect(completes('crypto-anomaly ru')).toEqual(['run']);
      expect(completes('crypto-anomaly run --det')).toEqual(['--detectors']);
      expect(completes('crypto-anomaly run --backend ').sort()).toEqual(['auto', 'cpu', 'node', 'wasm']);
      expect(completes('crypto-anomaly models ').sort()).toEqual(['list', 'push']);
      expect(completes('crypto-anomaly models push --pa')).toEqual(['--pairs']);
    }
    const unknown = cliIn(work, ['completion', 'tcsh']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/Expected one of bash, zsh, fish/);
  });
});
