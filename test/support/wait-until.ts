import { waitFor } from './wait-for.ts';

/** waitFor for conditions that return a boolean, with the options the outage tests pass. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options: { timeoutMs?: number; what?: string } = {}): Promise<void> {
  await waitFor(condition, options.what ?? 'a condition', options.timeoutMs ?? 30_000);
}
