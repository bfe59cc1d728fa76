import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { modelInvalid, parseModelFile, readModelBytes, readModelJson } from '../model-files.js';
import { writeFileAtomic } from '../outputs/atomic-write.js';
import { tf } from './tensorflow.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/**
 * A TensorFlow.js IOHandler on the local file system without tfjs-node: `model.json` (topology
 * and weights manifest, the standard format `tf.loadLayersModel` reads) and `weights.bin`.
 */
export function fileModelHandler(dir: string): Required<Pick<TF.io.IOHandler, 'save' | 'load'>> {
  return {
    async save(artifacts: TF.io.ModelArtifacts): Promise<TF.io.SaveResult> {
      await mkdir(dir, { recursive: true });
      const weights = new Uint8Array(
        artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0),
      );
      const modelJson: TF.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
      await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
    /**
     * Reads `model.json` and `weights.bin`, checked: the weights manifest must be well formed, the
     * file exactly as long as its declared shapes, and every weight finite (`MODEL_INVALID`
     * naming the file otherwise). Reads nothing outside `dir`.
     */
    async load(): Promise<TF.io.ModelArtifacts> {
      const modelPath = join(dir, MODEL_JSON);
      const weightsPath = join(dir, WEIGHTS_BIN);
      const modelJson = parseModelFile(modelJsonSchema, await readModelJson(modelPath, dir), modelPath);
      const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
      const sizes = weightSpecs.map((spec) => spec.shape.reduce((product, n) => product * n, 1));
      const expectedBytes = sizes.reduce((sum, size) => sum + size, 0) * Float32Array.BYTES_PER_ELEMENT;
      const weights = await readModelBytes(weightsPath, dir);
      if (weights.byteLength !== expectedBytes) {
        throw modelInvalid(
          weightsPath,
          `holds ${weights.byteLength} bytes, but ${modelPath} declares ${weightSpecs.length} float32 tensors ` +
            `totalling ${expectedBytes} bytes: the file is truncated or belongs to another model`,
        );
      }
      const weightData = new ArrayBuffer(weights.byteLength);
      new Uint8Array(weightData).set(weights);
      assertFiniteWeights(new Float32Array(weightData), weightSpecs, sizes, weightsPath);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        weightSpecs,
        weightData,
      };
    },
  };
}

/** `model.json` as `fileModelHandler` writes it: one group of float32 weights in `./weights.bin`. */
const modelJsonSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
  weightsManifest: z
    .array(
      z.object({
        paths: z.tuple([z.literal(`./${WEIGHTS_BIN}`)]),
        weights: z.array(
          z.object({
            name: z.string().min(1),
            shape: z.array(z.number().int().min(0)),
            dtype: z.literal('float32'),
          }),
        ),
      }),
    )
    .length(1),
});

/** NaN or ±Infinity in a weight makes every score NaN, and NaN is never above a threshold: refuse it. */
function assertFiniteWeights(
  values: Float32Array,
  specs: readonly { name: string }[],
  sizes: readonly number[],
  path: string,
): void {
  let offset = 0;
  specs.forEach((spec, i) => {
    const size = sizes[i]!;
    for (let k = 0; k < size; k++) {
      const value = values[offset + k]!;
      if (!Number.isFinite(value)) {
        throw modelInvalid(
          path,
          `weight "${spec.name}" has a non-finite value (${value}) at index ${k}: such a model scores every row NaN`,
        );
      }
    }
    offset += size;
  });
}

export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads a JSON file of a saved model (`readModelJson`: `IO` when missing, `MODEL_INVALID` when not
 * JSON or a link to outside its folder).
 */
export async function readJsonFile(path: string): Promise<unknown> {
  return readModelJson(path, dirname(path));
}

/** Encodes named tensors into model artifacts for `fileModelHandler(dir).save`. */
export async function artifactsFromTensors(
  format: string,
  modelTopology: object,
  tensors: Record<string, TF.Tensor>,
): Promise<TF.io.ModelArtifacts> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return {
    format,
    generatedBy: `TensorFlow.js tfjs-core v${tf.version_core}`,
    modelTopology,
    weightSpecs: specs,
    weightData: data,
  };
}
