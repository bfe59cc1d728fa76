import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NAB_PROFILE_NAMES, NAB_PROFILES, type NabSeries } from '../src/evaluation/api.js';
import { parseNabWindows, parseTime } from '../src/evaluation/labels.js';
import { scoreNabCorpus } from '../src/evaluation/nab.js';

/**
 * NAB's scorer on NAB's own corpus (../shared/data/nab: the 58 data files, the label windows and
 * the published per-file scores) for the one scoreboard detector whose raw output needs no result
 * file: the null detector, which scores every row 0.5 and so, at its published threshold, detects
 * nothing. Its published per-file scores and TP/TN/FP/FN counts check the probationary period and
 * the window rows on the real files' timestamps. (The other detectors' raw results are checked by
 * bench/nab-scoreboard.ts, which needs a numenta/NAB checkout.)
 */

const nabDir = fileURLToPath(new URL('../../../../shared/data/nab', import.meta.url));
const missing = ['labels/combined_windows.json', 'results/null/null_standard_scores.csv', 'data'].find(
  (path) => !existsSync(join(nabDir, path)),
);
if (missing) console.warn(`skipping the NAB published-score test: ${join(nabDir, missing)} is missing`);

describe.skipIf(missing !== undefined)("NAB's published null detector, per file", () => {
  it('reproduces every file of the three profiles, score and counts', () => {
    const windows = parseNabWindows(
      JSON.parse(readFileSync(join(nabDir, 'labels', 'combined_windows.json'), 'utf8')),
    );
    const corpus: NabSeries[] = [...windows].map(([name, fileWindows]) => {
      const lines = readFileSync(join(nabDir, 'data', name), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      const timestamps = Float64Array.from(lines, (line) => parseTime(line.slice(0, line.indexOf(','))));
      return { name, timestamps, scores: new Float64Array(lines.length).fill(0.5), windows: fileWindows };
    });
    expect(corpus).toHaveLength(58);
    for (const profile of NAB_PROFILE_NAMES) {
      const result = scoreNabCorpus(corpus, NAB_PROFILES[profile], { threshold: 0.625 });
      const published = readFileSync(join(nabDir, 'results', 'null', `null_${profile}_scores.csv`), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(','))
        .filter((cells) => cells[0] !== 'Totals' && cells[2] !== '');
      expect(published).toHaveLength(58);
      for (const [, , file, , score, tp, tn, fp, fn, total] of published) {
        const ours = result.files.find((entry) => entry.name === file);
        expect(ours, file).toBeDefined();
        expect(ours!.score, `${profile} ${file}`).toBeCloseTo(Number(score), 9);
        expect([ours!.tp, ours!.tn, ours!.fp, ours!.fn, ours!.rows], `${profile} ${file}`).toEqual(
          [tp, tn, fp, fn, total].map(Number),
        );
      }
      expect(result.normalizedScore).toBe(0);
    }
  });
});
