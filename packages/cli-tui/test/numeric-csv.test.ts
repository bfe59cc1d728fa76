import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, main } from '../src/index.js';
import { chooseColumns, parseCsvLine, parseNumberCell, readChunks } from '../src/numeric-csv.js';
import { captureContext } from './capture.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-csv-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('CSV parsing', () => {
  it('splits fields with RFC 4180 quotes', () => {
    expect(parseCsvLine('a,"b,c","say ""hi""",')).toEqual(['a', 'b,c', 'say "hi"', '']);
    expect(parseCsvLine('1')).toEqual(['1']);
  });

  it('reads plain decimal numbers only', () => {
    expect(parseNumberCell(' -1.5e3 ')).toBe(-1500);
    expect(parseNumberCell('.5')).toBe(0.5);
    expect(parseNumberCell('')).toBeNaN();
    expect(parseNumberCell('0x10')).toBeNaN();
    expect(parseNumberCell('2024-01-01')).toBeNaN();
  });
});

describe('chooseColumns and readChunks', () => {
  const path = file(
    'mixed.csv',
    'time,x,"y",name,z\n2024-01-01,1,2,a,3\n2024-01-02,4,5,b,6\n2024-01-03,7,8,c,9\n',
  );

  it('picks the numeric columns and says which it left out', async () => {
    const choice = await chooseColumns(path, {});
    expect(choice.names).toEqual(['x', 'y', 'z']);
    expect(choice.skipped).toEqual(['time', 'name']);
    expect((await chooseColumns(path, { exclude: ['z'] })).names).toEqual(['x', 'y']);
    expect((await chooseColumns(path, { columns: ['z', 'x'] })).names).toEqual(['z', 'x']);
  });

  it('refuses unknown column names, listing the header', async () => {
    await expect(chooseColumns(path, { columns: ['w'] })).rejects.toThrow(/--columns: no column "w"/);
    await expect(chooseColumns(path, { exclude: ['nope'] })).rejects.toThrow(/--exclude: no column "nope"/);
  });

  it('streams rows in chunks, keeping each line as read', async () => {
    const choice = await chooseColumns(path, {});
    const chunks = [];
    for await (const chunk of readChunks(path, choice, 2)) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.rows)).toEqual([2, 1]);
    expect([...chunks[0]!.values]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(chunks[1]!.lines).toEqual(['2024-01-03,7,8,c,9']);
    expect(chunks[1]!.firstLine).toBe(4);
  });

  it('names the line and column of a cell that is not a number', async () => {
    const bad = file('bad.csv', 'x,y\n1,2\n3,oops\n');
    const choice = await chooseColumns(bad, { columns: ['x', 'y'] });
    const read = async () => {
      for await (const _chunk of readChunks(bad, choice)) {
        // drain
      }
    };
    await expect(read()).rejects.toThrow(/line 3 of .*bad\.csv, column "y": "oops" is not a number/);
  });
});

describe('crypto-anomaly score errors', () => {
  it('exits 1 naming line and column of a bad cell, and leaves no output', async () => {
    const input = file(
      'cells.csv',
      `x,y\n${Array.from({ length: 50 }, (_, i) => `${i},${i * 2}`).join('\n')}\n9,nine\n`,
    );
    const out = join(dir, 'cells-scored.csv');
    const io = captureContext();
    const code = await main(
      ['score', '--detector', 'iforest', '--input', input, '--columns', 'x,y', '--out', out],
      io.context,
    );
    expect(code).toBe(ExitCode.runtimeFailure);
    expect(io.err[0]).toMatch(/^error: line 52 of .*cells\.csv, column "y": "nine" is not a number$/);
    expect(io.err[1]).toMatch(/^hint: clean the file, or leave the column out with --exclude y$/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.includes('partial'))).toEqual([]);
  });

  it('exits 2 for a missing required flag or an unknown column', async () => {
    const io = captureContext();
    expect(await main(['score', '--detector', 'iforest', '--input', 'x.csv'], io.context)).toBe(
      ExitCode.usageError,
    );
    expect(io.stderr()).toMatch(/--out is required/);
    const input = file('two.csv', 'a,b\n1,2\n3,4\n');
    const unknown = captureContext();
    const code = await main(
      ['score', '--detector', 'iforest', '--input', input, '--columns', 'c', '--out', join(dir, 'o.csv')],
      unknown.context,
    );
    expect(code).toBe(ExitCode.usageError);
    expect(unknown.stderr()).toMatch(/--columns: no column "c"/);
    const badDetector = captureContext();
    expect(await main(['score', '--detector', 'svm'], badDetector.context)).toBe(ExitCode.usageError);
    expect(badDetector.stderr()).toMatch(
      /argument 'svm' is invalid\. Allowed choices are iforest, autoencoder/,
    );
  });
});

describe('config file and flags', () => {
  it('takes settings from the config file, and flags given on the command line win', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `${Math.sin(i * 0.7)},${Math.cos(i * 1.9)}`);
    const input = file('config-input.csv', `x,y\n${rows.join('\n')}\n`);
    const config = file(
      'score-config.json',
      JSON.stringify({ input, score: { detector: 'iforest', contamination: 0.2, trees: 50 } }),
    );
    const flaggedWith = async (...flags: string[]) => {
      const io = captureContext();
      const out = join(dir, `config-out-${flags.length}.csv`);
      expect(await main(['score', '--config', config, '--out', out, ...flags], io.context)).toBe(
        ExitCode.success,
      );
      return Number(/(\d+) flagged/.exec(io.stdout())?.[1]);
    };
    const fromConfig = await flaggedWith();
    expect(fromConfig).toBeGreaterThan(150); // 20% of 1,000
    expect(fromConfig).toBeLessThan(250);
    const overridden = await flaggedWith('--contamination', '0.01');
    expect(overridden).toBeLessThan(25); // 1% of 1,000
  });
});
