import type { DetectorName, PipelineConfig } from '../api.js';
import { AttentionAutoencoder, type AttentionAutoencoderOptions } from './attention-autoencoder.js';
import { DenseAutoencoder, type DenseAutoencoderOptions } from './dense-autoencoder.js';
import type { Detector } from './detector.js';
import { IsolationForestDetector } from './isolation-forest.js';

/** A detector the pipeline can train, score with, save and load (the `Detector` interface). */
export type PipelineDetector = Detector;

/** Builds an unfitted detector from its section of the pipeline config. */
export function createDetector(name: DetectorName, config: PipelineConfig): PipelineDetector {
  switch (name) {
    case 'isolation-forest':
      return new IsolationForestDetector(config.isolationForest);
    case 'autoencoder':
      return new DenseAutoencoder(config.autoencoder as Partial<DenseAutoencoderOptions>);
    case 'attention':
      return new AttentionAutoencoder(config.attention as Partial<AttentionAutoencoderOptions>);
  }
}

/** Loads a detector saved by its `save` (each refuses another version or feature count). */
export async function loadDetector(
  name: DetectorName,
  dir: string,
  featureCount: number,
): Promise<PipelineDetector> {
  switch (name) {
    case 'isolation-forest':
      return IsolationForestDetector.load(dir, { featureCount });
    case 'autoencoder':
      return DenseAutoencoder.load(dir, { featureCount });
    case 'attention':
      return AttentionAutoencoder.load(dir, { featureCount });
  }
}
