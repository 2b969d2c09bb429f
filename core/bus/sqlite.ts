// Embedded durable transport: one SQLite file holds an append-only log per topic, committed positions per
// (topic, group), dedupe keys and the DLQ. WAL journal; every write is one short IMMEDIATE transaction.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { VochubError } from '../errors.ts';
import { StoreBus, type BusStore, type EngineOptions, type MaintenanceResult, type NewDeadLetter, type StoredEvent } from './engine.ts';
import { dedupeKey } from './envelope.ts';
import { pageLimit } from './memory.ts';
import type { BusHealth, CloudEvent, DeadLetter, DeadLetterQuery, TermReason } from './types.ts';

export interface SqliteBusOptions extends EngineOptions {
  file: string;
  /**
   * Every committed transaction survives a killed process in all modes (WAL). What survives power loss / an OS crash:
   * - 'publish' (default): publishes and DLQ operator actions are fsynced (synchronous=FULL); consumer commits
   *   (positions, dedupe keys, DLQ rows) are not (synchronous=NORMAL), so power loss can only roll a group back
   *   a little: redelivery, which at-least-once handlers absorb. Producers may advance their checkpoints on publish.
   * - 'strict': everything is fsynced (slowest consumer path).
   * - 'process': nothing is fsynced per transaction (only at checkpoints); power loss may lose recent publishes.
   */
  durability?: SqliteDurability;
  /** How long a writer waits for another process's transaction. Default 5000 ms. */
  busyTimeoutMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- AUTOINCREMENT: an offset is never reused, even after the newest rows are pruned.
CREATE TABLE IF NOT EXISTS bus_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  target_group TEXT,
  dkey TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_log_topic ON bus_log (topic, seq);
CREATE TABLE IF NOT EXISTS bus_position (
  topic TEXT NOT NULL, grp TEXT NOT NULL, position INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (topic, grp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_dedupe (
  topic TEXT NOT NULL, grp TEXT NOT NULL, dkey TEXT NOT NULL, settled_at INTEGER NOT NULL,
  PRIMARY KEY (topic, grp, dkey)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bus_dedupe_age ON bus_dedupe (settled_at);
CREATE TABLE IF NOT EXISTS bus_dlq (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL, grp TEXT NOT NULL, member TEXT NOT NULL,
  event TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
  first_failure_at TEXT NOT NULL, last_failure_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open', updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_dlq_status ON bus_dlq (status, id);
INSERT OR IGNORE INTO bus_meta (key, value) VALUES ('schema', '1');
`;

interface DlqRow {
  id: number;
  topic: string;
  grp: string;
  event: string;
  reason: string;
  attempts: number;
  first_failure_at: string;
  last_failure_at: string;
  status: DeadLetter['status'];
}

export type SqliteDurability = 'publish' | 'strict' | 'process';

class SqliteStore implements BusStore {
  readonly transport = 'sqlite' as const;
  private readonly db: Database.Database;
  private dataVersion: number;
  private readonly stmt;
  private readonly appendTx;
  private readonly commitTx;
  private readonly replayTx;
  private readonly maintainTx;

  private synchronous: 'FULL' | 'NORMAL' = 'FULL';
  private readonly syncFull;
  private readonly syncNormal;

  constructor(private readonly file: string, private readonly durability: SqliteDurability, busyTimeoutMs: number) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = new Database(file, { timeout: busyTimeoutMs });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    } catch (error) {
      throw new VochubError('BUS_STORE_UNAVAILABLE', `无法打开消息总线数据库 / cannot open the bus database ${file}`, {
        status: 503,
        cause: error,
      });
    }
    const db = this.db;
    this.syncFull = db.prepare('PRAGMA synchronous = FULL');
    this.syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
    this.stmt = {
      append: db.prepare('INSERT INTO bus_log (topic, target_group, dkey, created_at, event) VALUES (?, ?, ?, ?, ?)'),
      // The dedupe lookup runs inside SQLite while reading: no JS round trip per event.
      read: db.prepare(
        `SELECT l.seq, l.event, l.target_group,
           l.target_group IS NULL AND EXISTS (SELECT 1 FROM bus_dedupe d WHERE d.topic = l.topic AND d.grp = ? AND d.dkey = l.dkey)
         FROM bus_log l WHERE l.topic = ? AND l.seq > ? ORDER BY l.seq LIMIT ?`,
      ).raw(),
      head: db.prepare('SELECT MAX(seq) FROM bus_log WHERE topic = ?').pluck(),
      position: db.prepare('SELECT position FROM bus_position WHERE topic = ? AND grp = ?').pluck(),
      openGroup: db.prepare('INSERT OR IGNORE INTO bus_position (topic, grp, position, updated_at) VALUES (?, ?, ?, ?)'),
      commit: db.prepare(
        `INSERT INTO bus_position (topic, grp, position, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (topic, grp) DO UPDATE SET position = MAX(position, excluded.position), updated_at = excluded.updated_at`,
      ),
      settled: db.prepare('SELECT 1 FROM bus_dedupe WHERE topic = ? AND grp = ? AND dkey = ?').pluck(),
      settle: db.prepare('INSERT OR REPLACE INTO bus_dedupe (topic, grp, dkey, settled_at) VALUES (?, ?, ?, ?)'),
      dead: db.prepare(
        `INSERT INTO bus_dlq (topic, grp, member, event, reason, attempts, first_failure_at, last_failure_at, status, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)`,
      ),
      dlqGet: db.prepare('SELECT * FROM bus_dlq WHERE id = ?'),
      dlqStatus: db.prepare('UPDATE bus_dlq SET status = ?, updated_at = ? WHERE id = ?'),
      pruneDedupe: db.prepare('DELETE FROM bus_dedupe WHERE settled_at < ?'),
      topics: db.prepare('SELECT topic, MIN(position) AS min FROM bus_position GROUP BY topic'),
      pruneLog: db.prepare('DELETE FROM bus_log WHERE topic = ? AND seq <= ? AND created_at < ?'),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
    const s = this.stmt;
    this.dataVersion = s.dataVersion.get() as number;
    this.appendTx = db.transaction((topic: string, rows: readonly string[], keys: readonly string[], targetGroup: string | null) => {
      const now = Date.now();
      for (let i = 0; i < rows.length; i++) s.append.run(topic, targetGroup, keys[i], now, rows[i]);
    });
    this.commitTx = db.transaction(
      (topic: string, group: string, position: number, settled: readonly string[], dead: readonly NewDeadLetter[], now: number) => {
        s.commit.run(topic, group, position, now);
        for (const k of settled) s.settle.run(topic, group, k, now);
        for (const d of dead) {
          s.dead.run(d.topic, d.group, d.member, d.eventJson, JSON.stringify(d.reason), d.attempts, d.firstFailureAt, d.lastFailureAt, now);
        }
      },
    );
    this.replayTx = db.transaction((id: string, fix: { data?: unknown } | undefined) => {
      const row = this.openRow(id);
      const event = JSON.parse(row.event) as CloudEvent;
      if (fix && 'data' in fix) event.data = fix.data;
      s.append.run(row.topic, row.grp, dedupeKey(event.source, event.id), Date.now(), JSON.stringify(event));
      s.dlqStatus.run('replayed', Date.now(), row.id);
      return toDeadLetter({ ...row, status: 'replayed' });
    });
    this.maintainTx = db.transaction((now: number, dedupeRetentionMs: number, logRetentionMs: number) => {
      const prunedDedupe = s.pruneDedupe.run(now - dedupeRetentionMs).changes;
      let prunedLog = 0;
      for (const t of s.topics.all() as { topic: string; min: number }[]) {
        prunedLog += s.pruneLog.run(t.topic, t.min, now - logRetentionMs).changes;
      }
      return { prunedLog, prunedDedupe };
    });
  }

  /** synchronous is per connection and may change between transactions; an fsync of the WAL also covers earlier frames. */
  private sync(durable: boolean): void {
    const wanted = this.durability === 'strict' || (durable && this.durability === 'publish') ? 'FULL' : 'NORMAL';
    if (wanted === this.synchronous) return;
    (wanted === 'FULL' ? this.syncFull : this.syncNormal).run();
    this.synchronous = wanted;
  }

  append(topic: string, rows: readonly string[], dedupeKeys: readonly string[], targetGroup?: string): void {
    this.sync(true);
    this.appendTx.immediate(topic, rows, dedupeKeys, targetGroup ?? null);
  }

  read(topic: string, group: string, afterSeq: number, limit: number): StoredEvent[] {
    const rows = this.stmt.read.all(group, topic, afterSeq, limit) as [number, string, string | null, number][];
    const out = new Array<StoredEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      out[i] = { seq: r[0], json: r[1], targetGroup: r[2], replay: r[2] !== null, settled: r[3] === 1 };
    }
    return out;
  }

  head(topic: string): number {
    return (this.stmt.head.get(topic) as number | null) ?? 0;
  }

  openGroup(topic: string, group: string, startAt: 'earliest' | 'latest', now: number): number {
    return this.db.transaction(() => {
      this.stmt.openGroup.run(topic, group, startAt === 'latest' ? this.head(topic) : 0, now);
      return this.stmt.position.get(topic, group) as number;
    }).immediate();
  }

  position(topic: string, group: string): number | undefined {
    return this.stmt.position.get(topic, group) as number | undefined;
  }

  isSettled(topic: string, group: string, key: string): boolean {
    return this.stmt.settled.get(topic, group, key) !== undefined;
  }

  commit(topic: string, group: string, position: number, settled: readonly string[], dead: readonly NewDeadLetter[], now: number): void {
    this.sync(false);
    this.commitTx.immediate(topic, group, position, settled, dead, now);
  }

  dlqList(query: DeadLetterQuery): { items: DeadLetter[]; next?: string } {
    const limit = pageLimit(query.limit);
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.after !== undefined) {
      const after = Number(query.after);
      if (!Number.isInteger(after)) throw new VochubError('BUS_OPTIONS_INVALID', '分页游标无效 / invalid paging cursor', { status: 400 });
      where.push('id > ?');
      params.push(after);
    }
    if (query.topic !== undefined) (where.push('topic = ?'), params.push(query.topic));
    if (query.group !== undefined) (where.push('grp = ?'), params.push(query.group));
    if (query.member !== undefined) (where.push('member = ?'), params.push(query.member));
    if (query.status !== undefined) (where.push('status = ?'), params.push(query.status));
    const sql = `SELECT * FROM bus_dlq ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, limit + 1) as DlqRow[];
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map(toDeadLetter);
    return more ? { items, next: items[items.length - 1]!.id } : { items };
  }

  dlqGet(id: string): DeadLetter | undefined {
    const row = this.stmt.dlqGet.get(id) as DlqRow | undefined;
    return row ? toDeadLetter(row) : undefined;
  }

  dlqReplay(id: string, fix?: { data?: unknown }): DeadLetter {
    this.sync(true);
    return this.replayTx.immediate(id, fix);
  }

  dlqDiscard(id: string): void {
    this.sync(true);
    this.db.transaction(() => {
      const row = this.openRow(id);
      this.stmt.dlqStatus.run('discarded', Date.now(), row.id);
    }).immediate();
  }

  private openRow(id: string): DlqRow {
    const row = this.stmt.dlqGet.get(id) as DlqRow | undefined;
    if (!row) throw new VochubError('BUS_DLQ_NOT_FOUND', `死信不存在 / dead letter ${id} not found`, { status: 404 });
    if (row.status !== 'open') {
      throw new VochubError('BUS_DLQ_NOT_OPEN', `死信已处理 / dead letter ${id} is already ${row.status}`, { status: 409 });
    }
    return row;
  }

  maintain(now: number, dedupeRetentionMs: number, logRetentionMs: number): MaintenanceResult {
    return this.maintainTx.immediate(now, dedupeRetentionMs, logRetentionMs);
  }

  changedElsewhere(): boolean {
    const version = this.stmt.dataVersion.get() as number;
    if (version === this.dataVersion) return false;
    this.dataVersion = version;
    return true;
  }

  health(): BusHealth {
    try {
      this.db.prepare('SELECT 1').get();
      return { ok: true, transport: 'sqlite', detail: this.file };
    } catch (error) {
      return { ok: false, transport: 'sqlite', detail: error instanceof Error ? error.message : String(error) };
    }
  }

  close(): void {
    this.db.close();
  }
}

function toDeadLetter(row: DlqRow): DeadLetter {
  return {
    id: String(row.id),
    topic: row.topic,
    group: row.grp,
    event: JSON.parse(row.event) as CloudEvent,
    reason: JSON.parse(row.reason) as TermReason,
    attempts: row.attempts,
    firstFailureAt: row.first_failure_at,
    lastFailureAt: row.last_failure_at,
    status: row.status,
  };
}

export type SqliteBus = StoreBus;

export function createSqliteBus(options: SqliteBusOptions): SqliteBus {
  if (!options || typeof options.file !== 'string' || options.file.length === 0) {
    throw new VochubError('CONFIG_INVALID', '消息总线需要数据库文件路径 / the sqlite bus needs a file path', { status: 400 });
  }
  const durability = options.durability ?? 'publish';
  if (!['publish', 'strict', 'process'].includes(durability)) {
    throw new VochubError('CONFIG_INVALID', `durability 无效 / durability must be publish, strict or process`, { status: 400 });
  }
  const store = new SqliteStore(options.file, durability, options.busyTimeoutMs ?? 5000);
  return new StoreBus(store, options);
}
