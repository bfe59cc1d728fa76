import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FOLDER_MARKER_FILE, type FolderMarker, isCoreError } from '../src/index.js';
import {
  FolderSet,
  folderTestHooks,
  isInside,
  prepareTarget,
  readFolderMarker,
} from '../src/outputs/owned-folder.js';

/** Run ids as newRunId makes them: only such sibling names are ever repaired or removed. */
const RUN_1 = '20261201T000000Z-00000a';
const RUN_2 = '20261201T000001Z-00000b';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'core-owned-'));
});
afterEach(async () => {
  delete folderTestHooks.beforeSwap;
  delete folderTestHooks.betweenRenames;
  await rm(root, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

/** Writes a set of `files` (name → contents) into `dir` the way the pipeline does. */
async function writeSet(dir: string, runId: string, files: Record<string, string>) {
  const set = await FolderSet.open(dir, 'outputs', runId);
  for (const [name, contents] of Object.entries(files)) {
    await mkdir(join(set.stagingPath(name), '..'), { recursive: true });
    await writeFile(set.stagingPath(name), contents);
  }
  return set;
}

describe('prepareTarget', () => {
  it('accepts an absent or empty folder', async () => {
    expect(await prepareTarget(join(root, 'new', 'deeper'), 'outputs')).toBe(join(root, 'new', 'deeper'));
    await mkdir(join(root, 'empty'));
    await prepareTarget(join(root, 'empty'), 'model');
    expect(existsSync(join(root, 'new'))).toBe(false);
    expect(await readdir(root)).toEqual(['empty']);
  });

  it('refuses a folder holding a file it did not write, naming it, and leaves it untouched', async () => {
    await writeFile(join(root, 'in.csv'), 'open_time,open\n');
    const error = await errorOf(prepareTarget(root, 'model'));
    expect(isCoreError(error) && error.code).toBe('TARGET_NOT_OURS');
    expect(error.message).toContain(root);
    expect(error.message).toMatch(/in\.csv.*not written by crypto-anomaly.*choose a new or empty folder/s);
    expect(await readFile(join(root, 'in.csv'), 'utf8')).toBe('open_time,open\n');
    expect(await readdir(root)).toEqual(['in.csv']);
    await writeFile(join(root, 'file'), 'x');
    expect((await errorOf(prepareTarget(join(root, 'file'), 'outputs'))).message).toMatch(/is a file/);
  });

  it('refuses our folder of the other kind, and our folder with a file added by someone else', async () => {
    const dir = join(root, 'out');
    await (await writeSet(dir, RUN_1, { 'summary.json': '{}' })).commit();
    expect((await errorOf(prepareTarget(dir, 'model'))).message).toMatch(/holds a run’s outputs/);
    await prepareTarget(dir, 'outputs');
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const error = await errorOf(prepareTarget(dir, 'outputs'));
    expect(isCoreError(error) && error.code).toBe('TARGET_NOT_OURS');
    expect(error.message).toMatch(/notes\.txt/);
  });

  it('refuses a run folder holding another of our folders (a model, a run) or a folder of the user', async () => {
    const dir = join(root, 'out');
    await (await writeSet(dir, RUN_1, { 'a.csv': '1' })).commit();
    // The run's model saved in place (as `train --out out/model` does) is ours.
    const model = await FolderSet.open(join(dir, 'model'), 'model', RUN_2);
    await writeFile(model.stagingPath('pipeline.json'), '{}');
    await model.commit();
    await prepareTarget(dir, 'outputs');
    for (const [inside, kind] of [
      ['models/BTCUSDT_1d', 'model'],
      ['previous-run', 'outputs'],
    ] as const) {
      const set = await FolderSet.open(join(dir, inside), kind, RUN_2);
      await writeFile(set.stagingPath('x.json'), '{}');
      await set.commit();
      const error = await errorOf(prepareTarget(dir, 'outputs'));
      expect(isCoreError(error) && error.code).toBe('TARGET_NOT_OURS');
      expect(error.message).toContain(`${inside}/x.json`);
      await rm(join(dir, inside.split('/')[0]!), { recursive: true });
    }
    await mkdir(join(dir, 'my-notes', '2024'), { recursive: true });
    expect((await errorOf(prepareTarget(dir, 'outputs'))).message).toContain('my-notes/');
    expect(existsSync(join(dir, 'my-notes', '2024'))).toBe(true);
  });

  it('refuses a symbolic link in place of the folder, and leaves the link', async () => {
    await mkdir(join(root, 'elsewhere'));
    await symlink(join(root, 'elsewhere'), join(root, 'link'));
    await symlink(join(root, 'missing'), join(root, 'dangling'));
    for (const name of ['link', 'dangling']) {
      const error = await errorOf(prepareTarget(join(root, name), 'outputs'));
      expect(isCoreError(error) && error.code).toBe('TARGET_NOT_OURS');
      expect(error.message).toMatch(/is a symbolic link.*give the folder it points to/);
    }
    expect((await readdir(root)).sort()).toEqual(['dangling', 'elsewhere', 'link']);
  });

  it('recognises a folder saved before markers only by names this program writes', async () => {
    const model = join(root, 'model');
    await mkdir(join(model, 'isolation-forest'), { recursive: true });
    await writeFile(join(model, 'pipeline.json'), JSON.stringify({ format: 'crypto-anomaly-pipeline' }));
    await writeFile(join(model, 'isolation-forest', 'detector.json'), '{}');
    await prepareTarget(model, 'model');
    await writeFile(join(model, 'train.csv'), 'x');
    expect((await errorOf(prepareTarget(model, 'model'))).message).toMatch(/train\.csv/);
  });

  it('refuses the current folder (a swap would pull it from under the shell), even when empty', async () => {
    const cwd = process.cwd();
    try {
      process.chdir(root);
      expect((await errorOf(prepareTarget('.', 'outputs'))).message).toMatch(/is the current folder/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses a folder it cannot create before anything runs', async () => {
    const error = await errorOf(prepareTarget('/proc/nope/out', 'outputs'));
    expect(isCoreError(error) && error.code).toBe('TARGET_NOT_WRITABLE');
    expect(error.message).toMatch(/\/proc\/nope\/out.*not writable/);
  });

  it('isInside', () => {
    expect(isInside('/a/b', '/a')).toBe(true);
    expect(isInside('/a', '/a')).toBe(true);
    expect(isInside('/ab', '/a')).toBe(false);
    expect(isInside('/a/..b', '/a')).toBe(true);
    expect(isInside('/a', '/a/b')).toBe(false);
  });
});

describe('FolderSet', () => {
  it('swaps the whole set in: nothing of the old set stays, the marker lists every file', async () => {
    const dir = join(root, 'out');
    await (
      await writeSet(dir, RUN_1, { 'a.csv': '1', 'chart.png': 'old', 'model/pipeline.json': '{}' })
    ).commit();
    const files = await (await writeSet(dir, RUN_2, { 'a.csv': '2', 'summary.json': '{}' })).commit();
    expect(files).toEqual(['a.csv', 'summary.json']);
    expect((await readdir(dir)).sort()).toEqual([FOLDER_MARKER_FILE, 'a.csv', 'summary.json']);
    expect(await readFile(join(dir, 'a.csv'), 'utf8')).toBe('2');
    expect(await readFolderMarker(dir)).toMatchObject({
      kind: 'outputs',
      runId: RUN_2,
      files,
      partial: false,
    });
    expect(await readdir(root)).toEqual(['out']);
  });

  it('a failure between writing and swapping leaves the old set whole and no temporary folder', async () => {
    const dir = join(root, 'out');
    await (await writeSet(dir, RUN_1, { 'a.csv': '1', 'b.csv': '1' })).commit();
    for (const hook of ['beforeSwap', 'betweenRenames'] as const) {
      folderTestHooks[hook] = () => {
        throw new Error('simulated crash');
      };
      const set = await writeSet(dir, RUN_2, { 'a.csv': '2' });
      expect((await errorOf(set.commit())).message).toMatch(/simulated crash/);
      delete folderTestHooks[hook];
      expect(await readFolderMarker(dir)).toMatchObject({ runId: RUN_1 });
      expect(await readFile(join(dir, 'b.csv'), 'utf8')).toBe('1');
      expect(await readdir(root)).toEqual(['out']);
    }
  });

  it('after a SIGKILL mid-swap, the next run restores the old set and removes what the killed run left', async () => {
    const dir = join(root, 'out');
    await (await writeSet(dir, RUN_1, { 'a.csv': '1', 'b.csv': '1' })).commit();
    const module = fileURLToPath(new URL('../src/outputs/owned-folder.ts', import.meta.url));
    for (const hook of ['beforeSwap', 'betweenRenames'] as const) {
      const script = join(root, `${hook}.mjs`);
      await writeFile(
        script,
        `import { FolderSet, folderTestHooks } from ${JSON.stringify(module)};
import { writeFile } from 'node:fs/promises';
folderTestHooks.${hook} = () => process.kill(process.pid, 'SIGKILL');
const set = await FolderSet.open(${JSON.stringify(dir)}, 'outputs', ${JSON.stringify(RUN_2)});
await writeFile(set.stagingPath('a.csv'), '2');
await set.commit();
`,
      );
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        encoding: 'utf8',
      });
      expect(child.signal).toBe('SIGKILL');
      await rm(script);
      const left = (await readdir(root)).sort();
      if (hook === 'beforeSwap') expect(left).toEqual([`.out.${RUN_2}.tmp`, 'out']);
      // Killed between the two renames: the folder is missing, the old set sits aside.
      else expect(left).toEqual([`.out.${RUN_2}.old`, `.out.${RUN_2}.tmp`]);
      await prepareTarget(dir, 'outputs');
      expect(await readdir(root)).toEqual(['out']);
      expect(await readFolderMarker(dir)).toMatchObject({ runId: RUN_1, files: ['a.csv', 'b.csv'] });
      expect(await readFile(join(dir, 'a.csv'), 'utf8')).toBe('1');
    }
  });

  it("never touches a user's copy or backup named like a leftover (.out.old, a copied run)", async () => {
    const dir = join(root, 'out');
    await (await writeSet(dir, RUN_1, { 'a.csv': '1' })).commit();
    await rename(dir, join(root, '.out.old'));
    // A copy named like a killed run's temporary folder, but its marker is another run's.
    const copy = '.out.20261130T000000Z-0000ff.tmp';
    await cp(join(root, '.out.old'), join(root, copy), { recursive: true });
    await (await writeSet(dir, RUN_2, { 'a.csv': '2' })).commit();
    expect((await readdir(root)).sort()).toEqual([copy, '.out.old', 'out'].sort());
    expect(await readFile(join(root, '.out.old', 'a.csv'), 'utf8')).toBe('1');
    expect(await readFile(join(dir, 'a.csv'), 'utf8')).toBe('2');
  });

  it('never removes a temporary-looking folder without our marker, nor one of a running writer', async () => {
    await mkdir(join(root, '.out.x.tmp'));
    await writeFile(join(root, '.out.x.tmp', 'keep.txt'), 'user');
    const live: FolderMarker = {
      format: 'crypto-anomaly-folder',
      kind: 'outputs',
      runId: 'y',
      createdAt: new Date().toISOString(),
      files: [],
      partial: false,
      writer: { pid: process.pid, host: (await import('node:os')).hostname() },
    };
    await mkdir(join(root, '.out.y.tmp'));
    await writeFile(join(root, '.out.y.tmp', FOLDER_MARKER_FILE), JSON.stringify(live));
    await prepareTarget(join(root, 'out'), 'outputs');
    expect((await readdir(root)).sort()).toEqual(['.out.x.tmp', '.out.y.tmp']);
  });
});
