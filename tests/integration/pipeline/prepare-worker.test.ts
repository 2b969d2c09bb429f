import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import createRosterFileAdapter from '../../../adapters/roster-file/index.ts';
import { repoRoot } from '../../../core/config/load.ts';
import { loadContracts } from '../../../core/contracts/registry.ts';
import { silentLogger } from '../../../core/logger.ts';
import { runImport } from '../../../core/pipeline/import-run.ts';
import { createPreparer } from '../../../core/pipeline/prepare-worker.ts';
import { prepareRecords, type PreparedRecords } from '../../../core/pipeline/process.ts';
import type { PluginInstance, SourceRecord } from '../../../core/plugins/types.ts';
import { loadVault } from '../../../core/security/pii.ts';
import { openSqliteStore } from '../../../core/store/sqlite.ts';

const contracts = loadContracts();
const demoDir = resolve(repoRoot, 'examples/demo/data/zhongzhi-roster');
const MEMBER = '3133010103';

async function roster(batchSize = 50): Promise<PluginInstance> {
  return createRosterFileAdapter({
    instance: 'roster',
    member: MEMBER,
    config: {
      files: 'roster.csv',
      columns: { 学号: 'studentNumber', 姓名: 'name', 性别: 'sex', 民族: 'ethnicity', 身份证号: 'idNumber', 出生日期: 'birthDate', 入学日期: 'enrolmentDate', 班级: 'classId', 专业代码: 'programCode', 联系电话: 'phone', 学籍状态: 'enrolmentStatus' },
      defaults: { educationLevel: 'zhongzhi', schoolId: MEMBER },
      idCheckDate: '2024-09-01',
      batchSize,
    },
    baseDir: demoDir,
    dataDir: mkdtempSync(join(tmpdir(), 'vochub-prepare-')),
    contracts,
    logger: silentLogger,
  });
}

async function records(): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const b of (await roster()).read!({ mode: 'full', signal: new AbortController().signal })) out.push(...b.records);
  return out;
}

/** Ciphertexts differ by IV: compare what they decrypt to. */
function comparable(vault: ReturnType<typeof loadVault>, r: PreparedRecords): unknown {
  return {
    items: r.items.map((item) => (item.op === 'delete' ? item : { ...item, p: { ...item.p, pii: item.p.pii === null ? null : vault.decryptText(item.p.pii) } })),
    problems: r.problems,
    originals: r.originals.map((o) => (o === undefined ? o : vault.decryptText(o))),
    cleaning: r.cleaning,
  };
}

describe('preparing import batches in a worker thread', () => {
  it('gives exactly what in-process preparation gives: same records, lookups, hashes, problems', async () => {
    const vault = loadVault({ masterKey: Buffer.alloc(32, 9) });
    const all = await records();
    // A record that fails validation and a delete travel with the good ones.
    const batch: SourceRecord[] = [
      ...all.slice(0, 40),
      { ...all[0]!, key: 'bad-1', data: { ...all[0]!.data, id: 'bad-1', sex: 'spaceship' } },
      { contract: 'student', key: all[1]!.key, op: 'delete', data: {} },
    ];
    const preparer = createPreparer({ contracts, vault }, silentLogger, { worker: 'always' });
    try {
      const threaded = await preparer.prepare(batch);
      expect(preparer.threaded).toBe(true);
      const local = prepareRecords({ contracts, vault }, batch);
      expect(threaded.items).toHaveLength(41);
      expect(threaded.problems).toHaveLength(1);
      expect(threaded.problems[0]).toMatchObject({ key: 'bad-1', field: 'sex' });
      expect(comparable(vault, threaded)).toEqual(comparable(vault, local));
    } finally {
      await preparer.close();
    }
  });

  it('imports the same records through the worker, and a re-run changes nothing', async () => {
    const store = openSqliteStore({ file: join(mkdtempSync(join(tmpdir(), 'vochub-prepare-store-')), 'vochub.db') });
    await store.migrate();
    const deps = { store, contracts, vault: loadVault({ masterKey: Buffer.alloc(32, 5) }), logger: silentLogger };
    const plain = await runImport(deps, { member: MEMBER, adapter: 'roster', instance: await roster(7) }, { prepareWorker: 'never' });
    expect(plain.status).toBe('succeeded');
    const threaded = await runImport(deps, { member: MEMBER, adapter: 'roster', instance: await roster(7) }, { prepareWorker: 'always' });
    expect(threaded.status).toBe('succeeded');
    expect(threaded.counts).toMatchObject({ read: plain.counts.read, inserted: 0, updated: 0, unchanged: plain.counts.inserted, problems: plain.counts.problems });
    await store.close();
  });
});
