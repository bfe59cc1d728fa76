import type { Interval } from '@crypto-anomaly/data';
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { CommandContext } from '../command-context.js';
import { usageError } from '../errors.js';
import { wantsDashboard } from '../reporter.js';
import { withStopSignals } from '../session.js';
import { createPlainDisplay, type WatchDisplay } from '../watch/plain-display.js';
import { readSymbols } from '../watch/symbols.js';
import { type AlertMessage, DAY_MS, HEADERS, type ScoreMessage, STREAMS } from './bus-api.js';
import { type Bus, connectBus, ensureStreams, parseBusUrl, sleep } from './connection.js';

/** What `watch --bus` was asked to do. */
export interface WatchBusSettings {
  bus: string;
  /** Only these pairs (default: every pair on the bus). */
  symbols?: string[];
  interval?: Interval;
  json: boolean;
  tui: boolean;
  /** Alerts (and scores) stored from this time on are shown first; default the last 24 h of alerts. */
  since?: number;
  statusEveryMs: number;
}

/** The flags `watch` has that mean nothing with --bus: refused rather than silently ignored. */
const NOT_WITH_BUS = [
  'replay',
  'replayStore',
  'top',
  'quote',
  'trainMissing',
  'alertsFile',
  'webhook',
  'webhookJournal',
  // The workers' settings: given here they would change nothing.
  'model',
  'modelForAll',
  'store',
  'baseUrl',
  'streamUrl',
  'until',
  'speed',
  'cooldown',
  'thresholds',
  'refitEvery',
  'epochs',
  'backend',
];

/** `watch --bus URL` flags, checked. */
export function watchBusSettingsOf(flags: Record<string, unknown>): WatchBusSettings {
  for (const flag of NOT_WITH_BUS) {
    if (flags[flag] !== undefined && flags[flag] !== false) {
      const name = `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw usageError(
        name,
        'is not read with --bus (the workers score; watch --bus only shows their alerts and scores)',
        `drop ${name}, or drop --bus for the single-process watch`,
      );
    }
  }
  return {
    bus: parseBusUrl(flags['bus'] as string),
    ...(typeof flags['symbols'] === 'string' ? { symbols: readSymbols(flags['symbols'] as string) } : {}),
    ...(flags['interval'] !== undefined ? { interval: flags['interval'] as Interval } : {}),
    json: flags['json'] === true,
    tui: flags['tui'] !== false,
    ...(flags['since'] !== undefined ? { since: flags['since'] as number } : {}),
    statusEveryMs: ((flags['statusEvery'] as number | undefined) ?? 60) * 1000,
  };
}

/**
 * `crypto-anomaly watch --bus URL`: the dashboard (or JSON lines off a terminal) of the whole
 * deployment, on any machine: fed by the ALERTS and SCORES streams the workers publish to,
 * through the same reducer and displays as the single-process watch. Nothing is scored here.
 * Each alert id is shown once. Runs until stopped (q, Ctrl+C, a signal).
 */
export async function runWatchBus(flags: Record<string, unknown>, context: CommandContext): Promise<void> {
  const settings = watchBusSettingsOf(flags);
  const controller = new AbortController();
  await withStopSignals(context, controller, () => watchBus(settings, context, controller), {
    stoppedHint: 'the alerts and scores stay on the bus: watch --bus shows them again when started',
  });
}

async function watchBus(settings: WatchBusSettings, context: CommandContext, controller: AbortController) {
  const { signal } = controller;
  let display: WatchDisplay | undefined;
  // Each followed stream's way to restart its consumer once the link is back (see follow).
  const onReconnect = new Set<() => void>();
  const bus = await connectBus(settings.bus, `crypto-anomaly watch ${process.pid}`, {
    onStatus: (status) => {
      if (status === 'reconnect') for (const restart of onReconnect) restart();
      display?.event({
        type: 'connection',
        status:
          status === 'disconnect'
            ? { type: 'reconnecting', connection: 1, attempt: 1, waitMs: 250, reason: 'bus connection lost' }
            : { type: 'connected', connection: 1 },
        at: Date.now(),
      });
    },
  });
  const title = `crypto-anomaly watch · bus ${settings.bus}${settings.symbols ? ` · ${settings.symbols.length} pair${settings.symbols.length === 1 ? '' : 's'}` : ''}${settings.interval ? ` · ${settings.interval}` : ''}`;
  try {
    // A bus nothing has run on yet has no streams: created here, as every other command does,
    // so watch waits for the first alerts instead of failing with "stream not found".
    await ensureStreams(bus);
    const dashboard = !settings.json && wantsDashboard(settings.tui);
    if (dashboard) {
      const { createDashboardDisplay } = await import('../watch/dashboard-display.js');
      const shown = createDashboardDisplay(title, 'live');
      void shown.quit.then(() => controller.abort(new Error('stopped with q')));
      display = shown;
    } else display = createPlainDisplay(title, context.out, context.err, settings.statusEveryMs);
    const shown = display;
    shown.event({
      type: 'started',
      symbols: settings.symbols ?? [],
      ...(settings.interval !== undefined ? { interval: settings.interval } : {}),
      mode: 'live',
      at: Date.now(),
    });
    shown.event({ type: 'connection', status: { type: 'connected', connection: 1 }, at: Date.now() });
    const wanted = (symbol: string, interval: string) =>
      (settings.symbols === undefined || settings.symbols.includes(symbol)) &&
      (settings.interval === undefined || settings.interval === interval);
    const seen = new Set<string>();
    const alerts = follow(
      bus,
      onReconnect,
      STREAMS.alerts,
      'alerts.>',
      settings.since ?? Date.now() - DAY_MS,
      signal,
      (message) => {
        const alert = message.json() as AlertMessage;
        if (!wanted(alert.symbol, alert.interval) || seen.has(alert.id)) return;
        seen.add(alert.id);
        shown.event({ type: 'alert', alert, delivered: true, at: Date.now() });
        if (!dashboard) context.out(JSON.stringify(alert));
      },
    );
    const scores = follow(bus, onReconnect, STREAMS.scores, 'scores.>', settings.since, signal, (message) => {
      const score = message.json() as ScoreMessage;
      if (!wanted(score.symbol, score.interval)) return;
      const storedAt = Number(message.headers?.get(HEADERS.klineStoredAt));
      const lagMs = Number.isFinite(storedAt) ? Math.max(0, message.info.timestampNanos / 1e6 - storedAt) : 0;
      shown.event({ type: 'scored', score, via: 'stream', lagMs, at: Date.now() });
    });
    await Promise.all([alerts, scores]);
  } finally {
    await display?.close({ stopped: controller.signal.aborted });
    await bus.close();
  }
}

/**
 * Follows one stream with an ordered consumer (nothing left on the server): from `since` (stored
 * time) when given, else each subject's last message, then every new one, until `signal` aborts.
 * After a reconnect (a server restart) its consumer is replaced by one that resumes after the last
 * message seen, so nothing is skipped or shown twice: the client's own recovery of an ordered
 * consumer could stall for good, and an audit saw watch --bus keep its scores and miss every alert
 * published after a restart. A consumer that cannot be made yet (JetStream still starting) is
 * tried again each second.
 */
async function follow(
  bus: Bus,
  onReconnect: Set<() => void>,
  stream: string,
  filter: string,
  since: number | undefined,
  signal: AbortSignal,
  onMessage: (message: JsMsg) => void,
) {
  let last: number | undefined;
  while (!signal.aborted) {
    try {
      const consumer = await bus.js.consumers.get(stream, {
        filter_subjects: filter,
        ...(last !== undefined
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 }
          : since !== undefined
            ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() }
            : { deliver_policy: DeliverPolicy.LastPerSubject }),
      });
      const messages = await consumer.consume();
      const stop = () => messages.stop();
      signal.addEventListener('abort', stop, { once: true });
      onReconnect.add(stop);
      try {
        for await (const message of messages) {
          last = message.seq;
          try {
            onMessage(message);
          } catch {
            // A message that does not read is not the dashboard's to fix: the next one is shown.
          }
        }
      } finally {
        signal.removeEventListener('abort', stop);
        onReconnect.delete(stop);
      }
    } catch {
      // The server is away (restarting): the client reconnects; the next attempt resumes.
    }
    await sleep(1000, signal);
  }
}
