import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busClient,
  type NatsServer,
  natsSkipReason,
  type Running,
  run,
  start,
  startNatsServer,
  stop,
  waitFor,
} from './helpers/nats-server.js';

/**
 * sink --alerts-file: a durable consumer of ALERTS. Killed (SIGKILL) and restarted, with alerts
 * stored meanwhile and a line torn by the kill: every alert in the file once. A second sink of
 * another name on the same file (all alerts delivered again) writes none twice.
 */
describe.skipIf(natsSkipReason !== undefined)('the bus: an alert sink', () => {
  let server: NatsServer;
  let work: string;
  const running: Running[] = [];
  beforeAll(async () => {
    server = await startNatsServer();
    work = mkdtempSync(join(tmpdir(), 'bus-sink-'));
  });
  afterAll(async () => {
    for (const process of running) await stop(process);
    await server?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const alertOf = (index: number) => {
    const openTime = 1_700_000_000_000 + index * 60_000;
    const symbol = index % 2 === 0 ? 'AAAUSDT' : 'BBBUSDT';
    return {
      id: `${symbol}:1m:${openTime}:isolation-forest`,
      symbol,
      interval: '1m',
      openTime,
      time: new Date(openTime).toISOString(),
      detector: 'isolation-forest',
      reason: `alert ${index}`,
    };
  };
  /** The alerts the file holds, by id, counting each line that reads. */
  const idsInFile = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          return [(JSON.parse(line) as { id: string }).id];
        } catch {
          return [];
        }
      });

  it('killed and restarted, it delivers every alert once', async () => {
    const client = await busClient(server.url);
    const publish = async (from: number, to: number) => {
      for (let index = from; index < to; index++) {
        const alert = alertOf(index);
        await client.js.publish(`alerts.1m.${alert.symbol}`, JSON.stringify(alert), { msgID: alert.id });
      }
    };
    const file = join(work, 'alerts.jsonl');
    const launch = (...extra: string[]) => {
      const sink = start(work, 'sink', '--bus', server.url, '--alerts-file', file, ...extra);
      running.push(sink);
      return sink;
    };
    const first = launch('--name', 'ops');
    // The sink creates the streams and its consumer: alerts stored after are its to deliver.
    await waitFor('the sink consuming', () => /new consumer sink-ops/.test(first.stderr()));
    await publish(0, 150);
    await waitFor('the first 150 in the file', () => {
      try {
        return idsInFile(file).length >= 150;
      } catch {
        return false;
      }
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    // Stored while the sink is down; and a line cut short, as a kill mid-write leaves it.
    await publish(150, 300);
    appendFileSync(file, JSON.stringify(alertOf(150)).slice(0, 40));

    const second = launch('--name', 'ops');
    await waitFor('all 300 in the file', () => new Set(idsInFile(file)).size >= 300);
    expect(await stop(second), second.stderr()).toBe(143);
    expect(second.stderr()).toMatch(/resuming consumer sink-ops/);
    // Stopped by a signal, a sink says how it goes on, not what a stopped run keeps.
    expect(second.stderr()).toMatch(/hint: started again with the same --name, the sink resumes/);
    const ids = idsInFile(file);
    expect(ids.length).toBe(300);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 300 }, (_, index) => alertOf(index).id)));
    const resumed = JSON.parse(second.stdout().trim()) as { delivered: number; duplicates: number };
    // The restart resumed after the last acknowledged alert: at least the 150 stored while down.
    expect(resumed.delivered).toBe(150);

    // Another sink on the same file gets all 300 again (a new consumer, --from all): none written.
    const other = launch('--name', 'audit');
    await waitFor('the audit sink through the stream', async () => {
      const info = await client.jsm.consumers.info('ALERTS', 'sink-audit').catch(() => undefined);
      return (
        info !== undefined &&
        info.num_pending === 0 &&
        info.num_ack_pending === 0 &&
        info.delivered.stream_seq >= 300
      );
    });
    expect(await stop(other), other.stderr()).toBe(143);
    expect(JSON.parse(other.stdout().trim())).toMatchObject({ delivered: 0, duplicates: 300 });
    expect(idsInFile(file).length).toBe(300);

    // The name of a sink that follows every pair, asked for one: refused, not resumed as it was.
    const narrowed = run(
      work,
      'sink',
      '--bus',
      server.url,
      '--alerts-file',
      file,
      '--name',
      'ops',
      '--symbols',
      'AAAUSDT',
    );
    expect(narrowed.status, narrowed.stderr).toBe(2);
    expect(narrowed.stderr).toMatch(/consumer sink-ops follows alerts\.>, not alerts\.\*\.AAAUSDT/);
    expect(narrowed.stderr).toMatch(/give this target its own --name/);

    // Without --name, two files of one name in two folders are two sinks: each gets every alert.
    const files = ['d1', 'd2'].map((folder) => {
      mkdirSync(join(work, folder));
      return join(work, folder, 'alerts.jsonl');
    });
    const sinks = files.map((path) => {
      const sink = start(work, 'sink', '--bus', server.url, '--alerts-file', path);
      running.push(sink);
      return sink;
    });
    for (const path of files) {
      await waitFor(`all 300 in ${path}`, () => existsSync(path) && new Set(idsInFile(path)).size >= 300);
    }
    for (const sink of sinks) {
      expect(await stop(sink), sink.stderr()).toBe(143);
      expect(sink.stderr()).toMatch(/new consumer sink-file-alerts_jsonl-[0-9a-f]{8} /);
    }
    expect(sinks[0]!.stderr().match(/sink-file-\S+/)![0]).not.toBe(
      sinks[1]!.stderr().match(/sink-file-\S+/)![0],
    );
    await client.close();
  });

  it('a webhook receiver down then back: every alert posted, the failures said once, not per alert', async () => {
    // A receiver on 127.0.0.1 (plain http is allowed there) that answers 503 until opened.
    let open = false;
    let refused = 0;
    const received = new Map<string, string>();
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        if (!open) {
          refused++;
          response.writeHead(503).end();
          return;
        }
        const alert = JSON.parse(body) as { id: string };
        received.set(alert.id, String(request.headers['idempotency-key']));
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const sink = start(
        work,
        'sink',
        '--bus',
        server.url,
        '--webhook',
        `http://127.0.0.1:${port}/hook`,
        '--name',
        'hook',
      );
      running.push(sink);
      // The stream holds the 300 alerts of the test before; a new sink starts from them all.
      await waitFor('three refused posts', () => refused >= 3);
      open = true;
      await waitFor('every alert posted', () => received.size >= 300);
      expect(await stop(sink), sink.stderr()).toBe(143);
      for (const [id, key] of received) expect(key).toBe(id);
      const failures = sink
        .stderr()
        .split('\n')
        .filter((line) => /not delivered \(HTTP 503\)/.test(line));
      expect(failures.length, sink.stderr()).toBeLessThanOrEqual(2);
      expect(sink.stderr()).toMatch(/the webhook answers again, after \d+ failed attempts/);
      expect(JSON.parse(sink.stdout().trim())).toMatchObject({ delivered: 300 });
    } finally {
      receiver.close();
    }
  });
});
