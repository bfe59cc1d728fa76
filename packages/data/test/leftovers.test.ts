import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTemporaryFolder, processAlive, removeLeftovers, writeFileAtomically } from '../src/index.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  expect(processAlive(child.pid)).toBe(false);
  return child.pid;
}

/** Makes `path` look untouched for two minutes. */
function age(path: string): void {
  const then = new Date(Date.now() - 120_000);
  utimesSync(path, then, then);
}

describe('leftovers of writers killed mid-write', () => {
  it('a write removes the temporary file a killed write to the same target left, and nothing else', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'data-leftovers-'));
    const dead = deadPid();
    const leftover = `.scores.csv.${dead}.0a1b2c3d.partial`;
    const keep = [
      `.scores.csv.${process.ppid}.0a1b2c3d.partial`, // its writer still runs
      `.other.csv.${dead}.0a1b2c3d.partial`, // another target's
      `.scores.csv.${dead}.backup.partial`, // not the form written
      'scores.csv.partial',
      `.scores.csv.${dead}.0a1b2c3d.partial.txt`,
    ];
    for (const name of [leftover, ...keep]) {
      writeFileSync(join(folder, name), 'x');
      age(join(folder, name));
    }
    // Fresh (changed within the minute): maybe a writer on another machine sharing the folder.
    const fresh = `.scores.csv.${deadPid()}.99aa88bb.partial`;
    writeFileSync(join(folder, fresh), 'x');
    await writeFileAtomically(join(folder, 'scores.csv'), async (path) => writeFileSync(path, 'a,b\n'));
    expect(readFileSync(join(folder, 'scores.csv'), 'utf8')).toBe('a,b\n');
    expect(readdirSync(folder).sort()).toEqual(['scores.csv', fresh, ...keep].sort());
  });

  it('removes only entries of the kind asked for', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'data-leftovers-'));
    const dead = deadPid();
    mkdirSync(join(folder, `.a.${dead}.0a1b2c3d.partial`));
    age(join(folder, `.a.${dead}.0a1b2c3d.partial`));
    const removed = await removeLeftovers(folder, /^\.a\.(\d+)\.[0-9a-f]{8}\.partial$/, 'file');
    expect(removed).toEqual([]);
    expect(existsSync(join(folder, `.a.${dead}.0a1b2c3d.partial`))).toBe(true);
  });

  it("a temporary folder is named by its process, and a killed process's folder of the same prefix is removed", async () => {
    const dead = deadPid();
    const prefix = `crypto-anomaly-leftover-test-${process.pid}-`;
    const left = join(tmpdir(), `${prefix}${dead}-AbC123`);
    mkdirSync(join(left, 'inside'), { recursive: true });
    writeFileSync(join(left, 'inside', 'store.duckdb'), 'x');
    age(left);
    const other = join(tmpdir(), `${prefix}${dead}-AbC123-mine`);
    mkdirSync(other);
    age(other);
    const folder = await makeTemporaryFolder(prefix);
    expect(basename(folder)).toMatch(new RegExp(`^${prefix}${process.pid}-[A-Za-z0-9]{6}$`));
    expect(existsSync(folder)).toBe(true);
    expect(existsSync(left)).toBe(false);
    expect(existsSync(other)).toBe(true);
    // Its own folder is never taken for a leftover.
    age(folder);
    const second = await makeTemporaryFolder(prefix);
    expect(existsSync(folder)).toBe(true);
    for (const path of [folder, second, other]) rmSync(path, { recursive: true, force: true });
  });
});
