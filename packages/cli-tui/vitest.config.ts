import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

// The end-to-end tests train small models in child processes (a few seconds each on a quiet
// machine): generous limits keep them from failing on a loaded CI runner, where every package
// tests at once.
export default mergeConfig(packageTestConfig({ testTimeout: 120_000 }), { test: { hookTimeout: 120_000 } });
