// The session store single sign-on will use: opaque session ids → JSON session data with a sliding
// TTL. Interface first (the SSO plugin depends on it only); Redis implementation shared by all
// workers so a user's session survives which API process answers. Session data may hold PII
// (a person id, a name): callers store ids, not documents, and the keys carry no PII.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface SessionStore<T = Record<string, unknown>> {
  /** Creates a session with a fresh unguessable id (32 random bytes, base64url). */
  create(data: T, ttlMs: number): Promise<string>;
  get(id: string): Promise<T | undefined>;
  /** Replaces the data and resets the TTL; false when the session no longer exists. */
  set(id: string, data: T, ttlMs: number): Promise<boolean>;
  /** Resets the TTL (sliding expiry); false when the session no longer exists. */
  touch(id: string, ttlMs: number): Promise<boolean>;
  destroy(id: string): Promise<void>;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

export function createRedisSessionStore<T = Record<string, unknown>>(client: Redis, options: { keyPrefix?: string } = {}): SessionStore<T> {
  const prefix = `${options.keyPrefix ?? 'vochub:'}session:`;
  const ttl = (ms: number): number => Math.max(1000, Math.floor(ms));
  return {
    async create(data, ttlMs) {
      const id = randomBytes(32).toString('base64url');
      await client.set(prefix + id, JSON.stringify(data), 'PX', ttl(ttlMs));
      return id;
    },
    async get(id) {
      // A malformed id never reaches Redis: no key-space probing through the cookie.
      if (!ID.test(id)) return undefined;
      const raw = await client.get(prefix + id);
      return raw === null ? undefined : (JSON.parse(raw) as T);
    },
    async set(id, data, ttlMs) {
      if (!ID.test(id)) return false;
      return (await client.set(prefix + id, JSON.stringify(data), 'PX', ttl(ttlMs), 'XX')) === 'OK';
    },
    async touch(id, ttlMs) {
      if (!ID.test(id)) return false;
      return (await client.pexpire(prefix + id, ttl(ttlMs))) === 1;
    },
    async destroy(id) {
      if (ID.test(id)) await client.del(prefix + id);
    },
  };
}
