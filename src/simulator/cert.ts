import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A self-signed certificate for the simulator, made once with the system's `openssl` and reused
 * from `certDir` afterwards (like pve-cluster's pve-ssl.pem, made at install time).
 */
export interface TlsMaterial {
  key: string;
  cert: string;
  certFile: string;
}

export function ensureCertificate(certDir: string, commonName = 'range42-sim'): TlsMaterial {
  const keyFile = path.join(certDir, 'pve-ssl.key');
  const certFile = path.join(certDir, 'pve-ssl.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    mkdirSync(certDir, { recursive: true, mode: 0o700 });
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-subj', `/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=${commonName}`,
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'ignore' });
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

/** SHA-256 fingerprint as `/nodes` prints it (`AB:CD:...`). */
export function fingerprint(certPem: string): string {
  const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHashHex(der).toUpperCase().match(/../g)!.join(':');
}

const createHashHex = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');
