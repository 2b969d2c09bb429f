// Mapping tables: OneRoster / SDS vocabularies → canonical contract values. Kept as data so a reviewer
// can check every crosswalk in one place (README.md documents each one and why).

export type PeopleContract = 'person' | 'student' | 'staff';

/** Role category: which canonical contract a OneRoster/SDS role belongs to. Keys are lower-case. */
export const ROLE_CONTRACT: Readonly<Record<string, PeopleContract>> = {
  student: 'student',
  // OneRoster 1.1/1.2 staff roles
  teacher: 'staff',
  administrator: 'staff',
  aide: 'staff',
  proctor: 'staff',
  // OneRoster 1.2 additions and SDS v2.1 roles
  districtadministrator: 'staff',
  siteadministrator: 'staff',
  systemadministrator: 'staff',
  principal: 'staff',
  professor: 'staff',
  staff: 'staff',
  faculty: 'staff',
  // people who are neither students nor staff
  parent: 'person',
  guardian: 'person',
  relative: 'person',
};

/** Canonical spelling of each role in `roles[].role` and `enrollment.role` (source casing normalised). */
export const ROLE_CANONICAL: Readonly<Record<string, string>> = {
  student: 'student',
  teacher: 'teacher',
  administrator: 'administrator',
  aide: 'aide',
  proctor: 'proctor',
  districtadministrator: 'districtAdministrator',
  siteadministrator: 'siteAdministrator',
  systemadministrator: 'systemAdministrator',
  principal: 'principal',
  // SDS v2.1 (higher education) calls the teacher of a class `professor`; the contract keeps one word.
  professor: 'teacher',
  staff: 'staff',
  faculty: 'teacher',
  parent: 'parent',
  guardian: 'guardian',
  relative: 'relative',
};

/**
 * Contract of a person holding several roles. Staff wins over student: in a vocational group the usual
 * mixed case is a teacher attending a training course (C19), whose 学籍 is not a real student record;
 * the student role stays visible in `roles[]`.
 */
export function contractForRoles(roleKeys: Iterable<string>): PeopleContract {
  let student = false;
  for (const r of roleKeys) {
    const c = ROLE_CONTRACT[r];
    if (c === 'staff') return 'staff';
    if (c === 'student') student = true;
  }
  return student ? 'student' : 'person';
}

/**
 * OneRoster sex → GB/T 2261.1 (contracts/code-tables/GB2261.1.csv): 0 未知的性别, 1 男, 2 女, 9 未说明的性别.
 * `unspecified` = nobody recorded it (not known, 0); `other` = recorded, but neither male nor female
 * (9, 未说明). Cross-checked with the Ed-Fi → OneRoster 1.2 SexDescriptor crosswalk
 * (Non-binary → other, Not Selected → unspecified).
 */
export const SEX_TO_GB2261: Readonly<Record<string, string>> = {
  male: '1',
  m: '1',
  female: '2',
  f: '2',
  other: '9',
  unspecified: '0',
  // already national codes / Chinese labels (a member exporting OneRoster from a Chinese SIS)
  '0': '0',
  '1': '1',
  '2': '2',
  '9': '9',
  男: '1',
  女: '2',
};

/** OneRoster / SDS org types → canonical organization.type. */
export const ORG_TYPE: Readonly<Record<string, string>> = {
  school: 'school',
  department: 'department',
  district: 'district',
  local: 'government',
  state: 'government',
  national: 'government',
  // SDS v2.1 higher-education types
  college: 'school',
  university: 'school',
  ministryofeducation: 'government',
  // vocational group vocabulary a member might export
  campus: 'campus',
  class: 'class',
  enterprise: 'enterprise',
  group: 'group',
};

/** OneRoster academicSession.type → canonical term.type. */
export const SESSION_TYPE: Readonly<Record<string, string>> = {
  schoolyear: 'schoolYear',
  semester: 'semester',
  term: 'term',
  gradingperiod: 'gradingPeriod',
};
