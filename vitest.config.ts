import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Caps, not expectations: the suite shares two cores with other work, and a process test
    // (spawning a gateway or the CLI) can take many seconds there. Tests wait for conditions.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
