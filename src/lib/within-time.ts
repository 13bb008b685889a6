/**
 * Waits for a shutdown step, but no longer than `ms`: a dependency that is
 * already gone (Redis, the database, a receiver) must not hold the process.
 * Resolves true when the step finished (or failed), false when it timed out.
 */
export async function withinTime(step: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([step.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
