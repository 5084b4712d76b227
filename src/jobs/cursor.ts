import { InvalidCursorError } from '../errors.js';

/** Keyset pagination: a page ends at (created_at, id); the cursor is that pair, base64url-encoded. */

export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`, 'utf8').toString('base64url');
}

/** The pair, or null for no cursor; throws on a cursor this service did not make. */
export function decodeCursor(cursor: string | null | undefined): { createdAt: number; id: string } | null {
  if (!cursor) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,16}):([A-Za-z0-9-]{1,64})$/.exec(text);
  if (!m) throw new InvalidCursorError(cursor);
  return { createdAt: Number(m[1]), id: m[2]! };
}
