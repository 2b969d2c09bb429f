// Initial schema. Written with kysely's schema builder so PostgreSQL gets the same tables; the
// few dialect differences (auto-increment keys, WITHOUT ROWID) go through `d`.
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from './index.ts';

export function initialMigration(dialect: StoreDialect): Migration {
  const sqlite = dialect === 'sqlite';
  // Small tables keyed by a composite key: on SQLite WITHOUT ROWID stores them in one b-tree.
  const compact = sqlite ? sql`without rowid` : sql``;

  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('records')
        .addColumn('id', sqlite ? 'integer' : 'bigserial', (c) => (sqlite ? c.primaryKey() : c.primaryKey()))
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('contract', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('pii', 'text')
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('adapter', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('file', 'text')
        .addColumn('line', 'integer')
        .addColumn('touched_run', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        // Column order serves the queries: upsert probes all three; listRecords filters contract, then
        // member(s), and pages by (member, key) in index order.
        .addUniqueConstraint('records_contract_member_key', ['contract', 'member', 'key'])
        .execute();

      await db.schema
        .createTable('record_aliases')
        .addColumn('contract', 'text', (c) => c.notNull())
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('record_aliases_pk', ['contract', 'member', 'alias'])
        .addForeignKeyConstraint('record_aliases_record', ['contract', 'member', 'key'], 'records', ['contract', 'member', 'key'], (fk) =>
          fk.onDelete('cascade'),
        )
        .modifyEnd(compact)
        .execute();
      await db.schema.createIndex('record_aliases_by_key').on('record_aliases').columns(['contract', 'member', 'key']).execute();

      // Matching looks up by `bucket`, a 53-bit hash of (kind, hash) computed in JS (common.ts): an
      // integer index is ~5x smaller than one on the HMAC text, and index size is what random-order
      // inserts pay for (each insert dirties a page; fewer pages, fewer writes).
      await db.schema
        .createTable('record_lookups')
        .addColumn('id', sqlite ? 'integer' : 'bigserial', (c) => c.primaryKey())
        .addColumn('contract', 'text', (c) => c.notNull())
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('record_lookups_record_kind', ['contract', 'member', 'key', 'kind'])
        .addForeignKeyConstraint('record_lookups_record', ['contract', 'member', 'key'], 'records', ['contract', 'member', 'key'], (fk) =>
          fk.onDelete('cascade'),
        )
        .execute();
      await db.schema.createIndex('record_lookups_by_bucket').on('record_lookups').column('bucket').execute();

      // Lookups of the current import wait here (an append-only heap) and are merged into
      // record_lookups in hash order every few thousand rows: random-order inserts into the hash
      // index cost ~3x more per row than one sorted merge. `version` ties an entry to the record
      // version that wrote it, so entries of superseded versions are ignored and dropped at merge.
      await db.schema
        .createTable('record_lookups_pending')
        .addColumn('id', sqlite ? 'integer' : 'bigserial', (c) => c.primaryKey())
        .addColumn('contract', 'text', (c) => c.notNull())
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('import_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('adapter', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('read_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('inserted_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('unchanged_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('deleted_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('problems_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('sources', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('import_runs_by_member').on('import_runs').columns(['member', 'id']).execute();

      await db.schema
        .createTable('problems')
        .addColumn('id', sqlite ? 'integer' : 'bigserial', (c) => (sqlite ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('adapter', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('file', 'text')
        .addColumn('line', 'integer')
        .addColumn('column', 'text')
        .addColumn('sheet', 'text')
        .addColumn('field', 'text')
        .addColumn('contract', 'text')
        .addColumn('key', 'text')
        .addColumn('value', 'text')
        .addColumn('original', 'text')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('problems_by_run').on('problems').columns(['run_id', 'id']).execute();
      await db.schema.createIndex('problems_by_member_status').on('problems').columns(['member', 'status', 'code']).execute();

      await db.schema
        .createTable('checkpoints')
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('adapter', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('checkpoints_pk', ['member', 'adapter'])
        .modifyEnd(compact)
        .execute();

      await db.schema
        .createTable('outbox')
        // AUTOINCREMENT: seq must never be reused after pruning, or a relay reading `afterSeq` would skip entries.
        .addColumn('seq', sqlite ? 'integer' : 'bigserial', (c) => (sqlite ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('member', 'text', (c) => c.notNull())
        .addColumn('contract', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('op', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('member', 'text')
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('member', 'text')
        .addColumn('target', 'text')
        .addColumn('detail', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_by_member').on('audit_log').columns(['member', 'seq']).execute();

      await db.schema
        .createTable('meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      for (const table of ['meta', 'audit_log', 'api_keys', 'outbox', 'checkpoints', 'problems', 'import_runs', 'record_lookups_pending', 'record_lookups', 'record_aliases', 'records']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
