import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import type { ChartReply } from './chart-thread.js';
import { renderChartPng, type VegaLiteSpec, warmUpChartRenderer } from './charts.js';

/**
 * Draws charts on this thread and one worker thread at once. A run's charts took 1.4 s on daily
 * candles and 2.9 s on hourly ones drawn one after the other at the end of the run, a third of
 * that loading and compiling the renderer, while the other core was idle. Start the pool when the
 * run starts (`ChartPool.start`): its thread loads the renderer and draws a small chart while the
 * detectors train, so it is warm when the scores are in. When the thread cannot start or fails,
 * this thread draws what is left. An idle pool never keeps the process alive; `close` ends it.
 */
export class ChartPool {
  private thread: Worker | undefined;
  private readonly pending = new Map<
    number,
    { resolve: (png: Uint8Array) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private broken: Error | undefined;
  /** Charts the worker thread drew (the rest were drawn on the calling thread). */
  threadRendered = 0;

  private constructor() {}

  /** A pool without a thread: everything is drawn on the calling thread. */
  static none(): ChartPool {
    const pool = new ChartPool();
    pool.broken = new Error('no chart thread');
    return pool;
  }

  static start(): ChartPool {
    const pool = new ChartPool();
    // This thread draws charts too: warmed now, while the detectors train, not when the scores are in.
    void warmUpChartRenderer();
    try {
      const thread = startWorker('./chart-thread', import.meta.url, {});
      thread.unref();
      thread.on('message', (reply: ChartReply) => {
        const waiting = pool.pending.get(reply.id);
        pool.pending.delete(reply.id);
        if (pool.pending.size === 0) thread.unref();
        if ('png' in reply) waiting?.resolve(reply.png);
        else waiting?.reject(new Error(reply.message));
      });
      const fail = (error: Error) => {
        pool.broken = error;
        pool.thread = undefined;
        for (const waiting of pool.pending.values()) waiting.reject(error);
        pool.pending.clear();
      };
      thread.on('error', fail);
      thread.on('exit', (code) => fail(new Error(`the chart thread ended (exit code ${code})`)));
      pool.thread = thread;
    } catch (error) {
      pool.broken = error as Error;
    }
    return pool;
  }

  /**
   * Draws every spec, this thread and the worker each taking the next one as they finish, and
   * hands each PNG to `done` as soon as it is drawn (in the order they finish). `proceed` is
   * asked before each chart is begun; false leaves the rest undrawn.
   */
  async renderAll(
    specs: readonly VegaLiteSpec[],
    done: (index: number, png: Uint8Array) => Promise<void>,
    proceed: () => boolean = () => true,
  ): Promise<void> {
    let next = 0;
    const take = () => (next < specs.length && proceed() ? next++ : -1);
    const here = async () => {
      for (let i = take(); i >= 0; i = take()) await done(i, await renderChartPng(specs[i]!));
    };
    const there = async () => {
      if (!this.thread) return;
      for (let i = take(); i >= 0; i = take()) {
        let png: Uint8Array;
        try {
          png = await this.renderInThread(specs[i]!);
        } catch {
          // The thread failed: draw this one here; the loop above takes the rest.
          png = await renderChartPng(specs[i]!);
          await done(i, png);
          return;
        }
        this.threadRendered += 1;
        await done(i, png);
      }
    };
    // Both settle before this returns (no chart is still being written after a failure).
    const outcomes = await Promise.allSettled([here(), there()]);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  private renderInThread(spec: VegaLiteSpec): Promise<Uint8Array> {
    const thread = this.thread;
    if (!thread) return Promise.reject(this.broken ?? new Error('the chart thread has stopped'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) thread.ref();
      this.pending.set(id, { resolve, reject });
      thread.postMessage({ id, spec });
    });
  }

  /** Stops the thread (idempotent). */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    this.broken ??= new Error('the chart pool is closed');
    if (thread) {
      thread.removeAllListeners('exit');
      await thread.terminate();
    }
  }
}
