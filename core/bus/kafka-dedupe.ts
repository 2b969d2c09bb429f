// The default BusDedupe for the Kafka transport: in this process only, with TTL. Enough for one worker (a
// rebalance between two subscriptions of this process, a re-read after close/reopen); with several workers pass a
// shared one (core/redis `createRedisDedupe`, i.e. `hub.redis.dedupe`).
import type { BusDedupe } from './types.ts';

export function createMemoryDedupe(defaultTtlMs: number, maxKeys = 1_000_000): BusDedupe {
  const scopes = new Map<string, Map<string, number>>();
  const scopeOf = (scope: string): Map<string, number> => {
    let map = scopes.get(scope);
    if (!map) scopes.set(scope, (map = new Map()));
    return map;
  };
  return {
    async filterNew(scope, ids) {
      const map = scopes.get(scope);
      if (!map) return [...ids];
      const now = Date.now();
      return ids.filter((id) => {
        const until = map.get(id);
        return until === undefined || until <= now;
      });
    },
    async remember(scope, ids, ttlMs = defaultTtlMs) {
      const map = scopeOf(scope);
      const until = Date.now() + ttlMs;
      for (const id of ids) {
        map.delete(id);
        map.set(id, until);
      }
      // Oldest first (insertion order): drop beyond the cap so a long-running process stays bounded.
      if (map.size > maxKeys) {
        let extra = map.size - maxKeys;
        for (const key of map.keys()) {
          if (extra-- <= 0) break;
          map.delete(key);
        }
      }
    },
  };
}
