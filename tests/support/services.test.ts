import fs from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { processesMatching } from '../helpers.js';
import { startPostgres, startRedis } from './services.js';

/** The throwaway servers of the test suite: they start, answer, stop and leave nothing behind. */

describe('test services', () => {
  it('a PostgreSQL of its own: password over TCP on 127.0.0.1, stopped and started again, then gone', async () => {
    const server = await startPostgres();
    const url = await server.createDatabase();
    expect(url).toMatch(/^postgresql:\/\/r42:[0-9a-f]+@127\.0\.0\.1:\d+\/r42_/);
    const query = async (u: string) => {
      const c = new pg.Client({ connectionString: u });
      await c.connect();
      try {
        return (await c.query<{ v: string }>('SELECT current_setting(\'server_version_num\') AS v')).rows[0]!.v;
      } finally {
        await c.end();
      }
    };
    expect(Number(await query(url))).toBeGreaterThanOrEqual(150000);
    await expect(query(url.replace(server.password, 'wrong'))).rejects.toThrow(/password authentication failed/);
    await server.stop();
    expect(server.running).toBe(false);
    await expect(query(url)).rejects.toThrow(/ECONNREFUSED/);
    await server.start();
    expect(Number(await query(url))).toBeGreaterThanOrEqual(150000);
    await server.close();
    expect(fs.existsSync(server.dir)).toBe(false);
    expect(processesMatching(server.dir)).toEqual([]);
  });

  it('a Redis of its own answers PING (ioredis), keeps nothing on disk, and is gone after close', async () => {
    const server = await startRedis();
    const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    expect(await redis.config('GET', 'save')).toEqual(['save', '']);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    redis.disconnect();
    await server.close();
    expect(processesMatching(`127.0.0.1:${server.port}`)).toEqual([]);
  });
});
