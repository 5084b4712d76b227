// Rewrites the README's Configuration table from the environment schema: `npm run config-table`.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config/paths.js';
import { withTable } from '../src/config/readme-table.js';

const readme = path.join(REPO_ROOT, 'README.md');
const before = fs.readFileSync(readme, 'utf8');
const after = withTable(before);
if (after !== before) fs.writeFileSync(readme, after);
console.log(after === before ? 'README.md: configuration table up to date' : 'README.md: configuration table rewritten');
