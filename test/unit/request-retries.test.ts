import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/data/proxy/retry-budget.ts';
import { RequestRetries } from '../../src/data/proxy/request-retries.ts';

describe("a request's retries", () => {
  it("gives each model its first attempt whatever the budget says, and closes a model's group when a retry is refused", () => {
    const spent = new RetryBudget(0, 10_000, 0);
    const retries = new RequestRetries(spent, 3);
    expect(retries.admit(0, true, 0)).toBe('first');
    expect(retries.admit(0, true, 0)).toBeNull();
    expect(retries).toMatchObject({ budgetStopped: true, firstOpenGroup: 1 });
    expect(retries.admit(1, true, 0)).toBe('first');
    expect(retries.admit(2, true, 0)).toBe('first');
  });

  it('counts retries on one model toward max_attempts, which does not mark the budget as the cause', () => {
    const retries = new RequestRetries(new RetryBudget(10), 2);
    expect(retries.admit(0, true, 0)).toBe('first');
    expect(retries.admit(0, true, 0)).toBe('retry');
    expect(retries.admit(0, true, 0)).toBeNull();
    expect(retries).toMatchObject({ budgetStopped: false, firstOpenGroup: 1, retries: 1 });
  });

  it('retries a request that never reached a server without spending the budget', () => {
    const retries = new RequestRetries(new RetryBudget(0, 10_000, 0), 3);
    retries.admit(0, true, 0);
    expect(retries.admit(0, false, 0)).toBe('retry');
    expect(retries.budgetStopped).toBe(false);
  });
});
