// The consumer engine shared by the memory and SQLite transports. A transport only provides a synchronous
// `BusStore` (append-only log per topic, committed positions, dedupe keys, DLQ); everything that decides
// what is delivered when — batching, per-key order, backoff, dead-lettering, dedupe, commits — lives here,
// so the two transports cannot drift apart.
import { VochubError } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { DEFAULT_MAX_EVENT_BYTES, checkName, dedupeKey, encodeEvents } from './envelope.ts';
import { backoffDelay, resolveRetryPolicy } from './retry.ts';
import type {
  BatchHandler, Bus, BusHealth, CloudEvent, DeadLetter, DeadLetterQuery, DeadLetterQueue, Delivery, RetryPolicy,
  SubscribeOptions, Subscription, TermReason,
} from './types.ts';

export interface StoredEvent {
  seq: number;
  json: string;
  /** Set on DLQ replays: only this group receives the row. */
  targetGroup: string | null;
  replay: boolean;
  /** The group had already settled this event's (source, id) when the row was read. */
  settled: boolean;
}

export interface NewDeadLetter {
  topic: string;
  group: string;
  member: string;
  eventJson: string;
  reason: TermReason;
  attempts: number;
  firstFailureAt: string;
  lastFailureAt: string;
}

export interface MaintenanceResult {
  prunedLog: number;
  prunedDedupe: number;
}

/** Synchronous storage of one transport. Every method that writes more than one thing is one transaction. */
export interface BusStore {
  readonly transport: 'memory' | 'sqlite';
  /** `dedupeKeys[i]` is `dedupeKey(source, id)` of `rows[i]`. */
  append(topic: string, rows: readonly string[], dedupeKeys: readonly string[], targetGroup?: string): void;
  /** Rows of the topic after `afterSeq`, flagged `settled` when `group` already settled their dedupe key. */
  read(topic: string, group: string, afterSeq: number, limit: number): StoredEvent[];
  /** Highest offset ever written to the topic (0 when empty). */
  head(topic: string): number;
  /** Creates the group's committed position if new; returns the committed position. */
  openGroup(topic: string, group: string, startAt: 'earliest' | 'latest', now: number): number;
  position(topic: string, group: string): number | undefined;
  isSettled(topic: string, group: string, dedupeKey: string): boolean;
  /** Position, dedupe keys and DLQ rows in one transaction. Positions never move backwards. */
  commit(topic: string, group: string, position: number, settled: readonly string[], dead: readonly NewDeadLetter[], now: number): void;
  dlqList(query: DeadLetterQuery): { items: DeadLetter[]; next?: string };
  dlqGet(id: string): DeadLetter | undefined;
  /** Appends the (fixed) event for the entry's group and marks the entry replayed, in one transaction. */
  dlqReplay(id: string, fix?: { data?: unknown }): DeadLetter;
  dlqDiscard(id: string): void;
  maintain(now: number, dedupeRetentionMs: number, logRetentionMs: number): MaintenanceResult;
  /** True when another process wrote to the shared store since the last call. */
  changedElsewhere(): boolean;
  health(): BusHealth;
  close(): void;
}

export interface EngineOptions {
  /** Largest accepted event (JSON bytes, UTF-8). Default 1 MiB, like Kafka's default message.max.bytes. */
  maxEventBytes?: number;
  /** How long a settled (source, id) is remembered for dedupe. Default 7 days. */
  dedupeRetentionMs?: number;
  /** How long a log entry below every group's committed position is kept before pruning. Default 1 day. */
  logRetentionMs?: number;
  /** Interval of the pruning pass; 0 turns the timer off (call `maintain()` yourself). Default 60 s. */
  maintenanceIntervalMs?: number;
  /** Poll interval for writes by other processes (sqlite). Default 50 ms. */
  pollIntervalMs?: number;
  /** Most unsettled events a group holds in memory (read-ahead past a blocked key). Default 4096. */
  windowSize?: number;
  logger?: Logger;
}

const DAY = 24 * 60 * 60 * 1000;

interface Pending {
  seq: number;
  json: string;
  event: CloudEvent;
  key: string;
  dedupeKey: string;
  replay: boolean;
  attempts: number;
  availableAt: number;
  inFlight: boolean;
  /** Another event with the same (source, id) was unsettled in the window when this one was read. */
  recheck: boolean;
  firstFailureAt?: string;
  lastError?: TermReason;
}

type Settlement =
  | { kind: 'ack' }
  | { kind: 'nak'; delayMs?: number; reason?: TermReason }
  | { kind: 'term'; reason: TermReason };

class BusDelivery implements Delivery {
  settlement: Settlement | undefined;
  sealed = false;
  readonly attempt: number;

  constructor(readonly pending: Pending, readonly topic: string) {
    this.attempt = pending.attempts;
  }

  get event(): CloudEvent {
    return this.pending.event;
  }

  ack(): void {
    this.settle({ kind: 'ack' });
  }

  nak(delayMs?: number): void {
    if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
      throw new VochubError('BUS_OPTIONS_INVALID', 'nak 延迟必须是非负数 / nak delay must be a non-negative number', { status: 400 });
    }
    this.settle({ kind: 'nak', delayMs });
  }

  term(reason: TermReason): void {
    if (!reason || typeof reason.code !== 'string' || reason.code.length === 0) {
      throw new VochubError('BUS_OPTIONS_INVALID', 'term 需要原因代码 / term needs a reason with a code', { status: 400 });
    }
    this.settle({ kind: 'term', reason: { ...reason, message: String(reason.message ?? '') } });
  }

  private settle(settlement: Settlement): void {
    if (this.settlement || this.sealed) {
      throw new VochubError('BUS_DELIVERY_SETTLED', '该投递已处理 / this delivery is already settled (ack, nak or term once)', {
        status: 500,
      });
    }
    this.settlement = settlement;
  }
}

class GroupSubscription implements Subscription {
  busy = false;
  closed = false;
  current: Promise<void> | undefined;

  constructor(
    readonly consumer: GroupConsumer,
    readonly topic: string,
    readonly group: string,
    readonly handler: BatchHandler,
    readonly maxBatch: number,
    readonly retry: RetryPolicy,
  ) {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.current) await this.current;
    this.consumer.remove(this);
  }
}

/** All subscriptions of one (topic, group) in this process: they share one window, so work is split by key. */
class GroupConsumer {
  readonly subs: GroupSubscription[] = [];
  private readonly window = new Map<number, Pending>();
  /** Dedupe keys in the window → how many times, to spot a duplicate read while its twin is still unsettled. */
  private readonly windowKeys = new Map<string, number>();
  private cursor: number;
  private committed: number;
  private caughtUp = false;
  private scheduled = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = Infinity;

  constructor(
    private readonly engine: StoreBus,
    readonly topic: string,
    readonly group: string,
    startAt: 'earliest' | 'latest',
  ) {
    this.committed = engine.store.openGroup(topic, group, startAt, Date.now());
    this.cursor = this.committed;
  }

  add(sub: GroupSubscription): void {
    this.subs.push(sub);
    this.schedule();
  }

  remove(sub: GroupSubscription): void {
    const i = this.subs.indexOf(sub);
    if (i >= 0) this.subs.splice(i, 1);
    if (this.subs.length === 0) this.stop();
  }

  /** New rows may exist (publish in this process, or a write seen by the poll). */
  wake(): void {
    this.caughtUp = false;
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.window.clear();
    this.windowKeys.clear();
    this.engine.consumerStopped(this);
  }

  private refill(): void {
    const room = this.engine.windowSize - this.window.size;
    if (this.caughtUp || room < this.engine.windowSize / 4) return;
    const rows = this.engine.store.read(this.topic, this.group, this.cursor, room);
    if (rows.length < room) this.caughtUp = true;
    for (const row of rows) {
      this.cursor = row.seq;
      if (row.settled || (row.targetGroup !== null && row.targetGroup !== this.group)) continue;
      const event = JSON.parse(row.json) as CloudEvent;
      const key = dedupeKey(event.source, event.id);
      const twins = this.windowKeys.get(key) ?? 0;
      this.windowKeys.set(key, twins + 1);
      this.window.set(row.seq, {
        seq: row.seq,
        json: row.json,
        event,
        key: event.partitionkey,
        dedupeKey: key,
        replay: row.replay,
        attempts: 0,
        availableAt: 0,
        inFlight: false,
        recheck: twins > 0 && !row.replay,
      });
    }
  }

  private forget(p: Pending): void {
    this.window.delete(p.seq);
    const n = this.windowKeys.get(p.dedupeKey) ?? 1;
    if (n <= 1) this.windowKeys.delete(p.dedupeKey);
    else this.windowKeys.set(p.dedupeKey, n - 1);
  }

  private dispatch(): void {
    if (this.stopped) return;
    const store = this.engine.store;
    const now = Date.now();
    let nextWake = Infinity;
    try {
      this.refill();
      for (const sub of this.subs) {
        if (sub.busy || sub.closed) continue;
        const batch: Pending[] = [];
        // Keys with an earlier unsettled event: a later event of the same key waits behind it.
        const blocked = new Set<string>();
        for (const p of this.window.values()) {
          if (blocked.has(p.key)) continue;
          if (p.inFlight) {
            blocked.add(p.key);
            continue;
          }
          if (p.availableAt > now) {
            blocked.add(p.key);
            if (p.availableAt < nextWake) nextWake = p.availableAt;
            continue;
          }
          // Rows already settled when read never enter the window; a twin read while the first copy was still
          // pending is checked again here, after the first copy's commit. Replays skip dedupe: the original's
          // (source, id) was recorded when it went to the DLQ.
          if (p.recheck) {
            p.recheck = false;
            if (store.isSettled(this.topic, this.group, p.dedupeKey)) {
              this.forget(p);
              continue;
            }
          }
          blocked.add(p.key);
          p.inFlight = true;
          batch.push(p);
          if (batch.length >= sub.maxBatch) break;
        }
        if (batch.length === 0) break;
        this.run(sub, batch);
      }
      // Dedupe skips and rows for other groups advance the position without any handler running.
      const position = this.position(undefined);
      if (position > this.committed) {
        store.commit(this.topic, this.group, position, [], [], now);
        this.committed = position;
      }
      if (!this.caughtUp && this.engine.windowSize - this.window.size >= this.engine.windowSize / 4) this.schedule();
    } catch (error) {
      this.engine.reportError('dispatch', error);
      nextWake = Math.min(nextWake, now + this.engine.pollIntervalMs * 4);
    }
    this.armRetry(nextWake, now);
  }

  private armRetry(at: number, now: number): void {
    if (at === Infinity || this.stopped) return;
    if (this.retryTimer && this.retryAt <= at) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAt = Infinity;
      this.schedule();
    }, Math.max(0, at - now));
  }

  /** Committed position if `settling` were removed: everything below the first unsettled event. */
  private position(settling: Set<Pending> | undefined): number {
    for (const p of this.window.values()) {
      if (!settling || !settling.has(p)) return p.seq - 1;
    }
    return this.cursor;
  }

  private run(sub: GroupSubscription, batch: Pending[]): void {
    sub.busy = true;
    const deliveries = batch.map((p) => {
      p.attempts++;
      return new BusDelivery(p, this.topic);
    });
    const work = (async () => {
      let failure: unknown;
      let threw = false;
      try {
        await sub.handler(deliveries);
      } catch (error) {
        threw = true;
        failure = error;
      }
      for (const d of deliveries) d.sealed = true;
      this.settle(sub, deliveries, threw, failure);
    })();
    sub.current = work.finally(() => {
      sub.busy = false;
      sub.current = undefined;
      this.schedule();
    });
  }

  private settle(sub: GroupSubscription, deliveries: BusDelivery[], threw: boolean, failure: unknown): void {
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    const settled: string[] = [];
    const dead: NewDeadLetter[] = [];
    const removing = new Set<Pending>();
    const retrying: { p: Pending; delayMs: number | undefined; reason: TermReason }[] = [];
    const handlerError: TermReason | undefined = threw
      ? { code: 'HANDLER_ERROR', message: failure instanceof Error ? failure.message : String(failure), stage: 'deliver' }
      : undefined;

    for (const d of deliveries) {
      const p = d.pending;
      const s: Settlement = d.settlement ?? (handlerError ? { kind: 'nak', reason: handlerError } : { kind: 'ack' });
      if (s.kind === 'ack') {
        removing.add(p);
        settled.push(p.dedupeKey);
        continue;
      }
      if (s.kind === 'term') {
        removing.add(p);
        settled.push(p.dedupeKey);
        dead.push(this.deadLetter(p, s.reason, nowIso));
        continue;
      }
      const reason = s.reason ?? { code: 'NAKED', message: 'nak', stage: 'deliver' };
      if (p.attempts >= sub.retry.maxAttempts) {
        removing.add(p);
        settled.push(p.dedupeKey);
        dead.push(this.deadLetter(p, {
          ...reason,
          code: 'RETRIES_EXHAUSTED',
          message: `重试次数已用尽 / retries exhausted after ${p.attempts} attempts; last: ${reason.code}: ${reason.message}`,
        }, nowIso));
        continue;
      }
      retrying.push({ p, delayMs: s.delayMs, reason });
    }

    try {
      const position = Math.max(this.position(removing), this.committed);
      this.engine.store.commit(this.topic, this.group, position, settled, dead, now);
      this.committed = position;
    } catch (error) {
      // Nothing was committed: every delivery of the batch is retried, which at-least-once allows.
      this.engine.reportError('commit', error);
      for (const d of deliveries) {
        d.pending.inFlight = false;
        d.pending.availableAt = now + backoffDelay(d.pending.attempts, sub.retry);
      }
      return;
    }
    for (const p of removing) this.forget(p);
    for (const { p, delayMs, reason } of retrying) {
      p.inFlight = false;
      p.firstFailureAt ??= nowIso;
      p.lastError = reason;
      p.availableAt = now + (delayMs ?? backoffDelay(p.attempts, sub.retry));
    }
  }

  private deadLetter(p: Pending, reason: TermReason, nowIso: string): NewDeadLetter {
    return {
      topic: this.topic,
      group: this.group,
      member: p.event.member,
      eventJson: p.json,
      reason,
      attempts: p.attempts,
      firstFailureAt: p.firstFailureAt ?? nowIso,
      lastFailureAt: nowIso,
    };
  }
}

/** A Bus over a synchronous store. Transports construct it with their store. */
export class StoreBus implements Bus {
  readonly transport: 'memory' | 'sqlite';
  readonly dlq: DeadLetterQueue;
  readonly windowSize: number;
  readonly pollIntervalMs: number;
  private readonly maxEventBytes: number;
  private readonly dedupeRetentionMs: number;
  private readonly logRetentionMs: number;
  private readonly logger: Logger;
  private readonly consumers = new Map<string, GroupConsumer>();
  private readonly pollTimer: NodeJS.Timeout | undefined;
  private readonly maintenanceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastError: string | undefined;

  constructor(readonly store: BusStore, options: EngineOptions = {}) {
    this.transport = store.transport;
    this.maxEventBytes = positive(options.maxEventBytes, DEFAULT_MAX_EVENT_BYTES, 'maxEventBytes');
    this.dedupeRetentionMs = positive(options.dedupeRetentionMs, 7 * DAY, 'dedupeRetentionMs', true);
    this.logRetentionMs = positive(options.logRetentionMs, DAY, 'logRetentionMs', true);
    this.pollIntervalMs = positive(options.pollIntervalMs, 50, 'pollIntervalMs');
    this.windowSize = positive(options.windowSize, 4096, 'windowSize');
    this.logger = options.logger ?? silentLogger;
    const maintenanceMs = positive(options.maintenanceIntervalMs, 60_000, 'maintenanceIntervalMs', true);
    if (store.transport === 'sqlite') {
      this.pollTimer = setInterval(() => this.poll(), this.pollIntervalMs);
      this.pollTimer.unref();
    }
    if (maintenanceMs > 0) {
      this.maintenanceTimer = setInterval(() => {
        try {
          this.maintain();
        } catch (error) {
          this.reportError('maintenance', error);
        }
      }, maintenanceMs);
      this.maintenanceTimer.unref();
    }
    const store_ = store;
    const wakeTopic = (topic: string): void => this.wakeTopic(topic);
    const guard = (): void => this.assertOpen();
    this.dlq = {
      async list(query: DeadLetterQuery = {}) {
        guard();
        return store_.dlqList(query);
      },
      async get(id: string) {
        guard();
        return store_.dlqGet(id);
      },
      async replay(id: string, fix?: { data?: unknown }) {
        guard();
        const entry = store_.dlqReplay(id, fix);
        wakeTopic(entry.topic);
      },
      async discard(id: string) {
        guard();
        store_.dlqDiscard(id);
      },
    };
  }

  async publish(topic: string, events: CloudEvent[]): Promise<void> {
    this.assertOpen();
    checkName('topic', topic);
    const rows = encodeEvents(events, this.maxEventBytes);
    if (rows.length === 0) return;
    const keys = new Array<string>(events.length);
    for (let i = 0; i < events.length; i++) keys[i] = dedupeKey(events[i]!.source, events[i]!.id);
    this.store.append(topic, rows, keys);
    this.wakeTopic(topic);
  }

  async subscribe<T = unknown>(topic: string, group: string, handler: BatchHandler<T>, options: SubscribeOptions = {}): Promise<Subscription> {
    this.assertOpen();
    checkName('topic', topic);
    checkName('group', group);
    if (typeof handler !== 'function') {
      throw new VochubError('BUS_OPTIONS_INVALID', '处理函数必须是函数 / handler must be a function', { status: 400 });
    }
    const maxBatch = positive(options.maxBatch, 256, 'maxBatch');
    const retry = resolveRetryPolicy(options.retry);
    const key = `${topic}\u0000${group}`;
    let consumer = this.consumers.get(key);
    if (!consumer) {
      consumer = new GroupConsumer(this, topic, group, options.startAt ?? 'earliest');
      this.consumers.set(key, consumer);
    }
    const sub = new GroupSubscription(consumer, topic, group, handler as BatchHandler, maxBatch, retry);
    consumer.add(sub);
    return sub;
  }

  async idle(topic: string, group: string, timeoutMs = 30_000): Promise<void> {
    this.assertOpen();
    const head = this.store.head(topic);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const position = this.store.position(topic, group) ?? -1;
      if (position >= head) return;
      if (Date.now() >= deadline) {
        throw new VochubError('BUS_IDLE_TIMEOUT', `等待消费组空闲超时 / group ${group} on ${topic} did not settle within ${timeoutMs} ms`, {
          status: 504,
          details: { topic, group, position, head },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async health(): Promise<BusHealth> {
    if (this.closed) return { ok: false, transport: this.transport, detail: 'closed' };
    const health = this.store.health();
    if (health.ok && this.lastError) return { ...health, detail: `${health.detail ?? ''} last error: ${this.lastError}`.trim() };
    return health;
  }

  /** Prunes dedupe keys and log entries past their retention; runs on a timer, callable for tests and operators. */
  maintain(now = Date.now()): MaintenanceResult {
    this.assertOpen();
    return this.store.maintain(now, this.dedupeRetentionMs, this.logRetentionMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const subs = [...this.consumers.values()].flatMap((c) => [...c.subs]);
    await Promise.all(subs.map((s) => s.close()));
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    this.store.close();
  }

  consumerStopped(consumer: GroupConsumer): void {
    const key = `${consumer.topic}\u0000${consumer.group}`;
    if (this.consumers.get(key) === consumer) this.consumers.delete(key);
  }

  reportError(where: string, error: unknown): void {
    this.lastError = `${where}: ${error instanceof Error ? error.message : String(error)}`;
    this.logger.error({ err: error, where }, '消息总线错误 / bus error');
  }

  private wakeTopic(topic: string): void {
    for (const consumer of this.consumers.values()) if (consumer.topic === topic) consumer.wake();
  }

  private poll(): void {
    if (this.closed || this.consumers.size === 0) return;
    try {
      if (this.store.changedElsewhere()) for (const consumer of this.consumers.values()) consumer.wake();
    } catch (error) {
      this.reportError('poll', error);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new VochubError('BUS_CLOSED', '消息总线已关闭 / the bus is closed', { status: 503 });
  }
}

function positive(value: number | undefined, fallback: number, name: string, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new VochubError('BUS_OPTIONS_INVALID', `选项无效 / option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`, {
      status: 400,
      details: { option: name },
    });
  }
  return value;
}
