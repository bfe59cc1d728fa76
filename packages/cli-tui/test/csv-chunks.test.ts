import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseColumns, parseNumberCell, type RowChunk, readChunks } from '../src/csv-chunks.js';
import { ExitCode, main } from '../src/index.js';
import { captureContext } from './capture.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-csv-'));
function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function chunksOf(
  path: string,
  options: { columns?: string[]; chunkRows?: number } = {},
): Promise<RowChunk[]> {
  const choice = await chooseColumns(path, options.columns ? { columns: options.columns } : {});
  const chunks: RowChunk[] = [];
  for await (const chunk of readChunks(path, choice, options.chunkRows)) chunks.push(chunk);
  return chunks;
}

describe('CSV parsing', () => {
  it('reads quoted fields holding commas, doubled quotes and line ends, keeping each record as written', async () => {
    const path = file('quoted.csv', 'note,x\n"a,b",1\n"say ""hi""",2\n"two\nlines",3\nplain,4\n');
    const choice = await chooseColumns(path, {});
    expect(choice.names).toEqual(['x']);
    expect(choice.skipped).toEqual(['note']);
    const [chunk, ...rest] = await chunksOf(path);
    expect(rest).toEqual([]);
    expect(chunk!.records).toEqual(['"a,b",1', '"say ""hi""",2', '"two\nlines",3', 'plain,4']);
    expect([...chunk!.matrix.data]).toEqual([1, 2, 3, 4]);
  });

  it('counts lines across blank lines, CRLF and quoted line ends', async () => {
    const path = file('lines.csv', 'x,y\r\n1,"a\r\nb"\r\n\r\n  \r\n2,3\r\n');
    const chunks = await chunksOf(path, { columns: ['x'], chunkRows: 1 });
    expect(chunks.map((chunk) => chunk.firstLine)).toEqual([2, 6]);
    expect(chunks.map((chunk) => chunk.records[0])).toEqual(['1,"a\r\nb"', '2,3']);
  });

  it('names where a quote is never closed', async () => {
    const path = file('open-quote.csv', 'x,y\n1,2\n3,"4\n');
    await expect(chunksOf(path)).rejects.toThrow(
      /open-quote\.csv is not valid CSV near line 3: Quote Not Closed/,
    );
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
    const chunks = await chunksOf(path, { chunkRows: 2 });
    expect(chunks.map((chunk) => chunk.matrix.rows)).toEqual([2, 1]);
    expect([...chunks[0]!.matrix.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(chunks[1]!.records).toEqual(['2024-01-03,7,8,c,9']);
    expect(chunks[1]!.firstLine).toBe(4);
  });

  it('names the line and column of a cell that is not a number', async () => {
    const bad = file('bad.csv', 'x,y\n1,2\n3,oops\n');
    await expect(chunksOf(bad, { columns: ['x', 'y'] })).rejects.toThrow(
      /line 3 of .*bad\.csv, column "y": "oops" is not a number/,
    );
  });

  it('keeps a numeric column with one bad cell among its first rows, and names that cell', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `${i},${i * 2}`);
    rows[0] = '0.5,NaN';
    const early = file('early.csv', `a,b\n${rows.join('\n')}\n`);
    expect((await chooseColumns(early, {})).names).toEqual(['a', 'b']);
    await expect(chunksOf(early)).rejects.toThrow(
      /line 2 of .*early\.csv, column "b": "NaN" is not a number/,
    );
  });

  it('refuses a row with more or fewer fields than the header, naming its line', async () => {
    const longer = file('longer.csv', 'a,b\n1,2\n3,4,9\n');
    await expect(chunksOf(longer, { columns: ['a', 'b'] })).rejects.toThrow(
      /line 3 of .*longer\.csv has 3 fields, the header 2/,
    );
    const shorter = file('shorter.csv', 'a,b,note\n1,2,x\n3,4\n');
    await expect(chunksOf(shorter, { columns: ['a', 'b'] })).rejects.toThrow(
      /line 3 .* has 2 fields, the header 3/,
    );
  });

  it('says a file separated by semicolons is not comma-separated', async () => {
    const semi = file('semi.csv', 'a;b\n1;2\n3;4\n');
    await expect(chooseColumns(semi, {})).rejects.toThrow(/looks separated by ";"/);
  });

  it('says when the file cannot be read', async () => {
    await expect(chooseColumns(join(dir, 'missing.csv'), {})).rejects.toThrow(
      /cannot read --input .*missing\.csv \(ENOENT\)/,
    );
  });
});

describe('crypto-anomaly score', () => {
  it('scores a record whose quoted field holds a comma, a doubled quote and a line end, keeping its text', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => `plain ${i},${Math.sin(i)},${Math.cos(i * 1.7)}`);
    rows[10] = '"a, ""quoted""\nnote",40,-40';
    const input = file('notes.csv', `note,x,y\n${rows.join('\n')}\n`);
    const out = join(dir, 'notes-scored.csv');
    const io = captureContext();
    const code = await main(
      ['score', '--detector', 'iforest', '--input', input, '--trees', '20', '--out', out],
      io.context,
    );
    expect(io.stderr()).toBe('');
    expect(code).toBe(ExitCode.success);
    expect(io.stdout()).toMatch(/scored 60 rows on 2 columns with isolation-forest/);
    const text = readFileSync(out, 'utf8');
    expect(text.startsWith('note,x,y,score,is_anomaly\n')).toBe(true);
    // The header, 60 rows (one of them on two lines) and the empty string after the last line end.
    expect(text.split('\n')).toHaveLength(1 + 61 + 1);
    const outlier = /\n"a, ""quoted""\nnote",40,-40,(0\.\d+),([01])\n/.exec(text);
    expect(outlier).not.toBeNull();
    expect(outlier![2]).toBe('1');
    expect(text).toContain('\nplain 11,');
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

  it('never writes over a file it did not write; a scored CSV of its own is replaced', async () => {
    const input = file(
      'over.csv',
      `x,y\n${Array.from({ length: 40 }, (_, i) => `${i},${i % 7}`).join('\n')}\n`,
    );
    const notes = file('over-notes.txt', 'my precious notes\n');
    const refused = captureContext();
    const args = ['score', '--detector', 'iforest', '--input', input, '--trees', '20', '--out'];
    expect(await main([...args, notes], refused.context)).toBe(ExitCode.usageError);
    expect(refused.err[0]).toMatch(
      /^error: --out .*over-notes\.txt already exists and is not a scored copy of .*over\.csv that crypto-anomaly wrote \(its first line: "my precious notes"\); it was left as it is$/,
    );
    expect(refused.err[1]).toBe('hint: name another file with --out, or move the existing one aside');
    expect(readFileSync(notes, 'utf8')).toBe('my precious notes\n');
    // Its own output, written again: replaced.
    const out = join(dir, 'over-scored.csv');
    expect(await main([...args, out], captureContext().context)).toBe(ExitCode.success);
    expect(await main([...args, out], captureContext().context)).toBe(ExitCode.success);
    expect(readFileSync(out, 'utf8').startsWith('x,y,score,is_anomaly\n')).toBe(true);
    // A file with that header but flags that are not its scores above one threshold (labels a
    // person set, or a scored copy edited since): not replaced.
    const scored = readFileSync(out, 'utf8').trim().split('\n');
    const edited = scored.map((line, i) => (i === 0 ? line : line.replace(/,[01]$/, i % 2 ? ',1' : ',0')));
    const labels = file('over-labels.csv', `${edited.join('\n')}\n`);
    const kept = captureContext();
    expect(await main([...args, labels], kept.context)).toBe(ExitCode.usageError);
    expect(kept.err[0]).toMatch(/is_anomaly column is not its scores above one threshold/);
    expect(readFileSync(labels, 'utf8')).toBe(`${edited.join('\n')}\n`);
    // A scored CSV of another input (another header) is not this input's either.
    const other = file('other-scored.csv', 'timestamp,value,score,is_anomaly\n2024-01-01,1,0.9,1\n');
    expect(await main([...args, other], captureContext().context)).toBe(ExitCode.usageError);
    expect(readFileSync(other, 'utf8')).toBe('timestamp,value,score,is_anomaly\n2024-01-01,1,0.9,1\n');
    // A file of the user's with the same columns and consistent flags, but other rows: not replaced.
    const mine = file('over-mine.csv', 'x,y,score,is_anomaly\n1,2,0.9,1\n4,5,0.1,0\n');
    const refusedMine = captureContext();
    expect(await main([...args, mine], refusedMine.context)).toBe(ExitCode.usageError);
    expect(refusedMine.err[0]).toMatch(/is not a scored copy of .*over\.csv: it has 2 rows, the input 40/);
    expect(readFileSync(mine, 'utf8')).toBe('x,y,score,is_anomaly\n1,2,0.9,1\n4,5,0.1,0\n');
    // A symbolic link in place of --out: left, link and file.
    const link = join(dir, 'latest-scored.csv');
    symlinkSync(out, link);
    const linked = captureContext();
    expect(await main([...args, link], linked.context)).toBe(ExitCode.usageError);
    expect(linked.err[0]).toMatch(/is a symbolic link/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('refuses a pipe or standard input as --input (read twice), and adds up a repeated --exclude', async () => {
    const input = file(
      'twice.csv',
      `x,y,label,id\n${Array.from({ length: 30 }, (_, i) => `${i},${i % 5},0,${i}`).join('\n')}\n`,
    );
    // A named pipe stands in for a shell's pipe (/dev/stdin, <(...)): stat, never opened.
    const fifo = join(dir, 'rows.fifo');
    spawnSync('mkfifo', [fifo]);
    for (const given of ['-', fifo]) {
      const io = captureContext();
      expect(
        await main(
          ['score', '--detector', 'iforest', '--input', given, '--out', join(dir, 'never.csv')],
          io.context,
        ),
      ).toBe(ExitCode.usageError);
      expect(io.err[0]).toMatch(
        /--input .* is (standard input|not a regular file \(a pipe or a device\)): score reads its input twice/,
      );
    }
    expect(existsSync(join(dir, 'never.csv'))).toBe(false);
    const io = captureContext();
    const args = ['score', '--detector', 'iforest', '--input', input, '--trees', '10', '--json'];
    expect(
      await main(
        [...args, '--exclude', 'label', '--exclude', 'id', '--out', join(dir, 'twice-scored.csv')],
        io.context,
      ),
    ).toBe(ExitCode.success);
    expect(JSON.parse(io.out.join('\n')).columns).toEqual(['x', 'y']);
  });

  it('refuses input it would write back altered (UTF-16, latin-1) or twice (a scored copy), and warns of a headerless file', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `${i},${i % 5},city${i}`).join('\n');
    const refusedWith = async (name: string, content: Buffer | string) => {
      const io = captureContext();
      const code = await main(
        [
          'score',
          '--detector',
          'iforest',
          '--input',
          file(name, content),
          '--trees',
          '10',
          '--out',
          join(dir, `${name}.out.csv`),
        ],
        io.context,
      );
      return { code, err: io.err.join('\n') };
    };
    const utf16 = await refusedWith(
      'utf16.csv',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`x,y,city\n${rows}\n`, 'utf16le')]),
    );
    expect(utf16.code).toBe(ExitCode.usageError);
    expect(utf16.err).toMatch(/is UTF-16 text \(or binary\), and score reads and writes UTF-8/);
    expect(utf16.err).toMatch(/iconv -f UTF-16 -t UTF-8/);
    const latin1 = await refusedWith(
      'latin1.csv',
      Buffer.from(`x,y,city\n${rows}\n1,2,Z\u00fcrich\n`, 'latin1'),
    );
    expect(latin1.code).toBe(ExitCode.usageError);
    expect(latin1.err).toMatch(/is not UTF-8 text \(another encoding, such as latin-1\)/);
    const scored = await refusedWith(
      'already.csv',
      `x,y,score,is_anomaly\n${rows.replace(/city\d+/g, '0.5,0')}\n`,
    );
    expect(scored.code).toBe(ExitCode.usageError);
    expect(scored.err).toMatch(/ends with the columns score and is_anomaly, as score's own output does/);
    for (const name of ['utf16.csv', 'latin1.csv', 'already.csv'])
      expect(existsSync(join(dir, `${name}.out.csv`))).toBe(false);
    // No header: the first row is read as one, with a warning.
    const io = captureContext();
    const headerless = file(
      'headerless.csv',
      `${Array.from({ length: 30 }, (_, i) => `${i},${(i * 7) % 5}`).join('\n')}\n`,
    );
    expect(
      await main(
        [
          'score',
          '--detector',
          'iforest',
          '--input',
          headerless,
          '--trees',
          '10',
          '--out',
          join(dir, 'headerless.out.csv'),
        ],
        io.context,
      ),
    ).toBe(ExitCode.success);
    expect(io.out.join('\n')).toMatch(
      /warning: the first line of .*headerless\.csv \(0,0\) is all numbers: it is read as the header/,
    );
  });

  it("leaves out an unnamed column (pandas' row index), saying so; refuses --extension-level and --fit-rows that cannot be, before reading", async () => {
    const input = file(
      'indexed.csv',
      `,x,y\n${Array.from({ length: 30 }, (_, i) => `${i},${i % 7},${(i * 3) % 5}`).join('\n')}\n`,
    );
    const io = captureContext();
    const args = ['score', '--detector', 'iforest', '--input', input, '--trees', '10'];
    expect(await main([...args, '--json', '--out', join(dir, 'indexed.out.csv')], io.context)).toBe(
      ExitCode.success,
    );
    expect(JSON.parse(io.out.join('\n')).columns).toEqual(['x', 'y']);
    expect(io.err.join('\n')).toMatch(/warning: left out column 1, which has no name \(a row index/);
    const level = captureContext();
    expect(
      await main([...args, '--extension-level', '9', '--out', join(dir, 'level.csv')], level.context),
    ).toBe(ExitCode.usageError);
    expect(level.err[0]).toMatch(/--extension-level 9 is more than the 2 columns scored allow \(at most 1\)/);
    const rows = captureContext();
    expect(await main([...args, '--fit-rows', '1', '--out', join(dir, 'rows.csv')], rows.context)).toBe(
      ExitCode.usageError,
    );
    expect(rows.err[0]).toMatch(/--fit-rows must be at least 2/);
  });

  it('reads --out=~/… as the home folder, as a shell would, not as a folder named ~', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cli-home-'));
    const input = file(
      'home-in.csv',
      `x,y\n${Array.from({ length: 30 }, (_, i) => `${i},${i % 5}`).join('\n')}\n`,
    );
    const before = process.env['HOME'];
    const cwd = process.cwd();
    process.env['HOME'] = home;
    process.chdir(dir);
    try {
      const args = [
        'score',
        '--detector',
        'iforest',
        '--input',
        input,
        '--trees',
        '10',
        '--out=~/scored.csv',
      ];
      expect(await main(args, captureContext().context)).toBe(ExitCode.success);
    } finally {
      process.chdir(cwd);
      if (before === undefined) delete process.env['HOME'];
      else process.env['HOME'] = before;
    }
    expect(existsSync(join(home, 'scored.csv'))).toBe(true);
    expect(existsSync(join(dir, '~'))).toBe(false);
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
      /argument 'svm' is invalid\. Allowed choices are isolation-forest, autoencoder, attention, consensus/,
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

  it("applies the config's pipeline threshold and forest section, and names the pipeline keys score cannot use", async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `${Math.sin(i * 0.7)},${Math.cos(i * 1.9)}`);
    const input = file('pipeline-input.csv', `x,y\n${rows.join('\n')}\n`);
    const run = async (pipeline: object, ...flags: string[]) => {
      const config = file(
        'pipeline-config.json',
        JSON.stringify({ input, score: { detector: 'iforest' }, pipeline }),
      );
      const io = captureContext();
      const out = join(dir, 'pipeline-out.csv');
      const code = await main(['score', '--config', config, '--out', out, ...flags], io.context);
      return {
        code,
        text: io.stdout() + io.stderr(),
        flagged: Number(/(\d+) flagged/.exec(io.stdout())?.[1]),
      };
    };
    const shared = await run({
      threshold: { kind: 'contamination', contamination: 0.2 },
      features: { set: 'classic' },
      split: { train: 0.8 },
    });
    expect(shared.code).toBe(ExitCode.success);
    expect(shared.flagged).toBeGreaterThan(150); // 20% of 1,000, not the forest's s > 0.5
    expect(shared.flagged).toBeLessThan(250);
    expect(shared.text).toContain('pipeline.features, pipeline.split do not apply to score');
    expect(shared.text).not.toContain('--contamination auto flags every row');
    // The forest's own threshold wins over the pipeline's; a flag over both.
    const own = await run({
      threshold: { kind: 'contamination', contamination: 0.2 },
      isolationForest: { threshold: { kind: 'contamination', contamination: 0.05 } },
    });
    expect(own.flagged).toBeGreaterThan(30);
    expect(own.flagged).toBeLessThan(80);
    const flag = await run(
      { threshold: { kind: 'contamination', contamination: 0.2 } },
      '--contamination',
      '0.01',
    );
    expect(flag.flagged).toBeLessThan(25);
    // An explicit `auto` is the forest's classic s > 0.5 (every row of this wave), not the config's share.
    const auto = await run(
      { threshold: { kind: 'contamination', contamination: 0.2 } },
      '--contamination',
      'auto',
    );
    expect(auto.flagged).toBeGreaterThan(250);
    // The section's forest settings are read: an extension level two columns cannot have.
    const wide = await run({ isolationForest: { extensionLevel: 3 } });
    expect(wide.code).toBe(ExitCode.usageError);
    expect(wide.text).toMatch(/extension-level 3 is more than the 2 columns scored allow/);
  });

  it('lists isolation-forest among the --detector choices in --help', async () => {
    const io = captureContext();
    await main(['score', '--help'], io.context);
    // Help wraps at the context's width: compare with the line breaks and indents folded.
    expect(io.stdout().replace(/\s+/g, ' ')).toMatch(
      /--detector <name> .*\(choices: "isolation-forest", "autoencoder", "attention", "consensus"\)/,
    );
  });
});
