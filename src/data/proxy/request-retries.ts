import type { RetryBudget } from './retry-budget.ts';

/**
 * One request's retries. The first attempt on each model of the request (a
 * route's targets, then each fallback in turn) is not a retry: a model that
 * failed before its first byte hands over to the next whatever the retry
 * budget says. Asking the same model again is a retry: it takes from the
 * gateway's budget and counts toward `max_attempts`. When either refuses,
 * that model's group is closed and the request moves on to its next model.
 */
export class RequestRetries {
  readonly #budget: RetryBudget;
  readonly #maxAttempts: number;
  #retries = 0;
  #lastGroupStarted = -1;
  /** Groups before this one are closed: not to be asked again. */
  firstOpenGroup = 0;
  /** True once the budget, not `max_attempts`, refused a retry (the error then says so). */
  budgetStopped = false;

  constructor(budget: RetryBudget, maxAttempts: number) {
    this.#budget = budget;
    this.#maxAttempts = maxAttempts;
  }

  get retries(): number {
    return this.#retries;
  }

  /**
   * Whether an attempt on a deployment of `group` may go ahead: `first` for a
   * model's first attempt, `retry` for another (back off first), null when
   * refused (the group is closed). `spendsBudget` is false when the last
   * failure never reached a server: a retry then adds no load anywhere.
   */
  admit(group: number, spendsBudget: boolean, now: number): 'first' | 'retry' | null {
    if (group > this.#lastGroupStarted) {
      this.#lastGroupStarted = group;
      return 'first';
    }
    if (this.#retries + 1 >= this.#maxAttempts) return this.#close(group);
    if (spendsBudget && !this.#budget.tryRetry(now)) {
      this.budgetStopped = true;
      return this.#close(group);
    }
    this.#retries++;
    return 'retry';
  }

  #close(group: number): null {
    this.firstOpenGroup = group + 1;
    return null;
  }
}
