import { describe, expect, it } from 'vitest';
import { type KernelJob, ThreadPool } from '../src/thread-pool.js';
import { createKernelMemory, instantiateKernels, readFloat64, writeFloat64 } from '../src/wasm.js';
import { WebAssemblyApi } from '../src/webassembly.js';

function clipJobs(kernels: ReturnType<typeof instantiateKernels>) {
  const values = Float64Array.from({ length: 1000 }, (_, i) => i - 500);
  const x = writeFloat64(kernels, values);
  const lower = writeFloat64(kernels, [-10]);
  const upper = writeFloat64(kernels, [10]);
  const jobs: KernelJob[] = [0, 250, 500, 750].map((start) => ({
    fn: 'clipColumns',
    args: [x + start * 8, 250, 1, lower, upper, x + start * 8],
  }));
  const check = () => {
    const out = readFloat64(kernels, x, values.length);
    return out.every((v, i) => v === Math.min(Math.max(values[i] as number, -10), 10));
  };
  return { jobs, check };
}

describe('ThreadPool', () => {
  it('runs jobs on worker threads over the shared memory', async () => {
    const memory = createKernelMemory();
    const kernels = instantiateKernels(memory);
    const pool = new ThreadPool(kernels, memory);
    const { jobs, check } = clipJobs(kernels);
    pool.run(jobs);
    expect(check()).toBe(true);
    expect(pool.jobsOnWorkers).toBe(3);
    expect(pool.usable).toBe(true);
    await pool.close();
  });

  it('falls back to the calling thread when workers cannot start', () => {
    const kernels = instantiateKernels();
    // A memory that is not shared cannot be handed to a worker: starting one fails.
    const pool = new ThreadPool(kernels, new WebAssemblyApi.Memory({ initial: 1 }));
    const { jobs, check } = clipJobs(kernels);
    pool.run(jobs);
    expect(check()).toBe(true);
    expect(pool.usable).toBe(false);
    expect(pool.jobsOnWorkers).toBe(0);
  });
});
