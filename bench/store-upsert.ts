// Store hot path: batches of 1000 upserts in one transaction, as the import pipeline does.
// Prints upserts/s for a fresh import, an unchanged re-import and a changed re-import, each as a
// ratio to a raw floor measured in the same run (bare better-sqlite3 batched INSERT of the same JSON).
// Usage: npx tsx bench/store-upsert.ts [rows=200000] [synchronous=normal|full] [lookups|no-lookups] [batch=1000]
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../core/store/sqlite.ts';
import type { StoredRecordInput } from '../core/store/types.ts';

const rows = Number(process.argv[2] ?? 200_000);
const synchronous = process.argv[3] === 'full' ? 'full' : 'normal';
const BATCH = Number(process.argv[5] ?? 1000);
const withLookups = process.argv[4] !== 'no-lookups';
const dir = mkdtempSync(join(tmpdir(), 'vochub-bench-store-'));

function makeBatch(start: number, generation: number): StoredRecordInput[] {
  const batch: StoredRecordInput[] = [];
  for (let i = start; i < Math.min(start + BATCH, rows); i++) {
    const data = {
      id: `S${String(i).padStart(9, '0')}`,
      studentNumber: `2023${String(i).padStart(8, '0')}`,
      nationalStudentId: `G3201022005${String(i).padStart(8, '0')}`,
      familyName: '王',
      givenName: '小明',
      sex: '1',
      ethnicity: '01',
      nativePlace: '320102',
      schoolId: '4132010001',
      classId: `C2023${i % 400}`,
      programCode: '510201',
      grade: '2023',
      educationLevel: 'gaozhi-zhuanke',
      enrolmentDate: '2023-09-01',
      enrolmentStatus: generation === 2 ? 'suspended' : 'enrolled',
      extensions: { dormitory: `D${i % 97}-${i % 13}` },
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

async function storePass(store: ReturnType<typeof openSqliteStore>, generation: number): Promise<number> {
  let elapsed = 0;
  for (let start = 0; start < rows; start += BATCH) {
    const batch = makeBatch(start, generation);
    const t0 = process.hrtime.bigint();
    await store.transaction((tx) => {
      for (const r of batch) tx.upsert(r);
    });
    elapsed += Number(process.hrtime.bigint() - t0);
  }
  return rows / (elapsed / 1e9);
}

function floorPass(): number {
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, data TEXT NOT NULL, hash TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO t (k, data, hash) VALUES (?, ?, ?)');
  const tx = db.transaction((batch: StoredRecordInput[]) => {
    for (const r of batch) insert.run(r.key, JSON.stringify(r.data), r.hash);
  });
  let elapsed = 0;
  for (let start = 0; start < rows; start += BATCH) {
    const batch = makeBatch(start, 1);
    const t0 = process.hrtime.bigint();
    tx(batch);
    elapsed += Number(process.hrtime.bigint() - t0);
  }
  db.close();
  return rows / (elapsed / 1e9);
}

const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
try {
  const floor = floorPass();
  const store = openSqliteStore({ file: join(dir, 'store.db'), synchronous });
  await store.migrate();
  const fresh = await storePass(store, 1);
  const unchanged = await storePass(store, 1);
  const changed = await storePass(store, 2);
  await store.close();
  console.log(`store upsert, ${rows} rows, batches of ${BATCH}, synchronous=${synchronous}, ${withLookups ? 'one idNumber lookup per record' : 'no lookups'}`);
  console.log(`  raw floor (bare INSERT)  ${fmt(floor)}`);
  console.log(`  fresh import (inserted)  ${fmt(fresh)}  ratio ${(fresh / floor).toFixed(2)}`);
  console.log(`  re-import (unchanged)    ${fmt(unchanged)}  ratio ${(unchanged / floor).toFixed(2)}`);
  console.log(`  re-import (updated)      ${fmt(changed)}  ratio ${(changed / floor).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
