import { VochubError } from '../errors.ts';
import type { RetryPolicy } from './types.ts';

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({ maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 30_000 });

export function resolveRetryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...stripUndefined(partial) };
  const ok =
    Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1 &&
    Number.isFinite(policy.initialDelayMs) && policy.initialDelayMs >= 0 &&
    Number.isFinite(policy.maxDelayMs) && policy.maxDelayMs >= policy.initialDelayMs;
  if (!ok) {
    throw new VochubError('BUS_OPTIONS_INVALID', '重试策略无效 / invalid retry policy: maxAttempts >= 1, 0 <= initialDelayMs <= maxDelayMs', {
      status: 400,
      details: { policy },
    });
  }
  return policy;
}

/**
 * Delay before the next attempt after `attempt` failed deliveries (1-based): exponential, capped, full jitter
 * (uniform in [0, min(cap, initial * 2^(attempt-1))]) so that many consumers failing together do not retry together.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = policy.initialDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52);
  const ceiling = Math.min(policy.maxDelayMs, exp);
  return Math.floor(random() * ceiling);
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!value) return out;
  for (const [k, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
