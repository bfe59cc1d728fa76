import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend.js';
import { AttentionNetwork } from '../tf/attention-network.js';
import { lastStepErrors, type ScoringThreadRequest } from './attention-autoencoder.js';

/**
 * The body of an attention scoring thread: the network rebuilt from its flat parameters on its own
 * TensorFlow.js backend, the errors of the rows it was handed posted back.
 */
export async function run(): Promise<void> {
  const request = workerData as ScoringThreadRequest;
  try {
    await selectBackend(request.backend);
    const network = new AttentionNetwork(
      request.architecture,
      AttentionNetwork.weightsFromParameters(request.architecture, request.parameters),
    );
    const errors = lastStepErrors(network, request.values, request.cols, request.fromRow);
    network.dispose();
    parentPort!.postMessage({ errors }, [errors.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ message: (error as Error).message });
  }
}
