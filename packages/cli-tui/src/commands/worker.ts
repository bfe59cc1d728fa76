import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ThresholdKind } from '@crypto-anomaly/core';
import type { Interval } from '@crypto-anomaly/data';
import { type Command, Option } from 'commander';
import { parseBusUrl } from '../bus/connection.js';
import { runWorker, type WorkerSettings } from '../bus/worker.js';
import type { CommandContext } from '../command-context.js';
import { usageError } from '../errors.js';
import { parse } from '../options.js';
import { parseCooldown } from './watch.js';

/** `crypto-anomaly worker`: scores the bus' candles; run any number, on any machines. */
export function addWorkerCommand(program: Command, context: CommandContext): void {
  program
    .command('worker')
    .description('score candles from the bus (NATS JetStream) and publish scores and alerts; run any number')
    .requiredOption('--bus <url>', 'the NATS server(s): nats://HOST:PORT, a cluster with commas')
    .option(
      '--model <dir>',
      'models from a folder (DIR/SYMBOL_INTERVAL as train --out writes it) instead of the bus (models push)',
    )
    .option(
      '--model-cache <dir>',
      'where model versions from the bus are unpacked (default ~/.cache/crypto-anomaly/models)',
    )
    .option('--model-for-all', 'score pairs without a model of their own with --model (one model folder)')
    .option(
      '--interval <interval>',
      'only markets of this interval (default: all with a model)',
      parse.interval,
    )
    .addOption(
      new Option(
        '--thresholds <kind>',
        'fitted (default): as trained, the same whichever worker scores; spot / dspot adapt from where this worker took the pair over',
      ).choices(['fitted', 'spot', 'dspot']),
    )
    .option(
      '--poison-after <n>',
      'park a candle that does not read after N deliveries (default 5)',
      parse.positiveInteger,
    )
    .option(
      '--lease-ttl <duration>',
      'a pair is taken from a worker silent this long, e.g. 10s (default 10s)',
      parseCooldown,
    )
    .option(
      '--max-pairs <n>',
      'most pairs this worker owns (default: its share of the pairs)',
      parse.positiveInteger,
    )
    .option(
      '--max-burst <n>',
      'most candles scored in one call across pairs (default 1000)',
      parse.positiveInteger,
    )
    .option(
      '--train-jobs <n>',
      'training jobs of train --bus run at once, each in a thread (default 1; 0: none)',
      parse.nonNegativeInteger,
    )
    .option('--name <name>', "the worker's name in leases and headers (default HOST-PID)")
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly worker --bus nats://127.0.0.1:4222
  crypto-anomaly worker --bus nats://127.0.0.1:4222 --model models
  crypto-anomaly worker --bus nats://10.0.0.5:4222,nats://10.0.0.6:4222 --model models --interval 1m

Each pair is owned by one worker at a time (a lease in the ca-leases bucket); a worker that dies
loses its pairs after --lease-ttl and the others take them over, rebuilding each pair's state
from the KLINES stream. Scores go to scores.1m.SYMBOL, alerts to alerts.1m.SYMBOL; a candle is
acknowledged only once both are stored. Unreadable candles go to dlq.klines.1m.SYMBOL.
Models come from the bus (crypto-anomaly models push, or train --bus) unless --model names a
folder: each pair is scored by the latest version of its model, and a version pushed later is
taken without a restart (at a candle boundary; the version is in the Ca-Model-Version header of
each score and alert). The worker also trains the jobs train --bus sends (one at a time).`,
    )
    .action(async (flags: Record<string, unknown>) => {
      await runWorker(workerSettingsOf(flags), context);
    });
}

export function workerSettingsOf(flags: Record<string, unknown>): WorkerSettings {
  const bus = parseBusUrl(flags['bus'] as string);
  if (flags['modelForAll'] === true && typeof flags['model'] !== 'string') {
    throw usageError(
      '--model-for-all',
      'needs --model DIR',
      'or push the model for each pair: models push --pairs',
    );
  }
  const leaseTtlMs = (flags['leaseTtl'] as number | undefined) ?? 10_000;
  if (leaseTtlMs < 1_000) throw usageError('--lease-ttl', 'must be at least 1s', 'e.g. --lease-ttl 10s');
  return {
    bus,
    ...(typeof flags['model'] === 'string' ? { modelRoot: resolve(flags['model'] as string) } : {}),
    modelCache: resolve(
      typeof flags['modelCache'] === 'string'
        ? (flags['modelCache'] as string)
        : join(homedir(), '.cache', 'crypto-anomaly', 'models'),
    ),
    modelForAll: flags['modelForAll'] === true,
    ...(flags['interval'] !== undefined ? { interval: flags['interval'] as Interval } : {}),
    thresholds: (flags['thresholds'] as ThresholdKind | undefined) ?? 'fitted',
    poisonAfter: (flags['poisonAfter'] as number | undefined) ?? 5,
    leaseTtlMs,
    ...(flags['maxPairs'] !== undefined ? { maxMarkets: flags['maxPairs'] as number } : {}),
    ...(typeof flags['name'] === 'string' ? { name: flags['name'] as string } : {}),
    maxBurst: (flags['maxBurst'] as number | undefined) ?? 1_000,
    trainSlots: (flags['trainJobs'] as number | undefined) ?? 1,
  };
}
