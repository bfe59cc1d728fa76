import { Worker } from 'node:worker_threads';
import type { KernelExports } from './api.js';
import { KernelError } from './errors.js';
import { kernelModule } from './wasm.js';
import type { WasmMemory } from './webassembly.js';

/** A kernel call a worker runs: the export's name and its (numeric) arguments. */
export interface KernelJob {
  fn: 'buildTrees' | 'scoreRows' | 'scoreRowsPacked' | 'scoreRowsExtended';
  args: number[];
}

// Plain CommonJS run with `eval`, so the same code works from src/ (tests) and dist/ (installed).
// Each worker instantiates the module over the shared memory and runs the jobs it is sent; it
// never allocates. It reports through a shared Int32Array: [jobs done, jobs failed].
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let kernels;
let startError;
try {
  const instance = new WebAssembly.Instance(workerData.module, {
    env: { memory: workerData.memory, abort() { throw new Error('kernel aborted'); } },
  });
  kernels = instance.exports;
} catch (error) {
  startError = error;
}
parentPort.on('message', ({ job, signal }) => {
  const flags = new Int32Array(signal);
  try {
    if (startError) throw startError;
    kernels[job.fn](...job.args);
  } catch (error) {
    Atomics.add(flags, 1, 1);
  }
  Atomics.add(flags, 0, 1);
  Atomics.notify(flags, 0);
});
`;

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

  private ensure(count: number): boolean {
    try {
      while (this.workers.length < count) {
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { module: kernelModule(), memory: this.memory },
        });
        worker.unref();
        worker.on('error', () => {
          this.broken = true;
        });
        this.workers.push(worker);
      }
      return true;
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
    (this.kernels[job.fn] as (...args: number[]) => void)(...job.args);
  }

  /** Stops every worker (tests and short scripts; idle workers never hold the process anyway). */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
