import { inspect } from 'node:util';

/**
 * Holds a secret in memory so that logging, JSON serialisation or
 * `console.log` of whatever contains it shows `[redacted]`, never the value.
 */
export class RedactedSecret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}
