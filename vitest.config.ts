import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Ansible runs are CPU-bound (about one core-second each) on a 2-core machine:
    // two files at a time keeps timings predictable.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
