// PostgreSQL store hot path: batches of 1000 upserts through Store.transaction, as the import pipeline
// does (records + outbox + counts in one transaction), against a raw floor measured in the same run on
// the same server: one batched INSERT … ON CONFLICT … DO UPDATE … WHERE hash IS DISTINCT FROM of the
// same rows (unnest arrays) into a table of the same shape and indexes, per batch, autocommit.
// Needs the machine's PostgreSQL (scripts/services/postgres.sh): a throw-away database is created and dropped.
// Usage: npm run bench:postgres -- [rows=100000] [lookups|no-lookups] [batch=1000]
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openStore } from '../core/store/index.ts';
import type { Store, StoredRecordInput } from '../core/store/types.ts';

const rows = Number(process.argv[2] ?? 100_000);
const withLookups = process.argv[3] === 'lookups';
const BATCH = Number(process.argv[4] ?? 1000);
const script = fileURLToPath(new URL('../scripts/services/postgres.sh', import.meta.url));
const dbName = `vochub_bench_${randomBytes(4).toString('hex')}`;

function makeBatch(start: number, generation: number): StoredRecordInput[] {
  const batch: StoredRecordInput[] = [];
  for (let i = start; i < Math.min(start + BATCH, rows); i++) {
    const data = {
      id: `S${String(i).padStart(9, '0')}`,
      studentNumber: `2023${String(i).padStart(8, '0')}`,
      familyName: '王',
      givenName: '小明',
      sex: '1',
      ethnicity: '01',
      schoolId: '4132010001',
      classId: `C2023${i % 400}`,
      programCode: '510201',
      educationLevel: 'gaozhi-zhuanke',
      enrolmentDate: '2023-09-01',
      enrolmentStatus: generation === 2 ? 'suspended' : 'enrolled',
    };
    batch.push({
      member: '4132010001',
      contract: 'student',
      key: data.id,
      data,
      pii: 'v1.' + 'A'.repeat(120),
      ...(withLookups ? { lookup: { idNumber: createHash('sha256').update(String(i)).digest('hex') } } : {}),
      hash: `${generation === 2 ? 'b' : 'a'}${i}`,
      provenance: { adapter: 'csv-students', runId: `run-${generation}`, file: 'students.csv', line: i + 2 },
    });
  }
  return batch;
}

async function storeBatch(store: Store, runId: string, batch: StoredRecordInput[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await store.transaction((tx) => {
    const counts = { read: batch.length, inserted: 0, updated: 0, unchanged: 0 };
    for (const r of batch) counts[tx.upsert(r) as 'inserted' | 'updated' | 'unchanged']++;
    tx.addCounts(runId, counts);
  });
  return Number(process.hrtime.bigint() - t0);
}

const FLOOR_TABLE = `CREATE TABLE floor (id bigserial PRIMARY KEY, member text NOT NULL, contract text NOT NULL, key text NOT NULL,
  data text NOT NULL, pii text, hash text NOT NULL, version integer NOT NULL, deleted integer NOT NULL DEFAULT 0, adapter text NOT NULL,
  run_id text NOT NULL, file text, line integer, touched_run text, created_at text NOT NULL, updated_at text NOT NULL,
  UNIQUE (contract, member, key))`;
const FLOOR_UPSERT = `INSERT INTO floor (member, contract, key, data, pii, hash, version, adapter, run_id, file, line, touched_run, created_at, updated_at)
  SELECT m, c, k, d, p, h, 1, a, r, 'students.csv', l, r, $10, $10 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[])
    AS u(m, c, k, d, p, h, a, r, l)
  ON CONFLICT (contract, member, key) DO UPDATE SET data = excluded.data, pii = excluded.pii, hash = excluded.hash, version = floor.version + 1,
    run_id = excluded.run_id, updated_at = excluded.updated_at WHERE floor.hash IS DISTINCT FROM excluded.hash`;

async function floorBatch(client: pg.Client, batch: StoredRecordInput[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await client.query(FLOOR_UPSERT, [
    batch.map((r) => r.member), batch.map((r) => r.contract), batch.map((r) => r.key), batch.map((r) => JSON.stringify(r.data)),
    batch.map((r) => r.pii), batch.map((r) => r.hash), batch.map((r) => r.provenance.adapter), batch.map((r) => r.provenance.runId),
    batch.map((r) => r.provenance.line ?? null), new Date().toISOString(),
  ]);
  return Number(process.hrtime.bigint() - t0);
}

/** One pass over all rows; floor and store alternate batch by batch (and who goes first), so load from
 * other processes on a shared machine hits both sides alike. Returns rows/s of each. */
async function pass(client: pg.Client, store: Store, runId: string, generation: number): Promise<{ floor: number; store: number }> {
  let floorNs = 0;
  let storeNs = 0;
  let n = 0;
  for (let start = 0; start < rows; start += BATCH) {
    const batch = makeBatch(start, generation).map((r) => ({ ...r, provenance: { ...r.provenance, runId } }));
    if (n++ % 2 === 0) {
      floorNs += await floorBatch(client, batch);
      storeNs += await storeBatch(store, runId, batch);
    } else {
      storeNs += await storeBatch(store, runId, batch);
      floorNs += await floorBatch(client, batch);
    }
  }
  return { floor: rows / (floorNs / 1e9), store: rows / (storeNs / 1e9) };
}

const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
const url = execFileSync('bash', [script, 'create', dbName], { encoding: 'utf8' }).trim();
try {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(FLOOR_TABLE);
  const store = await openStore({ driver: 'postgres', url });
  const run1 = (await store.createRun({ member: '4132010001', adapter: 'csv-students', mode: 'full' })).id;
  const run2 = (await store.createRun({ member: '4132010001', adapter: 'csv-students', mode: 'full' })).id;
  const fresh = await pass(client, store, run1, 1);
  const unchanged = await pass(client, store, run2, 1);
  const changed = await pass(client, store, run2, 2);
  await store.close();
  await client.end();
  const line = (label: string, r: { floor: number; store: number }) =>
    console.log(`  ${label.padEnd(24)} floor ${fmt(r.floor).padStart(10)}  store ${fmt(r.store).padStart(10)}  ratio ${(r.store / r.floor).toFixed(2)}`);
  console.log(`postgres store upsert, ${rows} rows, batches of ${BATCH}, ${withLookups ? 'one idNumber lookup per record' : 'no lookups'}`);
  line('fresh import (inserted)', fresh);
  line('re-import (unchanged)', unchanged);
  line('re-import (updated)', changed);
} finally {
  execFileSync('bash', [script, 'drop', dbName], { stdio: 'inherit' });
}
