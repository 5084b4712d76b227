#!/usr/bin/env node
// Production build (`npm run build`): src/ compiled by tsc into dist/ (or into the directory given
// as the only argument), plus the files src/ reads at run time that tsc does not emit, and the
// files of dev dependencies the service serves as they are (ReDoc's standalone bundle).
//
// tsc writes only what it compiles. The simulator's Proxmox schema (schema/pve-api.json) and seed
// (seed.json) are read from disk next to the modules that use them (readFileSync of
// new URL(..., import.meta.url)): the schema only when the simulator validates a request, the seed
// also as a path (the default state file). Importing them as JSON modules would make tsc emit
// them, but would load 360 KB at start for a service that may never run the simulator, and the
// seed would stop being a file. So they stay files, and this step copies them. The rule is "every
// file under src/ that is not TypeScript", not a list, so that a data file added later is shipped
// without anyone having to remember this script.
//
// Plain JavaScript on purpose: it runs before anything is compiled, with node alone.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'src');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'dist'));

// Emptied first: a module deleted from src/ must not live on in the image.
const relative = path.relative(outDir, root);
if (relative === '' || !relative.startsWith('..')) {
  process.stderr.write(`build: refusing to empty ${outDir}, it holds the project\n`);
  process.exit(2);
}
fs.rmSync(outDir, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });

let copied = 0;
for (const entry of fs.readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const from = path.join(entry.parentPath, entry.name);
  const to = path.join(outDir, path.relative(srcDir, from));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  copied++;
}
// Files of dev dependencies the service serves as they are: ReDoc's standalone bundle (and its
// licence notice) for /docs/redoc. The `redoc` package itself stays out of the production
// dependencies (it would bring ~100 packages to serve this one file); docs.ts reads the copy.
const require = createRequire(import.meta.url);
const assets = [
  ['redoc/bundles/redoc.standalone.js', 'http/redoc/redoc.standalone.js'],
  ['redoc/bundles/redoc.standalone.js.LICENSE.txt', 'http/redoc/redoc.standalone.js.LICENSE.txt'],
  ['redoc/LICENSE', 'http/redoc/LICENSE'],
];
for (const [from, to] of assets) {
  const target = path.join(outDir, to);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(require.resolve(from), target);
}

process.stdout.write(`build: ${path.relative(root, outDir) || outDir} compiled, ${copied} data file(s) and ${assets.length} asset(s) copied\n`);
