import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/**
 * A real NATS server with JetStream for the bus tests: started on 127.0.0.1 on a free port with its
 * store in a temporary folder, stopped (and the folder removed) after. `restart()` stops it and
 * starts it again on the same port and store, as an operator's restart would.
 */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** The server's log so far (its stderr), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

/** The nats-server binary: on PATH, else where Debian's package puts it; undefined when absent. */
export function natsServerBinary(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
  if (onPath !== '') return onPath;
  return ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((path) =>
    existsSync(path),
  );
}

/** Why the bus tests skip, or undefined when they can run. */
export const natsSkipReason = natsServerBinary()
  ? undefined
  : 'nats-server is not installed (apt-get install nats-server; .ci/run installs it): the bus tests skip';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `extraArgs`: more nats-server flags, e.g. a login (--user U --pass P). */
export async function startNatsServer(extraArgs: readonly string[] = []): Promise<NatsServer> {
  const binary = natsServerBinary();
  if (!binary) throw new Error(natsSkipReason);
  const storeDir = mkdtempSync(join(tmpdir(), 'nats-js-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    const spawned = spawn(
      binary,
      ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), ...extraArgs],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = spawned;
    await new Promise<void>((resolve, reject) => {
      const from = output.length;
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.slice(from).includes('Server is ready')) {
          spawned.stderr!.off('data', onData);
          spawned.stderr!.on('data', (more: Buffer) => {
            output += more.toString();
          });
          resolve();
        }
      };
      spawned.stderr!.on('data', onData);
      spawned.stdout!.resume();
      spawned.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${output}`)));
    });
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const late = setTimeout(() => running.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(late);
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    log: () => output,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async dispose() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

// The commands as real processes, and a client of the test's own to read what they stored.

/** The built binary, run as a real process (the bus scenarios need several at once). */
export const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
export const env = { ...process.env, CI: 'true', NO_COLOR: '1' };

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) when it ends. */
  exited: Promise<number | string>;
}

export function start(cwd: string, ...args: string[]): Running {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export function run(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8', timeout: 240_000 });
}

/** Stops a process with SIGTERM and waits for it. */
export async function stop(running: Running): Promise<number | string> {
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
  return running.exited;
}

/** Polls `check` until it holds (a deadline only so a broken run ends; no timing is asserted). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 150_000) {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A stored message as the tests read it back. */
export interface Stored {
  subject: string;
  seq: number;
  data: string;
  headers: Record<string, string>;
  /** When the server stored it (ms since the epoch, its clock). */
  storedAt: number;
}

/** A client of the test's own: counts and reads the streams the commands wrote. */
export async function busClient(url: string) {
  const nc: NatsConnection = await connect({
    servers: url,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  return {
    nc,
    js,
    jsm,
    async count(stream: string): Promise<number> {
      try {
        return (await jsm.streams.info(stream)).state.messages;
      } catch {
        return 0;
      }
    },
    /** Every message of `stream`, in order. */
    async read(stream: string): Promise<Stored[]> {
      const total = await jsm.streams
        .info(stream)
        .then((info) => info.state.last_seq)
        .catch(() => 0);
      const messages: Stored[] = [];
      if (total === 0) return messages;
      const consumer = await js.consumers.get(stream, { opt_start_seq: 1 });
      for (;;) {
        const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
        let received = 0;
        let pending = 1;
        for await (const message of batch) {
          received++;
          pending = message.info.pending;
          const headers: Record<string, string> = {};
          for (const [key, values] of message.headers ?? []) headers[key] = values[0] ?? '';
          messages.push({
            subject: message.subject,
            seq: message.seq,
            data: message.string(),
            headers,
            storedAt: message.info.timestampNanos / 1e6,
          });
          if (pending === 0) break;
        }
        if (pending === 0 || received === 0) break;
      }
      return messages;
    },
    close: () => nc.close(),
  };
}
