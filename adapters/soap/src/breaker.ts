// Circuit breaker around one endpoint: after `failureThreshold` consecutive outage failures the circuit
// opens and calls fail fast (SOAP_CIRCUIT_OPEN) for `cooldownMs`; then one trial call is let through
// (half-open): success closes the circuit, failure opens it again. Faults from the peer are answers,
// not outages, and do not count.
import { VochubError } from '../../../core/errors.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold?: number;
  cooldownMs?: number;
  /** Injected clock for tests that need to pass the cooldown without waiting. */
  now?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trial = false;
  private stateValue: BreakerState = 'closed';
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(options: BreakerOptions = {}) {
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 5);
    this.cooldownMs = Math.max(0, options.cooldownMs ?? 30_000);
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.cooldownMs) return 'half-open';
    return this.stateValue;
  }

  /** Throws SOAP_CIRCUIT_OPEN when no call may go out now. */
  admit(endpoint: string): void {
    const state = this.state;
    if (state === 'closed') return;
    if (state === 'half-open' && !this.trial) {
      this.trial = true;
      this.stateValue = 'half-open';
      return;
    }
    throw new VochubError('SOAP_CIRCUIT_OPEN', `对端连续失败，熔断中，稍后再试 / circuit open after repeated failures of ${endpoint}: try again later`, {
      status: 503,
      details: { endpoint, retryAfterMs: Math.max(0, this.cooldownMs - (this.now() - this.openedAt)) },
    });
  }

  success(): void {
    this.failures = 0;
    this.trial = false;
    this.stateValue = 'closed';
  }

  failure(): void {
    this.trial = false;
    this.failures++;
    if (this.stateValue === 'half-open' || this.failures >= this.failureThreshold) {
      this.stateValue = 'open';
      this.openedAt = this.now();
    }
  }
}
