import { decodeCursor, encodeCursor } from './cursor.js';
import { isFinal, type IdempotencyClaim, type InsertOutcome, type JobEvent, type JobFilter, type JobPage, type JobPatch, type JobRecord, type JobStore } from './types.js';

const clone = <T>(v: T): T => structuredClone(v);

/**
 * Jobs in memory (`JOBS_STORE=memory`): nothing survives a restart. For throw-away instances
 * (the OpenAPI generator) and as the reference implementation of the JobStore contract.
 */
export class MemoryJobStore implements JobStore {
  readonly kind = 'memory';
  private readonly jobs = new Map<string, JobRecord>();
  private readonly events = new Map<string, JobEvent[]>();

  async insertJob(job: JobRecord, idem?: IdempotencyClaim): Promise<InsertOutcome> {
    if (idem) {
      const existing = await this.findByIdempotencyKey(idem.key, idem.since);
      if (existing) return { inserted: false, existing };
    }
    this.jobs.set(job.id, clone(job));
    this.events.set(job.id, []);
    return { inserted: true };
  }

  async updateJob(id: string, patch: JobPatch): Promise<void> {
    const job = this.jobs.get(id);
    // A job in a final state is never written again.
    if (!job || isFinal(job.status)) return;
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) (job as unknown as Record<string, unknown>)[k] = clone(v);
  }

  async deleteJob(id: string): Promise<void> {
    this.jobs.delete(id);
    this.events.delete(id);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const job = this.jobs.get(id);
    return job ? clone(job) : null;
  }

  async findByIdempotencyKey(key: string, since: number): Promise<JobRecord | null> {
    let best: JobRecord | null = null;
    for (const j of this.jobs.values()) {
      if (j.idempotency_key === key && j.created_at > since && (!best || j.created_at > best.created_at)) best = j;
    }
    return best ? clone(best) : null;
  }

  private sorted(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async listJobs(filter: JobFilter): Promise<JobPage> {
    const matches = this.sorted().filter((j) => {
      if (filter.status && filter.status.length > 0 && !filter.status.includes(j.status)) return false;
      if (filter.operation && j.operation !== filter.operation) return false;
      if (filter.vmid !== undefined) return j.targets.some((t) => t.vmid === filter.vmid && (!filter.node || t.node === filter.node));
      if (filter.node) return j.node === filter.node || j.targets.some((t) => t.node === filter.node);
      return true;
    });
    const cursor = decodeCursor(filter.cursor);
    const after = cursor ? matches.filter((j) => j.created_at < cursor.createdAt || (j.created_at === cursor.createdAt && j.id < cursor.id)) : matches;
    const jobs = after.slice(0, filter.limit).map(clone);
    const last = jobs[jobs.length - 1];
    return { jobs, total: matches.length, next_cursor: after.length > filter.limit && last ? encodeCursor(last.created_at, last.id) : null };
  }

  async appendEvents(jobId: string, events: readonly JobEvent[]): Promise<void> {
    const list = this.events.get(jobId);
    const job = this.jobs.get(jobId);
    if (!list || !job || isFinal(job.status)) return;
    for (const e of events) if (e.seq > (list[list.length - 1]?.seq ?? 0)) list.push(clone(e));
    job.event_count = Math.max(job.event_count, list[list.length - 1]?.seq ?? 0);
  }

  async readEvents(jobId: string, afterSeq: number, limit = 100_000): Promise<JobEvent[]> {
    return (this.events.get(jobId) ?? []).filter((e) => e.seq > afterSeq).slice(0, limit).map(clone);
  }

  async unfinishedJobs(): Promise<JobRecord[]> {
    return [...this.jobs.values()].filter((j) => !isFinal(j.status)).map(clone);
  }

  async prune(opts: { before: number; keep: number }): Promise<number> {
    const finished = this.sorted().filter((j) => isFinal(j.status));
    let n = 0;
    finished.forEach((j, i) => {
      if (j.created_at < opts.before || i >= opts.keep) {
        this.jobs.delete(j.id);
        this.events.delete(j.id);
        n++;
      }
    });
    return n;
  }

  async close(): Promise<void> {
    // nothing to release
  }
}
