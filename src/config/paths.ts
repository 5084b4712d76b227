import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (this file lives in src/config/ or dist/config/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
