/**
 * The service's error catalogue. Every refusal the API makes on purpose is an ApiError:
 * a status, the `detail` body the original API sends, and optional headers.
 * Anything else reaching the error handler is a bug and answers a generic JSON 500.
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, detail: unknown, headers: Record<string, string> = {}) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.detail = detail;
    this.headers = headers;
  }
}

/** The run queue is full: the caller should come back later. */
export class QueueFullError extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(503, ':: err - RUN QUEUE FULL, retry later', { 'retry-after': String(retryAfterSeconds) });
    this.name = 'QueueFullError';
  }
}

/** The engine is shutting down and accepts no new run. */
export class EngineClosedError extends ApiError {
  constructor() {
    super(503, ':: err - SERVICE SHUTTING DOWN', { 'retry-after': '5' });
    this.name = 'EngineClosedError';
  }
}

/** A configuration problem found at startup; its message is the one line printed before exiting. */
export class ConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`configuration error: ${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/**
 * Python's repr() of a str, which the original API uses inside some messages
 * (e.g. `INVALID ACTION NAME FORMAT '<name>'`), so clients matching on them keep working.
 */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + quote;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else out += ch;
  }
  return quote + out + quote;
}
