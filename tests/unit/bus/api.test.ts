import { describe, expect, it } from 'vitest';
import { backoffDelay, checkEnvelope, createBus, makeEvent, resolveRetryPolicy, rfc3339 } from '../../../core/bus/index.ts';
import { isVochubError } from '../../../core/errors.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isVochubError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('backoff', () => {
  const policy = resolveRetryPolicy({ initialDelayMs: 200, maxDelayMs: 30_000 });

  it('defaults to 5 attempts, 200 ms initial delay and a 30 s cap', () => {
    expect(resolveRetryPolicy(undefined)).toEqual({ maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 30_000 });
  });

  it('doubles the ceiling each attempt and never exceeds the cap, even after many attempts', () => {
    const top = (attempt: number): number => backoffDelay(attempt, policy, () => 0.999999);
    expect(top(1)).toBeLessThanOrEqual(200);
    expect(top(2)).toBeGreaterThan(200);
    expect(top(2)).toBeLessThanOrEqual(400);
    expect(top(3)).toBeGreaterThan(400);
    for (const attempt of [9, 10, 50, 1000, 1e9]) {
      expect(top(attempt)).toBeLessThanOrEqual(30_000);
      expect(top(attempt)).toBeGreaterThan(29_000);
    }
  });

  it('uses full jitter: anywhere from zero up to the ceiling', () => {
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
    expect(backoffDelay(4, policy, () => 0.5)).toBe(800);
  });

  it('refuses a policy whose cap is below the first delay (BUS_OPTIONS_INVALID)', () => {
    expect(codeOf(() => resolveRetryPolicy({ initialDelayMs: 500, maxDelayMs: 100 }))).toBe('BUS_OPTIONS_INVALID');
    expect(codeOf(() => resolveRetryPolicy({ maxAttempts: 0 }))).toBe('BUS_OPTIONS_INVALID');
  });
});

describe('makeEvent', () => {
  it('builds a valid CloudEvent with time now as RFC 3339 with an offset and JSON content type', () => {
    const before = Date.now();
    const event = makeEvent({
      source: '/members/4133010001/adapters/roster',
      type: 'edu.student.upserted.v1',
      member: '4133010001',
      partitionkey: '4133010001/student/2023380101',
      data: { id: '2023380101' },
      extensions: { traceparent: '00-1' },
    });
    expect(checkEnvelope(event)).toEqual([]);
    expect(event).toMatchObject({ specversion: '1.0', datacontenttype: 'application/json', traceparent: '00-1' });
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    expect(Date.parse(event.time)).toBeGreaterThanOrEqual(before - 1);
    expect(event.id).not.toBe(makeEvent({ ...event, id: undefined, data: {} }).id);
  });

  it('writes the local offset, so the instant is unchanged', () => {
    const at = new Date('2024-03-01T00:30:00.000Z');
    expect(Date.parse(rfc3339(at))).toBe(at.getTime());
  });
});

describe('createBus', () => {
  it('creates memory and sqlite buses and refuses kafka without brokers (CONFIG_INVALID)', async () => {
    const memory = createBus({ transport: 'memory' });
    expect(memory.transport).toBe('memory');
    await memory.close();
    const sqlite = createBus({ transport: 'sqlite', file: ':memory:' });
    expect((await sqlite.health()).transport).toBe('sqlite');
    await sqlite.close();
    expect(codeOf(() => createBus({ transport: 'kafka' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => createBus({ transport: 'sqlite' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => createBus({ transport: 'sqlite', file: ':memory:', durability: 'sometimes' as never }))).toBe('CONFIG_INVALID');
  });
});

describe('createBus with kafka when node-rdkafka is not installed', () => {
  it('rejects with BUS_TRANSPORT_UNAVAILABLE and says how to install it', async () => {
    // The loader honours VOCHUB_RDKAFKA_MODULE, so a missing module is simulated without touching node_modules.
    const saved = process.env.VOCHUB_RDKAFKA_MODULE;
    process.env.VOCHUB_RDKAFKA_MODULE = 'node-rdkafka-not-installed-here';
    try {
      const error = await Promise.resolve(createBus({ transport: 'kafka', brokers: '127.0.0.1:1' })).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'BUS_TRANSPORT_UNAVAILABLE', status: 501 });
      expect(String((error as Error).message)).toContain('scripts/services/rdkafka.sh');
    } finally {
      if (saved === undefined) delete process.env.VOCHUB_RDKAFKA_MODULE;
      else process.env.VOCHUB_RDKAFKA_MODULE = saved;
    }
  });
});
