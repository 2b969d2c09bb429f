// The Kafka transport (node-rdkafka): the same Bus semantics as the embedded transports, on a real broker.
//
// Mapping (details and reasons: docs/operations/kafka.md):
//   bus topic T          → Kafka topic `<prefix>T` (partitions: option, key = partitionkey, murmur2 like Java clients)
//   group G on T         → Kafka consumer group `<prefix>G.T`, subscribed to `<prefix>T` and `<prefix>_retry.T.G`
//   DLQ replay to G      → produced to `<prefix>_retry.T.G` (only that group reads it)
//   dead letters         → compacted topic `<prefix>_dlq`, one record per entry state (key = entry id)
//   dedupe (source, id)  → BusDedupe scope `<prefix>T:G` (in-process default; Redis with several workers)
// Offsets are committed per partition only up to the first unsettled message, after the handler settled, the dedupe
// keys were remembered and dead letters were acked by the broker; on revoke the finished work is committed before the
// partitions are released. So a crash or rebalance redelivers at most the unsettled tail, and dedupe absorbs it.
import { randomUUID } from 'node:crypto';
import { VochubError } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { DEFAULT_MAX_EVENT_BYTES, checkName, dedupeKey, encodeEvents } from './envelope.ts';
import { call, loadRdkafka, type Header, type KAdmin, type KConsumer, type KError, type KMessage, type KProducer, type Rdkafka, type TopicPartition } from './kafka-client.ts';
import { H_REPLAY, decodeMessage, encodeHeaders, encodeValue } from './kafka-codec.ts';
import { createMemoryDedupe } from './kafka-dedupe.ts';
import { KafkaDlq } from './kafka-dlq.ts';
import { backoffDelay, resolveRetryPolicy } from './retry.ts';
import type {
  BatchHandler, Bus, BusDedupe, BusHealth, CloudEvent, DeadLetter, DeadLetterQueue, Delivery, RetryPolicy, SubscribeOptions,
  Subscription, TermReason,
} from './types.ts';

const DAY = 24 * 60 * 60 * 1000;
/** librdkafka / broker error codes we treat specially. */
const ERR_REVOKE = -174;
const ERR_ASSIGN = -175;
const ERR_QUEUE_FULL = -184;
const ERR_MSG_SIZE_TOO_LARGE = 10;
const ERR_TOPIC_ALREADY_EXISTS = 36;

export interface KafkaBusOptions {
  /** Bootstrap servers, e.g. `127.0.0.1:9092` or a list. */
  brokers: string | string[];
  /** Prefix of every Kafka topic and group this bus uses (default `vochub.`): several hubs can share a cluster. */
  topicPrefix?: string;
  /** Partitions of topics the bus creates (default 6). Order is per partition key, across partitions there is none. */
  partitions?: number;
  replicationFactor?: number;
  clientId?: string;
  /** Largest accepted event (JSON bytes). Default 1 MiB; topics are created with room for it plus headers. */
  maxEventBytes?: number;
  /** Shared dedupe of (source, id) per group; default: this process only. Pass `hub.redis.dedupe` with several workers. */
  dedupe?: BusDedupe;
  /** How long a settled (source, id) is remembered (default 7 days). */
  dedupeRetentionMs?: number;
  /** Most unsettled messages a group holds in memory in this process (default 4096). */
  windowSize?: number;
  /** Longest wait for in-flight handlers when partitions are revoked (default 15 s). */
  revokeWaitMs?: number;
  /** Extra librdkafka settings for producer and consumers (e.g. security.protocol, sasl.*). */
  rdkafka?: Record<string, string | number | boolean>;
  logger?: Logger;
  [option: string]: unknown;
}

/** Opens a Kafka bus: loads node-rdkafka (BUS_TRANSPORT_UNAVAILABLE when missing), connects, creates the DLQ topic. */
export async function createKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const kafka = await loadRdkafka();
  const bus = new KafkaBus(kafka, options);
  try {
    await bus.connect();
  } catch (error) {
    await bus.close().catch(() => {});
    throw error;
  }
  return bus;
}

interface PartState {
  topic: string;
  partition: number;
  /** Next offset to read (last seen + 1); -1 before the first message. */
  next: number;
  committed: number;
  /** Offsets in the window, ascending (insertion order). */
  pending: Set<number>;
  revoked: boolean;
}

interface Pending {
  part: PartState;
  offset: number;
  event: CloudEvent;
  key: string;
  dedupeKey: string;
  replay: boolean;
  attempts: number;
  availableAt: number;
  inFlight: boolean;
  recheck: boolean;
  firstFailureAt?: string;
  lastError?: TermReason;
}

type Settlement = { kind: 'ack' } | { kind: 'nak'; delayMs?: number; reason?: TermReason } | { kind: 'term'; reason: TermReason };

class KafkaDelivery implements Delivery {
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
      throw new VochubError('BUS_DELIVERY_SETTLED', '该投递已处理 / this delivery is already settled (ack, nak or term once)', { status: 500 });
    }
    this.settlement = settlement;
  }
}

class KafkaSubscription implements Subscription {
  busy = false;
  closed = false;
  current: Promise<void> | undefined;
  constructor(
    readonly owner: KafkaGroup,
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
    await this.owner.remove(this);
  }
}

/** One consumer-group member for (topic, group) in this process; its subscriptions share its window. */
class KafkaGroup {
  readonly subs: KafkaSubscription[] = [];
  readonly groupId: string;
  readonly mainTopic: string;
  readonly retryTopic: string;
  readonly scope: string;
  consumer!: KConsumer;
  private readonly window = new Map<string, Pending>();
  private readonly windowKeys = new Map<string, number>();
  private readonly recentlySettled = new Set<string>();
  private readonly parts = new Map<string, PartState>();
  private stopped = false;
  private scheduled = false;
  private commitScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = Infinity;
  private loopDone: Promise<void> | undefined;
  private roomWaiter: (() => void) | undefined;
  private rebalancing: Promise<void> = Promise.resolve();
  private firstAssignment!: Promise<void>;
  private assigned!: () => void;

  constructor(
    private readonly bus: KafkaBus,
    readonly topic: string,
    readonly group: string,
    private readonly startAt: 'earliest' | 'latest',
  ) {
    this.groupId = bus.groupId(topic, group);
    this.mainTopic = bus.kafkaTopic(topic);
    this.retryTopic = bus.retryTopic(topic, group);
    this.scope = `${this.mainTopic}:${group}`;
  }

  async start(): Promise<void> {
    await Promise.all([this.bus.ensureTopic(this.mainTopic), this.bus.ensureTopic(this.retryTopic)]);
    this.firstAssignment = new Promise<void>((resolve) => (this.assigned = resolve));
    this.consumer = new this.bus.kafka.KafkaConsumer({
      ...this.bus.baseConfig(),
      'group.id': this.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      // Range keeps partition i of the main and the retry topic on one member (same partition count).
      'partition.assignment.strategy': 'range',
      'fetch.wait.max.ms': 50,
      'session.timeout.ms': 10_000,
      'heartbeat.interval.ms': 1000,
      'max.poll.interval.ms': 300_000,
      'topic.metadata.refresh.interval.ms': 10_000,
      rebalance_cb: (err: KError | undefined, assignment: TopicPartition[]) => this.onRebalance(err, assignment),
      offset_commit_cb: (err: KError | undefined) => {
        // -174/-175 or REBALANCE_IN_PROGRESS: the partition moved; the next owner re-reads the tail (dedupe absorbs it).
        if (err) this.bus.reportError('commit', err);
      },
    }, { 'auto.offset.reset': this.startAt === 'latest' ? 'latest' : 'earliest' });
    this.consumer.setDefaultConsumeTimeout(100);
    await call<unknown>((cb) => this.consumer.connect({ timeout: 15_000 }, (err) => cb(err, undefined)));
    this.consumer.subscribe([this.mainTopic, this.retryTopic]);
    this.loopDone = this.loop();
    await withTimeout(this.firstAssignment, 60_000, () => new VochubError('BUS_UNAVAILABLE', `消费组未分配分区 / group ${this.groupId} got no partitions in 60 s`, { status: 503 }));
  }

  add(sub: KafkaSubscription): void {
    this.subs.push(sub);
    this.schedule();
  }

  async remove(sub: KafkaSubscription): Promise<void> {
    const i = this.subs.indexOf(sub);
    if (i >= 0) this.subs.splice(i, 1);
    if (this.subs.length === 0) await this.stop();
  }

  /** Committed offsets of this group (idle()). */
  committed(tps: TopicPartition[]): Promise<TopicPartition[]> {
    return call((cb) => this.consumer.committed(tps, 5000, cb));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeLoop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.loopDone;
    await Promise.all(this.subs.map((s) => s.current));
    await this.rebalancing;
    this.commitNow(true);
    this.bus.groupStopped(this);
    // disconnect() leaves the group (revoke → our handler commits again, harmlessly) so the others rebalance at once.
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }

  // ---- rebalance ---------------------------------------------------------------------------------------------
  private onRebalance(err: KError | undefined, assignment: TopicPartition[]): void {
    const code = err?.code;
    this.rebalancing = this.rebalancing.then(async () => {
      try {
        if (code === ERR_ASSIGN) await this.onAssign(assignment);
        else if (code === ERR_REVOKE) await this.onRevoke();
        else this.bus.reportError('rebalance', err);
      } catch (error) {
        this.bus.reportError('rebalance', error);
        try {
          if (code === ERR_ASSIGN) this.consumer.assign(assignment);
          else this.consumer.unassign();
        } catch {
          /* disconnected meanwhile */
        }
      }
    });
  }

  private async onAssign(assignment: TopicPartition[]): Promise<void> {
    const tps = assignment.map((tp) => ({ topic: tp.topic, partition: tp.partition }));
    const committed = tps.length > 0 ? await this.committed(tps) : [];
    const start: TopicPartition[] = [];
    const fresh: TopicPartition[] = [];
    for (const tp of committed) {
      const offset = tp.offset !== undefined && tp.offset >= 0 ? tp.offset : -1;
      this.parts.set(partKey(tp.topic, tp.partition), { topic: tp.topic, partition: tp.partition, next: offset, committed: offset, pending: new Set(), revoked: false });
      if (offset < 0 && this.startAt === 'latest' && tp.topic === this.mainTopic) fresh.push(tp);
      else start.push(offset >= 0 ? { ...tp, offset } : { topic: tp.topic, partition: tp.partition });
    }
    // A new group starting at 'latest': pin and commit the current end now, so events published after subscribe()
    // resolved are never skipped by a later offset reset.
    if (fresh.length > 0) {
      const pinned: TopicPartition[] = [];
      for (const tp of fresh) {
        const { highOffset } = await this.bus.watermarks(tp.topic, tp.partition);
        pinned.push({ topic: tp.topic, partition: tp.partition, offset: highOffset });
        const part = this.parts.get(partKey(tp.topic, tp.partition))!;
        part.next = part.committed = highOffset;
      }
      this.consumer.commitSync(pinned);
      start.push(...pinned);
    }
    if (this.stopped) return;
    this.consumer.assign(start);
    this.assigned();
    this.schedule();
  }

  private async onRevoke(): Promise<void> {
    for (const part of this.parts.values()) part.revoked = true;
    // Finish in-flight work (bounded), then commit it before the partitions go to another member.
    const inFlight = this.subs.map((s) => s.current).filter(Boolean);
    if (inFlight.length > 0) await withTimeout(Promise.all(inFlight), this.bus.revokeWaitMs, () => new Error('revoke wait')).catch(() => {});
    this.commitNow(true, true);
    this.window.clear();
    this.windowKeys.clear();
    this.parts.clear();
    try {
      this.consumer.unassign();
    } catch {
      /* disconnected */
    }
  }

  // ---- fetch ---------------------------------------------------------------------------------------------------
  private async loop(): Promise<void> {
    const size = this.bus.windowSize;
    while (!this.stopped) {
      const room = size - this.window.size;
      if (room < size / 4) {
        await new Promise<void>((resolve) => {
          this.roomWaiter = resolve;
        });
        continue;
      }
      let messages: KMessage[];
      try {
        messages = await call<KMessage[]>((cb) => this.consumer.consume(Math.min(room, 2000), cb));
      } catch (error) {
        if (this.stopped) break;
        this.bus.reportError('consume', error);
        await sleep(200);
        continue;
      }
      if (messages.length > 0) {
        try {
          await this.ingest(messages);
        } catch (error) {
          this.bus.reportError('ingest', error);
        }
      }
    }
  }

  private wakeLoop(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }

  private async ingest(messages: KMessage[]): Promise<void> {
    const fresh: { part: PartState; message: KMessage; event: CloudEvent; dedupeKey: string; replay: boolean }[] = [];
    const touched = new Set<PartState>();
    for (const message of messages) {
      const part = this.parts.get(partKey(message.topic, message.partition));
      if (!part || part.revoked || message.offset < part.next) continue;
      part.next = message.offset + 1;
      touched.add(part);
      try {
        const { event, meta } = decodeMessage(message);
        fresh.push({ part, message, event, dedupeKey: dedupeKey(String(event.source), String(event.id)), replay: meta[H_REPLAY] === '1' });
      } catch (error) {
        // Not a CloudEvent of ours (foreign producer, corrupt value): skipped and reported, never blocks the partition.
        this.bus.reportError(`decode ${message.topic}/${message.partition}@${message.offset}`, error);
      }
    }
    const ordinary = fresh.filter((f) => !f.replay).map((f) => f.dedupeKey);
    const unseen = new Set(ordinary.length > 0 ? await this.bus.dedupe.filterNew(this.scope, ordinary) : []);
    for (const f of fresh) {
      if (f.part.revoked) continue;
      // Replays skip dedupe: the original's (source, id) was remembered when it went to the DLQ.
      if (!f.replay && !unseen.has(f.dedupeKey)) continue;
      const twins = this.windowKeys.get(f.dedupeKey) ?? 0;
      this.windowKeys.set(f.dedupeKey, twins + 1);
      f.part.pending.add(f.message.offset);
      this.window.set(pendingKey(f.part, f.message.offset), {
        part: f.part,
        offset: f.message.offset,
        event: f.event,
        key: String(f.event.partitionkey),
        dedupeKey: f.dedupeKey,
        replay: f.replay,
        attempts: 0,
        availableAt: 0,
        inFlight: false,
        recheck: twins > 0 && !f.replay,
      });
    }
    for (const part of touched) this.dirty.add(part);
    this.scheduleCommit();
    this.schedule();
  }

  // ---- dispatch --------------------------------------------------------------------------------------------------
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private forget(p: Pending): void {
    this.window.delete(pendingKey(p.part, p.offset));
    p.part.pending.delete(p.offset);
    const n = this.windowKeys.get(p.dedupeKey) ?? 1;
    if (n <= 1) this.windowKeys.delete(p.dedupeKey);
    else this.windowKeys.set(p.dedupeKey, n - 1);
    this.dirty.add(p.part);
    if (this.window.size <= (this.bus.windowSize * 3) / 4) this.wakeLoop();
  }

  private dispatch(): void {
    if (this.stopped) return;
    const now = Date.now();
    let nextWake = Infinity;
    for (const sub of this.subs) {
      if (sub.busy || sub.closed) continue;
      const batch: Pending[] = [];
      const blocked = new Set<string>();
      for (const p of this.window.values()) {
        if (p.part.revoked || blocked.has(p.key)) continue;
        if (p.inFlight) {
          blocked.add(p.key);
          continue;
        }
        if (p.availableAt > now) {
          blocked.add(p.key);
          nextWake = Math.min(nextWake, p.availableAt);
          continue;
        }
        if (p.recheck) {
          p.recheck = false;
          if (this.recentlySettled.has(p.dedupeKey)) {
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
    this.scheduleCommit();
    if (nextWake !== Infinity) this.armRetry(nextWake, now);
  }

  private armRetry(at: number, now: number): void {
    if (this.stopped || (this.retryTimer && this.retryAt <= at)) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAt = Infinity;
      this.schedule();
    }, Math.max(0, at - now));
  }

  private run(sub: KafkaSubscription, batch: Pending[]): void {
    sub.busy = true;
    const deliveries = batch.map((p) => {
      p.attempts++;
      return new KafkaDelivery(p, this.topic);
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
      await this.settle(sub, deliveries, threw, failure);
    })();
    sub.current = work.finally(() => {
      sub.busy = false;
      sub.current = undefined;
      this.schedule();
    });
  }

  private async settle(sub: KafkaSubscription, deliveries: KafkaDelivery[], threw: boolean, failure: unknown): Promise<void> {
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    const settled: string[] = [];
    const removing: Pending[] = [];
    const dead: DeadLetter[] = [];
    const retrying: { p: Pending; delayMs: number | undefined; reason: TermReason }[] = [];
    const handlerError: TermReason | undefined = threw
      ? { code: 'HANDLER_ERROR', message: failure instanceof Error ? failure.message : String(failure), stage: 'deliver' }
      : undefined;
    for (const d of deliveries) {
      const p = d.pending;
      const s: Settlement = d.settlement ?? (handlerError ? { kind: 'nak', reason: handlerError } : { kind: 'ack' });
      if (s.kind === 'ack') {
        removing.push(p);
        settled.push(p.dedupeKey);
      } else if (s.kind === 'term') {
        removing.push(p);
        settled.push(p.dedupeKey);
        dead.push(this.deadLetter(p, s.reason, nowIso));
      } else {
        const reason = s.reason ?? { code: 'NAKED', message: 'nak', stage: 'deliver' };
        if (p.attempts >= sub.retry.maxAttempts) {
          removing.push(p);
          settled.push(p.dedupeKey);
          dead.push(this.deadLetter(p, {
            ...reason,
            code: 'RETRIES_EXHAUSTED',
            message: `重试次数已用尽 / retries exhausted after ${p.attempts} attempts; last: ${reason.code}: ${reason.message}`,
          }, nowIso));
        } else retrying.push({ p, delayMs: s.delayMs, reason });
      }
    }
    try {
      // Durable first (dead letters acked by the broker, dedupe keys remembered), then the offsets may move.
      if (dead.length > 0) await this.bus.dlqStore.write(dead);
      if (settled.length > 0) await this.bus.dedupe.remember(this.scope, settled, this.bus.dedupeRetentionMs);
    } catch (error) {
      this.bus.reportError('settle', error);
      for (const d of deliveries) {
        d.pending.inFlight = false;
        d.pending.availableAt = now + backoffDelay(d.pending.attempts, sub.retry);
      }
      return;
    }
    for (const p of removing) {
      this.forget(p);
      this.recentlySettled.add(p.dedupeKey);
    }
    if (this.recentlySettled.size > this.bus.windowSize * 4) {
      let extra = this.recentlySettled.size - this.bus.windowSize * 4;
      for (const key of this.recentlySettled) {
        if (extra-- <= 0) break;
        this.recentlySettled.delete(key);
      }
    }
    for (const { p, delayMs, reason } of retrying) {
      p.inFlight = false;
      p.firstFailureAt ??= nowIso;
      p.lastError = reason;
      p.availableAt = now + (delayMs ?? backoffDelay(p.attempts, sub.retry));
    }
    this.scheduleCommit();
  }

  private deadLetter(p: Pending, reason: TermReason, nowIso: string): DeadLetter {
    return {
      id: randomUUID(),
      topic: this.topic,
      group: this.group,
      event: p.event,
      reason,
      attempts: p.attempts,
      firstFailureAt: p.firstFailureAt ?? nowIso,
      lastFailureAt: nowIso,
      status: 'open',
    };
  }

  // ---- commits ---------------------------------------------------------------------------------------------------
  private readonly dirty = new Set<PartState>();

  private scheduleCommit(): void {
    if (this.commitScheduled || this.dirty.size === 0) return;
    this.commitScheduled = true;
    setImmediate(() => {
      this.commitScheduled = false;
      this.commitNow(false);
    });
  }

  /** Commits, per partition, everything below the first unsettled message. */
  private commitNow(sync: boolean, all = false): void {
    const offsets: TopicPartition[] = [];
    const parts = all ? [...this.parts.values()] : [...this.dirty];
    this.dirty.clear();
    for (const part of parts) {
      if (part.revoked && !all) continue;
      const first = part.pending.values().next();
      const position = first.done ? part.next : first.value;
      if (position > part.committed) {
        offsets.push({ topic: part.topic, partition: part.partition, offset: position });
        part.committed = position;
      }
    }
    if (offsets.length === 0) return;
    try {
      if (sync) this.consumer.commitSync(offsets);
      else this.consumer.commit(offsets);
    } catch (error) {
      this.bus.reportError('commit', error);
    }
  }
}

/** The Kafka Bus. Construct with `createKafkaBus` (async: loads node-rdkafka and connects). */
export class KafkaBus implements Bus {
  readonly transport = 'kafka' as const;
  readonly dlq: DeadLetterQueue;
  readonly dlqStore: KafkaDlq;
  readonly dedupe: BusDedupe;
  readonly dedupeRetentionMs: number;
  readonly windowSize: number;
  readonly revokeWaitMs: number;
  readonly prefix: string;
  private readonly maxEventBytes: number;
  private readonly partitions: number;
  private readonly replication: number;
  private readonly logger: Logger;
  private readonly producer: KProducer;
  private admin: KAdmin | undefined;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly groups = new Map<string, KafkaGroup>();
  private readonly probes = new Map<string, Promise<KConsumer>>();
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: unknown) => void }>();
  private nextOpaque = 1;
  private closed = false;
  private lastError: string | undefined;

  constructor(readonly kafka: Rdkafka, private readonly options: KafkaBusOptions) {
    const brokers = Array.isArray(options.brokers) ? options.brokers.join(',') : options.brokers;
    if (typeof brokers !== 'string' || brokers.trim() === '') {
      throw new VochubError('CONFIG_INVALID', 'Kafka 需要 brokers / bus.brokers is required for the kafka transport', { status: 400, details: { field: 'bus.brokers' } });
    }
    this.options = { ...options, brokers };
    this.prefix = options.topicPrefix ?? 'vochub.';
    this.maxEventBytes = positive(options.maxEventBytes, DEFAULT_MAX_EVENT_BYTES, 'maxEventBytes');
    this.partitions = positive(options.partitions, 6, 'partitions');
    this.replication = positive(options.replicationFactor, 1, 'replicationFactor');
    this.dedupeRetentionMs = positive(options.dedupeRetentionMs, 7 * DAY, 'dedupeRetentionMs');
    this.windowSize = positive(options.windowSize, 4096, 'windowSize');
    this.revokeWaitMs = positive(options.revokeWaitMs, 15_000, 'revokeWaitMs');
    this.dedupe = options.dedupe ?? createMemoryDedupe(this.dedupeRetentionMs);
    this.logger = options.logger ?? silentLogger;
    this.producer = new kafka.Producer({
      ...this.baseConfig(),
      dr_cb: true,
      'enable.idempotence': true,
      'linger.ms': 5,
      'batch.num.messages': 10_000,
      'compression.type': 'lz4',
      'queue.buffering.max.messages': 200_000,
      'message.max.bytes': this.recordLimit(),
      // Java clients' murmur2 partitioner: the same key lands on the same partition whoever produces it.
      partitioner: 'murmur2_random',
    });
    this.producer.on('delivery-report', (err: KError | null, report: { opaque?: unknown }) => {
      const waiter = this.waiting.get(report?.opaque as number);
      if (!waiter) return;
      this.waiting.delete(report.opaque as number);
      if (err) waiter.reject(err);
      else waiter.resolve();
    });
    this.producer.on('event.error', (err: unknown) => this.reportError('producer', err));
    this.dlqStore = new KafkaDlq(this);
    this.dlq = this.dlqStore;
  }

  baseConfig(): Record<string, unknown> {
    return {
      'bootstrap.servers': this.options.brokers,
      'client.id': this.options.clientId ?? `vochub-${process.pid}`,
      'socket.keepalive.enable': true,
      'reconnect.backoff.max.ms': 2000,
      ...(this.options.rdkafka ?? {}),
    };
  }

  /** Broker/topic record limit: the event plus room for headers. */
  recordLimit(): number {
    return this.maxEventBytes + 64 * 1024;
  }

  kafkaTopic(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  retryTopic(topic: string, group: string): string {
    return `${this.prefix}_retry.${topic}.${group}`;
  }

  groupId(topic: string, group: string): string {
    return `${this.prefix}${group}.${topic}`;
  }

  async connect(): Promise<void> {
    await call<unknown>((cb) => this.producer.connect({ timeout: 15_000 }, (err) => cb(err ? unavailable(err) : null, undefined)));
    this.producer.setPollInterval(10);
    this.admin = this.kafka.AdminClient.create(this.baseConfig());
    await this.dlqStore.start();
  }

  /** Creates a topic once (idempotent across processes: TOPIC_ALREADY_EXISTS is fine). */
  ensureTopic(name: string, config: Record<string, string> = {}, partitions = this.partitions): Promise<void> {
    let done = this.topics.get(name);
    if (!done) {
      done = call<void>((cb) => this.admin!.createTopic({
        topic: name,
        num_partitions: partitions,
        replication_factor: this.replication,
        config: { 'max.message.bytes': String(this.recordLimit()), ...config },
      }, 15_000, (err) => cb(err && err.code !== ERR_TOPIC_ALREADY_EXISTS ? unavailable(err) : null, undefined)));
      done.catch(() => this.topics.delete(name));
      this.topics.set(name, done);
    }
    return done;
  }

  watermarks(topic: string, partition: number): Promise<{ highOffset: number; lowOffset: number }> {
    return call((cb) => this.producer.queryWatermarkOffsets(topic, partition, 5000, cb));
  }

  async partitionsOf(topic: string): Promise<number[]> {
    const md = await call<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) => this.producer.getMetadata({ topic, timeout: 5000 }, cb));
    return md.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
  }

  /** Produces records and resolves when the broker acked every one (idempotent producer: order per partition kept). */
  async produce(records: { topic: string; key: string; value: Buffer; headers: Header[] }[]): Promise<void> {
    const acks: Promise<void>[] = [];
    for (const r of records) {
      const opaque = this.nextOpaque++;
      acks.push(new Promise<void>((resolve, reject) => this.waiting.set(opaque, { resolve, reject })));
      for (;;) {
        try {
          this.producer.produce(r.topic, null, r.value, r.key, Date.now(), opaque, r.headers);
          break;
        } catch (error) {
          if ((error as KError).code !== ERR_QUEUE_FULL) {
            this.waiting.delete(opaque);
            throw mapProduceError(error);
          }
          await sleep(5);
        }
      }
    }
    const results = await Promise.allSettled(acks);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw mapProduceError(failed.reason);
  }

  async publish(topic: string, events: CloudEvent[]): Promise<void> {
    this.assertOpen();
    checkName('topic', topic);
    // Envelope and size checks before anything reaches the broker (C40): refused as a whole, nothing half-written.
    encodeEvents(events, this.maxEventBytes);
    if (events.length === 0) return;
    const kt = this.kafkaTopic(topic);
    await this.ensureTopic(kt);
    await this.produce(events.map((e) => ({ topic: kt, key: e.partitionkey, value: encodeValue(e), headers: encodeHeaders(e) })));
  }

  /** Re-delivers a dead letter's event to its group only (the group's retry topic), flagged as a replay. */
  async replayTo(entry: DeadLetter, event: CloudEvent): Promise<void> {
    const rt = this.retryTopic(entry.topic, entry.group);
    await this.ensureTopic(rt);
    await this.produce([{ topic: rt, key: event.partitionkey, value: encodeValue(event), headers: encodeHeaders(event, { [H_REPLAY]: '1' }) }]);
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
    let owner = this.groups.get(key);
    if (!owner) {
      owner = new KafkaGroup(this, topic, group, options.startAt ?? 'earliest');
      this.groups.set(key, owner);
      try {
        await owner.start();
      } catch (error) {
        this.groups.delete(key);
        await owner.stop().catch(() => {});
        throw error;
      }
    }
    const sub = new KafkaSubscription(owner, topic, group, handler as BatchHandler, maxBatch, retry);
    owner.add(sub);
    return sub;
  }

  /** Idle = consumer lag 0: the group's committed offsets reached the end of the topic and of its retry topic as they
   * were when idle() was called (commits only pass settled messages). */
  async idle(topic: string, group: string, timeoutMs = 30_000): Promise<void> {
    this.assertOpen();
    const deadline = Date.now() + timeoutMs;
    const heads: { topic: string; partition: number; high: number; low: number }[] = [];
    for (const kt of [this.kafkaTopic(topic), this.retryTopic(topic, group)]) {
      for (const partition of await this.partitionsOf(kt)) {
        const w = await this.watermarks(kt, partition);
        if (w.highOffset > w.lowOffset) heads.push({ topic: kt, partition, high: w.highOffset, low: w.lowOffset });
      }
    }
    if (heads.length === 0) return;
    const tps = heads.map((h) => ({ topic: h.topic, partition: h.partition }));
    for (;;) {
      const local = this.groups.get(`${topic}\u0000${group}`);
      const committed = local ? await local.committed(tps) : await call<TopicPartition[]>(async (cb) => (await this.probe(topic, group)).committed(tps, 5000, cb));
      const lagging = heads.filter((h) => {
        const c = committed.find((tp) => tp.topic === h.topic && tp.partition === h.partition)?.offset ?? -1;
        return (c >= 0 ? c : h.low) < h.high;
      });
      if (lagging.length === 0) return;
      if (Date.now() >= deadline) {
        throw new VochubError('BUS_IDLE_TIMEOUT', `等待消费组空闲超时 / group ${group} on ${topic} did not settle within ${timeoutMs} ms`, {
          status: 504,
          details: { topic, group, lagging: lagging.map((h) => `${h.topic}/${h.partition}`) },
        });
      }
      await sleep(20);
    }
  }

  /** A consumer of the group that never joins it: reads committed offsets for idle() of groups not running here. */
  private probe(topic: string, group: string): Promise<KConsumer> {
    const id = this.groupId(topic, group);
    let probe = this.probes.get(id);
    if (!probe) {
      probe = (async () => {
        const consumer = new this.kafka.KafkaConsumer({ ...this.baseConfig(), 'group.id': id, 'enable.auto.commit': false }, {});
        await call<unknown>((cb) => consumer.connect({ timeout: 15_000 }, (err) => cb(err, undefined)));
        return consumer;
      })();
      probe.catch(() => this.probes.delete(id));
      this.probes.set(id, probe);
    }
    return probe;
  }

  async health(): Promise<BusHealth> {
    if (this.closed) return { ok: false, transport: 'kafka', detail: 'closed' };
    try {
      const md = await call<{ topics: unknown[]; brokers?: unknown[] }>((cb) => this.producer.getMetadata({ timeout: 3000 }, cb as never));
      const brokers = (md as { brokers?: unknown[] }).brokers?.length ?? 0;
      const detail = `kafka ${String(this.options.brokers)}: ${brokers} broker(s)${this.lastError ? `; last error: ${this.lastError}` : ''}`;
      return { ok: brokers > 0, transport: 'kafka', detail };
    } catch (error) {
      return { ok: false, transport: 'kafka', detail: `kafka unreachable: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const subs = [...this.groups.values()].flatMap((g) => [...g.subs]);
    await Promise.all(subs.map((s) => s.close()));
    await Promise.all([...this.groups.values()].map((g) => g.stop()));
    this.closed = true;
    await this.dlqStore.stop();
    for (const probe of this.probes.values()) {
      const consumer = await probe.catch(() => undefined);
      if (consumer) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
    this.probes.clear();
    if (this.producer.isConnected()) {
      await new Promise<void>((resolve) => this.producer.flush(10_000, () => resolve()));
      await new Promise<void>((resolve) => this.producer.disconnect(() => resolve()));
    }
    this.admin?.disconnect();
  }

  groupStopped(group: KafkaGroup): void {
    const key = `${group.topic}\u0000${group.group}`;
    if (this.groups.get(key) === group) this.groups.delete(key);
  }

  reportError(where: string, error: unknown): void {
    this.lastError = `${where}: ${error instanceof Error ? error.message : String(error)}`;
    this.logger.warn({ err: error, where }, '消息总线错误 / bus error (kafka)');
  }

  assertOpen(): void {
    if (this.closed) throw new VochubError('BUS_CLOSED', '消息总线已关闭 / the bus is closed', { status: 503 });
  }
}

function mapProduceError(error: unknown): VochubError {
  if (error instanceof VochubError) return error;
  const code = (error as KError)?.code;
  if (code === ERR_MSG_SIZE_TOO_LARGE) {
    // The broker's or topic's limit is lower than ours: refused, the caller learns it (C40), nothing is half-sent.
    return new VochubError('BUS_EVENT_TOO_LARGE', '消息超过 Kafka 的大小限制 / the broker refused the message as too large (MSG_SIZE_TOO_LARGE)', {
      status: 413,
      cause: error,
    });
  }
  return new VochubError('BUS_PUBLISH_FAILED', `Kafka 发布失败 / publish to Kafka failed: ${error instanceof Error ? error.message : String(error)}`, {
    status: 503,
    cause: error,
  });
}

function unavailable(error: KError): VochubError {
  return new VochubError('BUS_UNAVAILABLE', `Kafka 不可用 / Kafka unavailable: ${error.message}`, { status: 503, cause: error });
}

function partKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function pendingKey(part: PartState, offset: number): string {
  return `${part.topic}\u0000${part.partition}\u0000${offset}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new VochubError('BUS_OPTIONS_INVALID', `选项无效 / option ${name} must be a positive number`, { status: 400, details: { option: name } });
  }
  return value;
}
