import { Worker } from 'node:worker_threads';
import type { KernelExports } from './api.js';
import { KernelError } from './errors.js';
import { kernelModule } from './wasm.js';
import type { WasmMemory } from './webassembly.js';

/** A kernel call a worker runs: the export's name and its (numeric) arguments. */
export interface KernelJob {
  fn: Exclude<keyof KernelExports, 'memory'>;
  args: number[];
  /**
   * Optional [startArg, endArg, step]: run the call over args[startArg]..args[endArg] in pieces of
   * `step`. V8 first runs WebAssembly in its baseline tier and swaps in optimized code only on the
   * next call, so one long call would run unoptimized to the end; many shorter ones do not.
   */
  pieces?: [number, number, number];
}

/** Calls `fn` as the job says, in pieces when it has them (the same loop runs on the workers). */
export function runJob(fn: (...args: number[]) => void, job: KernelJob): void {
  if (!job.pieces) {
    fn(...job.args);
    return;
  }
  const [startArg, endArg, step] = job.pieces;
  const args = job.args.slice();
  const start = job.args[startArg] as number;
  const end = job.args[endArg] as number;
  for (let from = start; from < end; from += step) {
    args[startArg] = from;
    args[endArg] = Math.min(end, from + step);
    fn(...args);
  }
}

// Run with `eval`, so the same code works from src/ (tests) and dist/ (installed). Only dynamic
// import() is used, which works whether Node evaluates it as CommonJS or as an ES module. Each
// worker instantiates the module over the shared memory, reports ready in workerData.ready[slot]
// (1 ready, 2 failed), then runs the jobs it is sent; it never allocates. Jobs report through a
// shared Int32Array: [jobs done, jobs failed].
const WORKER_SOURCE = `
import('node:worker_threads').then(({ parentPort, workerData }) => {
  const ready = new Int32Array(workerData.ready);
  let kernels;
  try {
    const instance = new WebAssembly.Instance(workerData.module, {
      env: { memory: workerData.memory, abort() { throw new Error('kernel aborted'); } },
    });
    kernels = instance.exports;
    Atomics.store(ready, workerData.slot, 1);
  } catch (error) {
    Atomics.store(ready, workerData.slot, 2);
  }
  Atomics.notify(ready, workerData.slot);
  parentPort.on('message', ({ job, signal }) => {
    const flags = new Int32Array(signal);
    try {
      if (!job.pieces) {
        kernels[job.fn](...job.args);
      } else {
        const [startArg, endArg, step] = job.pieces;
        const args = job.args.slice();
        for (let from = job.args[startArg]; from < job.args[endArg]; from += step) {
          args[startArg] = from;
          args[endArg] = Math.min(job.args[endArg], from + step);
          kernels[job.fn](...args);
        }
      }
    } catch (error) {
      Atomics.add(flags, 1, 1);
    }
    Atomics.add(flags, 0, 1);
    Atomics.notify(flags, 0);
  });
});
`;

/** How long a new worker may take to start before the pool gives up on threads. */
const STARTUP_TIMEOUT_MS = 15_000;
const MAX_WORKERS = 1024;

/**
 * Worker threads bound to one shared kernel memory. `run` is synchronous: it hands jobs to the
 * workers, runs one itself, and blocks with Atomics.wait until all are done, so the public API
 * stays synchronous. Workers are unref'd: an idle pool never keeps the process alive.
 */
export class ThreadPool {
  private readonly workers: Worker[] = [];
  private broken = false;
  /** Jobs workers have completed (tests use it to check that threads really ran). */
  jobsOnWorkers = 0;

  constructor(
    private readonly kernels: KernelExports,
    private readonly memory: WasmMemory,
  ) {}

  /** Worker threads started so far. */
  get size(): number {
    return this.workers.length;
  }

  /** Whether extra threads can be used (false after any worker failure: then callers run alone). */
  get usable(): boolean {
    return !this.broken;
  }

  private readonly ready = new Int32Array(new SharedArrayBuffer(4 * MAX_WORKERS));

  /**
   * Starts workers up to `count` and waits until each has instantiated the module. Any failure
   * (no worker_threads, a worker that cannot start) marks the pool broken: callers then run alone.
   */
  private ensure(count: number): boolean {
    try {
      const started: number[] = [];
      while (this.workers.length < Math.min(count, MAX_WORKERS)) {
        const slot = this.workers.length;
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          execArgv: [],
          workerData: { module: kernelModule(), memory: this.memory, ready: this.ready.buffer, slot },
        });
        worker.unref();
        worker.on('error', () => {
          this.broken = true;
        });
        this.workers.push(worker);
        started.push(slot);
      }
      const deadline = Date.now() + STARTUP_TIMEOUT_MS;
      for (const slot of started) {
        while (Atomics.load(this.ready, slot) === 0) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          Atomics.wait(this.ready, slot, 0, Math.min(left, 100));
        }
        if (Atomics.load(this.ready, slot) !== 1) {
          this.broken = true;
          return false;
        }
      }
      return this.workers.length >= count;
    } catch {
      this.broken = true;
      return false;
    }
  }

  /** Runs jobs[0] here and the rest on workers; returns when all are done. */
  run(jobs: KernelJob[]): void {
    const [own, ...others] = jobs;
    if (others.length > 0 && (this.broken || !this.ensure(others.length))) {
      for (const job of jobs) this.callHere(job);
      return;
    }
    const signal = new SharedArrayBuffer(8);
    const flags = new Int32Array(signal);
    others.forEach((job, i) => {
      this.workers[i]?.postMessage({ job, signal });
    });
    if (own) this.callHere(own);
    let waited = 0;
    for (;;) {
      const done = Atomics.load(flags, 0);
      if (done >= others.length) break;
      // Time out in slices so a worker that died (and can never report) is noticed.
      if (Atomics.wait(flags, 0, done, 200) === 'timed-out') {
        waited += 200;
        if (this.broken || waited > 600_000) {
          this.broken = true;
          throw new KernelError('WASM_LOAD_FAILED', 'A kernel worker thread stopped; rerun with threads: 1.');
        }
      }
    }
    if (Atomics.load(flags, 1) > 0) {
      this.broken = true;
      throw new KernelError('WASM_LOAD_FAILED', 'A kernel worker thread failed; rerun with threads: 1.');
    }
    this.jobsOnWorkers += others.length;
  }

  private callHere(job: KernelJob): void {
    runJob(this.kernels[job.fn] as (...args: number[]) => void, job);
  }

  /** Stops every worker (tests and short scripts; idle workers never hold the process anyway). */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
