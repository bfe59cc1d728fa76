import type { IsolationForestOptions } from './api.js';
import { KernelError } from './errors.js';
import type { ForestArrays } from './reference/isolation-forest.js';
import { describe } from './validate.js';

export const ISOLATION_FOREST_FORMAT = 'crypto-anomaly/isolation-forest';
export const ISOLATION_FOREST_VERSION = 1;

/** The fitted state: replaced as a whole only when a fit succeeds. */
export interface FittedForest extends ForestArrays {
  nFeatures: number;
  psi: number;
  threshold: number;
}

/** A saved forest: versioned JSON; typed arrays as base64 of their little-endian bytes. */
export interface IsolationForestJSON {
  format: typeof ISOLATION_FOREST_FORMAT;
  version: number;
  options: Omit<IsolationForestOptions, 'threads'>;
  nFeatures: number;
  psi: number;
  trees: number;
  depth: number;
  terms: number;
  threshold: number;
  features: string;
  indices: string;
  weights: string;
  thresholds: string;
  leaves: string;
}

function toBase64(array: Int32Array | Float64Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

function fromBase64<T extends Int32Array | Float64Array>(
  text: unknown,
  Type: { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
  name: string,
): T {
  if (typeof text !== 'string')
    throw new KernelError('INVALID_MODEL', `Saved forest field ${name} is missing.`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length * Type.BYTES_PER_ELEMENT) {
    throw new KernelError(
      'INVALID_MODEL',
      `Saved forest field ${name} holds ${bytes.length} bytes but the forest's shape needs ${length * Type.BYTES_PER_ELEMENT}.`,
    );
  }
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return new Type(copy);
}

/** A fitted forest as versioned JSON (the options without `threads`, which belong to the machine). */
export function forestToJSON(
  options: Readonly<IsolationForestOptions>,
  f: FittedForest,
): IsolationForestJSON {
  const { threads: _threads, ...saved } = options;
  return {
    format: ISOLATION_FOREST_FORMAT,
    version: ISOLATION_FOREST_VERSION,
    options: saved,
    nFeatures: f.nFeatures,
    psi: f.psi,
    trees: f.trees,
    depth: f.depth,
    terms: f.terms,
    threshold: f.threshold,
    features: toBase64(f.features),
    indices: toBase64(f.indices),
    weights: toBase64(f.weights),
    thresholds: toBase64(f.thresholds),
    leaves: toBase64(f.leaves),
  };
}

/** Parses saved JSON (object or text) and checks that it is a forest of the version this build reads. */
export function readForestJSON(json: IsolationForestJSON | string): IsolationForestJSON {
  let j: IsolationForestJSON;
  try {
    j = typeof json === 'string' ? JSON.parse(json) : json;
  } catch (cause) {
    throw new KernelError('INVALID_MODEL', `Saved forest is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (j == null || j.format !== ISOLATION_FOREST_FORMAT) {
    throw new KernelError(
      'INVALID_MODEL',
      `Not a saved isolation forest (format ${describe(j?.format)}, expected "${ISOLATION_FOREST_FORMAT}").`,
    );
  }
  if (j.version !== ISOLATION_FOREST_VERSION) {
    throw new KernelError(
      'INVALID_MODEL',
      `Saved forest has version ${describe(j.version)}; this build reads version ${ISOLATION_FOREST_VERSION}: refit or upgrade @crypto-anomaly/kernels.`,
    );
  }
  return j;
}

/**
 * The arrays of saved JSON whose shape fields (trees, depth, terms, nFeatures, psi) are already
 * checked: each must hold exactly the bytes the shape needs, and every feature index must exist.
 */
export function decodeForestArrays(j: IsolationForestJSON): FittedForest {
  const internal = (1 << j.depth) - 1;
  const leafCount = 1 << j.depth;
  const fitted: FittedForest = {
    trees: j.trees,
    depth: j.depth,
    terms: j.terms,
    nFeatures: j.nFeatures,
    psi: j.psi,
    threshold: Number(j.threshold),
    features: fromBase64(j.features, Int32Array, j.terms === 0 ? j.trees * internal : 0, 'features'),
    indices: fromBase64(j.indices, Int32Array, j.trees * internal * j.terms, 'indices'),
    weights: fromBase64(j.weights, Float64Array, j.trees * internal * j.terms, 'weights'),
    thresholds: fromBase64(j.thresholds, Float64Array, j.trees * internal, 'thresholds'),
    leaves: fromBase64(j.leaves, Float64Array, j.trees * leafCount, 'leaves'),
  };
  const indexLimit = j.nFeatures;
  for (const v of j.terms === 0 ? fitted.features : fitted.indices) {
    if (!(v >= 0 && v < indexLimit)) {
      throw new KernelError(
        'INVALID_MODEL',
        `Saved forest refers to feature ${v} of ${indexLimit}: the file is corrupt.`,
      );
    }
  }
  return fitted;
}

/** Compact binary form: 'CAIF', a little-endian u32 JSON header length, the JSON header, the arrays. */
export function forestToBytes(json: IsolationForestJSON, f: FittedForest): Uint8Array {
  const { features, indices, weights, thresholds, leaves, ...header } = json;
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const parts = [f.features, f.indices, f.weights, f.thresholds, f.leaves];
  const headerEnd = Math.ceil((8 + headerBytes.length) / 8) * 8;
  const total = headerEnd + parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(Buffer.from('CAIF', 'latin1'), 0);
  new DataView(out.buffer).setUint32(4, headerBytes.length, true);
  out.set(headerBytes, 8);
  let offset = headerEnd;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
    offset += p.byteLength;
  }
  return out;
}

/** The binary form back to the JSON form (arrays as base64), for `IsolationForest.fromJSON`. */
export function forestBytesToJSON(bytes: Uint8Array): IsolationForestJSON {
  if (
    !(bytes instanceof Uint8Array) ||
    bytes.length < 8 ||
    Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== 'CAIF'
  ) {
    throw new KernelError(
      'INVALID_MODEL',
      'Not a saved isolation forest: the bytes do not start with "CAIF".',
    );
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
  } catch (cause) {
    throw new KernelError(
      'INVALID_MODEL',
      'Saved forest header is not valid JSON: the file is truncated or corrupt.',
      { cause },
    );
  }
  const trees = Number(header.trees);
  const depth = Number(header.depth);
  const terms = Number(header.terms);
  if (
    !Number.isInteger(trees) ||
    !Number.isInteger(depth) ||
    !Number.isInteger(terms) ||
    depth < 1 ||
    depth > 24
  ) {
    throw new KernelError('INVALID_MODEL', 'Saved forest header has no valid trees/depth/terms.');
  }
  const internal = (1 << depth) - 1;
  const sizes = [
    (terms === 0 ? trees * internal : 0) * 4,
    trees * internal * terms * 4,
    trees * internal * terms * 8,
    trees * internal * 8,
    trees * (1 << depth) * 8,
  ];
  let offset = Math.ceil((8 + headerLength) / 8) * 8;
  const encoded = sizes.map((size) => {
    const slice = Buffer.from(bytes.subarray(offset, offset + size));
    offset += size;
    return slice.toString('base64');
  });
  if (offset > bytes.length) throw new KernelError('INVALID_MODEL', 'Saved forest is truncated.');
  const [features, indices, weights, thresholds, leaves] = encoded as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { ...(header as unknown as IsolationForestJSON), features, indices, weights, thresholds, leaves };
}
