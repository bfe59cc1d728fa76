import type { KV } from '@nats-io/kv';

/**
 * Which worker owns which market, in a KV bucket whose entries expire after the lease's time to
 * live (the bucket's max age): a worker claims a market by creating its key (only one create of
 * a missing key succeeds), renews it by a compare-and-set on the revision it holds, and releases it
 * by deleting that revision. A worker that dies stops renewing; its keys expire and another
 * worker's create succeeds. A renewal that fails on the revision means someone else owns the
 * market now: the worker must stop scoring it at once.
 */
export class Leases {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly kv: KV,
    readonly owner: string,
  ) {}

  holds(key: string): boolean {
    return this.held.has(key);
  }

  get keys(): string[] {
    return [...this.held.keys()];
  }

  /** True when this worker now owns `key`. */
  async claim(key: string): Promise<boolean> {
    try {
      const revision = await this.kv.create(key, this.owner);
      this.held.set(key, revision);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Renews `key`: 'renewed', 'lost' (another owner, or it expired: drop the market), or
   * 'unknown' when the server could not be asked (keep going; the next renewal decides).
   */
  async renew(key: string): Promise<'renewed' | 'lost' | 'unknown'> {
    const revision = this.held.get(key);
    if (revision === undefined) return 'lost';
    try {
      const renewed = await this.kv.update(key, this.owner, revision);
      // Released while the renewal was under way: the release decides.
      if (this.held.get(key) !== revision) return 'lost';
      this.held.set(key, renewed);
      return 'renewed';
    } catch (error) {
      const message = (error as Error).message ?? '';
      if (/wrong last sequence|last sequence/i.test(message)) {
        this.held.delete(key);
        return 'lost';
      }
      return 'unknown';
    }
  }

  /** Gives `key` up (only the revision held: a lease someone else took is left alone). */
  async release(key: string): Promise<void> {
    const revision = this.held.get(key);
    this.held.delete(key);
    if (revision === undefined) return;
    await this.kv.delete(key, { previousSeq: revision }).catch(() => undefined);
  }

  /** Forgets `key` without touching the bucket (it was lost). */
  forget(key: string): void {
    this.held.delete(key);
  }
}

/** Keys of a bucket (markets, leases, workers alive), an empty list when there are none. */
export async function keysOf(kv: KV, filter?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  return keys;
}

/**
 * What a worker says of itself in the workers bucket, renewed with its leases: when, and how many
 * training jobs it runs at once (0: it takes none).
 */
export interface WorkerRecord {
  at: number;
  trainJobs: number;
}

export const workerRecord = (trainJobs: number): string => JSON.stringify({ at: Date.now(), trainJobs });

/**
 * The workers alive (their keys not expired), and how many of them take training jobs. A worker of
 * an earlier version wrote only the time: it trains (one job, the default then).
 */
export async function workersAlive(kv: KV): Promise<{ alive: number; training: number }> {
  let alive = 0;
  let training = 0;
  for (const key of await keysOf(kv)) {
    const entry = await kv.get(key).catch(() => null);
    if (entry?.operation !== 'PUT') continue;
    alive++;
    let record: Partial<WorkerRecord> | number | undefined;
    try {
      record = JSON.parse(entry.string()) as Partial<WorkerRecord> | number;
    } catch {
      record = undefined;
    }
    const trainJobs = typeof record === 'object' && record !== null ? record.trainJobs : undefined;
    if (trainJobs === undefined || trainJobs > 0) training++;
  }
  return { alive, training };
}
