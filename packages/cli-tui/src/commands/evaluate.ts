import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type {
  EvaluationInput,
  EvaluationLabels,
  EvaluationReport,
  EvaluationSplit,
  TimeRange,
} from '@crypto-anomaly/core';
import * as core from '@crypto-anomaly/core';
import * as data from '@crypto-anomaly/data';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from '../command-context.js';
import type { ConfigFile } from '../config.js';
import { CliError, isLibraryError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { fit, formatPercent } from '../format.js';
import { configDate, configOf, parse } from '../options.js';
import { openExistingStore, storePathOf } from '../sources.js';

/** `--tolerance`: a duration (`90s`, `30m`, `2h`, `1d`, `1w`) or a whole number of candles. */
export type Tolerance = { ms: number } | { candles: number };

const DURATION_UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export function parseTolerance(value: string): Tolerance {
  const text = value.trim();
  if (/^\d+$/.test(text)) return { candles: Number(text) };
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text);
  if (!match) {
    throw new InvalidArgumentError(
      'Expected a duration such as 90s, 30m, 2h, 1d or 1w, or a whole number of candles such as 3.',
    );
  }
  return { ms: Number(match[1]) * DURATION_UNITS[match[2]!]! };
}

const SPLITS: readonly EvaluationSplit[] = ['all', 'train', 'validation', 'test'];

interface EvaluateFlags {
  labels?: string;
  series?: string;
  tolerance?: Tolerance;
  split?: EvaluationSplit;
  out?: string;
  json?: boolean;
  charts?: boolean;
  events?: boolean;
  fromStore?: boolean;
  store?: string;
  symbol?: string;
  interval?: data.Interval;
  since?: number;
  until?: number;
}

/** `crypto-anomaly evaluate RUN_DIR`: a run's anomalies scored against labels, and without them. */
export function addEvaluateCommand(program: Command, context: CommandContext): void {
  program
    .command('evaluate')
    .description("score a run's anomalies against labels (and measures that need none)")
    .argument('[run-dir]', 'the output folder of a run or detect (its --out); or --from-store')
    .option(
      '--labels <sample|file>',
      'labels: sample (the bundled sample market), an events CSV (time, or start,end), or NAB combined_windows.json',
    )
    .option(
      '--series <key>',
      "the key of a NAB windows file to use (default: the one naming the run's symbol)",
    )
    .option(
      '--tolerance <duration|candles>',
      'widen every event on both sides: 2h, 30m, 1d, or a number of candles (default 0)',
      parseTolerance,
    )
    .addOption(
      new Option(
        '--split <name>',
        'rows evaluated (default all; test: the rows no detector was fitted on)',
      ).choices([...SPLITS]),
    )
    .option('--out <dir>', 'folder for evaluation.json and chart_evaluation.png (default: the run folder)')
    .option('--json', 'print the evaluation as one JSON document on stdout (human text on stderr)')
    .option('--no-charts', 'skip the PNG chart')
    .option(
      '--events',
      'also list every event: which detectors flagged it and how many candles after its start',
    )
    .option('--config <file.json>', 'settings file (its "sample" key: the sample market the run used)')
    .option(
      '--from-store',
      "evaluate what watch scored and stored: the store's scores and flags of --symbol at --interval",
    )
    .option(
      '--store <file>',
      'with --from-store: the DuckDB store watch wrote (default $CRYPTO_ANOMALY_STORE, else $XDG_DATA_HOME/crypto-anomaly/klines.duckdb)',
    )
    .option('--symbol <symbol>', 'with --from-store: the pair, e.g. BTCUSDT', parse.symbol)
    .option('--interval <interval>', 'with --from-store: the candle interval, e.g. 1h', parse.interval)
    .option('--since <date>', 'with --from-store: first scored candle evaluated, UTC', parse.date)
    .option('--until <date>', 'with --from-store: candles before this time, UTC', parse.date)
    .addHelpText(
      'after',
      `
Examples:
  crypto-anomaly evaluate output/ --labels sample                 a run on the bundled sample
  crypto-anomaly evaluate runs/btc --labels events.csv --tolerance 2h
  crypto-anomaly evaluate runs/btc --labels combined_windows.json --series BTCUSDT --split test
  crypto-anomaly evaluate runs/btc                                without labels: explainable share, spread
  crypto-anomaly evaluate runs/btc --labels events.csv --json | jq '.detectors[].labelled.f1'
  crypto-anomaly evaluate output/ --labels sample --events         every event, caught or missed
  crypto-anomaly evaluate --from-store --symbol BTCUSDT --interval 1h --labels sample
                                 what watch --replay sample --store ... flagged, candle by candle

An events CSV has a header with a "time" column (one instant per line) or "start" and "end"
columns (one span per line), and may have a "label" (or "kind") column: the events caught are
then counted per label. Times are "YYYY-MM-DD[ HH:MM[:SS]]" (UTC unless they end in Z, UTC or an
offset such as +02:00) or epoch ms; other forms are refused. An event
labels every candle it overlaps, after the tolerance. Writes evaluation.json and
chart_evaluation.png into the run folder (listed in its marker) or --out, never over a file
crypto-anomaly did not write. With --from-store, each candle was judged by the threshold it had
when it closed (DSPOT moves it), so the stored flags are evaluated as they were; the files go to
--out (default ./evaluation_SYMBOL_INTERVAL).`,
    )
    .action(async (runDir: string | undefined, flags: EvaluateFlags, command: Command) => {
      const config = await configOf(command);
      const say = flags.json ? context.err : context.out;
      const stored = storedSelection(runDir, flags);
      const outDir = resolve(
        flags.out ?? (stored ? `evaluation_${stored.symbol}_${stored.interval}` : runDir!),
      );
      // Before any work: the target must take the files without overwriting one we did not write.
      await core.prepareEvaluationTarget(outDir);
      const { run, from } = stored
        ? await readStoredScores(stored, flags)
        : await readRunFolder(resolve(runDir!));
      const labels = flags.labels === undefined ? null : await readLabels(flags, run, config);
      const report: EvaluationReport = {
        ...core.evaluateRun(run, labels, { split: flags.split ?? 'all' }),
        from,
      };
      let chart: Uint8Array | undefined;
      if (flags.charts !== false) chart = await renderChart(report, run);
      const files = await core.writeEvaluation(outDir, report, chart);
      if (flags.json) context.out(JSON.stringify({ ...report, files }));
      for (const line of reportLines(report, context.width(), { events: flags.events === true })) say(line);
      say(`Wrote ${files.report}${files.chart ? ` and ${files.chart}` : ''}`);
    });
}

/** What --from-store evaluates (undefined: a run folder), after checking the flags agree. */
function storedSelection(
  runDir: string | undefined,
  flags: EvaluateFlags,
): { symbol: string; interval: data.Interval } | undefined {
  const storeOnly = (['store', 'symbol', 'interval', 'since', 'until'] as const).filter(
    (name) => flags[name] !== undefined,
  );
  if (!flags.fromStore) {
    if (runDir === undefined) {
      throw new CliError(
        'USAGE',
        'give the run folder to evaluate (the --out of run or detect), or --from-store',
        {
          hint: 'e.g. crypto-anomaly evaluate output --labels sample, or evaluate --from-store --symbol BTCUSDT --interval 1h',
        },
      );
    }
    if (storeOnly.length > 0) {
      throw new CliError('USAGE', `--${storeOnly[0]} is only read with --from-store`, {
        option: `--${storeOnly[0]}`,
        hint: 'add --from-store to evaluate what watch stored, or drop it to evaluate the run folder',
      });
    }
    return undefined;
  }
  if (runDir !== undefined) {
    throw new CliError('USAGE', `give a run folder (${runDir}) or --from-store, not both`, {
      hint: 'drop the folder to evaluate the store, or --from-store to evaluate the folder',
    });
  }
  for (const [flag, value, example] of [
    ['--symbol', flags.symbol, 'BTCUSDT'],
    ['--interval', flags.interval, '1h'],
  ] as const) {
    if (value === undefined) {
      throw new CliError('USAGE', `--from-store needs ${flag}`, {
        option: flag,
        hint: `e.g. ${flag} ${example}`,
      });
    }
  }
  return { symbol: flags.symbol!, interval: flags.interval! };
}

async function readRunFolder(dir: string): Promise<{ run: core.RunScores; from: Record<string, string> }> {
  let run: core.RunScores;
  try {
    run = await core.readRunScores(dir);
  } catch (error) {
    // The folder's own files disagree or were edited: no flag of evaluate's is to blame.
    if (!isLibraryError(error, 'CoreError') || error.code === 'IO') throw error;
    throw new CliError('RUNTIME', error.message, {
      hint: `the files in ${dir} were edited or mix two runs: run again into it, or evaluate another run folder (nothing was written)`,
      cause: error,
    });
  }
  return { run, from: { runDir: dir, runId: run.runId, source: run.source } };
}

/** The scores, thresholds and flags `watch` stored for one pair, with their candles, as a run to evaluate. */
async function readStoredScores(
  { symbol, interval }: { symbol: string; interval: data.Interval },
  flags: EvaluateFlags,
): Promise<{ run: core.RunScores; from: Record<string, string> }> {
  const store = await openExistingStore(
    storePathOf(flags.store),
    (path) =>
      new CliError('RUNTIME', `no store at ${path}: nothing to evaluate there (and none is created)`, {
        option: '--store',
        hint: 'give --store the file watch wrote (watch --store FILE), or set CRYPTO_ANOMALY_STORE',
        exitCode: ExitCode.usageError,
      }),
  );
  try {
    const range = {
      ...(flags.since !== undefined ? { start: flags.since } : {}),
      ...(flags.until !== undefined ? { end: flags.until } : {}),
    };
    const rows = await store.scores(symbol, interval, range);
    if (rows.length === 0) {
      const within =
        flags.since !== undefined || flags.until !== undefined ? ' between --since and --until' : '';
      throw new CliError('RUNTIME', `${store.path} holds no scores of ${symbol} ${interval}${within}`, {
        hint: 'watch --store FILE stores every scored candle (watch --replay FILE.csv|sample scores history offline); check --symbol, --interval and --store',
      });
    }
    const klines = await store.klines(symbol, interval, {
      start: rows[0]!.openTime,
      end: rows[rows.length - 1]!.openTime + 1,
    });
    const input = core.evaluationInputFromScores(symbol, data.intervalToMilliseconds(interval), klines, rows);
    const source = `scores stored by watch in ${store.path}`;
    return {
      run: { ...input, runId: '', interval, source },
      from: { store: store.path, symbol, interval, source },
    };
  } finally {
    await store.close();
  }
}

/** The labels the flags ask for, placed nowhere yet: events in ms with the tolerance. */
async function readLabels(
  flags: EvaluateFlags,
  run: core.RunScores,
  config: ConfigFile,
): Promise<EvaluationLabels> {
  const given = flags.labels!;
  const tolerance = flags.tolerance ?? { ms: 0 };
  const toleranceMs = 'ms' in tolerance ? tolerance.ms : tolerance.candles * run.intervalMs;
  if (given === 'sample') {
    if (flags.series !== undefined) throw seriesWithoutNab();
    return { source: 'sample', events: sampleEvents(run, config), toleranceMs };
  }
  let text: string;
  try {
    text = await readFile(given, 'utf8');
  } catch (error) {
    throw new CliError(
      'RUNTIME',
      `--labels ${given}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      {
        hint: 'give sample, an events CSV, or a NAB combined_windows.json',
        cause: error,
      },
    );
  }
  try {
    if (given.toLowerCase().endsWith('.json')) {
      const { series, events } = nabEvents(given, text, flags.series, run.symbol);
      return { source: given, series, events, toleranceMs };
    }
    if (flags.series !== undefined) throw seriesWithoutNab();
    return { source: given, events: core.parseEventsCsv(text), toleranceMs };
  } catch (error) {
    if (!isLibraryError(error, 'CoreError')) throw error;
    throw new CliError('RUNTIME', `--labels ${given}: ${error.message}`, {
      hint: 'fix the file at the place named, then run evaluate again',
      cause: error,
    });
  }
}

function seriesWithoutNab(): CliError {
  return new CliError('USAGE', '--series is only read with a NAB windows file (--labels FILE.json)', {
    option: '--series',
    hint: 'drop --series, or give --labels combined_windows.json',
  });
}

/**
 * The bundled sample market's events, for a run on it: the market is generated again with the
 * config's `sample` settings, and refused unless its candles are the run's (same closes).
 */
function sampleEvents(run: core.RunScores, config: ConfigFile): TimeRange[] {
  const start = configDate('sample.start', config.sample?.start);
  const source = data.sampleSource({
    symbol: run.symbol,
    interval: run.interval as data.Interval,
    ...(config.sample?.seed !== undefined ? { seed: config.sample.seed } : {}),
    ...(config.sample?.count !== undefined ? { count: config.sample.count } : {}),
    ...(start !== undefined ? { start } : {}),
  });
  const market = source.market({ symbol: run.symbol, interval: run.interval as data.Interval });
  const close = new Map(market.klines.map((kline) => [kline.openTime, kline.close]));
  const differs = run.candles.find((candle) => close.get(candle.openTime) !== candle.close);
  if (differs !== undefined) {
    throw new CliError(
      'RUNTIME',
      `--labels sample: the run's candles are not those of ${source.describe()} (at ${new Date(differs.openTime).toISOString()} the run has close ${differs.close}, the sample ${close.get(differs.openTime) ?? 'no candle'})`,
      {
        hint: 'sample labels fit only a run on --source sample; give evaluate the --config (its "sample" key) the run used, or a labels file',
      },
    );
  }
  return market.labels.map((label) => ({ start: label.startTime, end: label.endTime, label: label.kind }));
}

/** The windows of one series of a NAB `combined_windows.json`. */
function nabEvents(
  path: string,
  text: string,
  series: string | undefined,
  symbol: string,
): { series: string; events: TimeRange[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError('RUNTIME', `--labels ${path}: not valid JSON (${(error as Error).message})`, {
      hint: 'a NAB windows file maps each series to a list of [start, end] pairs',
      cause: error,
    });
  }
  const windows = core.parseNabWindows(json);
  const keys = [...windows.keys()];
  const listed = `${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ` and ${keys.length - 5} more` : ''}`;
  let key = series;
  if (key === undefined) {
    const bySymbol = keys.filter((name) => name.toUpperCase().includes(symbol.toUpperCase()));
    key = bySymbol.length === 1 ? bySymbol[0] : undefined;
    // One series of another name (ETHUSDT's windows for a BTCUSDT run) is taken only when named.
    if (key === undefined && keys.length === 1) {
      throw new CliError(
        'USAGE',
        `--labels ${path} holds one series, ${keys[0]}, which does not name ${symbol}: add --series ${keys[0]} to judge this run by its windows`,
        { option: '--series', hint: `add --series ${keys[0]} to use it anyway` },
      );
    }
    if (key === undefined) {
      throw new CliError(
        'USAGE',
        `--labels ${path} holds ${keys.length} series (${listed}) and none is only ${symbol}'s: name the one to use with --series KEY`,
        {
          option: '--series',
          hint: 'name the one to use with --series KEY',
        },
      );
    }
  } else if (!windows.has(key)) {
    throw new CliError('USAGE', `--series ${key}: ${path} has no such key (it has ${listed || 'none'})`, {
      option: '--series',
      hint: "give one of the file's keys",
    });
  }
  return { series: key, events: windows.get(key)! };
}

async function renderChart(report: EvaluationReport, run: EvaluationInput): Promise<Uint8Array> {
  const rows = run.candles
    .map((_, i) => i)
    .filter((i) => report.split === 'all' || (run.splits?.[i] ?? 'test') === report.split);
  return core.renderEvaluationChart({
    title: `${report.symbol}: evaluation of ${report.split === 'all' ? 'all rows' : `the ${report.split} rows`}`,
    times: rows.map((i) => run.candles[i]!.openTime),
    close: rows.map((i) => run.candles[i]!.close),
    detectors: run.detectors.map((detector) => ({
      name: detector.name,
      scores: rows.map((i) => detector.scores[i]!),
      flags: rows.map((i) => detector.flags[i]!),
      threshold: detector.threshold,
    })),
    labels: (report.labels?.ranges ?? []).map((range) => ({
      from: Date.parse(range.from),
      to: Date.parse(range.to),
    })),
    intervalMs: run.intervalMs,
  });
}

/** A measure with fixed decimals, so a column's figures line up and compare at a glance ('--': undefined). */
const fixed = (decimals: number) => (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? '--' : value.toFixed(decimals);
/** Measures in [0, 1]: ROC-AUC, PR-AUC, precision, recall, F1, event and range recall. */
const metric = fixed(3);
/** NAB scores: normalised, 100 perfect, 0 the null detector. */
const nabScore = fixed(1);

/**
 * The events caught per label (and over all), each detector's cell `caught (median delay)`: how
 * many events it flagged and the median number of candles from an event's start to its first flag.
 */
function eventTableLines(report: EvaluationReport): string[] {
  const rows = core.eventsCaughtRows(report);
  if (rows.length === 0) return [];
  const names = report.detectors.map((d) => d.name);
  const labelWidth = Math.max(16, ...rows.map((row) => row.label.length));
  const widths = [labelWidth, 6, ...names.map((name) => Math.max(name.length, 9))];
  const line = (cells: string[]) =>
    cells
      .map((text, i) => fit(text, widths[i]!, i === 0 ? 'left' : 'right'))
      .join(' ')
      .trimEnd();
  return [
    '',
    line(['events caught', 'events', ...names]),
    ...rows.map((row) => line([row.label, String(row.events), ...row.cells])),
    "caught: events with a flag, and in brackets the median candles from an event's start to its first",
    'flag (+0: the candle it starts in; negative: a flag in the tolerance before it). Every event: --events.',
  ];
}

/** One line per event: when, its label, and each detector's delay (or its best percentile if missed). */
function eventListLines(report: EvaluationReport): string[] {
  const lines = [
    '',
    'Every event (start, label, detectors that flagged it and how many candles after its start):',
  ];
  for (const event of report.events ?? []) {
    const when = `${event.start.slice(0, 16).replace('T', ' ')}${event.end === event.start ? '' : ` to ${event.end.slice(0, 16).replace('T', ' ')}`}`;
    const label = event.label ?? '';
    let what: string;
    if (event.rows === null) {
      what = 'on no evaluated row';
    } else {
      const detections = Object.entries(event.detections);
      const caught = detections
        .filter(([, d]) => d.delay !== null)
        .map(([name, d]) => `${name} ${core.formatDelay(d.delay!)}`);
      if (caught.length > 0) {
        what = caught.join(', ');
      } else {
        const [name, best] = detections.reduce((a, b) =>
          Number.isNaN(a[1].peakPercentile) || b[1].peakPercentile > a[1].peakPercentile ? b : a,
        );
        what = Number.isNaN(best.peakPercentile)
          ? 'missed'
          : `missed (highest: ${name}, above ${(100 * best.peakPercentile).toFixed(1)}% of the unlabelled rows)`;
      }
    }
    lines.push(`  ${when}  ${label ? `${label}: ` : ''}${what}`);
  }
  return lines;
}

/** The evaluation for people: what was evaluated, then one table row per detector. */
export function reportLines(
  report: EvaluationReport,
  width: number,
  options: { events?: boolean } = {},
): string[] {
  const lines: string[] = [];
  lines.push(
    `Evaluation of ${report.symbol}, ${report.split === 'all' ? 'all' : report.split} rows: ${report.rows.count} candles from ${report.rows.from} to ${report.rows.to}`,
  );
  const labels = report.labels;
  if (labels) {
    const tolerance =
      labels.toleranceMs === 0 ? 'no tolerance' : `tolerance ±${core.formatTolerance(labels.toleranceMs)}`;
    lines.push(
      `Labels: ${labels.source}${labels.series ? ` [${labels.series}]` : ''}, ${labels.events} events (${labels.eventsOutside} outside these rows), ${labels.labelledRows} labelled candles, ${tolerance}`,
    );
    if (labels.labelledRows === 0) {
      lines.push('No event falls on these rows: the measures against labels are undefined (--).');
    }
  } else {
    lines.push(
      'No labels (--labels sample|FILE for ROC-AUC, F1, NAB and the rest): measures that need none.',
    );
  }
  type Column = [string, number, (d: EvaluationReport['detectors'][number]) => string];
  const table = (columns: Column[]) => {
    const row = (cells: string[]) =>
      cells
        .map((cell, i) =>
          fit(cell, columns[i]![1], i === 0 || columns[i]![0] === 'flags per year' ? 'left' : 'right'),
        )
        .join(' ')
        .trimEnd()
        .slice(0, Math.max(width, 60));
    lines.push('');
    lines.push(row(columns.map(([title]) => title)));
    for (const detector of report.detectors) lines.push(row(columns.map(([, , value]) => value(detector))));
  };
  const name: Column = ['detector', 16, (d) => d.name];
  if (labels) {
    table([
      name,
      ['flags', 5, (d) => String(d.flags)],
      ['ROC-AUC', 7, (d) => metric(d.labelled?.rocAuc)],
      ['PR-AUC', 6, (d) => metric(d.labelled?.prAuc)],
      ['prec', 5, (d) => metric(d.labelled?.precision)],
      ['recall', 6, (d) => metric(d.labelled?.recall)],
      ['F1', 5, (d) => metric(d.labelled?.f1)],
      ['events', 6, (d) => metric(d.labelled?.eventRecall)],
      ['rangeP', 6, (d) => metric(d.labelled?.rangePrecision)],
      ['rangeR', 6, (d) => metric(d.labelled?.rangeRecall)],
      ['NAB', 6, (d) => nabScore(d.nab?.standard.atThreshold.normalizedScore)],
      ['NAB best', 8, (d) => nabScore(d.nab?.standard.optimized.normalizedScore)],
    ]);
    lines.push(
      "prec/recall/F1: per candle at the run's threshold; events: share of events with a flag; rangeP/R: Tatbul",
      "et al. (2018); NAB: standard profile normalised (100 perfect, 0 none) for the run's flags; NAB best: at",
      "NAB's optimised threshold (an upper bound). Every NAB profile: evaluation.json.",
    );
    lines.push(...eventTableLines(report));
    if (options.events) lines.push(...eventListLines(report));
  }
  const years = (d: EvaluationReport['detectors'][number]) =>
    d.spread.years
      .filter((year) => year.flags > 0)
      .map((year) => `${year.year} ${formatPercent(year.share)}`)
      .join(', ') || '--';
  table([
    name,
    ['flags', 5, (d) => String(d.flags)],
    ['explained', 9, (d) => (Number.isNaN(d.explainable.share) ? '--' : formatPercent(d.explainable.share))],
    ['first 10%', 9, (d) => (Number.isNaN(d.spread.earlyShare) ? '--' : formatPercent(d.spread.earlyShare))],
    ['flags per year', Math.max(20, width - 44), years],
  ]);
  const base = report.detectors[0]?.explainable.baseRate;
  const baseRate = base === undefined || Number.isNaN(base) ? '--' : formatPercent(base);
  lines.push(
    'explained: flags on a candle whose |log return| > 3 std, or volume > 3x the median, of the previous',
    `30 candles (${baseRate} of all candles are); first 10%: share of the flags in the first tenth of the rows.`,
  );
  const undetermined = report.detectors.filter((d) => d.explainable.undetermined > 0);
  if (undetermined.length > 0) {
    lines.push(
      `left out of explained: ${undetermined.map((d) => `${d.explainable.undetermined} flag${d.explainable.undetermined === 1 ? '' : 's'} of ${d.name}`).join(', ')} on the folder's first candles, which lack the 30 before them.`,
    );
  }
  return lines;
}
