import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../core/store/index.ts';
import { openSqliteStore } from '../../../core/store/sqlite.ts';
import { LOOKUP_MERGE_THRESHOLD } from '../../../core/store/sqlite-tx.ts';
import { runStoreSuite } from './store-suite.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vochub-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

runStoreSuite('sqlite', async () => {
  const file = join(tempDir(), 'store.db');
  let store = await openStore({ driver: 'sqlite', file });
  return {
    store,
    async reopen() {
      await store.close();
      store = await openStore({ driver: 'sqlite', file });
      return store;
    },
    async rawExec(statement, params = []) {
      const db = new Database(file);
      try {
        db.prepare(statement).run(...params);
      } finally {
        db.close();
      }
    },
    async dispose() {
      await store.close();
    },
  };
});

describe('sqlite store', () => {
  it('runs in WAL mode with foreign keys on', async () => {
    const file = join(tempDir(), 'store.db');
    const store = await openStore({ driver: 'sqlite', file });
    await store.close();
    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('migrates idempotently and refuses use after close with STORE_CLOSED', async () => {
    const store = openSqliteStore({ file: join(tempDir(), 'store.db') });
    await store.migrate();
    await store.migrate();
    await store.close();
    await expect(store.getMeta('x')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });

  it('finds lookups before and after they are merged into the hash index, never a superseded one', async () => {
    const file = join(tempDir(), 'store.db');
    const store = await openStore({ driver: 'sqlite', file });
    const runId = (await store.createRun({ member: 'm1', adapter: 'csv', mode: 'full' })).id;
    const input = (i: number, hash: string, version = 'a') => ({
      member: 'm1',
      contract: 'student',
      key: `S${i}`,
      data: { id: `S${i}` },
      pii: null,
      lookup: { idNumber: hash },
      hash: `${version}${i}`,
      provenance: { adapter: 'csv', runId },
    });
    await store.transaction((tx) => tx.upsert(input(0, 'pending-0')));
    // Updated while still pending: only the newest version's lookup counts.
    await store.transaction((tx) => tx.upsert(input(0, 'pending-0b', 'b')));
    expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'pending-0' })).toEqual([]);
    expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'pending-0b' })).toEqual([{ member: 'm1', key: 'S0' }]);

    await store.transaction((tx) => {
      for (let i = 1; i <= LOOKUP_MERGE_THRESHOLD; i++) tx.upsert(input(i, `h${i}`));
    });
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM record_lookups_pending').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM record_lookups').pluck().get()).toBe(LOOKUP_MERGE_THRESHOLD + 1);
    db.close();
    expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'pending-0b' })).toEqual([{ member: 'm1', key: 'S0' }]);
    expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'h777' })).toEqual([{ member: 'm1', key: 'S777' }]);

    // A merged lookup is replaced when its record changes.
    await store.transaction((tx) => tx.upsert(input(777, 'h777-new', 'b')));
    expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'h777' })).toEqual([]);
    expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'h777-new' })).toEqual([{ member: 'm1', key: 'S777' }]);
    await store.close();
  });

  it('keeps the committed batch and nothing of the batch in flight when the process is SIGKILLed', async () => {
    const file = join(tempDir(), 'store.db');
    const script = fileURLToPath(new URL('./helpers/kill-mid-transaction.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('midway\n')) resolve();
      });
      child.on('exit', () => reject(new Error(`child exited early: ${out} ${err}`)));
    });
    child.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    const runId = /committed (\S+)/.exec(out)![1]!;

    const store = await openStore({ driver: 'sqlite', file });
    try {
      expect(await store.stats()).toEqual([{ member: '4132010001', contract: 'student', records: 1000 }]);
      expect(await store.getRecord('4132010001', 'student', 'S001000')).toBeUndefined();
      expect((await store.getRun(runId))!.counts).toMatchObject({ read: 1000, inserted: 1000 });
      expect(await store.getCheckpoint('4132010001', 'csv-students')).toEqual({ runId, line: 1001 });
      expect(await store.readOutbox(0, 10_000)).toHaveLength(1000);
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
