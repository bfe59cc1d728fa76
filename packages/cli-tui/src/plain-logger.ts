import { stripVTControlCharacters } from 'node:util';
import type { PipelineEvent } from '@crypto-anomaly/core';
import type { FetchProgress, RunOutcome } from './api.js';
import {
  earlyStopText,
  formatCount,
  formatDuration,
  formatEta,
  formatNumber,
  formatPercent,
  formatRate,
} from './format.js';
import { runSummaryLines } from './summary.js';

export interface PlainLoggerOptions {
  /** Least time between two fetch progress lines (waits and the end are always logged). Default 2000. */
  fetchLineIntervalMs: number;
  /** Width the final table is fitted to. Default 100. */
  width: number;
  /** The clock, for tests. Default `Date.now`. */
  now: () => number;
}

const DEFAULTS: PlainLoggerOptions = Object.freeze({ fetchLineIntervalMs: 2000, width: 100, now: Date.now });

/**
 * Renders the same events as the dashboard as plain lines, for pipes, files and CI: one line
 * per stage (when it ends) and per epoch, no ANSI codes, no carriage returns.
 */
export class PlainLogger {
  readonly #write: (line: string) => void;
  readonly #options: PlainLoggerOptions;
  #lastFetchLine = Number.NEGATIVE_INFINITY;
  #expectedRows: number | undefined;
  #latestFetch: FetchProgress | undefined;
  readonly #startMessages = new Map<string, string>();

  constructor(write: (line: string) => void, options: Partial<PlainLoggerOptions> = {}) {
    this.#write = (line) => write(clean(line));
    this.#options = { ...DEFAULTS, ...options };
  }

  line(text: string): void {
    this.#write(text);
  }

  event(event: PipelineEvent): void {
    if (event.type === 'stage' && event.status === 'start') {
      // One line per stage, when it ends; what its start said is kept for that line.
      if (event.message) this.#startMessages.set(event.stage, event.message);
      return;
    }
    if (event.type === 'stage' && !event.message && this.#startMessages.has(event.stage)) {
      this.#write(describeEvent({ ...event, message: this.#startMessages.get(event.stage)! })!);
      return;
    }
    const line = describeEvent(event);
    if (line !== undefined) this.#write(line);
  }

  fetchStarted(expectedRows?: number): void {
    this.#expectedRows = expectedRows;
    this.#write(
      expectedRows !== undefined
        ? `fetch: started, about ${formatCount(expectedRows)} rows to download`
        : 'fetch: started',
    );
  }

  fetchProgress(progress: FetchProgress): void {
    this.#latestFetch = progress;
    if (progress.expectedRows !== undefined) this.#expectedRows = progress.expectedRows;
    if (progress.waitingMs !== undefined && progress.waitingMs > 0) {
      const reason = progress.waitReason ?? 'waiting';
      // fetchKlines reports each wait once, before it starts: every one is logged (retry 2, 3, …
      // and each 429 wait, not only the first of a kind).
      this.#write(
        `fetch: waiting ${formatDuration(progress.waitingMs)} (${reason}${progress.message ? `: ${progress.message}` : ''})`,
      );
      return;
    }
    const now = this.#options.now();
    if (now - this.#lastFetchLine < this.#options.fetchLineIntervalMs) return;
    this.#lastFetchLine = now;
    this.#write(`fetch: ${this.#fetchFacts(progress)}, ${formatEta(progress.etaMs)}`);
  }

  fetchDone(): void {
    const progress = this.#latestFetch ?? { pages: 0, rows: 0, rowsPerSecond: 0 };
    this.#write(`fetch: done, ${this.#fetchFacts(progress)}`);
  }

  summary(outcome: RunOutcome): void {
    for (const line of runSummaryLines(outcome, this.#options.width)) this.#write(line);
  }

  #fetchFacts(progress: FetchProgress): string {
    const percent =
      this.#expectedRows !== undefined && this.#expectedRows > 0
        ? ` (${formatPercent(progress.rows / this.#expectedRows)})`
        : '';
    return `${formatCount(progress.pages)} pages, ${formatCount(progress.rows)} rows${percent}, ${formatRate(progress.rowsPerSecond, 'rows')}`;
  }
}

/**
 * One plain line for an event, or undefined for events too frequent to log (batches). `PlainLogger`
 * writes stages once, when they end.
 */
export function describeEvent(event: PipelineEvent): string | undefined {
  switch (event.type) {
    case 'backend':
      return `backend: ${event.description}`;
    case 'source':
      return `source: ${event.description}`;
    case 'stage': {
      const time = event.elapsedMs !== undefined ? ` in ${formatDuration(event.elapsedMs)}` : '';
      const message = event.message ? `: ${event.message}` : '';
      const verb = event.status === 'start' ? 'started' : event.status;
      return `stage ${event.stage} ${verb}${time}${message}`;
    }
    case 'epoch':
      return (
        `${event.detector} epoch ${event.epoch}/${event.epochs}: loss ${formatNumber(event.loss, 4)}, ` +
        `val loss ${formatNumber(event.valLoss, 4)}, best ${formatNumber(event.bestValLoss, 4)}, ` +
        `${formatRate(event.samplesPerSecond, 'samples')}, ${formatEta(event.etaMs)}, patience ${event.patienceLeft}`
      );
    case 'batch':
      return undefined;
    case 'early-stop':
      return `${event.detector} ${earlyStopText(event.epoch, event.bestEpoch)}`;
    case 'isolation-forest-progress':
      return event.treesBuilt === event.trees ? `isolation-forest: ${event.trees} trees built` : undefined;
    case 'log':
      return `${event.level}: ${event.message}`;
  }
}

/** Messages come from other packages: strip what a plain log must not hold (ANSI, CR, controls). */
function clean(line: string): string {
  let result = '';
  for (const character of stripVTControlCharacters(line)) {
    const code = character.charCodeAt(0);
    result += code < 0x20 || code === 0x7f ? ' ' : character;
  }
  return result;
}
