// Dedupe keys with a TTL: "this event (source + id) has been handled". Shared by every worker, so a
// redelivery after a Kafka rebalance or a worker crash is absorbed whichever worker gets it.
//
// Two steps, for at-least-once without loss: `filterNew` before handling (drops what is already
// done), `remember` only after the handler's work is durable. Claiming first (SET NX) and crashing
// before the commit would lose the event; remembering after the commit at worst handles it twice,
// which the idempotent store upsert (same hash → unchanged) absorbs.
import type { Redis } from 'ioredis';

export interface DedupeStore {
  /** The ids (in input order) that are NOT yet remembered in `scope`. */
  filterNew(scope: string, ids: readonly string[]): Promise<string[]>;
  /** Remembers ids as handled for ttlMs (default: the store's TTL). */
  remember(scope: string, ids: readonly string[], ttlMs?: number): Promise<void>;
  /** Atomically claims one id (SET NX PX): true for the first caller only, until the TTL passes. */
  claim(scope: string, id: string, ttlMs?: number): Promise<boolean>;
  /** Forgets ids (e.g. a claim whose work failed, so a retry may claim again). */
  forget(scope: string, ids: readonly string[]): Promise<void>;
}

export const DEFAULT_DEDUPE_TTL_MS = 7 * 24 * 3600 * 1000;

export function createRedisDedupe(client: Redis, options: { keyPrefix?: string; ttlMs?: number } = {}): DedupeStore {
  const prefix = `${options.keyPrefix ?? 'vochub:'}dedupe:`;
  const ttl = options.ttlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const k = (scope: string, id: string): string => `${prefix}${scope}:${id}`;
  return {
    async filterNew(scope, ids) {
      if (ids.length === 0) return [];
      const found = await client.mget(...ids.map((id) => k(scope, id)));
      return ids.filter((_, i) => found[i] === null);
    },
    async remember(scope, ids, ttlMs = ttl) {
      if (ids.length === 0) return;
      const pipeline = client.pipeline();
      for (const id of ids) pipeline.set(k(scope, id), '1', 'PX', Math.max(1, Math.floor(ttlMs)));
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw failed[0];
    },
    async claim(scope, id, ttlMs = ttl) {
      return (await client.set(k(scope, id), '1', 'PX', Math.max(1, Math.floor(ttlMs)), 'NX')) === 'OK';
    },
    async forget(scope, ids) {
      if (ids.length > 0) await client.del(...ids.map((id) => k(scope, id)));
    },
  };
}
