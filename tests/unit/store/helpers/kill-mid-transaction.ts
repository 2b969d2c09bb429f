// Child process for the durability test: commits one batch, then opens a second transaction and
// announces it is half-way through, and spins inside it until the parent SIGKILLs it.
import { writeSync } from 'node:fs';
import { openSqliteStore } from '../../../../core/store/sqlite.ts';

const file = process.argv[2]!;
const store = openSqliteStore({ file });
await store.migrate();
const run = await store.createRun({ member: '4132010001', adapter: 'csv-students', mode: 'full' });

function rec(i: number) {
  const key = `S${String(i).padStart(6, '0')}`;
  return {
    member: '4132010001',
    contract: 'student',
    key,
    data: { id: key, grade: '2023' },
    pii: null,
    hash: `h${i}`,
    provenance: { adapter: 'csv-students', runId: run.id, line: i + 2 },
  };
}

await store.transaction((tx) => {
  for (let i = 0; i < 1000; i++) tx.upsert(rec(i));
  tx.addCounts(run.id, { read: 1000, inserted: 1000 });
  tx.setCheckpoint('4132010001', 'csv-students', { runId: run.id, line: 1001 });
});
writeSync(1, `committed ${run.id}\n`);

await store.transaction((tx) => {
  for (let i = 1000; i < 1500; i++) tx.upsert(rec(i));
  tx.addCounts(run.id, { read: 500, inserted: 500 });
  tx.setCheckpoint('4132010001', 'csv-students', { runId: run.id, line: 1501 });
  writeSync(1, 'midway\n');
  // Keep writing inside the open transaction until killed, so the kill lands mid-write.
  for (let i = 1500; ; i++) tx.upsert(rec(i));
});
