import { randomUUID } from 'node:crypto';
import { link, mkdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  DEFAULT_ATTENTION_AUTOENCODER_OPTIONS,
  DEFAULT_DENSE_AUTOENCODER_OPTIONS,
  DEFAULT_ISOLATION_FOREST_OPTIONS,
  DEFAULT_SEED,
  DEFAULT_SPLIT,
  DETECTOR_NAMES,
} from '@crypto-anomaly/core';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { CONFIG_FILE_NAME, configSearchPaths } from '../config.js';
import { CliError } from '../errors.js';
import { DEFAULT_INTERVAL, DEFAULT_SYMBOL, SAMPLE_SYMBOL } from '../sources.js';

/**
 * The starting config `init` writes: every value is the default, so it changes nothing until
 * edited; each key carries a `//` comment (the loader reads JSON with comments). The values come
 * from the engine's exported defaults, so the file cannot drift from them.
 */
export function starterConfig(): string {
  const json = (value: unknown) => JSON.stringify(value);
  return `// crypto-anomaly settings: JSON with // comments. Flags on the command line win over these.
// Found without --config in the working folder (${CONFIG_FILE_NAME}), then in
// $XDG_CONFIG_HOME/crypto-anomaly/config.json. Every value below is the default.
{
  // Where candles come from: "sample" (the bundled synthetic market, offline), "binance" or "csv".
  "source": "sample",
  // The pair (with --source binance or a store; ${DEFAULT_SYMBOL} there when unset, while the
  // bundled sample is named ${SAMPLE_SYMBOL}): e.g. "ETHUSDT".
  // "symbol": ${json(DEFAULT_SYMBOL)},
  // The candle interval.
  "interval": ${json(DEFAULT_INTERVAL)},
  // First candle, UTC, with --source binance: e.g. "2024-01-01".
  // "since": "2024-01-01",
  // The output folder of run and detect.
  "out": "output",
  // Same seed, same splits, trees, weights and scores.
  "seed": ${json(DEFAULT_SEED)},
  // TensorFlow.js backend: "auto" (node, else wasm, else cpu), "wasm", "node" or "cpu".
  "backend": "auto",
  // The dashboard on a terminal (false: plain lines), and the PNG charts.
  "tui": true,
  "charts": true,
  // The engine's settings (all in the core README).
  "pipeline": {
    // The detectors to train; drop "attention" (the slow one) for quick runs.
    "detectors": ${json([...DETECTOR_NAMES])},
    // Shares of the candles, in time order, for training and validation (the rest is the test).
    "split": { "train": ${json(DEFAULT_SPLIT.train)}, "validation": ${json(DEFAULT_SPLIT.validation)} },
    // How each detector's threshold is fitted: the top 1% of training scores are anomalies.
    "threshold": { "kind": "contamination", "contamination": 0.01 },
    "isolationForest": { "nEstimators": ${json(DEFAULT_ISOLATION_FOREST_OPTIONS.nEstimators)}, "maxSamples": ${json(DEFAULT_ISOLATION_FOREST_OPTIONS.maxSamples)} },
    // Most epochs (training stops earlier when the validation loss stops improving).
    "autoencoder": { "epochs": ${json(DEFAULT_DENSE_AUTOENCODER_OPTIONS.epochs)} },
    "attention": { "epochs": ${json(DEFAULT_ATTENTION_AUTOENCODER_OPTIONS.epochs)} }
  }
}
`;
}

/**
 * Writes `text` to `target` only if nothing is there: written beside it under a hidden name, then
 * hard-linked into place (link refuses an existing name, atomically), so a file the user already
 * has is never replaced and a crash never leaves half a config under the real name.
 */
async function createExclusively(target: string, text: string): Promise<boolean> {
  await mkdir(dirname(target), { recursive: true });
  const temporary = join(dirname(target), `.${CONFIG_FILE_NAME}.${randomUUID()}.tmp`);
  await writeFile(temporary, text, { flag: 'wx' });
  try {
    await link(temporary, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary);
  }
}

/** `crypto-anomaly init`: a commented starting config, in the working folder or the XDG one. */
export function addInitCommand(program: Command, context: CommandContext): void {
  program
    .command('init')
    .description(`write a commented starting config (${CONFIG_FILE_NAME}) that every command then reads`)
    .argument('[file]', `where to write it (default ./${CONFIG_FILE_NAME})`)
    .option('--global', 'write it to $XDG_CONFIG_HOME/crypto-anomaly/config.json (~/.config when unset)')
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly init              ./${CONFIG_FILE_NAME}, read by commands run in this folder
  crypto-anomaly init --global     the config every folder without its own uses

An existing file is never replaced: move it aside first. --config FILE still picks any file.`,
    )
    .action(async (file: string | undefined, options: { global?: boolean }) => {
      if (file !== undefined && options.global) {
        throw new CliError('USAGE', 'give a file or --global, not both', {
          option: '--global',
          hint: 'crypto-anomaly init --global, or crypto-anomaly init FILE',
        });
      }
      const [local, global] = configSearchPaths();
      const target = resolve(file ?? (options.global ? global! : local!));
      if (!(await createExclusively(target, starterConfig()))) {
        throw new CliError('USAGE', `${target} already exists; it was left as it is`, {
          hint: 'edit that file, move it aside and run init again, or name another file: crypto-anomaly init FILE',
        });
      }
      context.err(`wrote ${target}: every value is the default; edit it, and commands will read it`);
      context.out(target);
    });
}
