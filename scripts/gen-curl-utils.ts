// Writes curl_utils/<operationId>.sh, one script per documented operation, with the example body
// of its schema: `npm run curl-utils`. Each script takes its base URL from R42_API_URL.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/config/paths.js';
import { routeTable } from '../src/routes/table.js';

const dir = path.join(REPO_ROOT, 'curl_utils');
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir);

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
let count = 0;
for (const def of routeTable) {
  if (def.hidden) continue;
  const example = (def.body as { examples?: unknown[] } | undefined)?.examples?.[0];
  const url = def.url.replace(':bundles_name', 'core%2Fproxmox%2Fconfigure%2Fdefault%2Fvms%2Fsnapshot%2Fcreate-vms-vuln').replace(':scenario_name', 'debug_scenario');
  const lines = [
    '#!/usr/bin/env bash',
    `# ${def.summary} — ${def.method} ${def.url}`,
    '# Usage: R42_API_URL=http://localhost:8000 ./' + `${def.operationId}.sh [json-body]`,
    '# (R42_CURL_WRITE_OUT, e.g. "\\n%{http_code}", is passed to curl -w: the test suite reads the status that way)',
    'set -euo pipefail',
    `body=\${1:-${shellQuote(JSON.stringify(example ?? {}))}}`,
    `curl -sS --fail-with-body \${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X ${def.method} "\${R42_API_URL:-http://localhost:8000}${url}" \\`,
    "  -H 'content-type: application/json' -d \"$body\"",
    'echo',
  ];
  if (!def.body) lines.splice(4, 1, 'body=${1:-}');
  fs.writeFileSync(path.join(dir, `${def.operationId}.sh`), `${lines.join('\n')}\n`, { mode: 0o755 });
  count++;
}
console.log(`wrote ${count} scripts to curl_utils/`);
