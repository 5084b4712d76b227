import os from 'node:os';

/**
 * The Host rule (ALLOWED_HOSTS), against DNS rebinding: a page of another site whose name is made
 * to resolve to this service reaches it with its own name in `Host` (and as its `Origin`), so the
 * browser treats the answers as same-origin and lets the page read them. A request naming a host
 * the service is not known by is refused before anything else runs, HTTP and WebSocket upgrades alike.
 *
 * Names are compared without the port and case-insensitively, a trailing dot ignored; IPv6
 * addresses with or without brackets. An entry `.example.com` allows `example.com` and every name
 * under it. `*` turns the check off (a gateway in front that rewrites or checks Host itself).
 */
export interface AllowedHosts {
  /** `*` was given: every Host passes the HTTP check. */
  any: boolean;
  /** The names known (the defaults plus ALLOWED_HOSTS), normalised; `.suffix` entries included. */
  names: readonly string[];
}

/** A Host header value (or an entry) as compared: lower case, port and brackets and trailing dot removed. */
export function hostName(value: string): string {
  let h = value.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h.slice(1);
  } else if (h.split(':').length === 2) {
    h = h.slice(0, h.indexOf(':'));
  }
  h = h.replace(/%.*$/, ''); // an IPv6 zone (fe80::1%eth0) is not part of a Host
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** The names the service is known by without configuration: loopback, the machine's name, its interface addresses. */
export function defaultHostNames(): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', hostName(os.hostname())]);
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) names.add(hostName(i.address));
  }
  return [...names].filter(Boolean);
}

/** ALLOWED_HOSTS parsed (comma-separated); an error text for an entry that is not a name or address. */
export function parseAllowedHosts(raw: string | undefined, defaults: readonly string[]): AllowedHosts | string {
  const names = new Set(defaults);
  let any = false;
  for (const entry of (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    if (entry === '*') {
      any = true;
      continue;
    }
    const name = entry.startsWith('.') ? `.${hostName(entry.slice(1))}` : hostName(entry);
    if (!/^\.?[a-z0-9_.:-]+$/.test(name) || name === '.' || /\/|@/.test(entry)) return `not a host name or address: ${JSON.stringify(entry)}`;
    names.add(name);
  }
  return { any, names: [...names] };
}

