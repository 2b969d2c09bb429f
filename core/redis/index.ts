// Public surface of core/redis: one call opens the connection and hands out the shared services
// (dedupe, locks, rate limits, sessions) the hub, the bus and plugins use when `hub.redis` is set.
import type { Redis } from 'ioredis';
import { connectRedis, redisHealth, type RedisConfig, type RedisHealth } from './client.ts';
import { createRedisDedupe, type DedupeStore } from './dedupe.ts';
import { createLockManager, type LockManager } from './lock.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.ts';
import { createRedisSessionStore, type SessionStore } from './sessions.ts';

export { connectRedis, redisHealth, redactUrl, type RedisConfig, type RedisHealth } from './client.ts';
export { createRedisDedupe, DEFAULT_DEDUPE_TTL_MS, type DedupeStore } from './dedupe.ts';
export { createLockManager, type Lock, type LockManager } from './lock.ts';
export { createRateLimiter, type RateDecision, type RateLimit, type RateLimiter } from './rate-limit.ts';
export { createRedisSessionStore, type SessionStore } from './sessions.ts';
export { holdLease, type Lease } from './lease.ts';

export interface RedisServices {
  readonly client: Redis;
  readonly dedupe: DedupeStore;
  readonly locks: LockManager;
  readonly rateLimiter: RateLimiter;
  readonly sessions: SessionStore;
  health(): Promise<RedisHealth>;
  close(): Promise<void>;
}

export async function openRedis(config: RedisConfig, options: { env?: NodeJS.ProcessEnv; baseDir?: string } = {}): Promise<RedisServices> {
  const client = await connectRedis(config, options);
  const keyPrefix = config.keyPrefix ?? 'vochub:';
  return {
    client,
    dedupe: createRedisDedupe(client, { keyPrefix }),
    locks: createLockManager(client, { keyPrefix }),
    rateLimiter: createRateLimiter(client, { keyPrefix }),
    sessions: createRedisSessionStore(client, { keyPrefix }),
    health: () => redisHealth(client),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
