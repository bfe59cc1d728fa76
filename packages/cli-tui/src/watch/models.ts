import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@crypto-anomaly/core';
import type { Interval } from '@crypto-anomaly/data';
import { intervalToMilliseconds } from '@crypto-anomaly/data';

/** The folder of one symbol's model under --model: `DIR/SYMBOL_INTERVAL`, as `train --out` writes it. */
export function modelFolder(root: string, symbol: string, interval: Interval): string {
  return join(root, `${symbol}_${interval}`);
}

/** Which model each symbol uses, and what has none. */
export interface ModelPlan {
  /** Symbol → model folder. */
  folders: Map<string, string>;
  missing: string[];
  /** One line each: a symbol scored with a model trained on another. */
  warnings: string[];
  /** One line each: a model folder trained on another interval than the one watched (refused). */
  wrongInterval: string[];
}

async function manifestOf(dir: string): Promise<core.PipelineManifest | undefined> {
  try {
    return await core.readManifest(dir);
  } catch {
    return undefined;
  }
}

/**
 * Finds each symbol's model: `DIR/SYMBOL_INTERVAL/`, else DIR itself when it is a model trained on
 * that symbol and interval. With `forAll`, DIR (a model folder) scores every symbol that has none of
 * its own, with a warning each.
 */
export async function planModels(
  root: string,
  symbols: readonly string[],
  interval: Interval,
  forAll: boolean,
): Promise<ModelPlan & { rootIsModel: boolean }> {
  const rootManifest = await manifestOf(root);
  const folders = new Map<string, string>();
  const missing: string[] = [];
  const warnings: string[] = [];
  const wrongInterval: string[] = [];
  for (const symbol of symbols) {
    const folder = modelFolder(root, symbol, interval);
    if (existsSync(folder)) {
      folders.set(symbol, folder);
      // Its folder's name says SYMBOL_INTERVAL; its manifest says what it was trained on.
      const trainedOn = (await manifestOf(folder))?.trainedOn;
      if (trainedOn && trainedOn.interval !== interval) {
        wrongInterval.push(
          `${folder} holds a model trained on ${trainedOn.symbol} ${trainedOn.interval} candles, not ${interval}: its windows count ${trainedOn.interval} candles and its thresholds were fitted to them`,
        );
      } else if (trainedOn && trainedOn.symbol.toUpperCase() !== symbol) {
        warnings.push(
          `${symbol} is scored with ${folder}, a model trained on ${trainedOn.symbol}: its thresholds were fitted to another market`,
        );
      }
      continue;
    }
    const trainedOn = rootManifest?.trainedOn;
    if (trainedOn && trainedOn.symbol.toUpperCase() === symbol && trainedOn.interval === interval) {
      folders.set(symbol, root);
    } else if (forAll && rootManifest) {
      folders.set(symbol, root);
      warnings.push(
        trainedOn && trainedOn.interval !== interval
          ? `${symbol} ${interval} is scored with the model trained on ${trainedOn.symbol} ${trainedOn.interval} (--model-for-all): its windows count ${trainedOn.interval} candles and its thresholds were fitted to them`
          : `${symbol} is scored with the model trained on ${trainedOn?.symbol} ${trainedOn?.interval} (--model-for-all): its thresholds were fitted to another market`,
      );
    } else missing.push(symbol);
  }
  return { folders, missing, warnings, wrongInterval, rootIsModel: rootManifest !== undefined };
}

/** Candles a model is trained on when the command trains one: about 5,000, or 30 days for 1m. */
export function trainingSince(interval: Interval, now = Date.now()): number {
  const span = Math.min(5_000 * intervalToMilliseconds(interval), 30 * 86_400_000);
  return Math.floor((now - span) / 86_400_000) * 86_400_000;
}

/** Where the candles watched come from, for the command that trains a model on the same. */
export type TrainFrom =
  | { mode: 'live' }
  | { mode: 'replay-sample' }
  | { mode: 'replay-csv'; file: string }
  | { mode: 'replay-store'; store: string };

/**
 * The command that trains a symbol's model where `watch` looks for it, on candles like those
 * watched: Binance's recent history live, the bundled sample, the replayed file, or the store.
 */
export function trainCommand(
  root: string,
  symbol: string,
  interval: Interval,
  from: TrainFrom = { mode: 'live' },
  now = Date.now(),
): string {
  const out = `--out ${modelFolder(root, symbol, interval)}`;
  switch (from.mode) {
    case 'replay-sample':
      return `crypto-anomaly train --source sample --symbol ${symbol} --interval ${interval} ${out}`;
    case 'replay-csv':
      return `crypto-anomaly train --source csv --input ${from.file} ${out}`;
    case 'replay-store':
      return `crypto-anomaly train --source store --store ${from.store} --symbol ${symbol} --interval ${interval} ${out}`;
    case 'live': {
      const since = new Date(trainingSince(interval, now)).toISOString().slice(0, 10);
      return `crypto-anomaly train --source binance --symbol ${symbol} --interval ${interval} --since ${since} ${out}`;
    }
  }
}
