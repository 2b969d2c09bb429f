// Distributed locks on one Redis (the single-instance Redlock algorithm): SET key token NX PX ttl to
// take, compare-and-delete / compare-and-extend in Lua to release / renew, so a worker whose lock has
// already expired can never release or extend the lock a newer holder took.
//
// Safety note: a lock that expires while its holder is paused (GC, SIGSTOP) can be taken by another
// worker. The work done under our locks is idempotent (store upserts by hash, checkpoints resume), so
// the rare double run costs time, not correctness; `withLock` renews at ttl/3 to make it rarer.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { VochubError } from '../errors.ts';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Lock {
  readonly name: string;
  readonly token: string;
  /** Pushes the expiry to now + ttlMs; false when the lock was lost (expired and maybe taken by another). */
  extend(ttlMs?: number): Promise<boolean>;
  /** Deletes the lock only if we still hold it; false when it had already been lost. */
  release(): Promise<boolean>;
}

export interface LockManager {
  /** Takes the lock or resolves undefined when another holder has it (no waiting). */
  tryAcquire(name: string, ttlMs: number): Promise<Lock | undefined>;
  /** Runs fn while holding the lock, renewing it; resolves { ran: false } without running when it is held elsewhere.
   * `signal` aborts when the lock is lost mid-run, so long work can stop early. */
  withLock<T>(name: string, ttlMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  /** Who holds the lock now (token), for tests and diagnostics. */
  holder(name: string): Promise<string | undefined>;
}

type LockClient = Redis & {
  vochubRelease(key: string, token: string): Promise<number>;
  vochubExtend(key: string, token: string, ttl: number): Promise<number>;
};

function withScripts(client: Redis): LockClient {
  const c = client as LockClient;
  // defineCommand loads the script once (EVALSHA, falling back to EVAL after a Redis restart).
  if (typeof c.vochubRelease !== 'function') client.defineCommand('vochubRelease', { numberOfKeys: 1, lua: RELEASE });
  if (typeof c.vochubExtend !== 'function') client.defineCommand('vochubExtend', { numberOfKeys: 1, lua: EXTEND });
  return c;
}

export function createLockManager(client: Redis, options: { keyPrefix?: string } = {}): LockManager {
  const c = withScripts(client);
  const prefix = `${options.keyPrefix ?? 'vochub:'}lock:`;
  const checkTtl = (ttlMs: number): number => {
    if (!Number.isFinite(ttlMs) || ttlMs < 10) {
      throw new VochubError('REDIS_LOCK_TTL_INVALID', `锁的有效期至少 10 毫秒 / lock ttl must be at least 10 ms: ${ttlMs}`, { status: 400 });
    }
    return Math.floor(ttlMs);
  };

  const tryAcquire = async (name: string, ttlMs: number): Promise<Lock | undefined> => {
    const ttl = checkTtl(ttlMs);
    const key = prefix + name;
    const token = randomBytes(16).toString('hex');
    if ((await c.set(key, token, 'PX', ttl, 'NX')) !== 'OK') return undefined;
    return {
      name,
      token,
      extend: async (next = ttl) => (await c.vochubExtend(key, token, checkTtl(next))) === 1,
      release: async () => (await c.vochubRelease(key, token)) === 1,
    };
  };

  return {
    tryAcquire,
    async withLock(name, ttlMs, fn) {
      const lock = await tryAcquire(name, ttlMs);
      if (!lock) return { ran: false };
      const lost = new AbortController();
      const renew = setInterval(() => {
        lock.extend().then(
          (held) => {
            if (!held) lost.abort(new VochubError('REDIS_LOCK_LOST', `锁已丢失 / lock lost: ${name}`, { status: 409 }));
          },
          () => undefined, // Redis briefly down: try again at the next tick; the TTL bounds the damage
        );
      }, Math.max(5, Math.floor(ttlMs / 3)));
      renew.unref();
      try {
        return { ran: true, value: await fn(lost.signal) };
      } finally {
        clearInterval(renew);
        await lock.release().catch(() => false);
      }
    },
    async holder(name) {
      return (await c.get(prefix + name)) ?? undefined;
    },
  };
}
