import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The slowest files first (seconds measured by `npm test` on the idle 2-core machine,
 * 2026-12-01, after issue 18's faster role). Without vitest's duration cache (a clean checkout has
 * none) files are ordered by size, which starts a short but slow file last and leaves the other
 * worker idle meanwhile.
 */
const SLOW_FIRST = [
  'tests/catalog/guest-bundles.test.ts', // 53
  'tests/scale/multi-process.test.ts', // 33
  'tests/ops/build.test.ts', // 33
  'tests/e2e/bundle-sets.test.ts', // 33
  'tests/catalog/syntax.test.ts', // 33
  'tests/catalog/role.test.ts', // 23
  'tests/e2e/infra.test.ts', // 21
  'tests/e2e/bundles.test.ts', // 21
  'tests/engine/engine.test.ts', // 20
  'tests/ops/store-full.test.ts', // 18
  'tests/engine/differential.test.ts', // 18
  'tests/jobs/shared-db.test.ts', // 16
  'tests/jobs/jobs.test.ts', // 16
  'tests/e2e/deployer-ui.test.ts', // 15
  'tests/e2e/vms.test.ts', // 14
  'tests/catalog/third-party.test.ts', // 14
  'tests/http/server.test.ts', // 13
  'tests/simulator/clients.test.ts', // 12
  'tests/ops/load.test.ts', // 12
  'tests/catalog/scenarios.test.ts', // 12
  'tests/catalog/bundles.test.ts', // 12
  'tests/engine/inline-tasks.test.ts', // 11
  'tests/ws/shared-status.test.ts', // 10
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
