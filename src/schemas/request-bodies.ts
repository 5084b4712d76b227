import * as bundles from './bundles.js';
import * as debug from './debug.js';
import * as proxmox from './proxmox.js';

/** A body schema as text, without its examples (a route may show another example: `withExample`). */
const shape = (schema: object) => JSON.stringify({ ...schema, examples: undefined });

/** The named request bodies: the exported `…Request` schemas, by their shape (the first name of a shape wins). */
const named = new Map<string, string>();
for (const module of [proxmox, debug, bundles]) {
  for (const [name, value] of Object.entries(module)) {
    if (name.endsWith('Request') && typeof value === 'object' && value !== null && !named.has(shape(value))) named.set(shape(value), name);
  }
}

/**
 * The name of a request body schema (`VmRequest`, …), also when a route shows it with another
 * example; undefined for a body of its own. The OpenAPI document shares a body several operations
 * take under this name (src/http/openapi-components.ts).
 */
export const requestBodyName = (schema: object): string | undefined => named.get(shape(schema));
