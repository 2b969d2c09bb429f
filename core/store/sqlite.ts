// The embedded default Store: one SQLite file through better-sqlite3. Ordinary queries go through
// kysely in the shared layer (kysely-store.ts, also used by PostgreSQL); the import hot path lives in sqlite-tx.ts.
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { VochubError } from '../errors.ts';
import { lookupBucket, memberList } from './common.ts';
import { storeMigrations } from './migrations/index.ts';
import type { StoreDatabase } from './schema.ts';
import { SqliteTransaction } from './sqlite-tx.ts';
import { cmp, KyselyStore } from './kysely-store.ts';
import type {
  Store,
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
