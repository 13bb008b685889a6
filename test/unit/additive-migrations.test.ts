import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Replicas of the previous release keep serving while a new one migrates their
// database (decision 0031): a migration may add, never take away or change
// what a running release reads and writes. Contracting (dropping what no
// release uses any more) is a later release's migration, named as such here.
const folder = fileURLToPath(new URL('../../src/storage/migrations/', import.meta.url));
const destructive = /\b(dropColumn|dropTable|renameColumn|renameTo|alterColumn|modifyColumn|dropConstraint|setDataType|dropNotNull)\b|\b(drop|rename|alter)\s+(table|column)\b|\bsetNotNull\b/i;
// Migrations allowed to contract, each with what no release since reads.
const contractions: Record<string, string> = {};

describe('migrations', () => {
  it('only add (expand), so a release older by one keeps working on the migrated schema', () => {
    const offending = readdirSync(folder)
      .filter((file) => /^\d{4}-.*\.ts$/.test(file) && contractions[file] === undefined)
      .filter((file) => {
        // `down` is never run in production; and comments say what, not do.
        const code = readFileSync(join(folder, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        return destructive.test(code.split(/async\s+down\s*\(/)[0] ?? code);
      });
    expect(offending).toEqual([]);
  });

  it('a column added NOT NULL has a default, so the older release\'s inserts (which do not name it) still go in', () => {
    const offending: string[] = [];
    for (const file of readdirSync(folder).filter((name) => /^\d{4}-.*\.ts$/.test(name) && name !== '0001-initial-schema.ts')) {
      const code = readFileSync(join(folder, file), 'utf8');
      // Columns added to existing tables (a new table's columns are only written by the release that made it).
      for (const altered of code.matchAll(/alterTable\(([^)]*)\)([\s\S]*?)\.execute\(\)/g)) {
        for (const column of (altered[2] ?? '').split('.addColumn(').slice(1)) {
          if (/notNull\(\)/.test(column) && !/defaultTo\(/.test(column)) offending.push(`${file}: ${altered[1]} ${column.slice(0, 60)}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});
