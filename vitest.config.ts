import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Caps, not expectations: the suite shares two cores with other work, and a process test
    // (spawning a gateway or the CLI) can take many seconds there. Tests wait for conditions.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time. Most of the suite waits on sockets, processes and browsers rather than
    // computing, and vitest's default on 2 cores is one worker: 575 s against 800-1,000 s serially.
    // Tests share only the machine's PostgreSQL and Redis, each in schemas, databases and keys of its own.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
