/**
 * A refusal the HTTP layer makes on purpose (a route's own checks: a field, a missing path): a
 * status, the `detail` body the original API sends, and optional headers. Refusals of the domain
 * are DomainErrors (src/errors.ts), mapped to the wire by the error handler (./errors.ts).
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
