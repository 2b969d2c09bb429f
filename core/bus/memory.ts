// In-process transport for tests and single-process demos. Same engine and semantics as SQLite; nothing survives
// the process. Events are kept as JSON text, so a handler never sees another handler's mutations.
import { VochubError } from '../errors.ts';
import { StoreBus, type BusStore, type EngineOptions, type MaintenanceResult, type NewDeadLetter, type StoredEvent } from './engine.ts';
import { dedupeKey } from './envelope.ts';
import type { BusHealth, CloudEvent, DeadLetter, DeadLetterQuery } from './types.ts';

interface LogRow {
  json: string;
  dedupeKey: string;
  targetGroup: string | null;
  replay: boolean;
  createdAt: number;
}

interface TopicLog {
  /** Offset of rows[0]; offsets start at 1. */
  base: number;
  rows: LogRow[];
}

interface StoredDeadLetter extends DeadLetter {
  eventJson: string;
}

export type MemoryBusOptions = EngineOptions;

class MemoryStore implements BusStore {
  readonly transport = 'memory' as const;
  private readonly logs = new Map<string, TopicLog>();
  private readonly positions = new Map<string, number>();
  /** (topic, group) → (source \0 id) → settled at; Map order is insertion order, so pruning stops at the first young key. */
  private readonly settled = new Map<string, Map<string, number>>();
  private readonly dead = new Map<string, StoredDeadLetter>();
  private nextDeadId = 1;

  private log(topic: string): TopicLog {
    let log = this.logs.get(topic);
    if (!log) {
      log = { base: 1, rows: [] };
      this.logs.set(topic, log);
    }
    return log;
  }

  append(topic: string, rows: readonly string[], dedupeKeys: readonly string[], targetGroup?: string): void {
    const log = this.log(topic);
    const now = Date.now();
    const replay = targetGroup !== undefined;
    for (let i = 0; i < rows.length; i++) {
      log.rows.push({ json: rows[i]!, dedupeKey: dedupeKeys[i]!, targetGroup: targetGroup ?? null, replay, createdAt: now });
    }
  }

  read(topic: string, group: string, afterSeq: number, limit: number): StoredEvent[] {
    const log = this.logs.get(topic);
    if (!log) return [];
    const settled = this.settled.get(`${topic}\u0000${group}`);
    const start = Math.max(afterSeq + 1 - log.base, 0);
    const end = Math.min(start + limit, log.rows.length);
    const out: StoredEvent[] = [];
    for (let i = start; i < end; i++) {
      const row = log.rows[i]!;
      out.push({
        seq: log.base + i,
        json: row.json,
        targetGroup: row.targetGroup,
        replay: row.replay,
        settled: !row.replay && settled !== undefined && settled.has(row.dedupeKey),
      });
    }
    return out;
  }

  head(topic: string): number {
    const log = this.logs.get(topic);
    return log ? log.base + log.rows.length - 1 : 0;
  }

  openGroup(topic: string, group: string, startAt: 'earliest' | 'latest'): number {
    const key = `${topic}\u0000${group}`;
    let position = this.positions.get(key);
    if (position === undefined) {
      position = startAt === 'latest' ? this.head(topic) : 0;
      this.positions.set(key, position);
    }
    return position;
  }

  position(topic: string, group: string): number | undefined {
    return this.positions.get(`${topic}\u0000${group}`);
  }

  isSettled(topic: string, group: string, key: string): boolean {
    return this.settled.get(`${topic}\u0000${group}`)?.has(key) ?? false;
  }

  commit(topic: string, group: string, position: number, settled: readonly string[], dead: readonly NewDeadLetter[], now: number): void {
    const key = `${topic}\u0000${group}`;
    if (position > (this.positions.get(key) ?? 0)) this.positions.set(key, position);
    if (settled.length > 0) {
      let keys = this.settled.get(key);
      if (!keys) {
        keys = new Map();
        this.settled.set(key, keys);
      }
      for (const k of settled) {
        keys.delete(k);
        keys.set(k, now);
      }
    }
    for (const d of dead) {
      const id = String(this.nextDeadId++);
      this.dead.set(id, {
        id,
        topic: d.topic,
        group: d.group,
        event: JSON.parse(d.eventJson) as CloudEvent,
        eventJson: d.eventJson,
        reason: { ...d.reason },
        attempts: d.attempts,
        firstFailureAt: d.firstFailureAt,
        lastFailureAt: d.lastFailureAt,
        status: 'open',
      });
    }
  }

  dlqList(query: DeadLetterQuery): { items: DeadLetter[]; next?: string } {
    const limit = pageLimit(query.limit);
    const after = query.after === undefined ? 0 : Number(query.after);
    if (!Number.isInteger(after)) throw new VochubError('BUS_OPTIONS_INVALID', '分页游标无效 / invalid paging cursor', { status: 400 });
    const items: DeadLetter[] = [];
    let more = false;
    for (const entry of this.dead.values()) {
      if (Number(entry.id) <= after) continue;
      if (query.topic !== undefined && entry.topic !== query.topic) continue;
      if (query.group !== undefined && entry.group !== query.group) continue;
      if (query.member !== undefined && entry.event.member !== query.member) continue;
      if (query.status !== undefined && entry.status !== query.status) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(publicEntry(entry));
    }
    return more ? { items, next: items[items.length - 1]!.id } : { items };
  }

  dlqGet(id: string): DeadLetter | undefined {
    const entry = this.dead.get(id);
    return entry ? publicEntry(entry) : undefined;
  }

  dlqReplay(id: string, fix?: { data?: unknown }): DeadLetter {
    const entry = this.openEntry(id);
    const event = JSON.parse(entry.eventJson) as CloudEvent;
    if (fix && 'data' in fix) event.data = fix.data;
    this.append(entry.topic, [JSON.stringify(event)], [dedupeKey(event.source, event.id)], entry.group);
    entry.status = 'replayed';
    return publicEntry(entry);
  }

  dlqDiscard(id: string): void {
    this.openEntry(id).status = 'discarded';
  }

  private openEntry(id: string): StoredDeadLetter {
    const entry = this.dead.get(id);
    if (!entry) throw new VochubError('BUS_DLQ_NOT_FOUND', `死信不存在 / dead letter ${id} not found`, { status: 404 });
    if (entry.status !== 'open') {
      throw new VochubError('BUS_DLQ_NOT_OPEN', `死信已处理 / dead letter ${id} is already ${entry.status}`, { status: 409 });
    }
    return entry;
  }

  maintain(now: number, dedupeRetentionMs: number, logRetentionMs: number): MaintenanceResult {
    let prunedDedupe = 0;
    for (const keys of this.settled.values()) {
      for (const [k, at] of keys) {
        if (at >= now - dedupeRetentionMs) break;
        keys.delete(k);
        prunedDedupe++;
      }
    }
    let prunedLog = 0;
    for (const [topic, log] of this.logs) {
      let min = Infinity;
      for (const [key, position] of this.positions) if (key.startsWith(`${topic}\u0000`)) min = Math.min(min, position);
      if (min === Infinity) continue;
      let n = 0;
      while (n < log.rows.length && log.base + n <= min && log.rows[n]!.createdAt < now - logRetentionMs) n++;
      if (n > 0) {
        log.rows.splice(0, n);
        log.base += n;
        prunedLog += n;
      }
    }
    return { prunedLog, prunedDedupe };
  }

  changedElsewhere(): boolean {
    return false;
  }

  health(): BusHealth {
    return { ok: true, transport: 'memory', detail: `${this.logs.size} topics` };
  }

  close(): void {}
}

function publicEntry(entry: StoredDeadLetter): DeadLetter {
  const { eventJson, ...rest } = entry;
  return { ...rest, event: JSON.parse(eventJson) as CloudEvent, reason: { ...entry.reason } };
}

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new VochubError('BUS_OPTIONS_INVALID', '分页大小必须在 1 到 1000 之间 / limit must be an integer from 1 to 1000', { status: 400 });
  }
  return limit;
}

export type MemoryBus = StoreBus;

export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  return new StoreBus(new MemoryStore(), options);
}
