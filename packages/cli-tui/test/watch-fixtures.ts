import type { Alert, CandleScore, StreamDetectorScore } from '@crypto-anomaly/core';
import type { WatchEvent } from '../src/watch/watch-api.js';

export const MINUTE = 60_000;
export const T0 = Date.UTC(2024, 2, 1, 12);

export function detectorScores(flagged: boolean, consensus = 0.5): StreamDetectorScore[] {
  return [
    { name: 'isolation-forest', score: flagged ? 0.7 : 0.4, threshold: 0.6, thresholdKind: 'dspot', flagged },
    { name: 'autoencoder', score: flagged ? 2.4 : 0.8, threshold: 1.5, thresholdKind: 'dspot', flagged },
    { name: 'attention', score: 0.3, threshold: 0.9, thresholdKind: 'dspot', flagged: false },
    {
      name: 'consensus',
      score: consensus,
      threshold: 0.95,
      thresholdKind: 'dspot',
      flagged: consensus > 0.95,
    },
  ];
}

export function candleScore(
  symbol: string,
  openTime: number,
  options: { flagged?: boolean; close?: number } = {},
): CandleScore {
  const flagged = options.flagged ?? false;
  return {
    symbol,
    interval: '1m',
    openTime,
    close: options.close ?? 100,
    logReturn: flagged ? -0.041 : 0.001,
    returnVolatilityMultiple: flagged ? 5.2 : 0.3,
    volume: 12,
    volumeMedianMultiple: flagged ? 3.4 : 1,
    detectors: detectorScores(flagged, flagged ? 0.99 : 0.5),
    topFeatures: [{ feature: 'log_return', share: 0.6 }],
  };
}

export function alertOf(symbol: string, openTime: number, detector: Alert['detector'] = 'consensus'): Alert {
  return {
    id: `${symbol}:1m:${openTime}:${detector}`,
    symbol,
    interval: '1m',
    openTime,
    time: new Date(openTime).toISOString(),
    close: 100,
    logReturn: -0.041,
    returnVolatilityMultiple: 5.2,
    volume: 12,
    volumeMedianMultiple: 3.4,
    detector,
    thresholdKind: 'dspot',
    scores: detectorScores(true, 0.99),
    topFeatures: [{ feature: 'log_return', share: 0.6 }],
    reason: 'return -4.1% = 5.2x recent volatility; volume 3.4x median; top: log_return',
  };
}

export const scored = (score: CandleScore, lagMs = 800): WatchEvent => ({
  type: 'scored',
  score,
  via: 'stream',
  lagMs,
  at: score.openTime + MINUTE + lagMs,
});
