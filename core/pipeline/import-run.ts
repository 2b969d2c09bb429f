// An import run: one adapter instance of one member read end to end, batch by batch, each batch
// committed with its checkpoint. A run interrupted by a crash is resumed (same run id, from the
// checkpoint), so SIGKILL at any moment ends, after restart, with the same records: no loss, no
// duplicates. A full run that declares a contract complete deactivates the records it did not see,
// unless that would exceed the member's configured share: then the run stops and asks.
import { VochubError, type Problem } from '../errors.ts';
import type { ContractRegistry } from '../contracts/types.ts';
import type { Logger } from '../logger.ts';
import type { PluginInstance, ReadBatch } from '../plugins/types.ts';
import type { PiiVault } from '../security/types.ts';
import type { ImportRun, Store } from '../store/types.ts';
import type { CleaningRule } from './clean.ts';
import { createPreparer, prepareWorkerModeFromEnv, type PrepareWorkerMode } from './prepare-worker.ts';
import { emptyCounts, writePreparedBatch, type BatchInput, type PreparedRecords } from './process.ts';

export const DEFAULT_MAX_DEACTIVATE_SHARE = 0.2;

/** Prepared batches that may wait for their commit (see runImport). */
const PIPELINE_DEPTH = 1;
/** After this many records, adapter batches are merged into transactions of about COALESCE_RECORDS rows. */
const COALESCE_AFTER_RECORDS = 20_000;
const COALESCE_RECORDS = 3000;

function rowsRead(batch: BatchInput): number {
  return batch.read ?? batch.records.length + batch.problems.filter((p) => p.severity === 'error').length;
}

/** Two consecutive batches as one: same rows, same read count, the later checkpoint. */
function mergeBatches(a: BatchInput, b: ReadBatch): BatchInput {
  return {
    records: a.records.concat(b.records),
    problems: a.problems.concat(b.problems),
    checkpoint: b.checkpoint !== undefined ? b.checkpoint : a.checkpoint,
    read: rowsRead(a) + rowsRead(b),
  };
}

export interface ImportDeps {
  store: Store;
  contracts: ContractRegistry;
  vault: PiiVault;
  logger: Logger;
}

export interface ImportTarget {
  member: string;
  /** Adapter instance name (unique within the member). */
  adapter: string;
  instance: PluginInstance;
  maxDeactivateShare?: number;
}

export interface ImportProgress {
  read: number;
  problems: number;
}

export interface ImportOptions {
  mode?: 'full' | 'delta';
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** Where clean/validate/protect run: 'auto' (default) moves them to a worker thread for big runs. */
  prepareWorker?: PrepareWorkerMode;
}

interface SavedCheckpoint {
  runId: string;
  position: unknown;
}

function isSaved(value: unknown): value is SavedCheckpoint {
  return typeof value === 'object' && value !== null && typeof (value as SavedCheckpoint).runId === 'string';
}

export async function runImport(deps: ImportDeps, target: ImportTarget, options: ImportOptions = {}): Promise<ImportRun> {
  const { store, logger } = deps;
  if (!target.instance.read) {
    throw new VochubError('ADAPTER_NOT_READABLE', `适配器 ${target.adapter} 不支持读取 / adapter ${target.adapter} cannot read`, { status: 400 });
  }
  const mode = options.mode ?? 'full';
  // Resume an interrupted run of this adapter if its checkpoint is still there.
  const saved = await store.getCheckpoint(target.member, target.adapter);
  let run: ImportRun | undefined;
  if (isSaved(saved)) {
    const previous = await store.getRun(saved.runId);
    if (previous && previous.status === 'running') run = previous;
  }
  const resumed = run !== undefined;
  run ??= await store.createRun({ member: target.member, adapter: target.adapter, mode });
  const ctx = { store, contracts: deps.contracts, vault: deps.vault, member: target.member, adapter: target.adapter, runId: run.id };
  const log = logger.child({ runId: run.id, member: target.member, adapter: target.adapter });
  log.info({ resumed, mode: run.mode }, resumed ? 'import run resumed' : 'import run started');

  const sources = new Map<string, { file: string; encoding?: string; rows?: number }>((run.sources ?? []).map((s) => [s.file, s]));
  const complete = new Set<string>();
  const cleaning: Record<CleaningRule, number> = { ...(run.cleaning ?? {}) };
  const progress: ImportProgress = { read: run.counts?.read ?? 0, problems: run.counts?.problems ?? 0 };
  const signal = options.signal ?? new AbortController().signal;
  // Batches flow read → prepare (clean, validate, protect: a worker thread for big runs) → write, in
  // order. Up to PIPELINE_DEPTH prepared batches wait for their commit, so the worker prepares the next
  // batches while this thread commits one and reads another. Each batch still commits with its own
  // checkpoint in one transaction, in read order: a kill at any moment loses nothing committed.
  const preparer = createPreparer({ contracts: deps.contracts, vault: deps.vault }, log, {
    worker: prepareWorkerModeFromEnv() ?? options.prepareWorker,
  });
  const queue: { batch: BatchInput; prepared: Promise<PreparedRecords> }[] = [];
  let writeFailed = false;
  const write = async (item: { batch: BatchInput; prepared: Promise<PreparedRecords> }): Promise<void> => {
    let outcome;
    try {
      outcome = await writePreparedBatch(ctx, item.batch, await item.prepared, { member: target.member, adapter: target.adapter });
    } catch (error) {
      writeFailed = true;
      throw error;
    }
    for (const [rule, n] of Object.entries(outcome.cleaning)) cleaning[rule] = (cleaning[rule] ?? 0) + (n ?? 0);
    progress.read += outcome.counts.read;
    progress.problems += outcome.counts.problems;
    options.onProgress?.({ ...progress });
    log.debug({ read: progress.read }, 'batch committed');
  };
  const enqueue = (batch: BatchInput): void => {
    const prepared = preparer.prepare(batch.records);
    // Awaited in write(); until then a failure must not count as unhandled.
    prepared.catch(() => undefined);
    queue.push({ batch, prepared });
  };
  // Big runs write several of the adapter's batches in one transaction (fewer commits, each hot index
  // page written once per transaction): the merged batch carries the last checkpoint, so resuming is
  // as exact as before, only coarser. Small runs keep the adapter's batches as they are.
  let held: BatchInput | undefined;
  let seenRecords = 0;
  try {
    const resumeFrom = resumed && isSaved(saved) ? saved.position : undefined;
    for await (const batch of target.instance.read({ checkpoint: resumeFrom, mode: run.mode, signal })) {
      for (const s of batch.sources ?? []) sources.set(s.file, { ...sources.get(s.file), ...s });
      for (const c of batch.complete ?? []) complete.add(c);
      if (batch.records.length > 0 || batch.problems.length > 0 || batch.checkpoint !== undefined) {
        seenRecords += batch.records.length;
        held = held === undefined ? { records: batch.records, problems: batch.problems, checkpoint: batch.checkpoint } : mergeBatches(held, batch);
        if (seenRecords < COALESCE_AFTER_RECORDS || held.records.length + held.problems.length >= COALESCE_RECORDS || signal.aborted) {
          enqueue(held);
          held = undefined;
        }
        while (queue.length > PIPELINE_DEPTH) await write(queue.shift()!);
      }
      if (signal.aborted) break;
    }
    if (held !== undefined) enqueue(held);
    held = undefined;
    // Everything read is committed, also when interrupted: as without the pipeline, the last batch read is written.
    while (queue.length > 0) await write(queue.shift()!);
    if (signal.aborted) {
      // The checkpoint stays: the next start resumes this run.
      log.warn('import run interrupted');
      return (await store.getRun(run.id))!;
    }
    if (run.mode === 'full' && complete.size > 0) {
      const stop = await sweep(deps, target, run.id, [...complete]);
      if (stop) {
        await store.finishRun(run.id, 'stopped', { error: { code: stop.code, message: stop.message }, sources: [...sources.values()], cleaning });
        await store.clearCheckpoint(target.member, target.adapter);
        log.warn({ code: stop.code }, 'import run stopped by the deactivation guard');
        return (await store.getRun(run.id))!;
      }
    }
    await store.finishRun(run.id, 'succeeded', { sources: [...sources.values()], cleaning });
    await store.clearCheckpoint(target.member, target.adapter);
    const finished = (await store.getRun(run.id))!;
    log.info({ counts: finished.counts, cleaning }, 'import run finished');
    return finished;
  } catch (error) {
    // The adapter failed while batches read before the failure were still waiting: commit them, as
    // a run without the pipeline would have done before reading on ("committed batches stay").
    if (!writeFailed) {
      try {
        if (held !== undefined) enqueue(held);
        while (queue.length > 0) await write(queue.shift()!);
      } catch {
        // reported below as the run's failure
      }
    }
    queue.length = 0;
    const code = error instanceof VochubError ? error.code : 'IMPORT_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    await store.finishRun(run.id, 'failed', { error: { code, message }, sources: [...sources.values()], cleaning });
    await store.clearCheckpoint(target.member, target.adapter);
    log.error({ code, err: error }, 'import run failed');
    return (await store.getRun(run.id))!;
  } finally {
    await preparer.close();
  }
}

/** Deactivates what a complete run did not see; returns the refusal when the share limit would be passed. */
async function sweep(deps: ImportDeps, target: ImportTarget, runId: string, contracts: string[]): Promise<Problem | undefined> {
  const limit = target.maxDeactivateShare ?? DEFAULT_MAX_DEACTIVATE_SHARE;
  const plan: { contract: string; untouched: number; total: number }[] = [];
  for (const contract of contracts) {
    const { untouched, total } = await deps.store.countUntouched(target.member, contract, target.adapter, runId);
    plan.push({ contract, untouched, total });
  }
  const over = plan.filter((p) => p.total > 0 && p.untouched / p.total > limit);
  if (over.length > 0) {
    const what = over.map((p) => `${p.contract} ${p.untouched}/${p.total}`).join(', ');
    const problem: Problem = {
      code: 'BULK_DEACTIVATION_LIMIT',
      severity: 'error',
      message: `全量导入将停用超过 ${Math.round(limit * 100)}% 的记录（${what}），已停止，请确认后调高 maxDeactivateShare 或检查导出文件 / a full run would deactivate more than ${Math.round(limit * 100)}% of records (${what}): stopped; confirm by raising maxDeactivateShare or check the export`,
    };
    await deps.store.transaction((tx) => {
      tx.addProblems(target.member, target.adapter, runId, [problem]);
      tx.addCounts(runId, { problems: 1 });
    });
    return problem;
  }
  let deleted = 0;
  for (const p of plan) if (p.untouched > 0) deleted += await deps.store.deleteUntouched(target.member, p.contract, target.adapter, runId);
  if (deleted > 0) await deps.store.transaction((tx) => tx.addCounts(runId, { deleted }));
  return undefined;
}

export { emptyCounts };
