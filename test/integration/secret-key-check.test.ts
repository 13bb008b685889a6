import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway-harness.ts';
import { dropSchema, postgresAvailable, uniqueSchema } from '../support/postgres.ts';

// Replicas on one database must share SWITCHYARD_SECRET_KEY: a gateway started
// on a database set up with another key refuses to start, instead of
// rejecting every key issued elsewhere.
const keyA = 'secret-key-check-a-0123456789abcdef0123456789';
const keyB = 'secret-key-check-b-0123456789abcdef0123456789';
const onPostgres = await postgresAvailable();

describe('the secret key a database was set up with', () => {
  it('SQLite: the same key starts again, another is refused with a message that says what to do', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-secret-check-'));
    try {
      const first = await startTestGateway({ dataDir, env: { SWITCHYARD_SECRET_KEY: keyA } });
      await first.stop();
      const again = await startTestGateway({ dataDir, env: { SWITCHYARD_SECRET_KEY: keyA } });
      await again.stop();
      await expect(startTestGateway({ dataDir, env: { SWITCHYARD_SECRET_KEY: keyB } })).rejects.toThrow(/different secret key.*SWITCHYARD_SECRET_KEY/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!onPostgres)('PostgreSQL: a second replica with its own key is refused while the first serves', async () => {
    const schema = uniqueSchema('sy_secret_check');
    const first = await startTestGateway({ postgresSchema: schema, env: { SWITCHYARD_SECRET_KEY: keyA } });
    try {
      await expect(startTestGateway({ postgresSchema: schema, env: { SWITCHYARD_SECRET_KEY: keyB } })).rejects.toThrow(/different secret key/);
      expect((await first.api('GET', '/api/v1/model-servers')).status).toBe(200);
    } finally {
      await first.stop();
      await dropSchema(schema);
    }
  });
});
