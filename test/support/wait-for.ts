/**
 * Waits until `check` returns something truthy and returns it. Tests wait for
 * the condition they need, never for a fixed time: the cap is generous (the
 * suite runs on two busy cores) and only decides when to give up.
 */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, capMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + capMs;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${capMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
