// route → map (adapter) → clean → validate → protect → deliver (store). This module does clean,
// validate and protect for a batch and then writes the batch in ONE store transaction with its
// problems, counts and checkpoint: a crash leaves either the whole batch or none of it.
import type { Problem } from '../errors.ts';
import type { ContractRegistry } from '../contracts/types.ts';
import type { SourceRecord } from '../plugins/types.ts';
import type { PiiVault, ProtectedRecord } from '../security/types.ts';
import type { ImportCounts, Store, StoredRecordInput } from '../store/types.ts';
import { cleanRecord, type CleaningRule } from './clean.ts';

export interface BatchContext {
  store: Store;
  contracts: ContractRegistry;
  vault: PiiVault;
  member: string;
  adapter: string;
  runId: string;
}

export interface BatchInput {
  records: SourceRecord[];
  problems: Problem[];
  checkpoint?: unknown;
  /** Rows read from the source in this batch (defaults to records + record-less problems). */
  read?: number;
}

export interface BatchOutcome {
  counts: ImportCounts;
  cleaning: Partial<Record<CleaningRule, number>>;
}

interface Prepared {
  kind: 'upsert' | 'delete';
  source: SourceRecord;
  input?: StoredRecordInput;
}

/**
 * What clean → validate → protect made of one record, by its index in the batch. Deliberately small
 * and plain: a worker thread prepares batches and posts these back (core/pipeline/prepare-worker.ts);
 * member, contract, key and provenance are added on the writing side from the source record it kept.
 */
export type PreparedItem = { i: number; op: 'delete' } | { i: number; op: 'upsert'; p: ProtectedRecord };

export interface PreparedRecords {
  items: PreparedItem[];
  problems: Problem[];
  /** One encrypted original per problem (problems[i] pairs with originals[i]). */
  originals: (string | undefined)[];
  cleaning: BatchOutcome['cleaning'];
}

/** Clean, validate and protect: pure CPU work, no store and no run context (so it can run in a worker). */
export function prepareRecords(env: { contracts: ContractRegistry; vault: PiiVault }, records: SourceRecord[]): PreparedRecords {
  const items: PreparedItem[] = [];
  const problems: Problem[] = [];
  const originals: (string | undefined)[] = [];
  const cleaning: BatchOutcome['cleaning'] = {};

  const reject = (source: SourceRecord, problem: Problem): void => {
    problems.push({ file: source.location?.file, line: source.location?.line, sheet: source.location?.sheet, contract: source.contract, key: source.key, ...problem });
    // The original row is kept (encrypted: it may hold PII) so an operator can fix and replay it.
    originals.push(env.vault.encryptText(JSON.stringify(source)));
  };

  for (let i = 0; i < records.length; i++) {
    const source = records[i]!;
    if (!env.contracts.has(source.contract)) {
      reject(source, { code: 'CONTRACT_UNKNOWN', severity: 'error', message: `未知契约 / unknown contract ${source.contract}` });
      continue;
    }
    if (source.op === 'delete') {
      items.push({ i, op: 'delete' });
      continue;
    }
    const cleaned = cleanRecord({ ...source.data, id: source.key }, { contract: source.contract });
    for (const rule in cleaned.changes) cleaning[rule] = (cleaning[rule] ?? 0) + (cleaned.changes[rule] ?? 0);
    if (cleaned.problems.length > 0) {
      for (const p of cleaned.problems) reject(source, { ...p, column: p.field ? source.columns?.[p.field.split('/')[0]!] : undefined });
      continue;
    }
    const result = env.contracts.validate(source.contract, cleaned.data);
    if (!result.ok) {
      // One problem per failing field, each pointing at its source column: the operator fixes cells, not JSON.
      for (const e of result.errors) {
        const top = e.field.split('/')[0] ?? '';
        reject(source, { code: e.code, severity: 'error', message: e.message, field: e.field, value: e.value, column: source.columns?.[top] });
      }
      continue;
    }
    items.push({ i, op: 'upsert', p: env.vault.protect(env.contracts.get(source.contract), cleaned.data) });
  }
  return { items, problems, originals, cleaning };
}

function storedInput(ctx: BatchContext, source: SourceRecord, p: ProtectedRecord): StoredRecordInput {
  return {
    member: ctx.member,
    contract: source.contract,
    key: source.key,
    aliases: source.aliases,
    data: p.data,
    pii: p.pii,
    lookup: p.lookup,
    hash: p.hash,
    provenance: { adapter: ctx.adapter, runId: ctx.runId, file: source.location?.file, line: source.location?.line },
  };
}

/** Clean, validate and protect: pure CPU work, done before the write transaction opens. */
export function prepareBatch(ctx: BatchContext, records: SourceRecord[]): { prepared: Prepared[]; problems: Problem[]; originals: (string | undefined)[]; cleaning: BatchOutcome['cleaning'] } {
  const { items, problems, originals, cleaning } = prepareRecords(ctx, records);
  const prepared = items.map((item): Prepared => {
    const source = records[item.i]!;
    return item.op === 'delete' ? { kind: 'delete', source } : { kind: 'upsert', source, input: storedInput(ctx, source, item.p) };
  });
  return { prepared, problems, originals, cleaning };
}

export function emptyCounts(): ImportCounts {
  return { read: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, problems: 0 };
}

/** Writes one batch (records, problems, counts, checkpoint) in one transaction. */
export async function commitBatch(ctx: BatchContext, batch: BatchInput, checkpointOwner?: { member: string; adapter: string }): Promise<BatchOutcome> {
  return writePreparedBatch(ctx, batch, prepareRecords(ctx, batch.records), checkpointOwner);
}

/**
 * The write half of commitBatch: the batch's records as prepared by prepareRecords (here or in a
 * worker), its problems, counts and checkpoint, in ONE store transaction.
 */
export async function writePreparedBatch(
  ctx: BatchContext,
  batch: BatchInput,
  prepared: PreparedRecords,
  checkpointOwner?: { member: string; adapter: string },
): Promise<BatchOutcome> {
  const { items, problems, originals, cleaning } = prepared;
  const records = batch.records;
  // Problems the adapter found (unparseable rows) have no original record to keep.
  // A problem's value may be an ID number or a phone: encrypted at rest like every other PII.
  const allProblems = [...batch.problems, ...problems].map((p) => (p.value === undefined ? p : { ...p, value: ctx.vault.encryptText(p.value) }));
  const allOriginals: (string | undefined)[] = [...batch.problems.map(() => undefined), ...originals];
  const counts = emptyCounts();
  counts.read = batch.read ?? records.length + batch.problems.filter((p) => p.severity === 'error').length;
  await ctx.store.transaction((tx) => {
    // The PostgreSQL store may run this body more than once (see core/store/postgres-tx.ts): only the
    // last run counts, so the counts start from zero on every run.
    counts.inserted = counts.updated = counts.unchanged = counts.deleted = 0;
    for (const item of items) {
      const source = records[item.i]!;
      if (item.op === 'delete') {
        const outcome = tx.remove(ctx.member, source.contract, source.key, {
          adapter: ctx.adapter,
          runId: ctx.runId,
          file: source.location?.file,
          line: source.location?.line,
        });
        if (outcome === 'deleted') counts.deleted++;
        continue;
      }
      const outcome = tx.upsert(storedInput(ctx, source, item.p));
      if (outcome === 'inserted') counts.inserted++;
      else if (outcome === 'updated') counts.updated++;
      else if (outcome === 'unchanged') counts.unchanged++;
    }
    counts.problems = allProblems.length;
    if (allProblems.length > 0) tx.addProblems(ctx.member, ctx.adapter, ctx.runId, allProblems, allOriginals);
    tx.addCounts(ctx.runId, counts);
    if (checkpointOwner && batch.checkpoint !== undefined) tx.setCheckpoint(checkpointOwner.member, checkpointOwner.adapter, { runId: ctx.runId, position: batch.checkpoint });
  });
  return { counts, cleaning };
}
