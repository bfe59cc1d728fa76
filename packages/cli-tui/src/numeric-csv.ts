import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CliError } from './errors.js';

/** Splits one CSV line into fields (RFC 4180 quotes; a quoted field may not span lines). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const character = line[i]!;
    if (quoted) {
      if (character === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += character;
    } else if (character === '"' && field.length === 0) quoted = true;
    else if (character === ',') {
      fields.push(field);
      field = '';
    } else field += character;
  }
  fields.push(field);
  return fields;
}

/** A number cell, or NaN when the text is not a plain decimal number. */
export function parseNumberCell(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return Number.NaN;
  return Number(trimmed);
}

async function* lines(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of reader) yield line;
  } finally {
    reader.close();
    stream.destroy();
  }
}

function openError(path: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  return new CliError('RUNTIME', `cannot read --input ${path} (${code ?? String(error)})`, {
    hint: 'check the path; --input takes a CSV file with a header row',
    cause: error,
  });
}

export interface ColumnChoice {
  /** Header names, as in the file. */
  header: string[];
  /** Indices of the columns scored, in file order. */
  indices: number[];
  names: string[];
  /** Columns left out because their first rows are not numbers (when no --columns was given). */
  skipped: string[];
}

/**
 * Decides which columns to score: `columns` when given (each must exist), else every column not
 * in `exclude` whose first non-empty values are numbers.
 */
export async function chooseColumns(
  path: string,
  options: { columns?: readonly string[]; exclude?: readonly string[] },
): Promise<ColumnChoice> {
  let header: string[] | undefined;
  const samples: string[][] = [];
  try {
    for await (const line of lines(path)) {
      if (line.trim() === '') continue;
      if (!header) header = parseCsvLine(line).map((name) => name.trim());
      else samples.push(parseCsvLine(line));
      if (samples.length >= 20) break;
    }
  } catch (error) {
    throw openError(path, error);
  }
  if (!header || samples.length === 0) {
    throw new CliError('RUNTIME', `--input ${path} has no data rows`, {
      hint: 'give a CSV with a header row and at least one row of numbers',
    });
  }
  const known = header;
  for (const [flag, names] of [
    ['--columns', options.columns],
    ['--exclude', options.exclude],
  ] as const) {
    const missing = (names ?? []).filter((name) => !known.includes(name));
    if (missing.length > 0) {
      throw new CliError(
        'USAGE',
        `${flag}: no column ${missing.map((name) => `"${name}"`).join(', ')} in ${path}`,
        {
          option: flag,
          hint: `the header has: ${known.join(', ')}`,
        },
      );
    }
  }
  const skipped: string[] = [];
  let indices: number[];
  if (options.columns && options.columns.length > 0) {
    indices = options.columns.map((name) => known.indexOf(name));
  } else {
    indices = [];
    known.forEach((name, index) => {
      if (options.exclude?.includes(name)) return;
      const values = samples.map((row) => row[index] ?? '').filter((cell) => cell.trim() !== '');
      if (values.length > 0 && values.every((cell) => !Number.isNaN(parseNumberCell(cell))))
        indices.push(index);
      else skipped.push(name);
    });
  }
  if (indices.length === 0) {
    throw new CliError('USAGE', `--columns: no numeric column to score in ${path}`, {
      option: '--columns',
      hint: `name the numeric columns with --columns a,b (the header has: ${known.join(', ')})`,
    });
  }
  return { header: known, indices, names: indices.map((index) => known[index]!), skipped };
}

/** A block of consecutive data rows: their original text and their chosen columns as numbers. */
export interface RowChunk {
  /** The data rows' lines as read (without line ends). */
  lines: string[];
  /** rows × columns, row-major. */
  values: Float64Array;
  rows: number;
  cols: number;
  /** 1-based file line number of the first row. */
  firstLine: number;
}

/**
 * Streams the data rows in chunks of at most `chunkRows`; only one chunk is held at a time.
 * A cell that is not a number stops the stream with an error naming line and column.
 */
export async function* readChunks(
  path: string,
  choice: ColumnChoice,
  chunkRows = 8192,
): AsyncGenerator<RowChunk> {
  const cols = choice.indices.length;
  let lineNumber = 0;
  let sawHeader = false;
  let chunkLines: string[] = [];
  let values = new Float64Array(chunkRows * cols);
  let firstLine = 0;
  const flush = (): RowChunk => {
    const chunk = {
      lines: chunkLines,
      values: values.subarray(0, chunkLines.length * cols),
      rows: chunkLines.length,
      cols,
      firstLine,
    };
    chunkLines = [];
    values = new Float64Array(chunkRows * cols);
    return chunk;
  };
  let iterator: AsyncGenerator<string>;
  try {
    iterator = lines(path);
  } catch (error) {
    throw openError(path, error);
  }
  for await (const line of iterator) {
    lineNumber++;
    if (line.trim() === '') continue;
    if (!sawHeader) {
      sawHeader = true;
      continue;
    }
    const fields = parseCsvLine(line);
    const row = chunkLines.length;
    if (row === 0) firstLine = lineNumber;
    for (let c = 0; c < cols; c++) {
      const index = choice.indices[c]!;
      const value = parseNumberCell(fields[index] ?? '');
      if (Number.isNaN(value)) {
        throw new CliError(
          'RUNTIME',
          `line ${lineNumber} of ${path}, column "${choice.header[index]}": "${fields[index] ?? ''}" is not a number`,
          { hint: `clean the file, or leave the column out with --exclude ${choice.header[index]}` },
        );
      }
      values[row * cols + c] = value;
    }
    chunkLines.push(line);
    if (chunkLines.length === chunkRows) yield flush();
  }
  if (chunkLines.length > 0) yield flush();
}
