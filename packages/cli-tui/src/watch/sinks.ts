import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Alert } from '@crypto-anomaly/core';
import { processAlive } from '@crypto-anomaly/data';
import { CliError, unwritableFile } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { AlertSink } from './watch-api.js';

/**
 * The records of a JSON-lines file watch appends to (the alerts file, the webhook journal). A line
 * that does not parse is tolerated only when it starts with `{`: a record cut short by a kill
 * mid-write. Any other line, or a record of another shape, means the file is not one crypto-anomaly
 * wrote: it is refused before anything is appended to it.
 */
function readOwnJsonLines(
  path: string,
  flag: string,
  isOurs: (entry: Record<string, unknown>) => boolean,
): { entries: Record<string, unknown>[]; endsWithNewline: boolean } {
  if (!existsSync(path)) return { entries: [], endsWithNewline: true };
  const stats = statSync(path);
  // A pipe or a device (/dev/stdout, a FIFO a log shipper reads) is appended to, never read back.
  if (!stats.isFile() && !stats.isDirectory()) return { entries: [], endsWithNewline: true };
  if (stats.isDirectory()) {
    throw new CliError('RUNTIME', `${flag} ${path} is a folder: name the file to append to`, {
      option: flag,
      hint: `e.g. ${flag} ${path.replace(/\/+$/, '')}/alerts.jsonl`,
      exitCode: ExitCode.usageError,
    });
  }
  const text = readFileSync(path, 'utf8');
  const entries: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      if (line.startsWith('{')) continue; // cut short by a kill: its alert is written again whole
      entry = undefined;
    }
    if (
      typeof entry === 'object' &&
      entry !== null &&
      !Array.isArray(entry) &&
      isOurs(entry as Record<string, unknown>)
    ) {
      entries.push(entry as Record<string, unknown>);
      continue;
    }
    const shown = line.length > 60 ? `${line.slice(0, 60)}…` : line;
    throw new CliError(
      'RUNTIME',
      `${path} is not a file ${flag} wrote (line ${index + 1}: ${JSON.stringify(shown)}); nothing was appended to it`,
      {
        option: flag,
        hint: `give ${flag} a new file, or one crypto-anomaly wrote`,
        exitCode: ExitCode.usageError,
      },
    );
  }
  return { entries, endsWithNewline: text.length === 0 || text.endsWith('\n') };
}

/**
 * A sink that cannot keep what it is given (its file cannot be written: a full disk, a lost
 * mount): the watch stops before the candle is saved as handled, so a restart scores it again and
 * offers its alert again, instead of going on without it.
 */
export class SinkFailure extends CliError {
  readonly fatal = true;
  constructor(message: string, flag: string) {
    super('RUNTIME', message, {
      option: flag,
      hint: `free space (or fix ${flag}'s folder), then run again: it resumes at the candle whose alert was not kept`,
    });
  }
}

/**
 * Checks, before anything is opened or created, that a sink's file can be written: its folder
 * exists and is writable, and the file, if there, too. Throws `unwritableFile` naming the flag.
 */
export function assertSinkFileWritable(path: string, flag: string): void {
  try {
    accessSync(dirname(resolve(path)), constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.W_OK);
  } catch (error) {
    throw unwritableFile(flag, path, error);
  }
}

/** Opens `path` to append, or throws `unwritableFile` naming the flag. */
function openAppend(path: string, flag: string): number {
  try {
    return openSync(path, 'a');
  } catch (error) {
    throw unwritableFile(flag, path, error);
  }
}

/**
 * One writer per file: `FILE.lock` (our pid and host), made with O_EXCL before the file is read.
 * Two processes appending to one alerts file (or journal) would each write every alert, each
 * knowing only the ids the file held when it started. A lock whose process is gone is taken over.
 * A pipe or a device is not locked. Returns the release.
 */
function lockAppend(path: string, flag: string): () => void {
  if (existsSync(path) && !statSync(path).isFile()) return () => {};
  const lock = `${path}.lock`;
  const mine = JSON.stringify({ pid: process.pid, host: hostname() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, mine, { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(lock, 'utf8') === mine) unlinkSync(lock);
        } catch {
          // Gone already.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unwritableFile(flag, path, error);
      let holder: { pid?: number; host?: string } = {};
      try {
        holder = JSON.parse(readFileSync(lock, 'utf8'));
      } catch {
        // Unreadable: not one of ours, or cut short; treated as held by nobody alive.
      }
      if (holder.pid === process.pid && holder.host === hostname()) {
        throw new CliError('RUNTIME', `${flag} ${path} is a file this command already writes`, {
          option: flag,
          hint: 'give each of --alerts-file and --webhook-journal a file of its own',
          exitCode: ExitCode.usageError,
        });
      }
      const alive =
        typeof holder.pid === 'number' && (holder.host !== hostname() || processAlive(holder.pid));
      if (alive) {
        throw new CliError(
          'RUNTIME',
          `${flag} ${path} is being written by another crypto-anomaly (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''}): two writers would each write every alert`,
          {
            option: flag,
            hint: `give this one another file, or stop the other (if it is gone, remove ${lock})`,
            exitCode: ExitCode.usageError,
          },
        );
      }
      unlinkSync(lock);
    }
  }
  throw new CliError('RUNTIME', `${flag}: could not lock ${path}`, { option: flag, hint: `remove ${lock}` });
}

/** `read`, releasing the lock when it throws (a file refused is left as it was, lock and all). */
function readLocked<T>(unlock: () => void, read: () => T): T {
  try {
    return read();
  } catch (error) {
    unlock();
    throw error;
  }
}

/**
 * Appends `text` to `fd` whole: a short write (a nearly full disk writes part and reports no error)
 * is continued, and a failure cuts the file back to where it was, so no torn line is left, and
 * throws a SinkFailure naming the file.
 */
function appendWhole(fd: number, text: string, path: string, flag: string): void {
  const bytes = Buffer.from(text, 'utf8');
  const before = fstatSync(fd).size;
  try {
    let written = 0;
    while (written < bytes.length) {
      const n = writeSync(fd, bytes, written, bytes.length - written);
      if (n <= 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' });
      written += n;
    }
  } catch (error) {
    try {
      ftruncateSync(fd, before);
    } catch {
      // The torn line stays; it starts with '{' and is read as one cut short by a kill.
    }
    const code = (error as NodeJS.ErrnoException).code;
    throw new SinkFailure(
      `${flag} ${path} could not be written (${code ?? (error as Error).message}); the alert was not kept there`,
      flag,
    );
  }
}

/**
 * `--alerts-file FILE`: one alert per JSON line, appended and handed to the operating system at
 * once (a write per alert, no buffer in the process), so a SIGKILL loses none already written.
 * The ids already in the file are read at start: an alert is never written twice, across restarts.
 */
export class AlertsFileSink implements AlertSink {
  readonly name = 'alerts-file';
  private readonly ids: Set<string>;
  private fd: number | undefined;
  private needsNewline: boolean;

  private readonly unlock: () => void;

  constructor(readonly path: string) {
    this.unlock = lockAppend(path, '--alerts-file');
    const { entries, endsWithNewline } = readLocked(this.unlock, () =>
      readOwnJsonLines(
        path,
        '--alerts-file',
        // An alert as watch writes it (core's Alert): not merely any record with an id.
        (entry) =>
          typeof entry['id'] === 'string' &&
          typeof entry['symbol'] === 'string' &&
          typeof entry['detector'] === 'string' &&
          typeof entry['openTime'] === 'number',
      ),
    );
    this.ids = new Set(entries.map((entry) => entry['id'] as string));
    this.needsNewline = !endsWithNewline;
    this.fd = readLocked(this.unlock, () => openAppend(path, '--alerts-file'));
  }

  /** Alerts the file already holds. */
  get size(): number {
    return this.ids.size;
  }

  deliver(alert: Alert): void {
    if (this.fd === undefined || this.ids.has(alert.id)) return;
    // A torn line from a killed run is closed first, so this alert starts a line of its own.
    const line = `${this.needsNewline ? '\n' : ''}${JSON.stringify(alert)}\n`;
    appendWhole(this.fd, line, this.path, '--alerts-file');
    this.needsNewline = false;
    this.ids.add(alert.id);
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.unlock();
  }
}

/** Options of the webhook sink. */
export interface WebhookSinkOptions {
  url: string;
  /**
   * The journal: JSON lines recording each alert queued and each one sent, so a restart sends
   * what was queued and not sent yet, and never sends an id twice.
   */
  journalPath: string;
  /** First wait before a retry; doubles per attempt, with jitter. Default 500 ms. */
  retryBaseMs?: number;
  /** Longest wait between attempts. Default 30,000 ms. */
  retryMaxMs?: number;
  /** Attempts per alert before it is given up (and reported). Default 10. */
  maxAttempts?: number;
  /** Deadline of one POST. Default 10,000 ms. */
  timeoutMs?: number;
  /** Told of each alert given up on, and of each failed attempt. */
  onError?: (message: string) => void;
}

/**
 * A journal line. `to` is the webhook's fingerprint (`webhookFingerprint`), not its URL, which
 * usually holds the webhook's secret; journals written before it carry `url`, still read.
 */
type JournalEntry = ({ to: string } | { url: string }) &
  ({ queued: Alert } | { sent: string } | { dropped: string; reason: string });

/** The webhook a journal line is for, without its URL: the first 16 hex digits of its SHA-256. */
export function webhookFingerprint(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * `--webhook URL`: POSTs each alert as JSON, in order, from a queue of its own, so scoring never
 * waits on the network. A failed POST (network error, timeout, 408, 429, 5xx) is retried with
 * exponential backoff and jitter; another 4xx is given up at once. The journal makes it
 * at-most-once per alert id across restarts, and resumes what a killed run had queued.
 */
export class WebhookSink implements AlertSink {
  readonly name = 'webhook';
  private readonly queue: Alert[] = [];
  /** Ids queued or sent, ever (journal included). */
  private readonly known = new Set<string>();
  private readonly fd: number;
  private readonly stop = new AbortController();
  private worker: Promise<void> | undefined;
  private closed = false;
  /** POSTs answered 2xx, this run. */
  sent = 0;
  /** Alerts given up on, this run. */
  dropped = 0;

  private readonly to: string;

  private readonly unlock: () => void;

  constructor(private readonly options: WebhookSinkOptions) {
    this.to = webhookFingerprint(options.url);
    const finished = new Set<string>();
    const queued = new Map<string, Alert>();
    this.unlock = lockAppend(options.journalPath, '--webhook-journal');
    const { entries } = readLocked(this.unlock, () =>
      readOwnJsonLines(
        options.journalPath,
        '--webhook-journal',
        (entry) =>
          (typeof entry['to'] === 'string' || typeof entry['url'] === 'string') &&
          ('queued' in entry || 'sent' in entry || 'dropped' in entry),
      ),
    );
    for (const entry of entries as unknown as JournalEntry[]) {
      if ('to' in entry ? entry.to !== this.to : entry.url !== options.url) continue;
      if ('queued' in entry) queued.set(entry.queued.id, entry.queued);
      else if ('sent' in entry) finished.add(entry.sent);
      else if ('dropped' in entry) finished.add(entry.dropped);
    }
    for (const id of finished) this.known.add(id);
    this.fd = readLocked(this.unlock, () => openAppend(options.journalPath, '--webhook-journal'));
    // Queued by a run that was killed before sending them: sent now, before anything new.
    for (const [id, alert] of queued) {
      if (finished.has(id)) continue;
      this.known.add(id);
      this.queue.push(alert);
    }
    if (this.queue.length > 0) this.kick();
  }

  /** Alerts waiting to be sent. */
  get pending(): number {
    return this.queue.length;
  }

  deliver(alert: Alert): void {
    if (this.closed || this.known.has(alert.id)) return;
    if (this.failure) throw this.failure;
    // Recorded as queued before it counts as known: an alert the journal could not take is
    // offered again (the candle is not saved as handled, see SinkFailure).
    this.record({ to: this.to, queued: alert });
    this.known.add(alert.id);
    this.queue.push(alert);
    this.kick();
  }

  private record(entry: JournalEntry): void {
    appendWhole(this.fd, `${JSON.stringify(entry)}\n`, this.options.journalPath, '--webhook-journal');
  }

  /** The journal write that failed while sending, if any: every later alert is refused with it. */
  private failure: SinkFailure | undefined;

  private kick(): void {
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined;
      if (this.queue.length > 0 && !this.stop.signal.aborted) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stop.signal.aborted) {
      const alert = this.queue[0]!;
      const outcome = await this.send(alert);
      if (outcome === 'stopped') return;
      this.queue.shift();
      try {
        if (outcome === 'sent') {
          this.sent++;
          this.record({ to: this.to, sent: alert.id });
        } else {
          this.dropped++;
          this.record({ to: this.to, dropped: alert.id, reason: outcome.reason });
          this.options.onError?.(`webhook gave up on ${alert.id}: ${outcome.reason}`);
        }
      } catch (error) {
        // The journal cannot take the outcome (a full disk): stop sending. The alert stays queued
        // in the journal, so a restart sends it again (its Idempotency-Key makes that harmless).
        this.failure =
          error instanceof SinkFailure ? error : new SinkFailure(String(error), '--webhook-journal');
        this.options.onError?.(this.failure.message);
        return;
      }
    }
  }

  /** One alert, retried until it is accepted, refused for good, out of attempts, or the sink stops. */
  private async send(alert: Alert): Promise<'sent' | 'stopped' | { reason: string }> {
    const base = this.options.retryBaseMs ?? 500;
    const max = this.options.retryMaxMs ?? 30_000;
    const attempts = this.options.maxAttempts ?? 10;
    const body = JSON.stringify(alert);
    let reason = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.stop.signal.aborted) return 'stopped';
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 10_000);
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': alert.id },
          body,
          signal: AbortSignal.any([timeout, this.stop.signal]),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return 'sent';
        reason = `HTTP ${response.status}`;
        const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
        if (!retryable) return { reason };
      } catch (error) {
        if (this.stop.signal.aborted) return 'stopped';
        reason = (error as Error)?.message ?? String(error);
      }
      if (attempt === attempts) break;
      const wait = Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      this.options.onError?.(
        `webhook attempt ${attempt} for ${alert.id} failed (${reason}); retrying in ${Math.round(wait)} ms`,
      );
      await sleep(wait, this.stop.signal);
    }
    return { reason: `${reason} after ${attempts} attempts` };
  }

  /** Waits up to `timeoutMs` for the queue to empty, then stops; what is left is sent on the next run. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    const empty = (async () => {
      while (this.worker) await this.worker;
    })();
    await Promise.race([empty, deadline]);
    this.stop.abort();
    await this.worker;
    closeSync(this.fd);
    this.unlock();
  }
}

/**
 * Alerts as JSON lines on stdout (off a terminal, or with --json). Only alerts the store called new
 * reach it (it keeps no record of its own).
 */
export function stdoutSink(write: (line: string) => void): AlertSink {
  return {
    name: 'stdout',
    deliver: (alert) => write(JSON.stringify(alert)),
    close: async () => {},
  };
}

/** What the cool-down decided for one candle's alerts. */
export interface CooldownDecision {
  /** The alert the sinks get, if any. */
  delivered: Alert | undefined;
  /** The candle's other alerts, kept in the store but not sent. */
  held: Alert[];
}

/**
 * The per-symbol cool-down: the sinks get at most one alert per symbol per `cooldownMs` of candle
 * time (so a replay behaves as the live run). Of one candle's alerts, the consensus goes if it
 * fired, else the first detector that did; its `scores` carry every detector's verdict. The rest
 * are counted as suppressed.
 */
export class AlertCooldown {
  private readonly lastDelivered = new Map<string, number>();
  private readonly suppressedBySymbol = new Map<string, number>();

  constructor(readonly cooldownMs: number) {}

  decide(alerts: readonly Alert[]): CooldownDecision {
    const first = alerts[0];
    if (!first) return { delivered: undefined, held: [] };
    const last = this.lastDelivered.get(first.symbol);
    if (last !== undefined && first.openTime - last < this.cooldownMs) {
      this.suppress(first.symbol, alerts.length);
      return { delivered: undefined, held: [...alerts] };
    }
    const delivered = alerts.find((alert) => alert.detector === 'consensus') ?? first;
    this.lastDelivered.set(first.symbol, first.openTime);
    const held = alerts.filter((alert) => alert !== delivered);
    this.suppress(first.symbol, held.length);
    return { delivered, held };
  }

  private suppress(symbol: string, count: number): void {
    if (count > 0) this.suppressedBySymbol.set(symbol, (this.suppressedBySymbol.get(symbol) ?? 0) + count);
  }

  /** Alerts held back per symbol since the start. */
  suppressed(symbol?: string): number {
    if (symbol !== undefined) return this.suppressedBySymbol.get(symbol) ?? 0;
    let total = 0;
    for (const count of this.suppressedBySymbol.values()) total += count;
    return total;
  }
}
