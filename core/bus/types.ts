// The Bus API: one contract, several transports (memory, sqlite, later kafka) with the same
// semantics, proven by one conformance suite (tests/unit/bus/conformance.ts).

/** CloudEvents 1.0 envelope with the vochub extensions `member` and `partitionkey`. */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  /** Unique per source; `source` + `id` is the idempotency key everywhere. */
  id: string;
  /** e.g. `/members/4133010001/adapters/roster` or `/hub/store`. */
  source: string;
  /** e.g. `edu.student.upserted.v1`, `edu.student.deleted.v1`, `vochub.ingest.record.v1`. */
  type: string;
  /** RFC 3339 with offset. */
  time: string;
  subject?: string;
  /** Contract `$id`, e.g. `urn:vochub:contract:student:1`. */
  dataschema?: string;
  datacontenttype: 'application/json';
  /** Owning member's code. */
  member: string;
  /** Business entity key: all events with one key are delivered in order. */
  partitionkey: string;
  data: T;
  /** Further CloudEvents extensions: lowercase a-z0-9 names, string values. */
  [extension: string]: unknown;
}

export interface TermReason {
  /** Stable error code, e.g. CONTRACT_INVALID, HANDLER_ERROR, RETRIES_EXHAUSTED. */
  code: string;
  message: string;
  /** Pipeline stage where it failed: route | map | clean | validate | deliver. */
  stage?: string;
  /** Adapter or plugin name involved. */
  adapter?: string;
}

/** One delivery of one event to one consumer group. Exactly one verb must be called (or the handler's
 * return settles it: unsettled deliveries are acked when the handler resolves, nak'ed with backoff when it throws). */
export interface Delivery<T = unknown> {
  readonly event: CloudEvent<T>;
  readonly topic: string;
  /** 1 on first delivery. */
  readonly attempt: number;
  ack(): void;
  /** Redeliver later. No delay → the subscription's backoff policy decides. */
  nak(delayMs?: number): void;
  /** Never redeliver: move to the subscription's dead-letter queue with this reason. */
  term(reason: TermReason): void;
}

export type BatchHandler<T = unknown> = (batch: Delivery<T>[]) => Promise<void> | void;

export interface RetryPolicy {
  /** Attempts before the event is dead-lettered with RETRIES_EXHAUSTED (default 5). */
  maxAttempts: number;
  /** First backoff (default 200 ms), doubled each attempt, capped, with full jitter. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface SubscribeOptions {
  /** Most events handed to the handler at once (default 256). */
  maxBatch?: number;
  retry?: Partial<RetryPolicy>;
  /** Where a new group starts: 'earliest' (default) or 'latest'. */
  startAt?: 'earliest' | 'latest';
}

export interface Subscription {
  readonly topic: string;
  readonly group: string;
  /** Stop taking new events; in-flight handlers finish and are committed. */
  close(): Promise<void>;
}

export interface DeadLetter {
  /** DLQ entry id (transport-specific, stable string). */
  id: string;
  topic: string;
  group: string;
  event: CloudEvent;
  reason: TermReason;
  attempts: number;
  firstFailureAt: string;
  lastFailureAt: string;
  /** 'open' until replayed or discarded. */
  status: 'open' | 'replayed' | 'discarded';
}

export interface DeadLetterQuery {
  topic?: string;
  group?: string;
  member?: string;
  status?: DeadLetter['status'];
  limit?: number;
  /** Opaque paging cursor from a previous page. */
  after?: string;
}

export interface DeadLetterQueue {
  list(query?: DeadLetterQuery): Promise<{ items: DeadLetter[]; next?: string }>;
  get(id: string): Promise<DeadLetter | undefined>;
  /** Re-deliver to the same group (optionally with fixed data); marks the entry replayed. */
  replay(id: string, fix?: { data?: unknown }): Promise<void>;
  discard(id: string): Promise<void>;
}

export interface BusHealth {
  ok: boolean;
  transport: string;
  detail?: string;
}

export interface Bus {
  readonly transport: 'memory' | 'sqlite' | 'kafka';
  /** Durable when it resolves (sqlite: committed; kafka: acked by the broker). Order within a call is kept. */
  publish(topic: string, events: CloudEvent[]): Promise<void>;
  subscribe<T = unknown>(topic: string, group: string, handler: BatchHandler<T>, options?: SubscribeOptions): Promise<Subscription>;
  readonly dlq: DeadLetterQueue;
  health(): Promise<BusHealth>;
  /** Resolves once every subscription of `group` on `topic` has settled all events published so far (tests, drains). */
  idle(topic: string, group: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** "This (source, id) was settled by this group": shared by every worker of a group so a redelivery after a rebalance or
 * a crash (case C38) is absorbed wherever it lands. Structurally the same as core/redis `DedupeStore`'s first two
 * methods, so `hub.redis.dedupe` can be passed as is. The Kafka transport uses it; the embedded transports keep their
 * dedupe keys in their own store. Two steps, never claim-then-crash: filter before handling, remember after the
 * settlement is durable. */
export interface BusDedupe {
  /** The ids (input order) NOT yet remembered in `scope`. */
  filterNew(scope: string, ids: readonly string[]): Promise<string[]>;
  /** Remember ids as settled for ttlMs. */
  remember(scope: string, ids: readonly string[], ttlMs?: number): Promise<void>;
}
