import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CoreError } from '../errors.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

/**
 * A TensorFlow.js IOHandler on the local file system without tfjs-node: `model.json` (topology
 * and weights manifest, the standard format `tf.loadLayersModel` reads) and `weights.bin`.
 */
export function fileModelHandler(dir: string): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await mkdir(dir, { recursive: true });
      const weights = new Uint8Array(
        artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0),
      );
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeAtomically(join(dir, WEIGHTS_BIN), weights);
      await writeAtomically(join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const modelJson = (await readJsonFile(join(dir, MODEL_JSON))) as tf.io.ModelJSON;
      let weights: Buffer;
      try {
        weights = await readFile(join(dir, WEIGHTS_BIN));
      } catch (error) {
        throw new CoreError('IO', `Cannot read ${join(dir, WEIGHTS_BIN)}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const weightData = new ArrayBuffer(weights.byteLength);
      new Uint8Array(weightData).set(weights);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
        weightData,
      };
    },
  };
}

export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await writeAtomically(path, `${JSON.stringify(value, null, 2)}\n`);
}

export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CoreError(
      'IO',
      `Cannot read ${path}: ${(error as Error).message}. Is this a folder written by save()?`,
      { cause: error },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CoreError('MODEL_MISMATCH', `${path} is not valid JSON: save the model again.`, {
      cause: error,
    });
  }
}

/** Encodes named tensors into model artifacts for `fileModelHandler(dir).save`. */
export async function artifactsFromTensors(
  format: string,
  modelTopology: object,
  tensors: Record<string, tf.Tensor>,
): Promise<tf.io.ModelArtifacts> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return {
    format,
    generatedBy: `TensorFlow.js v${tf.version.tfjs}`,
    modelTopology,
    weightSpecs: specs,
    weightData: data,
  };
}
