import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CsvRecord, csvRecords } from '../src/csv/read-csv.js';

/** What csv-parse alone makes of the text, with the options the reader used before its fast path. */
async function csvParseRecords(text: string): Promise<CsvRecord[] | string> {
  const parser = parse({ relax_column_count: true, skip_empty_lines: true, trim: true, info: true });
  const out: CsvRecord[] = [];
  try {
    Readable.from([Buffer.from(text)]).pipe(parser);
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      out.push({ record, line: info.lines });
    }
  } catch (error) {
    return `error at line ${(error as { lines?: number }).lines}`;
  }
  return out;
}

/** The reader's records, the text cut into the given chunk sizes. */
async function readerRecords(text: string, cuts: number[]): Promise<CsvRecord[] | string> {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const size of cuts) {
    if (at >= bytes.length) break;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at < bytes.length) chunks.push(bytes.subarray(at));
  const out: CsvRecord[] = [];
  try {
    for await (const record of csvRecords(Readable.from(chunks), { skipMalformed: false })) out.push(record);
  } catch (error) {
    return `error at line ${(error as { lines?: number }).lines}`;
  }
  return out;
}

describe('csvRecords', () => {
  it('gives the records and lines csv-parse gives, however the stream is cut', async () => {
    const piece = fc.constantFrom(
      '1',
      '23',
      '4.5e3',
      ',',
      ',',
      ' ',
      '\t',
      '\n',
      '\n',
      '\r\n',
      '"',
      'x',
      '\r',
      'é',
      '\uFEFF',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 60 }).map((pieces) => pieces.join('')),
        fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 30 }),
        async (text, cuts) => {
          expect(await readerRecords(text, cuts)).toEqual(await csvParseRecords(text));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('splits plain lines itself and hands the rest to csv-parse from the first quoted line', async () => {
    const text = 'open_time,close\r\n1,2\r\n\r\n3, 4 \r\n"5",6\r\n7,"a,b"\r\n8,9';
    expect(await readerRecords(text, [5, 5, 5])).toEqual([
      { record: ['open_time', 'close'], line: 1 },
      { record: ['1', '2'], line: 2 },
      { record: ['3', '4'], line: 4 },
      { record: ['5', '6'], line: 5 },
      { record: ['7', 'a,b'], line: 6 },
      { record: ['8', '9'], line: 7 },
    ]);
  });
});
