import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { AlertsFileSink, SinkFailure } from '../src/watch/sinks.js';
import { alertOf, MINUTE, T0 } from './watch-fixtures.js';

/**
 * A disk that fills up, as a nearly full file system behaves: the first write takes part of the
 * bytes and reports no error, the next fails with ENOSPC. Only while `disk.full` is set.
 */
const disk = vi.hoisted(() => ({ full: false, wroteShort: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writeSync: (fd: number, data: Buffer, offset = 0, length = data.length - offset) => {
      if (!disk.full) return fs.writeSync(fd, data, offset, length);
      if (!disk.wroteShort) {
        disk.wroteShort = true;
        return fs.writeSync(fd, data, offset, Math.max(1, Math.floor(length / 2)));
      }
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
  };
});

describe('AlertsFileSink on a full disk', () => {
  it('leaves no torn line, keeps no id it did not write, and says so as a failure that stops the watch', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sinks-full-')), 'alerts.jsonl');
    const sink = new AlertsFileSink(path);
    sink.deliver(alertOf('BTCUSDT', T0));
    const before = readFileSync(path, 'utf8');
    disk.full = true;
    let failure: unknown;
    try {
      sink.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(SinkFailure);
    expect((failure as SinkFailure).fatal).toBe(true);
    expect((failure as Error).message).toMatch(
      /--alerts-file .*alerts\.jsonl could not be written \(ENOSPC\)/,
    );
    expect(disk.wroteShort).toBe(true);
    // Cut back to where it was: the half-written alert is gone, not left as a torn line.
    expect(readFileSync(path, 'utf8')).toBe(before);
    // Space again: the same alert is written (its id was not kept as written).
    disk.full = false;
    sink.deliver(alertOf('BTCUSDT', T0 + MINUTE));
    await sink.close();
    const ids = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id);
    expect(ids).toEqual([`BTCUSDT:1m:${T0}:consensus`, `BTCUSDT:1m:${T0 + MINUTE}:consensus`]);
  });
});
