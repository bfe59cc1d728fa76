import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import * as core from '@crypto-anomaly/core';
import type { Interval } from '@crypto-anomaly/data';
import type { KV, KvEntry } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { BUCKETS, type Market } from './bus-api.js';
import type { Bus } from './connection.js';
import { keysOf } from './leases.js';

/**
 * Models on the bus: each pair's model folder (`SYMBOL_INTERVAL`, as `train --out` writes it) is
 * packed into one object of the `ca-models` object store per version (`BTCUSDT_1m/v3`), and the
 * `ca-models` KV bucket says which version is the latest (`models.BTCUSDT_1m` → a `ModelPointer`).
 * Versions count 1, 2, 3... per pair; two pushes at once get two versions (a reservation key
 * `versions.<PAIR>` is taken by compare-and-set before the upload). Workers watch the pointers
 * and switch a pair to a new version without restarting; each version is unpacked once per
 * machine into a local cache folder.
 */
export const MODEL_STORE = BUCKETS.models;

/** The latest version of a pair's model, as the KV bucket holds it. */
export interface ModelPointer {
  pair: string;
  version: number;
  /** The object's name in the store. */
  object: string;
  bytes: number;
  /** When it was pushed (ms since the epoch) and by whom. */
  pushedAt: number;
  pushedBy: string;
}

/** `SYMBOL_INTERVAL`, the name of a pair's model (folder, object prefix, KV key suffix). */
export const pairName = (market: Market) => `${market.symbol}_${market.interval}`;
export const pointerKey = (pair: string) => `models.${pair}`;
const reservationKey = (pair: string) => `versions.${pair}`;
export const objectName = (pair: string, version: number) => `${pair}/v${version}`;

/** A pair name back as a market: BTCUSDT_1m → BTCUSDT, 1m. */
export function marketOfPair(pair: string): Market | undefined {
  const match = /^([A-Z0-9]+)_(\d+[smhdwM])$/.exec(pair);
  return match ? { symbol: match[1]!, interval: match[2] as Interval } : undefined;
}

const MAGIC = 'CAMODEL1';

/** Packs every file under `dir` into one buffer: magic, index length, JSON index, the bytes. */
export async function packFolder(dir: string): Promise<Uint8Array> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: { path: string; size: number }[] = [];
  const parts: Buffer[] = [];
  for (const entry of entries.sort((a, b) =>
    join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)),
  )) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path);
    files.push({ path: relative(dir, path).split(sep).join('/'), size: bytes.length });
    parts.push(bytes);
  }
  const index = Buffer.from(JSON.stringify({ files }));
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'ascii');
  head.writeUInt32BE(index.length, MAGIC.length);
  return Buffer.concat([head, index, ...parts]);
}

/** Unpacks `packed` into `dir` (made whole in a sibling folder, then renamed into place). */
export async function unpackInto(packed: Uint8Array, dir: string): Promise<void> {
  const buffer = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  if (buffer.toString('ascii', 0, MAGIC.length) !== MAGIC) throw new Error('not a packed model');
  const indexLength = buffer.readUInt32BE(MAGIC.length);
  let at = MAGIC.length + 4;
  const { files } = JSON.parse(buffer.toString('utf8', at, at + indexLength)) as {
    files: { path: string; size: number }[];
  };
  at += indexLength;
  const temporary = `${dir}.partial-${process.pid}-${Date.now()}`;
  await rm(temporary, { recursive: true, force: true });
  for (const file of files) {
    if (file.path.split('/').includes('..')) throw new Error(`a packed model names ${file.path}`);
    const target = join(temporary, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, buffer.subarray(at, at + file.size));
    at += file.size;
  }
  await mkdir(dirname(dir), { recursive: true });
  try {
    await rename(temporary, dir);
  } catch (error) {
    // Another process of this machine unpacked the same version first: theirs is as good.
    await rm(temporary, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
}

/** The models bucket (KV) and object store of a bus. */
export class ModelRegistry {
  private constructor(
    readonly kv: KV,
    readonly store: ObjectStore,
  ) {}

  static async open(bus: Bus): Promise<ModelRegistry> {
    const kv = await bus.bucket(BUCKETS.models);
    const objm = new Objm(bus.js);
    const store = await objm
      .create(MODEL_STORE, { description: 'crypto-anomaly models, an object per pair and version' })
      .catch(() => objm.open(MODEL_STORE));
    return new ModelRegistry(kv, store);
  }

  /**
   * Every pair's latest version, by pair name, with the versions the object store still holds
   * (the `keep` latest of each pair).
   */
  async list(): Promise<{ pointer: ModelPointer; versions: number[] }[]> {
    const stored = new Map<string, number[]>();
    for (const info of await this.store.list()) {
      const match = /^(.+)\/v(\d+)$/.exec(info.name);
      if (!match || info.deleted) continue;
      stored.set(match[1]!, [...(stored.get(match[1]!) ?? []), Number(match[2])]);
    }
    const listed: { pointer: ModelPointer; versions: number[] }[] = [];
    for (const key of await keysOf(this.kv, 'models.>')) {
      const pointer = readPointer(await this.kv.get(key));
      if (!pointer) continue;
      listed.push({ pointer, versions: (stored.get(pointer.pair) ?? []).sort((a, b) => a - b) });
    }
    return listed.sort((a, b) => a.pointer.pair.localeCompare(b.pointer.pair));
  }

  /** The latest version of `pair`, or undefined when none was pushed. */
  async latest(pair: string): Promise<ModelPointer | undefined> {
    const entry = await this.kv.get(pointerKey(pair));
    return readPointer(entry);
  }

  /**
   * Stores `folder` as the next version of `pair` and points `models.<pair>` at it (unless a
   * later version was pointed at meanwhile). Versions older than the `keep` latest are deleted.
   */
  async push(pair: string, folder: string, pushedBy: string, keep = 10): Promise<ModelPointer> {
    await core.readManifest(folder); // a model folder, or a clear error before anything is stored
    const packed = await packFolder(folder);
    const version = await this.reserve(pair);
    const object = objectName(pair, version);
    await this.store.putBlob({ name: object }, packed);
    const pointer: ModelPointer = {
      pair,
      version,
      object,
      bytes: packed.length,
      pushedAt: Date.now(),
      pushedBy,
    };
    for (;;) {
      const entry = await this.kv.get(pointerKey(pair));
      const current = readPointer(entry);
      if (current && current.version >= version) break;
      try {
        if (entry && entry.operation === 'PUT')
          await this.kv.update(pointerKey(pair), JSON.stringify(pointer), entry.revision);
        else await this.kv.create(pointerKey(pair), JSON.stringify(pointer));
        break;
      } catch {
        // Another push moved the pointer meanwhile: read it again.
      }
    }
    if (version > keep) await this.store.delete(objectName(pair, version - keep)).catch(() => undefined);
    return pointer;
  }

  private async reserve(pair: string): Promise<number> {
    for (;;) {
      const entry = await this.kv.get(reservationKey(pair));
      const last = entry && entry.operation === 'PUT' ? Number(entry.string()) : 0;
      const next = (Number.isFinite(last) ? last : 0) + 1;
      try {
        if (entry) await this.kv.update(reservationKey(pair), String(next), entry.revision);
        else await this.kv.create(reservationKey(pair), String(next));
        return next;
      } catch {
        // Taken by another push: try the one after.
      }
    }
  }

  /**
   * The folder of `pointer`'s version under `cacheDir` (`PAIR/vN`), downloaded and unpacked when
   * this machine has not got it yet.
   */
  async folderOf(pointer: ModelPointer, cacheDir: string): Promise<string> {
    const folder = join(cacheDir, pointer.pair, `v${pointer.version}`);
    if (existsSync(folder)) return folder;
    const packed = await this.store.getBlob(pointer.object);
    if (!packed) throw new Error(`model ${pointer.object} is not in the object store (deleted?)`);
    await unpackInto(packed, folder);
    return folder;
  }

  /**
   * Calls `onPointer` with every pair's latest version, then with each new one as it is pushed,
   * until the returned `stop`. The watch resumes by itself after a reconnection.
   */
  async watch(onPointer: (pointer: ModelPointer) => void): Promise<{ stop(): void }> {
    const watcher = await this.kv.watch({ key: 'models.>' });
    void (async () => {
      for await (const entry of watcher) {
        const pointer = readPointer(entry);
        if (pointer) onPointer(pointer);
      }
    })().catch(() => undefined);
    return { stop: () => watcher.stop() };
  }
}

function readPointer(entry: KvEntry | null | undefined): ModelPointer | undefined {
  if (entry?.operation !== 'PUT') return undefined;
  try {
    const pointer = entry.json<ModelPointer>();
    return typeof pointer.version === 'number' && typeof pointer.object === 'string' ? pointer : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The model folders under `root` to push, by pair: `root/SYMBOL_INTERVAL` folders (as `train --out`
 * and `watch` lay them out), or `root` itself as the pairs named in `pairs` or, without them, as
 * the pair it was trained on.
 */
export async function modelFoldersOf(root: string, pairs?: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const rootManifest = await core.readManifest(root).catch(() => undefined);
  if (pairs && pairs.length > 0) {
    for (const pair of pairs) {
      const own = join(root, pair);
      if (await core.readManifest(own).catch(() => undefined)) found.set(pair, own);
      else if (rootManifest) found.set(pair, root);
      else throw new Error(`no model for ${pair}: neither ${own} nor ${root} is a model folder`);
    }
    return found;
  }
  if (rootManifest) {
    const trainedOn = rootManifest.trainedOn;
    if (!trainedOn)
      throw new Error(`${root} does not say which pair it was trained on: name it with --pairs`);
    found.set(`${trainedOn.symbol.toUpperCase()}_${trainedOn.interval}`, root);
    return found;
  }
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !marketOfPair(entry.name)) continue;
    const folder = join(root, entry.name);
    if (await core.readManifest(folder).catch(() => undefined)) found.set(entry.name, folder);
  }
  return found;
}

/**
 * Why pushing `folder` as `pair` is likely a mistake, in words: a model trained on another interval
 * (its windows count candles of that interval, its thresholds were fitted there) or on another
 * market (its thresholds were fitted to that market); undefined when it was trained on `pair` or
 * does not say what it was trained on.
 */
export async function mismatchOf(pair: string, folder: string): Promise<string | undefined> {
  const market = marketOfPair(pair);
  const trainedOn = (await core.readManifest(folder).catch(() => undefined))?.trainedOn;
  if (!market || !trainedOn) return undefined;
  const symbol = trainedOn.symbol.toUpperCase();
  if (trainedOn.interval !== market.interval) {
    return `${pair} gets the model trained on ${symbol} ${trainedOn.interval}: its windows count ${trainedOn.interval} candles and its thresholds were fitted to them, so it will misjudge ${market.interval} candles; train one on ${market.interval} (train --interval ${market.interval}, or train --bus)`;
  }
  if (symbol !== market.symbol) {
    return `${pair} gets the model trained on ${symbol} ${trainedOn.interval}: its thresholds were fitted to another market`;
  }
  return undefined;
}

/**
 * The folders under `root` that `modelFoldersOf` left out, each with why (in words): not named
 * SYMBOL_INTERVAL, or so named but not a model folder. None when `root` is itself a model folder
 * (`found` holds it: `modelFoldersOf`'s answer).
 */
export async function skippedFolders(root: string, found: ReadonlyMap<string, string>): Promise<string[]> {
  const taken = new Set(found.values());
  // `root` itself was found: it is a model folder, and its subfolders are its own.
  if (taken.has(root)) return [];
  const skipped: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    const folder = join(root, entry.name);
    if (!entry.isDirectory() || entry.name.startsWith('.') || taken.has(folder)) continue;
    skipped.push(
      marketOfPair(entry.name)
        ? `${folder} skipped: not a model folder (no pipeline.json)`
        : `${folder} skipped: not named SYMBOL_INTERVAL; push it with --model ${folder} --pairs SYMBOL_INTERVAL`,
    );
  }
  return skipped;
}
