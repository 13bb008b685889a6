import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { describeRedisTarget, parseRedisUrl } from '../../src/storage/redis-connection.ts';

describe('REDIS_URL forms', () => {
  it('a single Redis, as before', () => {
    expect(parseRedisUrl('redis://:secret@cache:6380/2')).toEqual({ mode: 'single', url: 'redis://:secret@cache:6380/2' });
    expect(describeRedisTarget(parseRedisUrl('rediss://user:secret@cache:6380/2'))).toBe('rediss://cache:6380/2');
  });

  it('Sentinels: hosts, the primary\'s name, the database, passwords for Redis and for the Sentinels', () => {
    expect(parseRedisUrl('redis+sentinel://:p%40ss@s1:26379,s2,[::1]:26380/mymaster/3?sentinel_password=sp')).toEqual({
      mode: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: '::1', port: 26380 }],
      name: 'mymaster',
      db: 3,
      tls: false,
      password: 'p@ss',
      sentinelPassword: 'sp',
    });
    expect(parseRedisUrl('rediss+sentinel://s1:26379/main')).toMatchObject({ mode: 'sentinel', name: 'main', db: 0, tls: true });
    expect(describeRedisTarget(parseRedisUrl('redis+sentinel://:secret@s1:26379,s2:26379/main'))).toBe('sentinel s1:26379,s2:26379 (primary main, db 0)');
  });

  it('a Cluster from any of its nodes', () => {
    expect(parseRedisUrl('redis+cluster://app:pw@n1:7000,n2:7001')).toEqual({ mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], tls: false, username: 'app', password: 'pw' });
    expect(describeRedisTarget(parseRedisUrl('redis+cluster://app:pw@n1:7000,n2:7001'))).toBe('cluster n1:7000,n2:7001');
  });

  it('refuses what it cannot read, with a message that shows the forms and no secret', () => {
    expect(() => parseRedisUrl('redis+sentinel://:secret@s1:26379')).toThrow(/must name the primary/);
    expect(() => parseRedisUrl('redis+cluster://:secret@n1:notaport')).toThrow(/cannot read/);
    expect(() => parseRedisUrl('memcached://x')).toThrow(/redis\+sentinel:\/\/host:26379/);
    try {
      parseRedisUrl('redis+sentinel://:topsecret@s1:26379');
    } catch (error) {
      expect(String(error)).not.toContain('topsecret');
    }
  });

  it('the config takes the three forms, and SWITCHYARD_REDIS_FAILURE_MODE before the older name', () => {
    expect(loadConfig({ env: { REDIS_URL: 'redis+sentinel://s1:26379/main' } }).config.redis_url).toBe('redis+sentinel://s1:26379/main');
    expect(loadConfig({ env: { REDIS_URL: 'redis+cluster://n1:7000' } }).config.redis_url).toBe('redis+cluster://n1:7000');
    expect(loadConfig({ env: { SWITCHYARD_REDIS_FAILURE_MODE: 'closed' } }).config.quota.on_backend_error).toBe('closed');
    expect(loadConfig({ env: { SWITCHYARD_QUOTA_ON_BACKEND_ERROR: 'closed' } }).config.quota.on_backend_error).toBe('closed');
    expect(loadConfig({ env: { SWITCHYARD_REDIS_FAILURE_MODE: 'open', SWITCHYARD_QUOTA_ON_BACKEND_ERROR: 'closed' } }).config.quota.on_backend_error).toBe('open');
    expect(loadConfig({ env: {} }).config.quota.on_backend_error).toBe('open');
    // A Sentinel URL without the primary's name stops the start with the setting's name, not later with a stack.
    expect(() => loadConfig({ env: { REDIS_URL: 'redis+sentinel://:pw@s1:26379' } })).toThrow(/Invalid setting REDIS_URL: .*must name the primary/);
  });
});
