import { openDatabase, type Database, type OpenDatabaseOptions } from './open-database.ts';
import { isPostgresFailure, isStorageUnavailable } from './storage-failure.ts';

export interface StorageWait {
  /** Told once, on the first failed attempt: the gateway starts answering as "starting" then. */
  onUnreachable(error: Error): Promise<void> | void;
  /** Told on every failed attempt, with the delay before the next one. */
  onRetry(error: Error, attempt: number, delayMs: number): void;
  /** Delays between attempts: doubling from the first to the last, then staying there. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** The pause between attempts (tests inject one that needs no real time). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Opens storage, waiting for it when PostgreSQL cannot be reached (down, still
 * starting, not resolvable yet): a replica restarted during a database outage
 * must come up by itself when the database does, with its usage spool intact,
 * instead of exiting and being restarted in a loop (decision 0034). Anything
 * else (a wrong password, a missing database, a failed migration) still stops
 * the start: waiting cannot fix it.
 */
export async function openDatabaseWhenReachable(options: OpenDatabaseOptions, wait: StorageWait): Promise<Database> {
  const firstDelayMs = wait.firstDelayMs ?? 250;
  const maxDelayMs = wait.maxDelayMs ?? 5_000;
  const sleep = wait.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await openDatabase(options);
    } catch (error) {
      if (options.databaseUrl === undefined || !(error instanceof Error) || !isUnreachable(error)) throw error;
      if (attempt === 1) await wait.onUnreachable(error);
      const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
      wait.onRetry(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}

function isUnreachable(error: Error): boolean {
  return isStorageUnavailable(error) || isPostgresFailure(error);
}
