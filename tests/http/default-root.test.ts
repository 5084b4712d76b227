import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';

describe('the service with no configuration at all', () => {
  it('uses the repository defaults and answers ping on the default inventory', async () => {
    const app = await createApp(loadConfig({ PATH: process.env.PATH, HOME: process.env.HOME }), { logger: false });
    const r = await app.inject({ method: 'POST', url: '/v0/admin/debug/ping', payload: { proxmox_node: 'px-testing', hosts: 'px-testing' } });
    expect(r.statusCode).toBe(200);
    expect(r.json().log_multiline).toContain('ok: [px-testing]');
    await app.close();
  });
});
