// The store methods both dialects share word for word: kysely builds the SQL for SQLite and
// PostgreSQL alike. Each store keeps only what truly differs — its connection, how it takes the write
// lock, its import hot path (sqlite-tx.ts / postgres-tx.ts), outbox and audit sequencing.
import { expressionBuilder, sql, type Kysely, type Selectable } from 'kysely';
import { VochubError } from '../errors.ts';
import type { Problem } from '../errors.ts';
import { auditHash, decodeCursor, encodeCursor, GENESIS_HASH, memberList, pageLimit, sortableId } from './common.ts';
import type { ImportRunsTable, ProblemsTable, RecordsTable, StoreDatabase } from './schema.ts';
import type { ApiKeyRow, AuditEntry, ImportRun, OutboxEntry, Page, RecordQuery, StoredProblem, StoredRecord } from './types.ts';

const MAX_OUTBOX_READ = 10_000;
const AUDIT_HEAD = 'audit:head';

export abstract class KyselyStore {
  protected abstract get kysely(): Kysely<StoreDatabase>;
  /** Throws when the store is closed. */
  protected abstract open(): void;
  /** Runs fn holding the store's write lock for `scope` (SQLite: the database write lock; PostgreSQL: an advisory lock). */
  protected abstract writeLocked<T>(scope: 'outbox' | 'audit', fn: (db: Kysely<StoreDatabase>) => Promise<T>): Promise<T>;

  private async resolveKey(member: string, contract: string, key: string): Promise<string | undefined> {
    const own = await this.kysely
      .selectFrom('records')
      .select('key')
      .where('contract', '=', contract)
      .where('member', '=', member)
      .where('key', '=', key)
      .executeTakeFirst();
    if (own !== undefined) return own.key;
    const alias = await this.kysely
      .selectFrom('record_aliases')
      .select('key')
      .where('contract', '=', contract)
      .where('member', '=', member)
      .where('alias', '=', key)
      .executeTakeFirst();
    return alias?.key;
  }

  async getRecord(member: string, contract: string, key: string): Promise<StoredRecord | undefined> {
    this.open();
    const resolved = await this.resolveKey(member, contract, key);
    if (resolved === undefined) return undefined;
    const row = await this.kysely
      .selectFrom('records')
      .selectAll()
      .where('contract', '=', contract)
      .where('member', '=', member)
      .where('key', '=', resolved)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const [record] = await this.withAliases([row]);
    return record;
  }

  async listRecords(query: RecordQuery): Promise<Page<StoredRecord>> {
    this.open();
    const members = memberList(query.member);
    if (members !== undefined && members.length === 0) return { items: [] };
    const limit = pageLimit(query.limit);
    let q = this.kysely.selectFrom('records').selectAll().where('contract', '=', query.contract);
    if (members !== undefined) q = q.where('member', 'in', members);
    if (query.includeDeleted !== true) q = q.where('deleted', '=', 0);
    if (query.after !== undefined) {
      const [member, key] = decodeCursor(query.after, 2) as [string, string];
      q = q.where((eb) => eb(eb.refTuple('member', 'key'), '>', eb.tuple(member, key)));
    }
    const rows = await q.orderBy('member').orderBy('key').limit(limit + 1).execute();
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const items = await this.withAliases(rows);
    const last = rows[rows.length - 1];
    return more && last !== undefined ? { items, next: encodeCursor([last.member, last.key]) } : { items };
  }

  private async withAliases(rows: Selectable<RecordsTable>[]): Promise<StoredRecord[]> {
    if (rows.length === 0) return [];
    const contract = rows[0]!.contract;
    const aliasRows = await this.kysely
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

  async countUntouched(member: string, contract: string, adapter: string, runId: string): Promise<{ untouched: number; total: number }> {
    this.open();
    const row = await this.kysely
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

  async deleteUntouched(member: string, contract: string, adapter: string, runId: string): Promise<number> {
    const now = new Date().toISOString();
    const eb = expressionBuilder<StoreDatabase, 'records'>();
    const untouched = eb.and([
      eb('contract', '=', contract),
      eb('member', '=', member),
      eb('adapter', '=', adapter),
      eb('deleted', '=', 0),
      eb.or([eb('touched_run', 'is', null), eb('touched_run', '<>', runId)]),
    ]);
    return this.writeLocked('outbox', async (db) => {
      // Outbox first: it reads the versions the update is about to bump.
      await db
        .insertInto('outbox')
        .columns(['member', 'contract', 'key', 'op', 'version', 'run_id', 'at'])
        .expression(
          db
            .selectFrom('records')
            .select((s) => [
              'member',
              'contract',
              'key',
              sql.lit('deleted').as('op'),
              s('version', '+', 1).as('version'),
              sql.val(runId).as('run_id'),
              sql.val(now).as('at'),
            ])
            .where(untouched)
            .orderBy('key'),
        )
        .execute();
      const result = await db
        .updateTable('records')
        .set((u) => ({ deleted: 1, version: u('version', '+', 1), run_id: runId, file: null, line: null, updated_at: now }))
        .where(untouched)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  async stats(): Promise<{ member: string; contract: string; records: number }[]> {
    this.open();
    const rows = await this.kysely
      .selectFrom('records')
      .select((eb) => ['member', 'contract', eb.fn.countAll<number>().as('records')])
      .where('deleted', '=', 0)
      .groupBy(['member', 'contract'])
      .orderBy('member')
      .orderBy('contract')
      .execute();
    return rows.map((r) => ({ member: r.member, contract: r.contract, records: Number(r.records) }));
  }

  async problemStats(): Promise<{ member: string; code: string; problems: number }[]> {
    this.open();
    const rows = await this.kysely
      .selectFrom('problems')
      .select((eb) => ['member', 'code', eb.fn.countAll<number>().as('problems')])
      .where('status', '=', 'open')
      .groupBy(['member', 'code'])
      .orderBy('member')
      .orderBy('code')
      .execute();
    return rows.map((r) => ({ member: r.member, code: r.code, problems: Number(r.problems) }));
  }

  // ---- runs ------------------------------------------------------------------------------------

  async createRun(run: Pick<ImportRun, 'member' | 'adapter' | 'mode'>): Promise<ImportRun> {
    this.open();
    const created: ImportRun = {
      id: sortableId(),
      member: run.member,
      adapter: run.adapter,
      status: 'running',
      mode: run.mode,
      startedAt: new Date().toISOString(),
      counts: { read: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, problems: 0 },
      sources: [],
    };
    await this.kysely
      .insertInto('import_runs')
      .values({
        id: created.id,
        member: created.member,
        adapter: created.adapter,
        status: created.status,
        mode: created.mode,
        started_at: created.startedAt,
        sources: '[]',
      })
      .execute();
    return created;
  }

  async finishRun(id: string, status: ImportRun['status'], extra: { error?: ImportRun['error']; sources?: ImportRun['sources']; cleaning?: ImportRun['cleaning'] } = {}): Promise<void> {
    this.open();
    const result = await this.kysely
      .updateTable('import_runs')
      .set({
        status,
        finished_at: new Date().toISOString(),
        ...(extra.error !== undefined ? { error: JSON.stringify(extra.error) } : {}),
        ...(extra.sources !== undefined ? { sources: JSON.stringify(extra.sources) } : {}),
        ...(extra.cleaning !== undefined ? { cleaning: JSON.stringify(extra.cleaning) } : {}),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound('STORE_RUN_NOT_FOUND', '导入批次不存在 / import run not found', id);
  }

  async getRun(id: string): Promise<ImportRun | undefined> {
    this.open();
    const row = await this.kysely.selectFrom('import_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  }

  async listRuns(query: { member?: string | string[]; limit?: number; after?: string }): Promise<Page<ImportRun>> {
    this.open();
    const members = memberList(query.member);
    if (members !== undefined && members.length === 0) return { items: [] };
    const limit = pageLimit(query.limit);
    let q = this.kysely.selectFrom('import_runs').selectAll();
    if (members !== undefined) q = q.where('member', 'in', members);
    if (query.after !== undefined) q = q.where('id', '<', String(decodeCursor(query.after, 1)[0]));
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows[rows.length - 1];
    return { items: rows.map(toRun), ...(more && last !== undefined ? { next: encodeCursor([last.id]) } : {}) };
  }

  // ---- problems --------------------------------------------------------------------------------

  async listProblems(query: {
    member?: string | string[];
    runId?: string;
    code?: string;
    status?: StoredProblem['status'];
    limit?: number;
    after?: string;
  }): Promise<Page<StoredProblem>> {
    this.open();
    const members = memberList(query.member);
    if (members !== undefined && members.length === 0) return { items: [] };
    const limit = pageLimit(query.limit);
    let q = this.kysely.selectFrom('problems').selectAll();
    if (members !== undefined) q = q.where('member', 'in', members);
    if (query.runId !== undefined) q = q.where('run_id', '=', query.runId);
    if (query.code !== undefined) q = q.where('code', '=', query.code);
    if (query.status !== undefined) q = q.where('status', '=', query.status);
    if (query.after !== undefined) q = q.where('id', '>', Number(decodeCursor(query.after, 1)[0]));
    const rows = await q.orderBy('id').limit(limit + 1).execute();
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows[rows.length - 1];
    return { items: rows.map(toProblem), ...(more && last !== undefined ? { next: encodeCursor([last.id]) } : {}) };
  }

  async getProblem(id: string): Promise<StoredProblem | undefined> {
    this.open();
    const row = await this.kysely.selectFrom('problems').selectAll().where('id', '=', problemId(id)).executeTakeFirst();
    return row === undefined ? undefined : toProblem(row);
  }

  async supersedeProblems(member: string, adapter: string, exceptRunId: string): Promise<number> {
    this.open();
    const result = await this.kysely
      .updateTable('problems')
      .set({ status: 'superseded' })
      .where('member', '=', member)
      .where('adapter', '=', adapter)
      .where('status', '=', 'open')
      .where('run_id', '<>', exceptRunId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async getProblemOriginal(id: string): Promise<string | null> {
    this.open();
    const row = await this.kysely.selectFrom('problems').select('original').where('id', '=', problemId(id)).executeTakeFirst();
    if (row === undefined) throw notFound('STORE_PROBLEM_NOT_FOUND', '问题记录不存在 / problem not found', id);
    return row.original;
  }

  async setProblemStatus(id: string, status: StoredProblem['status']): Promise<void> {
    this.open();
    const result = await this.kysely.updateTable('problems').set({ status }).where('id', '=', problemId(id)).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound('STORE_PROBLEM_NOT_FOUND', '问题记录不存在 / problem not found', id);
  }

  // ---- checkpoints -----------------------------------------------------------------------------

  async getCheckpoint(member: string, adapter: string): Promise<unknown> {
    this.open();
    const row = await this.kysely
      .selectFrom('checkpoints')
      .select('value')
      .where('member', '=', member)
      .where('adapter', '=', adapter)
      .executeTakeFirst();
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  async clearCheckpoint(member: string, adapter: string): Promise<void> {
    this.open();
    await this.kysely.deleteFrom('checkpoints').where('member', '=', member).where('adapter', '=', adapter).execute();
  }

  // ---- security tables -------------------------------------------------------------------------

  async putApiKey(key: ApiKeyRow): Promise<void> {
    this.open();
    const row = {
      id: key.id,
      name: key.name,
      secret_hash: key.secretHash,
      role: key.role,
      member: key.member,
      permissions: JSON.stringify(key.permissions),
      created_at: key.createdAt,
      revoked_at: key.revokedAt ?? null,
    };
    const { id: _id, ...update } = row;
    await this.kysely
      .insertInto('api_keys')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet(update))
      .execute();
  }

  async findApiKey(id: string): Promise<ApiKeyRow | undefined> {
    this.open();
    const row = await this.kysely.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toApiKey(row);
  }

  async listApiKeys(): Promise<ApiKeyRow[]> {
    this.open();
    const rows = await this.kysely.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toApiKey);
  }

  async revokeApiKey(id: string): Promise<void> {
    this.open();
    const result = await this.kysely
      .updateTable('api_keys')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', sql.val(new Date().toISOString())) }))
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound('STORE_API_KEY_NOT_FOUND', 'API 密钥不存在 / API key not found', id);
  }

  async appendAudit(entry: Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>): Promise<AuditEntry> {
    return this.writeLocked('audit', async (db) => {
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
    this.open();
    let q = this.kysely.selectFrom('audit_log').selectAll();
    if (query.member !== undefined) q = q.where('member', '=', query.member);
    if (query.after !== undefined) q = q.where('seq', '>', query.after);
    const rows = await q.orderBy('seq').limit(pageLimit(query.limit)).execute();
    return rows.map(toAudit);
  }

  async verifyAudit(): Promise<number | null> {
    this.open();
    let prevHash = GENESIS_HASH;
    let lastSeq = 0;
    for (;;) {
      const rows = await this.kysely.selectFrom('audit_log').selectAll().where('seq', '>', lastSeq).orderBy('seq').limit(1000).execute();
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
    this.open();
    const rows = await this.kysely
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
    this.open();
    await this.kysely.deleteFrom('outbox').where('seq', '<=', seq).execute();
  }

  // ---- meta ------------------------------------------------------------------------------------

  async getMeta(key: string): Promise<string | undefined> {
    this.open();
    const row = await this.kysely.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.open();
    await this.kysely.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
  }

}

export function toRecord(row: Selectable<RecordsTable>, aliases: string[]): StoredRecord {
  return {
    member: row.member,
    contract: row.contract,
    key: row.key,
    aliases,
    data: JSON.parse(row.data) as Record<string, unknown>,
    pii: row.pii,
    hash: row.hash,
    version: row.version,
    deleted: row.deleted !== 0,
    provenance: {
      adapter: row.adapter,
      runId: row.run_id,
      ...(row.file !== null ? { file: row.file } : {}),
      ...(row.line !== null ? { line: row.line } : {}),
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toRun(row: Selectable<ImportRunsTable>): ImportRun {
  return {
    id: row.id,
    member: row.member,
    adapter: row.adapter,
    status: row.status as ImportRun['status'],
    mode: row.mode as ImportRun['mode'],
    startedAt: row.started_at,
    ...(row.finished_at !== null ? { finishedAt: row.finished_at } : {}),
    counts: {
      read: row.read_count,
      inserted: row.inserted_count,
      updated: row.updated_count,
      unchanged: row.unchanged_count,
      deleted: row.deleted_count,
      problems: row.problems_count,
    },
    sources: JSON.parse(row.sources) as ImportRun['sources'],
    ...(row.error !== null ? { error: JSON.parse(row.error) as ImportRun['error'] } : {}),
    ...(row.cleaning != null ? { cleaning: JSON.parse(row.cleaning) as ImportRun['cleaning'] } : {}),
  };
}

export function toProblem(row: Selectable<ProblemsTable>): StoredProblem {
  const optional: Partial<Problem> = {};
  if (row.file !== null) optional.file = row.file;
  if (row.line !== null) optional.line = row.line;
  if (row.column !== null) optional.column = JSON.parse(row.column) as string | number;
  if (row.sheet !== null) optional.sheet = row.sheet;
  if (row.field !== null) optional.field = row.field;
  if (row.contract !== null) optional.contract = row.contract;
  if (row.key !== null) optional.key = row.key;
  if (row.value !== null) optional.value = row.value;
  return {
    id: String(row.id),
    member: row.member,
    adapter: row.adapter,
    runId: row.run_id,
    code: row.code,
    severity: row.severity as Problem['severity'],
    message: row.message,
    ...optional,
    status: row.status as StoredProblem['status'],
    createdAt: row.created_at,
  };
}

export function toApiKey(row: Selectable<StoreDatabase['api_keys']>): ApiKeyRow {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    role: row.role,
    member: row.member,
    permissions: JSON.parse(row.permissions) as string[],
    createdAt: row.created_at,
    ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}),
  };
}

export function toAudit(row: Selectable<StoreDatabase['audit_log']>): AuditEntry {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    ...(row.member !== null ? { member: row.member } : {}),
    ...(row.target !== null ? { target: row.target } : {}),
    ...(row.detail !== null ? { detail: JSON.parse(row.detail) as Record<string, unknown> } : {}),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function problemId(id: string): number {
  return /^[1-9]\d{0,15}$/.test(id) ? Number(id) : -1;
}

export function notFound(code: string, message: string, id: string): VochubError {
  return new VochubError(code, message, { status: 404, details: { id } });
}
