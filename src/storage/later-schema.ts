import { sql, type Kysely } from 'kysely';
import type { DatabaseSchema } from './database-schema.ts';

/**
 * Migrations the database has run that this code does not know: a later
 * release migrated it (a rolling upgrade under way, or a rollback). Migrations
 * only ever add (decision 0006: expand now, contract in a later release), so
 * this code runs on such a schema as it is; Kysely's migrator would instead
 * refuse to start ("previously executed migration … is missing").
 */
export async function migrationsFromLaterRelease(db: Kysely<DatabaseSchema>, known: readonly string[], schema: string | undefined): Promise<string[]> {
  const table = schema === undefined ? sql.table('kysely_migration') : sql.table(`${schema}.kysely_migration`);
  let ran: string[];
  try {
    ran = (await sql<{ name: string }>`select name from ${table}`.execute(db)).rows.map((row) => row.name);
  } catch {
    // No migration table yet: a new database.
    return [];
  }
  const ours = new Set(known);
  return ran.filter((name) => !ours.has(name)).sort();
}
