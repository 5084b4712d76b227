import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Files that run real Ansible against the simulator, slowest first (seconds measured by a
 * `npm test` on the 2-core machine, 2026-12-01). Without vitest's duration cache (a clean checkout has none)
 * files are ordered by size, which put a short but slow file last. Measured on a clean .ci/run:
 * 548 s of vitest either way (the CPU, not the order, is the limit); kept so that a slow file
 * never starts last.
 */
const SLOW_FIRST = [
  'tests/e2e/bundle-sets.test.ts', // 85
  'tests/e2e/bundles.test.ts', // 72
  'tests/catalog/role.test.ts', // 60
  'tests/e2e/deployer-ui.test.ts', // 60
  'tests/catalog/guest-bundles.test.ts', // 60
  'tests/e2e/infra.test.ts', // 60
  'tests/e2e/vms.test.ts', // 43
  'tests/catalog/syntax.test.ts', // 34
  'tests/catalog/scenarios.test.ts', // 33
  'tests/e2e/config.test.ts', // 31
  'tests/jobs/jobs.test.ts', // 30
  'tests/ops/build.test.ts', // 29
  'tests/catalog/third-party.test.ts', // 28
  'tests/engine/engine.test.ts', // 28
  'tests/ops/load.test.ts', // 26
  'tests/catalog/bundles.test.ts', // 26
  'tests/jobs/shared-db.test.ts', // 20 (measured alone, 2026-12-01)
];

/** Runs after every other file: it reads what the end-to-end files recorded. */
const LAST = 'tests/e2e/coverage.test.ts';

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      if (f.moduleId.endsWith(LAST)) return SLOW_FIRST.length + 1;
      const i = SLOW_FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Ansible runs are CPU-bound (about one core-second each) on a 2-core machine: two files at a
    // time. Three were measured (clean .ci/run, same commit otherwise): 551 s against 548 s, the
    // waits of some files do not leave enough idle CPU to gain anything, only more contention.
    maxWorkers: 2,
    fileParallelism: true,
    sequence: { sequencer: SlowFirstSequencer },
  },
});
