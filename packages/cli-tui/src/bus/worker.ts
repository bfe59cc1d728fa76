import { hostname } from 'node:os';
import type { Alert, CandleScore, ThresholdKind } from '@crypto-anomaly/core';
import * as core from '@crypto-anomaly/core';
import type { Interval, Kline } from '@crypto-anomaly/data';
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { CommandContext } from '../command-context.js';
import { withStopSignals } from '../session.js';
import { planModels } from '../watch/models.js';
import {
  alertSubject,
  BUCKETS,
  candleId,
  consumerName,
  deadLetterSubject,
  HEADERS,
  type KlineMessage,
  klineSubject,
  type Market,
  marketKey,
  STREAMS,
  scoreSubject,
  type WorkerEvent,
} from './bus-api.js';
import { type Bus, connectBus, ensureStreams, publishStored, sleep } from './connection.js';
import { readKlineMessage } from './kline-message.js';
import { keysOf, Leases, workerRecord } from './leases.js';
import { type ModelPointer, ModelRegistry, marketOfPair, pairName } from './models.js';
import { lastScored, warmUpCandles } from './stream-history.js';
import { runTrainer } from './training.js';

/** What `worker` was asked to do, flags checked (see commands/worker.ts). */
export interface WorkerSettings {
  bus: string;
  /** Models from this folder; undefined: from the bus' object store (versioned, see models.ts). */
  modelRoot?: string;
  /** Where versions downloaded from the object store are unpacked (one folder per version). */
  modelCache: string;
  modelForAll: boolean;
  /** Only markets of this interval (default: every interval with a model). */
  interval?: Interval;
  thresholds: ThresholdKind;
  /** A candle that does not read is parked after this many deliveries. */
  poisonAfter: number;
  leaseTtlMs: number;
  /** Most markets this worker owns (default: its fair share, no cap). */
  maxMarkets?: number;
  /** Names the worker in leases and headers (default host-pid). */
  name?: string;
  /** Most candles scored in one burst across markets. */
  maxBurst: number;
  /** Training jobs (train --bus) this worker runs at once; 0: none. */
  trainSlots: number;
}

/** A market this worker owns. */
interface Owned {
  market: Market;
  key: string;
  scorer: core.StreamScorer;
  /** The model version scoring it (models from the bus), 0 for a model folder. */
  version: number;
  /** While its scorer is rebuilt on a new version: its candles wait in the queue. */
  paused: boolean;
  /** A model switch under way (or asked for again while one was). */
  switching?: Promise<void>;
  /** Candles taken into the scorer so far (warm-up and scored). */
  taken: number;
  queue: JsMsg[];
  messages: ConsumerMessages | undefined;
  pump: Promise<void> | undefined;
  /** Set when the market is being given up: its queue is no longer scored. */
  leaving: boolean;
  /** Resolves the pump's wait when the queue drains. */
  wakePump?: () => void;
}

const QUEUE_HIGH = 256;

/**
 * `crypto-anomaly worker --bus URL --model DIR`: any number of them, on any machines. Each market
 * (symbol and interval) is owned by one worker at a time through a lease; the owner reads its
 * candles from a durable consumer of the KLINES stream, scores them in order (a burst across its
 * markets at once), publishes each candle's alerts and then its score, and acknowledges the candle
 * only after both are stored. Taking a market over, it rebuilds the scorer from the stream: every
 * retained candle up to the last one scored, so the scores do not depend on which worker scored.
 */
export async function runWorker(settings: WorkerSettings, context: CommandContext): Promise<void> {
  const controller = new AbortController();
  await withStopSignals(context, controller, () => work(settings, context, controller.signal), {
    stoppedHint:
      'it gave its pairs up, and the other workers take them now; started again, it takes its share again',
    graceMs: 15_000,
  });
}

function describe(event: WorkerEvent): string {
  switch (event.type) {
    case 'claimed':
      return `${event.market.symbol} ${event.market.interval}: taken, warmed up on ${event.warmUp} candles (${event.from === 'scored' ? 'up to the last scored' : 'the first of the stream'}), reading from sequence ${event.startSequence}`;
    case 'released':
      return `${event.market.symbol} ${event.market.interval}: given up (${event.reason})`;
    case 'parked':
      return `${event.market.symbol} ${event.market.interval}: candle at sequence ${event.sequence} parked after ${event.deliveries} deliveries: ${event.reason}`;
    case 'skipped':
      return `${event.market.symbol} ${event.market.interval}: not taken: ${event.reason}`;
    case 'switched':
      return `${event.market.symbol} ${event.market.interval}: model v${event.from} → v${event.to}, scorer rebuilt and warmed up on ${event.warmUp} candles`;
    case 'scored':
      return `scored ${event.candles} candles, ${event.alerts} alerts`;
    case 'connected':
    case 'reconnected':
      return `bus: ${event.type} to ${event.server}`;
    case 'disconnected':
      return 'bus: connection lost, reconnecting';
  }
}

async function work(settings: WorkerSettings, context: CommandContext, signal: AbortSignal) {
  const name = settings.name ?? `${hostname()}-${process.pid}`;
  const emit = (event: WorkerEvent) => context.err(`worker ${name}: ${describe(event)}`);
  const bus = await connectBus(settings.bus, `crypto-anomaly worker ${name}`, {
    leaseTtlMs: settings.leaseTtlMs,
    onStatus: (status) =>
      emit(
        status === 'disconnect' ? { type: 'disconnected' } : { type: 'reconnected', server: settings.bus },
      ),
  });
  emit({ type: 'connected', server: settings.bus });
  const owned = new Map<string, Owned>();
  const pipelines = new Map<string, Promise<core.TrainedPipeline>>();
  let wakeScorer: (() => void) | undefined;
  const wake = () => {
    const resolve = wakeScorer;
    wakeScorer = undefined;
    resolve?.();
  };
  signal.addEventListener('abort', wake, { once: true });
  let inFlight: Promise<void> = Promise.resolve();
  let scoredCandles = 0;
  let scoredAlerts = 0;

  try {
    await ensureStreams(bus);
    const markets = await bus.bucket(BUCKETS.markets);
    const leases = new Leases(await bus.bucket(BUCKETS.leases), name);
    const workers = await bus.bucket(BUCKETS.workers);
    const ttl = settings.leaseTtlMs;

    const loadPipeline = (folder: string) => {
      let pipeline = pipelines.get(folder);
      if (!pipeline) {
        pipeline = core.TrainedPipeline.load(folder);
        pipelines.set(folder, pipeline);
        pipeline.catch(() => pipelines.delete(folder));
      }
      return pipeline;
    };
    const registry = settings.modelRoot === undefined ? await ModelRegistry.open(bus) : undefined;
    /** Latest model version of each pair (models from the bus), as the watch tells. */
    const latest = new Map<string, ModelPointer>();
    const loadVersion = async (pointer: ModelPointer) => {
      const folder = await registry!.folderOf(pointer, settings.modelCache);
      return { pipeline: await loadPipeline(folder), folder };
    };

    /** The market's model, or why it has none. */
    const modelOf = async (
      market: Market,
    ): Promise<{ problem: string } | { pipeline: core.TrainedPipeline; version: number }> => {
      if (registry) {
        const pair = pairName(market);
        const pointer = latest.get(pair) ?? (await registry.latest(pair));
        if (!pointer)
          return { problem: `no model for ${pair} on the bus (crypto-anomaly models push or train --bus)` };
        return { pipeline: (await loadVersion(pointer)).pipeline, version: pointer.version };
      }
      const modelRoot = settings.modelRoot!;
      const plan = await planModels(modelRoot, [market.symbol], market.interval, settings.modelForAll);
      const folder = plan.folders.get(market.symbol);
      if (!folder) return { problem: `no model under ${modelRoot} for ${market.symbol}_${market.interval}` };
      if (plan.wrongInterval.length > 0) return { problem: plan.wrongInterval.join('; ') };
      return { pipeline: await loadPipeline(folder), version: 0 };
    };
    const noModel = new Set<string>();

    const stopPump = async (entry: Owned) => {
      entry.leaving = true;
      entry.wakePump?.();
      await entry.messages?.close().catch(() => undefined);
      await entry.pump?.catch(() => undefined);
      entry.queue.length = 0;
    };

    /** Takes a market over: the scorer rebuilt from the stream, a fresh consumer after it. */
    const takeOver = async (market: Market, key: string) => {
      const model = await modelOf(market);
      if ('problem' in model) {
        noModel.add(key);
        emit({ type: 'skipped', market, reason: model.problem });
        await leases.release(key);
        return;
      }
      const scorer = new core.StreamScorer(model.pipeline, {
        symbol: market.symbol,
        interval: market.interval,
        thresholds: settings.thresholds,
        // A model of another interval was warned of where it was chosen (models push, --model-for-all).
        allowOtherInterval: true,
      });
      const subject = klineSubject(market.interval, market.symbol);
      const scored = await lastScored(bus, market);
      const warm = await warmUpCandles(bus, subject, market, scorer.historyNeeded, scored);
      if (warm.klines.length > 0) scorer.warmUp(warm.klines);
      // A fresh consumer from the first candle not scored: whatever the previous owner had
      // delivered and not acknowledged is read again, in order; a previous owner still running
      // (its lease lost) finds its consumer gone and stops.
      const durable = consumerName(market);
      await bus.jsm.consumers.delete(STREAMS.klines, durable).catch(() => undefined);
      await bus.jsm.consumers.add(STREAMS.klines, {
        durable_name: durable,
        filter_subject: subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: warm.startSequence,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(60_000),
        max_deliver: -1,
        max_ack_pending: 1_000,
      });
      const entry: Owned = {
        market,
        key,
        scorer,
        version: model.version,
        paused: false,
        taken: warm.klines.length,
        queue: [],
        messages: undefined,
        pump: undefined,
        leaving: false,
      };
      owned.set(key, entry);
      emit({
        type: 'claimed',
        market,
        warmUp: warm.klines.length,
        from: scored ? 'scored' : 'start',
        startSequence: warm.startSequence,
      });
      const consumer = await bus.js.consumers.get(STREAMS.klines, durable);
      entry.messages = await consumer.consume({ max_messages: 128 });
      // A version pushed while it was being taken over.
      if ((latest.get(pairName(market))?.version ?? 0) > entry.version) switchModel(entry);
      entry.pump = (async () => {
        for await (const message of entry.messages!) {
          if (entry.leaving) break;
          entry.queue.push(message);
          wake();
          if (entry.queue.length >= QUEUE_HIGH) {
            await new Promise<void>((resolve) => {
              entry.wakePump = resolve;
            });
            entry.wakePump = undefined;
          }
        }
      })();
    };

    /**
     * Moves an owned pair to the latest version of its model without a restart: the version is
     * downloaded and loaded while the pair goes on scoring; then, between two bursts, the pair is
     * paused, its scorer rebuilt on the new model and warmed up on every retained candle up to the
     * last one it took (what a take-over would do), and the pair goes on from its next candle.
     * None is lost or scored twice: the candles wait in the pair's queue meanwhile.
     */
    const switchModel = (entry: Owned) => {
      if (entry.switching) {
        void entry.switching.then(() => {
          if ((latest.get(pairName(entry.market))?.version ?? 0) > entry.version) switchModel(entry);
        });
        return;
      }
      const market = entry.market;
      entry.switching = (async () => {
        const pointer = latest.get(pairName(market));
        if (!pointer || pointer.version <= entry.version) return;
        const next = await loadVersion(pointer);
        if (owned.get(entry.key) !== entry || entry.leaving) return;
        entry.paused = true;
        try {
          // The burst under way may hold one of its candles: the rebuild starts after it.
          await inFlight;
          if (owned.get(entry.key) !== entry || entry.leaving) return;
          const scorer = new core.StreamScorer(next.pipeline, {
            symbol: market.symbol,
            interval: market.interval,
            thresholds: settings.thresholds,
            allowOtherInterval: true,
          });
          const last = entry.scorer.lastOpenTime;
          const warm =
            last === undefined
              ? { klines: [] }
              : await warmUpCandles(bus, klineSubject(market.interval, market.symbol), market, 0, {
                  openTime: last,
                  sequence: 0,
                });
          if (warm.klines.length > 0) scorer.warmUp(warm.klines);
          const from = entry.version;
          const old = entry.scorer.pipeline;
          entry.scorer = scorer;
          entry.taken = warm.klines.length;
          entry.version = pointer.version;
          emit({ type: 'switched', market, from, to: pointer.version, warmUp: warm.klines.length });
          if (![...owned.values()].some((other) => other.scorer.pipeline === old)) {
            for (const [folder, pipeline] of pipelines) {
              if ((await pipeline.catch(() => undefined)) === old) pipelines.delete(folder);
            }
            old.dispose();
          }
        } finally {
          entry.paused = false;
          wake();
        }
      })()
        .catch((error) =>
          context.err(
            `worker ${name}: ${market.symbol} ${market.interval}: model v${latest.get(pairName(market))?.version} not taken (${(error as Error).message}); scoring goes on with v${entry.version}`,
          ),
        )
        .finally(() => {
          entry.switching = undefined;
        });
    };
    const watching = registry
      ? await registry.watch((pointer) => {
          const previous = latest.get(pointer.pair);
          if (previous && previous.version >= pointer.version) return;
          latest.set(pointer.pair, pointer);
          const market = marketOfPair(pointer.pair);
          if (!market) return;
          const key = marketKey(market);
          noModel.delete(key);
          const entry = owned.get(key);
          if (entry && entry.version < pointer.version) switchModel(entry);
        })
      : undefined;

    const release = async (key: string, reason: string) => {
      const entry = owned.get(key);
      if (!entry) return;
      owned.delete(key);
      await stopPump(entry);
      // Its last burst's scores are on the bus before the next owner reads where to resume.
      await inFlight;
      await leases.release(key);
      emit({ type: 'released', market: entry.market, reason });
    };

    /** Renews every lease held; a market whose lease is lost is dropped at once. */
    const renew = async () => {
      await workers.put(name, workerRecord(settings.trainSlots));
      for (const key of leases.keys) {
        if ((await leases.renew(key)) !== 'lost') continue;
        const entry = owned.get(key);
        owned.delete(key);
        if (entry) {
          await stopPump(entry);
          emit({ type: 'released', market: entry.market, reason: 'lease lost (expired or taken)' });
        }
      }
    };

    /** Markets claimed or given up so that each worker alive has its share. */
    const balance = async () => {
      const marketKeys = (await keysOf(markets)).filter(
        (key) =>
          !noModel.has(key) && (settings.interval === undefined || key.startsWith(`${settings.interval}.`)),
      );
      const alive = Math.max(1, (await keysOf(workers)).length);
      let share = Math.ceil(marketKeys.length / alive);
      if (settings.maxMarkets !== undefined) share = Math.min(share, settings.maxMarkets);
      // More than a fair share (a worker joined): give the last taken up.
      for (const key of [...owned.keys()].slice(share)) await release(key, 'rebalanced to another worker');
      if (owned.size >= share) return;
      const held = new Set(await keysOf(await bus.bucket(BUCKETS.leases)));
      const free = shuffle(marketKeys.filter((key) => !held.has(key) && !owned.has(key)));
      for (const key of free) {
        if (owned.size >= share || signal.aborted) break;
        if (!(await leases.claim(key))) continue;
        const [interval, symbol] = key.split('.') as [Interval, string];
        try {
          await takeOver({ symbol, interval }, key);
        } catch (error) {
          const entry = owned.get(key);
          owned.delete(key);
          if (entry) await stopPump(entry);
          await leases.release(key);
          context.err(`worker ${name}: ${symbol} ${interval}: take-over failed: ${(error as Error).message}`);
        }
      }
    };
    /** Runs `round` every `everyMs`, one at a time; a failed round (the server away) is reported. */
    const every = (what: string, round: () => Promise<void>, everyMs: number) => {
      let running: Promise<void> | undefined;
      const run = () => {
        if (running || signal.aborted) return;
        running = round()
          .catch((error) =>
            context.err(`worker ${name}: ${what} failed (${(error as Error).message}); trying again`),
          )
          .finally(() => {
            running = undefined;
          });
      };
      const timer = setInterval(run, everyMs);
      run();
      return {
        async stop() {
          clearInterval(timer);
          await running;
        },
      };
    };
    // Register, then wait a round so workers started together see each other before claiming.
    await workers.put(name, workerRecord(settings.trainSlots));
    await sleep(ttl / 3, signal);
    const renewals = every('lease renewal', renew, ttl / 3);
    const balancing = every('balancing', balance, ttl / 3);
    const training =
      settings.trainSlots > 0
        ? runTrainer(
            bus,
            registry ?? (await ModelRegistry.open(bus)),
            name,
            settings.trainSlots,
            context,
            signal,
          )
        : Promise.resolve();
    training.catch((error) =>
      context.err(`worker ${name}: training jobs stopped: ${(error as Error).message}`),
    );

    const reportEvery = setInterval(() => {
      emit({ type: 'scored', candles: scoredCandles, alerts: scoredAlerts });
    }, 10_000);
    reportEvery.unref();

    try {
      while (!signal.aborted) {
        const burst = nextBurst(owned, settings.maxBurst);
        if (burst.length === 0) {
          await new Promise<void>((resolve) => {
            wakeScorer = resolve;
          });
          continue;
        }
        const handled = handleBurst(bus, burst, settings, name, emit, signal);
        inFlight = handled.then(
          () => undefined,
          () => undefined,
        );
        const result = await handled;
        scoredCandles += result.candles;
        scoredAlerts += result.alerts;
      }
    } finally {
      clearInterval(reportEvery);
      watching?.stop();
      await training.catch(() => undefined);
      await balancing.stop();
      await renewals.stop();
      await inFlight;
      // Stopped: every market is given up at once, so another worker takes it without waiting for
      // the lease to expire.
      for (const key of [...owned.keys()]) await release(key, 'worker stopping');
      await workers.delete(name).catch(() => undefined);
      emit({ type: 'scored', candles: scoredCandles, alerts: scoredAlerts });
      context.out(JSON.stringify({ type: 'worker', name, candles: scoredCandles, alerts: scoredAlerts }));
    }
  } finally {
    for (const pipeline of pipelines.values()) (await pipeline.catch(() => undefined))?.dispose();
    await bus.close();
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** The head of each owned market's queue, up to `max` candles: one per market, so each in order. */
function nextBurst(owned: Map<string, Owned>, max: number): { entry: Owned; message: JsMsg }[] {
  const burst: { entry: Owned; message: JsMsg }[] = [];
  for (const entry of owned.values()) {
    if (burst.length >= max) break;
    if (entry.leaving || entry.paused) continue;
    const message = entry.queue.shift();
    if (!message) continue;
    if (entry.queue.length < QUEUE_HIGH / 2) entry.wakePump?.();
    burst.push({ entry, message });
  }
  return burst;
}

/**
 * One burst: each candle read (a malformed one nak'd, then parked after `poisonAfter` deliveries),
 * taken into a scorer still warming up, skipped when already scored, else scored with the others
 * in one call; its alerts then its score published (waited for), then the candle acknowledged.
 */
async function handleBurst(
  bus: Bus,
  burst: { entry: Owned; message: JsMsg }[],
  settings: WorkerSettings,
  worker: string,
  emit: (event: WorkerEvent) => void,
  signal: AbortSignal,
): Promise<{ candles: number; alerts: number }> {
  const items: { entry: Owned; message: JsMsg; kline: Kline; via: KlineMessage['via'] }[] = [];
  for (const { entry, message } of burst) {
    const read = readKlineMessage(message.string(), entry.market);
    if ('problem' in read) {
      await poison(bus, entry.market, message, read.problem, settings.poisonAfter, emit, signal);
      continue;
    }
    const last = entry.scorer.lastOpenTime;
    if (last !== undefined && read.kline.openTime <= last) {
      message.ack(); // scored before (a redelivery, or by the previous owner)
      continue;
    }
    if (entry.taken < entry.scorer.historyNeeded) {
      entry.scorer.warmUp([read.kline]);
      entry.taken++;
      message.ack();
      continue;
    }
    items.push({ entry, message, kline: read.kline, via: read.via });
  }
  if (items.length === 0) return { candles: 0, alerts: 0 };
  const scores = await scoreAll(items, bus, settings, emit, signal);
  const alerts: { alert: Alert; item: (typeof items)[number] }[] = [];
  const done: { score: CandleScore; item: (typeof items)[number] }[] = [];
  for (const [index, score] of scores.entries()) {
    if (!score) continue;
    const item = items[index]!;
    item.entry.taken++;
    done.push({ score, item });
    for (const alert of item.entry.scorer.alertsOf(score))
      alerts.push({ alert: { ...alert, via: item.via }, item });
  }
  const headersOf = ({ message, entry }: (typeof items)[number]) => ({
    [HEADERS.klineSequence]: String(message.seq),
    [HEADERS.klineStoredAt]: String(Math.round(message.info.timestampNanos / 1e6)),
    [HEADERS.worker]: worker,
    ...(entry.version > 0 ? { [HEADERS.modelVersion]: String(entry.version) } : {}),
  });
  await Promise.all(
    alerts.map(({ alert, item }) =>
      publishStored(bus.js, alertSubject(alert.interval as Interval, alert.symbol), JSON.stringify(alert), {
        msgID: alert.id,
        headers: headersOf(item),
        signal,
      }),
    ),
  );
  await Promise.all(
    done.map(({ score, item }) =>
      publishStored(bus.js, scoreSubject(score.interval, score.symbol), JSON.stringify(score), {
        msgID: candleId(score.symbol, score.interval, score.openTime),
        headers: headersOf(item),
        signal,
      }),
    ),
  );
  for (const { item } of done) item.message.ack();
  return { candles: done.length, alerts: alerts.length };
}

/** Scores the candles in one call; when that fails, each alone, so a bad one is found and nak'd. */
async function scoreAll(
  items: { entry: Owned; message: JsMsg; kline: Kline }[],
  bus: Bus,
  settings: WorkerSettings,
  emit: (event: WorkerEvent) => void,
  signal: AbortSignal,
): Promise<(CandleScore | undefined)[]> {
  try {
    return await core.scoreMany(items.map(({ entry, kline }) => ({ scorer: entry.scorer, kline })));
  } catch (error) {
    if (items.length === 1) {
      const { entry, message } = items[0]!;
      // The scorer refused a candle that reads: it would refuse it again, so it is parked at once.
      await poison(bus, entry.market, message, `not scored: ${(error as Error).message}`, 1, emit, signal);
      return [undefined];
    }
    const scores: (CandleScore | undefined)[] = [];
    for (const item of items) scores.push(...(await scoreAll([item], bus, settings, emit, signal)));
    return scores;
  }
}

/**
 * A candle that cannot be read or scored: nak'd (delivered again a little later, so a passing
 * failure heals) until its `poisonAfter`-th delivery, then parked on `dlq.klines.<interval>.<SYMBOL>`
 * with why, and terminated: the market's later candles go on meanwhile and after.
 */
async function poison(
  bus: Bus,
  market: Market,
  message: JsMsg,
  reason: string,
  poisonAfter: number,
  emit: (event: WorkerEvent) => void,
  signal: AbortSignal,
) {
  const deliveries = message.info.deliveryCount;
  if (deliveries < poisonAfter) {
    message.nak(200);
    return;
  }
  await publishStored(bus.js, deadLetterSubject(market.interval, market.symbol), message.string(), {
    msgID: `${market.symbol}:${market.interval}:seq:${message.seq}`,
    headers: {
      [HEADERS.reason]: reason,
      [HEADERS.subject]: message.subject,
      [HEADERS.sequence]: String(message.seq),
      [HEADERS.deliveries]: String(deliveries),
    },
    signal,
  });
  message.term(reason.slice(0, 200));
  emit({ type: 'parked', market, sequence: message.seq, deliveries, reason });
}
