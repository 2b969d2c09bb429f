import { defineConfig } from 'vitest/config';

// The services tier: tests against real servers (Kafka broker, PostgreSQL, Redis, slapd, Chromium)
// that our scripts under scripts/services/ start. Files run one at a time: they share the servers.
export default defineConfig({
  test: {
    include: ['tests/services/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
