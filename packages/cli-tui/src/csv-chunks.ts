import { createReadStream } from 'node:fs';
import type { Matrix } from '@crypto-anomaly/core';
import { CsvError, type Options, parse } from 'csv-parse';
import { CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';

/** A number cell, or NaN when the text is not a plain decimal number. */
export function parseNumberCell(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return Number.NaN;
  return Number(trimmed);
}

const PARSE_OPTIONS: Options = {
  bom: true,
  // The record's text as in the file, written back beside its score.
  raw: true,
  // Any line end, even mixed in one file; a quoted field may hold commas, quotes and line ends.
  record_delimiter: ['\r\n', '\n', '\r'],
  skip_empty_lines: true,
  // A row of another length is read, then refused by readChunks with its line; a stray quote
  // inside an unquoted field is kept as text.
  relax_column_count: true,
  relax_quotes: true,
};

const LEADING_BREAKS = /^[\r\n]*/;
const TRAILING_BREAK = /(\r\n|\r|\n)$/;

function countBreaks(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 10) count++;
    else if (code === 13) {
      count++;
      if (text.charCodeAt(i + 1) === 10) i++;
    }
  }
  return count;
}

/** One CSV record: its fields, its text as in the file (no line end) and the line it starts on. */
interface CsvRecord {
  fields: string[];
  text: string;
  /** 1-based line of the file the record starts on. */
  line: number;
}

/** Records handed on at a time (one await per batch rather than per record). */
const BATCH_RECORDS = 1024;

/**
 * The file's records in order, in batches, blank lines skipped; only a small part of the file is
 * held at a time.
 */
async function* recordBatches(path: string): AsyncGenerator<CsvRecord[]> {
  const input = createReadStream(path);
  const parser = parse(PARSE_OPTIONS);
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let line = 0;
  let batch: CsvRecord[] = [];
  try {
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      // `raw` starts with the skipped blank lines before the record and ends with its line end
      // (only the \r of a \r\n: csv-parse keeps the first character of the delimiter).
      const leading = LEADING_BREAKS.exec(raw)![0];
      const first = line + countBreaks(leading) + 1;
      line += countBreaks(raw);
      const text = raw.slice(leading.length).replace(TRAILING_BREAK, '');
      if (text.trim() === '') continue;
      batch.push({ fields: record, text, line: first });
      if (batch.length === BATCH_RECORDS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } catch (error) {
    throw readError(path, error, line + 1);
  } finally {
    input.destroy();
    parser.destroy();
  }
}

function readError(path: string, error: unknown, line: number): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof CsvError) {
    return new CliError('RUNTIME', `--input ${path} is not valid CSV near line ${line}: ${error.message}`, {
      hint: 'a quoted field must end with a quote, and a quote inside it is doubled ("")',
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException).code;
  return new CliError('RUNTIME', `cannot read --input ${path} (${code ?? String(error)})`, {
    hint: 'check the path; --input takes a CSV file with a header row',
    cause: error,
  });
}

export interface ColumnChoice {
  /** Header names, as in the file (trimmed). */
  header: string[];
  /** Indices of the columns scored, in file order. */
  indices: number[];
  names: string[];
  /** Columns left out because their first rows are not numbers (when no --columns was given). */
  skipped: string[];
  /** Things people should know about the file (a header that looks like a row of numbers). */
  warnings: string[];
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
  read: for await (const batch of recordBatches(path)) {
    for (const { fields } of batch) {
      if (!header) header = fields.map((name) => name.trim());
      else samples.push(fields);
      if (samples.length >= 20) break read;
    }
  }
  if (!header || samples.length === 0) {
    throw new CliError('RUNTIME', `--input ${path} has no data rows`, {
      hint: 'give a CSV with a header row and at least one row of numbers',
    });
  }
  const known = header;
  if (known.length >= 2 && known.at(-2) === 'score' && known.at(-1) === 'is_anomaly') {
    throw new CliError(
      'RUNTIME',
      `--input ${path} ends with the columns score and is_anomaly, as score's own output does: they would be scored as features and written twice`,
      {
        hint: 'score the file it was made from, or rename those two columns if they are your own',
        exitCode: ExitCode.usageError,
      },
    );
  }
  const warnings: string[] = [];
  if (known.every((name) => name !== '' && !Number.isNaN(parseNumberCell(name)))) {
    warnings.push(
      `the first line of ${path} (${known.slice(0, 4).join(',')}${known.length > 4 ? ',...' : ''}) is all numbers: it is read as the header, its row is not scored; add a header line if the file has none`,
    );
  }
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
      // A column without a name is most often a row index (pandas' to_csv writes one): scoring
      // it would rank rows by their position. Left out, and said.
      if (name === '') {
        warnings.push(
          `left out column ${index + 1}, which has no name (a row index, as pandas writes one?); name the columns to score with --columns to include it`,
        );
        return;
      }
      // Numeric when most of its first cells are numbers: one bad cell (NaN, n/a) among them is
      // then named by readChunks, as it is further down, rather than silently dropping the column.
      const values = samples.map((row) => row[index] ?? '').filter((cell) => cell.trim() !== '');
      const numbers = values.filter((cell) => !Number.isNaN(parseNumberCell(cell))).length;
      if (values.length > 0 && numbers * 2 > values.length) indices.push(index);
      else skipped.push(name);
    });
  }
  const separator =
    known.length === 1 ? [';', '\t', '|'].find((mark) => known[0]!.includes(mark)) : undefined;
  if (separator) {
    throw new CliError(
      'RUNTIME',
      `--input ${path} has one column, ${JSON.stringify(known[0]!.slice(0, 60))}: it looks separated by ${JSON.stringify(separator)}, and score reads comma-separated files`,
      {
        hint: `convert it to commas first, e.g. tr '${separator === '\t' ? '\\t' : separator}' ',' < in > out.csv (when no field holds a comma)`,
        exitCode: ExitCode.usageError,
      },
    );
  }
  if (indices.length === 0) {
    throw new CliError('USAGE', `--columns: no numeric column to score in ${path}`, {
      option: '--columns',
      hint: `name the numeric columns with --columns a,b (the header has: ${known.join(', ')})`,
    });
  }
  return { header: known, indices, names: indices.map((index) => known[index]!), skipped, warnings };
}

/** A block of consecutive data rows: their text as in the file and their chosen columns as numbers. */
export interface RowChunk {
  /** Each row's text as read, without its line end (a quoted field may span lines). */
  records: string[];
  /** rows × chosen columns, row-major. */
  matrix: Matrix;
  /** 1-based line of the file the first row starts on. */
  firstLine: number;
}

/**
 * Streams the data rows in chunks of at most `chunkRows`; only one chunk is held at a time. A
 * chosen cell that is not a finite number stops the read, naming its line and column.
 */
export async function* readChunks(
  path: string,
  choice: ColumnChoice,
  chunkRows = 8192,
): AsyncGenerator<RowChunk> {
  const cols = choice.indices.length;
  let sawHeader = false;
  let texts: string[] = [];
  let values = new Float64Array(chunkRows * cols);
  let firstLine = 0;
  const flush = (): RowChunk => {
    const chunk = {
      records: texts,
      matrix: { data: values.subarray(0, texts.length * cols), rows: texts.length, cols },
      firstLine,
    };
    texts = [];
    values = new Float64Array(chunkRows * cols);
    return chunk;
  };
  for await (const batch of recordBatches(path)) {
    for (const { fields, text, line } of batch) {
      if (!sawHeader) {
        sawHeader = true;
        continue;
      }
      // Every row has the header's fields: a row's text is written back beside its score, and a
      // longer or shorter one would put its score under another column.
      if (fields.length !== choice.header.length) {
        throw new CliError(
          'RUNTIME',
          `line ${line} of ${path} has ${fields.length} field${fields.length === 1 ? '' : 's'}, the header ${choice.header.length}`,
          { hint: 'fix that row (a stray comma, a missing cell), then run again; nothing was written' },
        );
      }
      const row = texts.length;
      if (row === 0) firstLine = line;
      for (let c = 0; c < cols; c++) {
        const index = choice.indices[c]!;
        const value = parseNumberCell(fields[index] ?? '');
        if (!Number.isFinite(value)) {
          throw new CliError(
            'RUNTIME',
            `line ${line} of ${path}, column "${choice.header[index]}": "${fields[index] ?? ''}" is not a number`,
            { hint: `clean the file, or leave the column out with --exclude ${choice.header[index]}` },
          );
        }
        values[row * cols + c] = value;
      }
      texts.push(text);
      if (texts.length === chunkRows) yield flush();
    }
  }
  if (texts.length > 0) yield flush();
}
