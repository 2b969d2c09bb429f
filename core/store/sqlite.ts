// The embedded default Store: one SQLite file through better-sqlite3. Ordinary queries go through
// kysely (so a PostgreSQL store can share their shape); the import hot path lives in sqlite-tx.ts.
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type Selectable } from 'kysely';
import { VochubError } from '../errors.ts';
import { decodeCursor, encodeCursor, lookupBucket, memberList, pageLimit } from './common.ts';
import { storeMigrations } from './migrations/index.ts';
import type { RecordsTable, StoreDatabase } from './schema.ts';
import { SqliteTransaction } from './sqlite-tx.ts';
import { cmp, KyselyStore, toRecord } from './kysely-store.ts';
import type {
  Page,
  RecordQuery,
  Store,
  StoredRecord,
  StoreTransaction,
} from './types.ts';

export interface SqliteStoreOptions {
  /** Database file; ':memory:' for throw-away stores. */
  file: string;
  /** 'normal' (default): a committed batch survives a process kill; on power loss the last commits may be
   * lost, never half-applied (WAL). 'full' fsyncs at every commit (~8 ms each here: 1000 commits per 1M rows). */
  synchronous?: 'full' | 'normal';
  /** Page cache in MiB (default 64): random index writes (lookups, UUID keys) need their pages hot. */
  cacheMiB?: number;
  /** How long a writer waits for another process's lock before failing, ms. */
  busyTimeoutMs?: number;
}


export function openSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}

class SqliteStore extends KyselyStore implements Store {
  readonly driver = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #kysely: Kysely<StoreDatabase>;
  #tx: SqliteTransaction | undefined;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    super();
    try {
      this.#db = new Database(options.file);
    } catch (cause) {
      throw new VochubError('STORE_OPEN_FAILED', `无法打开数据库 / cannot open the store database: ${(cause as Error).message}`, {
        cause,
        details: { file: options.file },
      });
    }
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.#db.pragma(`cache_size = ${-1024 * Math.max(2, Math.floor(options.cacheMiB ?? 64))}`);
    // A larger WAL between checkpoints writes each hot index page back once instead of after every batch.
    this.#db.pragma('wal_autocheckpoint = 10000');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    this.#kysely = new Kysely<StoreDatabase>({ dialect: new SqliteDialect({ database: this.#db }) });
  }

  async migrate(): Promise<void> {
    this.#open();
    const { error, results } = await new Migrator({ db: this.#kysely, provider: storeMigrations('sqlite') }).migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new VochubError('STORE_MIGRATION_FAILED', `数据库迁移失败 / store migration failed: ${String(failed ?? '')}`, {
        cause: error,
        details: { migration: failed },
      });
    }
  }

  async transaction<T>(fn: (tx: StoreTransaction) => T): Promise<T> {
    this.#open();
    // Holding kysely's single-connection lock keeps the synchronous batch from interleaving with an
    // awaited kysely transaction on the same connection.
    return this.#kysely.connection().execute(async () => {
      this.#tx ??= new SqliteTransaction(this.#db);
      return this.#tx.run(fn);
    });
  }

  /** An async write transaction that takes the write lock up front (BEGIN IMMEDIATE): read-then-write
   * sequences such as the audit chain cannot interleave with another process's writer. */
  async #write<T>(fn: (db: Kysely<StoreDatabase>) => Promise<T>): Promise<T> {
    this.#open();
    return this.#kysely.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (error) {
        if (this.#db.inTransaction) await sql`rollback`.execute(conn);
        throw error;
      }
    });
  }

  protected get kysely(): Kysely<StoreDatabase> {
    return this.#kysely;
  }

  protected open(): void {
    this.#open();
  }

  protected writeLocked<T>(_scope: 'outbox' | 'audit', fn: (db: Kysely<StoreDatabase>) => Promise<T>): Promise<T> {
    return this.#write(fn);
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
    // Not yet merged (see sqlite-tx.ts): a bounded scan, only entries of the record's current version.
    let pending = this.#kysely
      .selectFrom('record_lookups_pending as p')
      .innerJoin('records as r', (j) =>
        j.onRef('r.contract', '=', 'p.contract').onRef('r.member', '=', 'p.member').onRef('r.key', '=', 'p.key').onRef('r.version', '=', 'p.version'),
      )
      .select(['p.member', 'p.key'])
      .where('p.contract', '=', query.contract)
      .where('p.kind', '=', query.kind)
      .where('p.hash', '=', query.hash)
      .where('r.deleted', '=', 0);
    if (members !== undefined) {
      merged = merged.where('l.member', 'in', members);
      pending = pending.where('p.member', 'in', members);
    }
    const rows = await merged.union(pending).execute();
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#kysely.connection().execute(async () => this.#tx?.flushLookups());
    // Folds the WAL back into the main file so a copied .db file is complete on its own.
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // a checkpoint blocked by another reader is harmless: the WAL stays and is replayed on open
    }
    await this.#kysely.destroy();
  }
}

// ---- row mapping ---------------------------------------------------------------------------------
