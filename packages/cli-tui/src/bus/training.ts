import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTemporaryFolder } from '@crypto-anomaly/data';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { CommandContext } from '../command-context.js';
import { trainInThread } from '../train-thread.js';
import { BUCKETS, STREAMS, TRAIN_JOB_SUBJECT, type TrainJob, trainProgressSubject } from './bus-api.js';
import { type Bus, publishStored, sleep } from './connection.js';
import type { ModelRegistry } from './models.js';

/** What happened to a job: started, an epoch trained, done (the version stored) or failed. */
export type TrainProgressBody =
  | { type: 'started'; attempt: number }
  | { type: 'epoch'; detector: string; epoch: number; epochs: number; loss: number }
  | { type: 'done'; version: number; ms: number; candles: number; bytes: number }
  | { type: 'failed'; message: string; attempt: number; final: boolean };

/** A progress event on `train.progress.<SYMBOL_INTERVAL>` (stream TRAINING). */
export type TrainProgress = {
  job: string;
  request: string;
  pair: string;
  worker: string;
  at: number;
} & TrainProgressBody;

/** Attempts of a job before it is given up (a failure or a worker dying mid-training). */
export const TRAIN_ATTEMPTS = 3;
const TRAINERS = 'trainers';
/** A job not acknowledged for this long goes to another worker; a training worker says it is alive every third of it. */
const JOB_ACK_WAIT_MS = 60_000;
const doneKey = (job: string) => `jobs.${job}`;

/**
 * The training side of a worker: takes jobs from the work queue one at a time (up to `slots` at
 * once), trains each in a thread, pushes the model as the pair's next version and acknowledges
 * the job. A job already done (its `jobs.<id>` key in the ca-train-jobs bucket, kept a day: a
 * worker that died between the push and the acknowledgement) is acknowledged without training
 * again.
 */
export async function runTrainer(
  bus: Bus,
  registry: ModelRegistry,
  worker: string,
  slots: number,
  context: CommandContext,
  signal: AbortSignal,
): Promise<void> {
  await bus.jsm.consumers
    .add(STREAMS.jobs, {
      durable_name: TRAINERS,
      filter_subject: TRAIN_JOB_SUBJECT,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(JOB_ACK_WAIT_MS),
      max_deliver: TRAIN_ATTEMPTS,
    })
    .catch(() => undefined); // there already (another worker made it)
  const consumer = await bus.js.consumers.get(STREAMS.jobs, TRAINERS);
  const running = new Set<Promise<void>>();
  while (!signal.aborted) {
    if (running.size >= slots) {
      await Promise.race(running);
      continue;
    }
    let message: JsMsg | null;
    try {
      message = await consumer.next({ expires: 2_000 });
    } catch (error) {
      if (signal.aborted) break;
      context.err(`worker ${worker}: training jobs: ${(error as Error).message}; trying again`);
      await sleep(1_000, signal);
      continue;
    }
    if (!message) continue;
    const task = trainOne(bus, registry, worker, message, context, signal).finally(() =>
      running.delete(task),
    );
    running.add(task);
  }
  await Promise.all(running);
}

async function trainOne(
  bus: Bus,
  registry: ModelRegistry,
  worker: string,
  message: JsMsg,
  context: CommandContext,
  signal: AbortSignal,
): Promise<void> {
  let job: TrainJob;
  try {
    job = message.json<TrainJob>();
  } catch {
    message.term('not a training job');
    return;
  }
  const attempt = message.info.deliveryCount;
  const progress = (event: TrainProgressBody, id?: string) =>
    publishStored(
      bus.js,
      trainProgressSubject(job.pair),
      JSON.stringify({ job: job.id, request: job.request, pair: job.pair, worker, at: Date.now(), ...event }),
      { ...(id ? { msgID: id } : {}), signal },
    ).catch(() => undefined);
  const models = await bus.bucket(BUCKETS.trainJobs);
  const done = await models.get(doneKey(job.id)).catch(() => null);
  if (done?.operation === 'PUT') {
    message.ack();
    return;
  }
  context.err(`worker ${worker}: training ${job.pair} (job ${job.id}, attempt ${attempt})`);
  await progress({ type: 'started', attempt });
  const alive = setInterval(() => message.working(), JOB_ACK_WAIT_MS / 3);
  const modelRoot = await makeTemporaryFolder('crypto-anomaly-train-');
  try {
    const trained = await trainInThread(
      {
        symbol: job.symbol,
        interval: job.interval,
        modelDir: join(modelRoot, job.pair),
        history: job.source,
        ...(job.since !== undefined ? { since: job.since } : {}),
        ...(job.until !== undefined ? { until: job.until } : {}),
        ...(job.epochs !== undefined ? { epochs: job.epochs } : {}),
        ...(job.seed !== undefined ? { seed: job.seed } : {}),
        ...(job.backend !== undefined ? { backend: job.backend } : {}),
        ...(job.config !== undefined ? { config: job.config } : {}),
      },
      signal,
      (epoch) => void progress(epoch),
    );
    const pointer = await registry.push(job.pair, trained.modelDir, worker);
    await models.create(doneKey(job.id), String(pointer.version)).catch(() => undefined);
    await progress(
      {
        type: 'done',
        version: pointer.version,
        ms: trained.ms,
        candles: trained.candles,
        bytes: pointer.bytes,
      },
      `${job.id}:done`,
    );
    context.err(
      `worker ${worker}: trained ${job.pair} on ${trained.candles} candles in ${(trained.ms / 1000).toFixed(1)} s, stored as v${pointer.version}`,
    );
    message.ack();
  } catch (error) {
    if (signal.aborted) {
      message.nak(); // another worker takes it
      return;
    }
    const final = attempt >= TRAIN_ATTEMPTS;
    await progress({ type: 'failed', message: (error as Error).message, attempt, final });
    context.err(`worker ${worker}: training ${job.pair} failed: ${(error as Error).message}`);
    if (final) message.term((error as Error).message.slice(0, 200));
    else message.nak(1_000);
  } finally {
    clearInterval(alive);
    await rm(modelRoot, { recursive: true, force: true });
  }
}

/**
 * `train --bus`: one job per pair on the work queue (`onQueued` once they are all there), then the
 * progress of each until every pair is done or failed for good. Returns each pair's outcome.
 */
export async function requestTraining(
  bus: Bus,
  jobs: Omit<TrainJob, 'id' | 'request'>[],
  onProgress: (event: TrainProgress) => void,
  signal: AbortSignal,
  onQueued?: () => void,
): Promise<Map<string, Extract<TrainProgress, { type: 'done' | 'failed' }>>> {
  const request = randomBytes(6).toString('hex');
  // Read from the first event after now: older requests' events are not ours.
  const from = (await bus.jsm.streams.info(STREAMS.training)).state.last_seq + 1;
  const consumer = await bus.js.consumers.get(STREAMS.training, {
    filter_subjects: 'train.progress.>',
    opt_start_seq: from,
  });
  const outcomes = new Map<string, Extract<TrainProgress, { type: 'done' | 'failed' }>>();
  const messages = await consumer.consume();
  for (const job of jobs) {
    const id = `${request}.${job.pair}`;
    await publishStored(bus.js, TRAIN_JOB_SUBJECT, JSON.stringify({ ...job, id, request }), {
      msgID: id,
      signal,
    });
  }
  onQueued?.();
  const stop = () => void messages.close();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const message of messages) {
      const event = message.json<TrainProgress>();
      if (event.request !== request) continue;
      onProgress(event);
      if (event.type === 'done' || (event.type === 'failed' && event.final)) outcomes.set(event.pair, event);
      if (outcomes.size === jobs.length) break;
    }
  } finally {
    signal.removeEventListener('abort', stop);
    await messages.close();
  }
  return outcomes;
}
