// npm audit against a reviewed allowlist: `node --import tsx scripts/audit.ts` (`npm run audit`).
// Runs `npm audit --json` over every dependency (the production ones are a subset, judged by the
// same rule, so a separate --omit=dev audit would add nothing) and fails on any advisory of
// severity moderate or above that audit-allowlist.json (`advisories`) does not list.
// Exit codes: 0 nothing unlisted, 1 unlisted advisories (listed on stderr), 2 the audit could not
// be made (no registry, or a registry without the audit endpoint) — never a silent pass.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AllowEntry {
  /** The advisory: its GHSA id (the end of the advisory URL npm prints). */
  id: string;
  package: string;
  /** Why it does not apply or cannot be fixed yet. */
  reason: string;
  /** YYYY-MM-DD of the last review. */
  reviewed: string;
}

export interface Advisory {
  id: string;
  package: string;
  severity: Severity;
  title: string;
  url: string;
}

/** The advisories of an `npm audit --json` report (lockfile v2/v3 format), one per id and package. */
export function advisoriesOf(report: unknown): Advisory[] {
  const vulns = (report as { vulnerabilities?: Record<string, { via?: unknown[] }> }).vulnerabilities ?? {};
  const out = new Map<string, Advisory>();
  for (const v of Object.values(vulns)) {
    for (const via of v.via ?? []) {
      if (!via || typeof via !== 'object') continue; // a name: the advisory is listed under that package
      const a = via as { source?: number; name?: string; title?: string; url?: string; severity?: string };
      const url = a.url ?? '';
      const id = /GHSA-[\w-]+$/.exec(url)?.[0] ?? String(a.source ?? url);
      const severity = (SEVERITIES as readonly string[]).includes(a.severity ?? '') ? (a.severity as Severity) : 'critical';
      out.set(`${id} ${a.name}`, { id, package: a.name ?? '?', severity, title: a.title ?? '', url });
    }
  }
  return [...out.values()];
}

/** Advisories at or above `threshold` that the allowlist does not cover, and allowlist entries nothing matched. */
export function evaluate(advisories: Advisory[], allowlist: AllowEntry[], threshold: Severity = 'moderate') {
  const min = SEVERITIES.indexOf(threshold);
  const listed = (a: Advisory) => allowlist.some((e) => e.id === a.id && e.package === a.package);
  const unlisted = advisories.filter((a) => SEVERITIES.indexOf(a.severity) >= min && !listed(a));
  const stale = allowlist.filter((e) => !advisories.some((a) => a.id === e.id && a.package === e.package));
  return { unlisted, stale };
}

/** Problems of the allowlist file itself (every entry needs an id, a package, a reason, a review date). */
export function checkAllowlist(entries: unknown): string[] {
  if (!Array.isArray(entries)) return ['`advisories` must be a JSON array'];
  const problems: string[] = [];
  entries.forEach((e: Partial<AllowEntry>, i) => {
    if (!/^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/.test(e?.id ?? '')) problems.push(`entry ${i}: id must be a GHSA id`);
    if (!e?.package) problems.push(`entry ${i}: package missing`);
    if (!e?.reason || e.reason.trim().length < 10) problems.push(`entry ${i}: a reason is required`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(e?.reviewed ?? '') || Number.isNaN(Date.parse(e!.reviewed!))) problems.push(`entry ${i}: reviewed must be YYYY-MM-DD`);
  });
  return problems;
}

function npmAudit(root: string): { report: unknown } | { error: string } {
  const args = ['audit', '--json'];
  const r = spawnSync('npm', args, { cwd: root, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.error) return { error: `npm ${args.join(' ')}: ${r.error.message}` };
  let report: { vulnerabilities?: unknown; message?: string; error?: { summary?: string } };
  try {
    report = JSON.parse(r.stdout) as typeof report;
  } catch {
    return { error: `npm ${args.join(' ')} printed no report (exit ${r.status}): ${r.stderr.trim().slice(0, 500)}` };
  }
  // npm exits 1 when it finds something; a report without `vulnerabilities` is an audit that failed.
  if (!report.vulnerabilities) return { error: `npm ${args.join(' ')}: ${report.message ?? report.error?.summary ?? 'no report'}` };
  return { report };
}

function main(): number {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const allowFile = path.join(root, 'audit-allowlist.json');
  const allowlist = (JSON.parse(fs.readFileSync(allowFile, 'utf8')) as { advisories: AllowEntry[] }).advisories;
  const problems = checkAllowlist(allowlist);
  if (problems.length > 0) {
    process.stderr.write(`audit-allowlist.json: ${problems.join('; ')}\n`);
    return 1;
  }
  const r = npmAudit(root);
  if ('error' in r) {
    process.stderr.write(`audit not made: ${r.error}\n`);
    return 2;
  }
  const unique = advisoriesOf(r.report);
  const { unlisted, stale } = evaluate(unique, allowlist);
  for (const e of stale) process.stdout.write(`allowlisted but no longer reported (remove it): ${e.id} ${e.package}\n`);
  const shown = unique.length - unlisted.length;
  if (unlisted.length > 0) {
    for (const a of unlisted) process.stderr.write(`UNLISTED ${a.severity} ${a.package} ${a.id}: ${a.title} ${a.url}\n`);
    process.stderr.write(`${unlisted.length} advisories of severity moderate or above are not in audit-allowlist.json: update the packages, or review and list them\n`);
    return 1;
  }
  process.stdout.write(`npm audit: ${unique.length} advisories, ${shown} allowlisted or below moderate, none unlisted\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) process.exit(main());
