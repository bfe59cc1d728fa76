import { readFileSync } from 'node:fs';
import { CoreError, resolvePipelineConfig } from '@crypto-anomaly/core';
import { DataError } from '@crypto-anomaly/data';
import { describe, expect, it, vi } from 'vitest';
import { CliError, describeFailure, isLibraryError } from '../src/errors.js';
import { ExitCode, main } from '../src/index.js';

describe('main', () => {
  it("names a subcommand's whole path in its usage line (models push, not push)", async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['models', 'push', '--bus', 'http://127.0.0.1:1', '--model', 'm'])).toBe(
        ExitCode.usageError,
      );
      expect(stderr.mock.calls.map((call) => String(call[0])).join('')).toContain(
        '(usage: crypto-anomaly models push [options]; see --help)',
      );
    } finally {
      stderr.mockRestore();
    }
  });

  it('refuses the flags watch --bus does not read, before connecting (the workers score)', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const flags of [
        ['--cooldown', '15m'],
        ['--model', 'models'],
        ['--thresholds', 'spot'],
        ['--store', 'x.duckdb'],
      ]) {
        stderr.mockClear();
        // Port 1: nothing listens there; the refusal comes first.
        expect(await main(['watch', '--bus', 'nats://127.0.0.1:1', ...flags])).toBe(ExitCode.usageError);
        expect(stderr.mock.calls.map((call) => String(call[0])).join('')).toContain(
          `${flags[0]}: is not read with --bus`,
        );
      }
    } finally {
      stderr.mockRestore();
    }
  });

  it('returns the usage-error code for an unknown command, without exiting the process', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['no-such-command'])).toBe(ExitCode.usageError);
      expect(stderr.mock.calls.map((call) => String(call[0])).join('')).toMatch(
        /too many arguments|unknown command/,
      );
    } finally {
      stderr.mockRestore();
    }
  });
});

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** A kernel error as the kernels package throws it (the command line does not depend on kernels). */
function kernelError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'KernelError', code });
}

describe('library errors: the command line names the flags', () => {
  it("words the engine's errors with an exit code and a hint naming the flags", () => {
    const setting = thrown(() =>
      resolvePipelineConfig({ threshold: { kind: 'contamination', contamination: 0.7 } }),
    );
    expect(isLibraryError(setting, 'CoreError')).toBe(true);
    expect(describeFailure(setting)).toEqual({
      cause: expect.stringMatching(/^config\.threshold\.contamination: must be/),
      hint: expect.stringMatching(/its flag \(see --help\), or its key in the --config file/),
      exitCode: ExitCode.usageError,
    });
    const nonFinite = new CoreError('NON_FINITE_INPUT', 'X has NaN at row 0, column 1.');
    expect(describeFailure(nonFinite)).toMatchObject({
      hint: 'repair or drop the row named above in the --input file',
      exitCode: ExitCode.runtimeFailure,
    });
    const mismatch = new CoreError('MODEL_MISMATCH', 'X has 2 columns, the model was trained on 3.');
    expect(describeFailure(mismatch)).toMatchObject({
      hint: expect.stringMatching(/crypto-anomaly train --out DIR\) and pass that folder to --model$/),
      exitCode: ExitCode.runtimeFailure,
    });
  });

  it("words the data layer's errors, refused input as a usage error", () => {
    expect(describeFailure(new DataError('UNKNOWN_SYMBOL', 'Binance does not list BTCXYZ.'))).toEqual({
      cause: 'Binance does not list BTCXYZ.',
      hint: 'check --symbol on Binance, e.g. BTCUSDT',
      exitCode: ExitCode.usageError,
    });
    expect(describeFailure(new DataError('TIMEOUT', 'gave up after 600 s\nsecond line'))).toEqual({
      cause: 'gave up after 600 s',
      hint: expect.stringMatching(/raise --give-up-after$/),
      exitCode: ExitCode.runtimeFailure,
    });
    expect(describeFailure(new DataError('BAD_CANDLES', 'gaps')).hint).toMatch(/--allow-gaps/);
  });

  it('recognises kernel errors by name, and every kernel code has a hint', () => {
    expect(describeFailure(kernelError('OUT_OF_MEMORY', 'memory.grow failed'))).toEqual({
      cause: 'memory.grow failed',
      hint: expect.stringMatching(/--since\/--until/),
      exitCode: ExitCode.runtimeFailure,
    });
    // The kernels' code list, read from their source: a new code without a hint fails here.
    const source = readFileSync(new URL('../../kernels/src/errors.ts', import.meta.url), 'utf8');
    const union = /type KernelErrorCode =([^;]*);/.exec(source)?.[1] ?? '';
    const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]!);
    expect(codes.length).toBeGreaterThan(5);
    for (const code of codes) {
      expect(describeFailure(kernelError(code, 'x')).hint, code).not.toMatch(/for details$/);
    }
  });

  it('keeps a CLI error as it is, and an unknown code or error falls back to --verbose', () => {
    const stop = new CliError('STOPPED', 'stopped (SIGINT)', { hint: 'run again', exitCode: 130 });
    expect(describeFailure(stop)).toEqual({ cause: 'stopped (SIGINT)', hint: 'run again', exitCode: 130 });
    expect(describeFailure(new CliError('USAGE', '--out: bad', { hint: 'h' })).exitCode).toBe(
      ExitCode.usageError,
    );
    expect(describeFailure(kernelError('SOMETHING_NEW', 'x'))).toMatchObject({
      hint: 'run again with --verbose for details',
      exitCode: ExitCode.runtimeFailure,
    });
    // A plain Error named like a library's but without a code is not one of theirs.
    expect(isLibraryError(Object.assign(new Error('x'), { name: 'CoreError' }))).toBe(false);
    expect(describeFailure(new TypeError('x is undefined')).hint).toMatch(/--verbose for the stack trace/);
  });
});
