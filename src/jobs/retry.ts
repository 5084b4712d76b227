/**
 * Store writes that fail (a full disk: SQLITE_FULL, a database another process holds past the busy
 * timeout, an I/O error) often succeed a moment later. A few retries with growing pauses; the last
 * error is thrown when they are used up, and the caller decides what a job does without its record.
 */
const STORE_RETRY_DELAYS_MS: readonly number[] = [50, 200, 500, 1000, 2000];

export async function retrying<T>(write: () => Promise<T>, delaysMs: readonly number[] = STORE_RETRY_DELAYS_MS): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const pause = delaysMs[attempt];
      if (pause === undefined) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** The error's code and message in one line, for a job's reason and the log. */
export function describeStoreError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}
