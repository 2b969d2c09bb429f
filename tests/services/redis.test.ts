// core/redis against the machine's real Redis (scripts/services/redis.sh starts it when down). Every
// test file uses its own key prefix, removed afterwards: the server is shared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, type RedisServices } from '../../core/redis/index.ts';
import { holdLease } from '../../core/redis/lease.ts';
import { ensureRedis, REDIS_URL, redisPrefix } from './helpers/services.ts';

let keys: ReturnType<typeof redisPrefix>;
let a: RedisServices;
let b: RedisServices;
beforeAll(async () => {
  ensureRedis();
  keys = redisPrefix();
  // Two connections stand for two workers.
  a = await openRedis({ url: REDIS_URL, keyPrefix: keys.prefix });
  b = await openRedis({ url: REDIS_URL, keyPrefix: keys.prefix });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  keys?.flush();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('redis dedupe', () => {
  it('remembers handled ids for every worker and forgets them after the TTL', async () => {
    expect(await a.dedupe.filterNew('group:store', ['e1', 'e2', 'e3'])).toEqual(['e1', 'e2', 'e3']);
    await a.dedupe.remember('group:store', ['e1', 'e3'], 300);
    expect(await b.dedupe.filterNew('group:store', ['e1', 'e2', 'e3'])).toEqual(['e2']);
    expect(await b.dedupe.filterNew('group:other', ['e1'])).toEqual(['e1']);
    await sleep(450);
    expect(await b.dedupe.filterNew('group:store', ['e1', 'e3'])).toEqual(['e1', 'e3']);
  });

  it('lets exactly one of several workers claim an id', async () => {
    const claims = await Promise.all([a, b, a, b].map((w) => w.dedupe.claim('claims', 'event-42', 10_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    await a.dedupe.forget('claims', ['event-42']);
    expect(await b.dedupe.claim('claims', 'event-42')).toBe(true);
  });
});

describe('redis locks', () => {
  it('gives a lock to one holder, and only the holder can extend or release it', async () => {
    const first = await a.locks.tryAcquire('import:4133010101/sis', 5_000);
    expect(first).toBeDefined();
    expect(await b.locks.tryAcquire('import:4133010101/sis', 5_000)).toBeUndefined();
    expect(await a.locks.holder('import:4133010101/sis')).toBe(first!.token);
    expect(await first!.extend(5_000)).toBe(true);
    expect(await first!.release()).toBe(true);
    expect(await first!.release()).toBe(false);
    expect(await b.locks.tryAcquire('import:4133010101/sis', 5_000)).toBeDefined();
  });

  it('never lets an expired holder release the lock a newer holder took', async () => {
    const old = await a.locks.tryAcquire('expiring', 50);
    await sleep(120);
    const fresh = await b.locks.tryAcquire('expiring', 5_000);
    expect(fresh).toBeDefined();
    expect(await old!.release()).toBe(false);
    expect(await old!.extend()).toBe(false);
    expect(await b.locks.holder('expiring')).toBe(fresh!.token);
  });

  it('runs a locked job on exactly one of two workers firing at the same time, renewing past the TTL', async () => {
    let runs = 0;
    const job = async () => {
      runs++;
      await sleep(250); // longer than the 100 ms TTL: renewal keeps the lock
      return 'done';
    };
    const results = await Promise.all([a.locks.withLock('cron:nightly', 100, job), b.locks.withLock('cron:nightly', 100, job)]);
    expect(runs).toBe(1);
    expect(results.filter((r) => r.ran)).toEqual([{ ran: true, value: 'done' }]);
    expect(await a.locks.holder('cron:nightly')).toBeUndefined();
  });

  it('hands a lease to another worker when its holder stops', async () => {
    const events: string[] = [];
    const lease1 = holdLease(a.locks, 'relay', { ttlMs: 300, onAcquire: () => void events.push('a+'), onLose: () => void events.push('a-') });
    await sleep(50);
    const lease2 = holdLease(b.locks, 'relay', { ttlMs: 300, onAcquire: () => void events.push('b+'), onLose: () => void events.push('b-') });
    await sleep(250);
    expect(lease1.held).toBe(true);
    expect(lease2.held).toBe(false);
    await lease1.stop();
    for (let i = 0; i < 40 && !lease2.held; i++) await sleep(50);
    expect(lease2.held).toBe(true);
    await lease2.stop();
    expect(events).toEqual(['a+', 'a-', 'b+', 'b-']);
  });

  it('refuses a lock TTL below 10 ms with REDIS_LOCK_TTL_INVALID', async () => {
    await expect(a.locks.tryAcquire('x', 1)).rejects.toMatchObject({ code: 'REDIS_LOCK_TTL_INVALID' });
  });
});

describe('redis rate limits', () => {
  it('shares one token bucket between workers and says how long to wait', async () => {
    const limit = { capacity: 5, perSecond: 10 };
    const decisions = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).rateLimiter.take('adapter:4133010101/sis', limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    const refused = decisions.find((d) => !d.allowed)!;
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(100);
    await a.rateLimiter.acquire('adapter:4133010101/sis', limit);
    await expect(a.rateLimiter.take('y', { capacity: 1, perSecond: 1 }, 2)).rejects.toMatchObject({ code: 'REDIS_RATE_LIMIT_INVALID' });
  });
});

describe('redis sessions', () => {
  it('creates, reads, slides and destroys a session any worker can see', async () => {
    const id = await a.sessions.create({ person: 'tch-T2015003', roles: ['teacher'] }, 2_000);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await b.sessions.get(id)).toEqual({ person: 'tch-T2015003', roles: ['teacher'] });
    expect(await b.sessions.touch(id, 5_000)).toBe(true);
    expect(await b.sessions.set(id, { person: 'tch-T2015003', roles: [] }, 5_000)).toBe(true);
    await a.sessions.destroy(id);
    expect(await b.sessions.get(id)).toBeUndefined();
    expect(await b.sessions.set(id, {}, 1000)).toBe(false);
    expect(await b.sessions.get('../../etc')).toBeUndefined();
  });
});

describe('redis connection', () => {
  it('refuses an inline password and an unreachable server with stable codes', async () => {
    await expect(openRedis({ url: 'redis://:hunter2@127.0.0.1:6379' })).rejects.toMatchObject({ code: 'CONFIG_INLINE_SECRET' });
    await expect(openRedis({ url: '${env:VOCHUB_NO_SUCH_VAR}' }, { env: {} })).rejects.toMatchObject({ code: 'CONFIG_SECRET_MISSING' });
    await expect(openRedis({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 500 })).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    expect(await a.health()).toMatchObject({ ok: true });
  });
});
