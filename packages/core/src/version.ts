import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** This package's version, read from its package.json (one level above both src/ and dist/). */
export const CORE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Versions of the sibling packages the engine runs with, for summary.json (undefined if unreadable). */
export function siblingVersions(): { kernels?: string; data?: string } {
  const require = createRequire(import.meta.url);
  const read = (name: string): string | undefined => {
    try {
      return (
        JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }
      ).version;
    } catch {
      return undefined;
    }
  };
  const kernels = read('@crypto-anomaly/kernels');
  const data = read('@crypto-anomaly/data');
  return { ...(kernels ? { kernels } : {}), ...(data ? { data } : {}) };
}

/** tfjs-core's version, read from its package.json (so asking does not load TensorFlow.js). */
export function tensorflowVersion(): string {
  const require = createRequire(import.meta.url);
  return (
    JSON.parse(readFileSync(require.resolve('@tensorflow/tfjs-core/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}
