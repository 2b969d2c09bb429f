// The PostgreSQL Store (kysely's PostgresDialect over node-postgres): the same tables, migrations
// and semantics as the SQLite store, for several hub workers sharing one database. Ordinary queries
// live in the shared kysely layer (kysely-store.ts); the import hot path (transaction) is postgres-tx.ts.
// Differences that matter, and why:
// - Outbox seqs are taken under an advisory lock held to commit (postgres-tx.ts OUTBOX_LOCK), so seq
//   order is commit order and a relay reading `seq > n` never skips a late committer.
// - The audit chain appends under its own advisory lock (read head + insert must not interleave).
// - int8 columns are parsed to JS numbers: ids, seqs and buckets stay below 2^53.
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import { VochubError } from '../errors.ts';
import { lookupBucket, memberList } from './common.ts';
import { storeMigrations } from './migrations/index.ts';
import { AUDIT_LOCK, OUTBOX_LOCK, runPostgresTransaction } from './postgres-tx.ts';
import type { StoreDatabase } from './schema.ts';
import { cmp, KyselyStore } from './kysely-store.ts';
import type {
  Store,
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


  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#kysely.destroy();
  }
}

// ---- row mapping ---------------------------------------------------------------------------------
