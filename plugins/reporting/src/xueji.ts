// 中职学籍 import workbook: one row per student in school during the 学年, Chinese labels instead of
// codes, with the field rules the 学籍 system applies on import (ID numbers, temporary numbers,
// 校内学号 characters, county within its province).
import { checkIdNumber } from '../../../core/contracts/id-number.ts';
import { inSchoolDuring, type BuildInput } from './build-input.ts';
import { IssueCollector } from './issues.ts';
import { Labeller } from './labels.ts';
import { readMemberRecords, pick, str, type SourceRecordView } from './source.ts';
import type { Dataset, DatasetRow, ReportIssue } from './types.ts';

export const XUEJI_RULES = ['idNumber', 'allow15', 'temporaryIds', 'studentNumberPattern', 'countyInProvince', 'birthDateMatchesId'] as const;

const STUDY_MODE: Record<string, string> = { 'full-time': '全日制', 'part-time': '非全日制', other: '其他' };
const STATUS: Record<string, string> = { enrolled: '在籍', suspended: '休学' };
/** 临时学籍号: L + 6-digit area code of the school + 8-digit birth date + 4 digits. */
const TEMP_NUMBER = /^L(\d{6})(\d{8})(\d{4})$/;

const isCounty = (code: string): boolean => /^\d{6}$/.test(code) && !code.endsWith('00');
const provinceOf = (code: string): string => `${code.slice(0, 2)}0000`;

export async function buildXueji(input: BuildInput): Promise<{ dataset: Dataset; issues: ReportIssue[] }> {
  const { services, definition, member, year } = input;
  const rules = definition.rules;
  const labels = new Labeller(services.contracts);
  const issues = new IssueCollector();
  const table = 'students';

  const programmes = new Map<string, { name?: string; durationYears?: number }>();
  for (const p of input.supplement.programmes ?? []) programmes.set(p.code, { name: p.name, durationYears: p.durationYears });
  for (const p of await readMemberRecords(services, member.code, 'program')) {
    const code = str(p.code);
    if (code) programmes.set(code, { name: str(p.name), durationYears: typeof p.durationYears === 'number' ? p.durationYears : undefined });
  }
  const defaultDuration = definition.dataset.durationYears ?? 3;
  const durationOf = (s: SourceRecordView): number => programmes.get(String(s.programCode ?? ''))?.durationYears ?? defaultDuration;

  const students = (await readMemberRecords(services, member.code, 'student')).filter((s) => inSchoolDuring(s, year, definition, durationOf));
  students.sort((a, b) => String(a.studentNumber ?? a.id).localeCompare(String(b.studentNumber ?? b.id)));

  const pattern = new RegExp(typeof rules.studentNumberPattern === 'string' ? rules.studentNumberPattern : '^[0-9A-Za-z-]{1,20}$');
  const seen = new Set<string>();
  const keys: string[] = [];
  const rows: DatasetRow[] = [];

  for (const s of students) {
    const key = str(s.studentNumber) ?? s.id;
    const add = (code: string, field: string, message: string, severity: 'error' | 'warning' = 'error'): void =>
      issues.add({ code, severity, table, field, message }, key);

    if (rules.studentNumberPattern !== false && !pattern.test(key)) add('XJ_STUDENT_NUMBER_CHARS', '校内学号', `校内学号只能包含 ${pattern.source} / 校内学号 must match ${pattern.source}`);
    if (seen.has(key)) add('XJ_STUDENT_NUMBER_DUPLICATE', '校内学号', '校内学号重复 / duplicate 校内学号');
    seen.add(key);

    const birthDate = str(s.birthDate);
    let idNumber = str(s.idNumber);
    const nationalId = str(s.nationalStudentId);
    const idType = str(s.idType) ?? (idNumber ? '1' : '9');
    if (idType === '1') {
      if (!idNumber) add('XJ_ID_NUMBER_MISSING', '身份证件号', '身份证件类型为居民身份证时必须填写证件号 / a 居民身份证 type needs its number');
      else if (rules.idNumber !== false) {
        const checked = checkIdNumber(idNumber, { allow15: rules.allow15 === true, at: year.end });
        if (!checked.ok) add('XJ_ID_NUMBER_INVALID', '身份证件号', `${checked.code}: ${checked.message}`);
        else {
          if (checked.upgradedFrom15) add('XJ_ID_UPGRADED_15', '身份证件号', '15位身份证号已升为18位 / 15-digit ID number upgraded to 18 digits', 'warning');
          idNumber = checked.normalized;
          if (rules.birthDateMatchesId !== false && birthDate && checked.birthDate !== birthDate) add('XJ_BIRTH_DATE_MISMATCH', '出生日期', '出生日期与身份证号不一致 / birth date differs from the ID number');
        }
      }
    } else if (!idNumber) {
      // No ID document: the 学籍 system registers the student under a temporary number (临时学籍号).
      if (rules.temporaryIds === false || !nationalId?.startsWith('L')) {
        add('XJ_ID_NUMBER_MISSING', '身份证件号', '无证件号的学生须有临时学籍号（L开头）/ a student without an ID number needs a temporary number (L…)');
      }
    }
    if (nationalId?.startsWith('L') && rules.temporaryIds !== false) {
      const m = TEMP_NUMBER.exec(nationalId);
      if (!m) add('XJ_TEMP_NUMBER_INVALID', '全国学籍号', '临时学籍号应为 L+6位地区码+8位出生日期+4位数字 / temporary number must be L + area(6) + birth date(8) + 4 digits');
      else {
        const birth = `${m[2]!.slice(0, 4)}-${m[2]!.slice(4, 6)}-${m[2]!.slice(6, 8)}`;
        if (!labels.has('GB2260', m[1]!)) add('XJ_TEMP_NUMBER_INVALID', '全国学籍号', '临时学籍号中的地区码不在 GB/T 2260 中 / unknown area code in the temporary number');
        else if (birthDate && birth !== birthDate) add('XJ_TEMP_NUMBER_INVALID', '全国学籍号', '临时学籍号中的出生日期与出生日期不一致 / birth date in the temporary number differs');
      }
    }

    // 户口所在地: declared province/county when the source has them, else the area of the ID number.
    let county = str(pick(s, 'extensions.hukouCounty'));
    let province = str(pick(s, 'extensions.hukouProvince'));
    if (!county && idNumber && idType === '1' && /^\d{6}/.test(idNumber)) county = idNumber.slice(0, 6);
    if (county && !province) province = provinceOf(county);
    if (rules.countyInProvince !== false && county) {
      if (!isCounty(county) || !labels.has('GB2260', county)) add('XJ_AREA_UNKNOWN', '户口所在区县', '区县代码不是 GB/T 2260 县级代码 / not a county-level GB/T 2260 code');
      else if (province && provinceOf(county) !== province) add('XJ_COUNTY_NOT_IN_PROVINCE', '户口所在区县', '区县不属于所填省份 / the county does not lie in the given province');
    }

    const enrolment = str(s.enrolmentDate);
    const programCode = str(s.programCode);
    if (programCode && !/^\d{6}$/.test(programCode)) add('XJ_PROGRAMME_CODE_INVALID', '专业代码', '专业代码应为6位数字 / 专业代码 must be 6 digits');

    const labelled = (tableName: string, code: string | undefined, field: string): string | null => {
      if (code === undefined) return null;
      const label = labels.label(tableName, code);
      if (label === undefined) {
        add('XJ_CODE_UNLABELLED', field, `代码 ${code} 不在 ${tableName} 中 / code not in ${tableName}`);
        return null;
      }
      return label;
    };
    const row: DatasetRow = {
      name: str(s.name) ?? null,
      sex: labelled('GB2261.1', str(s.sex), '性别'),
      birthDate: birthDate ?? null,
      idType: labelled('VOCHUB-ID-TYPE', idType, '身份证件类型'),
      idNumber: idNumber ?? null,
      ethnicity: labelled('GB3304', str(s.ethnicity), '民族'),
      nationality: labelled('ISO3166-1', str(s.nationality) ?? 'CHN', '国籍/地区'),
      studentNumber: key,
      nationalStudentId: nationalId ?? null,
      programCode: programCode ?? null,
      programName: (programCode && programmes.get(programCode)?.name) ?? null,
      durationYears: durationOf(s),
      enrolmentMonth: enrolment ? enrolment.slice(0, 7).replace('-', '') : null,
      studyMode: STUDY_MODE[str(s.studyMode) ?? 'full-time'] ?? null,
      className: str(s.classId) ?? null,
      hukouProvince: labelled('GB2260', province, '户口所在省'),
      hukouCounty: labelled('GB2260', county, '户口所在区县'),
      nativePlace: labelled('GB2260', str(s.nativePlace), '籍贯'),
      phone: str(s.phone) ?? null,
      status: STATUS[str(s.enrolmentStatus) ?? 'enrolled'] ?? null,
    };
    for (const column of definition.output.tables.find((t) => t.name === table)?.columns ?? []) {
      if (column.required && (row[column.key] === null || row[column.key] === undefined || row[column.key] === '')) {
        add('XJ_REQUIRED_MISSING', column.label, `必填列「${column.label}」为空 / required column ${column.label} is empty`);
      }
    }
    keys.push(key);
    rows.push(row);
  }
  if (rows.length === 0) issues.add({ code: 'REPORT_DATASET_EMPTY', severity: 'error', table, message: `${year.label} 学年没有在校生 / no students in school in ${year.label}` });
  return { dataset: { definition: definition.id, member: member.code, schoolYear: year.label, tables: { [table]: { name: table, keys, rows } } }, issues: issues.list() };
}
