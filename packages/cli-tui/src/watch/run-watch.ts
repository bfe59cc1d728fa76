import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ThresholdKind } from '@crypto-anomaly/core';
import * as core from '@crypto-anomaly/core';
import type { Interval, KlineStore } from '@crypto-anomaly/data';
import * as data from '@crypto-anomaly/data';
import type { CommandContext } from '../command-context.js';
import { CliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { wantsDashboard } from '../reporter.js';
import { withStopSignals } from '../session.js';
import { openExistingStore, SAMPLE_SYMBOL } from '../sources.js';
import { trainInThread } from '../train-thread.js';
import { runWatchLoop } from './engine.js';
import { liveHistory, replayHistory } from './history.js';
import { modelFolder, planModels, type TrainFrom, trainCommand, trainingSince } from './models.js';
import { createPlainDisplay, type WatchDisplay } from './plain-display.js';
import { assertReplayKeepsStore } from './replay-guard.js';
import { AlertCooldown, AlertsFileSink, assertSinkFileWritable, stdoutSink, WebhookSink } from './sinks.js';
import { topSymbols } from './symbols.js';
import type { AlertSink, WatchCandle, WatchStore } from './watch-api.js';

/** What `watch` was asked to do, flags checked (see `settingsOf` in commands/watch.ts). */
export interface WatchSettings {
  mode: 'live' | 'replay-csv' | 'replay-store' | 'replay-sample';
  symbols?: string[];
  top?: { quote: string; count: number };
  /** Symbol → CSV file, in replay-csv mode. */
  replayFiles: Map<string, string>;
  interval: Interval;
  modelRoot: string;
  /**
   * The store; absent for a replay that keeps nothing, which then uses a store file in a temporary
   * folder of its own, removed at the end. A file, not DuckDB's in-memory database, so a long
   * replay spills to disk like any store instead of stopping at the store's memory limit
   * (measured: an in-memory store ran out of its 256 MB at 500,000 1m candles and their scores).
   */
  storePath?: string;
  baseUrl?: string;
  streamUrl?: string;
  json: boolean;
  tui: boolean;
  since?: number;
  until?: number;
  speed: number | 'max';
  alertsFile?: string;
  webhook?: string;
  webhookJournal?: string;
  cooldownMs: number;
  /** Between two status lines off a terminal. */
  statusEveryMs: number;
  thresholds: ThresholdKind;
  trainMissing: boolean;
  /** `--refit-every`: candle time between two re-fits of each pair's model (in a worker thread). */
  refitEveryMs?: number;
  modelForAll: boolean;
  epochs?: number;
  backend?: 'auto' | 'wasm' | 'node' | 'cpu';
}

/** The store as the loop uses it: data's KlineStore with its score and alert tables. */
function watchStore(store: KlineStore): WatchStore {
  return {
    upsert: (symbol, interval, klines) => store.upsert(symbol, interval, klines),
    saveScores: async (rows) => {
      await store.saveScores(rows);
    },
    saveAlerts: (alerts) => store.saveAlerts(alerts),
    lastScoredOpenTime: (symbol, interval) => store.lastScoredOpenTime(symbol, interval),
    saveBurst: (burst) => store.saveBurst(burst),
  };
}

/** Runs `crypto-anomaly watch` until the stream is stopped (q, Ctrl+C, a signal) or the replay ends. */
export async function runWatch(settings: WatchSettings, context: CommandContext): Promise<void> {
  const controller = new AbortController();
  // Live, a stop is how a watch ends, and a restart goes on where it stopped; a replay is a run.
  await withStopSignals(
    context,
    controller,
    () => watch(settings, context, controller),
    settings.mode === 'live'
      ? {
          stoppedHint:
            'started again on the same store, watch back-fills what it missed and scores every candle once',
          // The sinks (a webhook gets 5 s to deliver what is queued) and the store's checkpoint.
          graceMs: 10_000,
        }
      : {
          stoppedHint:
            'the candles and scores of the replay so far are in --store, if one was given; replay again to go through the rest',
          graceMs: 10_000,
        },
  );
}

async function watch(settings: WatchSettings, context: CommandContext, controller: AbortController) {
  const { interval, modelRoot } = settings;
  const signal = controller.signal;
  const rest = settings.baseUrl ? { baseUrl: settings.baseUrl } : {};
  const symbols =
    settings.symbols ?? (await topSymbols(rest, settings.top!.quote, settings.top!.count, signal));

  // Every pair needs a model before anything opens: the refusal names the command that trains it.
  const plan = await planModels(modelRoot, symbols, interval, settings.modelForAll);
  if (plan.wrongInterval.length > 0) {
    throw new CliError('RUNTIME', plan.wrongInterval.join('\n'), {
      exitCode: ExitCode.usageError,
      hint: `train a model on ${interval} candles into that folder (crypto-anomaly train --interval ${interval} --out FOLDER), or watch the interval it was trained on`,
    });
  }
  if (plan.missing.length > 0 && !settings.trainMissing) {
    const from = (symbol: string): TrainFrom =>
      settings.mode === 'replay-csv'
        ? { mode: 'replay-csv', file: settings.replayFiles.get(symbol)! }
        : settings.mode === 'replay-store'
          ? { mode: 'replay-store', store: settings.storePath! }
          : { mode: settings.mode };
    const commands = plan.missing.map(
      (symbol) => `  ${trainCommand(modelRoot, symbol, interval, from(symbol))}`,
    );
    throw new CliError(
      'USAGE',
      `no model for ${plan.missing.join(', ')} ${interval} under ${modelRoot} (looked for ${modelFolder(modelRoot, plan.missing[0]!, interval)}); train ${plan.missing.length === 1 ? 'it' : 'them'} with:\n${commands.join('\n')}\n(or add --train-missing to train from history before watching, or --model-for-all with one model folder as --model)`,
      {
        option: '--model',
        hint: `train ${plan.missing.length === 1 ? 'it' : 'them'} as above, or add --train-missing (trains from history before watching), or --model-for-all with one model folder as --model`,
      },
    );
  }
  // The sinks' files before the store is opened (or created): a refusal leaves nothing behind.
  if (settings.alertsFile) assertSinkFileWritable(settings.alertsFile, '--alerts-file');
  if (settings.webhookJournal) assertSinkFileWritable(settings.webhookJournal, '--webhook-journal');
  const throwaway =
    settings.storePath === undefined ? await data.makeTemporaryFolder('crypto-anomaly-replay-') : undefined;
  const storeFile = throwaway ? join(throwaway, 'replay.duckdb') : settings.storePath!;
  // Live, the store is created if need be; a replay of the store needs it there.
  const store =
    settings.mode === 'replay-store'
      ? await openExistingStore(
          storeFile,
          (path) =>
            new CliError('RUNTIME', `no kline store at ${path}: nothing to replay, and none was created`, {
              hint: 'give --store the store that holds the candles (crypto-anomaly fetch fills one), or replay a file with --replay FILE.csv',
            }),
        )
      : await data.KlineStore.open(storeFile);
  // The throwaway folder is ours alone: removed with the store, whatever ends the replay.
  const closeStore = async () => {
    await store.close();
    if (throwaway) await rm(throwaway, { recursive: true, force: true });
  };
  const replayLoad =
    settings.mode === 'replay-csv'
      ? async (symbol: string) => data.readKlinesCsv(settings.replayFiles.get(symbol)!)
      : settings.mode === 'replay-sample'
        ? async (symbol: string) => replaySampleKlines(symbol, interval)
        : async (symbol: string) =>
            store.klines(symbol, interval, {
              ...(settings.since !== undefined ? { start: settings.since } : {}),
              ...(settings.until !== undefined ? { end: settings.until } : {}),
            });
  const replay = settings.mode === 'live' ? undefined : replayHistory(store, interval, replayLoad);
  if ((settings.mode === 'replay-csv' || settings.mode === 'replay-sample') && !throwaway) {
    // Before the display opens and anything is written; the store is closed on a refusal.
    await assertReplayKeepsStore(store, interval, symbols, replay!.load).catch(async (error: unknown) => {
      await closeStore();
      throw error;
    });
  }

  const sinks: AlertSink[] = [];
  let display: WatchDisplay | undefined;
  try {
    if (settings.alertsFile) sinks.push(new AlertsFileSink(settings.alertsFile));
    if (settings.webhook) {
      const journalPath =
        settings.webhookJournal ?? join(dirname(store.path), `${baseName(store.path)}.webhook-journal.jsonl`);
      sinks.push(
        new WebhookSink({
          url: settings.webhook,
          journalPath,
          onError: (message) => display?.note(message),
        }),
      );
    }
    const title = `crypto-anomaly watch · ${symbols.length} pair${symbols.length === 1 ? '' : 's'} ${interval} · ${
      settings.mode === 'live' ? (settings.streamUrl ?? data.DEFAULT_WS_BASE_URL) : 'replay'
    } · ${throwaway ? 'a throwaway store, removed at the end (kept with --store FILE)' : `store ${store.path}`}`;
    const dashboard = !settings.json && wantsDashboard(settings.tui);
    if (dashboard) {
      const { createDashboardDisplay } = await import('./dashboard-display.js');
      const shown = createDashboardDisplay(title, settings.mode === 'live' ? 'live' : 'replay');
      void shown.quit.then(() => controller.abort(new Error('stopped with q')));
      display = shown;
    } else {
      display = createPlainDisplay(
        title,
        context.out,
        context.err,
        settings.statusEveryMs,
        Date.now,
        settings.mode === 'live' ? 'live' : 'replay',
      );
    }
    await watchWith(display, dashboard);
  } finally {
    for (const sink of sinks) await sink.close().catch(() => undefined);
    await display?.close({ stopped: controller.signal.aborted });
    await closeStore();
  }

  async function watchWith(display: WatchDisplay, dashboard: boolean) {
    for (const warning of plan.warnings) display.note(`warning: ${warning}`);

    // Pairs without a model are trained in a worker thread, one after another, while the others
    // stream; each joins once its model is saved (loaded here, warmed up by the loop).
    const joined: core.TrainedPipeline[] = [];
    const joining = new Map<string, Promise<core.StreamScorer>>();
    let training: Promise<unknown> = Promise.resolve();
    for (const symbol of plan.missing) {
      const modelDir = modelFolder(modelRoot, symbol, interval);
      const trainOne = async () => {
        signal.throwIfAborted();
        const klines = await trainingHistory(symbol);
        display!.note(
          `${symbol}: no model; training one on ${klines.length} candles into ${modelDir} in a worker (--train-missing), the others go on`,
        );
        const done = await trainInThread(
          {
            symbol,
            interval,
            modelDir,
            history: {
              kind: 'klines',
              klines,
              describe:
                settings.mode === 'live'
                  ? `${symbol} ${interval} from the store`
                  : `the replayed candles of ${symbol}`,
            },
            ...(settings.epochs !== undefined ? { epochs: settings.epochs } : {}),
            ...(settings.backend !== undefined ? { backend: settings.backend } : {}),
          },
          signal,
        ).catch((error: unknown) => {
          throw signal.aborted ? error : new Error(`training failed: ${(error as Error).message}`);
        });
        const pipeline = await core.TrainedPipeline.load(
          done.modelDir,
          settings.backend ? { backend: settings.backend } : {},
        );
        joined.push(pipeline);
        display!.note(
          `${symbol}: model trained in ${(done.ms / 1000).toFixed(1)}s and saved in ${done.modelDir}; it joins`,
        );
        return new core.StreamScorer(pipeline, { symbol, interval, thresholds: settings.thresholds });
      };
      const scorer = training.then(trainOne, trainOne);
      training = scorer.catch(() => undefined);
      joining.set(symbol, scorer);
    }

    /** A missing model's training candles: the replayed ones, or live about 5,000 from the store (fetched over REST first). */
    async function trainingHistory(symbol: string) {
      if (replay) return replay.load(symbol);
      const since = trainingSince(interval);
      const until =
        Math.floor(Date.now() / data.intervalToMilliseconds(interval)) *
        data.intervalToMilliseconds(interval);
      await data.fetchKlines({ store, symbol, interval, since, until, signal, ...rest });
      return store.klines(symbol, interval, { start: since, end: until });
    }

    // One load per model folder: pairs sharing a model (--model-for-all) share its tensors.
    const pipelines = new Map<string, Promise<core.TrainedPipeline>>();
    const scorers = new Map<string, core.StreamScorer>();
    for (const [symbol, folder] of plan.folders) {
      try {
        let pipeline = pipelines.get(folder);
        if (!pipeline) {
          pipeline = core.TrainedPipeline.load(folder, settings.backend ? { backend: settings.backend } : {});
          pipelines.set(folder, pipeline);
        }
        // planModels refused a folder of another interval and warned of --model-for-all's.
        scorers.set(
          symbol,
          new core.StreamScorer(await pipeline, {
            symbol,
            interval,
            thresholds: settings.thresholds,
            allowOtherInterval: true,
          }),
        );
      } catch (error) {
        display.event({
          type: 'symbol-stopped',
          symbol,
          reason: `its model ${folder} did not load: ${(error as Error)?.message?.split('\n')[0]}`,
        });
      }
    }
    if (scorers.size === 0 && joining.size === 0) {
      throw new CliError('RUNTIME', 'no pair has a model that loads', {
        hint: 'train the models again (crypto-anomaly train --out DIR/SYMBOL_INTERVAL) and pass DIR to --model',
      });
    }

    const candles = (symbols: string[], resumeFrom: Record<string, number>): AsyncIterable<WatchCandle> =>
      replay
        ? data.replayKlines({
            symbols,
            interval,
            load: replay.load,
            speed: settings.speed,
            resumeFrom,
            signal,
          })
        : data.liveKlineStreams({
            symbols,
            interval,
            ...(settings.streamUrl ? { wsUrl: settings.streamUrl } : {}),
            rest,
            resumeFrom,
            onStatus: (status) => display.event({ type: 'connection', status, at: Date.now() }),
            signal,
          });
    // --refit-every: a pair's model is re-fitted on its trailing window (the walk-forward default:
    // two years, 500-10,000 candles) in the worker thread, one pair at a time, and saved over its
    // folder, so a restart starts from the newest model.
    const refitWindow = Math.min(
      Math.max(
        core.candlesIn('trainWindow', core.WALK_FORWARD_DEFAULTS.trainWindow, interval),
        core.WALK_FORWARD_DEFAULTS.minTrainWindow,
      ),
      core.WALK_FORWARD_DEFAULTS.maxTrainWindow,
    );
    const refitted: core.TrainedPipeline[] = [];
    let refitQueue: Promise<unknown> = Promise.resolve();
    const refitOne = async (symbol: string, through: number) => {
      signal.throwIfAborted();
      const step = data.intervalToMilliseconds(interval);
      const klines = replay
        ? (await replay.load(symbol)).filter((k) => k.openTime <= through).slice(-refitWindow)
        : await store.klines(symbol, interval, {
            start: through - (refitWindow - 1) * step,
            end: through + step,
          });
      const done = await trainInThread(
        {
          symbol,
          interval,
          modelDir: modelFolder(modelRoot, symbol, interval),
          history: {
            kind: 'klines',
            klines,
            describe: `the last ${klines.length} candles of ${symbol} (re-fit)`,
          },
          ...(settings.epochs !== undefined ? { epochs: settings.epochs } : {}),
          ...(settings.backend !== undefined ? { backend: settings.backend } : {}),
        },
        signal,
      );
      const pipeline = await core.TrainedPipeline.load(
        done.modelDir,
        settings.backend ? { backend: settings.backend } : {},
      );
      refitted.push(pipeline);
      return new core.StreamScorer(pipeline, { symbol, interval, thresholds: settings.thresholds });
    };
    const retired = new Set<core.TrainedPipeline>();
    const sinksWithRecord = sinks;
    const output = dashboard ? [] : [stdoutSink(context.out)];
    const result = await runWatchLoop({
      interval,
      scorers,
      joining,
      scoreMany: (items) => core.scoreMany(items),
      store: watchStore(store),
      history: replay ? replay.history : liveHistory(store, interval, rest, signal),
      candles,
      cooldown: new AlertCooldown(settings.cooldownMs),
      sinks: sinksWithRecord,
      newAlertSinks: output,
      onEvent: (event) => display.event(event),
      signal,
      mode: replay ? 'replay' : 'live',
      ...(settings.refitEveryMs !== undefined
        ? {
            refit: {
              everyMs: settings.refitEveryMs,
              train: (symbol: string, through: number) => {
                const next = refitQueue.then(() => refitOne(symbol, through));
                refitQueue = next.catch(() => undefined);
                return next;
              },
              // Each pair has its own model folder (--refit-every refuses --model-for-all).
              retire: (scorer: core.StreamScorer) => {
                retired.add(scorer.pipeline);
                scorer.pipeline.dispose();
              },
            },
          }
        : {}),
    });
    for (const pipeline of [...(await Promise.all(pipelines.values())), ...joined, ...refitted]) {
      if (!retired.has(pipeline)) pipeline.dispose();
    }
    // Every pair stopped (a warm-up that failed, an unknown symbol): nothing was watched.
    if (!signal.aborted && symbols.length > 0 && symbols.every((symbol) => result.stopped.has(symbol))) {
      const reasons = symbols.map((symbol) => `${symbol}: ${result.stopped.get(symbol)}`);
      throw new CliError('RUNTIME', `no pair could be watched\n${reasons.join('\n')}`, {
        hint: 'each reason is above; a network or exchange failure at start: run again when it answers',
      });
    }
  }
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? 'store';
}

/**
 * The candles `watch --replay sample` replays for a pair: its own seeded sample series, but for
 * SAMPLE, the name run and train give the bundled market (--source sample), which is that market
 * itself (BTCUSDT's series), so a model trained on it watches the market it learnt.
 */
export function replaySampleKlines(symbol: string, interval: Interval): data.Kline[] {
  return data.sampleMarketKlines(
    symbol === SAMPLE_SYMBOL ? data.SAMPLE_MARKET_DEFAULTS.symbol : symbol,
    interval,
  );
}
