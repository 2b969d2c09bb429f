// Row shapes of the store's tables, as kysely sees them. Column names are snake_case so the same
// migrations and queries run unchanged on PostgreSQL; JSON is kept as text (the pg driver may use
// jsonb later without changing these shapes for callers, who only see core/store/types.ts).
import type { Generated } from 'kysely';

export interface RecordsTable {
  id: Generated<number>;
  member: string;
  contract: string;
  key: string;
  data: string;
  pii: string | null;
  hash: string;
  version: number;
  deleted: number;
  adapter: string;
  run_id: string;
  file: string | null;
  line: number | null;
  touched_run: string | null;
  created_at: string;
  updated_at: string;
}

export interface RecordAliasesTable {
  member: string;
  contract: string;
  alias: string;
  key: string;
}

export interface RecordLookupsTable {
  id: Generated<number>;
  member: string;
  contract: string;
  key: string;
  kind: string;
  hash: string;
  bucket: number;
}

export interface RecordLookupsPendingTable {
  id: Generated<number>;
  contract: string;
  member: string;
  key: string;
  kind: string;
  hash: string;
  bucket: number;
  version: number;
}

export interface ImportRunsTable {
  id: string;
  member: string;
  adapter: string;
  status: string;
  mode: string;
  started_at: string;
  finished_at: string | null;
  read_count: Generated<number>;
  inserted_count: Generated<number>;
  updated_count: Generated<number>;
  unchanged_count: Generated<number>;
  deleted_count: Generated<number>;
  problems_count: Generated<number>;
  sources: string;
  error: string | null;
  /** JSON: cleaning rule → fields changed (migration 0002). */
  cleaning: string | null;
}

export interface ProblemsTable {
  id: Generated<number>;
  member: string;
  adapter: string;
  run_id: string;
  code: string;
  severity: string;
  message: string;
  file: string | null;
  line: number | null;
  /** JSON of Problem.column: keeps header names and 1-based indexes apart ("5" vs 5). */
  column: string | null;
  sheet: string | null;
  field: string | null;
  contract: string | null;
  key: string | null;
  value: string | null;
  original: string | null;
  status: Generated<string>;
  created_at: string;
}

export interface CheckpointsTable {
  member: string;
  adapter: string;
  value: string;
  updated_at: string;
}

export interface OutboxTable {
  seq: Generated<number>;
  member: string;
  contract: string;
  key: string;
  op: string;
  version: number;
  run_id: string | null;
  at: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  secret_hash: string;
  role: string;
  member: string | null;
  permissions: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AuditLogTable {
  seq: number;
  at: string;
  actor: string;
  action: string;
  member: string | null;
  target: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface StoreDatabase {
  records: RecordsTable;
  record_aliases: RecordAliasesTable;
  record_lookups: RecordLookupsTable;
  record_lookups_pending: RecordLookupsPendingTable;
  import_runs: ImportRunsTable;
  problems: ProblemsTable;
  checkpoints: CheckpointsTable;
  outbox: OutboxTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  meta: MetaTable;
}
