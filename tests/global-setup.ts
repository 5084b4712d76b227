import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Once per vitest run: a directory where the end-to-end files record the operations their
 * service answered (tests/e2e/served.ts), read by tests/e2e/coverage.test.ts; removed at the end.
 */
export default function setup(project: TestProject): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r42-served-'));
  project.provide('servedDir', dir);
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    servedDir: string;
  }
}
