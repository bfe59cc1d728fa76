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
      // A beforeAll that trains a pipeline takes seconds alone and can take tens of seconds when
      // every package tests at once on two loaded cores (pnpm test): vitest's 10 s default failed
      // core's pipeline tests from a fresh clone. Generous, as a bound, not a timing assertion.
      hookTimeout: 120_000,
      pool: 'forks',
    },
  });
}
