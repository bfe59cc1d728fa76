import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCoreError } from '../src/index.js';
import { writeFileAtomic } from '../src/outputs/atomic-write.js';

describe('writeFileAtomic', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes through a temporary file and leaves only the target', async () => {
    dir = await mkdtemp(join(tmpdir(), 'core-io-'));
    const target = join(dir, 'nested', 'out.csv');
    await writeFileAtomic(target, 'a,b\n1,2\n');
    await writeFileAtomic(target, 'a,b\n3,4\n');
    expect(await readFile(target, 'utf8')).toBe('a,b\n3,4\n');
    expect(await readdir(join(dir, 'nested'))).toEqual(['out.csv']);
  });

  it('fails with a typed IO error and leaves no temporary file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'core-io-'));
    // A directory in the way: the rename cannot replace it.
    const target = join(dir, 'taken');
    await writeFileAtomic(join(target, 'x'), 'x');
    const error = await writeFileAtomic(target, 'data').catch((e: unknown) => e);
    expect(isCoreError(error) && error.code).toBe('IO');
    expect((await readdir(dir)).sort()).toEqual(['taken']);
  });
});
