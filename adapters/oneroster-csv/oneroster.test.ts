import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getSharedRegistry } from '../../core/contracts/index.ts';
import { cleanRecord } from '../../core/pipeline/clean.ts';
import type { SourceRecord } from '../../core/plugins/types.ts';
import { adapter, allKeys, bundleOf, byContract, CASES, csvRows, FIXTURES, run, SDS_CLASSIC, SDS_V21 } from './testing.ts';

const BULK = join(FIXTURES, 'oneroster-1.1-bulk');
const DELTA = join(FIXTURES, 'oneroster-1.1-delta');
const BAD = join(FIXTURES, 'oneroster-1.1-bad');
const V12 = join(FIXTURES, 'oneroster-1.2-bulk');

const ops = (records: SourceRecord[]) => records.map((r) => `${r.op} ${r.contract} ${r.key}`);
const where = (p: { code: string; file?: string; line?: number; column?: string | number }) => `${p.code} ${p.file}:${p.line}:${p.column ?? ''}`;

describe('OneRoster 1.1 bulk bundle with a delta follow-up', () => {
  it('maps every bulk file and declares all its contracts complete', async () => {
    const { records, problems, complete } = await run(BULK);
    expect(problems).toEqual([]);
    const users = csvRows(join(BULK, 'users.csv'));
    expect(byContract(records)).toEqual({
      organization: csvRows(join(BULK, 'orgs.csv')).length,
      term: csvRows(join(BULK, 'academicSessions.csv')).length,
      course: csvRows(join(BULK, 'courses.csv')).length,
      section: csvRows(join(BULK, 'classes.csv')).length,
      student: users.filter((u) => u.role === 'student' && u.username !== 't2015003').length,
      // the three t2015003 rows are one person
      staff: 1,
      person: users.filter((u) => u.role === 'parent').length,
      enrollment: csvRows(join(BULK, 'enrollments.csv')).length,
    });
    expect(complete.sort()).toEqual(['course', 'enrollment', 'organization', 'person', 'section', 'staff', 'student', 'term']);
  });

  it('crosswalks OneRoster sex to GB/T 2261.1 (male 1, female 2, other 9, unspecified 0)', async () => {
    const { records } = await run(BULK);
    const sexOf = new Map(records.map((r) => [r.key, r.data.sex]));
    const expected: Record<string, string> = { male: '1', female: '2', other: '9', unspecified: '0' };
    for (const d of csvRows(join(BULK, 'demographics.csv'))) {
      const key = records.find((r) => r.key === d.sourcedId || r.aliases?.includes(d.sourcedId!))!.key;
      expect(sexOf.get(key)).toBe(expected[d.sex!]);
    }
  });

  it('puts metadata.* and other unknown columns into extensions, never the password', async () => {
    const result = await run(BULK);
    const stu = result.records.find((r) => r.key === 'stu-0001')!;
    expect((stu.data.extensions as Record<string, unknown>).dormitory).toBe('3号楼');
    for (const u of csvRows(join(BULK, 'users.csv'))) expect(JSON.stringify(result.batches)).not.toContain(u.password);
    expect(allKeys(result.batches).has('password')).toBe(false);
  });

  it('applies a delta: tobedeleted → delete, active rows upsert with status and dateLastModified, nothing declared complete', async () => {
    const { records, problems, complete } = await run(DELTA);
    expect(problems).toEqual([]);
    expect(ops(records)).toEqual(['delete student stu-0002', 'upsert student stu-0003', 'delete enrollment enr-0002', 'upsert enrollment enr-0006']);
    expect(records[1]!.data).toMatchObject({ status: 'active', dateLastModified: '2024-03-05T09:00:00+08:00' });
    expect(complete).toEqual([]);
  });

  it('never declares completeness in a delta-mode run, even for bulk files', async () => {
    expect((await run(BULK, {}, { mode: 'delta' })).complete).toEqual([]);
  });
});

describe('C18 — bulk vs delta files, status and dateLastModified rules', () => {
  const bundle = () =>
    bundleOf({
      'manifest.csv': join(CASES, 'C18-oneroster-manifest.csv'),
      'users.csv': join(CASES, 'C18-oneroster-users.csv'),
      'enrollments.csv': join(CASES, 'C18-oneroster-enrollments.csv'),
    });

  it('deletes only enr-0002 and reports each bad row with file, line and column', async () => {
    const { records, problems } = await run(bundle());
    expect(records.filter((r) => r.op === 'delete').map((r) => `${r.contract} ${r.key}`)).toEqual(['enrollment enr-0002']);
    expect(ops(records)).toEqual(['upsert student stu-0003', 'upsert enrollment enr-0001', 'delete enrollment enr-0002']);
    expect(problems.filter((p) => p.severity === 'error').map(where)).toEqual([
      'ONEROSTER_BULK_STATUS users.csv:2:status',
      'ONEROSTER_BULK_STATUS users.csv:2:dateLastModified',
      'ONEROSTER_DELTA_STATUS_MISSING enrollments.csv:4:status',
      'ONEROSTER_DELTA_STATUS_MISSING enrollments.csv:4:dateLastModified',
      'ONEROSTER_DATE_FORMAT enrollments.csv:5:dateLastModified',
      'ONEROSTER_DATE_FORMAT enrollments.csv:5:beginDate',
      'ONEROSTER_DATE_FORMAT enrollments.csv:5:endDate',
    ]);
  });

  it('changes nothing for absent files and sweeps nothing after a rejected bulk row', async () => {
    const { records, complete, problems } = await run(bundle());
    expect(new Set(records.map((r) => r.contract))).toEqual(new Set(['student', 'enrollment']));
    // users.csv is bulk but stu-0001 was rejected: deactivating the unseen would deactivate stu-0001 too.
    expect(complete).toEqual([]);
    expect(problems.find((p) => p.code === 'ONEROSTER_BULK_INCOMPLETE')?.value).toBe('person,staff,student');
  });
});

describe('C19 — one human under several role sourcedIds', () => {
  const bundle = () => bundleOf({ 'manifest.csv': join(FIXTURES, 'users-bulk-manifest.csv'), 'users.csv': join(CASES, 'C19-oneroster-multirole-users.csv') });

  it('yields ONE staff record with all roles and every sourcedId kept as key or alias', async () => {
    const { records, problems } = await run(bundle());
    expect(problems).toEqual([]);
    expect(records).toHaveLength(1);
    const [rec] = records;
    expect(rec!.contract).toBe('staff');
    const ids = csvRows(join(CASES, 'C19-oneroster-multirole-users.csv')).map((u) => u.sourcedId);
    expect([rec!.key, ...(rec!.aliases ?? [])].sort()).toEqual([...ids].sort());
    expect(rec!.data.roles).toEqual([
      { role: 'teacher', orgId: 'org-sch-01' },
      { role: 'administrator', orgId: 'org-sch-01' },
      { role: 'student', orgId: 'org-train-01' },
    ]);
    expect(rec!.data.orgId).toBe('org-sch-01');
  });

  it('picks the same key whatever the row order', async () => {
    const a = (await run(bundle())).records[0]!;
    const dir = bundle();
    const [head, ...rows] = readFileSync(join(CASES, 'C19-oneroster-multirole-users.csv'), 'utf8').split('\r\n').filter((l) => l !== '');
    writeFileSync(join(dir, 'users.csv'), [head, ...rows.reverse()].join('\r\n') + '\r\n');
    const b = (await run(dir)).records[0]!;
    expect(b.key).toBe(a.key);
    expect([...(b.aliases ?? [])]).toEqual(a.aliases);
  });

  it('does not merge when username or identifier differ', async () => {
    const { records } = await run(join(FIXTURES, 'c19-no-merge'));
    expect(records.map((r) => r.key).sort()).toEqual(csvRows(join(FIXTURES, 'c19-no-merge/users.csv')).map((u) => u.sourcedId).sort());
    expect(records.every((r) => r.aliases === undefined)).toBe(true);
  });
});

describe('OneRoster 1.2 bundle (roles.csv, userProfiles.csv)', () => {
  it('takes contracts from roles.csv and keeps profiles without credentials', async () => {
    const result = await run(V12);
    expect(result.problems).toEqual([]);
    const contractOf = Object.fromEntries(result.records.map((r) => [r.key, r.contract]));
    expect(contractOf).toMatchObject({ 'u-1001': 'student', 'u-2001': 'staff', 'u-3001': 'staff', 'u-4001': 'person' });
    const stu = result.records.find((r) => r.key === 'u-1001')!;
    expect((stu.data.extensions as { profiles: unknown[] }).profiles).toEqual([
      { id: 'p-1', profileType: 'lms', vendorId: 'vendor-x', applicationId: 'app-lms', description: '学习平台账号', credentialType: 'password', username: '2023180201' },
    ]);
    const text = JSON.stringify(result.batches);
    for (const file of ['users.csv', 'userProfiles.csv']) for (const row of csvRows(join(V12, file))) expect(text).not.toContain(row.password);
    expect(allKeys(result.batches).has('password')).toBe(false);
    expect(result.complete.sort()).toEqual(['organization', 'person', 'staff', 'student']);
  });
});

describe('bad rows', () => {
  it('yield problems with stable codes and locations while every good row is kept', async () => {
    const { records, problems, complete } = await run(BAD);
    expect(ops(records)).toEqual([
      'upsert organization org-sch-01',
      'upsert organization org-train-01',
      'upsert student stu-0001',
      'upsert student stu-0002',
      'upsert person coach-01',
      'upsert enrollment enr-0001',
      'upsert enrollment enr-0007',
    ]);
    expect(problems.map((p) => `${p.severity} ${where(p)}`)).toEqual([
      'error ONEROSTER_FILE_MISSING manifest.csv:undefined:',
      'warning ONEROSTER_FILE_IGNORED manifest.csv:undefined:',
      'warning ONEROSTER_FILE_UNSUPPORTED manifest.csv:undefined:',
      'error ONEROSTER_REQUIRED orgs.csv:3:name',
      'error ONEROSTER_BULK_STATUS orgs.csv:4:status',
      'error ONEROSTER_BULK_STATUS orgs.csv:4:dateLastModified',
      'warning ONEROSTER_TYPE_UNKNOWN orgs.csv:5:type',
      'warning ONEROSTER_SEX_UNKNOWN demographics.csv:2:sex',
      'error ONEROSTER_DATE_FORMAT demographics.csv:3:birthDate',
      'warning ONEROSTER_BOOLEAN_INVALID users.csv:3:enabledUser',
      'error ONEROSTER_REQUIRED users.csv:4:sourcedId',
      'error ONEROSTER_DUPLICATE_ID users.csv:5:sourcedId',
      'warning ONEROSTER_ROLE_UNKNOWN users.csv:6:role',
      'error ONEROSTER_REQUIRED users.csv:7:orgSourcedIds',
      'warning ONEROSTER_USER_NO_ROLE users.csv:6:',
      'warning ONEROSTER_USER_UNKNOWN demographics.csv:4:sourcedId',
      'error ONEROSTER_DATE_FORMAT enrollments.csv:3:beginDate',
      'error ONEROSTER_ROLE_UNKNOWN enrollments.csv:4:role',
      'error ONEROSTER_REQUIRED enrollments.csv:5:classSourcedId',
      'error CSV_COLUMN_COUNT enrollments.csv:6:',
      'warning ONEROSTER_BOOLEAN_INVALID enrollments.csv:7:primary',
      'error ONEROSTER_DATE_FORMAT enrollments.csv:7:endDate',
      'warning ONEROSTER_BULK_INCOMPLETE undefined:undefined:',
    ]);
    // warnings keep the row: stu-0002 has enabledUser dropped, stu-0001 keeps its birthDate without sex
    expect(records.find((r) => r.key === 'stu-0001')!.data).toMatchObject({ birthDate: '2008-03-21' });
    expect(records.find((r) => r.key === 'stu-0001')!.data.sex).toBeUndefined();
    expect(complete).toEqual([]);
  });
});

describe('resume from checkpoint', () => {
  for (const [name, dir] of [['OneRoster 1.1 bulk', BULK], ['SDS v2.1', SDS_V21], ['SDS classic', SDS_CLASSIC]] as const) {
    it(`${name}: resuming after any batch yields exactly the rest of the run`, async () => {
      const full = await run(dir, { batchSize: 3 });
      expect(full.batches.length).toBeGreaterThan(3);
      for (let k = 0; k < full.batches.length; k++) {
        const rest = await run(dir, { batchSize: 3 }, { checkpoint: full.batches[k]!.checkpoint });
        const expected = full.batches.slice(k + 1);
        expect(ops(rest.records)).toEqual(ops(expected.flatMap((b) => b.records)));
        expect(rest.problems).toEqual(expected.flatMap((b) => b.problems));
        expect(rest.complete).toEqual(full.complete);
      }
    });
  }

  it('checkpoints per file: a batch that ends a file points at the next file', async () => {
    const { batches } = await run(BULK, { batchSize: 3 });
    const enders = batches.filter((b) => b.sources !== undefined);
    expect(enders.flatMap((b) => b.sources!.map((s) => s.file))).toEqual([
      'orgs.csv', 'academicSessions.csv', 'courses.csv', 'classes.csv', 'users.csv', 'demographics.csv', 'enrollments.csv',
    ]);
    for (const b of enders) expect(b.checkpoint).toMatchObject({ line: 0, emitted: 0 });
  });

  it('starts over, with a warning, on a checkpoint of another bundle', async () => {
    const other = (await run(SDS_V21)).batches[2]!.checkpoint;
    const { records, problems } = await run(BULK, {}, { checkpoint: other });
    expect(records).toHaveLength((await run(BULK)).records.length);
    expect(problems.map((p) => p.code)).toEqual(['ONEROSTER_CHECKPOINT_STALE']);
  });

  it('keeps rejected rows before the checkpoint from declaring completeness after a resume', async () => {
    const full = await run(BAD, { batchSize: 2 });
    const rest = await run(BAD, { batchSize: 2 }, { checkpoint: full.batches.at(-2)!.checkpoint });
    expect(rest.complete).toEqual([]);
  });
});

describe('dialect detection, check and discover', () => {
  it('detects each dialect from the files present', async () => {
    for (const [dir, dialect] of [[BULK, 'oneroster-1.1'], [V12, 'oneroster-1.2'], [SDS_V21, 'sds-v2.1'], [SDS_CLASSIC, 'sds-classic']] as const) {
      const report = await (await adapter(dir)).check!();
      expect(report.ok).toBe(true);
      expect(report.detail).toMatch(new RegExp(`^${dialect}`));
    }
  });

  it('reports an unusable folder through check() instead of throwing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'oneroster-empty-'));
    expect(await (await adapter(empty)).check!()).toMatchObject({ ok: false, detail: expect.stringMatching(/^ONEROSTER_DIALECT_UNKNOWN/) });
    expect(await (await adapter(join(empty, 'nope'))).check!()).toMatchObject({ ok: false, detail: expect.stringMatching(/^ONEROSTER_FOLDER_MISSING/) });
  });

  it('refuses a manifest of an unknown OneRoster version instead of reading it with the wrong semantics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oneroster-version-'));
    for (const name of ['manifest.csv', 'orgs.csv', 'users.csv']) {
      const text = readFileSync(join(BULK, name), 'utf8');
      writeFileSync(join(dir, name), name === 'manifest.csv' ? text.replace(/oneroster\.version,[^\r\n]*/, 'oneroster.version,9.9') : text);
    }
    expect(readFileSync(join(dir, 'manifest.csv'), 'utf8')).toContain('oneroster.version,9.9');
    expect(await (await adapter(dir)).check!()).toMatchObject({ ok: false, detail: expect.stringMatching(/^ONEROSTER_VERSION_UNSUPPORTED/) });
  });

  it('discovers files with their contracts and row counts', async () => {
    const found = await (await adapter(SDS_V21)).discover!();
    expect(found.find((f) => f.name === 'users.csv')).toMatchObject({ contract: 'person,student,staff', count: csvRows(join(SDS_V21, 'users.csv')).length });
  });
});

describe('canonical contracts', () => {
  it('every upserted record of every fixture validates against its contract after the pipeline clean step', async () => {
    const registry = getSharedRegistry();
    const c18 = bundleOf({ 'manifest.csv': join(CASES, 'C18-oneroster-manifest.csv'), 'users.csv': join(CASES, 'C18-oneroster-users.csv'), 'enrollments.csv': join(CASES, 'C18-oneroster-enrollments.csv') });
    for (const dir of [BULK, DELTA, BAD, V12, SDS_V21, SDS_CLASSIC, c18]) {
      for (const r of (await run(dir)).records) {
        if (r.op !== 'upsert') continue;
        const cleaned = cleanRecord({ ...r.data, id: r.key });
        expect(cleaned.problems).toEqual([]);
        expect({ dir, key: r.key, result: registry.validate(r.contract, cleaned.data) }).toEqual({ dir, key: r.key, result: { ok: true } });
      }
    }
  });
});
