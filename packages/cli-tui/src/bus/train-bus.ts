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
import { BUCKETS, type TrainJob, type TrainJobSource } from './bus-api.js';
import { type Bus, connectBus, ensureStreams, parseBusUrl } from './connection.js';
import { workersAlive } from './leases.js';
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
        const started = new Set<string>();
        const waiting = new WaitingReport(bus, jobs.length, url, context);
        let outcomes: Awaited<ReturnType<typeof requestTraining>>;
        try {
          outcomes = await requestTraining(
            bus,
            jobs,
            (event) => {
              if (event.type === 'started') started.add(event.pair);
              context.err(describe(event));
            },
            controller.signal,
            () => waiting.start(() => jobs.length - started.size),
          );
        } finally {
          waiting.stop();
        }
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

/** How often `train --bus` says that jobs still wait for a worker. */
const WAITING_REPORT_MS = 30_000;

/**
 * Says when the jobs wait for a worker: at once when no worker alive on the bus takes training
 * jobs (none started, or all with --train-jobs 0), then every 30 s while some job has not started,
 * so a `train --bus` with nobody to train never waits in silence.
 */
class WaitingReport {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly total: number,
    private readonly url: string,
    private readonly context: CommandContext,
  ) {}

  start(notStarted: () => number): void {
    const check = (first: boolean) => {
      if (this.checking) return;
      this.checking = this.report(notStarted(), first)
        .catch(() => undefined)
        .finally(() => {
          this.checking = undefined;
        });
    };
    check(true);
    this.timer = setInterval(() => check(false), WAITING_REPORT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async report(waiting: number, first: boolean): Promise<void> {
    if (waiting === 0) return;
    const { alive, training } = await workersAlive(await this.bus.bucket(BUCKETS.workers));
    const jobs = `${waiting === this.total ? 'the' : `${waiting} of the`} ${this.total} job${this.total === 1 ? '' : 's'}`;
    if (training === 0) {
      const who =
        alive === 0
          ? 'no worker is alive on the bus'
          : `${alive} worker${alive === 1 ? ' is' : 's are'} alive, none taking training jobs (--train-jobs 0)`;
      this.context.err(
        `train --bus: ${who}; ${jobs} wait${waiting === 1 ? 's' : ''} on jobs.train until one starts: crypto-anomaly worker --bus ${this.url}`,
      );
    } else if (!first) {
      this.context.err(
        `train --bus: ${jobs} not started yet; ${training} worker${training === 1 ? ' takes' : 's take'} training jobs, each --train-jobs at a time (default 1)`,
      );
    }
  }
}
