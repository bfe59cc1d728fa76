import { defineConfig } from 'vitest/config';

// `pnpm vitest` at the root runs every package's tests in one process; `pnpm test` runs them
// package by package through turbo (cached).
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
