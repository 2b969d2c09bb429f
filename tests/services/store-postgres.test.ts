// The driver-agnostic store suite (tests/unit/store/store-suite.ts) against the machine's real
// PostgreSQL, plus what only PostgreSQL has: several writers at once.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../core/store/index.ts';
import type { Store, StoredRecordInput } from '../../core/store/types.ts';
import { runStoreSuite } from '../unit/store/store-suite.ts';
import { createTestDatabase } from './helpers/services.ts';

let db: ReturnType<typeof createTestDatabase>;
let schemaSeq = 0;
beforeAll(() => {
  db = createTestDatabase();
});
afterAll(() => db.drop());

// Every test of the suite gets an empty schema of its own in the test database.
runStoreSuite('postgres', async () => {
  const schema = `s${++schemaSeq}_${process.pid}`;
  const open = () => openStore({ driver: 'postgres', url: db.url, schema });
  let store = await open();
  return {
    store,
    async reopen() {
      await store.close();
      store = await open();
      return store;
    },
    async rawExec(statement, params = []) {
      const client = new pg.Client({ connectionString: db.url, options: `-c search_path=${schema}` });
      await client.connect();
      try {
        await client.query(statement, params);
      } finally {
        await client.end();
      }
    },
    async dispose() {
      await store.close();
    },
  };
});

function student(key: string, name: string, runId: string): StoredRecordInput {
  const data = { id: key, name };
  return { member: '4132010001', contract: 'student', key, data, pii: null, hash: JSON.stringify(data), provenance: { adapter: 'roster', runId } };
}

describe('postgres store with several writers', () => {
  it('keeps every record exactly once when four stores write overlapping batches at the same time', async () => {
    const stores: Store[] = [];
    for (let i = 0; i < 4; i++) stores.push(await openStore({ driver: 'postgres', url: db.url, schema: 'concurrent', poolSize: 2 }));
    try {
      const runId = (await stores[0]!.createRun({ member: '4132010001', adapter: 'roster', mode: 'full' })).id;
      // Each writer upserts the same 300 keys (in its own order) in batches of 50: every key is
      // inserted by exactly one of them and found unchanged by the others.
      const outcomes = await Promise.all(
        stores.map(async (store, w) => {
          const keys = Array.from({ length: 300 }, (_, i) => `S${String((i * (w + 1) * 7) % 300).padStart(3, '0')}`);
          const tally = { inserted: 0, updated: 0, unchanged: 0 };
          for (let b = 0; b < keys.length; b += 50) {
            const batch = keys.slice(b, b + 50);
            const result = await store.transaction((tx) => batch.map((k) => tx.upsert(student(k, `学生${k}`, runId))));
            for (const o of result) tally[o as keyof typeof tally]++;
          }
          return tally;
        }),
      );
      expect(outcomes.reduce((n, t) => n + t.inserted, 0)).toBe(300);
      expect(outcomes.reduce((n, t) => n + t.updated, 0)).toBe(0);
      expect(await stores[0]!.stats()).toEqual([{ member: '4132010001', contract: 'student', records: 300 }]);
      const outbox = await stores[0]!.readOutbox(0, 1000);
      expect(outbox).toHaveLength(300);
      expect(new Set(outbox.map((e) => e.key)).size).toBe(300);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('hands out outbox seqs in commit order, so a relay reading after a seq never skips a slow writer', async () => {
    const a = await openStore({ driver: 'postgres', url: db.url, schema: 'outbox_order' });
    const b = await openStore({ driver: 'postgres', url: db.url, schema: 'outbox_order' });
    try {
      const runId = (await a.createRun({ member: '4132010001', adapter: 'roster', mode: 'full' })).id;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).transaction((tx) => tx.upsert(student(`K${i}`, `n${i}`, runId)))),
      );
      const entries = await a.readOutbox(0, 100);
      expect(entries).toHaveLength(20);
      expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((x, y) => x - y));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses a postgres store without a postgres:// url with CONFIG_INVALID', async () => {
    await expect(openStore({ driver: 'postgres', url: 'mysql://x' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
