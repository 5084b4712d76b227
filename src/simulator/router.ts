import type { Handler } from './handlers/types.js';

/**
 * Path templates of the `/api2/json` tree mapped to handlers. A template segment `{x}` matches one
 * path segment; a template ending in `{x*}` hands the rest of the path (slashes included) to `x`,
 * as Proxmox does for storage volumes and ipset CIDRs.
 */
export interface RouteEntry {
  method: string;
  /** The template as the API schema spells it, e.g. `/nodes/{node}/qemu/{vmid}/status/current`. */
  template: string;
  handler: Handler;
}

interface Compiled extends RouteEntry {
  segments: string[];
  rest: string | null;
}

export interface RouteMatch {
  entry: RouteEntry;
  uriParams: Record<string, string>;
}

export class Router {
  private readonly byLength = new Map<number, Compiled[]>();
  private readonly restRoutes: Compiled[] = [];
  readonly entries: RouteEntry[] = [];

  add(method: string, template: string, handler: Handler): void {
    const raw = template.split('/').filter(Boolean);
    const last = raw[raw.length - 1] ?? '';
    const rest = last.endsWith('*}') ? last.slice(1, -2) : null;
    const segments = rest ? raw.slice(0, -1) : raw;
    const schemaTemplate = rest ? `/${[...segments, `{${rest}}`].join('/')}` : `/${raw.join('/')}`;
    const compiled: Compiled = { method, template: schemaTemplate, handler, segments, rest };
    this.entries.push(compiled);
    if (rest) this.restRoutes.push(compiled);
    else {
      const list = this.byLength.get(segments.length) ?? [];
      list.push(compiled);
      this.byLength.set(segments.length, list);
    }
  }

  /** Finds the route for already unescaped path segments; `undefined` means 501. */
  match(method: string, parts: string[]): RouteMatch | undefined {
    for (const route of this.byLength.get(parts.length) ?? []) {
      if (route.method !== method) continue;
      const params = bind(route.segments, parts);
      if (params) return { entry: route, uriParams: params };
    }
    for (const route of this.restRoutes) {
      if (route.method !== method || parts.length <= route.segments.length) continue;
      const params = bind(route.segments, parts.slice(0, route.segments.length));
      if (params) {
        params[route.rest!] = parts.slice(route.segments.length).join('/');
        return { entry: route, uriParams: params };
      }
    }
    return undefined;
  }
}

function bind(template: string[], parts: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    if (t.startsWith('{')) params[t.slice(1, -1)] = parts[i]!;
    else if (t !== parts[i]) return null;
  }
  return params;
}
