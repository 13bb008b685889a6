import { Redis } from 'ioredis';

export const redisUrl = process.env['SWITCHYARD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
let availability: Promise<boolean> | null = null;

/** The Redis the machine provides; tests skip loudly without it, except under CI=true where that fails. */
export function redisAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch (error) {
      if (process.env['CI'] === 'true') throw new Error(`Redis at ${redisUrl} is unreachable and CI=true: ${(error as Error).message}`);
      process.stderr.write(`\n*** Redis at ${redisUrl} is unreachable: Redis tests are SKIPPED ***\n\n`);
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return availability;
}
