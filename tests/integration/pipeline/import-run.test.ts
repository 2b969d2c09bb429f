import { beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../../core/config/load.ts';
import { loadContracts } from '../../../core/contracts/registry.ts';
import { silentLogger } from '../../../core/logger.ts';
import { discoverPlugins, loadInstances } from '../../../core/plugins/host.ts';
import type { PluginInstance, ReadBatch } from '../../../core/plugins/types.ts';
import { runImport } from '../../../core/pipeline/import-run.ts';
import { loadVault } from '../../../core/security/pii.ts';
import { openSqliteStore } from '../../../core/store/sqlite.ts';
import type { Store } from '../../../core/store/types.ts';

const contracts = loadContracts();
const plugins = discoverPlugins({ roots: [resolve(repoRoot, 'adapters')], nodeModules: resolve(import.meta.dirname, '../../fixtures/plugins/node_modules') });
const MEMBER = '4133010101';

async function echo(records: number, batch = 2): Promise<PluginInstance> {
  const [loaded] = await loadInstances([{ kind: 'adapter', type: 'echo', instance: 'echo', member: MEMBER, config: { records, batch }, path: 'test' }], {
    plugins,
    contracts,
    logger: silentLogger,
    baseDir: '/',
    dataDir: mkdtempSync(join(tmpdir(), 'vochub-echo-')),
  });
  return loaded!.instance;
}

let store: Store;
let deps: Parameters<typeof runImport>[0];
beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vochub-pipeline-'));
  store = await openSqliteStore({ file: join(dir, 'vochub.db') });
  await store.migrate();
  deps = { store, contracts, vault: loadVault({ masterKey: Buffer.alloc(32, 7) }), logger: silentLogger };
});

const count = async (contract: string): Promise<number> => (await store.stats()).find((s) => s.member === MEMBER && s.contract === contract)?.records ?? 0;

describe('import runs', () => {
  it('imports every record and a second run of the same source changes nothing', async () => {
    const first = await runImport(deps, { member: MEMBER, adapter: 'echo', instance: await echo(7) });
    expect(first.status).toBe('succeeded');
    expect(first.counts).toMatchObject({ read: 7, inserted: 7, problems: 0 });
    const second = await runImport(deps, { member: MEMBER, adapter: 'echo', instance: await echo(7) });
    expect(second.counts).toMatchObject({ read: 7, inserted: 0, updated: 0, unchanged: 7, deleted: 0 });
    expect(await count('organization')).toBe(7);
    expect(await store.readOutbox(0, 100)).toHaveLength(7);
  });

  it('stops a full run that would deactivate more than the configured share, and deactivates within it', async () => {
    await runImport(deps, { member: MEMBER, adapter: 'echo', instance: await echo(10) });
    const stopped = await runImport(deps, { member: MEMBER, adapter: 'echo', instance: await echo(5) });
    expect(stopped.status).toBe('stopped');
    expect(stopped.error?.code).toBe('BULK_DEACTIVATION_LIMIT');
    expect(await count('organization')).toBe(10);
    const problems = await store.listProblems({ runId: stopped.id });
    expect(problems.items.map((p) => p.code)).toEqual(['BULK_DEACTIVATION_LIMIT']);

    const allowed = await runImport(deps, { member: MEMBER, adapter: 'echo', instance: await echo(5), maxDeactivateShare: 0.6 });
    expect(allowed.status).toBe('succeeded');
    expect(allowed.counts.deleted).toBe(5);
    expect(await count('organization')).toBe(5);
  });

  it('resumes an interrupted run from its checkpoint under the same run id', async () => {
    const source = await echo(6);
    // A reader that dies after its second batch, as a SIGKILLed process would.
    const dying: PluginInstance = {
      async *read(options) {
        let n = 0;
        for await (const batch of source.read!(options)) {
          yield batch;
          if (++n === 2) throw Object.assign(new Error('killed'), { simulatedCrash: true });
        }
      },
    };
    const crashed = await runImport(deps, { member: MEMBER, adapter: 'echo', instance: dying }).catch((e: unknown) => e);
    // The run failed; mark it running again with the checkpoint to model a hard kill (no finishRun).
    expect((crashed as { status?: string }).status).toBe('failed');
    expect(await count('organization')).toBe(4);

    // A hard kill leaves the run 'running' and the checkpoint in place: model it exactly.
    const run = await store.createRun({ member: MEMBER, adapter: 'echo', mode: 'full' });
    const seen: unknown[] = [];
    const recorder: PluginInstance = {
      async *read(options) {
        seen.push(options.checkpoint);
        yield* source.read!(options) as AsyncIterable<ReadBatch>;
      },
    };
    await store.transaction((tx) => tx.setCheckpoint(MEMBER, 'echo', { runId: run.id, position: 4 }));
    const resumed = await runImport(deps, { member: MEMBER, adapter: 'echo', instance: recorder });
    expect(resumed.id).toBe(run.id);
    expect(seen).toEqual([4]);
    expect(resumed.counts.inserted).toBe(2);
    expect(await count('organization')).toBe(6);
    expect(await store.getCheckpoint(MEMBER, 'echo')).toBeUndefined();
  });

  it('keeps bad rows as problems with their location and the good rows go on', async () => {
    const instance: PluginInstance = {
      async *read() {
        yield {
          records: [
            { contract: 'organization', key: 'ok-1', op: 'upsert', data: { name: '好组织', type: 'school' }, location: { file: 'orgs.csv', line: 2 } },
            { contract: 'organization', key: 'bad-1', op: 'upsert', data: { name: '坏组织', type: 'spaceship' }, location: { file: 'orgs.csv', line: 3 }, columns: { type: '类型' } },
            { contract: 'organization', key: 'ok-2', op: 'upsert', data: { name: '另一个', type: 'department' }, location: { file: 'orgs.csv', line: 4 } },
          ],
          problems: [{ code: 'CSV_COLUMN_COUNT', severity: 'error', message: 'ragged', file: 'orgs.csv', line: 5 }],
        } satisfies ReadBatch;
      },
    };
    const run = await runImport(deps, { member: MEMBER, adapter: 'orgs', instance });
    expect(run.counts).toMatchObject({ read: 4, inserted: 2, problems: 2 });
    const problems = (await store.listProblems({ runId: run.id })).items;
    const enumProblem = problems.find((p) => p.key === 'bad-1');
    expect(enumProblem).toMatchObject({ code: 'CONTRACT_ENUM', file: 'orgs.csv', line: 3, column: '类型', field: 'type' });
    expect(problems.find((p) => p.code === 'CSV_COLUMN_COUNT')).toMatchObject({ line: 5 });
    expect(await store.getProblemOriginal(enumProblem!.id)).not.toBeNull();
  });

  it('applies explicit deletes', async () => {
    await runImport(deps, { member: MEMBER, adapter: 'echo', instance: await echo(3) });
    const deleter: PluginInstance = {
      async *read() {
        yield { records: [{ contract: 'organization', key: 'org-1', op: 'delete', data: {} }], problems: [] };
      },
    };
    const run = await runImport(deps, { member: MEMBER, adapter: 'echo', instance: deleter }, { mode: 'delta' });
    expect(run.counts.deleted).toBe(1);
    expect(await count('organization')).toBe(2);
  });
});
