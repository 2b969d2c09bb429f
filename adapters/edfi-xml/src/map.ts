// Ed-Fi interchange elements → canonical contract records (field names: docs/architecture.md).
// One top-level element yields at most one record. Joins across elements (a section's course lives on its
// CourseOffering; a staff member's school on StaffSchoolAssociation) go through a small JoinIndex built in a
// pre-pass, so the main pass can stream every file in any order.
import type { Problem } from '../../../core/errors.ts';
import type { SourceRecord } from '../../../core/plugins/types.ts';
import {
  attendanceCategoryTable,
  classroomPositionTable,
  codeValue,
  organizationTypeByElement,
  sexTable,
  termTypeTable,
} from './descriptors.ts';
import { courseKey, fitKey, gradingPeriodKey, joinKeys, keyOf, normalizeSchoolYear, offeringKey, sectionKey, termKey } from './keys.ts';
import { child, childrenNamed, find, findText, text, type XNode } from './xml-stream.ts';

interface StaffFacts {
  schoolId?: string;
  employmentOrgId?: string;
  hireDate?: string;
  fte?: string;
  position?: string;
  classification?: string;
}

interface StudentFacts {
  schoolId?: string;
  entryDate?: string;
  exitDate?: string;
  gradeLevel?: string;
  primary?: boolean;
  sex?: string;
}

interface GradebookFacts {
  sectionKey?: string;
  offering?: string;
  termKey?: string;
  title?: string;
  date?: string;
}

export interface JoinIndex {
  /** offeringKey → course key */
  offeringCourse: Map<string, string>;
  /** offeringKey → LocalCourseTitle, and course key → CourseTitle: a section's title when it has no SectionName */
  offeringTitle: Map<string, string>;
  courseTitle: Map<string, string>;
  /** section key → teacher StaffUniqueIds (in file order, unique) */
  sectionTeachers: Map<string, string[]>;
  staff: Map<string, StaffFacts>;
  students: Map<string, StudentFacts>;
  /** keyOf(Namespace, GradebookEntryIdentifier) → facts */
  gradebookEntries: Map<string, GradebookFacts>;
  /** XML `id` attribute of an education organization → its EducationOrganizationId (for `ref=` references) */
  edorgByXmlId: Map<string, string>;
  /** grading period (xml id or key) → session term key */
  gradingPeriodSession: Map<string, string>;
}

export function newJoinIndex(): JoinIndex {
  return {
    offeringCourse: new Map(),
    offeringTitle: new Map(),
    courseTitle: new Map(),
    sectionTeachers: new Map(),
    staff: new Map(),
    students: new Map(),
    gradebookEntries: new Map(),
    edorgByXmlId: new Map(),
    gradingPeriodSession: new Map(),
  };
}

/** Interchanges whose files the pre-pass reads (by root element local name). */
export const INDEXED_INTERCHANGES = new Set([
  'InterchangeEducationOrganization',
  'InterchangeEducationOrgCalendar',
  'InterchangeMasterSchedule',
  'InterchangeStaffAssociation',
  'InterchangeStudentEnrollment',
  'InterchangeStudentGradebook',
]);

/** Elements that only feed the JoinIndex: they are consumed, not skipped, and emit no record of their own. */
export const JOIN_ONLY_ELEMENTS = new Set([
  'CourseOffering',
  'StaffSchoolAssociation',
  'StaffEducationOrganizationEmploymentAssociation',
  'StaffEducationOrganizationAssignmentAssociation',
  'StudentSchoolAssociation',
  'StudentEducationOrganizationAssociation',
  'GradebookEntry',
]);

export function wantedForIndex(name: string): boolean {
  return (
    JOIN_ONLY_ELEMENTS.has(name) || name === 'StaffSectionAssociation' || name === 'Session' || name === 'Course' || organizationTypeByElement.has(name)
  );
}

interface SectionIdentity {
  schoolId?: string;
  schoolYear?: string;
  sessionName?: string;
  localCourseCode?: string;
  sectionIdentifier?: string;
}

/** Reads a section identity from a Section element or from any node holding a SectionIdentity. */
function readSectionIdentity(node: XNode | undefined): SectionIdentity {
  const offering = find(node, 'CourseOfferingIdentity') ?? find(node, 'CourseOfferingReference');
  const session = find(offering, 'SessionIdentity') ?? find(offering, 'SessionReference');
  const year = findText(session, 'SchoolYear');
  return {
    sectionIdentifier: findText(node, 'SectionIdentifier'),
    localCourseCode: findText(offering, 'LocalCourseCode'),
    schoolId: text(offering, 'SchoolReference/SchoolIdentity/SchoolId') ?? findText(offering, 'SchoolId'),
    sessionName: findText(session, 'SessionName'),
    schoolYear: year === undefined ? undefined : normalizeSchoolYear(year),
  };
}

function sectionKeyOf(id: SectionIdentity): string | undefined {
  if (!id.schoolId || !id.schoolYear || !id.sessionName || !id.localCourseCode || !id.sectionIdentifier) return undefined;
  return sectionKey(id.schoolId, id.schoolYear, id.sessionName, id.localCourseCode, id.sectionIdentifier);
}

function offeringOf(id: SectionIdentity): string | undefined {
  if (!id.schoolId || !id.schoolYear || !id.sessionName || !id.localCourseCode) return undefined;
  return offeringKey(id.schoolId, id.schoolYear, id.sessionName, id.localCourseCode);
}

function termOf(id: SectionIdentity): string | undefined {
  if (!id.schoolId || !id.schoolYear || !id.sessionName) return undefined;
  return termKey(id.schoolId, id.schoolYear, id.sessionName);
}

/** Which section identity components are missing, for the problem message. */
function missingSectionParts(id: SectionIdentity): string {
  const names: [keyof SectionIdentity, string][] = [
    ['sectionIdentifier', 'SectionIdentifier'],
    ['localCourseCode', 'LocalCourseCode'],
    ['schoolId', 'SchoolId'],
    ['schoolYear', 'SchoolYear'],
    ['sessionName', 'SessionName'],
  ];
  return names.filter(([k]) => !id[k]).map(([, n]) => n).join('+');
}

function educationOrganizationId(node: XNode | undefined): string | undefined {
  return findText(node, 'EducationOrganizationId');
}

// ---- pre-pass -------------------------------------------------------------------------------------------

export function indexElement(index: JoinIndex, node: XNode): void {
  switch (node.name) {
    case 'CourseOffering': {
      const session = child(node, 'SessionReference');
      const schoolId = text(node, 'SchoolReference/SchoolIdentity/SchoolId');
      const year = findText(session, 'SchoolYear');
      const sessionName = findText(session, 'SessionName');
      const local = text(node, 'LocalCourseCode');
      const course = child(node, 'CourseReference');
      const code = findText(course, 'CourseCode');
      const org = educationOrganizationId(course);
      if (schoolId && year && sessionName && local) {
        const offering = offeringKey(schoolId, normalizeSchoolYear(year), sessionName, local);
        if (code && org) index.offeringCourse.set(offering, courseKey(org, code));
        const title = text(node, 'LocalCourseTitle');
        if (title) index.offeringTitle.set(offering, title);
      }
      return;
    }
    case 'Course': {
      const code = text(node, 'CourseCode');
      const org = educationOrganizationId(child(node, 'EducationOrganizationReference'));
      const title = text(node, 'CourseTitle');
      if (code && org && title) index.courseTitle.set(courseKey(org, code), title);
      return;
    }
    case 'StaffSectionAssociation': {
      const staffId = findText(child(node, 'StaffReference'), 'StaffUniqueId');
      const key = sectionKeyOf(readSectionIdentity(child(node, 'SectionReference')));
      const position = text(node, 'ClassroomPosition');
      const role = position === undefined ? undefined : classroomPositionTable.lookup(position)?.role;
      if (staffId && key && role === 'teacher') {
        const list = index.sectionTeachers.get(key);
        if (!list) index.sectionTeachers.set(key, [staffId]);
        else if (!list.includes(staffId)) list.push(staffId);
      }
      return;
    }
    case 'StaffSchoolAssociation': {
      const facts = staffFacts(index, node);
      facts.schoolId ??= text(node, 'SchoolReference/SchoolIdentity/SchoolId') ?? findText(child(node, 'SchoolReference'), 'SchoolId');
      return;
    }
    case 'StaffEducationOrganizationEmploymentAssociation': {
      const facts = staffFacts(index, node);
      facts.employmentOrgId ??= educationOrganizationId(child(node, 'EducationOrganizationReference'));
      facts.hireDate ??= text(node, 'EmploymentPeriod/HireDate') ?? text(node, 'HireDate');
      facts.fte ??= text(node, 'FullTimeEquivalency');
      return;
    }
    case 'StaffEducationOrganizationAssignmentAssociation': {
      const facts = staffFacts(index, node);
      facts.position ??= text(node, 'PositionTitle');
      const classification = text(node, 'StaffClassification');
      if (classification) facts.classification ??= codeValue(classification);
      return;
    }
    case 'StudentSchoolAssociation': {
      const id = findText(child(node, 'StudentReference'), 'StudentUniqueId');
      if (!id) return;
      const facts = index.students.get(id) ?? {};
      const primary = text(node, 'PrimarySchool') === 'true';
      const entry = text(node, 'EntryDate');
      // Keep the primary school, else the latest entry: that is where the student is enrolled now.
      const better = !facts.schoolId || (primary && !facts.primary) || (primary === !!facts.primary && (entry ?? '') > (facts.entryDate ?? ''));
      if (better) {
        facts.schoolId = findText(child(node, 'SchoolReference'), 'SchoolId');
        facts.entryDate = entry;
        facts.exitDate = text(node, 'ExitWithdrawDate');
        const grade = text(node, 'EntryGradeLevel');
        facts.gradeLevel = grade === undefined ? undefined : codeValue(grade);
        facts.primary = primary;
      }
      index.students.set(id, facts);
      return;
    }
    case 'StudentEducationOrganizationAssociation': {
      const id = findText(child(node, 'StudentReference'), 'StudentUniqueId');
      const sex = text(node, 'Sex');
      if (!id || !sex) return;
      const facts = index.students.get(id) ?? {};
      facts.sex ??= sex;
      index.students.set(id, facts);
      return;
    }
    case 'GradebookEntry': {
      const ns = text(node, 'Namespace');
      const id = text(node, 'GradebookEntryIdentifier');
      if (!ns || !id) return;
      const section = readSectionIdentity(child(node, 'SectionReference'));
      index.gradebookEntries.set(keyOf(ns, id), {
        sectionKey: sectionKeyOf(section),
        offering: offeringOf(section),
        termKey: termOf(section),
        title: text(node, 'Title'),
        date: text(node, 'DateAssigned'),
      });
      return;
    }
    case 'Session': {
      const schoolId = findText(child(node, 'SchoolReference'), 'SchoolId');
      const year = text(node, 'SchoolYear');
      const name = text(node, 'SessionName');
      if (!schoolId || !year || !name) return;
      const session = termKey(schoolId, normalizeSchoolYear(year), name);
      for (const ref of childrenNamed(node, 'GradingPeriodReference')) {
        const xmlRef = ref.attrs?.ref;
        if (xmlRef) index.gradingPeriodSession.set(`#${xmlRef}`, session);
        const gpName = findText(ref, 'GradingPeriodName');
        const gpYear = findText(ref, 'SchoolYear');
        const gpSchool = findText(ref, 'SchoolId') ?? schoolId;
        if (gpName && gpYear) index.gradingPeriodSession.set(gradingPeriodKey(gpSchool, normalizeSchoolYear(gpYear), gpName), session);
      }
      return;
    }
    default: {
      const orgType = organizationTypeByElement.get(node.name);
      const xmlId = node.attrs?.id;
      const id = orgType ? text(node, orgType.idElement) : undefined;
      if (xmlId && id) index.edorgByXmlId.set(xmlId, id);
    }
  }
}

function staffFacts(index: JoinIndex, node: XNode): StaffFacts {
  const id = findText(child(node, 'StaffReference'), 'StaffUniqueId') ?? '';
  let facts = index.staff.get(id);
  if (!facts) index.staff.set(id, (facts = {}));
  return facts;
}

// ---- main pass --------------------------------------------------------------------------------------------

export interface MapContext {
  /** File name as shown in problems (relative to the configured folder). */
  file: string;
  index: JoinIndex;
  problems: Problem[];
}

type Mapper = (node: XNode, ctx: MapContext) => SourceRecord | undefined;

function keyMissing(ctx: MapContext, node: XNode, contract: string, column: string): undefined {
  ctx.problems.push({
    code: 'EDFI_KEY_MISSING',
    severity: 'error',
    message: `${node.name} 缺少自然键 ${column} / ${node.name} lacks its natural key ${column}`,
    file: ctx.file,
    line: node.line,
    column,
    field: 'id',
    contract,
  });
  return undefined;
}

function unmapped(ctx: MapContext, node: XNode, contract: string, key: string, field: string, column: string, value: string, dropped = false): void {
  const code = codeValue(value);
  ctx.problems.push({
    code: 'EDFI_DESCRIPTOR_UNMAPPED',
    severity: dropped ? 'error' : 'warning',
    message: dropped
      ? `描述符 ${code} 没有映射，记录未生成 / descriptor ${code} has no mapping, record not emitted`
      : `描述符 ${code} 没有映射，字段 ${field} 留空 / descriptor ${code} has no mapping, ${field} left empty`,
    file: ctx.file,
    line: node.line,
    column,
    field,
    value,
    contract,
    key,
  });
}

function unresolved(ctx: MapContext, node: XNode, contract: string, key: string, field: string, column: string): void {
  ctx.problems.push({
    code: 'EDFI_REFERENCE_UNRESOLVED',
    severity: 'warning',
    message: `${column} 引用在导出中找不到，字段 ${field} 留空 / ${column} reference not found in the export, ${field} left empty`,
    file: ctx.file,
    line: node.line,
    column,
    field,
    contract,
    key,
  });
}

function record(contract: string, key: string, data: Record<string, unknown>, node: XNode, ctx: MapContext): SourceRecord {
  for (const k in data) if (data[k] === undefined) delete data[k];
  return { contract, key, op: 'upsert', data, location: { file: ctx.file, line: node.line } };
}

function personName(node: XNode): { name?: string; familyName?: string; givenName?: string } {
  const n = child(node, 'Name');
  const given = text(n, 'FirstName');
  const middle = text(n, 'MiddleName');
  const family = text(n, 'LastSurname');
  // Ed-Fi names are Western: display order is given [middle] family, separated by spaces.
  const parts = [given, middle, family].filter((p): p is string => !!p);
  return { name: parts.length ? parts.join(' ') : undefined, familyName: family, givenName: given };
}

function mapSex(ctx: MapContext, node: XNode, contract: string, key: string, column: string, descriptor: string | undefined, ext: Record<string, unknown>): string | undefined {
  if (!descriptor) return undefined;
  const code = sexTable.lookup(descriptor);
  if (code === undefined) unmapped(ctx, node, contract, key, 'sex', column, descriptor);
  // 9 covers more than one Ed-Fi value: keep the original so nothing is lost.
  if (code === undefined || code === '9') ext.edfiSex = codeValue(descriptor);
  return code;
}

function organization(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const entry = organizationTypeByElement.get(node.name)!;
  const id = text(node, entry.idElement);
  if (!id) return keyMissing(ctx, node, 'organization', entry.idElement);
  const parentRef =
    child(node, 'LocalEducationAgencyReference') ??
    child(node, 'ParentLocalEducationAgencyReference') ??
    child(node, 'EducationServiceCenterReference') ??
    child(node, 'StateEducationAgencyReference') ??
    child(node, 'ParentEducationOrganizationReference') ??
    child(node, 'CommunityOrganizationReference');
  let parentId: string | undefined;
  if (parentRef) {
    parentId = findText(parentRef, 'EducationOrganizationId') ?? firstIdText(parentRef);
    if (!parentId && parentRef.attrs?.ref) {
      parentId = ctx.index.edorgByXmlId.get(parentRef.attrs.ref);
      if (!parentId) unresolved(ctx, node, 'organization', id, 'parentId', parentRef.name);
    }
  }
  const addressNode = childrenNamed(node, 'Address').find((a) => codeValue(text(a, 'AddressType') ?? '') === 'Physical') ?? child(node, 'Address');
  const phoneNode =
    childrenNamed(node, 'InstitutionTelephone').find((t) => codeValue(text(t, 'InstitutionTelephoneNumberType') ?? '') === 'Main') ??
    child(node, 'InstitutionTelephone');
  const status = text(node, 'OperationalStatus');
  const statusCode = status ? codeValue(status) : undefined;
  return record(
    'organization',
    id,
    {
      id,
      name: text(node, 'NameOfInstitution'),
      type: entry.type,
      code: id,
      parentId,
      address: addressNode ? formatAddress(addressNode) : undefined,
      phone: normalizePhone(text(phoneNode, 'TelephoneNumber')),
      status: statusCode === 'Closed' || statusCode === 'Inactive' ? 'inactive' : statusCode ? 'active' : undefined,
      extensions: compact({ edfiType: node.name, shortName: text(node, 'ShortNameOfInstitution'), webSite: text(node, 'WebSite') }),
    },
    node,
    ctx,
  );
}

/** The Id leaf of a typed identity (`LocalEducationAgencyIdentity/LocalEducationAgencyId`). */
function firstIdText(node: XNode): string | undefined {
  for (const c of node.children) {
    if (c.children.length === 0 && c.name.endsWith('Id') && c.text) return c.text;
    const hit = firstIdText(c);
    if (hit) return hit;
  }
  return undefined;
}

/** US exports write "(950) 325-9465": drop the punctuation our phone pattern does not allow, keep the digits. */
function normalizePhone(value: string | undefined): string | undefined {
  return value?.replace(/[().]/g, ' ').replace(/\s+/g, ' ').trim() || undefined;
}

function formatAddress(address: XNode): string {
  const state = text(address, 'StateAbbreviation');
  const parts = [
    text(address, 'StreetNumberName'),
    text(address, 'ApartmentRoomSuiteNumber'),
    text(address, 'City'),
    [state ? codeValue(state) : undefined, text(address, 'PostalCode')].filter(Boolean).join(' ') || undefined,
  ];
  return parts.filter(Boolean).join(', ');
}

function compact(obj: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k in obj) if (obj[k] !== undefined) (out ??= {})[k] = obj[k];
  return out;
}

function course(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const code = text(node, 'CourseCode');
  const org = educationOrganizationId(child(node, 'EducationOrganizationReference'));
  if (!code) return keyMissing(ctx, node, 'course', 'CourseCode');
  if (!org) return keyMissing(ctx, node, 'course', 'EducationOrganizationReference/EducationOrganizationId');
  const key = courseKey(org, code);
  const subject = text(node, 'AcademicSubject');
  return record(
    'course',
    key,
    {
      id: key,
      code,
      title: text(node, 'CourseTitle'),
      orgId: org,
      credits: text(node, 'MaximumAvailableCredits/Credits') ?? text(node, 'MinimumAvailableCredits/Credits'),
      subject: subject ? codeValue(subject) : undefined,
    },
    node,
    ctx,
  );
}

function program(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const org = educationOrganizationId(child(node, 'EducationOrganizationReference'));
  const name = text(node, 'ProgramName');
  const type = text(node, 'ProgramType');
  if (!org) return keyMissing(ctx, node, 'program', 'EducationOrganizationReference/EducationOrganizationId');
  if (!name) return keyMissing(ctx, node, 'program', 'ProgramName');
  if (!type) return keyMissing(ctx, node, 'program', 'ProgramType');
  const key = fitKey(keyOf(org, codeValue(type), name));
  // `code` is reserved for the 6-digit 专业目录 code; Ed-Fi ProgramId is a local number, kept in extensions.
  return record(
    'program',
    key,
    { id: key, name, orgId: org, extensions: compact({ edfiProgramId: text(node, 'ProgramId'), edfiProgramType: codeValue(type) }) },
    node,
    ctx,
  );
}

function session(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const schoolId = findText(child(node, 'SchoolReference'), 'SchoolId');
  const year = text(node, 'SchoolYear');
  const name = text(node, 'SessionName');
  if (!schoolId) return keyMissing(ctx, node, 'term', 'SchoolReference/SchoolId');
  if (!year) return keyMissing(ctx, node, 'term', 'SchoolYear');
  if (!name) return keyMissing(ctx, node, 'term', 'SessionName');
  const schoolYear = normalizeSchoolYear(year);
  const key = termKey(schoolId, schoolYear, name);
  const term = text(node, 'Term');
  let type = term === undefined ? 'term' : termTypeTable.lookup(term);
  if (type === undefined) {
    unmapped(ctx, node, 'term', key, 'type', 'Term', term!);
    type = 'term';
  }
  return record(
    'term',
    key,
    {
      id: key,
      title: name,
      type,
      schoolYear,
      startDate: text(node, 'BeginDate'),
      endDate: text(node, 'EndDate'),
      extensions: compact({ schoolId, edfiTerm: term ? codeValue(term) : undefined }),
    },
    node,
    ctx,
  );
}

function gradingPeriod(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const schoolId = findText(child(node, 'SchoolReference'), 'SchoolId');
  const year = text(node, 'SchoolYear');
  const name = text(node, 'GradingPeriodName');
  if (!schoolId) return keyMissing(ctx, node, 'term', 'SchoolReference/SchoolId');
  if (!year) return keyMissing(ctx, node, 'term', 'SchoolYear');
  if (!name) return keyMissing(ctx, node, 'term', 'GradingPeriodName');
  const schoolYear = normalizeSchoolYear(year);
  const key = gradingPeriodKey(schoolId, schoolYear, name);
  const xmlId = node.attrs?.id;
  const parentId = ctx.index.gradingPeriodSession.get(key) ?? (xmlId ? ctx.index.gradingPeriodSession.get(`#${xmlId}`) : undefined);
  const descriptor = text(node, 'GradingPeriod');
  return record(
    'term',
    key,
    {
      id: key,
      title: name,
      type: 'gradingPeriod',
      schoolYear,
      startDate: text(node, 'BeginDate'),
      endDate: text(node, 'EndDate'),
      parentId,
      extensions: compact({ schoolId, edfiGradingPeriod: descriptor ? codeValue(descriptor) : undefined, periodSequence: text(node, 'PeriodSequence') }),
    },
    node,
    ctx,
  );
}

function student(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const id = text(node, 'StudentUniqueId');
  if (!id) return keyMissing(ctx, node, 'student', 'StudentUniqueId');
  const facts = ctx.index.students.get(id);
  const ext: Record<string, unknown> = {};
  const sexColumn = text(node, 'BirthData/BirthSex') ? 'BirthData/BirthSex' : 'StudentEducationOrganizationAssociation/Sex';
  const sex = mapSex(ctx, node, 'student', id, sexColumn, text(node, 'BirthData/BirthSex') ?? facts?.sex, ext);
  if (facts?.gradeLevel) ext.edfiGradeLevel = facts.gradeLevel;
  const suffix = text(node, 'Name/GenerationCodeSuffix');
  if (suffix) ext.generationCodeSuffix = suffix;
  return record(
    'student',
    id,
    {
      id,
      studentNumber: id,
      ...personName(node),
      sex,
      birthDate: text(node, 'BirthData/BirthDate'),
      schoolId: facts?.schoolId,
      enrolmentDate: facts?.entryDate,
      enrolmentStatus: facts?.schoolId ? (facts.exitDate ? 'withdrawn' : 'enrolled') : undefined,
      extensions: Object.keys(ext).length ? ext : undefined,
    },
    node,
    ctx,
  );
}

function staff(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const id = text(node, 'StaffUniqueId');
  if (!id) return keyMissing(ctx, node, 'staff', 'StaffUniqueId');
  const facts = ctx.index.staff.get(id);
  const ext: Record<string, unknown> = {};
  const sex = mapSex(ctx, node, 'staff', id, 'Sex', text(node, 'Sex'), ext);
  if (facts?.classification) ext.edfiStaffClassification = facts.classification;
  const fte = facts?.fte === undefined ? undefined : Number(facts.fte);
  return record(
    'staff',
    id,
    {
      id,
      staffNumber: id,
      ...personName(node),
      sex,
      birthDate: text(node, 'BirthDate'),
      email: text(node, 'ElectronicMail/ElectronicMailAddress'),
      username: text(node, 'LoginId'),
      orgId: facts?.schoolId ?? facts?.employmentOrgId,
      position: facts?.position,
      employmentType: fte === undefined || Number.isNaN(fte) ? undefined : fte >= 1 ? 'full-time' : 'part-time',
      hireDate: facts?.hireDate,
      extensions: Object.keys(ext).length ? ext : undefined,
    },
    node,
    ctx,
  );
}

function section(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const identity = readSectionIdentity(node);
  const key = sectionKeyOf(identity);
  if (!key) return keyMissing(ctx, node, 'section', missingSectionParts(identity));
  const offering = offeringOf(identity)!;
  const courseId = ctx.index.offeringCourse.get(offering);
  if (!courseId) unresolved(ctx, node, 'section', key, 'courseId', 'CourseOfferingReference');
  // SectionName is optional in Ed-Fi (and absent from most Grand Bend sections), but title is required by the
  // contract: fall back to the offering's local title, then the course title, then the identifiers.
  const title =
    text(node, 'SectionName') ??
    ctx.index.offeringTitle.get(offering) ??
    (courseId ? ctx.index.courseTitle.get(courseId) : undefined) ??
    `${identity.localCourseCode} ${identity.sectionIdentifier}`;
  return record(
    'section',
    key,
    {
      id: key,
      code: identity.sectionIdentifier,
      title,
      courseId,
      termId: termOf(identity),
      orgId: identity.schoolId,
      location: findText(child(node, 'LocationReference'), 'ClassroomIdentificationCode'),
      teacherIds: ctx.index.sectionTeachers.get(key) ?? [],
    },
    node,
    ctx,
  );
}

function staffSection(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const staffId = findText(child(node, 'StaffReference'), 'StaffUniqueId');
  if (!staffId) return keyMissing(ctx, node, 'enrollment', 'StaffReference/StaffUniqueId');
  const identity = readSectionIdentity(child(node, 'SectionReference'));
  const sectionId = sectionKeyOf(identity);
  if (!sectionId) return keyMissing(ctx, node, 'enrollment', `SectionReference/${missingSectionParts(identity)}`);
  const key = joinKeys(keyOf('staff', staffId), sectionId);
  const position = text(node, 'ClassroomPosition');
  let role: { role: string; primary: boolean } | undefined;
  if (position) {
    role = classroomPositionTable.lookup(position);
    if (!role) unmapped(ctx, node, 'enrollment', key, 'role', 'ClassroomPosition', position);
  }
  return record(
    'enrollment',
    key,
    {
      id: key,
      sectionId,
      personId: staffId,
      role: role?.role ?? 'teacher',
      primary: role?.primary,
      beginDate: text(node, 'BeginDate'),
      endDate: text(node, 'EndDate'),
      extensions: position ? { edfiClassroomPosition: codeValue(position) } : undefined,
    },
    node,
    ctx,
  );
}

function studentSection(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const studentId = findText(child(node, 'StudentReference'), 'StudentUniqueId');
  if (!studentId) return keyMissing(ctx, node, 'enrollment', 'StudentReference/StudentUniqueId');
  const identity = readSectionIdentity(child(node, 'SectionReference'));
  const sectionId = sectionKeyOf(identity);
  if (!sectionId) return keyMissing(ctx, node, 'enrollment', `SectionReference/${missingSectionParts(identity)}`);
  const begin = text(node, 'BeginDate');
  if (!begin) return keyMissing(ctx, node, 'enrollment', 'BeginDate');
  const key = joinKeys(keyOf('student', studentId), sectionId, keyOf(begin));
  return record(
    'enrollment',
    key,
    { id: key, sectionId, personId: studentId, role: 'student', beginDate: begin, endDate: text(node, 'EndDate') },
    node,
    ctx,
  );
}

function studentGradebookEntry(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const ref = child(node, 'GradebookEntryReference');
  const ns = findText(ref, 'Namespace');
  const entryId = findText(ref, 'GradebookEntryIdentifier');
  const studentId = findText(child(node, 'StudentReference'), 'StudentUniqueId');
  if (!entryId) return keyMissing(ctx, node, 'result', 'GradebookEntryReference/GradebookEntryIdentifier');
  if (!ns) return keyMissing(ctx, node, 'result', 'GradebookEntryReference/Namespace');
  if (!studentId) return keyMissing(ctx, node, 'result', 'StudentReference/StudentUniqueId');
  const key = fitKey(keyOf('gradebook', ns, entryId, studentId));
  const entry = ctx.index.gradebookEntries.get(keyOf(ns, entryId));
  if (!entry) unresolved(ctx, node, 'result', key, 'sectionId', 'GradebookEntryReference');
  return record(
    'result',
    key,
    {
      id: key,
      studentId,
      sectionId: entry?.sectionKey,
      courseId: entry?.offering ? ctx.index.offeringCourse.get(entry.offering) : undefined,
      termId: entry?.termKey,
      title: entry?.title,
      score: text(node, 'NumericGradeEarned'),
      letterGrade: text(node, 'LetterGradeEarned'),
      date: text(node, 'DateFulfilled') ?? entry?.date,
    },
    node,
    ctx,
  );
}

function grade(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const assoc = child(node, 'StudentSectionAssociationReference');
  const studentId = findText(find(assoc, 'StudentReference'), 'StudentUniqueId');
  const identity = readSectionIdentity(find(assoc, 'SectionReference'));
  const sectionId = sectionKeyOf(identity);
  const begin = findText(find(assoc, 'StudentSectionAssociationIdentity') ?? assoc, 'BeginDate');
  const gp = child(node, 'GradingPeriodReference');
  const gpName = findText(gp, 'GradingPeriodName');
  const gpYear = findText(gp, 'SchoolYear');
  const gpSchool = findText(gp, 'SchoolId');
  const gradeType = text(node, 'GradeType');
  if (!studentId) return keyMissing(ctx, node, 'result', 'StudentSectionAssociationReference/StudentUniqueId');
  if (!sectionId) return keyMissing(ctx, node, 'result', `StudentSectionAssociationReference/SectionReference/${missingSectionParts(identity)}`);
  if (!begin) return keyMissing(ctx, node, 'result', 'StudentSectionAssociationReference/BeginDate');
  if (!gpName || !gpYear || !gpSchool) return keyMissing(ctx, node, 'result', 'GradingPeriodReference');
  if (!gradeType) return keyMissing(ctx, node, 'result', 'GradeType');
  const gpKey = gradingPeriodKey(gpSchool, normalizeSchoolYear(gpYear), gpName);
  // The section already names school and year: the grading period adds only its name.
  const key = joinKeys(keyOf('grade', studentId), sectionId, keyOf(begin, gpName, codeValue(gradeType)));
  return record(
    'result',
    key,
    {
      id: key,
      studentId,
      sectionId,
      courseId: ctx.index.offeringCourse.get(offeringOf(identity)!),
      termId: gpKey,
      title: codeValue(gradeType),
      score: text(node, 'NumericGradeEarned'),
      letterGrade: text(node, 'LetterGradeEarned'),
      date: text(node, 'CurrentGradeAsOfDate'),
    },
    node,
    ctx,
  );
}

function attendance(node: XNode, ctx: MapContext): SourceRecord | undefined {
  const event = child(node, 'AttendanceEvent') ?? node;
  const studentId = findText(child(node, 'StudentReference'), 'StudentUniqueId');
  const date = text(event, 'EventDate');
  const descriptor = text(event, 'AttendanceEventCategory');
  if (!studentId) return keyMissing(ctx, node, 'attendance', 'StudentReference/StudentUniqueId');
  if (!date) return keyMissing(ctx, node, 'attendance', 'AttendanceEvent/EventDate');
  if (!descriptor) return keyMissing(ctx, node, 'attendance', 'AttendanceEvent/AttendanceEventCategory');
  let sectionId: string | undefined;
  let key: string;
  if (node.name === 'StudentSectionAttendanceEvent') {
    const identity = readSectionIdentity(child(node, 'SectionReference'));
    sectionId = sectionKeyOf(identity);
    if (!sectionId) return keyMissing(ctx, node, 'attendance', `SectionReference/${missingSectionParts(identity)}`);
    key = joinKeys(keyOf(studentId), sectionId, keyOf(date, codeValue(descriptor)));
  } else {
    const schoolId = findText(child(node, 'SchoolReference'), 'SchoolId');
    if (!schoolId) return keyMissing(ctx, node, 'attendance', 'SchoolReference/SchoolId');
    key = fitKey(keyOf(studentId, 'school', schoolId, date, codeValue(descriptor)));
  }
  const category = attendanceCategoryTable.lookup(descriptor);
  if (!category) {
    // Without a category the record says nothing: report it and emit nothing rather than guess.
    unmapped(ctx, node, 'attendance', key, 'category', 'AttendanceEvent/AttendanceEventCategory', descriptor, true);
    return undefined;
  }
  return record(
    'attendance',
    key,
    {
      id: key,
      studentId,
      sectionId,
      date,
      category,
      note: text(event, 'AttendanceEventReason'),
      extensions: { edfiCategory: codeValue(descriptor) },
    },
    node,
    ctx,
  );
}

export interface ElementMapping {
  contract: string;
  map: Mapper;
}

export const ELEMENT_MAPPINGS: ReadonlyMap<string, ElementMapping> = new Map<string, ElementMapping>([
  ...[...organizationTypeByElement.keys()].map((name): [string, ElementMapping] => [name, { contract: 'organization', map: organization }]),
  ['Course', { contract: 'course', map: course }],
  ['Program', { contract: 'program', map: program }],
  ['Session', { contract: 'term', map: session }],
  ['GradingPeriod', { contract: 'term', map: gradingPeriod }],
  ['Student', { contract: 'student', map: student }],
  ['Staff', { contract: 'staff', map: staff }],
  ['Section', { contract: 'section', map: section }],
  ['StaffSectionAssociation', { contract: 'enrollment', map: staffSection }],
  ['StudentSectionAssociation', { contract: 'enrollment', map: studentSection }],
  ['StudentGradebookEntry', { contract: 'result', map: studentGradebookEntry }],
  ['Grade', { contract: 'result', map: grade }],
  ['StudentSectionAttendanceEvent', { contract: 'attendance', map: attendance }],
  ['StudentSchoolAttendanceEvent', { contract: 'attendance', map: attendance }],
]);

export const PRODUCED_CONTRACTS = ['organization', 'student', 'staff', 'course', 'section', 'term', 'enrollment', 'result', 'attendance', 'program'];
