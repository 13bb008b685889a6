import pg from 'pg';
import { AppError } from '../errors/app-error.ts';

/**
 * Whether an error from a database driver means storage is unreachable or
 * unusable right now (retrying later can help), as opposed to a bad statement
 * or a constraint. Decided by class and code, never by message text.
 */
export function isPostgresFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof pg.DatabaseError) return isUnavailableSqlState(error.code);
  // pg raises connection losses ("connection terminated unexpectedly", a connect
  // timeout, a client that is no longer queryable) as errors without a code, and
  // socket errors with an errno code: everything pg throws that the server did
  // not report, and that is not a programming error, is a transport failure.
  return !(error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError);
}

/**
 * SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and
 * 58 (system / I/O error), and 57P01-57P03 (shutdown, crash, still starting).
 */
function isUnavailableSqlState(code: string | undefined): boolean {
  if (code === undefined) return false;
  return code.startsWith('08') || code.startsWith('53') || code.startsWith('58') || code === '57P01' || code === '57P02' || code === '57P03';
}

const unavailableSqliteCodes = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PROTOCOL', 'SQLITE_CORRUPT', 'SQLITE_NOTADB'];

/** better-sqlite3 reports extended codes, such as SQLITE_IOERR_WRITE or SQLITE_BUSY_SNAPSHOT. */
export function isSqliteFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && unavailableSqliteCodes.some((prefix) => code === prefix || code.startsWith(`${prefix}_`));
}

/**
 * Whether an error means storage is unreachable or unusable right now: the
 * guarded drivers' SY_STORAGE_UNAVAILABLE, or a raw SQLite failure from the
 * connection the usage recorder writes through directly.
 */
export function isStorageUnavailable(error: unknown): boolean {
  if (error instanceof AppError) return error.code === 'SY_STORAGE_UNAVAILABLE';
  return isSqliteFailure(error);
}
