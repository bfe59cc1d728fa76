import { type Command, Option } from 'commander';
import type { ConfigFile } from '../config.js';
import { parse, pick } from '../options.js';

/** Flags shared by run, train and detect: training, backend, display. */
export function addEngineOptions(command: Command, options: { training: boolean }): Command {
  if (options.training) {
    command
      .option(
        '--epochs <n>',
        'most epochs of both autoencoders (default: the config, else 60 and 30)',
        parse.positiveInteger,
      )
      .option(
        '--seed <n>',
        'seed of splits, trees and weights: same seed, same results (default 42)',
        parse.nonNegativeInteger,
      );
  }
  return command
    .addOption(
      new Option(
        '--backend <name>',
        'TensorFlow.js backend (default auto: node, else wasm, else cpu)',
      ).choices(['auto', 'wasm', 'node', 'cpu']),
    )
    .option('--config <file.json>', 'settings file (see the README); flags override it')
    .option('--no-tui', 'plain lines instead of the dashboard (automatic when not a terminal or in CI)')
    .option('--no-charts', 'skip the PNG charts');
}

/** The engine settings from flags over the config file. */
export function engineSettings(command: Command, config: ConfigFile) {
  const epochs = pick<number>(command, 'epochs', config.epochs);
  const seed = pick<number>(command, 'seed', config.seed);
  const backend = pick<'auto' | 'wasm' | 'node' | 'cpu'>(command, 'backend', config.backend);
  return {
    ...(epochs !== undefined ? { epochs } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(backend !== undefined ? { backend } : {}),
    ...(config.pipeline ? { config: config.pipeline } : {}),
    charts: pick<boolean>(command, 'charts', config.charts) ?? true,
    tui: pick<boolean>(command, 'tui', config.tui) ?? true,
  };
}
