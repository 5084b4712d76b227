import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

/**
 * A self-signed certificate for the simulator, made once (with the `selfsigned` package: an RSA
 * 2048 key, SHA-256, ten years, the subject and names pve-cluster gives pve-ssl.pem) and reused
 * from `certDir` afterwards (like pve-cluster's pve-ssl.pem, made at install time).
 */
export interface TlsMaterial {
  key: string;
  cert: string;
  certFile: string;
}

export async function ensureCertificate(certDir: string, commonName = 'range42-sim'): Promise<TlsMaterial> {
  const keyFile = path.join(certDir, 'pve-ssl.key');
  const certFile = path.join(certDir, 'pve-ssl.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    mkdirSync(certDir, { recursive: true, mode: 0o700 });
    const notBeforeDate = new Date();
    const notAfterDate = new Date(notBeforeDate.getTime() + 3650 * 86_400_000);
    const pems = await generate(
      [
        { shortName: 'OU', value: 'PVE Cluster Node' },
        { shortName: 'O', value: 'Proxmox Virtual Environment' },
        { shortName: 'CN', value: commonName },
      ],
      {
        keyType: 'rsa',
        keySize: 2048,
        algorithm: 'sha256',
        notBeforeDate,
        notAfterDate,
        extensions: [
          { name: 'basicConstraints', cA: true },
          { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
        ],
      },
    );
    // Each file written whole, then renamed: two simulators starting at once never read half a key.
    const put = (file: string, data: string, mode: number) => {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, data, { mode });
      renameSync(tmp, file);
    };
    put(keyFile, pems.private, 0o600);
    put(certFile, pems.cert, 0o644);
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

/** SHA-256 fingerprint as `/nodes` prints it (`AB:CD:...`). */
export function fingerprint(certPem: string): string {
  const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHashHex(der).toUpperCase().match(/../g)!.join(':');
}

const createHashHex = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');
