import { readFileSync } from 'node:fs';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type PubAck,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  nanos,
  headers as natsHeaders,
} from '@nats-io/transport-node';
import { CliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import {
  BUCKETS,
  type BusOptions,
  DAY_MS,
  DEFAULT_BUS_OPTIONS,
  STREAMS,
  TRAIN_JOB_SUBJECT,
} from './bus-api.js';

/** One process's link to the bus: the connection, JetStream, and the KV buckets it uses. */
export interface Bus {
  readonly url: string;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly options: Readonly<BusOptions>;
  bucket(name: string): Promise<KV>;
  close(): Promise<void>;
}

/** `--bus`: nats://HOST:PORT (several servers of a cluster with commas). */
export function parseBusUrl(value: string): string {
  const servers = value
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '');
  // A login in the URL would sit in `ps`, the shell's history and every line naming the bus: the
  // message names neither the value nor the secret.
  // Any @ is taken for one, with a scheme or without (a:secret@host:4222 is echoed by no message).
  if (servers.some((server) => server.includes('@'))) {
    throw new CliError(
      'RUNTIME',
      '--bus carries a user, password or token (USER:PASS@ or TOKEN@); it was not used',
      {
        option: '--bus',
        hint: 'give the login in the environment: NATS_USER and NATS_PASSWORD, NATS_TOKEN, or NATS_CREDS (a .creds file)',
        exitCode: ExitCode.usageError,
      },
    );
  }
  if (servers.length === 0 || servers.some((server) => !/^(nats|tls):\/\/[^\s/@]+(:\d+)?\/?$/.test(server))) {
    throw new CliError('USAGE', `--bus: expected nats://HOST:PORT, got ${JSON.stringify(value)}`, {
      option: '--bus',
      hint: 'e.g. --bus nats://127.0.0.1:4222 (a cluster: several with commas)',
    });
  }
  return servers.join(',');
}

/**
 * The bus login, from the environment only: NATS_CREDS (a .creds file: JWT and seed), NATS_TOKEN,
 * or NATS_USER with NATS_PASSWORD; none for a server without one. Never printed.
 */
export function busAuth(
  env: NodeJS.ProcessEnv = process.env,
): Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator'> {
  const creds = env['NATS_CREDS'];
  if (creds) {
    let text: Uint8Array;
    try {
      text = readFileSync(creds);
    } catch (error) {
      throw new CliError(
        'RUNTIME',
        `NATS_CREDS names ${creds}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        {
          hint: 'set NATS_CREDS to the path of the .creds file nsc or your operator gave you',
          exitCode: ExitCode.usageError,
        },
      );
    }
    return { authenticator: credsAuthenticator(text) };
  }
  if (env['NATS_TOKEN']) return { token: env['NATS_TOKEN'] };
  if (env['NATS_USER']) {
    if (!env['NATS_PASSWORD']) {
      throw new CliError('RUNTIME', 'NATS_USER is set without NATS_PASSWORD', {
        hint: 'set NATS_PASSWORD too (or unset NATS_USER for a server without a login)',
        exitCode: ExitCode.usageError,
      });
    }
    return { user: env['NATS_USER'], pass: env['NATS_PASSWORD'] };
  }
  return {};
}

/**
 * Connects to the NATS server(s) at `url`, with the login `busAuth` reads from the environment, and
 * reconnects for ever when the link drops (a server restart, a failover): the commands keep
 * running and resume. The first connection is tried for `connectTimeoutMs` (10 s) before giving
 * up with an error that names --bus; a refused login gives up at once.
 */
export async function connectBus(
  url: string,
  name: string,
  options: Partial<BusOptions> & { onStatus?: (status: string) => void; connectTimeoutMs?: number } = {},
): Promise<Bus> {
  const resolved = { ...DEFAULT_BUS_OPTIONS, ...options };
  const auth = busAuth();
  const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
  let nc: NatsConnection;
  // The first connection: tried again until the deadline (a server still starting), then an error;
  // once connected, the link is re-established for ever.
  for (;;) {
    try {
      nc = await connect({
        servers: url.split(','),
        name,
        ...auth,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        waitOnFirstConnect: false,
        timeout: Math.max(1_000, deadline - Date.now()),
        pingInterval: 5_000,
      });
      break;
    } catch (error) {
      const message = (error as Error).message;
      const login = /authori[sz]ation|authentication|user.*password|token/i.test(message);
      if (login || Date.now() >= deadline) {
        // A login given and refused is a wrong login, not a missing one (and the server was reached).
        const given = auth.user ?? auth.token ?? auth.authenticator;
        throw new CliError(
          'RUNTIME',
          login
            ? `the NATS server at ${url} refused the login: ${message}`
            : `cannot reach the NATS server at ${url}: ${message}`,
          {
            option: '--bus',
            hint: login
              ? given
                ? 'check the login the environment gives (NATS_USER and NATS_PASSWORD, NATS_TOKEN or NATS_CREDS) against the server'
                : 'the server wants a login: set NATS_USER and NATS_PASSWORD, NATS_TOKEN, or NATS_CREDS (a .creds file)'
              : 'start it (nats-server -js -sd DIR) or fix --bus; JetStream must be enabled (-js)',
            cause: error,
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  if (options.onStatus) {
    const onStatus = options.onStatus;
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect') onStatus(status.type);
      }
    })().catch(() => undefined);
  }
  const js = jetstream(nc, { timeout: 5_000 });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: 5_000 });
  } catch (error) {
    await nc.close();
    throw new CliError('RUNTIME', `the NATS server at ${url} has no JetStream: ${(error as Error).message}`, {
      option: '--bus',
      hint: 'start nats-server with -js (and -sd DIR for its store)',
      cause: error,
    });
  }
  const kvm = new Kvm(js);
  const buckets = new Map<string, Promise<KV>>();
  return {
    url,
    nc,
    js,
    jsm,
    options: Object.freeze(resolved),
    bucket(bucketName) {
      let bucket = buckets.get(bucketName);
      if (!bucket) {
        bucket = createBucket(kvm, bucketName, resolved);
        buckets.set(bucketName, bucket);
        bucket.catch(() => buckets.delete(bucketName));
      }
      return bucket;
    },
    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}

async function createBucket(kvm: Kvm, name: string, options: BusOptions): Promise<KV> {
  const settings =
    name === BUCKETS.leases
      ? { history: 1, ttl: options.leaseTtlMs }
      : name === BUCKETS.workers
        ? { history: 1, ttl: options.leaseTtlMs }
        : name === BUCKETS.models
          ? { history: 5 }
          : name === BUCKETS.trainJobs
            ? { history: 1, ttl: DAY_MS }
            : { history: 1 };
  // Two processes creating it at once: one of them may see the other's stream appear; again binds it.
  return kvm.create(name, settings).catch(() => kvm.create(name, settings));
}

/** The streams of the bus, as `ensureStreams` creates them. */
export function streamConfigs(options: BusOptions): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: 1,
    duplicate_window: nanos(options.duplicateWindowMs),
  };
  return [
    { ...common, name: STREAMS.klines, subjects: ['klines.>'], max_age: nanos(options.klinesMaxAgeMs) },
    { ...common, name: STREAMS.scores, subjects: ['scores.>'], max_age: nanos(options.scoresMaxAgeMs) },
    { ...common, name: STREAMS.alerts, subjects: ['alerts.>'], max_age: nanos(options.alertsMaxAgeMs) },
    { ...common, name: STREAMS.deadLetters, subjects: ['dlq.>'], max_age: nanos(options.alertsMaxAgeMs) },
    // A job is removed once a worker acknowledges it; one left unacknowledged goes to another worker.
    {
      ...common,
      name: STREAMS.jobs,
      subjects: [TRAIN_JOB_SUBJECT],
      retention: RetentionPolicy.Workqueue,
      max_age: nanos(options.alertsMaxAgeMs),
    },
    { ...common, name: STREAMS.training, subjects: ['train.progress.>'], max_age: nanos(DAY_MS) },
  ];
}

/**
 * Creates the streams when missing; a stream that exists is left as it is (an operator may have
 * tuned its retention or replicas), so every process can call this at start.
 */
export async function ensureStreams(bus: Bus): Promise<void> {
  for (const config of streamConfigs(bus.options)) {
    const name = config.name;
    try {
      await bus.jsm.streams.info(name);
    } catch {
      try {
        await bus.jsm.streams.add(config);
      } catch (error) {
        // Another process created it meanwhile: fine as long as it is there now.
        await bus.jsm.streams.info(name).catch(() => {
          throw error;
        });
      }
    }
  }
}

export interface PublishOptions {
  msgID?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Told once per failed attempt (the server down, a timeout). */
  onRetry?: (error: Error, attempt: number) => void;
}

/**
 * Publishes to JetStream and waits for the server to store it, retrying (250 ms, doubling to 5 s)
 * while the server is unreachable: with a message id, a retry after a lost acknowledgement is
 * dropped as a duplicate, so a message is stored once. Rejects only when `signal` aborts.
 */
export async function publishStored(
  js: JetStreamClient,
  subject: string,
  payload: string,
  options: PublishOptions = {},
): Promise<PubAck> {
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const hdrs = natsHeaders();
      for (const [key, value] of Object.entries(options.headers ?? {})) hdrs.set(key, value);
      return await js.publish(subject, payload, {
        ...(options.msgID !== undefined ? { msgID: options.msgID } : {}),
        headers: hdrs,
        timeout: 5_000,
      });
    } catch (error) {
      options.onRetry?.(error as Error, attempt);
      await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt - 1, 5)), options.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
