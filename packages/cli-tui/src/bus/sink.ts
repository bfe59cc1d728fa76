import { hostname } from 'node:os';
import type { Alert } from '@crypto-anomaly/core';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { CommandContext } from '../command-context.js';
import { CliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { shownUrl } from '../options.js';
import { withStopSignals } from '../session.js';
import { AlertsFileSink } from '../watch/sinks.js';
import { STREAMS } from './bus-api.js';
import { connectBus, ensureStreams, sleep } from './connection.js';

/** What `sink` was asked to do, flags checked (see commands/sink.ts). */
export interface SinkSettings {
  bus: string;
  /** The durable consumer is `sink-<name>`: a restarted sink of that name goes on where it was. */
  name: string;
  target: { kind: 'file'; path: string } | { kind: 'webhook'; url: string };
  /** A new sink's first alert: every alert the stream holds, or only those stored from now on. */
  from: 'all' | 'new';
  /** Only alerts of these subjects (default `alerts.>`). */
  filter: string;
}

/** How long an alert handed to a sink may stay unacknowledged before the server delivers it again. */
const ACK_WAIT_MS = 30_000;
/** Ids a webhook sink remembers, so a redelivery within them is not posted twice. */
const REMEMBERED = 100_000;

/**
 * `crypto-anomaly sink`: a consumer of the ALERTS stream that hands each alert to a file or a
 * webhook. The consumer is durable (`sink-<name>`): a restarted sink resumes after the last
 * acknowledged alert. An alert is acknowledged only after it is written (the file) or posted with
 * a 2xx answer (the webhook), so none is lost; the server delivers at least once, and the sink
 * drops the ids it has delivered: the file reads the ids it holds at start, the webhook remembers
 * the last 100,000 and sends each alert's id in an Idempotency-Key header for the receiver.
 */
export async function runSink(settings: SinkSettings, context: CommandContext): Promise<void> {
  const controller = new AbortController();
  await withStopSignals(context, controller, () => sink(settings, context, controller.signal), {
    stoppedHint:
      'started again with the same --name, the sink resumes after the last alert it acknowledged; none is lost',
    graceMs: 10_000,
  });
}

async function sink(settings: SinkSettings, context: CommandContext, signal: AbortSignal): Promise<void> {
  const label = `sink ${settings.name}`;
  const bus = await connectBus(settings.bus, `crypto-anomaly ${label} ${hostname()}-${process.pid}`, {
    onStatus: (status) =>
      context.err(
        `${label}: bus: ${status === 'disconnect' ? 'connection lost, reconnecting' : 'reconnected'}`,
      ),
  });
  let delivered = 0;
  let duplicates = 0;
  const file = settings.target.kind === 'file' ? new AlertsFileSink(settings.target.path) : undefined;
  const posted = new Set<string>();
  // Webhook attempts failed in a row, and when that was last said.
  let failures = 0;
  let lastSaid = 0;
  try {
    await ensureStreams(bus);
    const durable = `sink-${settings.name}`;
    const exists = await bus.jsm.consumers.info(STREAMS.alerts, durable).catch(() => undefined);
    const following = exists?.config.filter_subject ?? exists?.config.filter_subjects?.join(',');
    if (exists && following !== undefined && following !== settings.filter) {
      // Resumed, it would deliver what it follows, not what was asked: refused, not pretended.
      throw new CliError(
        'RUNTIME',
        `consumer ${durable} follows ${following}, not ${settings.filter}: a sink of that name already exists for other alerts`,
        {
          hint: `give this target its own --name (or ask for ${following} again)`,
          exitCode: ExitCode.usageError,
        },
      );
    }
    if (!exists) {
      await bus.jsm.consumers.add(STREAMS.alerts, {
        durable_name: durable,
        filter_subject: settings.filter,
        deliver_policy: settings.from === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(ACK_WAIT_MS),
        max_deliver: -1,
        max_ack_pending: 1_000,
      });
    }
    context.err(
      `${label}: ${exists ? 'resuming' : 'new'} consumer ${durable} on ${settings.filter}${exists ? ' after its last acknowledged alert (--from is for a new sink)' : ''} → ${settings.target.kind === 'file' ? settings.target.path : shownUrl(settings.target.url)}${file ? ` (${file.size} alerts already in it)` : ''}`,
    );
    const consumer = await bus.js.consumers.get(STREAMS.alerts, durable);
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => void messages.close();
    signal.addEventListener('abort', stop, { once: true });
    for await (const message of messages) {
      if (signal.aborted) break;
      const alert = readAlert(message);
      if (!alert) {
        message.term('not an alert');
        context.err(`${label}: message ${message.seq} is not an alert; dropped`);
        continue;
      }
      if (file) {
        const before = file.size;
        try {
          file.deliver(alert);
        } catch (error) {
          // Not kept (a full disk): handed back at once, for the next sink to write.
          message.nak();
          throw error;
        }
        if (file.size === before) duplicates++;
        else delivered++;
        message.ack();
        continue;
      }
      if (posted.has(alert.id)) {
        duplicates++;
        message.ack();
        continue;
      }
      const outcome = await post((settings.target as { url: string }).url, alert, signal);
      if (outcome === 'sent') {
        posted.add(alert.id);
        if (posted.size > REMEMBERED) posted.delete(posted.values().next().value!);
        delivered++;
        message.ack();
        if (failures > 0) {
          context.err(`${label}: the webhook answers again, after ${failures} failed attempts`);
          failures = 0;
        }
      } else {
        // Delivered again after a pause: the receiver down does not lose the alert. The pause
        // doubles up to 30 s while it stays down, and the failure is said once a minute, not once
        // per alert and second (an audit counted 600 lines in 10 minutes).
        failures++;
        if (failures === 1 || Date.now() - lastSaid >= 60_000) {
          context.err(
            `${label}: ${alert.id} not delivered (${outcome.reason}); retried${failures > 1 ? ` (${failures} failed attempts so far)` : ''}`,
          );
          lastSaid = Date.now();
        }
        const pauseMs = Math.min(30_000, 1_000 * 2 ** Math.min(5, failures - 1));
        message.nak(pauseMs + 1_000);
        await sleep(pauseMs, signal);
      }
    }
    signal.removeEventListener('abort', stop);
  } finally {
    await file?.close();
    await bus.close();
    context.err(`${label}: ${delivered} alerts delivered, ${duplicates} redeliveries dropped`);
    context.out(JSON.stringify({ type: 'sink', name: settings.name, delivered, duplicates }));
  }
}

function readAlert(message: JsMsg): Alert | undefined {
  try {
    const alert = message.json<Alert>();
    if (typeof alert?.id === 'string' && alert.id !== '') return alert;
  } catch {
    // not JSON
  }
  return undefined;
}

async function post(url: string, alert: Alert, signal: AbortSignal): Promise<'sent' | { reason: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': alert.id },
      body: JSON.stringify(alert),
      signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
    });
    await response.body?.cancel().catch(() => undefined);
    return response.ok ? 'sent' : { reason: `HTTP ${response.status}` };
  } catch (error) {
    return { reason: (error as Error).message };
  }
}
