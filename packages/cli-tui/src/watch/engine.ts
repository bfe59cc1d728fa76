import type { Alert, CandleScore } from '@crypto-anomaly/core';
import type { Interval, Kline } from '@crypto-anomaly/data';
import type { AlertCooldown } from './sinks.js';
import type {
  AlertSink,
  ScoreBurst,
  StoredAlert,
  StoredScore,
  WatchCandle,
  WatchEvent,
  WatchScorer,
  WatchStore,
} from './watch-api.js';

/** Warm-up candles of one symbol and where they came from. */
export interface WarmUpHistory {
  klines: Kline[];
  from: 'store' | 'rest' | 'replay';
}

export interface WatchLoopOptions<S extends WatchScorer> {
  interval: Interval;
  /** One scorer per symbol watched from the start (those whose model loaded). */
  scorers: ReadonlyMap<string, S>;
  /**
   * Symbols whose scorer comes later (a model being trained while the others stream): each
   * resolves to its scorer, which is then warmed up and joins with candles of its own; a rejection
   * stops that symbol alone.
   */
  joining?: ReadonlyMap<string, Promise<S>>;
  /** Core's `scoreMany`: a burst across symbols in one call (the autoencoders batched). */
  scoreMany: ScoreBurst<S>;
  store: WatchStore;
  /**
   * Up to `count` closed candles of `symbol`, oldest first, the last one at `through` when given
   * (the last candle scored before a restart), else the latest there are.
   */
  history(symbol: string, count: number, through: number | undefined): Promise<WarmUpHistory>;
  /**
   * The closed candles of `symbols` after `resumeFrom[symbol]`, per symbol in open-time order (live
   * or replay). Called once for the symbols ready at the start, then once per symbol that joins.
   */
  candles(symbols: string[], resumeFrom: Record<string, number>): AsyncIterable<WatchCandle>;
  cooldown: AlertCooldown;
  /** Sinks that keep their own record of ids (alerts file, webhook): they get an alert before the store. */
  sinks: readonly AlertSink[];
  /** Sinks without a record (stdout): they get only the alerts the store calls new. */
  newAlertSinks: readonly AlertSink[];
  onEvent(event: WatchEvent): void;
  signal: AbortSignal;
  mode: 'live' | 'replay';
  /** Most candles scored in one burst. Default 1,000. */
  maxBurst?: number;
  /**
   * Most candles of the bursts scored back to back (while more wait) before they are written to
   * the store together. Default 256: few transactions in a replay or a back-fill, while alerts
   * still reach stdout and the store group by group. A killed run loses at most one group's
   * scoring work, never a candle: the restart scores again what was not saved.
   */
  maxGroup?: number;
  /**
   * Keeps each symbol's model current (`watch --refit-every`): once `everyMs` of candle time has
   * been scored since its last fit, `train` fits a new model on the candles through the last one
   * scored (in a worker thread) while the old model goes on scoring; the new scorer is warmed up
   * on the candles through the last scored one and swapped in between two bursts. A replay waits
   * for its re-fits where they start (at full speed it would otherwise end before the first one).
   */
  refit?: {
    everyMs: number;
    train(symbol: string, through: number): Promise<S>;
    /** The scorer a re-fit replaced (to free its model). */
    retire?(scorer: S): void;
  };
  /** Candles read ahead of scoring before the reader waits (replay at max speed). Default 5,000. */
  readAhead?: number;
  /**
   * Live, a warm-up that failed (the network, the exchange's REST; not an unknown symbol) is tried
   * again this long later, up to `WARM_UP_TRIES` times in all, while the other symbols stream;
   * then the symbol stops. Default 30,000 ms.
   */
  warmUpRetryMs?: number;
  now?: () => number;
}

/** Tries of a live symbol's warm-up that failed on the network or the exchange (see `warmUpRetryMs`). */
export const WARM_UP_TRIES = 3;

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface WatchLoopResult {
  candles: number;
  alerts: number;
  /** Symbols that stopped, with why. */
  stopped: Map<string, string>;
}

/** One alert as the store keeps it. */
export function storedAlert(alert: Alert): StoredAlert {
  return {
    id: alert.id,
    symbol: alert.symbol,
    interval: alert.interval,
    openTime: alert.openTime,
    detector: alert.detector,
    payload: JSON.stringify(alert),
  };
}

/** Each detector's score of one candle, as the store keeps them. */
export function storedScores(score: CandleScore): StoredScore[] {
  return score.detectors.map((detector) => ({
    symbol: score.symbol,
    interval: score.interval,
    openTime: score.openTime,
    detector: detector.name,
    score: detector.score,
    threshold: detector.threshold,
    flagged: detector.flagged,
  }));
}

/**
 * The loop of `watch`: warms each symbol's scorer up, then takes closed candles as they come
 * (live or replayed: the same path) and, burst by burst, stores each candle once, scores it,
 * hands its alert to the sinks, and saves its alerts and scores. A candle counts as handled once
 * its scores are saved: a restart resumes after the last one (`lastScoredOpenTime`). A symbol
 * whose warm-up or scoring fails stops alone; the others go on.
 */
export async function runWatchLoop<S extends WatchScorer>(
  options: WatchLoopOptions<S>,
): Promise<WatchLoopResult> {
  const now = options.now ?? Date.now;
  const { interval, store, signal } = options;
  const scorers = new Map(options.scorers);
  const joining = options.joining ?? new Map<string, Promise<S>>();
  const symbols = [...scorers.keys(), ...[...joining.keys()].filter((symbol) => !scorers.has(symbol))];
  const stopped = new Map<string, string>();
  const lastHandled = new Map<string, number>();
  const stop = (symbol: string, reason: string) => {
    if (stopped.has(symbol)) return;
    stopped.set(symbol, reason);
    options.onEvent({ type: 'symbol-stopped', symbol, reason });
  };
  options.onEvent({ type: 'started', symbols, interval, mode: options.mode, at: now() });

  const fittedThrough = new Map<string, number>();
  /**
   * Warms a scorer up on the candles before the first to score: where its candles resume, or why
   * it could not, and whether trying again later may help (live, anything but an unknown symbol).
   */
  const tryWarmUp = async (
    symbol: string,
    scorer: S,
  ): Promise<{ through: number } | { reason: string; again: boolean }> => {
    const live = options.mode === 'live';
    try {
      const last = await store.lastScoredOpenTime(symbol, interval);
      const history = await options.history(symbol, scorer.historyNeeded, last);
      if (history.klines.length < scorer.historyNeeded) {
        return {
          reason: `only ${history.klines.length} candles before the first to score, its model needs ${scorer.historyNeeded}`,
          again: live,
        };
      }
      options.onEvent({ type: 'warming-up', symbol, candles: history.klines.length, from: history.from });
      scorer.warmUp(history.klines);
      const through = last ?? history.klines.at(-1)!.openTime;
      lastHandled.set(symbol, through);
      fittedThrough.set(symbol, through);
      return { through };
    } catch (error) {
      const unknown = (error as { code?: unknown })?.code === 'UNKNOWN_SYMBOL';
      return {
        reason: `warm-up failed: ${(error as Error)?.message ?? String(error)}`,
        again: live && !unknown,
      };
    }
  };
  /** `tryWarmUp` once; a failure stops the symbol. */
  const warmUp = async (symbol: string, scorer: S): Promise<number | undefined> => {
    const result = await tryWarmUp(symbol, scorer);
    if ('through' in result) return result.through;
    stop(symbol, result.reason);
    return undefined;
  };

  const resumeFrom: Record<string, number> = {};
  /** Live symbols whose first warm-up failed in a way a later try may not: tried again meanwhile. */
  const retries: { symbol: string; scorer: S; reason: string }[] = [];
  for (const [symbol, scorer] of scorers) {
    signal.throwIfAborted();
    const result = await tryWarmUp(symbol, scorer);
    if ('through' in result) resumeFrom[symbol] = result.through;
    else if (result.again) retries.push({ symbol, scorer, reason: result.reason });
    else stop(symbol, result.reason);
  }
  const watched = Object.keys(resumeFrom);
  if (watched.length === 0 && joining.size === 0 && retries.length === 0)
    return { candles: 0, alerts: 0, stopped };

  // Readers fill a queue while bursts are scored, so candles that arrive together (a back-fill, a
  // minute's close across hundreds of symbols) are scored together. One reader for the symbols
  // ready at the start, one more per symbol that joins later.
  const queue: WatchCandle[] = [];
  let readers = 0;
  let pendingJoins = joining.size;
  let readerError: unknown;
  let wakeScorer: (() => void) | undefined;
  const waitingReaders: (() => void)[] = [];
  const wakeReaders = () => {
    for (const wake of waitingReaders.splice(0)) wake();
  };
  const readAhead = options.readAhead ?? 5_000;
  const readerTasks: Promise<void>[] = [];
  const startReader = (from: Record<string, number>) => {
    readers++;
    const reader = (async () => {
      try {
        for await (const candle of options.candles(Object.keys(from), from)) {
          queue.push(candle);
          wakeScorer?.();
          while (queue.length >= readAhead && !signal.aborted)
            await new Promise<void>((resolve) => waitingReaders.push(resolve));
          if (signal.aborted) break;
        }
      } catch (error) {
        if (!signal.aborted) readerError ??= error;
      } finally {
        readers--;
        wakeScorer?.();
      }
    })();
    readerTasks.push(reader);
  };
  if (watched.length > 0) startReader(resumeFrom);
  const retryMs = options.warmUpRetryMs ?? 30_000;
  for (const retry of retries) {
    pendingJoins++;
    void (async () => {
      try {
        let reason = retry.reason;
        for (let attempt = 2; attempt <= WARM_UP_TRIES && !signal.aborted; attempt++) {
          options.onEvent({
            type: 'warm-up-retry',
            symbol: retry.symbol,
            reason,
            waitMs: retryMs,
            attempt,
            attempts: WARM_UP_TRIES,
          });
          await pause(retryMs, signal);
          if (signal.aborted) return;
          const result = await tryWarmUp(retry.symbol, retry.scorer);
          if ('through' in result) {
            startReader({ [retry.symbol]: result.through });
            return;
          }
          reason = result.reason;
          if (!result.again) break;
        }
        if (!signal.aborted) stop(retry.symbol, `${reason} (tried ${WARM_UP_TRIES} times)`);
      } finally {
        pendingJoins--;
        wakeScorer?.();
      }
    })();
  }
  for (const [symbol, promise] of joining) {
    void (async () => {
      try {
        let scorer: S;
        try {
          scorer = await promise;
        } catch (error) {
          stop(symbol, (error as Error)?.message ?? String(error));
          return;
        }
        if (signal.aborted) return;
        const through = await warmUp(symbol, scorer);
        if (through === undefined || signal.aborted) return;
        scorers.set(symbol, scorer);
        startReader({ [symbol]: through });
      } finally {
        pendingJoins--;
        wakeScorer?.();
      }
    })();
  }

  // Re-fits (`refit`): the re-fits in flight, and the new scorers waiting to be swapped in between
  // bursts (`fittedThrough`, the candle time of each symbol's last fit, is set at its warm-up).
  const refitting = new Set<string>();
  const refitted = new Map<string, { scorer: S; through: number }>();
  const refitDue = (symbol: string, through: number) =>
    options.refit !== undefined && through - (fittedThrough.get(symbol) ?? through) >= options.refit.everyMs;
  const startRefit = (symbol: string, through: number): Promise<void> | undefined => {
    const refit = options.refit;
    if (!refit || refitting.has(symbol) || stopped.has(symbol)) return undefined;
    if (!refitDue(symbol, through)) return undefined;
    fittedThrough.set(symbol, through);
    refitting.add(symbol);
    options.onEvent({ type: 'model-refit', symbol, status: 'started', through, at: now() });
    return refit.train(symbol, through).then(
      (scorer) => {
        refitted.set(symbol, { scorer, through });
        wakeScorer?.();
      },
      (error: unknown) => {
        refitting.delete(symbol);
        if (signal.aborted) return;
        const message = (error as Error)?.message ?? String(error);
        options.onEvent({ type: 'model-refit', symbol, status: 'failed', through, message, at: now() });
      },
    );
  };
  /** Warms the re-fitted scorers up on the candles through the last scored one and swaps them in. */
  const swapRefitted = async () => {
    for (const [symbol, { scorer, through }] of [...refitted]) {
      refitted.delete(symbol);
      refitting.delete(symbol);
      const last = lastHandled.get(symbol);
      try {
        const history = await options.history(symbol, scorer.historyNeeded, last);
        if (history.klines.length < scorer.historyNeeded) throw new Error('too few candles to warm it up');
        scorer.warmUp(history.klines);
      } catch (error) {
        options.refit?.retire?.(scorer);
        const message = (error as Error)?.message ?? String(error);
        options.onEvent({ type: 'model-refit', symbol, status: 'failed', through, message, at: now() });
        continue;
      }
      const old = scorers.get(symbol);
      scorers.set(symbol, scorer);
      if (old) options.refit?.retire?.(old);
      options.onEvent({ type: 'model-refit', symbol, status: 'swapped', through, at: now() });
    }
  };

  const onAbort = () => {
    wakeScorer?.();
    wakeReaders();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let candles = 0;
  let alertCount = 0;
  const maxBurst = options.maxBurst ?? 1_000;
  const maxGroup = options.maxGroup ?? 256;
  while (!signal.aborted) {
    if (refitted.size > 0) await swapRefitted();
    if (queue.length === 0) {
      if (readers === 0 && pendingJoins === 0) break;
      await new Promise<void>((resolve) => (wakeScorer = resolve));
      wakeScorer = undefined;
      continue;
    }
    // One candle per symbol per burst: a symbol's candles are scored in order, one after another.
    // Bursts are scored back to back while candles wait (a replay, a back-fill), up to `maxGroup`
    // candles (one burst at least), then written to the store together, in one transaction when
    // the store can.
    const group: Scored[] = [];
    const groupKlines: WatchCandle[] = [];
    const groupAlerts: Alert[] = [];
    const delivered = new Set<string>();
    const through = new Map<string, number>();
    // A group ends where a re-fit is due, so the re-fit starts at that candle (its candles are saved first).
    let refitNow = false;
    while (queue.length > 0 && groupKlines.length < maxGroup && !signal.aborted && !refitNow) {
      const burst: WatchCandle[] = [];
      const picked = new Set<string>();
      const rest: WatchCandle[] = [];
      for (const candle of queue) {
        if (burst.length < maxBurst && !picked.has(candle.symbol)) {
          picked.add(candle.symbol);
          burst.push(candle);
        } else rest.push(candle);
      }
      queue.splice(0, queue.length, ...rest);
      if (queue.length < readAhead) wakeReaders();

      const fresh = burst.filter((candle) => {
        const last = through.get(candle.symbol) ?? lastHandled.get(candle.symbol);
        return (
          scorers.has(candle.symbol) &&
          !stopped.has(candle.symbol) &&
          (last === undefined || candle.kline.openTime > last)
        );
      });
      if (fresh.length === 0) continue;
      for (const candle of fresh) {
        through.set(candle.symbol, candle.kline.openTime);
        refitNow ||= !refitting.has(candle.symbol) && refitDue(candle.symbol, candle.kline.openTime);
      }
      groupKlines.push(...fresh);
      const scores = await scoreBurst(options, scorers, fresh, stop);
      for (const { candle, score } of scores) {
        // Marked with how the candle came: a back-filled candle's alert is late, and says so.
        const alerts = scorers
          .get(candle.symbol)!
          .alertsOf(score)
          .map((alert) => ({ ...alert, via: candle.via }));
        groupAlerts.push(...alerts);
        const decision = options.cooldown.decide(alerts);
        if (decision.delivered) {
          delivered.add(decision.delivered.id);
          for (const sink of options.sinks) await deliver(options, sink, decision.delivered);
        }
      }
      group.push(...scores);
    }
    if (groupKlines.length === 0) continue;
    const scoredAt = now();

    const newIds = new Set(await saveGroup(store, interval, groupKlines, group, groupAlerts));
    for (const alert of groupAlerts) {
      if (!newIds.has(alert.id)) continue;
      const sent = delivered.has(alert.id);
      if (sent) {
        alertCount++;
        for (const sink of options.newAlertSinks) await deliver(options, sink, alert);
      }
      options.onEvent({ type: 'alert', alert, delivered: sent, at: scoredAt });
    }
    for (const { candle, score } of group) {
      lastHandled.set(candle.symbol, candle.kline.openTime);
      candles++;
      const lagMs = candle.via === 'replay' ? 0 : Math.max(0, scoredAt - (candle.kline.closeTime + 1));
      options.onEvent({ type: 'scored', score, via: candle.via, lagMs, at: scoredAt });
    }
    if (options.refit) {
      const started: Promise<void>[] = [];
      for (const [symbol, through] of lastHandled) {
        const refit = startRefit(symbol, through);
        if (refit) started.push(refit);
      }
      // A replay waits for its re-fits here; live scoring goes on while they train.
      if (options.mode === 'replay' && started.length > 0) {
        await Promise.all(started);
        await swapRefitted();
      }
    }
  }
  signal.removeEventListener('abort', onAbort);
  wakeReaders();
  // Stopped: the reader ends when the source sees the same signal; scoring does not wait for it.
  if (!signal.aborted) await Promise.all(readerTasks);
  if (readerError !== undefined) throw readerError;
  options.onEvent({ type: 'finished', candles, alerts: alertCount, at: now() });
  return { candles, alerts: alertCount, stopped };
}

type Scored = { candle: WatchCandle; score: CandleScore };

/**
 * Writes what a group of bursts leaves in the store: the candles, their scores and alerts, in one
 * transaction when the store has `saveBurst` (the alerts first otherwise, the scores last: a
 * candle counts as handled once its scores are saved). Resolves to the alert ids that were new.
 */
async function saveGroup(
  store: WatchStore,
  interval: WatchLoopOptions<WatchScorer>['interval'],
  klines: WatchCandle[],
  scored: Scored[],
  alerts: Alert[],
): Promise<string[]> {
  const bySymbol = new Map<string, WatchCandle['kline'][]>();
  for (const candle of klines) {
    let list = bySymbol.get(candle.symbol);
    if (!list) bySymbol.set(candle.symbol, (list = []));
    list.push(candle.kline);
  }
  const scores = scored.flatMap(({ score }) => storedScores(score));
  const stored = alerts.map(storedAlert);
  if (store.saveBurst) {
    const result = await store.saveBurst({
      klines: [...bySymbol].map(([symbol, list]) => ({ symbol, interval, klines: list })),
      scores,
      alerts: stored,
    });
    return result.newAlertIds;
  }
  for (const [symbol, list] of bySymbol) await store.upsert(symbol, interval, list);
  const newIds = stored.length > 0 ? await store.saveAlerts(stored) : [];
  await store.saveScores(scores);
  return newIds;
}

/**
 * A sink's failure is reported, never fatal to scoring, unless the sink could not keep the alert
 * at all (SinkFailure: its file cannot be written): then the watch stops before this candle is
 * saved as handled, so a restart scores it again and offers the alert again.
 */
async function deliver<S extends WatchScorer>(options: WatchLoopOptions<S>, sink: AlertSink, alert: Alert) {
  try {
    await sink.deliver(alert);
  } catch (error) {
    if ((error as { fatal?: unknown })?.fatal === true) throw error;
    options.onEvent({
      type: 'sink-error',
      sink: sink.name,
      message: (error as Error)?.message ?? String(error),
      at: (options.now ?? Date.now)(),
    });
  }
}

/**
 * Scores a burst in one call; when that fails, each candle alone, so the symbol at fault is found
 * and stopped while the others are scored.
 */
async function scoreBurst<S extends WatchScorer>(
  options: WatchLoopOptions<S>,
  scorers: ReadonlyMap<string, S>,
  burst: WatchCandle[],
  stop: (symbol: string, reason: string) => void,
): Promise<{ candle: WatchCandle; score: CandleScore }[]> {
  const items = burst.map((candle) => ({ scorer: scorers.get(candle.symbol)!, kline: candle.kline }));
  try {
    const scores = await options.scoreMany(items);
    return burst.map((candle, index) => ({ candle, score: scores[index]! }));
  } catch (error) {
    if (burst.length === 1) {
      stop(burst[0]!.symbol, `scoring failed: ${(error as Error)?.message ?? String(error)}`);
      return [];
    }
    const scored: { candle: WatchCandle; score: CandleScore }[] = [];
    for (const candle of burst) scored.push(...(await scoreBurst(options, scorers, [candle], stop)));
    return scored;
  }
}
