// Regenerates the committed openapi.json from the code: `npm run openapi`.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config/paths.js';
import { buildOpenApiDocument } from '../src/http/openapi.js';

const target = path.join(REPO_ROOT, 'openapi.json');
fs.writeFileSync(target, await buildOpenApiDocument());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
