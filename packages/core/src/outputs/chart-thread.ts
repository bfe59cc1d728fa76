import { parentPort } from 'node:worker_threads';
import { renderChartPng, type VegaLiteSpec, warmUpChartRenderer } from './charts.js';

/** A chart to draw, and the drawn PNG (or why not) sent back under the same id. */
export interface ChartRequest {
  id: number;
  spec: VegaLiteSpec;
}
export type ChartReply = { id: number; png: Uint8Array } | { id: number; message: string };

/**
 * The body of a chart thread: draws each spec it is sent into a PNG. It loads the renderer (vega,
 * vega-lite, resvg) as it starts, so it is ready by the time the run has its scores.
 */
export async function run(): Promise<void> {
  const port = parentPort!;
  // Warm: the first chart of a fresh thread costs ~0.5 s more than the next ones.
  let ready: Promise<unknown> = warmUpChartRenderer();
  port.on('message', (request: ChartRequest) => {
    ready = ready.then(async () => {
      try {
        const png = await renderChartPng(request.spec);
        port.postMessage({ id: request.id, png } satisfies ChartReply, [png.buffer as ArrayBuffer]);
      } catch (error) {
        port.postMessage({ id: request.id, message: (error as Error).message } satisfies ChartReply);
      }
    });
  });
}
