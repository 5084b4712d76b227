import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp } from '../../src/app.js';
import { testConfig } from '../helpers.js';

describe('/ws/vm-status without Proxmox credentials', () => {
  it('sends the error message, then closes normally', async () => {
    const app = await createApp(testConfig(), { logger: false });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/vm-status?node=px-testing`);
    const messages: unknown[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(String(m))));
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(code).toBe(1000);
    expect(messages).toEqual([{ error: 'Proxmox credentials not found in backend inventory' }]);
    await app.close();
  });
});
