// 合作企业 and 实习基地 of one school for one 学年 (人才培养工作状态数据采集). Where the rows come from:
// - the school's own organization records of type `enterprise` and its own `enterprise` records (its list);
// - enterprises linked to the school by `internship` / `apprenticeship` records of the 学年, read from every
//   member (an enterprise member's cooperation ledger names the school's students): a link belongs to the
//   school when its `schoolId` is the school's member code, or — without a schoolId — when the school itself
//   delivered it. The enterprise named by `enterpriseId` is resolved through the group config's enterprise
//   members (code = 统一社会信用代码) and `enterprise` records (by `uscc`, or by id within the same member);
// - 实习基地: one base per (enterprise, position) of the school's internships in the 学年, plus the school's
//   organization records flagged `extensions.internshipBase` (hand-kept lists).
import type { HubServices } from '../../../core/plugins/types.ts';
import type { IssueCollector } from './issues.ts';
import type { Labeller } from './labels.ts';
import type { SchoolYear } from './school-year.ts';
import { pick, readGroupRecords, str, type SourceRecordView } from './source.ts';
import type { DatasetRow, DatasetTable } from './types.ts';

export const CREDIT_CODE = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

const COOPERATION_LABELS: Record<string, string> = {
  'internship-base': '实习基地', apprenticeship: '现代学徒制', 'order-class': '订单班', 'industry-college': '产业学院',
  'training-base': '实训基地', 'joint-programme': '合作办专业', employment: '就业', other: '其他',
};
const INTERNSHIP_TYPES: Record<string, string> = { cognitive: '认识实习', shadowing: '跟岗实习', placement: '岗位实习' };

interface EnterpriseInfo {
  creditCode: string;
  name?: string;
  areaCode?: string;
  industryCode?: string;
  cooperation: Set<string>;
}

interface EnterpriseRow {
  info: EnterpriseInfo;
  interns: Set<string>;
  cooperation: Set<string>;
}

interface BaseAcc {
  code: string;
  name: string | null;
  enterprise: string;
  programmes: Set<string>;
  students: Set<string>;
  types: Set<string>;
  mentors: Set<string>;
  declaredStudents?: number;
}

export interface CooperationInput {
  services: HubServices;
  member: { code: string; name: string };
  year: SchoolYear;
  /** All student records of the school (not only those in school): interns are matched by id or 学号. */
  students: SourceRecordView[];
  /** The school's organization records. */
  organizations: SourceRecordView[];
  /** The school's own `enterprise` records. */
  ownEnterprises: SourceRecordView[];
  programmeCodes: ReadonlySet<string>;
  labels: Labeller;
  issues: IssueCollector;
  on: (rule: string) => boolean;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

export async function buildCooperation(input: CooperationInput): Promise<{ enterprises: DatasetTable; bases: DatasetTable }> {
  const { services, member, year, labels, issues, on } = input;
  const scoped = (owner: string, id: string): string => `${owner}\u0000${id}`;

  // The enterprise directory: enterprise members of the group, then enterprise records (any member).
  const directory = new Map<string, EnterpriseInfo>();
  for (const m of services.config.members) {
    if (m.type !== 'enterprise') continue;
    // GB 32100: characters 3–8 are the registering authority's GB/T 2260 area code.
    directory.set(m.code, { creditCode: m.code, name: m.name, ...(CREDIT_CODE.test(m.code) ? { areaCode: m.code.slice(2, 8) } : {}), cooperation: new Set() });
  }
  const register = (owner: string, e: SourceRecordView, code: string | undefined): EnterpriseInfo => {
    const existing = (code && directory.get(code)) || directory.get(scoped(owner, e.id)) || directory.get(e.id === owner ? owner : '');
    const info: EnterpriseInfo = {
      creditCode: code ?? existing?.creditCode ?? e.id,
      name: str(e.name) ?? existing?.name,
      areaCode: str(e.areaCode) ?? existing?.areaCode,
      industryCode: str(e.industryCode) ?? str(pick(e, 'extensions.industry')) ?? existing?.industryCode,
      cooperation: new Set([...(existing?.cooperation ?? []), ...(Array.isArray(e.cooperation) ? e.cooperation.map(String) : [])]),
    };
    directory.set(scoped(owner, e.id), info);
    if (code) directory.set(code, info);
    return info;
  };
  for (const { member: owner, record } of await readGroupRecords(services, 'enterprise')) register(owner, record, str(record.uscc));
  const resolve = (ref: string, owner: string): EnterpriseInfo | undefined =>
    directory.get(ref) ?? directory.get(scoped(owner, ref)) ?? directory.get(scoped(member.code, ref));

  const enterpriseRows = new Map<string, EnterpriseRow>();
  const addEnterprise = (info: EnterpriseInfo): EnterpriseRow => {
    let row = enterpriseRows.get(info.creditCode);
    if (!row) {
      row = { info, interns: new Set(), cooperation: new Set(info.cooperation) };
      enterpriseRows.set(info.creditCode, row);
    }
    return row;
  };
  // The school's own lists count whatever the links say.
  const orgEnterpriseKeys = new Map<string, string>();
  for (const o of input.organizations.filter((x) => x.type === 'enterprise')) {
    const code = str(o.code) ?? str(o.creditCode);
    const info = register(member.code, o, code);
    addEnterprise(info);
    orgEnterpriseKeys.set(o.id, info.creditCode);
  }
  for (const e of input.ownEnterprises) addEnterprise(register(member.code, e, str(e.uscc)));

  // Links of the 学年: internships and apprenticeships of this school.
  const studentByRef = new Map<string, SourceRecordView>();
  for (const s of input.students) {
    studentByRef.set(s.id, s);
    const number = str(s.studentNumber);
    if (number) studentByRef.set(number, s);
  }
  const during = (r: SourceRecordView): boolean => {
    const start = str(r.startDate);
    const end = str(r.endDate);
    return (start === undefined || start <= year.end) && (end === undefined || end >= year.start) && str(r.status) !== 'inactive' && str(r.state) !== 'planned';
  };
  const ofSchool = (owner: string, r: SourceRecordView): boolean => {
    const school = str(r.schoolId);
    return school !== undefined ? school === member.code : owner === member.code;
  };
  const positions = new Map<string, SourceRecordView>();
  const positionsById = new Map<string, SourceRecordView[]>();
  for (const { member: owner, record } of await readGroupRecords(services, 'position')) {
    positions.set(scoped(owner, record.id), record);
    positionsById.set(record.id, [...(positionsById.get(record.id) ?? []), record]);
  }

  const bases = new Map<string, BaseAcc>();
  for (const [contract, form] of [['internship', 'internship-base'], ['apprenticeship', 'apprenticeship']] as const) {
    for (const { member: owner, record: r } of await readGroupRecords(services, contract)) {
      if (!ofSchool(owner, r) || !during(r)) continue;
      const studentRef = str(r.studentId) ?? '';
      const student = studentByRef.get(studentRef);
      if (!student && on('internshipStudent')) {
        issues.add({ code: 'ZT_INTERNSHIP_STUDENT_UNKNOWN', severity: 'error', rule: 'internshipStudent', table: contract === 'internship' ? 'bases' : 'enterprises', field: '学生', message: '实习/学徒记录的学生不是本校学生 / internship or apprenticeship of a student the school has no record of' }, `${r.id}: ${studentRef}`);
      }
      const ref = str(r.enterpriseId) ?? '';
      const info = resolve(ref, owner);
      if (!info && on('cooperationEnterprise')) {
        issues.add({ code: 'ZT_ENTERPRISE_UNRESOLVED', severity: 'error', rule: 'cooperationEnterprise', table: 'enterprises', field: '统一社会信用代码', message: '实习/学徒记录的企业既不是集团的企业成员，也没有企业记录 / internship or apprenticeship names an enterprise that is neither an enterprise member nor an enterprise record' }, `${r.id}: ${ref}`);
      }
      const studentKey = student ? (str(student.studentNumber) ?? student.id) : studentRef;
      if (info) {
        const row = addEnterprise(info);
        row.cooperation.add(form);
        if (contract === 'internship') row.interns.add(studentKey);
      }
      if (contract !== 'internship') continue;
      // 实习基地 = enterprise + position.
      const enterpriseKey = info?.creditCode ?? ref;
      const positionRef = str(r.positionId);
      const position = positionRef === undefined ? undefined : (positions.get(scoped(owner, positionRef)) ?? positionsById.get(positionRef)?.find((p) => str(p.enterpriseId) === ref));
      const positionCode = positionRef === undefined ? undefined : (str(position?.code) ?? positionRef);
      const key = positionCode === undefined ? enterpriseKey : `${enterpriseKey}/${positionCode}`;
      let base = bases.get(key);
      if (!base) {
        const title = str(position?.title) ?? positionCode;
        const enterpriseName = info?.name ?? enterpriseKey;
        base = { code: key, name: title === undefined ? enterpriseName : `${enterpriseName}（${title}）`, enterprise: enterpriseKey, programmes: new Set(), students: new Set(), types: new Set(), mentors: new Set() };
        bases.set(key, base);
      }
      for (const c of Array.isArray(position?.programCodes) ? position.programCodes : []) base.programmes.add(String(c));
      const programme = str(student?.programCode);
      if (programme) base.programmes.add(programme);
      base.students.add(studentKey);
      const type = str(r.type);
      if (type) base.types.add(INTERNSHIP_TYPES[type] ?? type);
      const mentor = str(r.mentorId);
      if (mentor) base.mentors.add(mentor);
    }
  }
  // Hand-kept bases (organization records of the school).
  for (const b of input.organizations.filter((o) => pick(o, 'extensions.internshipBase') === true)) {
    const key = str(b.code) ?? b.id;
    if (bases.has(key)) continue;
    const parent = str(b.parentId);
    bases.set(key, {
      code: key, name: str(b.name) ?? null, enterprise: (parent && (orgEnterpriseKeys.get(parent) ?? resolve(parent, member.code)?.creditCode)) || parent || '',
      programmes: new Set(((pick(b, 'extensions.programmeCodes') as unknown[] | undefined) ?? []).map(String)), students: new Set(), types: new Set(), mentors: new Set(),
      declaredStudents: num(pick(b, 'extensions.studentsReceived')),
    });
  }

  const enterpriseTable: DatasetTable = { name: 'enterprises', keys: [], rows: [] };
  for (const [key, e] of [...enterpriseRows].sort(([a], [b]) => a.localeCompare(b))) {
    const industry = e.info.industryCode;
    enterpriseTable.keys.push(key);
    enterpriseTable.rows.push({
      creditCode: key, name: e.info.name ?? null, area: labels.label('GB2260', e.info.areaCode) ?? null,
      industry: (industry && (labels.label('GB4754', industry) ?? industry)) ?? null,
      cooperation: [...e.cooperation].map((c) => COOPERATION_LABELS[c] ?? c).sort().join('、') || null,
      interns: e.interns.size,
    } satisfies DatasetRow);
    if (on('fieldFormats') && !CREDIT_CODE.test(key)) {
      issues.add({ code: 'ZT_CREDIT_CODE_INVALID', severity: 'error', rule: 'fieldFormats', table: 'enterprises', field: '统一社会信用代码', message: '统一社会信用代码应为18位（GB 32100）/ 统一社会信用代码 must have 18 characters (GB 32100)' }, key);
    }
  }

  const baseTable: DatasetTable = { name: 'bases', keys: [], rows: [] };
  for (const [key, b] of [...bases].sort(([a], [b2]) => a.localeCompare(b2))) {
    const programmes = [...b.programmes].sort();
    baseTable.keys.push(key);
    baseTable.rows.push({
      code: key, name: b.name, enterprise: b.enterprise || null, programmes: programmes.join('、'),
      studentsReceived: b.students.size > 0 ? b.students.size : (b.declaredStudents ?? null),
      types: [...b.types].sort().join('、') || null, mentors: b.mentors.size > 0 ? b.mentors.size : null,
    });
    if (on('baseEnterprise') && (!b.enterprise || !enterpriseRows.has(b.enterprise))) {
      issues.add({ code: 'ZT_BASE_ENTERPRISE_UNKNOWN', severity: 'error', rule: 'baseEnterprise', table: 'bases', field: '依托企业', message: '实习基地的依托企业不在合作企业表中 / internship bases whose enterprise is not in the enterprises table' }, key);
    }
    const unknown = programmes.filter((c) => !input.programmeCodes.has(c));
    if (on('baseProgramme') && unknown.length > 0) {
      issues.add({ code: 'ZT_BASE_PROGRAMME_UNKNOWN', severity: 'error', rule: 'baseProgramme', table: 'bases', field: '面向专业', message: '实习基地面向的专业不在专业设置表中 / internship bases serving programmes not in the programmes table' }, `${key}: ${unknown.join(',')}`);
    }
  }
  return { enterprises: enterpriseTable, bases: baseTable };
}
