import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../storage/database-schema.ts';

const settingKey = 'secret_key_check';

/**
 * Refuses to start on a database set up with another SWITCHYARD_SECRET_KEY.
 * Replicas share one database; one with its own key (say, generated in its
 * own data dir) would reject every key issued elsewhere and could not read the
 * servers' stored API keys. The database keeps a check value derived from
 * the key-hash key (an HMAC of a constant: it reveals nothing of the key),
 * written by the first start.
 */
export async function assertSameSecretKey(db: Kysely<DatabaseSchema>, hashKey: Buffer): Promise<void> {
  const check = createHmac('sha256', hashKey).update('switchyard/secret-key-check/v1').digest('hex');
  await db
    .insertInto('settings')
    .values({ key: settingKey, value: check, updated_at: new Date().toISOString() })
    .onConflict((conflict) => conflict.column('key').doNothing())
    .execute();
  const stored = await db.selectFrom('settings').select('value').where('key', '=', settingKey).executeTakeFirst();
  if (stored !== undefined && stored.value !== check) {
    throw new Error(
      'This database was set up with a different secret key. Every replica on one database needs the same SWITCHYARD_SECRET_KEY (or the same secret.key file): with another, issued keys are rejected and stored server API keys cannot be read.',
    );
  }
}
