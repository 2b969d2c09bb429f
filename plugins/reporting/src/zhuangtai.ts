// 人才培养工作状态数据采集: school basic data, programmes, students in school, full-time teachers
// (incl. 双师型), cooperating enterprises and internship bases, with the platform's cross-table
// consistency rules. Summary figures a member declares (plugin config `members.<code>.facts`, or a
// programme record's extensions) are checked against the detail tables; undeclared ones are computed.
import { inSchoolDuring, type BuildInput } from './build-input.ts';
import { buildCooperation } from './cooperation.ts';
import { IssueCollector } from './issues.ts';
import { Labeller } from './labels.ts';
import { pick, readMemberRecords, str, type SourceRecordView } from './source.ts';
import type { Dataset, DatasetRow, DatasetTable, ReportIssue } from './types.ts';

export const ZHUANGTAI_RULES = [
  'programmeCount', 'studentCount', 'teacherCount', 'dualQualifiedCount', 'enterpriseCount', 'baseCount',
  'studentProgramme', 'programmeStudents', 'programmeDuplicate', 'baseEnterprise', 'baseProgramme', 'fieldFormats',
  'internshipStudent', 'cooperationEnterprise',
] as const;

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

export async function buildZhuangtai(input: BuildInput): Promise<{ dataset: Dataset; issues: ReportIssue[] }> {
  const { services, definition, member, year, supplement } = input;
  const on = (rule: string): boolean => definition.rules[rule] !== false;
  const labels = new Labeller(services.contracts);
  const issues = new IssueCollector();
  const facts = supplement.facts ?? {};
  const read = (contract: string): Promise<SourceRecordView[]> => readMemberRecords(services, member.code, contract);

  // 专业设置: the member's programme records; declared programmes fill in where a member system exports none.
  const programmeRows = new Map<string, { row: DatasetRow; declaredStudents?: number; source: string }>();
  const duplicates: string[] = [];
  const addProgramme = (code: string, row: DatasetRow, declaredStudents: number | undefined, source: string): void => {
    const existing = programmeRows.get(code);
    if (existing && existing.source === source) duplicates.push(code);
    if (!existing || source === 'store') programmeRows.set(code, { row, declaredStudents, source });
  };
  for (const p of supplement.programmes ?? []) {
    addProgramme(p.code, { code: p.code, name: p.name, durationYears: p.durationYears ?? definition.dataset.durationYears ?? 3, catalogVersion: p.catalogVersion ?? null, students: 0 }, p.students, 'config');
  }
  for (const p of await read('program')) {
    const level = str(p.educationLevel);
    if (level && definition.dataset.educationLevels && !definition.dataset.educationLevels.includes(level)) continue;
    const code = str(p.code) ?? p.id;
    addProgramme(code, { code, name: str(p.name) ?? null, durationYears: num(p.durationYears) ?? definition.dataset.durationYears ?? 3, catalogVersion: str(p.catalogVersion) ?? null, students: 0 }, num(pick(p, 'extensions.studentsInSchool')), 'store');
  }
  const durationOf = (s: SourceRecordView): number => num(programmeRows.get(String(s.programCode ?? ''))?.row.durationYears) ?? definition.dataset.durationYears ?? 3;

  // 在校生
  const allStudents = await read('student');
  const students = allStudents.filter((s) => inSchoolDuring(s, year, definition, durationOf));
  students.sort((a, b) => String(a.studentNumber ?? a.id).localeCompare(String(b.studentNumber ?? b.id)));
  const studentTable: DatasetTable = { name: 'students', keys: [], rows: [] };
  for (const s of students) {
    const key = str(s.studentNumber) ?? s.id;
    const programCode = str(s.programCode) ?? str(s.programId) ?? null;
    studentTable.keys.push(key);
    studentTable.rows.push({
      studentNumber: key, name: str(s.name) ?? null, sex: labels.label('GB2261.1', str(s.sex)) ?? null,
      programCode, grade: str(s.grade) ?? str(s.enrolmentDate)?.slice(0, 4) ?? null, className: str(s.classId) ?? null,
    });
    const programme = programCode ? programmeRows.get(programCode) : undefined;
    if (programme) programme.row.students = Number(programme.row.students) + 1;
    else if (on('studentProgramme')) {
      issues.add({ code: 'ZT_STUDENT_PROGRAMME_UNKNOWN', severity: 'error', rule: 'studentProgramme', table: 'students', field: '专业代码', message: '在校生的专业代码不在专业设置表中 / students whose 专业代码 is not in the programmes table' }, key);
    }
  }

  const programmeTable: DatasetTable = { name: 'programmes', keys: [], rows: [] };
  for (const [code, p] of [...programmeRows].sort(([a], [b]) => a.localeCompare(b))) {
    programmeTable.keys.push(code);
    programmeTable.rows.push(p.row);
    if (on('fieldFormats') && !/^\d{6}$/.test(code)) {
      issues.add({ code: 'ZT_PROGRAMME_CODE_INVALID', severity: 'error', rule: 'fieldFormats', table: 'programmes', field: '专业代码', message: '专业代码应为6位数字 / 专业代码 must be 6 digits' }, code);
    }
    if (on('programmeStudents') && p.declaredStudents !== undefined && p.declaredStudents !== p.row.students) {
      issues.add({ code: 'ZT_PROGRAMME_STUDENTS_MISMATCH', severity: 'error', rule: 'programmeStudents', table: 'programmes', field: '在校生数', message: '专业设置表的在校生数与在校生表不一致 / programme student count differs from the students table' }, `${code}: ${p.declaredStudents} ≠ ${String(p.row.students)}`);
    }
  }
  if (on('programmeDuplicate')) {
    for (const code of duplicates) issues.add({ code: 'ZT_PROGRAMME_DUPLICATE', severity: 'error', rule: 'programmeDuplicate', table: 'programmes', field: '专业代码', message: '专业代码重复 / duplicate 专业代码' }, code);
  }

  // 专任教师 (incl. 双师型): staff employed full-time and hired by the last day of the 学年.
  const teacherTable: DatasetTable = { name: 'teachers', keys: [], rows: [] };
  const staff = (await read('staff')).filter((t) => (str(t.employmentType) ?? 'full-time') === 'full-time' && str(t.status) !== 'inactive' && (str(t.hireDate) ?? '') <= year.end);
  staff.sort((a, b) => String(a.staffNumber ?? a.id).localeCompare(String(b.staffNumber ?? b.id)));
  for (const t of staff) {
    const key = str(t.staffNumber) ?? t.id;
    teacherTable.keys.push(key);
    teacherTable.rows.push({ staffNumber: key, name: str(t.name) ?? null, sex: labels.label('GB2261.1', str(t.sex)) ?? null, title: str(t.title) ?? null, dualQualified: t.dualQualified === true ? '是' : '否', department: str(pick(t, 'extensions.department')) ?? str(t.orgId) ?? null });
  }
  const dualCount = teacherTable.rows.filter((r) => r.dualQualified === '是').length;

  // 合作企业 and 实习基地: the school's own lists plus the enterprises and positions its students' internships
  // and apprenticeships of the 学年 link it to (cooperation.ts; docs/reporting.md).
  const organizations = await read('organization');
  const { enterprises: enterpriseTable, bases: baseTable } = await buildCooperation({
    services, member, year, students: allStudents, organizations, ownEnterprises: await read('enterprise'),
    programmeCodes: new Set(programmeRows.keys()), labels, issues, on,
  });

  // 学校基本信息: declared facts win; the cross-table rules compare them with the detail tables.
  const counts = { programmes: programmeTable.rows.length, students: studentTable.rows.length, teachers: teacherTable.rows.length, dualQualified: dualCount, enterprises: enterpriseTable.rows.length, bases: baseTable.rows.length };
  const declared = (name: string): number | undefined => num(facts[name]);
  const figure = (name: keyof typeof counts): number => declared(name) ?? counts[name];
  const areaCode = str(facts.areaCode) ?? str(organizations.find((o) => o.type === 'school' && (o.code === member.code || o.id === member.code))?.areaCode);
  const school: DatasetRow = {
    code: member.code, name: member.name, sponsor: str(facts.sponsor) ?? null, area: labels.label('GB2260', areaCode) ?? null,
    programmes: figure('programmes'), students: figure('students'), teachers: figure('teachers'), dualQualified: figure('dualQualified'),
    enterprises: figure('enterprises'), bases: figure('bases'),
  };
  const summaryRules: [string, keyof typeof counts, string, string][] = [
    ['programmeCount', 'programmes', 'ZT_PROGRAMME_COUNT_MISMATCH', '专业点数与专业设置表行数不一致 / programme count differs from the programmes table'],
    ['studentCount', 'students', 'ZT_STUDENT_COUNT_MISMATCH', '在校生数与在校生表行数不一致 / student count differs from the students table'],
    ['teacherCount', 'teachers', 'ZT_TEACHER_COUNT_MISMATCH', '专任教师数与专任教师表行数不一致 / teacher count differs from the teachers table'],
    ['dualQualifiedCount', 'dualQualified', 'ZT_DUAL_QUALIFIED_COUNT_MISMATCH', '双师型教师数与专任教师表中的双师型人数不一致 / 双师型 count differs from the teachers table'],
    ['enterpriseCount', 'enterprises', 'ZT_ENTERPRISE_COUNT_MISMATCH', '合作企业数与合作企业表行数不一致 / enterprise count differs from the enterprises table'],
    ['baseCount', 'bases', 'ZT_BASE_COUNT_MISMATCH', '实习基地数与实习基地表行数不一致 / internship base count differs from the bases table'],
  ];
  for (const [rule, name, code, message] of summaryRules) {
    const value = declared(name);
    if (on(rule) && value !== undefined && value !== counts[name]) issues.add({ code, severity: 'error', rule, table: 'school', field: name, message }, `${member.code}: ${value} ≠ ${counts[name]}`);
  }
  if (on('dualQualifiedCount') && school.dualQualified !== null && Number(school.dualQualified) > Number(school.teachers)) {
    issues.add({ code: 'ZT_DUAL_QUALIFIED_COUNT_MISMATCH', severity: 'error', rule: 'dualQualifiedCount', table: 'school', field: 'dualQualified', message: '双师型教师数大于专任教师数 / more 双师型 than full-time teachers' }, member.code);
  }
  for (const [name, t] of [['teachers', teacherTable], ['enterprises', enterpriseTable], ['bases', baseTable]] as const) {
    if (t.rows.length === 0) issues.add({ code: 'ZT_TABLE_EMPTY', severity: 'warning', table: name, message: `表 ${name} 没有数据（成员系统未提供）/ table ${name} is empty: no member system delivers it yet` });
  }
  if (studentTable.rows.length === 0) issues.add({ code: 'REPORT_DATASET_EMPTY', severity: 'error', table: 'students', message: `${year.label} 学年没有在校生 / no students in school in ${year.label}` });

  return {
    dataset: {
      definition: definition.id, member: member.code, schoolYear: year.label,
      tables: { school: { name: 'school', keys: [member.code], rows: [school] }, programmes: programmeTable, students: studentTable, teachers: teacherTable, enterprises: enterpriseTable, bases: baseTable },
    },
    issues: issues.list(),
  };
}
