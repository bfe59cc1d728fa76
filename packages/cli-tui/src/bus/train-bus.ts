import { resolve } from 'node:path';
import type { Interval } from '@crypto-anomaly/data';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import type { ConfigFile } from '../config.js';
import { CliError, usageError } from '../errors.js';
import { configDate } from '../options.js';
import { withStopSignals } from '../session.js';
import { sourceSettings } from '../sources.js';
import { readSymbols } from '../watch/symbols.js';
import type { TrainJob, TrainJobSource } from './bus-api.js';
import { connectBus, ensureStreams, parseBusUrl } from './connection.js';
import { requestTraining, type TrainProgress } from './training.js';

/**
 * `train --bus URL --symbols A,B --interval 1h`: one training job per pair on the work queue
 * (`jobs.train`), trained by the workers (one each), each model stored as its pair's next version;
 * prints the progress of every pair and one JSON line per pair at the end. Exits 1 when a pair
 * failed for good.
 */
export async function runTrainOnBus(
  command: Command,
  config: ConfigFile,
  engine: { epochs?: number; seed?: number; backend?: 'auto' | 'wasm' | 'node' | 'cpu'; config?: unknown },
  context: CommandContext,
): Promise<void> {
  const url = parseBusUrl(command.opts()['bus'] as string);
  const symbolsFlag = command.opts()['symbols'] as string | undefined;
  const settings = sourceSettings(command, config, 'sample');
  const symbols = symbolsFlag ? readSymbols(symbolsFlag) : settings.symbol ? [settings.symbol] : undefined;
  if (!symbols || symbols.length === 0) {
    throw usageError('--symbols', 'is required with --bus', 'e.g. --symbols BTCUSDT,ETHUSDT');
  }
  for (const flag of ['out', 'outputs'] as const) {
    if (command.getOptionValueSource(flag) === 'cli') {
      throw usageError(`--${flag}`, 'is not read with --bus: models go to the object store', 'drop it');
    }
  }
  const interval: Interval = settings.interval ?? '1h';
  let source: TrainJobSource;
  switch (settings.kind) {
    case 'sample': {
      const start = configDate('sample.start', config.sample?.start);
      source = {
        kind: 'sample',
        ...(config.sample?.seed !== undefined ? { seed: config.sample.seed } : {}),
        ...(config.sample?.count !== undefined ? { count: config.sample.count } : {}),
        ...(start !== undefined ? { start } : {}),
      };
      break;
    }
    case 'binance':
    case 'store':
      source = {
        kind: settings.kind,
        ...(settings.store ? { store: resolve(settings.store) } : {}),
        ...(settings.kind === 'binance' && settings.baseUrl ? { baseUrl: settings.baseUrl } : {}),
      };
      break;
    default:
      throw new CliError(
        'USAGE',
        '--source csv cannot be used with --bus: the workers train, not this machine',
        {
          option: '--source',
          hint: 'use --source binance or store (each worker reads its own store), or sample',
        },
      );
  }
  const jobs: Omit<TrainJob, 'id' | 'request'>[] = symbols.map((symbol) => ({
    pair: `${symbol}_${interval}`,
    symbol,
    interval,
    ...(settings.since !== undefined ? { since: settings.since } : {}),
    ...(settings.until !== undefined ? { until: settings.until } : {}),
    source,
    ...(engine.epochs !== undefined ? { epochs: engine.epochs } : {}),
    ...(engine.seed !== undefined ? { seed: engine.seed } : {}),
    ...(engine.backend !== undefined ? { backend: engine.backend } : {}),
    ...(engine.config !== undefined ? { config: engine.config } : {}),
  }));
  const controller = new AbortController();
  let failed = 0;
  await withStopSignals(
    context,
    controller,
    async () => {
      const bus = await connectBus(url, 'crypto-anomaly train --bus');
      try {
        await ensureStreams(bus);
        context.err(
          `train --bus: ${jobs.length} job${jobs.length === 1 ? '' : 's'} on jobs.train (${jobs.map((job) => job.pair).join(', ')})`,
        );
        const outcomes = await requestTraining(
          bus,
          jobs,
          (event) => context.err(describe(event)),
          controller.signal,
        );
        for (const job of jobs) {
          const outcome = outcomes.get(job.pair);
          if (!outcome) continue;
          if (outcome.type === 'failed') failed++;
          context.out(
            JSON.stringify(
              outcome.type === 'done'
                ? {
                    pair: job.pair,
                    status: 'done',
                    version: outcome.version,
                    worker: outcome.worker,
                    ms: Math.round(outcome.ms),
                    candles: outcome.candles,
                  }
                : { pair: job.pair, status: 'failed', worker: outcome.worker, message: outcome.message },
            ),
          );
        }
      } finally {
        await bus.close();
      }
    },
    {
      stoppedHint:
        'the jobs stay queued and are still trained by the workers; train --bus again follows them (and queues new versions)',
    },
  );
  if (failed > 0)
    throw new CliError('RUNTIME', `${failed} of ${jobs.length} pairs failed to train`, {
      hint: 'each failure is printed above; the workers log the details',
    });
}

function describe(event: TrainProgress): string {
  const head = `${event.pair}: ${event.worker}`;
  switch (event.type) {
    case 'started':
      return `${head}: training (attempt ${event.attempt})`;
    case 'epoch':
      return `${head}: ${event.detector} epoch ${event.epoch}/${event.epochs}, loss ${event.loss.toPrecision(4)}`;
    case 'done':
      return `${head}: done in ${(event.ms / 1000).toFixed(1)} s on ${event.candles} candles, stored as v${event.version}`;
    case 'failed':
      return `${head}: failed (attempt ${event.attempt}${event.final ? ', given up' : ', retried'}): ${event.message}`;
  }
}
