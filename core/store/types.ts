// The federated record store. Callers see only this interface; the embedded default is SQLite
// (better-sqlite3 through kysely, hot paths on prepared statements), PostgreSQL comes later
// behind the same interface. PII never reaches the store in clear: records arrive already split
// by core/security into clear `data` and an encrypted `pii` blob.

import type { Problem } from '../errors.ts';

export interface RecordProvenance {
  adapter: string;
  runId: string;
  file?: string;
  line?: number;
}

/** A validated, protected record ready to be stored. */
export interface StoredRecordInput {
  member: string;
  contract: string;
  /** Source key, unique within (member, contract). */
  key: string;
  /** Other source keys of the same record (e.g. OneRoster multi-role sourcedIds): deltas on any alias apply to it. */
  aliases?: string[];
  /** Record without its PII fields. */
  data: Record<string, unknown>;
  /** AES-256-GCM ciphertext of the PII fields (see core/security/pii.ts), or null when the record has none. */
  pii: string | null;
  /** Keyed hashes for matching/search without clear values, e.g. { idNumber: 'hmac…' }. */
  lookup?: Record<string, string>;
  /** Keyed content hash of the whole cleaned record (data + PII): unchanged → no new version. */
  hash: string;
  provenance: RecordProvenance;
}

export interface StoredRecord {
  member: string;
  contract: string;
  key: string;
  aliases: string[];
  data: Record<string, unknown>;
  pii: string | null;
  hash: string;
  version: number;
  deleted: boolean;
  provenance: RecordProvenance;
  createdAt: string;
  updatedAt: string;
}

export type UpsertOutcome = 'inserted' | 'updated' | 'unchanged' | 'deleted' | 'missing';

export interface ImportRun {
  id: string;
  member: string;
  adapter: string;
  /** 'running' | 'succeeded' | 'failed' | 'stopped' (stopped: a guard refused, e.g. BULK_DEACTIVATION_LIMIT). */
  status: 'running' | 'succeeded' | 'failed' | 'stopped';
  mode: 'full' | 'delta';
  startedAt: string;
  finishedAt?: string;
  counts: ImportCounts;
  /** Files read with encoding used and rows: [{ file, encoding, rows }]. */
  sources: { file: string; encoding?: string; rows?: number }[];
  error?: { code: string; message: string };
  /** Cleaning rule (contracts/cleaning-rules.json) → number of fields it changed in this run. */
  cleaning?: Record<string, number>;
}

export interface ImportCounts {
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  problems: number;
}

export interface StoredProblem extends Problem {
  id: string;
  member: string;
  adapter: string;
  runId: string;
  /** The original record (as read, before validation) so it can be fixed and replayed; stored encrypted. */
  status: 'open' | 'fixed' | 'replayed' | 'ignored' | 'superseded';
  createdAt: string;
}

export interface RecordQuery {
  member?: string | string[];
  contract: string;
  includeDeleted?: boolean;
  limit?: number;
  /** Opaque cursor from a previous page. */
  after?: string;
}

export interface Page<T> {
  items: T[];
  next?: string;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  /** SHA-256 of the secret part, hex. */
  secretHash: string;
  role: string;
  /** Member scope; null for group-wide roles. */
  member: string | null;
  permissions: string[];
  createdAt: string;
  revokedAt?: string;
}

export interface OutboxEntry {
  seq: number;
  member: string;
  contract: string;
  key: string;
  op: 'upserted' | 'deleted';
  version: number;
  runId?: string;
  at: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  member?: string;
  target?: string;
  detail?: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** Work done inside one transaction: records, problems, counts and checkpoint commit together. */
export interface StoreTransaction {
  upsert(record: StoredRecordInput): UpsertOutcome;
  /** Marks a record deleted (explicit delete); resolves aliases. */
  remove(member: string, contract: string, key: string, provenance: RecordProvenance): UpsertOutcome;
  addProblems(member: string, adapter: string, runId: string, problems: Problem[], originals?: (unknown | undefined)[]): void;
  addCounts(runId: string, delta: Partial<ImportCounts>): void;
  setCheckpoint(member: string, adapter: string, value: unknown): void;
  /** Marks records of (member, contract, adapter) touched in this run so a full-sync sweep can find the rest. */
  touch(member: string, contract: string, key: string, runId: string): void;
}

export interface Store {
  readonly driver: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  /** Runs fn in one durable transaction. fn must be synchronous and re-runnable: the PostgreSQL store
   * may call it more than once (first runs to learn which records it touches, or after a conflict with
   * another writer) and keeps only the last run, so fn must not leave side effects outside tx that
   * it does not reset itself. */
  transaction<T>(fn: (tx: StoreTransaction) => T): Promise<T>;

  getRecord(member: string, contract: string, key: string): Promise<StoredRecord | undefined>;
  listRecords(query: RecordQuery): Promise<Page<StoredRecord>>;
  /** Records of (member, contract, adapter) not touched by runId and not deleted: what a full sync would deactivate. */
  countUntouched(member: string, contract: string, adapter: string, runId: string): Promise<{ untouched: number; total: number }>;
  deleteUntouched(member: string, contract: string, adapter: string, runId: string): Promise<number>;
  /** Live records whose keyed lookup `kind` equals `hash` (identity matching without clear PII), at most 1000. */
  findByLookup(query: { contract: string; kind: string; hash: string; member?: string | string[] }): Promise<{ member: string; key: string }[]>;
  /** Record counts per member and contract (not deleted). */
  stats(): Promise<{ member: string; contract: string; records: number }[]>;
  problemStats(): Promise<{ member: string; code: string; problems: number }[]>;

  createRun(run: Pick<ImportRun, 'member' | 'adapter' | 'mode'>): Promise<ImportRun>;
  finishRun(id: string, status: ImportRun['status'], extra?: { error?: ImportRun['error']; sources?: ImportRun['sources']; cleaning?: ImportRun['cleaning'] }): Promise<void>;
  getRun(id: string): Promise<ImportRun | undefined>;
  listRuns(query: { member?: string | string[]; limit?: number; after?: string }): Promise<Page<ImportRun>>;
  listProblems(query: { member?: string | string[]; runId?: string; code?: string; status?: StoredProblem['status']; limit?: number; after?: string }): Promise<Page<StoredProblem>>;
  getProblem(id: string): Promise<StoredProblem | undefined>;
  /** Marks open problems of earlier runs of (member, adapter) 'superseded': a newer run re-read the same source. */
  supersedeProblems(member: string, adapter: string, exceptRunId: string): Promise<number>;
  /** The original (as-read) record of a problem, decrypted by the caller. */
  getProblemOriginal(id: string): Promise<string | null>;
  setProblemStatus(id: string, status: StoredProblem['status']): Promise<void>;

  getCheckpoint(member: string, adapter: string): Promise<unknown>;
  clearCheckpoint(member: string, adapter: string): Promise<void>;

  // Security tables
  putApiKey(key: ApiKeyRow): Promise<void>;
  findApiKey(id: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(): Promise<ApiKeyRow[]>;
  revokeApiKey(id: string): Promise<void>;
  appendAudit(entry: Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>): Promise<AuditEntry>;
  listAudit(query: { member?: string; limit?: number; after?: number }): Promise<AuditEntry[]>;
  /** Recomputes the hash chain; returns the first broken seq, or null when intact. */
  verifyAudit(): Promise<number | null>;

  /** Changes committed since `afterSeq`, oldest first: the transactional outbox that the relay moves to the bus.
   * Every inserted/updated/deleted outcome of StoreTransaction.upsert/remove/deleteUntouched writes one entry. */
  readOutbox(afterSeq: number, limit: number): Promise<OutboxEntry[]>;
  /** Entries up to and including `seq` have been published; they may be pruned. */
  markOutboxPublished(seq: number): Promise<void>;

  /** Generic key/value for small hub state (first-run flags, etc.). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
