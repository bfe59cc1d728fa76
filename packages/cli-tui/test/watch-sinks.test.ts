import { existsSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleSource } from '@crypto-anomaly/data';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliError } from '../src/errors.js';
import { replaySampleKlines } from '../src/watch/run-watch.js';
import {
  AlertCooldown,
  AlertsFileSink,
  assertSinkFileWritable,
  WebhookSink,
  webhookFingerprint,
} from '../src/watch/sinks.js';
import { alertOf, MINUTE, T0 } from './watch-fixtures.js';

const ids = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line).id as string);

/** A real HTTP server on 127.0.0.1 standing in for the webhook; `answers` decides each POST's status. */
class Receiver {
  server: Server | undefined;
  url = '';
  /** Bodies of the POSTs answered 2xx, in order. */
  received: { id: string; idempotencyKey: string | undefined }[] = [];
  attempts = 0;
  answers: number[] = [];
  async start() {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        this.attempts++;
        const status = this.answers.shift() ?? 200;
        if (status === 0) {
          request.socket.destroy();
          return;
        }
        if (status < 300) {
          const alert = JSON.parse(body);
          this.received.push({ id: alert.id, idempotencyKey: request.headers['idempotency-key'] as string });
        }
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }
  async close() {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** Waits for `condition`, up to a minute: on a loaded CI machine 5 s of polling was not enough. */
const until = async (condition: () => boolean) => {
  for (let i = 0; i < 6000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
};

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'watch-sinks-'));
});

describe('AlertsFileSink', () => {
  it('appends one JSON line per alert, each written at once, and never writes an id twice across a restart', async () => {
    const path = join(work, 'alerts.jsonl');
    const first = new AlertsFileSink(path);
    first.deliver(alertOf('BTCUSDT', T0));
    // Written before the sink is closed: a kill now loses nothing already delivered.
    expect(ids(path)).toEqual([`BTCUSDT:1m:${T0}:consensus`]);
    first.deliver(alertOf('ETHUSDT', T0));
    first.deliver(alertOf('BTCUSDT', T0));
    await first.close();
    const second = new AlertsFileSink(path);
    expect(second.size).toBe(2);
    second.deliver(alertOf('BTCUSDT', T0));
    second.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    await second.close();
    expect(ids(path)).toEqual([
      `BTCUSDT:1m:${T0}:consensus`,
      `ETHUSDT:1m:${T0}:consensus`,
      `BTCUSDT:1m:${T0 + MINUTE}:consensus`,
    ]);
    expect(JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!)).toEqual(alertOf('BTCUSDT', T0));
  });

  it('takes one writer per file: a second is refused while the first runs, a lock left by a dead one is taken over', async () => {
    const path = join(work, 'one-writer.jsonl');
    // Another process writing it (a live pid, this test's parent), then this one.
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: hostname() }));
    expect(() => new AlertsFileSink(path)).toThrow(
      new RegExp(`is being written by another crypto-anomaly \\(pid ${process.ppid}\\)`),
    );
    unlinkSync(`${path}.lock`);
    const first = new AlertsFileSink(path);
    expect(() => new AlertsFileSink(path)).toThrow(/is a file this command already writes/);
    first.deliver(alertOf('BTCUSDT', T0));
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    // A writer killed with its lock in place (a pid that is not running).
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    const next = new AlertsFileSink(path);
    expect(next.size).toBe(1);
    await next.close();
  });

  it('starts a new line after a line torn by a kill, and writes that alert again whole', async () => {
    const path = join(work, 'torn.jsonl');
    const whole = JSON.stringify(alertOf('BTCUSDT', T0));
    writeFileSync(path, `${whole}\n${JSON.stringify(alertOf('BTCUSDT', T0 + MINUTE)).slice(0, 40)}`);
    const sink = new AlertsFileSink(path);
    sink.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    await sink.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[2]!).id).toBe(`BTCUSDT:1m:${T0 + MINUTE}:consensus`);
    expect(lines[3]).toBe('');
    // A restart after that: the torn line, now in the middle, is still known as ours.
    const again = new AlertsFileSink(path);
    expect(again.size).toBe(2);
    await again.close();
  });

  it('refuses a file it did not write, before appending anything, and a webhook journal alike', () => {
    const notes = join(work, 'notes.txt');
    writeFileSync(notes, 'my precious notes\n');
    expect(() => new AlertsFileSink(notes)).toThrow(
      /notes\.txt is not a file --alerts-file wrote \(line 1: "my precious notes"\); nothing was appended to it/,
    );
    // JSON lines of another program's (no alert id) are not ours either.
    const other = join(work, 'other.jsonl');
    writeFileSync(other, `${JSON.stringify(alertOf('BTCUSDT', T0))}\n{"event":"deploy"}\n`);
    expect(() => new AlertsFileSink(other)).toThrow(/line 2: "\{\\"event\\":\\"deploy\\"\}"/);
    expect(() => new WebhookSink({ url: 'http://127.0.0.1:9/hook', journalPath: notes })).toThrow(
      /is not a file --webhook-journal wrote \(line 1/,
    );
    expect(readFileSync(notes, 'utf8')).toBe('my precious notes\n');
    expect(readFileSync(other, 'utf8').split('\n')).toHaveLength(3);
    // Records of another program that merely have an id (tickets) are not alerts either.
    const tickets = join(work, 'tickets.jsonl');
    writeFileSync(tickets, '{"id":"ticket-1","title":"my task"}\n');
    expect(() => new AlertsFileSink(tickets)).toThrow(/line 1: .*ticket-1/);
    expect(readFileSync(tickets, 'utf8')).toBe('{"id":"ticket-1","title":"my task"}\n');
    expect(() => new AlertsFileSink(work)).toThrow(/is a folder/);
  });

  it('names the flag of a file it cannot write, as a usage error, and leaves no lock', () => {
    const missing = join(work, 'no-such-folder', 'alerts.jsonl');
    const refused = (() => {
      try {
        assertSinkFileWritable(missing, '--alerts-file');
      } catch (error) {
        return error as CliError;
      }
    })();
    expect(refused?.message).toBe(`--alerts-file ${missing} cannot be written (its folder does not exist)`);
    expect(refused?.exitCode).toBe(2);
    expect(() => new AlertsFileSink(missing)).toThrow(
      /--alerts-file .* cannot be written \(its folder does not exist\)/,
    );
    // The same file for the alerts and the webhook journal: named as such, not as another process.
    const path = join(work, 'both.jsonl');
    const sink = new AlertsFileSink(path);
    expect(() => new WebhookSink({ url: 'http://127.0.0.1:9/hook', journalPath: path })).toThrow(
      /--webhook-journal .*both\.jsonl is a file this command already writes/,
    );
    void sink.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});

describe('WebhookSink', () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await new Receiver().start();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('retries 5xx, 429 and dropped connections with backoff, in order, without blocking the caller', async () => {
    receiver.answers = [503, 0, 429, 200];
    const notes: string[] = [];
    const sink = new WebhookSink({
      url: receiver.url,
      journalPath: join(work, 'journal.jsonl'),
      retryBaseMs: 5,
      onError: (message) => notes.push(message),
    });
    sink.deliver(alertOf('BTCUSDT', T0));
    sink.deliver(alertOf('ETHUSDT', T0));
    // deliver returned before any POST was answered: scoring does not wait on the network.
    expect(receiver.received).toEqual([]);
    expect(sink.pending).toBe(2);
    await until(() => receiver.received.length === 2);
    expect(receiver.received.map((r) => r.id)).toEqual([
      `BTCUSDT:1m:${T0}:consensus`,
      `ETHUSDT:1m:${T0}:consensus`,
    ]);
    expect(receiver.received[0]!.idempotencyKey).toBe(`BTCUSDT:1m:${T0}:consensus`);
    expect(receiver.attempts).toBe(5);
    expect(notes.filter((note) => note.includes('retrying'))).toHaveLength(3);
    await sink.close();
  });

  it('gives up at once on a 4xx other than 408/429, and reports it', async () => {
    receiver.answers = [400];
    const notes: string[] = [];
    const sink = new WebhookSink({
      url: receiver.url,
      journalPath: join(work, 'journal.jsonl'),
      retryBaseMs: 5,
      onError: (message) => notes.push(message),
    });
    sink.deliver(alertOf('BTCUSDT', T0));
    sink.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    await until(() => receiver.received.length === 1);
    await sink.close();
    expect(receiver.attempts).toBe(2);
    expect(sink.dropped).toBe(1);
    expect(notes.join('\n')).toMatch(/gave up on BTCUSDT:1m:\d+:consensus: HTTP 400/);
  });

  it('never sends an id twice across a restart, and sends after a restart what a stopped run had queued', async () => {
    const journalPath = join(work, 'journal.jsonl');
    const first = new WebhookSink({ url: receiver.url, journalPath, retryBaseMs: 5 });
    first.deliver(alertOf('BTCUSDT', T0));
    await until(() => receiver.received.length === 1);
    // The receiver goes down: the next alert is queued and retried until the sink stops.
    receiver.answers = [500, 500, 500, 500, 500, 500, 500, 500];
    first.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    await until(() => receiver.attempts >= 2);
    await first.close(0);
    expect(receiver.received.map((r) => r.id)).toEqual([`BTCUSDT:1m:${T0}:consensus`]);

    receiver.answers = [];
    const second = new WebhookSink({ url: receiver.url, journalPath, retryBaseMs: 5 });
    second.deliver(alertOf('BTCUSDT', T0));
    second.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    second.deliver(alertOf('BTCUSDT', T0 + 2 * MINUTE));
    await until(() => receiver.received.length === 3);
    await second.close();
    expect(receiver.received.map((r) => r.id)).toEqual([
      `BTCUSDT:1m:${T0}:consensus`,
      `BTCUSDT:1m:${T0 + MINUTE}:consensus`,
      `BTCUSDT:1m:${T0 + 2 * MINUTE}:consensus`,
    ]);
    // A webhook at another URL keeps its own record.
    const other = new WebhookSink({ url: `${receiver.url}/other`, journalPath, retryBaseMs: 5 });
    other.deliver(alertOf('BTCUSDT', T0));
    await until(() => receiver.received.length === 4);
    await other.close();
    expect(existsSync(journalPath)).toBe(true);
    // The journal names each webhook by a fingerprint: its URL (often its secret) is not on disk.
    const journal = readFileSync(journalPath, 'utf8');
    expect(journal).not.toContain(receiver.url);
    expect(journal).toContain(webhookFingerprint(receiver.url));
  });

  it('reads a journal written before fingerprints (url in each line): what it sent is not sent again', async () => {
    const journalPath = join(work, 'legacy.jsonl');
    const sent = alertOf('BTCUSDT', T0);
    writeFileSync(
      journalPath,
      `${JSON.stringify({ url: receiver.url, queued: sent })}\n${JSON.stringify({ url: receiver.url, sent: sent.id })}\n`,
    );
    const sink = new WebhookSink({ url: receiver.url, journalPath, retryBaseMs: 5 });
    sink.deliver(sent);
    sink.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    await until(() => receiver.received.length === 1);
    await sink.close();
    expect(receiver.received.map((r) => r.id)).toEqual([`BTCUSDT:1m:${T0 + MINUTE}:consensus`]);
  });
});

describe('AlertCooldown', () => {
  it('lets one alert per symbol through per cool-down of candle time, the consensus first, and counts the rest', () => {
    const cooldown = new AlertCooldown(5 * MINUTE);
    const storm = (minute: number) => [
      alertOf('BTCUSDT', T0 + minute * MINUTE, 'isolation-forest'),
      alertOf('BTCUSDT', T0 + minute * MINUTE, 'consensus'),
    ];
    const first = cooldown.decide(storm(0));
    expect(first.delivered?.detector).toBe('consensus');
    expect(first.held.map((alert) => alert.detector)).toEqual(['isolation-forest']);
    for (let minute = 1; minute < 5; minute++)
      expect(cooldown.decide(storm(minute)).delivered).toBeUndefined();
    // Another symbol has its own cool-down.
    expect(cooldown.decide([alertOf('ETHUSDT', T0 + MINUTE)]).delivered?.symbol).toBe('ETHUSDT');
    expect(cooldown.decide(storm(5)).delivered?.openTime).toBe(T0 + 5 * MINUTE);
    expect(cooldown.suppressed('BTCUSDT')).toBe(1 + 8 + 1);
    expect(cooldown.suppressed()).toBe(10);
    expect(cooldown.decide([]).delivered).toBeUndefined();
    expect(new AlertCooldown(0).decide(storm(0)).delivered).toBeDefined();
  });
});

describe('watch --replay sample', () => {
  it('replays SAMPLE, the name run and train give the bundled market, as that market; other pairs their own', () => {
    const bundled = sampleSource().market().klines;
    expect(replaySampleKlines('SAMPLE', '1h')).toEqual(bundled);
    expect(replaySampleKlines('BTCUSDT', '1h')).toEqual(bundled);
    expect(replaySampleKlines('ETHUSDT', '1h')[100]!.close).not.toBe(bundled[100]!.close);
  });
});
