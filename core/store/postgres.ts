// The PostgreSQL Store (kysely's PostgresDialect over node-postgres): the same tables, migrations
// and semantics as the SQLite store, for several hub workers sharing one database. Ordinary queries
// are the SQLite store's kysely queries; the import hot path (transaction) is postgres-tx.ts.
// Differences that matter, and why:
// - Outbox seqs are taken under an advisory lock held to commit (postgres-tx.ts OUTBOX_LOCK), so seq
//   order is commit order and a relay reading `seq > n` never skips a late committer.
// - The audit chain appends under its own advisory lock (read head + insert must not interleave).
// - int8 columns are parsed to JS numbers: ids, seqs and buckets stay below 2^53.
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, sql, type Selectable, type Transaction } from 'kysely';
import { VochubError } from '../errors.ts';
import { auditHash, decodeCursor, encodeCursor, GENESIS_HASH, lookupBucket, memberList, pageLimit } from './common.ts';
import { storeMigrations } from './migrations/index.ts';
import { AUDIT_LOCK, OUTBOX_LOCK, runPostgresTransaction } from './postgres-tx.ts';
import type { RecordsTable, StoreDatabase } from './schema.ts';
import { cmp, KyselyStore, toAudit, toRecord } from './kysely-store.ts';
import type {
  AuditEntry,
  OutboxEntry,
  Page,
  RecordQuery,
  Store,
  StoredRecord,
  StoreTransaction,
} from './types.ts';

export interface PostgresStoreOptions {
  /** postgres://user[:password]@host:port/database (a secret: comes from ${env:DATABASE_URL}). */
  url: string;
  /** Schema for the store's tables (default: the server's search_path, normally `public`). Created when missing. */
  schema?: string;
  /** Connections per process (default 10). */
  poolSize?: number;
  /** Per-statement timeout, ms (default 60000): a stuck statement fails the batch, which is retried. */
  statementTimeoutMs?: number;
}

const MAX_OUTBOX_READ = 10_000;
const AUDIT_HEAD = 'audit:head';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** int8 (oid 20) as a JS number: every bigint here (ids, seqs, 53-bit buckets) is below 2^53. */
const types = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export function openPostgresStore(options: PostgresStoreOptions): Store {
  return new PostgresStore(options);
}

class PostgresStore extends KyselyStore implements Store {
  readonly driver = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #kysely: Kysely<StoreDatabase>;
  readonly #schema: string | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    super();
    if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
      throw new VochubError('CONFIG_INVALID', `无效的模式名 / invalid schema name: ${options.schema}`, { status: 400, details: { field: 'hub.store.schema' } });
    }
    this.#schema = options.schema;
    const timeout = Math.max(1000, Math.floor(options.statementTimeoutMs ?? 60_000));
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: Math.max(1, Math.floor(options.poolSize ?? 10)),
      types,
      options: `-c statement_timeout=${timeout}${options.schema ? ` -c search_path=${options.schema}` : ''}`,
      application_name: 'vochub',
    });
    // An idle client losing its connection (server restart) emits 'error' on the pool: the next query
    // gets a fresh connection, so this is logged by the caller's health check, not fatal.
    this.#pool.on('error', () => undefined);
    this.#kysely = new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool: this.#pool }) });
  }

  async migrate(): Promise<void> {
    this.#open();
    try {
      if (this.#schema) await this.#pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
    } catch (cause) {
      throw new VochubError('STORE_OPEN_FAILED', `无法连接数据库 / cannot reach the store database: ${(cause as Error).message}`, { status: 503, cause });
    }
    // Kysely's Migrator takes its own lock table: N workers starting together migrate once.
    const { error, results } = await new Migrator({ db: this.#kysely, provider: storeMigrations('postgres'), ...(this.#schema ? { migrationTableSchema: this.#schema } : {}) }).migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new VochubError('STORE_MIGRATION_FAILED', `数据库迁移失败 / store migration failed: ${String(failed ?? (error as Error).message ?? '')}`, {
        cause: error,
        details: { migration: failed },
      });
    }
  }

  async transaction<T>(fn: (tx: StoreTransaction) => T): Promise<T> {
    this.#open();
    return runPostgresTransaction(this.#pool, fn);
  }

  /** An async write transaction serialized on an advisory lock (audit chain, outbox sweeps). */
  async #write<T>(lock: number, fn: (db: Transaction<StoreDatabase>) => Promise<T>): Promise<T> {
    this.#open();
    return this.#kysely.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${lock})`.execute(trx);
      return fn(trx);
    });
  }

  protected get kysely(): Kysely<StoreDatabase> {
    return this.#kysely;
  }

  protected open(): void {
    this.#open();
  }

  protected writeLocked<T>(scope: 'outbox' | 'audit', fn: (db: Kysely<StoreDatabase>) => Promise<T>): Promise<T> {
    return this.#write(scope === 'audit' ? AUDIT_LOCK : OUTBOX_LOCK, fn);
  }

  #open(): void {
    if (this.#closed) throw new VochubError('STORE_CLOSED', '存储已关闭 / the store is closed');
  }

  // ---- records ---------------------------------------------------------------------------------

  async #resolveKey(member: string, contract: string, key: string): Promise<string | undefined> {
    const own = await this.#kysely
      .selectFrom('records')
      .select('key')
      .where('contract', '=', contract)
      .where('member', '=', member)
      .where('key', '=', key)
      .executeTakeFirst();
    if (own !== undefined) return own.key;
    const alias = await this.#kysely
      .selectFrom('record_aliases')
      .select('key')
      .where('contract', '=', contract)
      .where('member', '=', member)
      .where('alias', '=', key)
      .executeTakeFirst();
    return alias?.key;
  }

  async getRecord(member: string, contract: string, key: string): Promise<StoredRecord | undefined> {
    this.#open();
    const resolved = await this.#resolveKey(member, contract, key);
    if (resolved === undefined) return undefined;
    const row = await this.#kysely
      .selectFrom('records')
      .selectAll()
      .where('contract', '=', contract)
      .where('member', '=', member)
      .where('key', '=', resolved)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const [record] = await this.#withAliases([row]);
    return record;
  }

  async listRecords(query: RecordQuery): Promise<Page<StoredRecord>> {
    this.#open();
    const members = memberList(query.member);
    if (members !== undefined && members.length === 0) return { items: [] };
    const limit = pageLimit(query.limit);
    let q = this.#kysely.selectFrom('records').selectAll().where('contract', '=', query.contract);
    if (members !== undefined) q = q.where('member', 'in', members);
    if (query.includeDeleted !== true) q = q.where('deleted', '=', 0);
    if (query.after !== undefined) {
      const [member, key] = decodeCursor(query.after, 2) as [string, string];
      q = q.where((eb) => eb(eb.refTuple('member', 'key'), '>', eb.tuple(member, key)));
    }
    const rows = await q.orderBy('member').orderBy('key').limit(limit + 1).execute();
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const items = await this.#withAliases(rows);
    const last = rows[rows.length - 1];
    return more && last !== undefined ? { items, next: encodeCursor([last.member, last.key]) } : { items };
  }

  async #withAliases(rows: Selectable<RecordsTable>[]): Promise<StoredRecord[]> {
    if (rows.length === 0) return [];
    const contract = rows[0]!.contract;
    const aliasRows = await this.#kysely
      .selectFrom('record_aliases')
      .select(['member', 'key', 'alias'])
      .where('contract', '=', contract)
      .where('member', 'in', [...new Set(rows.map((r) => r.member))])
      .where('key', 'in', rows.map((r) => r.key))
      .orderBy('alias')
      .execute();
    const byRecord = new Map<string, string[]>();
    for (const a of aliasRows) {
      const id = `${a.member}\u0000${a.key}`;
      const list = byRecord.get(id);
      if (list === undefined) byRecord.set(id, [a.alias]);
      else list.push(a.alias);
    }
    return rows.map((row) => toRecord(row, byRecord.get(`${row.member}\u0000${row.key}`) ?? []));
  }

  async findByLookup(query: { contract: string; kind: string; hash: string; member?: string | string[] }): Promise<{ member: string; key: string }[]> {
    this.#open();
    const members = memberList(query.member);
    if (members !== undefined && members.length === 0) return [];
    let merged = this.#kysely
      .selectFrom('record_lookups as l')
      .innerJoin('records as r', (j) => j.onRef('r.contract', '=', 'l.contract').onRef('r.member', '=', 'l.member').onRef('r.key', '=', 'l.key'))
      .select(['l.member', 'l.key'])
      .where('l.bucket', '=', lookupBucket(query.kind, query.hash))
      .where('l.contract', '=', query.contract)
      .where('l.kind', '=', query.kind)
      .where('l.hash', '=', query.hash)
      .where('r.deleted', '=', 0);
    // The PostgreSQL hot path writes lookups straight into the indexed table: no pending heap.
    if (members !== undefined) merged = merged.where('l.member', 'in', members);
    const rows = await merged.execute();
    return rows.sort((a, b) => (a.member === b.member ? cmp(a.key, b.key) : cmp(a.member, b.member))).slice(0, 1000);
  }

  async countUntouched(member: string, contract: string, adapter: string, runId: string): Promise<{ untouched: number; total: number }> {
    this.#open();
    const row = await this.#kysely
      .selectFrom('records')
      .select((eb) => [
        eb.fn.countAll<number>().as('total'),
        sql<number>`coalesce(sum(case when touched_run is null or touched_run <> ${runId} then 1 else 0 end), 0)`.as('untouched'),
      ])
      .where('contract', '=', contract)
      .where('member', '=', member)
      .where('adapter', '=', adapter)
      .where('deleted', '=', 0)
      .executeTakeFirstOrThrow();
    return { untouched: Number(row.untouched), total: Number(row.total) };
  }

  async appendAudit(entry: Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>): Promise<AuditEntry> {
    return this.#write(AUDIT_LOCK, async (db) => {
      const last = await db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const seq = last === undefined ? 1 : Number(last.seq) + 1;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const stored: AuditEntry = {
        seq,
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        ...(entry.member !== undefined ? { member: entry.member } : {}),
        ...(entry.target !== undefined ? { target: entry.target } : {}),
        ...(entry.detail !== undefined ? { detail: JSON.parse(JSON.stringify(entry.detail)) as Record<string, unknown> } : {}),
        prevHash,
        hash: '',
      };
      stored.hash = auditHash(prevHash, stored);
      await db
        .insertInto('audit_log')
        .values({
          seq,
          at: stored.at,
          actor: stored.actor,
          action: stored.action,
          member: stored.member ?? null,
          target: stored.target ?? null,
          detail: stored.detail === undefined ? null : JSON.stringify(stored.detail),
          prev_hash: prevHash,
          hash: stored.hash,
        })
        .execute();
      // The head lets verifyAudit notice rows cut off the end of the chain, which no link can show.
      const head = JSON.stringify({ seq, hash: stored.hash });
      await db.insertInto('meta').values({ key: AUDIT_HEAD, value: head }).onConflict((oc) => oc.column('key').doUpdateSet({ value: head })).execute();
      return stored;
    });
  }

  async listAudit(query: { member?: string; limit?: number; after?: number }): Promise<AuditEntry[]> {
    this.#open();
    let q = this.#kysely.selectFrom('audit_log').selectAll();
    if (query.member !== undefined) q = q.where('member', '=', query.member);
    if (query.after !== undefined) q = q.where('seq', '>', query.after);
    const rows = await q.orderBy('seq').limit(pageLimit(query.limit)).execute();
    return rows.map(toAudit);
  }

  async verifyAudit(): Promise<number | null> {
    this.#open();
    let prevHash = GENESIS_HASH;
    let lastSeq = 0;
    for (;;) {
      const rows = await this.#kysely.selectFrom('audit_log').selectAll().where('seq', '>', lastSeq).orderBy('seq').limit(1000).execute();
      for (const row of rows) {
        const entry = toAudit(row);
        if (entry.seq !== lastSeq + 1 || entry.prevHash !== prevHash || auditHash(prevHash, entry) !== entry.hash) return entry.seq;
        prevHash = entry.hash;
        lastSeq = entry.seq;
      }
      if (rows.length < 1000) break;
    }
    const head = await this.getMeta(AUDIT_HEAD);
    if (head !== undefined) {
      const { seq, hash } = JSON.parse(head) as { seq: number; hash: string };
      if (seq !== lastSeq || hash !== prevHash) return Math.min(seq, lastSeq + 1);
    }
    return null;
  }

  // ---- outbox ----------------------------------------------------------------------------------

  async readOutbox(afterSeq: number, limit: number): Promise<OutboxEntry[]> {
    this.#open();
    const rows = await this.#kysely
      .selectFrom('outbox')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(Math.max(1, Math.min(Math.floor(limit), MAX_OUTBOX_READ)))
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      member: r.member,
      contract: r.contract,
      key: r.key,
      op: r.op as OutboxEntry['op'],
      version: r.version,
      ...(r.run_id !== null ? { runId: r.run_id } : {}),
      at: r.at,
    }));
  }

  async markOutboxPublished(seq: number): Promise<void> {
    this.#open();
    await this.#kysely.deleteFrom('outbox').where('seq', '<=', seq).execute();
  }

  // ---- meta ------------------------------------------------------------------------------------

  async getMeta(key: string): Promise<string | undefined> {
    this.#open();
    const row = await this.#kysely.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#open();
    await this.#kysely.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#kysely.destroy();
  }
}

// ---- row mapping ---------------------------------------------------------------------------------
