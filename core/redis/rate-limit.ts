// Per-adapter rate limits shared by every worker: a token bucket kept in one Redis hash and updated
// by one Lua script (atomic, so N workers together never exceed the rate). Time comes from Redis
// (TIME), not from the workers, whose clocks may disagree.
import type { Redis } from 'ioredis';
import { VochubError } from '../errors.ts';

// KEYS[1] bucket; ARGV: capacity, refill per second, tokens wanted.
// Returns { allowed 0|1, tokens left ×1000, wait ms until `wanted` tokens are there }.
const TAKE = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('hmget', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = capacity; at = now end
if now > at then tokens = math.min(capacity, tokens + (now - at) * rate / 1000) end
local allowed = 0
local wait = 0
if tokens >= wanted then
  tokens = tokens - wanted
  allowed = 1
else
  wait = math.ceil((wanted - tokens) * 1000 / rate)
end
redis.call('hset', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('pexpire', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return { allowed, math.floor(tokens * 1000), wait }
`;

export interface RateLimit {
  /** Bucket size: the largest burst. */
  capacity: number;
  /** Tokens added per second. */
  perSecond: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Tokens left after this call. */
  remaining: number;
  /** When refused: ms until the wanted tokens will be there. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Takes `tokens` (default 1) from the bucket `name` or refuses without waiting. */
  take(name: string, limit: RateLimit, tokens?: number): Promise<RateDecision>;
  /** Waits (sleeping retryAfterMs at a time) until the tokens are granted or the signal aborts. */
  acquire(name: string, limit: RateLimit, tokens?: number, signal?: AbortSignal): Promise<void>;
}

type TakeClient = Redis & { vochubTakeTokens(key: string, capacity: number, rate: number, wanted: number): Promise<[number, number, number]> };

export function createRateLimiter(client: Redis, options: { keyPrefix?: string } = {}): RateLimiter {
  const c = client as TakeClient;
  if (typeof c.vochubTakeTokens !== 'function') client.defineCommand('vochubTakeTokens', { numberOfKeys: 1, lua: TAKE });
  const prefix = `${options.keyPrefix ?? 'vochub:'}rate:`;
  const take = async (name: string, limit: RateLimit, tokens = 1): Promise<RateDecision> => {
    if (!(limit.capacity > 0) || !(limit.perSecond > 0) || !(tokens > 0) || tokens > limit.capacity) {
      throw new VochubError('REDIS_RATE_LIMIT_INVALID', `限流参数无效 / invalid rate limit (capacity ${limit.capacity}, perSecond ${limit.perSecond}, tokens ${tokens})`, {
        status: 400,
      });
    }
    const [allowed, left, wait] = await c.vochubTakeTokens(prefix + name, limit.capacity, limit.perSecond, tokens);
    return { allowed: allowed === 1, remaining: left / 1000, retryAfterMs: wait };
  };
  return {
    take,
    async acquire(name, limit, tokens = 1, signal) {
      for (;;) {
        signal?.throwIfAborted();
        const decision = await take(name, limit, tokens);
        if (decision.allowed) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, decision.retryAfterMs));
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
      }
    },
  };
}
