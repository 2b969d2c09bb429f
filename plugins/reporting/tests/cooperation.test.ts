// 专任教师, 合作企业 and 实习基地 from the demo group's own imports: the 中职 school's staff roster (roster-file)
// and the enterprise member's school-cooperation ledger (hr-file: enterprise, positions, mentors,
// internships). The demo group yields all six tables with every rule passing; broken links are refused,
// naming each rule and the records involved.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_CONFIG } from '../../../core/config/load.ts';
import { usccCheckChar } from '../../../core/contracts/uscc.ts';
import { commitBatch } from '../../../core/pipeline/process.ts';
import type { SourceRecord } from '../../../core/plugins/types.ts';
import { cli, DEMO_ENTERPRISE, openTestHub, readWorkbook, ZHONGZHI, type TestHub } from './helpers.ts';

const data = join(dirname(DEMO_CONFIG), 'data');

/** A CSV of the demo (no quoted fields) as objects by header. */
function csv(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(join(data, file), 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l !== '');
  const names = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i]!, v])));
}

/** What the 2024-2025 tables must say, counted from the source files rather than by the plugin. */
function expectedFromSources(year = { start: '2024-09-01', end: '2025-08-31' }) {
  const teachers = csv('zhongzhi-staff/staff.csv').filter((r) => r['用工类型'] === '专任' && r['入职日期']! <= year.end);
  const internships = csv('enterprise-internships/internships.csv').filter((r) => r['开始日期']! <= year.end && r['结束日期']! >= year.start);
  const bases = new Map<string, Set<string>>();
  for (const r of internships) bases.set(`${DEMO_ENTERPRISE}/${r['岗位编号']}`, (bases.get(`${DEMO_ENTERPRISE}/${r['岗位编号']}`) ?? new Set()).add(r['学号']!));
  return {
    teachers: teachers.length,
    dualQualified: teachers.filter((r) => r['双师型'] === '是').length,
    interns: new Set(internships.map((r) => r['学号'])).size,
    bases: Object.fromEntries([...bases].map(([k, v]) => [k, v.size])),
  };
}

function rec(contract: string, key: string, data: Record<string, unknown>): SourceRecord {
  return { contract, key, op: 'upsert', data: { id: key, ...data } };
}

describe('人才培养状态数据 from the demo group', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('imports the demo group and fills all six tables for the 中职 school, every rule passing', async () => {
    t = await openTestHub();
    const expected = expectedFromSources();
    expect(expected.teachers).toBeGreaterThanOrEqual(20);
    expect(Object.keys(expected.bases)).toHaveLength(5);

    const run = await t.reports.generate({ definition: 'zhuangtai', member: ZHONGZHI, year: '2024-2025', actor: cli });
    expect(run.issues).toEqual([]);
    expect(run.status).toBe('awaiting-approval');
    expect(run.counts).toMatchObject({ school: 1, programmes: 8, teachers: expected.teachers, enterprises: 1, bases: 5 });
    expect(run.counts.students).toBeGreaterThan(0);

    const workbook = await readWorkbook((await t.reports.download(run.id, run.files[0]!.name, cli)).content);
    const rows = (sheet: string): Record<string, unknown>[] => {
      const ws = workbook.getWorksheet(sheet)!;
      const header = (ws.getRow(1).values as unknown[]).slice(1).map(String);
      const out: Record<string, unknown>[] = [];
      ws.eachRow((row, n) => {
        if (n > 1) out.push(Object.fromEntries(header.map((h, i) => [h, row.getCell(i + 1).value ?? null])));
      });
      return out;
    };
    expect(rows('学校基本信息')[0]).toMatchObject({ 专任教师数: expected.teachers, 双师型教师数: expected.dualQualified, 合作企业数: 1, 实习基地数: 5 });
    const teachers = rows('专任教师');
    expect(teachers.filter((r) => r['是否双师型'] === '是')).toHaveLength(expected.dualQualified);
    // T026 joins on 2025-09-01: a teacher of the next 学年; 兼职 and 企业导师 staff are not 专任.
    expect(teachers.map((r) => r['工号'])).not.toContain('T026');
    expect(teachers.map((r) => r['工号'])).not.toContain('T030');
    expect(rows('合作企业')).toEqual([
      { 统一社会信用代码: DEMO_ENTERPRISE, 企业名称: '示例精密制造有限公司', 所在地区: '西湖区', 所属行业: '自行车制造', 合作形式: '实习基地', 接收实习学生数: expected.interns },
    ]);
    const bases = rows('实习基地');
    expect(Object.fromEntries(bases.map((b) => [b['基地编号'], b['接收学生数']]))).toEqual(expected.bases);
    expect(bases.find((b) => b['基地编号'] === `${DEMO_ENTERPRISE}/P01`)).toMatchObject({
      基地名称: '示例精密制造有限公司（装配钳工）', 依托企业: DEMO_ENTERPRISE, 面向专业: '660301', 实习类型: '岗位实习、跟岗实习', 企业导师人数: 1,
    });
    for (const b of bases) expect(b['依托企业']).toBe(DEMO_ENTERPRISE);

    // The previous 学年 has the 2021 cohort's placements only: one base, its own figures.
    const previous = await t.reports.generate({ definition: 'zhuangtai', member: ZHONGZHI, year: '2023-2024', actor: cli });
    expect(previous.issues).toEqual([]);
    expect(previous.counts).toMatchObject({ enterprises: 1, bases: 1, teachers: expectedFromSources({ start: '2023-09-01', end: '2024-08-31' }).teachers });
  }, 120_000);

  it('refuses broken school–enterprise links, naming each rule and the records involved', async () => {
    const expected = expectedFromSources();
    t = await openTestHub({
      members: [ZHONGZHI, DEMO_ENTERPRISE],
      reporting: (config) => {
        const members = config.members as Record<string, { facts: Record<string, unknown> }>;
        members[ZHONGZHI]!.facts = { ...members[ZHONGZHI]!.facts, dualQualified: expected.teachers + 1 };
        return config;
      },
    });
    const other = `91330102MA2B7K3Q1${usccCheckChar('91330102MA2B7K3Q1')!}`;
    const unknown = `91330100MA2C8P4R2${usccCheckChar('91330100MA2C8P4R2')!}`;
    const student = csv('enterprise-internships/internships.csv')[0]!['学号']!;
    const internship = (id: string, extra: Record<string, unknown>): SourceRecord =>
      rec('internship', id, { type: 'placement', studentId: student, schoolId: ZHONGZHI, enterpriseId: DEMO_ENTERPRISE, positionId: 'P01', startDate: '2025-03-01', endDate: '2025-04-30', ...extra });
    const run0 = await t.hub.store.createRun({ member: DEMO_ENTERPRISE, adapter: 'ledger-test', mode: 'delta' });
    const outcome = await commitBatch({ store: t.hub.store, contracts: t.hub.contracts, vault: t.hub.vault, member: DEMO_ENTERPRISE, adapter: 'ledger-test', runId: run0.id }, {
      problems: [],
      records: [
        internship('X1', { studentId: 'NOBODY' }), // not a student of the school
        internship('X2', { enterpriseId: unknown, positionId: 'P09' }), // no such enterprise in the group
        internship('X3', { schoolId: '4133010102' }), // another school's intern: not this school's link
        internship('X4', { state: 'planned' }), // never happened
        internship('X5', { startDate: '2022-03-01', endDate: '2022-04-30' }), // another 学年
        rec('enterprise', other, { uscc: other, name: '示例汽车服务有限公司', areaCode: '330102', industryCode: '8111' }),
        rec('apprenticeship', 'A1', { studentId: student, enterpriseId: other, schoolId: ZHONGZHI, mentorId: 'M1', startDate: '2024-09-01', endDate: '2025-07-15' }),
      ],
    });
    expect(outcome.counts.inserted).toBe(7);

    const run = await t.reports.generate({ definition: 'zhuangtai', member: ZHONGZHI, year: '2024-2025', actor: cli });
    expect(run.status).toBe('rejected');
    expect(run.issues.filter((i) => i.code === 'ZT_TABLE_EMPTY')).toEqual([]);
    const failed = Object.fromEntries(run.issues.filter((i) => i.severity === 'error').map((i) => [i.rule, { code: i.code, rows: i.rows }]));
    expect(Object.keys(failed).sort()).toEqual(['baseEnterprise', 'cooperationEnterprise', 'dualQualifiedCount', 'internshipStudent']);
    expect(failed.internshipStudent).toEqual({ code: 'ZT_INTERNSHIP_STUDENT_UNKNOWN', rows: ['X1: NOBODY'] });
    expect(failed.cooperationEnterprise).toEqual({ code: 'ZT_ENTERPRISE_UNRESOLVED', rows: [`X2: ${unknown}`] });
    expect(failed.baseEnterprise).toEqual({ code: 'ZT_BASE_ENTERPRISE_UNKNOWN', rows: [`${unknown}/P09`] });
    // Declared 双师型 figure: differs from the teachers table, and exceeds the full-time teachers.
    expect(failed.dualQualifiedCount).toEqual({ code: 'ZT_DUAL_QUALIFIED_COUNT_MISMATCH', rows: [`${ZHONGZHI}: ${expected.teachers + 1} ≠ ${expected.dualQualified}`, ZHONGZHI] });
    // The apprenticeship links the second enterprise (through its enterprise record); X3–X5 add nothing.
    expect(run.counts).toMatchObject({ enterprises: 2, bases: 6 });
  }, 60_000);
});
