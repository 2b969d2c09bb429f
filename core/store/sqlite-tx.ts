// The hot path, and the only place with hand-written SQL: StoreTransaction over prepared
// better-sqlite3 statements. Everything here runs synchronously inside one SQLite transaction,
// which is what lets a 1000-record batch commit in a few milliseconds. A PostgreSQL store will
// implement the same StoreTransaction by buffering the calls and flushing them in one pg transaction.
import type Database from 'better-sqlite3';
import type { Problem } from '../errors.ts';
import { VochubError } from '../errors.ts';
import { lookupBucket } from './common.ts';
import type { ImportCounts, RecordProvenance, StoredRecordInput, StoreTransaction, UpsertOutcome } from './types.ts';

type Statement = Database.Statement<unknown[], unknown>;

/** Pending lookups that trigger a merge at the end of a transaction: bounds the unindexed scan in findByLookup. */
export const LOOKUP_MERGE_THRESHOLD = 20_000;
/**
 * …or this share of the lookups already merged, whichever is larger. A merge of m sorted entries into
 * an index of n entries rewrites ~min(m, n/200) pages: with a fixed threshold a 1M-row import (3M
 * lookups) merged 150 times and rewrote most of the growing index each time (quadratic; ~4 GB of WAL).
 * Growing the threshold with the index makes the merges geometric (~10 for 3M lookups), at the price
 * of a pending heap of up to a quarter of the index that findByLookup scans unindexed meanwhile.
 */
export const LOOKUP_MERGE_SHARE = 0.25;

/** [id, key, hash, version, deleted, touched_run] of a record, read in raw (array) mode to save an object per row. */
type RecordHead = [number, string, string, number, number, string | null];

export class SqliteTransaction implements StoreTransaction {
  /** One timestamp per transaction: the batch commits at one instant, and no Date per row. */
  now = '';

  readonly #selectHead: Statement;
  readonly #selectAlias: Statement;
  readonly #anyAlias: Statement;
  /** Per transaction: whether (contract, member) has any alias at all, so most misses skip the alias probe. */
  readonly #hasAliases = new Map<string, boolean>();
  readonly #insertRecord: Statement;
  readonly #updateRecord: Statement;
  readonly #touchById: Statement;
  readonly #markDeleted: Statement;
  readonly #insertOutbox: Statement;
  readonly #upsertAlias: Statement;
  readonly #deleteLookups: Statement;
  readonly #selectLookups: Statement;
  /** INSERT of n pending lookups in one statement, by n (prepared on first use). */
  readonly #insertPendingLookups: Statement[] = [];
  readonly #lookupArgs: unknown[] = [];
  readonly #db: Database.Database;
  readonly #mergeLookups: Statement;
  readonly #clearPendingLookups: Statement;
  /** Pending lookups since the last merge; approximate (a rolled-back batch still counts), only a trigger. */
  #pendingLookups: number;
  /** Approximate rows in record_lookups (max id at open, plus what merges added): sizes the merge threshold. */
  #mergedLookups: number;
  readonly #insertProblem: Statement;
  readonly #addCounts: Statement;
  readonly #setCheckpoint: Statement;
  readonly #run: (fn: (tx: StoreTransaction) => unknown) => unknown;

  constructor(db: Database.Database) {
    this.#selectHead = db
      .prepare('SELECT id, key, hash, version, deleted, touched_run FROM records WHERE contract = ? AND member = ? AND key = ?')
      .raw(true);
    this.#selectAlias = db.prepare('SELECT key FROM record_aliases WHERE contract = ? AND member = ? AND alias = ?').pluck(true);
    this.#anyAlias = db.prepare('SELECT 1 FROM record_aliases WHERE contract = ? AND member = ? LIMIT 1').pluck(true);
    this.#insertRecord = db.prepare(
      `INSERT INTO records (member, contract, key, data, pii, hash, version, deleted, adapter, run_id, file, line, touched_run, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#updateRecord = db.prepare(
      `UPDATE records SET data = ?, pii = ?, hash = ?, version = ?, deleted = 0, adapter = ?, run_id = ?, file = ?, line = ?,
       touched_run = ?, updated_at = ? WHERE id = ?`,
    );
    this.#touchById = db.prepare('UPDATE records SET touched_run = ? WHERE id = ?');
    this.#markDeleted = db.prepare(
      'UPDATE records SET deleted = 1, version = ?, adapter = ?, run_id = ?, file = ?, line = ?, touched_run = ?, updated_at = ? WHERE id = ?',
    );
    this.#insertOutbox = db.prepare('INSERT INTO outbox (member, contract, key, op, version, run_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#upsertAlias = db.prepare(
      `INSERT INTO record_aliases (contract, member, alias, key) VALUES (?, ?, ?, ?)
       ON CONFLICT (contract, member, alias) DO UPDATE SET key = excluded.key WHERE key <> excluded.key`,
    );
    this.#deleteLookups = db.prepare('DELETE FROM record_lookups WHERE contract = ? AND member = ? AND key = ?');
    this.#selectLookups = db.prepare('SELECT kind, hash FROM record_lookups WHERE contract = ? AND member = ? AND key = ?').raw(true);
    this.#db = db;
    // Bucket order turns the index maintenance into one forward pass; the join drops entries whose
    // record has moved on to a newer version since. (`WHERE true`: SQLite needs a WHERE before an
    // upsert clause on INSERT … SELECT to parse it.)
    this.#mergeLookups = db.prepare(
      `INSERT INTO record_lookups (contract, member, key, kind, hash, bucket)
       SELECT p.contract, p.member, p.key, p.kind, p.hash, p.bucket FROM record_lookups_pending p
       JOIN records r ON r.contract = p.contract AND r.member = p.member AND r.key = p.key AND r.version = p.version
       WHERE true ORDER BY p.bucket
       ON CONFLICT (contract, member, key, kind) DO UPDATE SET hash = excluded.hash, bucket = excluded.bucket`,
    );
    this.#clearPendingLookups = db.prepare('DELETE FROM record_lookups_pending');
    this.#pendingLookups = (db.prepare('SELECT count(*) FROM record_lookups_pending').pluck(true).get() as number) ?? 0;
    this.#mergedLookups = (db.prepare('SELECT max(id) FROM record_lookups').pluck(true).get() as number | null) ?? 0;
    this.#insertProblem = db.prepare(
      `INSERT INTO problems (member, adapter, run_id, code, severity, message, file, line, "column", sheet, field, contract, key, value,
       original, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)`,
    );
    this.#addCounts = db.prepare(
      `UPDATE import_runs SET read_count = read_count + ?, inserted_count = inserted_count + ?, updated_count = updated_count + ?,
       unchanged_count = unchanged_count + ?, deleted_count = deleted_count + ?, problems_count = problems_count + ? WHERE id = ?`,
    );
    this.#setCheckpoint = db.prepare(
      `INSERT INTO checkpoints (member, adapter, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (member, adapter) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    // IMMEDIATE: take the write lock at BEGIN, so a second process waits on busy_timeout instead of
    // failing with SQLITE_BUSY when a read transaction tries to upgrade.
    const tx = db.transaction((fn: (tx: StoreTransaction) => unknown) => {
      const result = fn(this);
      if (this.#pendingLookups >= Math.max(LOOKUP_MERGE_THRESHOLD, this.#mergedLookups * LOOKUP_MERGE_SHARE)) this.#flushLookups();
      return result;
    });
    this.#run = tx.immediate.bind(tx);
  }

  /** Merges pending lookups into the indexed table; call inside a transaction. */
  #flushLookups(): void {
    this.#mergedLookups += this.#mergeLookups.run().changes;
    this.#clearPendingLookups.run();
    this.#pendingLookups = 0;
  }

  /** Merges pending lookups now (e.g. before close), in its own transaction. */
  flushLookups(): void {
    if (this.#pendingLookups > 0) this.#run(() => this.#flushLookups());
  }

  run<T>(fn: (tx: StoreTransaction) => T): T {
    this.now = new Date().toISOString();
    this.#hasAliases.clear();
    try {
      return this.#run(fn) as T;
    } catch (error) {
      // better-sqlite3 rolls back and refuses a promise-returning fn; say so in our own terms.
      if (error instanceof TypeError && /promise/i.test(error.message)) {
        throw new VochubError('STORE_TX_ASYNC', 'Store.transaction 需要同步函数 / Store.transaction needs a synchronous function', {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Resolves `key` to the record it names: the record's own key first, then an alias. */
  #head(contract: string, member: string, key: string): RecordHead | undefined {
    const head = this.#selectHead.get(contract, member, key) as RecordHead | undefined;
    if (head !== undefined) return head;
    const scope = `${contract}\u0000${member}`;
    let hasAliases = this.#hasAliases.get(scope);
    if (hasAliases === undefined) {
      hasAliases = this.#anyAlias.get(contract, member) !== undefined;
      this.#hasAliases.set(scope, hasAliases);
    }
    if (!hasAliases) return undefined;
    const target = this.#selectAlias.get(contract, member, key) as string | undefined;
    if (target === undefined) return undefined;
    return this.#selectHead.get(contract, member, target) as RecordHead | undefined;
  }

  upsert(record: StoredRecordInput): UpsertOutcome {
    const { member, contract, provenance } = record;
    const runId = provenance.runId;
    const head = this.#head(contract, member, record.key);
    let outcome: UpsertOutcome;
    let key: string;

    if (head === undefined) {
      key = record.key;
      this.#insertRecord.run(
        member, contract, key, JSON.stringify(record.data), record.pii, record.hash,
        provenance.adapter, runId, provenance.file ?? null, provenance.line ?? null, runId, this.now, this.now,
      );
      this.#insertOutbox.run(member, contract, key, 'upserted', 1, runId, this.now);
      this.#writeLookups(contract, member, key, 1, record.lookup, false);
      outcome = 'inserted';
    } else {
      key = head[1];
      if (head[4] === 0 && head[2] === record.hash) {
        if (head[5] !== runId) this.#touchById.run(runId, head[0]);
        outcome = 'unchanged';
      } else {
        const version = head[3] + 1;
        this.#updateRecord.run(
          JSON.stringify(record.data), record.pii, record.hash, version, provenance.adapter, runId,
          provenance.file ?? null, provenance.line ?? null, runId, this.now, head[0],
        );
        this.#insertOutbox.run(member, contract, key, 'upserted', version, runId, this.now);
        this.#writeLookups(contract, member, key, version, record.lookup, true);
        outcome = 'updated';
      }
    }

    const aliases = record.aliases;
    if (aliases !== undefined) {
      for (const alias of aliases) {
        if (alias !== key) this.#upsertAlias.run(contract, member, alias, key);
      }
      if (aliases.length > 0) this.#hasAliases.set(`${contract}\u0000${member}`, true);
    }
    return outcome;
  }

  #writeLookups(contract: string, member: string, key: string, version: number, lookup: Record<string, string> | undefined, replace: boolean): void {
    if (replace) {
      // Most updates leave the matchable PII as it was: then the merged entries stay valid and the
      // random-order index is not touched at all.
      const merged = this.#selectLookups.all(contract, member, key) as [string, string][];
      if (merged.length > 0) {
        if (lookup !== undefined && sameLookups(merged, lookup)) return;
        this.#deleteLookups.run(contract, member, key);
      }
    }
    if (lookup === undefined) return;
    // All lookups of a record in one statement (a student has three: ID number, phone, e-mail): one
    // native call instead of three.
    const args = this.#lookupArgs;
    args.length = 0;
    for (const kind in lookup) {
      const hash = lookup[kind];
      if (typeof hash === 'string') args.push(contract, member, key, kind, hash, lookupBucket(kind, hash), version);
    }
    const rows = args.length / 7;
    if (rows === 0) return;
    let insert = this.#insertPendingLookups[rows];
    if (insert === undefined) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ');
      insert = this.#db.prepare(`INSERT INTO record_lookups_pending (contract, member, key, kind, hash, bucket, version) VALUES ${values}`);
      this.#insertPendingLookups[rows] = insert;
    }
    insert.run(args);
    this.#pendingLookups += rows;
  }

  remove(member: string, contract: string, key: string, provenance: RecordProvenance): UpsertOutcome {
    const head = this.#head(contract, member, key);
    if (head === undefined) return 'missing';
    if (head[4] !== 0) return 'unchanged';
    const version = head[3] + 1;
    this.#markDeleted.run(
      version, provenance.adapter, provenance.runId, provenance.file ?? null, provenance.line ?? null, provenance.runId, this.now, head[0],
    );
    this.#insertOutbox.run(member, contract, head[1], 'deleted', version, provenance.runId, this.now);
    return 'deleted';
  }

  addProblems(member: string, adapter: string, runId: string, problems: Problem[], originals?: (unknown | undefined)[]): void {
    for (let i = 0; i < problems.length; i++) {
      const p = problems[i]!;
      const original = originals?.[i];
      if (original !== undefined && original !== null && typeof original !== 'string') {
        // The store never encrypts: an object here would be PII written in clear.
        throw new VochubError('STORE_ORIGINAL_NOT_ENCRYPTED', '问题原始记录必须先加密 / a problem original must be encrypted text', {
          details: { index: i },
        });
      }
      this.#insertProblem.run(
        member, adapter, runId, p.code, p.severity, p.message, p.file ?? null, p.line ?? null,
        p.column === undefined ? null : JSON.stringify(p.column), p.sheet ?? null, p.field ?? null, p.contract ?? null,
        p.key ?? null, p.value ?? null, original ?? null, this.now,
      );
    }
  }

  addCounts(runId: string, delta: Partial<ImportCounts>): void {
    this.#addCounts.run(
      delta.read ?? 0, delta.inserted ?? 0, delta.updated ?? 0, delta.unchanged ?? 0, delta.deleted ?? 0, delta.problems ?? 0, runId,
    );
  }

  setCheckpoint(member: string, adapter: string, value: unknown): void {
    this.#setCheckpoint.run(member, adapter, JSON.stringify(value ?? null), this.now);
  }

  touch(member: string, contract: string, key: string, runId: string): void {
    const head = this.#head(contract, member, key);
    if (head !== undefined && head[5] !== runId) this.#touchById.run(runId, head[0]);
  }
}

function sameLookups(merged: [string, string][], lookup: Record<string, string>): boolean {
  let count = 0;
  for (const kind in lookup) if (typeof lookup[kind] === 'string') count++;
  if (count !== merged.length) return false;
  for (const [kind, hash] of merged) if (lookup[kind] !== hash) return false;
  return true;
}
