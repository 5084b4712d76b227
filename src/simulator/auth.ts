import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PveError } from './errors.js';
import type { User } from './model/types.js';

/**
 * Authentication as pve-access-control does it: tickets (`PVEAuthCookie` + `CSRFPreventionToken`
 * on writes) and API tokens (`Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`). The simulator
 * signs tickets with its own random key; clients only observe their shape and time prefix.
 * Permissions (ACLs) are not modelled: every authenticated principal may do everything, except
 * what Proxmox refuses to tokens outright.
 */

const TICKET_LIFETIME_S = 7200;

export interface Principal {
  /** `user@realm` or, for tokens, `user@realm!tokenid` (what UPIDs and root-only checks see). */
  id: string;
  userid: string;
  kind: 'ticket' | 'token';
}

/** Auth-stage failures carry no body: Proxmox answers them with an empty reply. */
export class AuthError extends PveError {
  constructor(status: 401 | 403, message: string) {
    super(status, message);
  }
}

const hex8 = (t: number) => t.toString(16).toUpperCase().padStart(8, '0');

export class Authenticator {
  private readonly key = randomBytes(32);

  constructor(private readonly users: () => User[]) {}

  /** `POST /access/ticket`: a password or a still valid ticket of the same user. */
  login(username: string, password: string, realm?: string): { ticket: string; csrf: string; userid: string } {
    const userid = realm && !username.includes('@') ? `${username}@${realm}` : username;
    const user = this.users().find((u) => u.userid === userid);
    const renewal = password.startsWith('PVE:') && this.verifyTicket(password) === userid;
    if (!user || user.enable === 0 || (!renewal && (user.password === undefined || !same(user.password, password)))) {
      throw new PveError(401, 'authentication failure');
    }
    const now = Math.floor(Date.now() / 1000);
    return { ticket: this.makeTicket(userid, now), csrf: this.makeCsrf(userid, now), userid };
  }

  /** `csrfExempt`: the multipart upload, whose browser form cannot send the CSRF header (pve-manager HTTPServer.pm). */
  authenticate(headers: Record<string, string | string[] | undefined>, method: string, csrfExempt = false): Principal {
    const authorization = headerValue(headers.authorization);
    if (authorization?.startsWith('PVEAPIToken')) return this.token(authorization);
    const ticket = cookieTicket(headerValue(headers.cookie)) ?? cookieTicket(authorization);
    if (!ticket) throw new AuthError(401, 'No ticket');
    const userid = this.verifyTicket(ticket);
    if (!userid) throw new AuthError(401, 'Authentication failed!');
    if (method !== 'GET' && !csrfExempt && !this.verifyCsrf(headerValue(headers.csrfpreventiontoken), userid)) {
      throw new AuthError(401, 'Permission denied - invalid csrf token');
    }
    return { id: userid, userid, kind: 'ticket' };
  }

  private token(header: string): Principal {
    // `PVEAPIToken=user@realm!name=secret`; a space may replace the first '='; split at the last '='.
    const value = decodeSafe(header.slice('PVEAPIToken'.length + 1).trim());
    const eq = value.lastIndexOf('=');
    const tokenId = eq > 0 ? value.slice(0, eq) : '';
    const secret = eq > 0 ? value.slice(eq + 1) : '';
    const bang = tokenId.indexOf('!');
    const userid = bang > 0 ? tokenId.slice(0, bang) : '';
    const name = tokenId.slice(bang + 1);
    const user = this.users().find((u) => u.userid === userid);
    const token = user?.tokens?.find((t) => t.id === name);
    const expired = token?.expire !== undefined && token.expire > 0 && token.expire < Date.now() / 1000;
    if (!user || user.enable === 0 || !token || expired || !same(token.secret, secret)) {
      throw new AuthError(401, 'Authentication failed!');
    }
    return { id: tokenId, userid, kind: 'token' };
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64');
  }

  private makeTicket(userid: string, time: number): string {
    const plain = `PVE:${userid.replace(/:/g, '%3A')}:${hex8(time)}`;
    return `${plain}::${this.sign(plain)}`;
  }

  private makeCsrf(userid: string, time: number): string {
    return `${hex8(time)}:${this.sign(`${hex8(time)}:${userid}`).replace(/=+$/, '')}`;
  }

  /** The user id of a valid, unexpired ticket, or null. */
  verifyTicket(ticket: string): string | null {
    const m = /^(PVE:([^:]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
    if (!m || !same(this.sign(m[1]!), m[4]!)) return null;
    return fresh(parseInt(m[3]!, 16)) ? m[2]!.replace(/%3A/g, ':') : null;
  }

  private verifyCsrf(token: string | undefined, userid: string): boolean {
    const m = token ? /^([0-9A-F]{8}):(.+)$/.exec(token) : null;
    if (!m) return false;
    return fresh(parseInt(m[1]!, 16)) && same(this.sign(`${m[1]}:${userid}`).replace(/=+$/, ''), m[2]!);
  }
}

function fresh(time: number): boolean {
  const age = Date.now() / 1000 - time;
  return age > -300 && age < TICKET_LIFETIME_S;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function cookieTicket(cookie: string | undefined): string | null {
  const m = cookie ? /(?:^|;\s*)PVEAuthCookie=([^;]*)/.exec(cookie) : null;
  return m ? decodeSafe(m[1]!) : null;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
