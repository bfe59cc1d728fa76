import { defineConfig } from 'vitest/config';

/**
 * Every package's vitest config. The `@crypto-anomaly/source` export condition makes workspace
 * tests import each other's TypeScript sources, so a test never runs against a stale build;
 * installed users, who never set that condition, get `dist/`.
 */
export function packageTestConfig(options: { testTimeout?: number } = {}) {
  // Only `node` beside ours: Vitest hands these conditions to Node for external modules too,
  // and an `import` condition there makes require('long') inside TensorFlow.js load ESM.
  const conditions = ['@crypto-anomaly/source', 'node'];
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
      testTimeout: options.testTimeout ?? 30_000,
      pool: 'forks',
    },
  });
}
