// One behavioural suite for every Store driver: SQLite runs it now, PostgreSQL joins by calling
// runStoreSuite with its own harness. Nothing here may depend on a driver's internals except
// through the harness hooks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Problem } from '../../../core/errors.ts';
import type { Store, StoredRecordInput } from '../../../core/store/types.ts';

export interface StoreHarness {
  store: Store;
  /** Closes the store and opens the same database again. */
  reopen(): Promise<Store>;
  /** Runs one statement directly against the database, behind the store's back (tamper tests). */
  rawExec(statement: string, params?: unknown[]): Promise<void>;
  dispose(): Promise<void>;
}

const C19 = fileURLToPath(new URL('../../fixtures/cases/C19-oneroster-multirole-users.csv', import.meta.url));

function record(key: string, data: Record<string, unknown>, runId: string, extra: Partial<StoredRecordInput> = {}): StoredRecordInput {
  return {
    member: '4132010001',
    contract: 'student',
    key,
    data: { id: key, ...data },
    pii: `enc:${key}`,
    hash: JSON.stringify(data),
    provenance: { adapter: 'csv-students', runId, file: 'students.csv', line: 2 },
    ...extra,
  };
}

export function runStoreSuite(name: string, open: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let runId: string;

    beforeEach(async () => {
      h = await open();
      store = h.store;
      runId = (await store.createRun({ member: '4132010001', adapter: 'csv-students', mode: 'full' })).id;
    });
    afterEach(async () => {
      await h.dispose();
    });

    describe('upsert', () => {
      it('inserts a new record at version 1 and reads it back with provenance', async () => {
        const outcome = await store.transaction((tx) => tx.upsert(record('S1', { name: '王' }, runId)));
        expect(outcome).toBe('inserted');
        const stored = await store.getRecord('4132010001', 'student', 'S1');
        expect(stored).toMatchObject({ key: 'S1', version: 1, deleted: false, data: { id: 'S1', name: '王' }, pii: 'enc:S1' });
        expect(stored!.provenance).toEqual({ adapter: 'csv-students', runId, file: 'students.csv', line: 2 });
      });

      it('reports unchanged for the same hash: no new version, no outbox entry', async () => {
        await store.transaction((tx) => tx.upsert(record('S1', { name: '王' }, runId)));
        const before = await store.getRecord('4132010001', 'student', 'S1');
        const outboxBefore = await store.readOutbox(0, 100);
        const run2 = (await store.createRun({ member: '4132010001', adapter: 'csv-students', mode: 'full' })).id;
        const outcome = await store.transaction((tx) => tx.upsert(record('S1', { name: '王' }, run2)));
        expect(outcome).toBe('unchanged');
        const after = await store.getRecord('4132010001', 'student', 'S1');
        expect(after!.version).toBe(before!.version);
        expect(after!.updatedAt).toBe(before!.updatedAt);
        expect(await store.readOutbox(0, 100)).toEqual(outboxBefore);
        expect(await store.stats()).toEqual([{ member: '4132010001', contract: 'student', records: 1 }]);
      });

      it('bumps the version and writes an outbox entry when the content changes', async () => {
        await store.transaction((tx) => tx.upsert(record('S1', { name: '王' }, runId)));
        const outcome = await store.transaction((tx) => tx.upsert(record('S1', { name: '王小明' }, runId)));
        expect(outcome).toBe('updated');
        const stored = await store.getRecord('4132010001', 'student', 'S1');
        expect(stored).toMatchObject({ version: 2, data: { name: '王小明' } });
        const outbox = await store.readOutbox(0, 100);
        expect(outbox.map((e) => [e.key, e.op, e.version])).toEqual([
          ['S1', 'upserted', 1],
          ['S1', 'upserted', 2],
        ]);
      });

      it('keeps records of different members and contracts apart under the same key', async () => {
        await store.transaction((tx) => {
          tx.upsert(record('X', { a: 1 }, runId));
          tx.upsert(record('X', { a: 2 }, runId, { member: '4132010002' }));
          tx.upsert(record('X', { a: 3 }, runId, { contract: 'staff' }));
        });
        expect((await store.getRecord('4132010002', 'student', 'X'))!.data).toMatchObject({ a: 2 });
        expect((await store.getRecord('4132010001', 'staff', 'X'))!.data).toMatchObject({ a: 3 });
        expect(await store.stats()).toEqual([
          { member: '4132010001', contract: 'staff', records: 1 },
          { member: '4132010001', contract: 'student', records: 1 },
          { member: '4132010002', contract: 'student', records: 1 },
        ]);
      });

      it('rolls back the whole batch when the transaction function throws', async () => {
        await expect(
          store.transaction((tx) => {
            tx.upsert(record('S1', { a: 1 }, runId));
            tx.addCounts(runId, { read: 1, inserted: 1 });
            throw new Error('adapter failed mid-batch');
          }),
        ).rejects.toThrow('adapter failed mid-batch');
        expect(await store.getRecord('4132010001', 'student', 'S1')).toBeUndefined();
        expect((await store.getRun(runId))!.counts.read).toBe(0);
        expect(await store.readOutbox(0, 10)).toEqual([]);
      });

      it('refuses an async transaction function with STORE_TX_ASYNC and keeps nothing of it', async () => {
        await expect(
          store.transaction(async (tx) => {
            tx.upsert(record('S1', { a: 1 }, runId));
          }),
        ).rejects.toMatchObject({ code: 'STORE_TX_ASYNC' });
        expect(await store.getRecord('4132010001', 'student', 'S1')).toBeUndefined();
      });

      it('finds records by a keyed lookup and forgets lookups the new content no longer has', async () => {
        await store.transaction((tx) => tx.upsert(record('S1', { a: 1 }, runId, { lookup: { idNumber: 'hmac-1', phone: 'hmac-p' } })));
        expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'hmac-1' })).toEqual([
          { member: '4132010001', key: 'S1' },
        ]);
        await store.transaction((tx) => tx.upsert(record('S1', { a: 2 }, runId, { lookup: { idNumber: 'hmac-2' } })));
        expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'hmac-1' })).toEqual([]);
        expect(await store.findByLookup({ contract: 'student', kind: 'phone', hash: 'hmac-p' })).toEqual([]);
        expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'hmac-2', member: ['4132010002'] })).toEqual([]);
      });
    });

    describe('aliases (C19: one person under several OneRoster sourcedIds)', () => {
      function c19Person(runId: string, overrides: Record<string, unknown> = {}): StoredRecordInput {
        const [header, ...lines] = readFileSync(C19, 'utf8').trim().split(/\r?\n/);
        const cols = header!.split(',');
        const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
        const [first, ...others] = rows;
        const data = { username: first!.username, identifier: first!.identifier, roles: rows.map((r) => ({ role: r.role, orgId: r.orgSourcedIds })), ...overrides };
        return {
          member: '4132010001',
          contract: 'person',
          key: first!.sourcedId!,
          aliases: others.map((r) => r.sourcedId!),
          data,
          pii: null,
          hash: JSON.stringify(data),
          provenance: { adapter: 'oneroster', runId, file: 'users.csv', line: 2 },
        };
      }

      it('applies a delta sent under any alias to the one record', async () => {
        const person = c19Person(runId);
        expect(person.aliases).toEqual(['adm-T2015003', 'stu-T2015003']);
        await store.transaction((tx) => tx.upsert(person));
        const delta = { ...c19Person(runId, { givenName: '小平 (updated)' }), key: 'adm-T2015003', aliases: [] };
        const outcome = await store.transaction((tx) => tx.upsert(delta));
        expect(outcome).toBe('updated');
        const stored = await store.getRecord('4132010001', 'person', 'tch-T2015003');
        expect(stored).toMatchObject({ key: 'tch-T2015003', version: 2, aliases: ['adm-T2015003', 'stu-T2015003'] });
        expect(stored!.data).toMatchObject({ givenName: '小平 (updated)' });
        expect(await store.stats()).toEqual([{ member: '4132010001', contract: 'person', records: 1 }]);
        expect((await store.getRecord('4132010001', 'person', 'stu-T2015003'))!.key).toBe('tch-T2015003');
      });

      it('resolves an alias learned earlier in the same transaction', async () => {
        const outcomes = await store.transaction((tx) => [
          tx.upsert({ ...c19Person(runId), key: 'other-person', aliases: [] }),
          tx.upsert(c19Person(runId)),
          tx.upsert({ ...c19Person(runId, { givenName: '小平 (delta)' }), key: 'stu-T2015003', aliases: [] }),
        ]);
        expect(outcomes).toEqual(['inserted', 'inserted', 'updated']);
        expect(await store.stats()).toEqual([{ member: '4132010001', contract: 'person', records: 2 }]);
      });

      it('deletes the record when a delete arrives under an alias', async () => {
        await store.transaction((tx) => tx.upsert(c19Person(runId)));
        const outcome = await store.transaction((tx) => tx.remove('4132010001', 'person', 'stu-T2015003', { adapter: 'oneroster', runId }));
        expect(outcome).toBe('deleted');
        expect((await store.getRecord('4132010001', 'person', 'tch-T2015003'))!.deleted).toBe(true);
      });
    });

    describe('deletes', () => {
      it('marks an explicit delete with a new version and a deleted outbox entry; unknown keys are missing', async () => {
        await store.transaction((tx) => tx.upsert(record('S1', { a: 1 }, runId)));
        const outcomes = await store.transaction((tx) => [
          tx.remove('4132010001', 'student', 'S1', { adapter: 'csv-students', runId }),
          tx.remove('4132010001', 'student', 'NOPE', { adapter: 'csv-students', runId }),
          tx.remove('4132010001', 'student', 'S1', { adapter: 'csv-students', runId }),
        ]);
        expect(outcomes).toEqual(['deleted', 'missing', 'unchanged']);
        expect(await store.getRecord('4132010001', 'student', 'S1')).toMatchObject({ deleted: true, version: 2 });
        expect((await store.readOutbox(0, 10)).map((e) => [e.op, e.version])).toEqual([
          ['upserted', 1],
          ['deleted', 2],
        ]);
        expect(await store.stats()).toEqual([]);
      });

      it('revives a deleted record that is upserted again, even with the same content', async () => {
        await store.transaction((tx) => tx.upsert(record('S1', { a: 1 }, runId)));
        await store.transaction((tx) => tx.remove('4132010001', 'student', 'S1', { adapter: 'csv-students', runId }));
        const outcome = await store.transaction((tx) => tx.upsert(record('S1', { a: 1 }, runId)));
        expect(outcome).toBe('updated');
        expect(await store.getRecord('4132010001', 'student', 'S1')).toMatchObject({ deleted: false, version: 3 });
      });
    });

    describe('full-sync sweep', () => {
      it('counts and deletes only the records of this adapter that the run did not touch', async () => {
        await store.transaction((tx) => {
          for (const k of ['A', 'B', 'C', 'D']) tx.upsert(record(k, { k }, runId));
          tx.upsert(record('OTHER', { k: 'o' }, runId, { provenance: { adapter: 'ldap', runId } }));
        });
        const run2 = (await store.createRun({ member: '4132010001', adapter: 'csv-students', mode: 'full' })).id;
        await store.transaction((tx) => {
          expect(tx.upsert(record('A', { k: 'A' }, run2))).toBe('unchanged');
          tx.upsert(record('B', { k: 'B2' }, run2));
          tx.touch('4132010001', 'student', 'C', run2);
        });
        expect(await store.countUntouched('4132010001', 'student', 'csv-students', run2)).toEqual({ untouched: 1, total: 4 });
        const seqBefore = (await store.readOutbox(0, 100)).at(-1)!.seq;
        expect(await store.deleteUntouched('4132010001', 'student', 'csv-students', run2)).toBe(1);
        expect(await store.getRecord('4132010001', 'student', 'D')).toMatchObject({ deleted: true, version: 2 });
        expect(await store.getRecord('4132010001', 'student', 'OTHER')).toMatchObject({ deleted: false });
        const swept = await store.readOutbox(seqBefore, 100);
        expect(swept.map((e) => [e.key, e.op, e.version, e.runId])).toEqual([['D', 'deleted', 2, run2]]);
        expect(await store.countUntouched('4132010001', 'student', 'csv-students', run2)).toEqual({ untouched: 0, total: 3 });
      });
    });

    describe('listing', () => {
      it('pages stably by cursor across inserts made between pages', async () => {
        await store.transaction((tx) => {
          for (let i = 0; i < 25; i++) tx.upsert(record(`K${String(i).padStart(2, '0')}`, { i }, runId));
        });
        const seen: string[] = [];
        let page = await store.listRecords({ contract: 'student', limit: 10 });
        seen.push(...page.items.map((r) => r.key));
        // A key that sorts before the cursor must not shift later pages.
        await store.transaction((tx) => tx.upsert(record('A-new', { n: 1 }, runId)));
        while (page.next !== undefined) {
          page = await store.listRecords({ contract: 'student', limit: 10, after: page.next });
          seen.push(...page.items.map((r) => r.key));
        }
        expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `K${String(i).padStart(2, '0')}`));
      });

      it('filters by one member or a list of members and hides deleted records unless asked', async () => {
        await store.transaction((tx) => {
          tx.upsert(record('A', { a: 1 }, runId));
          tx.upsert(record('B', { a: 1 }, runId, { member: '4132010002' }));
          tx.upsert(record('C', { a: 1 }, runId, { member: '4132010003' }));
          tx.remove('4132010001', 'student', 'A', { adapter: 'csv-students', runId });
        });
        const keys = async (q: Parameters<Store['listRecords']>[0]) => (await store.listRecords(q)).items.map((r) => `${r.member}/${r.key}`);
        expect(await keys({ contract: 'student', member: '4132010002' })).toEqual(['4132010002/B']);
        expect(await keys({ contract: 'student', member: ['4132010001', '4132010003'] })).toEqual(['4132010003/C']);
        expect(await keys({ contract: 'student', member: ['4132010001'], includeDeleted: true })).toEqual(['4132010001/A']);
        expect(await keys({ contract: 'student', member: [] })).toEqual([]);
        expect(await keys({ contract: 'student' })).toEqual(['4132010002/B', '4132010003/C']);
      });

      it('caps the page size at 1000 and refuses a forged cursor with STORE_CURSOR_INVALID', async () => {
        await store.transaction((tx) => {
          for (let i = 0; i < 1005; i++) tx.upsert(record(`K${i}`, { i }, runId));
        });
        const page = await store.listRecords({ contract: 'student', limit: 5000 });
        expect(page.items).toHaveLength(1000);
        expect(page.next).toBeDefined();
        expect((await store.listRecords({ contract: 'student' })).items).toHaveLength(100);
        await expect(store.listRecords({ contract: 'student', after: 'not-a-cursor' })).rejects.toMatchObject({ code: 'STORE_CURSOR_INVALID' });
      });
    });

    describe('problems', () => {
      const problems: Problem[] = [
        { code: 'ID_CHECK_DIGIT', severity: 'error', message: '身份证号校验位错误', file: 'students.csv', line: 3, column: '身份证号', field: 'idNumber', value: 'enc:value', contract: 'student', key: 'S3' },
        { code: 'DATE_FORMAT', severity: 'error', message: '日期格式错误', file: 'students.csv', line: 4, column: 5 },
        { code: 'ID_CHECK_DIGIT', severity: 'warning', message: '身份证号校验位错误', sheet: '学生' },
      ];

      it('stores problems with their location and encrypted original, and counts open ones per member and code', async () => {
        await store.transaction((tx) => {
          tx.addProblems('4132010001', 'csv-students', runId, problems, ['enc:original-row', undefined]);
          tx.addCounts(runId, { problems: 3 });
        });
        const page = await store.listProblems({ runId });
        expect(page.items.map((p) => p.code)).toEqual(['ID_CHECK_DIGIT', 'DATE_FORMAT', 'ID_CHECK_DIGIT']);
        expect(page.items[0]).toMatchObject({ ...problems[0], member: '4132010001', adapter: 'csv-students', runId, status: 'open' });
        // Header names and 1-based indexes stay distinguishable.
        expect(page.items[1]!.column).toBe(5);
        expect(await store.getProblemOriginal(page.items[0]!.id)).toBe('enc:original-row');
        expect(await store.getProblemOriginal(page.items[1]!.id)).toBeNull();
        expect(await store.getProblem(page.items[2]!.id)).toEqual(page.items[2]);
        expect(await store.problemStats()).toEqual([
          { member: '4132010001', code: 'DATE_FORMAT', problems: 1 },
          { member: '4132010001', code: 'ID_CHECK_DIGIT', problems: 2 },
        ]);
        await store.setProblemStatus(page.items[1]!.id, 'fixed');
        expect(await store.problemStats()).toEqual([{ member: '4132010001', code: 'ID_CHECK_DIGIT', problems: 2 }]);
        expect((await store.listProblems({ status: 'fixed' })).items.map((p) => p.code)).toEqual(['DATE_FORMAT']);
        expect((await store.getRun(runId))!.counts.problems).toBe(3);
      });

      it('refuses an original that is not encrypted text, so PII never lands in clear', async () => {
        await expect(
          store.transaction((tx) => tx.addProblems('4132010001', 'csv-students', runId, [problems[0]!], [{ idNumber: '110101199003074514' }])),
        ).rejects.toMatchObject({ code: 'STORE_ORIGINAL_NOT_ENCRYPTED' });
        expect((await store.listProblems({})).items).toEqual([]);
      });

      it('supersedes open problems of earlier runs and pages by cursor', async () => {
        await store.transaction((tx) => tx.addProblems('4132010001', 'csv-students', runId, problems));
        const run2 = (await store.createRun({ member: '4132010001', adapter: 'csv-students', mode: 'full' })).id;
        await store.transaction((tx) => tx.addProblems('4132010001', 'csv-students', run2, problems.slice(0, 1)));
        expect(await store.supersedeProblems('4132010001', 'csv-students', run2)).toBe(3);
        expect((await store.listProblems({ status: 'open' })).items.map((p) => p.runId)).toEqual([run2]);
        const first = await store.listProblems({ limit: 2 });
        const second = await store.listProblems({ limit: 2, after: first.next });
        expect([...first.items, ...second.items].map((p) => p.id)).toHaveLength(4);
        expect(second.next).toBeUndefined();
        await expect(store.setProblemStatus('999999', 'fixed')).rejects.toMatchObject({ code: 'STORE_PROBLEM_NOT_FOUND' });
      });
    });

    describe('runs and checkpoints', () => {
      it('accumulates counts, finishes runs and lists them newest first', async () => {
        await store.transaction((tx) => tx.addCounts(runId, { read: 10, inserted: 7, unchanged: 2 }));
        await store.transaction((tx) => tx.addCounts(runId, { read: 5, updated: 5 }));
        await store.finishRun(runId, 'stopped', { error: { code: 'BULK_DEACTIVATION_LIMIT', message: 'stopped' }, sources: [{ file: 'students.csv', encoding: 'gb18030', rows: 15 }] });
        const run = await store.getRun(runId);
        expect(run).toMatchObject({ status: 'stopped', mode: 'full', counts: { read: 15, inserted: 7, updated: 5, unchanged: 2, deleted: 0, problems: 0 } });
        expect(run!.error).toEqual({ code: 'BULK_DEACTIVATION_LIMIT', message: 'stopped' });
        expect(run!.sources).toEqual([{ file: 'students.csv', encoding: 'gb18030', rows: 15 }]);
        expect(run!.finishedAt).toBeDefined();

        const ids = [runId];
        for (let i = 0; i < 4; i++) ids.push((await store.createRun({ member: i % 2 ? '4132010002' : '4132010001', adapter: 'x', mode: 'delta' })).id);
        const first = await store.listRuns({ limit: 3 });
        const second = await store.listRuns({ limit: 3, after: first.next });
        expect([...first.items, ...second.items].map((r) => r.id)).toEqual([...ids].reverse());
        expect((await store.listRuns({ member: '4132010002' })).items.map((r) => r.id)).toEqual([ids[4], ids[2]]);
        await expect(store.finishRun('no-such-run', 'failed')).rejects.toMatchObject({ code: 'STORE_RUN_NOT_FOUND' });
      });

      it('commits the checkpoint with the batch and clears it', async () => {
        await store.transaction((tx) => tx.setCheckpoint('4132010001', 'csv-students', { runId, position: { line: 1001 } }));
        expect(await store.getCheckpoint('4132010001', 'csv-students')).toEqual({ runId, position: { line: 1001 } });
        expect(await store.getCheckpoint('4132010001', 'ldap')).toBeUndefined();
        await store.clearCheckpoint('4132010001', 'csv-students');
        expect(await store.getCheckpoint('4132010001', 'csv-students')).toBeUndefined();
      });
    });

    describe('outbox', () => {
      it('reads entries oldest first after a seq and prunes what was published without reusing seqs', async () => {
        await store.transaction((tx) => {
          for (const k of ['A', 'B', 'C']) tx.upsert(record(k, { k }, runId));
        });
        const all = await store.readOutbox(0, 100);
        expect(all.map((e) => e.key)).toEqual(['A', 'B', 'C']);
        expect(all.every((e, i) => i === 0 || e.seq > all[i - 1]!.seq)).toBe(true);
        expect((await store.readOutbox(all[0]!.seq, 1)).map((e) => e.key)).toEqual(['B']);
        await store.markOutboxPublished(all[2]!.seq);
        expect(await store.readOutbox(0, 100)).toEqual([]);
        await store.transaction((tx) => tx.upsert(record('D', { k: 'D' }, runId)));
        const [next] = await store.readOutbox(0, 100);
        expect(next!.seq).toBeGreaterThan(all[2]!.seq);
      });
    });

    describe('security tables', () => {
      it('puts, finds, lists and revokes API keys', async () => {
        const key = { id: 'ab12cd34', name: 'sis sync', secretHash: 'f'.repeat(64), role: 'service', member: '4132010001', permissions: ['records:write'], createdAt: '2026-01-01T00:00:00.000Z' };
        await store.putApiKey(key);
        await store.putApiKey({ ...key, id: 'group01', member: null, role: 'group-admin', permissions: ['records:read', 'pii:read'] });
        expect(await store.findApiKey('ab12cd34')).toEqual(key);
        expect((await store.listApiKeys()).map((k) => k.id)).toEqual(['ab12cd34', 'group01']);
        await store.revokeApiKey('ab12cd34');
        expect((await store.findApiKey('ab12cd34'))!.revokedAt).toBeDefined();
        expect(await store.findApiKey('nope')).toBeUndefined();
        await expect(store.revokeApiKey('nope')).rejects.toMatchObject({ code: 'STORE_API_KEY_NOT_FOUND' });
      });

      it('chains audit entries and finds the seq of a row modified behind its back', async () => {
        const first = await store.appendAudit({ at: '2026-01-01T00:00:00.000Z', actor: 'key:ab12cd34', action: 'pii.read', member: '4132010001', detail: { contract: 'student', keys: ['S1'] } });
        expect(first.prevHash).toBe('0'.repeat(64));
        for (let i = 0; i < 3; i++) await store.appendAudit({ at: '2026-01-01T00:00:01.000Z', actor: 'key:group01', action: 'records.cross-member-read', member: '4132010002', detail: { count: i } });
        const entries = await store.listAudit({});
        expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
        expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
        expect((await store.listAudit({ member: '4132010002', after: 2 })).map((e) => e.seq)).toEqual([3, 4]);
        expect(await store.verifyAudit()).toBeNull();

        await h.rawExec(`UPDATE audit_log SET detail = '{"count":99}' WHERE seq = 3`);
        expect(await store.verifyAudit()).toBe(3);
      });

      it('notices audit rows cut off the end of the chain', async () => {
        for (let i = 0; i < 3; i++) await store.appendAudit({ at: '2026-01-01T00:00:00.000Z', actor: 'system', action: 'imports.run' });
        await h.rawExec('DELETE FROM audit_log WHERE seq = 3');
        expect(await store.verifyAudit()).toBe(3);
      });
    });

    it('keeps meta values', async () => {
      expect(await store.getMeta('first-run')).toBeUndefined();
      await store.setMeta('first-run', 'done');
      await store.setMeta('first-run', 'again');
      expect(await store.getMeta('first-run')).toBe('again');
    });

    it('keeps everything after close and reopen', async () => {
      await store.transaction((tx) => {
        tx.upsert(record('S1', { a: 1 }, runId, { aliases: ['OLD-S1'], lookup: { idNumber: 'h1' } }));
        tx.addProblems('4132010001', 'csv-students', runId, [{ code: 'DATE_FORMAT', severity: 'error', message: 'x' }], ['enc:o']);
        tx.addCounts(runId, { read: 2, inserted: 1, problems: 1 });
        tx.setCheckpoint('4132010001', 'csv-students', { line: 3 });
      });
      await store.appendAudit({ at: '2026-01-01T00:00:00.000Z', actor: 'system', action: 'imports.run' });
      await store.setMeta('k', 'v');
      store = await h.reopen();
      expect(await store.getRecord('4132010001', 'student', 'OLD-S1')).toMatchObject({ key: 'S1', aliases: ['OLD-S1'] });
      expect((await store.getRun(runId))!.counts).toMatchObject({ read: 2, inserted: 1, problems: 1 });
      expect(await store.getCheckpoint('4132010001', 'csv-students')).toEqual({ line: 3 });
      expect((await store.listProblems({})).items).toHaveLength(1);
      expect(await store.readOutbox(0, 10)).toHaveLength(1);
      expect(await store.verifyAudit()).toBeNull();
      expect(await store.getMeta('k')).toBe('v');
      expect(await store.findByLookup({ contract: 'student', kind: 'idNumber', hash: 'h1' })).toHaveLength(1);
      // The reopened store keeps working, including the hot path.
      expect(await store.transaction((tx) => tx.upsert(record('S1', { a: 2 }, runId)))).toBe('updated');
    });
  });
}
