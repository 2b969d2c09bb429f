// The behaviour every Bus transport must show. A new transport passes by calling
// runBusConformance('kafka', () => createKafkaBus(...)) from its own test file.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent } from '../../../core/bus/index.ts';
import type { Bus, CloudEvent, Delivery, SubscribeOptions } from '../../../core/bus/types.ts';
import { isVochubError } from '../../../core/errors.ts';

const FAST_RETRY: SubscribeOptions['retry'] = { maxAttempts: 5, initialDelayMs: 5, maxDelayMs: 20 };
const C38 = new URL('../../fixtures/cases/C38-kafka-rebalance-duplicate.json', import.meta.url);

let seq = 0;
export function studentEvent(key: string, data: Record<string, unknown> = {}, member = '4133010001'): CloudEvent {
  seq++;
  return makeEvent({
    id: `evt-${seq}`,
    source: `/members/${member}/adapters/roster`,
    type: 'edu.student.upserted.v1',
    member,
    partitionkey: `${member}/student/${key}`,
    dataschema: 'urn:vochub:contract:student:1',
    data: { id: key, seq, ...data },
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isVochubError(error) ? error.code : `not a VochubError: ${String(error)}`;
  }
  return undefined;
}

function dataSeq(d: Delivery): number {
  return (d.event.data as { seq: number }).seq;
}

export function runBusConformance(name: string, makeBus: () => Promise<Bus>): void {
  describe(`bus conformance: ${name}`, () => {
    const open: Bus[] = [];
    const bus = async (): Promise<Bus> => {
      const b = await makeBus();
      open.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    describe('publish and deliver', () => {
      it('delivers every event once, in publish order, in batches no larger than maxBatch', async () => {
        const b = await bus();
        const events = Array.from({ length: 50 }, (_, i) => studentEvent(`S${i % 3}`));
        await b.publish('edu.student', events.slice(0, 20));
        await b.publish('edu.student', events.slice(20));
        const seen: string[] = [];
        const sizes: number[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          sizes.push(batch.length);
          for (const d of batch) {
            expect(d.attempt).toBe(1);
            expect(d.topic).toBe('edu.student');
            seen.push(d.event.id);
          }
        }, { maxBatch: 8 });
        await b.idle('edu.student', 'store');
        expect(seen).toEqual(events.map((e) => e.id));
        expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
      });

      it('wakes a subscriber for events published after it subscribed', async () => {
        const b = await bus();
        const seen: string[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) seen.push(d.event.id);
        });
        const e1 = studentEvent('A');
        await b.publish('edu.student', [e1]);
        await b.idle('edu.student', 'store');
        const e2 = studentEvent('A');
        await b.publish('edu.student', [e2]);
        await b.idle('edu.student', 'store');
        expect(seen).toEqual([e1.id, e2.id]);
      });

      it('hands each group every event, and keeps topics apart', async () => {
        const b = await bus();
        const byGroup: Record<string, string[]> = { store: [], analytics: [] };
        for (const group of ['store', 'analytics']) {
          await b.subscribe('edu.student', group, (batch) => {
            for (const d of batch) byGroup[group]!.push(d.event.id);
          });
        }
        const events = [studentEvent('A'), studentEvent('B')];
        await b.publish('edu.student', events);
        await b.publish('edu.course', [studentEvent('C')]);
        await b.idle('edu.student', 'store');
        await b.idle('edu.student', 'analytics');
        expect(byGroup.store).toEqual(events.map((e) => e.id));
        expect(byGroup.analytics).toEqual(events.map((e) => e.id));
      });

      it("a new group with startAt 'latest' sees only events published after it joined", async () => {
        const b = await bus();
        await b.publish('edu.student', [studentEvent('A')]);
        const seen: string[] = [];
        await b.subscribe('edu.student', 'late', (batch) => {
          for (const d of batch) seen.push(d.event.id);
        }, { startAt: 'latest' });
        const later = studentEvent('A');
        await b.publish('edu.student', [later]);
        await b.idle('edu.student', 'late');
        expect(seen).toEqual([later.id]);
      });

      it('gives each handler its own copy of the event', async () => {
        const b = await bus();
        const event = studentEvent('A', { name: 'x' });
        await b.publish('edu.student', [event]);
        event.data = 'changed after publish';
        const seen: unknown[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          seen.push(batch[0]!.event.data);
          (batch[0]!.event as { data: unknown }).data = 'mutated by store';
        });
        await b.subscribe('edu.student', 'analytics', (batch) => {
          seen.push(batch[0]!.event.data);
        });
        await b.idle('edu.student', 'store');
        await b.idle('edu.student', 'analytics');
        expect(seen).toHaveLength(2);
        for (const data of seen) expect(data).toMatchObject({ id: 'A', name: 'x' });
      });
    });

    describe('envelope validation and size limit', () => {
      it('refuses a publish call with an invalid envelope, listing every problem, and writes none of it', async () => {
        const b = await bus();
        const good = studentEvent('A');
        const bad = {
          ...studentEvent('B'),
          specversion: '0.3',
          id: '',
          time: '2024-03-01 08:30:00',
          datacontenttype: 'text/csv',
          partitionkey: undefined,
          BadExt: 'x',
        } as unknown as CloudEvent;
        let details: unknown;
        try {
          await b.publish('edu.student', [good, bad]);
        } catch (error) {
          expect(isVochubError(error) && error.code).toBe('BUS_EVENT_INVALID');
          details = isVochubError(error) ? error.details : undefined;
        }
        const fields = (details as { issues: { index: number; field: string }[] }).issues.map((i) => `${i.index}:${i.field}`);
        expect(fields.sort()).toEqual(['1:BadExt', '1:datacontenttype', '1:id', '1:partitionkey', '1:specversion', '1:time'].sort());
        const seen: string[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) seen.push(d.event.id);
        });
        const after = studentEvent('C');
        await b.publish('edu.student', [after]);
        await b.idle('edu.student', 'store');
        expect(seen).toEqual([after.id]);
      });

      it.each([
        ['time without offset', { time: '2024-03-01T08:30:00' }],
        ['time with a short offset', { time: '2024-03-01T08:30:00+08' }],
        ['missing member', { member: undefined }],
        ['missing source', { source: undefined }],
        ['missing type', { type: 42 }],
        ['extension with upper case name', { traceParent: 'x' }],
        ['extension with a non-string value', { traceparent: 7 }],
        ['no data', { data: undefined }],
      ])('refuses an event with %s (BUS_EVENT_INVALID)', async (_label, change) => {
        const b = await bus();
        const event = { ...studentEvent('A'), ...change } as unknown as CloudEvent;
        expect(await codeOf(b.publish('edu.student', [event]))).toBe('BUS_EVENT_INVALID');
      });

      it('accepts lowercase alphanumeric extensions and offsets like +08:00 and Z', async () => {
        const b = await bus();
        const events = [
          { ...studentEvent('A'), time: '2024-03-01T08:30:00+08:00', traceparent: '00-abc', batchid2: 'b1' },
          { ...studentEvent('B'), time: '2024-03-01T00:30:00.123Z' },
        ];
        await b.publish('edu.student', events);
        const seen: CloudEvent[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) seen.push(d.event);
        });
        await b.idle('edu.student', 'store');
        expect(seen[0]).toMatchObject({ traceparent: '00-abc', batchid2: 'b1' });
        expect(seen).toHaveLength(2);
      });

      it('refuses an event whose JSON is larger than 1 MiB, counting UTF-8 bytes (BUS_EVENT_TOO_LARGE)', async () => {
        const b = await bus();
        // 400 000 CJK characters: 0.4 M UTF-16 units, 1.2 MB of UTF-8.
        const roster = '张'.repeat(400_000);
        expect(await codeOf(b.publish('edu.section', [studentEvent('A', { roster })]))).toBe('BUS_EVENT_TOO_LARGE');
        await b.publish('edu.section', [studentEvent('A', { roster: '张'.repeat(300_000) })]);
      });

      it('refuses a topic or group name with spaces or slashes (BUS_NAME_INVALID)', async () => {
        const b = await bus();
        expect(await codeOf(b.publish('edu student', [studentEvent('A')]))).toBe('BUS_NAME_INVALID');
        expect(await codeOf(b.subscribe('edu.student', 'a/b', () => {}))).toBe('BUS_NAME_INVALID');
      });
    });

    describe('retries and order per partition key', () => {
      it('puts at most one event per partition key in a batch, so settling one delivery cannot overtake another', async () => {
        const b = await bus();
        await b.publish('edu.student', [studentEvent('A'), studentEvent('A'), studentEvent('B'), studentEvent('A')]);
        const batches: string[][] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          batches.push(batch.map((d) => d.event.partitionkey.split('/').pop()!));
        });
        await b.idle('edu.student', 'store');
        for (const keys of batches) expect(new Set(keys).size).toBe(keys.length);
        expect(batches.flat().sort()).toEqual(['A', 'A', 'A', 'B']);
      });

      it('redelivers a nak-ed event while later events of the same key wait behind it and other keys flow on', async () => {
        const b = await bus();
        const a1 = studentEvent('A');
        const a2 = studentEvent('A');
        const b1 = studentEvent('B');
        const b2 = studentEvent('B');
        await b.publish('edu.student', [a1, b1, a2, b2]);
        const log: string[] = [];
        let naked = false;
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) {
            if (d.event.id === a1.id && !naked) {
              naked = true;
              log.push(`nak ${d.event.id}`);
              d.nak(30);
              continue;
            }
            log.push(`${d.event.id}#${d.attempt}`);
          }
        }, { retry: FAST_RETRY });
        await b.idle('edu.student', 'store');
        expect(log.filter((l) => l.startsWith(a1.id) || l.startsWith(a2.id) || l === `nak ${a1.id}`)).toEqual([
          `nak ${a1.id}`,
          `${a1.id}#2`,
          `${a2.id}#1`,
        ]);
        // Key B was not held up by key A's retry.
        expect(log.indexOf(`${b2.id}#1`)).toBeLessThan(log.indexOf(`${a1.id}#2`));
      });

      it('naks every unsettled delivery of a batch whose handler throws, and redelivers only those', async () => {
        const b = await bus();
        const events = [studentEvent('A'), studentEvent('B'), studentEvent('C')];
        await b.publish('edu.student', events);
        const attempts: string[] = [];
        let thrown = false;
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) attempts.push(`${d.event.id}#${d.attempt}`);
          if (!thrown) {
            thrown = true;
            batch[2]!.ack();
            throw new Error('数据库暂不可用 / store unavailable');
          }
        }, { retry: FAST_RETRY });
        await b.idle('edu.student', 'store');
        const [e0, e1, e2] = events.map((e) => e.id);
        expect(attempts.slice(0, 3)).toEqual([`${e0}#1`, `${e1}#1`, `${e2}#1`]);
        // Different keys retry independently (jittered), so only the set is fixed.
        expect(attempts.slice(3).sort()).toEqual([`${e0}#2`, `${e1}#2`].sort());
      });

      it('dead-letters an event that keeps failing with RETRIES_EXHAUSTED after maxAttempts, keeping its context', async () => {
        const b = await bus();
        const poison = studentEvent('A');
        const next = studentEvent('A');
        await b.publish('edu.student', [poison, next]);
        const handled: string[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) {
            if (d.event.id === poison.id) throw new Error('映射失败 / mapping failed');
            handled.push(d.event.id);
          }
        }, { retry: { maxAttempts: 3, initialDelayMs: 2, maxDelayMs: 10 }, maxBatch: 1 });
        await b.idle('edu.student', 'store');
        expect(handled).toEqual([next.id]);
        const { items } = await b.dlq.list({ topic: 'edu.student', group: 'store' });
        expect(items).toHaveLength(1);
        const entry = items[0]!;
        expect(entry.event).toEqual(poison);
        expect(entry.reason.code).toBe('RETRIES_EXHAUSTED');
        expect(entry.reason.message).toContain('HANDLER_ERROR');
        expect(entry.reason.message).toContain('mapping failed');
        expect(entry.attempts).toBe(3);
        expect(entry.status).toBe('open');
        expect(Date.parse(entry.firstFailureAt)).toBeLessThanOrEqual(Date.parse(entry.lastFailureAt));
      });

      it('keeps retrying within the backoff cap until maxAttempts, then dead-letters', async () => {
        const b = await bus();
        await b.publish('edu.student', [studentEvent('A')]);
        let calls = 0;
        await b.subscribe('edu.student', 'store', () => {
          calls++;
          throw new Error('still failing');
        }, { retry: { maxAttempts: 8, initialDelayMs: 1, maxDelayMs: 4 } });
        await b.idle('edu.student', 'store');
        expect(calls).toBe(8);
        const { items } = await b.dlq.list();
        expect(items.map((i) => [i.reason.code, i.attempts])).toEqual([['RETRIES_EXHAUSTED', 8]]);
      });

      it('refuses a second verb on one delivery (BUS_DELIVERY_SETTLED)', async () => {
        const b = await bus();
        await b.publish('edu.student', [studentEvent('A')]);
        let code: string | undefined;
        await b.subscribe('edu.student', 'store', (batch) => {
          batch[0]!.ack();
          try {
            batch[0]!.nak();
          } catch (error) {
            code = isVochubError(error) ? error.code : undefined;
          }
        });
        await b.idle('edu.student', 'store');
        expect(code).toBe('BUS_DELIVERY_SETTLED');
      });
    });

    describe('dead-letter queue', () => {
      it('term moves the event to the DLQ at once with the reason, stage, adapter and attempt count', async () => {
        const b = await bus();
        const event = studentEvent('A');
        await b.publish('edu.student', [event]);
        let calls = 0;
        await b.subscribe('edu.student', 'store', (batch) => {
          calls++;
          batch[0]!.term({ code: 'CONTRACT_INVALID', message: '学号缺失 / studentNumber missing', stage: 'validate', adapter: 'roster' });
        });
        await b.idle('edu.student', 'store');
        expect(calls).toBe(1);
        const { items } = await b.dlq.list();
        expect(items).toHaveLength(1);
        const entry = (await b.dlq.get(items[0]!.id))!;
        expect(entry).toMatchObject({
          topic: 'edu.student',
          group: 'store',
          event,
          reason: { code: 'CONTRACT_INVALID', message: '学号缺失 / studentNumber missing', stage: 'validate', adapter: 'roster' },
          attempts: 1,
          status: 'open',
        });
        expect(entry.firstFailureAt).toBe(entry.lastFailureAt);
        expect(await b.dlq.get('999999')).toBeUndefined();
      });

      it('lists dead letters by topic, group, member and status, in pages', async () => {
        const b = await bus();
        const events = [
          ...Array.from({ length: 5 }, (_, i) => studentEvent(`A${i}`, {}, '4133010001')),
          ...Array.from({ length: 3 }, (_, i) => studentEvent(`B${i}`, {}, '4133010002')),
        ];
        await b.publish('edu.student', events);
        for (const group of ['store', 'analytics']) {
          await b.subscribe('edu.student', group, (batch) => {
            for (const d of batch) d.term({ code: 'CONTRACT_INVALID', message: 'bad' });
          });
        }
        await b.idle('edu.student', 'store');
        await b.idle('edu.student', 'analytics');
        const ids: string[] = [];
        let page = await b.dlq.list({ group: 'store', limit: 3 });
        ids.push(...page.items.map((i) => i.event.id));
        while (page.next) {
          page = await b.dlq.list({ group: 'store', limit: 3, after: page.next });
          ids.push(...page.items.map((i) => i.event.id));
        }
        expect(ids).toEqual(events.map((e) => e.id));
        const member2 = await b.dlq.list({ member: '4133010002', group: 'analytics' });
        expect(member2.items.map((i) => i.event.id)).toEqual(events.slice(5).map((e) => e.id));
        const first = (await b.dlq.list({ group: 'analytics', limit: 1 })).items[0]!;
        await b.dlq.discard(first.id);
        expect((await b.dlq.list({ status: 'discarded' })).items.map((i) => i.id)).toEqual([first.id]);
        expect((await b.dlq.list({ status: 'open', group: 'analytics' })).items).toHaveLength(7);
        expect((await b.dlq.list({ topic: 'edu.course' })).items).toHaveLength(0);
      });

      it('replays an entry to the same group only, with fixed data, and marks it replayed', async () => {
        const b = await bus();
        const event = studentEvent('A', { grade: 'bad' });
        await b.publish('edu.student', [event]);
        const storeSeen: unknown[] = [];
        const analyticsSeen: unknown[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) {
            const data = d.event.data as { grade: string };
            if (data.grade === 'bad') d.term({ code: 'CONTRACT_INVALID', message: 'grade', stage: 'validate' });
            else storeSeen.push(d.event);
          }
        });
        await b.subscribe('edu.student', 'analytics', (batch) => {
          for (const d of batch) analyticsSeen.push(d.event.id);
        });
        await b.idle('edu.student', 'store');
        const entry = (await b.dlq.list({ group: 'store' })).items[0]!;
        await b.dlq.replay(entry.id, { data: { id: 'A', grade: '2023' } });
        await b.idle('edu.student', 'store');
        await b.idle('edu.student', 'analytics');
        expect(storeSeen).toEqual([{ ...event, data: { id: 'A', grade: '2023' } }]);
        expect(analyticsSeen).toEqual([event.id]);
        expect((await b.dlq.get(entry.id))!.status).toBe('replayed');
        expect(await codeOf(b.dlq.replay(entry.id))).toBe('BUS_DLQ_NOT_OPEN');
        expect(await codeOf(b.dlq.discard(entry.id))).toBe('BUS_DLQ_NOT_OPEN');
        expect(await codeOf(b.dlq.replay('424242'))).toBe('BUS_DLQ_NOT_FOUND');
      });

      it('replays the original event unchanged when no fix is given', async () => {
        const b = await bus();
        const event = studentEvent('A');
        await b.publish('edu.student', [event]);
        const seen: CloudEvent[] = [];
        let first = true;
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) {
            if (first) {
              first = false;
              d.term({ code: 'DELIVERY_REFUSED', message: 'SIS down', stage: 'deliver' });
            } else seen.push(d.event);
          }
        });
        await b.idle('edu.student', 'store');
        const entry = (await b.dlq.list()).items[0]!;
        await b.dlq.replay(entry.id);
        await b.idle('edu.student', 'store');
        expect(seen).toEqual([event]);
      });
    });

    describe('dedupe on source + id', () => {
      it('C38: the same grade event delivered twice (rebalance) changes nothing the second time', async () => {
        const b = await bus();
        const c38 = JSON.parse(readFileSync(C38, 'utf8')) as {
          topic: string;
          groupId: string;
          message: { key: string; value: { eventId: string; studentNo: string; courseCode: string; score: number; version: number } };
        };
        const grade = makeEvent({
          id: c38.message.value.eventId,
          source: '/members/4133010001/adapters/grades',
          type: 'edu.result.upserted.v1',
          member: '4133010001',
          partitionkey: `4133010001/result/${c38.message.key}`,
          data: c38.message.value,
        });
        // The "SIS": each applied write adds the score again, so a duplicate would be visible.
        const sis = new Map<string, { total: number; writes: number }>();
        await b.subscribe(c38.topic, c38.groupId, (batch) => {
          for (const d of batch) {
            const v = d.event.data as typeof c38.message.value;
            const row = sis.get(v.studentNo) ?? { total: 0, writes: 0 };
            sis.set(v.studentNo, { total: row.total + v.score, writes: row.writes + 1 });
          }
        });
        await b.publish(c38.topic, [grade]);
        await b.idle(c38.topic, c38.groupId);
        // Redelivery of the same offset after the rebalance: the same event arrives again, later and in one batch with itself.
        await b.publish(c38.topic, [structuredClone(grade)]);
        await b.publish(c38.topic, [structuredClone(grade), structuredClone(grade)]);
        await b.idle(c38.topic, c38.groupId);
        expect(sis.get(c38.message.value.studentNo)).toEqual({ total: c38.message.value.score, writes: 1 });
      });

      it('dedupes per group: another group still gets the event, and another source with the same id is a new event', async () => {
        const b = await bus();
        const e = studentEvent('A');
        const sameIdOtherSource = { ...e, source: '/members/4133010002/adapters/roster' };
        const seen: string[] = [];
        for (const group of ['store', 'analytics']) {
          await b.subscribe('edu.student', group, (batch) => {
            for (const d of batch) seen.push(`${group}:${d.event.source}`);
          });
        }
        await b.publish('edu.student', [e, e, sameIdOtherSource]);
        await b.idle('edu.student', 'store');
        await b.idle('edu.student', 'analytics');
        expect(seen.sort()).toEqual([
          `analytics:${e.source}`, `analytics:${sameIdOtherSource.source}`,
          `store:${e.source}`, `store:${sameIdOtherSource.source}`,
        ].sort());
      });

      it('absorbs a duplicate of a dead-lettered event instead of dead-lettering it twice', async () => {
        const b = await bus();
        const e = studentEvent('A');
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) d.term({ code: 'CONTRACT_INVALID', message: 'bad' });
        });
        await b.publish('edu.student', [e]);
        await b.idle('edu.student', 'store');
        await b.publish('edu.student', [e]);
        await b.idle('edu.student', 'store');
        expect((await b.dlq.list()).items).toHaveLength(1);
      });
    });

    describe('consumer groups and at-least-once', () => {
      it('shares a group between subscriptions: each event handled once, per-key order kept', async () => {
        const b = await bus();
        const handledBy = new Map<string, number>();
        const orderByKey = new Map<string, number[]>();
        const bySub = [0, 0];
        for (const sub of [0, 1]) {
          await b.subscribe('edu.student', 'store', async (batch) => {
            bySub[sub]! += batch.length;
            await new Promise((resolve) => setTimeout(resolve, 2));
            for (const d of batch) {
              handledBy.set(d.event.id, (handledBy.get(d.event.id) ?? 0) + 1);
              const list = orderByKey.get(d.event.partitionkey) ?? [];
              list.push(dataSeq(d));
              orderByKey.set(d.event.partitionkey, list);
            }
          }, { maxBatch: 10 });
        }
        const events = Array.from({ length: 200 }, (_, i) => studentEvent(`K${i % 25}`));
        await b.publish('edu.student', events);
        await b.idle('edu.student', 'store');
        expect(handledBy.size).toBe(200);
        expect([...handledBy.values()].every((n) => n === 1)).toBe(true);
        for (const list of orderByKey.values()) expect(list).toEqual([...list].sort((x, y) => x - y));
        expect(bySub[0]).toBeGreaterThan(0);
        expect(bySub[1]).toBeGreaterThan(0);
      });

      it('closing a subscription lets its in-flight batch finish and commit; a new subscription resumes after it', async () => {
        const b = await bus();
        const events = Array.from({ length: 6 }, (_, i) => studentEvent(`K${i}`));
        await b.publish('edu.student', events);
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let started!: () => void;
        const inFlight = new Promise<void>((resolve) => (started = resolve));
        const first: string[] = [];
        const sub = await b.subscribe('edu.student', 'store', async (batch) => {
          started();
          await gate;
          for (const d of batch) first.push(d.event.id);
        }, { maxBatch: 3 });
        await inFlight;
        const closing = sub.close();
        release();
        await closing;
        expect(first).toEqual(events.slice(0, 3).map((e) => e.id));
        const second: string[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) second.push(d.event.id);
        });
        await b.idle('edu.student', 'store');
        expect(second).toEqual(events.slice(3).map((e) => e.id));
      });

      it('redelivers an event still waiting for its retry after the subscription is closed and reopened', async () => {
        const b = await bus();
        const events = [studentEvent('A'), studentEvent('B'), studentEvent('A')];
        await b.publish('edu.student', events);
        const firstRun: string[] = [];
        const sub = await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) {
            if (d.event.id === events[0]!.id) d.nak(60_000);
            else firstRun.push(d.event.id);
          }
        });
        await expect.poll(() => firstRun.length).toBe(1);
        await sub.close();
        const secondRun: string[] = [];
        await b.subscribe('edu.student', 'store', (batch) => {
          for (const d of batch) secondRun.push(d.event.id);
        });
        await b.idle('edu.student', 'store');
        expect(firstRun).toEqual([events[1]!.id]);
        // B was acked and is absorbed by dedupe; A and the A behind it are delivered.
        expect(secondRun).toEqual([events[0]!.id, events[2]!.id]);
      });

      it('idle() waits for retries to settle and times out with BUS_IDLE_TIMEOUT when nothing consumes', async () => {
        const b = await bus();
        await b.publish('edu.student', [studentEvent('A')]);
        expect(await codeOf(b.idle('edu.student', 'nobody', 50))).toBe('BUS_IDLE_TIMEOUT');
        let calls = 0;
        await b.subscribe('edu.student', 'store', (batch) => {
          calls++;
          if (calls < 3) batch[0]!.nak(5);
        });
        await b.idle('edu.student', 'store');
        expect(calls).toBe(3);
      });
    });

    describe('lifecycle', () => {
      it('reports health and refuses work after close (BUS_CLOSED)', async () => {
        const b = await bus();
        const health = await b.health();
        expect(health.ok).toBe(true);
        expect(health.transport).toBe(b.transport);
        await b.close();
        expect((await b.health()).ok).toBe(false);
        expect(await codeOf(b.publish('edu.student', [studentEvent('A')]))).toBe('BUS_CLOSED');
        expect(await codeOf(b.subscribe('edu.student', 'store', () => {}))).toBe('BUS_CLOSED');
      });
    });
  });
}
