// StoreTransaction on PostgreSQL. Store.transaction(fn) takes a SYNCHRONOUS fn (the SQLite hot path
// runs it inside one better-sqlite3 transaction) and callers use tx.upsert's return value at once,
// so this engine cannot ask the server row by row. Instead:
//   1. fn runs against an in-memory view of the records it names. A name the view does not know yet
//      is a miss: the round continues on a provisional answer and its result is thrown away.
//   2. The misses are fetched in ONE query (own keys + alias targets), and fn runs again on the fuller
//      view, until a round has no miss (normally the second; the first when nothing is new).
//   3. The last round's writes are applied with batched unnest() arrays. Optimistic checks make the outcomes exact under concurrent writers: an UPDATE only
//      applies where the version is still the one read; an INSERT uses ON CONFLICT DO NOTHING and
//      must insert every row. All of it is ONE statement (data-modifying CTEs: atomic, one round trip).
//      If another worker got in between, the statement fails as a whole and everything runs again on
//      fresh state (STORE_WRITE_CONFLICT after 5 tries).
// So fn may run more than once: it must be re-runnable (no side effects outside tx that it does not
// reset itself) — core/pipeline/process.ts resets its counts at the top of its fn.
import type { Pool } from 'pg';
import type { Problem } from '../errors.ts';
import { VochubError } from '../errors.ts';
import { lookupBucket } from './common.ts';
import type { ImportCounts, RecordProvenance, StoredRecordInput, StoreTransaction, UpsertOutcome } from './types.ts';

/** Advisory lock ids (pg_advisory_xact_lock): outbox seqs are handed out in commit order under it, so a
 * relay reading `seq > n` never skips an entry that commits late; the audit chain appends under its own. */
export const OUTBOX_LOCK = 0x766f6368_01; // 'voch' + 1
export const AUDIT_LOCK = 0x766f6368_02;

const MAX_ROUNDS = 8;
const MAX_ATTEMPTS = 5;

interface DbHead {
  id: number;
  key: string;
  hash: string;
  version: number;
  deleted: boolean;
  touchedRun: string | null;
}

/** A record as this transaction sees it: loaded from the server or created here, plus pending changes. */
interface Row {
  contract: string;
  member: string;
  key: string;
  id: number | undefined;
  /** Version read from the server (optimistic check); 0 for a row created here. */
  readVersion: number;
  hash: string;
  version: number;
  deleted: boolean;
  touchedRun: string | null;
  /** New content when written in this transaction; serialized only when the round is written (the
   * first, provisional rounds never pay for JSON.stringify). */
  content?: { data: Record<string, unknown>; pii: string | null };
  provenance?: { adapter: string; runId: string; file: string | null; line: number | null };
  /** Version, deleted flag, provenance or content changed: a full row write. */
  changed: boolean;
  /** Only touched_run changed. */
  touched: boolean;
  /** Lookups to replace the stored ones with (set when content is written). */
  lookup?: Record<string, string> | undefined;
  lookupsChanged: boolean;
}

interface OutboxRow {
  member: string;
  contract: string;
  key: string;
  op: 'upserted' | 'deleted';
  version: number;
  runId: string | null;
}

interface ProblemRow {
  member: string;
  adapter: string;
  runId: string;
  problem: Problem;
  original: string | null;
}

const scope = (contract: string, member: string, key: string): string => `${contract}\u0000${member}\u0000${key}`;

/** What the server told us about names fetched so far; kept across rounds of one attempt. */
class View {
  /** Names already asked for (whether found or not). */
  readonly asked = new Set<string>();
  /** Records by own key. */
  readonly heads = new Map<string, DbHead>();
  /** alias name → record key, for aliases found on the server. */
  readonly aliases = new Map<string, string>();
}

/** One round of fn against the view: records misses and buffers writes. */
export class Round implements StoreTransaction {
  readonly misses = new Map<string, [string, string, string]>();
  readonly rows = new Map<string, Row>();
  readonly learnedAliases = new Map<string, string>();
  readonly aliasWrites = new Map<string, [string, string, string, string]>();
  readonly outbox: OutboxRow[] = [];
  readonly problems: ProblemRow[] = [];
  readonly counts = new Map<string, ImportCounts>();
  readonly checkpoints = new Map<string, [string, string, string]>();

  constructor(private readonly view: View) {}

  #load(contract: string, member: string, head: DbHead): Row {
    const id = scope(contract, member, head.key);
    let row = this.rows.get(id);
    if (row === undefined) {
      row = {
        contract, member, key: head.key, id: head.id, readVersion: head.version, hash: head.hash, version: head.version,
        deleted: head.deleted, touchedRun: head.touchedRun, changed: false, touched: false, lookupsChanged: false,
      };
      this.rows.set(id, row);
    }
    return row;
  }

  /** Resolves `key` like the SQLite store: the record's own key first, then an alias. */
  #resolve(contract: string, member: string, key: string): Row | undefined {
    const id = scope(contract, member, key);
    const own = this.rows.get(id);
    if (own !== undefined) return own;
    if (!this.view.asked.has(id)) {
      this.misses.set(id, [contract, member, key]);
      return undefined;
    }
    const head = this.view.heads.get(id);
    if (head !== undefined) return this.#load(contract, member, head);
    const target = this.learnedAliases.get(id) ?? this.view.aliases.get(id);
    if (target === undefined) return undefined;
    const targetId = scope(contract, member, target);
    const row = this.rows.get(targetId);
    if (row !== undefined) return row;
    const targetHead = this.view.heads.get(targetId);
    return targetHead === undefined ? undefined : this.#load(contract, member, targetHead);
  }

  upsert(record: StoredRecordInput): UpsertOutcome {
    const { member, contract, provenance } = record;
    const runId = provenance.runId;
    const prov = { adapter: provenance.adapter, runId, file: provenance.file ?? null, line: provenance.line ?? null };
    let row = this.#resolve(contract, member, record.key);
    let outcome: UpsertOutcome;
    if (row === undefined) {
      row = {
        contract, member, key: record.key, id: undefined, readVersion: 0, hash: record.hash, version: 1, deleted: false, touchedRun: runId,
        content: { data: record.data, pii: record.pii }, provenance: prov, changed: true, touched: false,
        lookup: record.lookup, lookupsChanged: true,
      };
      this.rows.set(scope(contract, member, record.key), row);
      this.outbox.push({ member, contract, key: record.key, op: 'upserted', version: 1, runId });
      outcome = 'inserted';
    } else if (!row.deleted && row.hash === record.hash) {
      if (row.touchedRun !== runId) {
        row.touchedRun = runId;
        row.touched = true;
      }
      outcome = 'unchanged';
    } else {
      row.version++;
      row.hash = record.hash;
      row.deleted = false;
      row.touchedRun = runId;
      row.content = { data: record.data, pii: record.pii };
      row.provenance = prov;
      row.changed = true;
      row.lookup = record.lookup;
      row.lookupsChanged = true;
      this.outbox.push({ member, contract, key: row.key, op: 'upserted', version: row.version, runId });
      outcome = 'updated';
    }
    for (const alias of record.aliases ?? []) {
      if (alias === row.key) continue;
      const id = scope(contract, member, alias);
      this.learnedAliases.set(id, row.key);
      this.aliasWrites.set(id, [contract, member, alias, row.key]);
    }
    return outcome;
  }

  remove(member: string, contract: string, key: string, provenance: RecordProvenance): UpsertOutcome {
    const row = this.#resolve(contract, member, key);
    if (row === undefined) return 'missing';
    if (row.deleted) return 'unchanged';
    row.version++;
    row.deleted = true;
    row.touchedRun = provenance.runId;
    row.provenance = { adapter: provenance.adapter, runId: provenance.runId, file: provenance.file ?? null, line: provenance.line ?? null };
    row.changed = true;
    this.outbox.push({ member, contract, key: row.key, op: 'deleted', version: row.version, runId: provenance.runId });
    return 'deleted';
  }

  addProblems(member: string, adapter: string, runId: string, problems: Problem[], originals?: (unknown | undefined)[]): void {
    for (let i = 0; i < problems.length; i++) {
      const original = originals?.[i];
      if (original !== undefined && original !== null && typeof original !== 'string') {
        // The store never encrypts: an object here would be PII written in clear.
        throw new VochubError('STORE_ORIGINAL_NOT_ENCRYPTED', '问题原始记录必须先加密 / a problem original must be encrypted text', {
          details: { index: i },
        });
      }
      this.problems.push({ member, adapter, runId, problem: problems[i]!, original: (original as string | undefined) ?? null });
    }
  }

  addCounts(runId: string, delta: Partial<ImportCounts>): void {
    let c = this.counts.get(runId);
    if (c === undefined) this.counts.set(runId, (c = { read: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, problems: 0 }));
    c.read += delta.read ?? 0;
    c.inserted += delta.inserted ?? 0;
    c.updated += delta.updated ?? 0;
    c.unchanged += delta.unchanged ?? 0;
    c.deleted += delta.deleted ?? 0;
    c.problems += delta.problems ?? 0;
  }

  setCheckpoint(member: string, adapter: string, value: unknown): void {
    this.checkpoints.set(`${member}\u0000${adapter}`, [member, adapter, JSON.stringify(value ?? null)]);
  }

  touch(member: string, contract: string, key: string, runId: string): void {
    const row = this.#resolve(contract, member, key);
    if (row !== undefined && row.touchedRun !== runId) {
      row.touchedRun = runId;
      row.touched = true;
    }
  }
}

// LATERAL … LIMIT 1: one unique-index probe per name, whatever the planner's row estimates (a plain
// join of unnest() with records picks a hash join over a full scan of records). Alias probes only run
// for (contract, member) scopes that have aliases at all — most have none (one probe per scope).
const FETCH_HEADS = `
WITH q(contract, member, key) AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])),
aliased AS MATERIALIZED (
  SELECT s.contract, s.member FROM (SELECT DISTINCT contract, member FROM q) s
  WHERE EXISTS (SELECT 1 FROM record_aliases a WHERE a.contract = s.contract AND a.member = s.member))
SELECT r.id, r.contract, r.member, r.key, r.hash, r.version, r.deleted, r.touched_run, NULL::text AS alias
  FROM q CROSS JOIN LATERAL (SELECT * FROM records r WHERE r.contract = q.contract AND r.member = q.member AND r.key = q.key LIMIT 1) r
UNION ALL
SELECT r.id, r.contract, r.member, r.key, r.hash, r.version, r.deleted, r.touched_run, a.alias
  FROM q JOIN aliased s ON s.contract = q.contract AND s.member = q.member
  CROSS JOIN LATERAL (SELECT a.alias, a.key FROM record_aliases a WHERE a.contract = q.contract AND a.member = q.member AND a.alias = q.key LIMIT 1) a
  CROSS JOIN LATERAL (SELECT * FROM records r WHERE r.contract = q.contract AND r.member = q.member AND r.key = a.key LIMIT 1) r`;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

async function fetchHeads(pool: Pool, view: View, misses: Iterable<[string, string, string]>): Promise<void> {
  const contracts: string[] = [];
  const members: string[] = [];
  const keys: string[] = [];
  for (const [c, m, k] of misses) {
    contracts.push(c);
    members.push(m);
    keys.push(k);
    view.asked.add(scope(c, m, k));
  }
  const { rows } = await pool.query<{ id: number; contract: string; member: string; key: string; hash: string; version: number; deleted: number; touched_run: string | null; alias: string | null }>(
    FETCH_HEADS,
    [contracts, members, keys],
  );
  for (const r of rows) {
    view.heads.set(scope(r.contract, r.member, r.key), {
      id: Number(r.id), key: r.key, hash: r.hash, version: r.version, deleted: r.deleted !== 0, touchedRun: r.touched_run,
    });
    if (r.alias !== null) view.aliases.set(scope(r.contract, r.member, r.alias), r.key);
  }
}

/** Runs fn in rounds until the view answers every name it asks for; returns the last round. */
async function settle<T>(pool: Pool, fn: (tx: StoreTransaction) => T): Promise<{ round: Round; result: T }> {
  const view = new View();
  for (let i = 0; ; i++) {
    const round = new Round(view);
    let result: T;
    try {
      result = fn(round);
    } catch (error) {
      // A provisional answer may have sent fn down a wrong path: only a round without misses is real.
      if (round.misses.size === 0 || i >= MAX_ROUNDS) throw error;
      await fetchHeads(pool, view, round.misses.values());
      continue;
    }
    if (isThenable(result)) {
      Promise.resolve(result).catch(() => undefined);
      throw new VochubError('STORE_TX_ASYNC', 'Store.transaction 需要同步函数 / Store.transaction needs a synchronous function');
    }
    if (round.misses.size === 0) return { round, result };
    if (i >= MAX_ROUNDS) {
      throw new VochubError('STORE_TX_UNSETTLED', '事务函数每次运行访问不同的记录 / the transaction function asks for different records on every run', {
        details: { rounds: i + 1 },
      });
    }
    await fetchHeads(pool, view, round.misses.values());
  }
}

/** Builds the ONE statement that writes a round: data-modifying CTEs, atomic in autocommit. One round
 * trip instead of BEGIN + a statement per table + COMMIT. Rows touched by different CTEs are disjoint
 * (new vs existing records by id, changed vs touched-only, lookups of other kinds), which is what lets
 * them share a statement; foreign keys are checked at its end, when the new records exist. */
export function buildWrite(round: Round, now: string): { text: string; values: unknown[] } {
  const values: unknown[] = [now];
  const p = (value: unknown, type: string): string => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const ctes: string[] = [];
  const checks: string[] = [];
  const rows = [...round.rows.values()];

  const inserts = rows.filter((r) => r.id === undefined);
  if (inserts.length > 0) {
    ctes.push(`ins AS (INSERT INTO records (member, contract, key, data, pii, hash, version, deleted, adapter, run_id, file, line, touched_run, created_at, updated_at)
  SELECT m, c, k, d, pi, h, v, del, a, r, f, l, t, $1, $1 FROM unnest(${p(inserts.map((r) => r.member), 'text[]')}, ${p(inserts.map((r) => r.contract), 'text[]')},
    ${p(inserts.map((r) => r.key), 'text[]')}, ${p(inserts.map((r) => JSON.stringify(r.content!.data)), 'text[]')}, ${p(inserts.map((r) => r.content!.pii), 'text[]')},
    ${p(inserts.map((r) => r.hash), 'text[]')}, ${p(inserts.map((r) => r.version), 'int[]')}, ${p(inserts.map((r) => (r.deleted ? 1 : 0)), 'int[]')},
    ${p(inserts.map((r) => r.provenance!.adapter), 'text[]')}, ${p(inserts.map((r) => r.provenance!.runId), 'text[]')}, ${p(inserts.map((r) => r.provenance!.file), 'text[]')},
    ${p(inserts.map((r) => r.provenance!.line), 'int[]')}, ${p(inserts.map((r) => r.touchedRun), 'text[]')}) AS u(m, c, k, d, pi, h, v, del, a, r, f, l, t)
  ON CONFLICT (contract, member, key) DO NOTHING RETURNING 1)`);
    checks.push(`(SELECT count(*) FROM ins) = ${inserts.length}`);
  }
  // Ordered by id: concurrent writers lock rows in one order and cannot deadlock on each other.
  const updates = rows.filter((r) => r.id !== undefined && r.changed).sort((a, b) => a.id! - b.id!);
  if (updates.length > 0) {
    // A delete keeps the stored data and PII (sc false): only version, flag and provenance move.
    ctes.push(`upd AS (UPDATE records SET data = CASE WHEN u.sc THEN u.d ELSE records.data END, pii = CASE WHEN u.sc THEN u.pi ELSE records.pii END,
    hash = u.h, version = u.v, deleted = u.del, adapter = u.a, run_id = u.r, file = u.f, line = u.l, touched_run = u.t, updated_at = $1
  FROM unnest(${p(updates.map((r) => r.id), 'bigint[]')}, ${p(updates.map((r) => r.readVersion), 'int[]')}, ${p(updates.map((r) => r.content !== undefined), 'boolean[]')},
    ${p(updates.map((r) => (r.content === undefined ? null : JSON.stringify(r.content.data))), 'text[]')}, ${p(updates.map((r) => r.content?.pii ?? null), 'text[]')}, ${p(updates.map((r) => r.hash), 'text[]')},
    ${p(updates.map((r) => r.version), 'int[]')}, ${p(updates.map((r) => (r.deleted ? 1 : 0)), 'int[]')}, ${p(updates.map((r) => r.provenance!.adapter), 'text[]')},
    ${p(updates.map((r) => r.provenance!.runId), 'text[]')}, ${p(updates.map((r) => r.provenance!.file), 'text[]')}, ${p(updates.map((r) => r.provenance!.line), 'int[]')},
    ${p(updates.map((r) => r.touchedRun), 'text[]')}) AS u(id, rv, sc, d, pi, h, v, del, a, r, f, l, t)
  WHERE records.id = u.id AND records.version = u.rv RETURNING 1)`);
    checks.push(`(SELECT count(*) FROM upd) = ${updates.length}`);
  }
  const touches = rows.filter((r) => r.id !== undefined && !r.changed && r.touched).sort((a, b) => a.id! - b.id!);
  if (touches.length > 0) {
    ctes.push(`tch AS (UPDATE records SET touched_run = u.t FROM unnest(${p(touches.map((r) => r.id), 'bigint[]')}, ${p(touches.map((r) => r.touchedRun), 'text[]')}) AS u(id, t)
  WHERE records.id = u.id)`);
  }
  if (round.aliasWrites.size > 0) {
    const a = [...round.aliasWrites.values()];
    ctes.push(`als AS (INSERT INTO record_aliases (contract, member, alias, key) SELECT * FROM unnest(${p(a.map((x) => x[0]), 'text[]')}, ${p(a.map((x) => x[1]), 'text[]')},
    ${p(a.map((x) => x[2]), 'text[]')}, ${p(a.map((x) => x[3]), 'text[]')})
  ON CONFLICT (contract, member, alias) DO UPDATE SET key = excluded.key WHERE record_aliases.key <> excluded.key)`);
  }
  const relook = rows.filter((r) => r.lookupsChanged);
  const stale = relook.filter((r) => r.id !== undefined);
  if (stale.length > 0) {
    // Kinds the new content no longer has go; the others are overwritten by the insert below (disjoint rows).
    const kinds = stale.map((r) => Object.keys(r.lookup ?? {}).filter((k) => typeof r.lookup![k] === 'string').join('\u0001'));
    ctes.push(`dlk AS (DELETE FROM record_lookups l USING unnest(${p(stale.map((r) => r.contract), 'text[]')}, ${p(stale.map((r) => r.member), 'text[]')},
    ${p(stale.map((r) => r.key), 'text[]')}, ${p(kinds, 'text[]')}) AS u(c, m, k, kinds)
  WHERE l.contract = u.c AND l.member = u.m AND l.key = u.k AND NOT (l.kind = ANY (string_to_array(u.kinds, chr(1)))))`);
  }
  const lk: unknown[][] = [[], [], [], [], [], []];
  for (const r of relook) {
    if (r.lookup === undefined) continue;
    for (const kind in r.lookup) {
      const hash = r.lookup[kind];
      if (typeof hash !== 'string') continue;
      lk[0]!.push(r.contract);
      lk[1]!.push(r.member);
      lk[2]!.push(r.key);
      lk[3]!.push(kind);
      lk[4]!.push(hash);
      lk[5]!.push(lookupBucket(kind, hash));
    }
  }
  if (lk[0]!.length > 0) {
    ctes.push(`ilk AS (INSERT INTO record_lookups (contract, member, key, kind, hash, bucket) SELECT * FROM unnest(${p(lk[0], 'text[]')}, ${p(lk[1], 'text[]')},
    ${p(lk[2], 'text[]')}, ${p(lk[3], 'text[]')}, ${p(lk[4], 'text[]')}, ${p(lk[5], 'bigint[]')})
  ON CONFLICT (contract, member, key, kind) DO UPDATE SET hash = excluded.hash, bucket = excluded.bucket)`);
  }
  if (round.problems.length > 0) {
    const pr = round.problems;
    const col = <V>(f: (x: ProblemRow) => V): V[] => pr.map(f);
    ctes.push(`prb AS (INSERT INTO problems (member, adapter, run_id, code, severity, message, file, line, "column", sheet, field, contract, key, value, original, status, created_at)
  SELECT m, a, r, code, sev, msg, f, l, col, sh, fld, c, k, val, orig, 'open', $1 FROM unnest(${p(col((x) => x.member), 'text[]')}, ${p(col((x) => x.adapter), 'text[]')},
    ${p(col((x) => x.runId), 'text[]')}, ${p(col((x) => x.problem.code), 'text[]')}, ${p(col((x) => x.problem.severity), 'text[]')}, ${p(col((x) => x.problem.message), 'text[]')},
    ${p(col((x) => x.problem.file ?? null), 'text[]')}, ${p(col((x) => x.problem.line ?? null), 'int[]')},
    ${p(col((x) => (x.problem.column === undefined ? null : JSON.stringify(x.problem.column))), 'text[]')}, ${p(col((x) => x.problem.sheet ?? null), 'text[]')},
    ${p(col((x) => x.problem.field ?? null), 'text[]')}, ${p(col((x) => x.problem.contract ?? null), 'text[]')}, ${p(col((x) => x.problem.key ?? null), 'text[]')},
    ${p(col((x) => x.problem.value ?? null), 'text[]')}, ${p(col((x) => x.original), 'text[]')}) WITH ORDINALITY
    AS u(m, a, r, code, sev, msg, f, l, col, sh, fld, c, k, val, orig, ord)
  ORDER BY ord)`);
  }
  if (round.counts.size > 0) {
    const runs = [...round.counts.entries()];
    const n = (f: (c: ImportCounts) => number): string => p(runs.map(([, c]) => f(c)), 'int[]');
    ctes.push(`cnt AS (UPDATE import_runs SET read_count = read_count + u.rd, inserted_count = inserted_count + u.ins, updated_count = updated_count + u.upd,
    unchanged_count = unchanged_count + u.unc, deleted_count = deleted_count + u.del, problems_count = problems_count + u.prb
  FROM unnest(${p(runs.map(([id]) => id), 'text[]')}, ${n((c) => c.read)}, ${n((c) => c.inserted)}, ${n((c) => c.updated)}, ${n((c) => c.unchanged)},
    ${n((c) => c.deleted)}, ${n((c) => c.problems)}) AS u(id, rd, ins, upd, unc, del, prb)
  WHERE import_runs.id = u.id)`);
  }
  if (round.checkpoints.size > 0) {
    const cps = [...round.checkpoints.values()];
    ctes.push(`ckp AS (INSERT INTO checkpoints (member, adapter, value, updated_at) SELECT m, a, v, $1 FROM unnest(${p(cps.map((c) => c[0]), 'text[]')},
    ${p(cps.map((c) => c[1]), 'text[]')}, ${p(cps.map((c) => c[2]), 'text[]')}) AS u(m, a, v)
  ON CONFLICT (member, adapter) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at)`);
  }
  if (round.outbox.length > 0) {
    // Joining the lock row makes every nextval of the outbox seq happen after the lock is held; the
    // lock is held to commit, so seq order is commit order.
    const o = round.outbox;
    ctes.push(`olk AS MATERIALIZED (SELECT pg_advisory_xact_lock(${p(OUTBOX_LOCK, 'bigint')}) AS locked)`);
    ctes.push(`obx AS (INSERT INTO outbox (member, contract, key, op, version, run_id, at)
  SELECT u.m, u.c, u.k, u.op, u.v, u.r, $1 FROM olk, unnest(${p(o.map((e) => e.member), 'text[]')}, ${p(o.map((e) => e.contract), 'text[]')},
    ${p(o.map((e) => e.key), 'text[]')}, ${p(o.map((e) => e.op), 'text[]')}, ${p(o.map((e) => e.version), 'int[]')}, ${p(o.map((e) => e.runId), 'text[]')})
    WITH ORDINALITY AS u(m, c, k, op, v, r, ord)
  ORDER BY u.ord)`);
  }
  if (ctes.length === 0) return { text: '', values: [] };
  // A predicted insert or update that did not happen means another writer got in between: fail the
  // whole statement (so nothing of it commits) with a marker error the caller turns into a retry.
  const check = checks.length === 0 ? 'true' : checks.join(' AND ');
  const text = `WITH ${ctes.join(',\n')}
SELECT CASE WHEN ${check} THEN 1 ELSE (SELECT ('${CONFLICT_MARKER}' || count(*))::int FROM (SELECT 1) AS x) END AS ok, $1::text AS at`;
  return { text, values };
}

const CONFLICT_MARKER = 'vochub-write-conflict';

/** Transient refusals worth a retry: our optimistic check, serialization failure, deadlock. */
function retryable(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (e?.code === '22P02' && typeof e.message === 'string' && e.message.includes(CONFLICT_MARKER)) return true;
  return e?.code === '40001' || e?.code === '40P01';
}

export async function runPostgresTransaction<T>(pool: Pool, fn: (tx: StoreTransaction) => T): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { round, result } = await settle(pool, fn);
    const { text, values } = buildWrite(round, new Date().toISOString());
    if (text === '') return result;
    try {
      await pool.query(text, values);
      return result;
    } catch (error) {
      if (!retryable(error)) throw error;
      lastError = error;
    }
  }
  throw new VochubError('STORE_WRITE_CONFLICT', '并发写入冲突，重试后仍失败 / concurrent writers kept conflicting; the batch was not written', {
    status: 503,
    cause: lastError,
  });
}
