// Test wiring: a HubContext made of the real parts (SQLite store in a temp dir, memory bus, the
// repository's contracts, a vault with a throw-away key). `imports` is a small honest stand-in for
// core/hub's runner: it records each call and answers with a real run from the store.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../core/api/app.ts';
import type { HubContext } from '../../../core/api/types.ts';
import { createBus } from '../../../core/bus/index.ts';
import type { Problem } from '../../../core/errors.ts';
import { loadGroupConfig } from '../../../core/config/load.ts';
import { loadContracts } from '../../../core/contracts/registry.ts';
import { silentLogger } from '../../../core/logger.ts';
import type { Logger } from '../../../core/logger.ts';
import { createApiKey } from '../../../core/security/api-keys.ts';
import { loadVault } from '../../../core/security/pii.ts';
import type { Permission, Role } from '../../../core/security/types.ts';
import { openSqliteStore } from '../../../core/store/sqlite.ts';
import type { ImportRun, Store } from '../../../core/store/types.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
export const MEMBER_A = '4133010001';
export const MEMBER_B = '4133010002';

interface StudentFixture {
  members: Record<string, Record<string, unknown>[]>;
  problems: Record<string, { problem: Record<string, unknown>; original?: unknown }[]>;
}

export function readStudents(): StudentFixture {
  return JSON.parse(readFileSync(join(FIXTURES, 'students.json'), 'utf8')) as StudentFixture;
}

export interface TestHub {
  hub: HubContext;
  app: FastifyInstance;
  store: Store;
  dbFile: string;
  calls: { runs: { member: string; adapter: string; mode?: string }[]; replays: { id: string; fixed?: Record<string, unknown> }[] };
  seededRuns: Record<string, string>;
  key(role: Role, member: string | null, permissions?: Permission[]): Promise<string>;
  close(): Promise<void>;
}

/** Seeds the fixture students through vault.protect → store.transaction, exactly what the pipeline commits. */
async function seed(hub: HubContext): Promise<Record<string, string>> {
  const fixture = readStudents();
  const student = hub.contracts.get('student');
  const runs: Record<string, string> = {};
  for (const [member, records] of Object.entries(fixture.members)) {
    const run = await hub.store.createRun({ member, adapter: 'roster', mode: 'full' });
    runs[member] = run.id;
    const problems = fixture.problems[member] ?? [];
    await hub.store.transaction((tx) => {
      for (const record of records) {
        const p = hub.vault.protect(student, record);
        tx.upsert({
          member, contract: 'student', key: String(record.id), data: p.data, pii: p.pii, lookup: p.lookup, hash: p.hash,
          provenance: { adapter: 'roster', runId: run.id, file: 'students.csv' },
        });
      }
      if (problems.length > 0) {
        tx.addProblems(member, 'roster', run.id,
          // PII-class values are kept encrypted like problem originals; others in clear.
          problems.map((x) => ({
            ...(x.problem as unknown as Problem),
            value: x.problem.field === 'idNumber' ? hub.vault.encryptText(String(x.problem.value)) : (x.problem.value as string),
          })),
          problems.map((x) => (x.original === undefined ? undefined : hub.vault.encryptText(JSON.stringify(x.original)))));
      }
      tx.addCounts(run.id, { read: records.length + problems.length, inserted: records.length, problems: problems.length });
    });
    await hub.store.finishRun(run.id, 'succeeded');
  }
  return runs;
}

export async function startHub(options: { logger?: Logger } = {}): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), 'vochub-api-'));
  const dbFile = join(dir, 'hub.db');
  const store = openSqliteStore({ file: dbFile, synchronous: 'normal' });
  await store.migrate();
  const bus = createBus({ transport: 'memory' });
  const calls: TestHub['calls'] = { runs: [], replays: [] };
  const hub: HubContext = {
    config: loadGroupConfig(join(FIXTURES, 'group.yaml'), { VOCHUB_DATA: dir }),
    store,
    bus,
    contracts: loadContracts(),
    vault: loadVault({ masterKey: randomBytes(32) }),
    logger: options.logger ?? silentLogger,
    imports: {
      async run(member, adapter, options): Promise<ImportRun> {
        calls.runs.push({ member, adapter, mode: options?.mode });
        const run = await store.createRun({ member, adapter, mode: options?.mode ?? 'full' });
        await store.finishRun(run.id, 'succeeded');
        return (await store.getRun(run.id))!;
      },
      async replayProblem(id, fixed) {
        calls.replays.push({ id, fixed });
        await store.setProblemStatus(id, 'replayed');
      },
    },
    async ready() {
      const health = await bus.health();
      return { ok: health.ok, checks: { bus: { ok: health.ok, detail: health.transport } } };
    },
  };
  const seededRuns = await seed(hub);
  const app = await buildApi(hub);
  await app.ready();
  return {
    hub, app, store, dbFile, calls, seededRuns,
    async key(role, member, permissions) {
      return (await createApiKey(store, { name: `test ${role}`, role, member, permissions })).key;
    },
    async close() {
      await app.close();
      await bus.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
