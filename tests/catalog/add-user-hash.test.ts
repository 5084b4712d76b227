import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/config/paths.js';

/**
 * The hash step of systems.configure.add_user (files/password-hash.pl, run by the role on the
 * controller), on its own: what it keeps and what it replaces, for current hashes written by the
 * tools an operator's guests may have used. The full role runs on a Debian chroot in
 * guest-bundles.test.ts; this covers the formats that file does not produce, in seconds.
 */

const SCRIPT = path.join(REPO_ROOT, 'roles', 'systems.configure.add_user', 'files', 'password-hash.pl');

/** The role's call: current hash, a newline, the password, on stdin. */
const hashFor = (current: string, password: string) => execFileSync('/usr/bin/perl', [SCRIPT], { input: `${current}\n${password}`, encoding: 'utf8' });
/** crypt(3) of the password with the hash as salt: the check login makes. */
const cryptWith = (password: string, salt: string) => execFileSync('/usr/bin/perl', ['-e', 'print crypt(shift, shift)', password, salt], { encoding: 'utf8' });
/** What Ansible's password_hash('sha512') makes on this machine (passlib when installed, else Python's crypt), without and with rounds=5000. */
const ansibleHashes = (password: string) => execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c',
  "import sys; from ansible.plugins.filter.core import get_encrypted_password as h; print(h(sys.argv[1], 'sha512')); print(h(sys.argv[1], 'sha512', rounds=5000))",
  password], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ANSIBLE_DEPRECATION_WARNINGS: 'False' } }).trim().split('\n');

/**
 * The role's own hashes cost 656000 rounds of SHA-512 each (about 0.3 s of CPU): made once here,
 * and as few times as the checks need.
 */
describe('systems.configure.add_user: the password hash', () => {
  const pw = 'Ch4nge-me. ünïcode';
  let ours = '';

  it('a new user gets a sha512-crypt hash of the password with a fresh salt', () => {
    ours = hashFor('', pw);
    expect(ours).toMatch(/^\$6\$rounds=656000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(cryptWith(pw, ours)).toBe(ours);
    expect(hashFor('', pw).split('$')[3]).not.toBe(ours.split('$')[3]);
  });

  it('the current hash is kept when it is this password, whatever made it', () => {
    const current = [
      ours,
      cryptWith(pw, '$6$saltsaltsaltsalt$'), // 5000 rounds, implicit (Python's crypt, chpasswd)
      cryptWith(pw, '$6$rounds=5000$saltsalt$'), // 5000 rounds, written out
      cryptWith(pw, '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$'), // yescrypt, as passwd writes it on Debian 12
      ...ansibleHashes(pw),
    ];
    for (const h of current) expect(hashFor(h, pw), h).toBe(h);
  });

  it('another password, a locked or an empty entry get a new hash', () => {
    for (const [entry, password] of [[ours, 'an0ther'], [`!${ours}`, pw], ['*', pw], ['!', pw]] as const) {
      const h = hashFor(entry, password);
      expect(h).toMatch(/^\$6\$rounds=656000\$/);
      expect(h.split('$')[3]).not.toBe(ours.split('$')[3]);
    }
  });

  it('takes the password as it is: newlines, trailing spaces, what a shell would expand', () => {
    const p = 'line one\nline two\n $HOME $_ ${PATH}  ';
    const h = hashFor('', p);
    expect(cryptWith(p, h)).toBe(h);
    expect(hashFor(h, p)).toBe(h);
  });
});
