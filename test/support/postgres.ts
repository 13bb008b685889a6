import pg from 'pg';

const url = process.env['SWITCHYARD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
let availability: Promise<boolean> | null = null;

/**
 * The PostgreSQL the machine provides (127.0.0.1:5432, database `test`).
 * Without it, PostgreSQL tests skip with a loud message, except under
 * CI=true, where an unreachable database fails the run.
 */
export function postgresAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (error) {
      if (process.env['CI'] === 'true') {
        throw new Error(`PostgreSQL at ${url} is unreachable and CI=true: ${(error as Error).message}`);
      }
      process.stderr.write(`\n*** PostgreSQL at ${url} is unreachable: PostgreSQL tests are SKIPPED ***\n\n`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

export const postgresUrl = url;

/** A fresh schema name per test file, dropped afterwards: migrations run from empty every time. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** One statement on the machine's PostgreSQL (create or drop a database of a test's own). */
export async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
