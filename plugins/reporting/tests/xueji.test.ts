// The 中职学籍 workbook from the demo group's federated store: labels, required columns first, the
// 3 sheets × 2,000 rows split, and the field rules — read back with exceljs.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCheckDigit } from '../../../core/contracts/id-number.ts';
import { commitBatch } from '../../../core/pipeline/process.ts';
import { generateRoster } from '../../../scripts/generate-roster.ts';
import { loadDefinitionFile } from '../src/definitions.ts';
import { orderedColumns } from '../src/workbook.ts';
import { cli, headerOf, openTestHub, readWorkbook, ZHONGZHI, type TestHub } from './helpers.ts';

const definition = loadDefinitionFile(join(import.meta.dirname, '..', 'definitions', 'xueji-zhongzhi.yaml'));
const expectedHeader = orderedColumns(definition.output.tables[0]!.columns).map((c) => c.label);
const requiredLabels = definition.output.tables[0]!.columns.filter((c) => c.required).map((c) => c.label);

describe('中职学籍 workbook from the demo roster', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await openTestHub({ members: [ZHONGZHI] });
  }, 60_000);
  afterAll(async () => t?.close());

  it('lists the students in school during the 学年 with Chinese labels and required columns first', async () => {
    const run = await t.reports.generate({ definition: 'xueji-zhongzhi', member: ZHONGZHI, year: '2024-2025', actor: cli });
    expect(run.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(run.status).toBe('awaiting-approval');
    // The 2021 cohort (3-year programmes) left before 1 September 2024; 2022 and 2023 are in school.
    const stored = await t.hub.store.listRecords({ member: ZHONGZHI, contract: 'student', limit: 1000 });
    const inSchool = stored.items.filter((r) => String(r.data.enrolmentDate) >= '2022-09-01');
    expect(run.counts.students).toBe(inSchool.length);
    expect(inSchool.length).toBeLessThan(stored.items.length);

    expect(run.files).toHaveLength(1);
    const file = await t.reports.download(run.id, run.files[0]!.name, cli);
    const workbook = await readWorkbook(file.content);
    expect(workbook.worksheets).toHaveLength(1);
    const sheet = workbook.worksheets[0]!;
    const header = headerOf(sheet);
    expect(header).toEqual(expectedHeader);
    expect(header.slice(0, requiredLabels.length)).toEqual(requiredLabels);
    expect(sheet.rowCount).toBe(inSchool.length + 1);

    const col = (label: string) => header.indexOf(label) + 1;
    const values = (label: string) => new Set(Array.from({ length: sheet.rowCount - 1 }, (_, i) => sheet.getRow(i + 2).getCell(col(label)).value));
    expect([...values('性别')].every((v) => v === '男' || v === '女')).toBe(true);
    expect(values('民族').has('汉族')).toBe(true);
    expect([...values('民族')].some((v) => /^\d+$/.test(String(v)))).toBe(false);
    expect([...values('身份证件类型')]).toEqual(['居民身份证']);
    expect([...values('国籍/地区')]).toEqual(['中国']);
    // ID numbers stay 18-character text cells (never 1.4E+17).
    const id = sheet.getRow(2).getCell(col('身份证件号'));
    expect(typeof id.value).toBe('string');
    expect(String(id.value)).toMatch(/^\d{17}[\dX]$/);
    expect(String(sheet.getRow(2).getCell(col('户口所在省')).value)).toMatch(/(省|市|自治区)$/);
  });

  it('refuses students that break the 学籍 field rules, naming each rule and the rows', async () => {
    const run = await t.hub.store.createRun({ member: ZHONGZHI, adapter: 'roster', mode: 'delta' });
    const base = { sex: '1', ethnicity: '01', birthDate: '2008-03-01', enrolmentDate: '2023-09-01', programCode: '660301', educationLevel: 'zhongzhi', enrolmentStatus: 'enrolled', classId: '机电2301' };
    const id = (first17: string) => first17 + computeCheckDigit(first17);
    const student = (key: string, extra: Record<string, unknown>) => ({ contract: 'student', key, op: 'upsert' as const, data: { id: key, studentNumber: key, name: '测试学生', ...base, ...extra } });
    const outcome = await commitBatch({ store: t.hub.store, contracts: t.hub.contracts, vault: t.hub.vault, member: ZHONGZHI, adapter: 'roster', runId: run.id }, {
      problems: [],
      records: [
        student('XS2023甲01', { idType: '1', idNumber: id('11010120080301211') }),
        student('20239901000001', { idType: '1', idNumber: id('11010120080301213'), extensions: { hukouProvince: '110000', hukouCounty: '320102' } }),
        student('20239901000002', { idType: '9' }),
        student('20239901000003', { idType: '9', nationalStudentId: 'L1101012008' }),
        student('20239901000004', { idType: '9', nationalStudentId: 'L110101200803011234' }),
      ],
    });
    expect(outcome.counts.inserted).toBe(5);
    const rejected = await t.reports.generate({ definition: 'xueji-zhongzhi', member: ZHONGZHI, year: '2024-2025', actor: cli });
    expect(rejected.status).toBe('rejected');
    expect(rejected.files).toEqual([]);
    const rows = (code: string) => rejected.issues.find((i) => i.code === code)?.rows;
    expect(rows('XJ_STUDENT_NUMBER_CHARS')).toEqual(['XS2023甲01']);
    expect(rows('XJ_COUNTY_NOT_IN_PROVINCE')).toEqual(['20239901000001']);
    expect(rows('XJ_ID_NUMBER_MISSING')).toEqual(['20239901000002']);
    expect(rows('XJ_TEMP_NUMBER_INVALID')).toEqual(['20239901000003']);
    // A well-formed 临时学籍号 (L + area + birth date + 4 digits) is accepted.
    expect(rejected.issues.flatMap((i) => i.rows ?? [])).not.toContain('20239901000004');
    await expect(t.reports.approve(rejected.id, cli)).rejects.toMatchObject({ code: 'REPORT_RUN_REJECTED' });
  });
});

describe('中职学籍 workbook split', () => {
  let t: TestHub;
  let rosterDir: string;
  beforeAll(async () => {
    // 6,500 synthetic students (same generator as the demo roster), imported through the roster adapter.
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    rosterDir = mkdtempSync(join(tmpdir(), 'vochub-roster-'));
    const out = join(rosterDir, 'roster.csv');
    await generateRoster({ rows: 6500, seed: 20240901, encoding: 'utf-8', damage: false, out });
    t = await openTestHub({
      members: [ZHONGZHI],
      patch: (group) => {
        group.members[0]!.adapters[0]!.config.files = out;
      },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    (await import('node:fs')).rmSync(rosterDir, { recursive: true, force: true });
  });

  it('writes 6,500 students as files of at most 3 sheets × 2,000 rows', async () => {
    const run = await t.reports.generate({ definition: 'xueji-zhongzhi', member: ZHONGZHI, year: '2023-2024', actor: cli });
    expect(run.status).toBe('awaiting-approval');
    expect(run.counts.students).toBe(6500);
    expect(run.files.map((f) => [f.sheets, f.rows])).toEqual([[3, 6000], [1, 500]]);
    expect(run.files.map((f) => f.name)).toEqual(['xueji-zhongzhi-3133010103-2023-2024-01.xlsx', 'xueji-zhongzhi-3133010103-2023-2024-02.xlsx']);
    const seen = new Set<string>();
    const sheetRows: number[] = [];
    for (const f of run.files) {
      const workbook = await readWorkbook((await t.reports.download(run.id, f.name, cli)).content);
      for (const sheet of workbook.worksheets) {
        expect(headerOf(sheet)).toEqual(expectedHeader);
        sheetRows.push(sheet.rowCount - 1);
        const col = headerOf(sheet).indexOf('校内学号') + 1;
        for (let r = 2; r <= sheet.rowCount; r++) seen.add(String(sheet.getRow(r).getCell(col).value));
      }
    }
    expect(sheetRows).toEqual([2000, 2000, 2000, 500]);
    expect(seen.size).toBe(6500);
  }, 60_000);
});
