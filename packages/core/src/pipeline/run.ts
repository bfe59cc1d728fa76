import type { BackendPreference, DetectorName, PartialRun, PipelineEvent, StageName } from '../api.js';
import { type BackendInfo, useBackend } from '../backend.js';
import { newRunId } from '../outputs/owned-folder.js';

/**
 * One run's stage runner: emits a start/done/failed event per stage with its timing, checks for
 * an abort between stages, and chooses the TensorFlow.js backend once. With
 * `onAbort: 'keep-finished'`, an abort after a detector finished turns the run into a partial one:
 * the remaining stages write what finished instead of throwing.
 */
export class Run {
  readonly timings: Partial<Record<StageName, number>> = {};
  readonly started = performance.now();
  /** In summary.json and in the marker of every folder this run writes. */
  readonly runId = newRunId();
  backend: BackendInfo | undefined;
  /** At least one detector finished: what an abort with `keep-finished` keeps. */
  hasFinishedWork = false;
  /** Set when an abort became a partial run: the remaining stages write what finished. */
  keepingFinished = false;
  /**
   * Folders this run would replace that hold a complete set now: a stop never swaps a partial set
   * in over them (a good model lost to a Ctrl+C); it writes nothing instead and says so.
   */
  completeSets: readonly string[] = [];

  constructor(
    private readonly onEvent: ((event: PipelineEvent) => void) | undefined,
    readonly signal: AbortSignal | undefined,
    readonly onAbort: 'discard' | 'keep-finished' = 'discard',
  ) {}

  emit(event: PipelineEvent): void {
    this.onEvent?.(event);
  }

  /**
   * Throws the abort reason, unless the run keeps what finished: then it switches to writing a
   * partial run and returns (`keepingFinished`).
   */
  throwIfAborted(): void {
    if (!this.signal?.aborted || this.keepingFinished) return;
    if (this.onAbort === 'keep-finished' && this.hasFinishedWork) {
      if (this.completeSets.length === 0) {
        this.keepingFinished = true;
        return;
      }
      this.emit({
        type: 'log',
        level: 'warn',
        message: `stopped: kept the complete set already in ${this.completeSets.join(' and ')} rather than replace it with a partial one; nothing of this run was written`,
      });
    }
    this.signal.throwIfAborted();
  }

  /** What a partial run lacks; undefined when nothing was cut short. */
  partial(missingDetectors: DetectorName[]): PartialRun | undefined {
    return this.keepingFinished ? { missingDetectors, chartsSkipped: true } : undefined;
  }

  async stage<T>(stage: StageName, work: () => Promise<T> | T, message?: string): Promise<T> {
    this.throwIfAborted();
    this.emit({ type: 'stage', stage, status: 'start', ...(message ? { message } : {}) });
    const start = performance.now();
    try {
      const result = await work();
      const elapsedMs = performance.now() - start;
      this.timings[stage] = elapsedMs;
      this.emit({ type: 'stage', stage, status: 'done', elapsedMs });
      return result;
    } catch (error) {
      this.emit({
        type: 'stage',
        stage,
        status: 'failed',
        elapsedMs: performance.now() - start,
        message: (error as Error).message,
      });
      throw error;
    }
  }

  skip(stage: StageName, message: string): void {
    this.emit({ type: 'stage', stage, status: 'skipped', message });
  }

  /** Chooses the TensorFlow.js backend once per run, before the first autoencoder, and says which. */
  async ensureBackend(preference: BackendPreference | undefined): Promise<BackendInfo> {
    if (!this.backend) {
      this.backend = await useBackend(preference);
      this.emit({ type: 'backend', name: this.backend.name, description: this.backend.description });
    }
    return this.backend;
  }

  /** Milliseconds per stage, rounded, and the total so far. */
  roundedTimings(): Record<string, number> {
    const timings: Record<string, number> = {};
    for (const [stage, ms] of Object.entries(this.timings)) timings[stage] = Math.round(ms);
    timings['total'] = Math.round(performance.now() - this.started);
    return timings;
  }
}
