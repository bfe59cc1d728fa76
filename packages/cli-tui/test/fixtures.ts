import { stripVTControlCharacters } from 'node:util';
import type { AnomalyRow, PipelineEvent } from '@crypto-anomaly/core';
import type { DashboardAction } from '../src/api.js';

/** A frame without colours, for assertions on text. */
export const plain = (frame: string | undefined): string => stripVTControlCharacters(frame ?? '');

export function epochEvent(
  epoch: number,
  options: { epochs?: number; detector?: 'autoencoder' | 'attention'; loss?: number; valLoss?: number } = {},
): PipelineEvent {
  const loss = options.loss ?? 1 / epoch;
  const valLoss = options.valLoss ?? 1.2 / epoch;
  return {
    type: 'epoch',
    detector: options.detector ?? 'autoencoder',
    epoch,
    epochs: options.epochs ?? 20,
    loss,
    valLoss,
    bestValLoss: valLoss,
    samplesPerSecond: 12_345,
    etaMs: ((options.epochs ?? 20) - epoch) * 500,
    patienceLeft: 5,
  };
}

export const pipeline = (event: PipelineEvent): DashboardAction => ({ type: 'pipeline', event });

export function anomalyRow(time: number, score: number, overrides: Partial<AnomalyRow> = {}): AnomalyRow {
  return {
    time,
    close: 43_210.5,
    score,
    threshold: 0.6,
    isAnomaly: score > 0.6,
    split: 'test',
    topFeatures: ['log_return', 'volume_z'],
    ...overrides,
  };
}

export const finishedAction = (outDir = '/tmp/run'): DashboardAction => ({
  type: 'finished',
  outcome: {
    elapsedMs: 61_000,
    outDir,
    files: {
      anomalies: `${outDir}/anomalies.csv`,
      summary: `${outDir}/summary.json`,
      lossChart: `${outDir}/charts/loss.png`,
    },
    topAnomalies: {
      consensus: [anomalyRow(Date.UTC(2024, 2, 1, 14), 0.91), anomalyRow(Date.UTC(2024, 2, 2, 3), 0.82)],
      'isolation-forest': [anomalyRow(Date.UTC(2024, 2, 1, 14), 0.71)],
      autoencoder: [anomalyRow(Date.UTC(2024, 2, 3, 9), 2.5, { threshold: 1.1 })],
      attention: [anomalyRow(Date.UTC(2024, 2, 4, 0), 0.3, { isAnomaly: false })],
    },
  },
});
