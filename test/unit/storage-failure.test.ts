import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isPostgresFailure, isSqliteFailure } from '../../src/storage/storage-failure.ts';

function databaseError(code: string): pg.DatabaseError {
  const error = new pg.DatabaseError('server said no', 0, 'error');
  error.code = code;
  return error;
}

function withCode(code: string): Error {
  return Object.assign(new Error('sqlite said no'), { code });
}

describe('telling "storage is away" from a bad statement', () => {
  it('counts PostgreSQL connection loss, shutdown, resource and I/O states as unavailable, by SQLSTATE', () => {
    for (const code of ['08006', '08001', '57P01', '57P02', '57P03', '53300', '53100', '58030']) expect(isPostgresFailure(databaseError(code)), code).toBe(true);
  });

  it('passes constraint, syntax and permission errors through: those are not outages', () => {
    for (const code of ['23505', '23503', '42601', '42P01', '42501', '57014']) expect(isPostgresFailure(databaseError(code)), code).toBe(false);
  });

  it('counts pg errors the server did not report (a dropped connection, a socket errno) as unavailable, but not programming errors', () => {
    expect(isPostgresFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isPostgresFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isPostgresFailure(new TypeError('not a function'))).toBe(false);
    expect(isPostgresFailure('a string')).toBe(false);
  });

  it('counts SQLite busy, locked, I/O, full and corrupt results as unavailable, with their extended codes', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_IOERR_WRITE', 'SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_CORRUPT']) expect(isSqliteFailure(withCode(code)), code).toBe(true);
    for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_MISMATCH', 'SQLITE_BUSYNESS']) expect(isSqliteFailure(withCode(code)), code).toBe(false);
  });
});
