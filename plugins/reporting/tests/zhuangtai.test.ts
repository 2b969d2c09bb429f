// 人才培养工作状态数据采集 tables: consistent data pass and are written one sheet per table;
// deliberately inconsistent data are refused, naming each failed rule and the rows involved.
import { afterEach, describe, expect, it } from 'vitest';
import { commitBatch } from '../../../core/pipeline/process.ts';
import type { SourceRecord } from '../../../core/plugins/types.ts';
import { cli, onlyAdapters, openTestHub, readWorkbook, ZHONGZHI, type TestHub } from './helpers.ts';

const ENTERPRISE = '91330106MA27XH3L0B';

function rec(contract: string, key: string, data: Record<string, unknown>): SourceRecord {
  return { contract, key, op: 'upsert', data: { id: key, ...data } };
}

/** Teachers, a cooperating enterprise and an internship base for the demo 中职 school, through the real pipeline. */
async function addSchoolData(t: TestHub, extra: SourceRecord[] = []): Promise<void> {
  const run = await t.hub.store.createRun({ member: ZHONGZHI, adapter: 'hr-export', mode: 'delta' });
  const outcome = await commitBatch({ store: t.hub.store, contracts: t.hub.contracts, vault: t.hub.vault, member: ZHONGZHI, adapter: 'hr-export', runId: run.id }, {
    problems: [],
    records: [
      rec('staff', 'T001', { staffNumber: 'T001', name: '王老师', sex: '1', employmentType: 'full-time', dualQualified: true, title: '讲师' }),
      rec('staff', 'T002', { staffNumber: 'T002', name: '李老师', sex: '2', employmentType: 'full-time', dualQualified: true, title: '高级讲师' }),
      rec('staff', 'T003', { staffNumber: 'T003', name: '张老师', sex: '2', employmentType: 'full-time', dualQualified: false }),
      rec('staff', 'M001', { staffNumber: 'M001', name: '赵师傅', sex: '1', employmentType: 'enterprise-mentor', dualQualified: true }),
      rec('organization', 'E001', { name: '示例机电设备有限公司', type: 'enterprise', code: ENTERPRISE, areaCode: '330106' }),
      rec('organization', 'B001', { name: '示例机电实习基地', type: 'other', code: 'B001', parentId: 'E001', extensions: { internshipBase: true, programmeCodes: ['660301', '660302'], studentsReceived: 40 } }),
      ...extra,
    ],
  });
  expect(outcome.counts.inserted).toBe(6 + extra.length);
}

describe('人才培养状态数据 tables', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('writes the six tables of a consistent dataset, one sheet each, with computed summary figures', async () => {
    // The school's roster only: the teachers, enterprise and base below are the whole of those tables.
    t = await openTestHub({ members: [ZHONGZHI], patch: onlyAdapters(ZHONGZHI, ['roster']) });
    await addSchoolData(t);
    const run = await t.reports.generate({ definition: 'zhuangtai', member: ZHONGZHI, year: '2024-2025', actor: cli });
    expect(run.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(run.status).toBe('awaiting-approval');
    expect(run.counts).toMatchObject({ school: 1, programmes: 8, teachers: 3, enterprises: 1, bases: 1 });
    const workbook = await readWorkbook((await t.reports.download(run.id, run.files[0]!.name, cli)).content);
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['学校基本信息', '专业设置', '在校生', '专任教师', '合作企业', '实习基地']);
    const school = workbook.getWorksheet('学校基本信息')!;
    const header = (school.getRow(1).values as unknown[]).slice(1);
    const value = (label: string) => school.getRow(2).getCell(header.indexOf(label) + 1).value;
    expect(value('专业点数')).toBe(8);
    expect(value('在校生数')).toBe(run.counts.students);
    expect(value('专任教师数')).toBe(3);
    expect(value('双师型教师数')).toBe(2);
    expect(value('所在地区')).toBe('西湖区');
    const base = workbook.getWorksheet('实习基地')!;
    expect((base.getRow(2).values as unknown[]).slice(1)).toEqual(['B001', '示例机电实习基地', ENTERPRISE, '660301、660302', 40]);
  }, 60_000);

  it('refuses an inconsistent dataset, naming each failed rule and the rows involved', async () => {
    t = await openTestHub({
      members: [ZHONGZHI],
      patch: onlyAdapters(ZHONGZHI, ['roster']),
      reporting: (config) => {
        const members = config.members as Record<string, { facts: Record<string, unknown>; programmes: { code: string; students?: number }[] }>;
        // Declared figures that the detail tables contradict.
        members[ZHONGZHI]!.facts = { ...members[ZHONGZHI]!.facts, programmes: 9, teachers: 5, dualQualified: 2 };
        members[ZHONGZHI]!.programmes[0]!.students = 1;
        return config;
      },
    });
    await addSchoolData(t, [
      rec('student', 'S-UNKNOWN', { studentNumber: 'S-UNKNOWN', name: '错专业', sex: '1', programCode: '999999', enrolmentDate: '2024-09-01', educationLevel: 'zhongzhi', enrolmentStatus: 'enrolled' }),
      rec('organization', 'B002', { name: '无依托基地', type: 'other', code: 'B002', parentId: 'E404', extensions: { internshipBase: true, programmeCodes: ['660301', '888888'] } }),
    ]);
    const run = await t.reports.generate({ definition: 'zhuangtai', member: ZHONGZHI, year: '2024-2025', actor: cli });
    expect(run.status).toBe('rejected');
    expect(run.files).toEqual([]);
    const failed = Object.fromEntries(run.issues.filter((i) => i.severity === 'error').map((i) => [i.rule, { code: i.code, rows: i.rows }]));
    expect(Object.keys(failed).sort()).toEqual(['baseEnterprise', 'baseProgramme', 'programmeCount', 'programmeStudents', 'studentProgramme', 'teacherCount']);
    expect(failed.programmeCount).toEqual({ code: 'ZT_PROGRAMME_COUNT_MISMATCH', rows: [`${ZHONGZHI}: 9 ≠ 8`] });
    expect(failed.teacherCount).toEqual({ code: 'ZT_TEACHER_COUNT_MISMATCH', rows: [`${ZHONGZHI}: 5 ≠ 3`] });
    expect(failed.studentProgramme).toEqual({ code: 'ZT_STUDENT_PROGRAMME_UNKNOWN', rows: ['S-UNKNOWN'] });
    expect(failed.baseEnterprise).toEqual({ code: 'ZT_BASE_ENTERPRISE_UNKNOWN', rows: ['B002'] });
    expect(failed.baseProgramme).toEqual({ code: 'ZT_BASE_PROGRAMME_UNKNOWN', rows: ['B002: 888888'] });
    expect(failed.programmeStudents!.code).toBe('ZT_PROGRAMME_STUDENTS_MISMATCH');
    expect(failed.programmeStudents!.rows![0]).toMatch(/^660301: 1 ≠ \d+$/);
  }, 60_000);
});
