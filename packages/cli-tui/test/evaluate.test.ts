import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KlineStore, sampleSource } from '@crypto-anomaly/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `crypto-anomaly evaluate` through the built binary, on a quick run of a small sample market
 * (1,200 hourly candles, the Isolation Forest alone with 50 trees: about a second). Every measure
 * checked here is computed again in the test from the run's CSV and the sample's labels.
 */

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
const HOUR = 3_600_000;
const SAMPLE = { seed: 42, count: 1200 };

let work: string;
let runDir: string;
let config: string;

function cli(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: work, timeout: 120_000 });
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** The run's rows as the test reads them: time, close, score, flag. */
function runRows(file = 'anomalies_isolation_forest.csv', dir = runDir) {
  const [header, ...lines] = readFileSync(join(dir, file), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  const at = (name: string) => columns.indexOf(name);
  return lines.map((line) => {
    const cells = line.split(',');
    return {
      time: Date.parse(cells[at('time')]!),
      close: Number(cells[at('close')]),
      score: Number(cells[at('score')]),
      flag: Number(cells[at('is_anomaly')]),
    };
  });
}

/** ROC-AUC over every (labelled, unlabelled) pair: ties count one half. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let ordered = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] === 1) continue;
      pairs++;
      ordered += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return ordered / pairs;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cli-evaluate-'));
  config = join(work, 'quick.json');
  writeFileSync(
    config,
    JSON.stringify({
      sample: SAMPLE,
      pipeline: { detectors: ['isolation-forest'], isolationForest: { nEstimators: 50 } },
    }),
  );
  runDir = join(work, 'run');
  const run = cli('run', '--config', config, '--no-tui', '--no-charts', '--out', runDir);
  expect(run.status, run.stderr).toBe(0);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('evaluate with the sample market labels', () => {
  it('writes evaluation.json and the chart, with measures that match an independent count', () => {
    const result = cli('evaluate', runDir, '--labels', 'sample', '--config', config);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/isolation-forest +\d+ +0\.\d+/);
    expect(result.stdout).toMatch(/Labels: sample, \d+ events/);
    const report = readJson(join(runDir, 'evaluation.json'));
    const png = readFileSync(join(runDir, 'chart_evaluation.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // The folder is still one run's set: its marker lists the two new files, and report accepts it.
    const marker = readJson(join(runDir, '.crypto-anomaly.json'));
    expect(marker.files).toEqual(expect.arrayContaining(['evaluation.json', 'chart_evaluation.png']));
    expect(cli('report', runDir).status).toBe(0);

    // Independently: a row is labelled when its open time lies in an event's [start, end].
    const market = sampleSource(SAMPLE).market();
    const rows = runRows();
    const labels = rows.map(({ time }) =>
      market.labels.some((event) => time >= event.startTime && time <= event.endTime) ? 1 : 0,
    );
    const flagged = rows.filter((row) => row.flag === 1).length;
    const hits = rows.filter((row, i) => row.flag === 1 && labels[i] === 1).length;
    const labelled = labels.reduce<number>((a, b) => a + b, 0);
    const forest = report.detectors.find((d: { name: string }) => d.name === 'isolation-forest');
    expect(report.labels.labelledRows).toBe(labelled);
    expect(forest.flags).toBe(flagged);
    expect(forest.labelled.precision).toBeCloseTo(hits / flagged, 12);
    expect(forest.labelled.recall).toBeCloseTo(hits / labelled, 12);
    expect(forest.labelled.f1).toBeCloseTo((2 * hits) / (flagged + labelled), 12);
    expect(forest.labelled.rocAuc).toBeCloseTo(
      pairwiseAuc(
        rows.map((row) => row.score),
        labels,
      ),
      9,
    );
    const inRun = market.labels.filter((event) => event.endTime >= rows[0]!.time);
    const detected = inRun.filter((event) =>
      rows.some((row) => row.flag === 1 && row.time >= event.startTime && row.time <= event.endTime),
    ).length;
    expect(forest.labelled.eventRecall).toBeCloseTo(detected / inRun.length, 12);

    // The table prints those figures with fixed decimals (3 for the measures in [0, 1], 1 for NAB),
    // so a column lines up: precision 1 reads 1.000, not 1.
    const printed = result.stdout
      .split('\n')
      .find((line) => line.startsWith('isolation-forest') && line.includes('.'))!
      .trim()
      .split(/ +/);
    const { labelled: m } = forest;
    const nab = forest.nab.standard;
    expect(printed).toEqual([
      'isolation-forest',
      String(flagged),
      ...[m.rocAuc, m.prAuc, m.precision, m.recall, m.f1, m.eventRecall, m.rangePrecision, m.rangeRecall].map(
        (v: number) => v.toFixed(3),
      ),
      nab.atThreshold.normalizedScore.toFixed(1),
      nab.optimized.normalizedScore.toFixed(1),
    ]);

    // Explainable: the rule on the run's rows (each with the previous 30 of them), from the sample's candles.
    const klines = new Map(market.klines.map((k) => [k.openTime, k]));
    const candles = rows.map((row) => klines.get(row.time)!);
    let explainable = 0;
    for (let i = 30; i < candles.length; i++) {
      if (rows[i]!.flag !== 1) continue;
      const returns = candles.slice(i - 30, i).map((k, j) => Math.log(k.close / candles[i - 31 + j]!.close));
      if (i - 31 < 0) returns.shift();
      const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
      const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / (returns.length - 1));
      const volumes = candles
        .slice(i - 30, i)
        .map((k) => k.volume)
        .sort((a, b) => a - b);
      const median = (volumes[14]! + volumes[15]!) / 2;
      const move = i >= 31 && Math.abs(Math.log(candles[i]!.close / candles[i - 1]!.close)) > 3 * std;
      if (move || candles[i]!.volume > 3 * median) explainable++;
    }
    expect(forest.explainable.explainableFlags).toBe(explainable);
  });

  it('counts the events caught per kind with their delays, and lists every event with --events', () => {
    const result = cli(
      'evaluate',
      runDir,
      '--labels',
      'sample',
      '--config',
      config,
      '--events',
      '--no-charts',
    );
    expect(result.status, result.stderr).toBe(0);
    const report = readJson(join(runDir, 'evaluation.json'));
    const market = sampleSource(SAMPLE).market();
    const rows = runRows();
    // Independently: an event's first flag is the first flagged row in [start, end]; its delay the
    // rows between the event's first row and that flag (no tolerance: both are in the event).
    const expected = market.labels
      .filter((event) => event.endTime >= rows[0]!.time)
      .map((event) => {
        const inside = rows.flatMap((row, i) =>
          row.time >= event.startTime && row.time <= event.endTime ? [i] : [],
        );
        const first = inside.find((i) => rows[i]!.flag === 1);
        return { kind: event.kind, delay: first === undefined ? null : first - inside[0]! };
      });
    expect(report.events).toHaveLength(expected.length);
    report.events.forEach(
      (event: { label: string; detections: Record<string, { delay: number | null }> }, k: number) => {
        expect(event.label).toBe(expected[k]!.kind);
        expect(event.detections['isolation-forest']!.delay).toBe(expected[k]!.delay);
      },
    );
    // The table: one row per kind and one for all, each cell "caught (median delay)".
    const cellOf = (delays: (number | null)[]) => {
      const caught = delays.filter((d): d is number => d !== null).sort((a, b) => a - b);
      if (caught.length === 0) return '0';
      const m = caught.length >> 1;
      const median = caught.length % 2 ? caught[m]! : (caught[m - 1]! + caught[m]!) / 2;
      return `${caught.length} (${median < 0 ? '' : '+'}${median})`;
    };
    const kinds = [...new Set(expected.map((e) => e.kind))];
    const lines = result.stdout.split('\n');
    for (const [label, group] of [
      ...kinds.map((kind) => [kind, expected.filter((e) => e.kind === kind)] as const),
      ['all', expected] as const,
    ]) {
      const line = lines.find((l) => l.startsWith(`${label} `));
      expect(line, label).toBeDefined();
      // The forest's cell comes first, then the consensus'.
      const forestCell = cellOf(group.map((e) => e.delay)).replace(/[()+]/g, '\\$&');
      expect(line).toMatch(new RegExp(`^${label} +${group.length} +${forestCell} `));
    }
    // --events: one line per event, caught ones naming the forest and its delay.
    const listed = lines.filter((l) => /^ {2}\d{4}-\d{2}-\d{2} /.test(l));
    expect(listed).toHaveLength(expected.length);
    listed.forEach((line, k) => {
      const { kind, delay } = expected[k]!;
      expect(line).toContain(`${kind}: `);
      if (delay === null)
        expect(line).toMatch(/missed \(highest: isolation-forest, above \d+\.\d% of the unlabelled rows\)/);
      else expect(line).toContain(`isolation-forest +${delay}`);
    });
  });

  it("evaluates a saved model's anomalies through detect's folder", () => {
    const rows = runRows();
    const since = new Date(rows[800]!.time).toISOString();
    const detected = join(work, 'detected');
    // No --source: a model trained on the bundled sample (named SAMPLE) reads the sample again.
    const scored = cli(
      'detect',
      '--model',
      join(runDir, 'model'),
      '--config',
      config,
      '--since',
      since,
      '--out',
      detected,
      '--no-tui',
      '--no-charts',
    );
    expect(scored.status, scored.stderr).toBe(0);
    expect(`${scored.stdout}${scored.stderr}`).toMatch(/source: bundled sample market/);
    const result = cli(
      'evaluate',
      detected,
      '--labels',
      'sample',
      '--config',
      config,
      '--json',
      '--no-charts',
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const detectedRows = runRows('anomalies_isolation_forest.csv', detected);
    expect(report.rows.count).toBe(detectedRows.length);
    expect(report.from.runDir).toBe(detected);
    expect(detectedRows[0]!.time).toBeGreaterThanOrEqual(rows[800]!.time);
    expect(report.detectors[0].flags).toBe(detectedRows.filter((row) => row.flag === 1).length);
  });

  it("puts the run's evaluation into report --html, and not one an earlier run left", () => {
    expect(cli('evaluate', runDir, '--labels', 'sample', '--config', config, '--no-charts').status).toBe(0);
    const evaluation = readJson(join(runDir, 'evaluation.json'));
    const page = join(work, 'with-evaluation.html');
    const written = cli('report', runDir, '--html', '--out', page);
    expect(written.status, written.stderr).toBe(0);
    const html = readFileSync(page, 'utf8');
    const section = html.slice(html.indexOf('<h2>Evaluation</h2>'), html.indexOf('<h2>Price, flags'));
    expect(section).toContain(`Against ${evaluation.labels.events} events from sample`);
    const forest = evaluation.detectors[0];
    expect(section).toMatch(
      new RegExp(
        `isolation-forest</td><td>${forest.flags}</td><td>${forest.labelled.rocAuc.toFixed(3)}</td>`,
      ),
    );
    // The sample's events become the chart's bands, each named by its kind.
    expect(html).toContain('orange bands: labelled anomalies');
    const spec = html.slice(
      html.indexOf('id="chart-spec"'),
      html.indexOf('</script>', html.indexOf('id="chart-spec"')),
    );
    expect(spec).toContain('"label":"volatility-break"');
    // An evaluation of another run (its run id differs) is not this run's: no section.
    writeFileSync(
      join(runDir, 'evaluation.json'),
      JSON.stringify({ ...evaluation, from: { ...evaluation.from, runId: 'another-run' } }),
    );
    const stale = join(work, 'stale-evaluation.html');
    expect(cli('report', runDir, '--html', '--out', stale).status).toBe(0);
    expect(readFileSync(stale, 'utf8')).not.toContain('<h2>Evaluation</h2>');
    expect(cli('evaluate', runDir, '--labels', 'sample', '--config', config, '--no-charts').status).toBe(0);
  });

  it('refuses sample labels for a run on other candles', () => {
    const other = join(work, 'other.json');
    writeFileSync(other, JSON.stringify({ sample: { seed: 7, count: 1200 } }));
    const result = cli('evaluate', runDir, '--labels', 'sample', '--config', other, '--no-charts');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /--labels sample: the run's candles are not those of bundled sample market \(seed 7/,
    );
  });
});

describe('evaluate --from-store: what watch stored', () => {
  it("measures the stored scores and flags as it measures a run's, and names a wrong store or pair", async () => {
    // A real DuckDB store holding the sample's candles and, per scored candle, the run's forest
    // and consensus scores and flags (as watch stores them: one row per candle and detector).
    const symbol = readJson(join(runDir, 'summary.json')).symbol as string;
    const storePath = join(work, 'watched.duckdb');
    const store = await KlineStore.open(storePath);
    await store.upsert(symbol, '1h', sampleSource(SAMPLE).market({ symbol, interval: '1h' }).klines);
    const stored = [
      ['isolation-forest', 'anomalies_isolation_forest.csv'],
      ['consensus', 'anomalies_consensus.csv'],
    ].flatMap(([detector, file]) =>
      runRows(file).map((row) => ({
        symbol,
        interval: '1h' as const,
        openTime: row.time,
        detector: detector!,
        score: row.score,
        threshold: 0.5,
        flagged: row.flag === 1,
      })),
    );
    await store.saveScores(stored);
    await store.close();

    const out = join(work, 'from-store');
    const result = cli(
      'evaluate',
      '--from-store',
      '--store',
      storePath,
      '--symbol',
      symbol,
      '--interval',
      '1h',
      '--labels',
      'sample',
      '--config',
      config,
      '--out',
      out,
      '--no-charts',
    );
    expect(result.status, result.stderr).toBe(0);
    const fromStore = readJson(join(out, 'evaluation.json'));
    const fromRun = cli('evaluate', runDir, '--labels', 'sample', '--config', config, '--no-charts');
    expect(fromRun.status, fromRun.stderr).toBe(0);
    const fromFolder = readJson(join(runDir, 'evaluation.json'));
    expect(fromStore.rows).toEqual(fromFolder.rows);
    expect(fromStore.from).toMatchObject({ symbol, interval: '1h' });
    for (const [k, detector] of fromFolder.detectors.entries()) {
      const same = fromStore.detectors[k];
      expect(same.name).toBe(detector.name);
      expect(same.flags).toBe(detector.flags);
      expect(same.labelled).toEqual(detector.labelled);
      expect(same.nab.standard.atThreshold).toEqual(detector.nab.standard.atThreshold);
      expect(same.delay).toEqual(detector.delay);
      // Each stored candle had its own threshold: the report gives none.
      expect(same.threshold).toBeNull();
    }

    const wrong = (...args: string[]) =>
      cli('evaluate', '--no-charts', '--out', join(work, 'never'), ...args);
    const missing = wrong(
      '--from-store',
      '--store',
      join(work, 'nothing.duckdb'),
      '--symbol',
      symbol,
      '--interval',
      '1h',
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no store at .*nothing\.duckdb/);
    expect(existsSync(join(work, 'nothing.duckdb'))).toBe(false);
    const noPair = wrong('--from-store', '--store', storePath, '--symbol', 'ETHUSDT', '--interval', '1h');
    expect(noPair.status).toBe(1);
    expect(noPair.stderr).toMatch(/holds no scores of ETHUSDT 1h/);
    expect(wrong('--from-store', '--store', storePath, '--interval', '1h').stderr).toMatch(
      /--from-store needs --symbol/,
    );
    expect(wrong(runDir, '--from-store', '--symbol', symbol, '--interval', '1h').stderr).toMatch(/not both/);
    expect(wrong(runDir, '--symbol', symbol).stderr).toMatch(/--symbol is only read with --from-store/);
    expect(wrong().stderr).toMatch(/give the run folder to evaluate/);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});

describe('evaluate with a user events file', () => {
  it('widens events by the tolerance, as a duration or in candles, and prints JSON with --json', () => {
    const rows = runRows();
    const t = rows[100]!.time + 27 * 60_000; // inside candle 100
    const span = { start: rows[400]!.time, end: rows[402]!.time };
    const events = join(work, 'events.csv');
    writeFileSync(events, `time\n${new Date(t).toISOString()}\n`);
    const out = join(work, 'eval-events');
    const hours = cli('evaluate', runDir, '--labels', events, '--tolerance', '2h', '--out', out, '--json');
    expect(hours.status, hours.stderr).toBe(0);
    const report = JSON.parse(hours.stdout);
    expect(report.files.report).toBe(join(out, 'evaluation.json'));
    expect(hours.stderr).toMatch(/tolerance ±2h\b/);
    // [t - 2h, t + 2h] overlaps candles 98 to 102.
    expect(report.labels).toMatchObject({ events: 1, labelledRows: 5, toleranceMs: 2 * HOUR });
    expect(report.labels.ranges).toEqual([
      { from: new Date(rows[98]!.time).toISOString(), to: new Date(rows[102]!.time).toISOString() },
    ]);
    expect(readJson(join(out, 'evaluation.json')).labels).toEqual(report.labels);

    writeFileSync(
      events,
      `start,end,note\n${new Date(span.start).toISOString()},${new Date(span.end).toISOString()},"pump, then dump"\n`,
    );
    const candles = cli('evaluate', runDir, '--labels', events, '--tolerance', '1', '--out', out, '--json');
    expect(candles.status, candles.stderr).toBe(0);
    const second = JSON.parse(candles.stdout);
    expect(second.labels).toMatchObject({ labelledRows: 5, toleranceMs: HOUR });
    // The forest's flags inside rows 399..403, counted here.
    const inside = rows.slice(399, 404).filter((row) => row.flag === 1).length;
    const forest = second.detectors[0];
    expect(forest.labelled.recall).toBeCloseTo(inside / 5, 12);
    expect(forest.labelled.eventRecall).toBe(inside > 0 ? 1 : 0);
  });
});

describe('evaluate with a NAB windows file', () => {
  it("picks the run's symbol, or the --series named, and says which keys there are otherwise", () => {
    const rows = runRows();
    const nabTime = (time: number) => new Date(time).toISOString().replace('T', ' ').replace('Z', '000');
    const symbol: string = readJson(join(runDir, 'summary.json')).symbol;
    const windows = join(work, 'combined_windows.json');
    writeFileSync(
      windows,
      JSON.stringify({
        [`crypto/${symbol}_1h.csv`]: [[nabTime(rows[600]!.time), nabTime(rows[609]!.time)]],
        'crypto/OTHERUSDT_1h.csv': [],
      }),
    );
    const out = join(work, 'eval-nab');
    const bySymbol = cli('evaluate', runDir, '--labels', windows, '--out', out, '--json', '--no-charts');
    expect(bySymbol.status, bySymbol.stderr).toBe(0);
    const report = JSON.parse(bySymbol.stdout);
    expect(report.labels).toMatchObject({ series: `crypto/${symbol}_1h.csv`, events: 1, labelledRows: 10 });
    const nab = report.detectors[0].nab;
    expect(Object.keys(nab)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
    // The run's flags, counted here: NAB's TP + FP are the flagged rows after its probationary 15%.
    const probation = Math.min(Math.floor(0.15 * rows.length), 750);
    const flaggedAfter = rows.slice(probation).filter((row) => row.flag === 1).length;
    expect(nab.standard.atThreshold.tp + nab.standard.atThreshold.fp).toBe(flaggedAfter);

    const empty = cli(
      'evaluate',
      runDir,
      '--labels',
      windows,
      '--series',
      'crypto/OTHERUSDT_1h.csv',
      '--out',
      out,
    );
    expect(empty.status, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(/\[crypto\/OTHERUSDT_1h.csv\], 0 events/);

    // One series, of another name: used only when named, never taken for this run's by default.
    writeFileSync(windows, JSON.stringify({ 'crypto/OTHERUSDT_1h.csv': [] }));
    const other = cli('evaluate', runDir, '--labels', windows, '--out', out);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(
      new RegExp(`holds one series, crypto/OTHERUSDT_1h.csv, which does not name ${symbol}: add --series`),
    );

    writeFileSync(windows, JSON.stringify({ a: [], b: [] }));
    const ambiguous = cli('evaluate', runDir, '--labels', windows, '--out', out);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toMatch(/holds 2 series \(a, b\)/);
    expect(ambiguous.stderr).toMatch(/--series KEY/);
  });
});

describe('bad label files and targets', () => {
  it('names the file, the line and what to do, and writes nothing', () => {
    const out = join(work, 'eval-bad');
    const cases: [string, string, RegExp][] = [
      [
        'bad-time.csv',
        'time\n2024-01-05T00:00:00Z\n\nlast tuesday\n',
        /bad-time.csv: events CSV line 4: time "last tuesday" is not a time/,
      ],
      [
        'reversed.csv',
        'start,end\n2024-01-05,2024-01-06\n2024-02-05,2024-02-01\n',
        /line 3: start 2024-02-05 is after end 2024-02-01/,
      ],
      [
        'no-header.csv',
        'when,what\n2024-01-05,crash\n',
        /line 1: the header needs a "time" column or both "start" and "end"/,
      ],
      ['short.csv', 'start,end\n2024-01-05\n', /line 2: the "end" cell is empty or missing/],
      ['broken.json', '{"BTCUSDT": [["2024-01-05", ', /broken.json: not valid JSON/],
      [
        'pairs.json',
        '{"BTCUSDT": [["2024-01-05"]]}',
        /NAB window 0 of "BTCUSDT" must be a \[start, end\] pair/,
      ],
      [
        'reversed.json',
        '{"BTCUSDT": [["2024-02-05", "2024-02-01"]]}',
        /reversed.json: NAB window 0 of "BTCUSDT" starts \("2024-02-05"\) after it ends/,
      ],
    ];
    for (const [name, text, message] of cases) {
      writeFileSync(join(work, name), text);
      const result = cli('evaluate', runDir, '--labels', join(work, name), '--out', out);
      expect(result.status, name).toBe(1);
      expect(result.stderr, name).toMatch(message);
      expect(result.stderr, name).toMatch(/hint: /);
      expect(existsSync(out), name).toBe(false);
    }
    const missing = cli('evaluate', runDir, '--labels', join(work, 'nope.csv'), '--out', out);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope.csv: cannot read the file \(ENOENT\)/);
    const tolerance = cli('evaluate', runDir, '--labels', 'sample', '--tolerance', 'soon');
    expect(tolerance.status).toBe(2);
    expect(tolerance.stderr).toMatch(/--tolerance.*Expected a duration such as 90s/);
  });

  it("refuses an --out folder it did not write, and a folder that is not a run's", () => {
    const mine = join(work, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'mine');
    const before = statSync(join(mine, 'notes.txt')).mtimeMs;
    const result = cli('evaluate', runDir, '--out', mine);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/not empty \(notes.txt\) and was not written by crypto-anomaly/);
    expect(existsSync(join(mine, 'evaluation.json'))).toBe(false);
    expect(statSync(join(mine, 'notes.txt')).mtimeMs).toBe(before);
    const notRun = cli('evaluate', mine, '--out', join(work, 'x'));
    expect(notRun.status).toBe(1);
    expect(notRun.stderr).toMatch(/is not a run's output folder: no readable summary.json/);
    // A run folder whose files were edited: the folder is named as the cause, not a flag.
    const edited = join(work, 'edited-run');
    cpSync(runDir, edited, { recursive: true });
    const file = join(edited, 'anomalies_isolation_forest.csv');
    const lines = readFileSync(file, 'utf8').split('\n');
    writeFileSync(file, [...lines.slice(0, 5), ...lines.slice(6)].join('\n'));
    const broken = cli('evaluate', edited, '--out', join(work, 'y'));
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/do not cover the same rows/);
    expect(broken.stderr).toMatch(
      /hint: the files in .*edited-run were edited or mix two runs: run again into it/,
    );
    expect(existsSync(join(work, 'y'))).toBe(false);
  });
});
