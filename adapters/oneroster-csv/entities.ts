// Row mappers for the files that map one row → one record: orgs, academicSessions, courses, classes,
// enrollments. One mapper serves OneRoster 1.1, 1.2 and SDS v2.1: the dialects differ in a few column
// names (listed as alternatives) and in whether status/dateLastModified rules apply (`mode`).
import type { SourceRecord } from '../../core/plugins/types.ts';
import { addExtras, splitList, type Header, type RowContext } from './row.ts';
import { ORG_TYPE, ROLE_CANONICAL, SESSION_TYPE } from './tables.ts';
import { bool, isoDate, rowStatus, schoolYearOf, type FileMode, type RowStatus } from './values.ts';

export interface FileEnv {
  /** OneRoster file mode; undefined = SDS (no status columns, the file is the complete set). */
  mode?: FileMode;
  extras: [string, string][];
  /** contract field → source column, shared by every record of the file */
  columns: Record<string, string>;
}

export interface FileSpec {
  /** Logical file name (OneRoster file stem). */
  name: string;
  /** Contracts whose complete set a bulk file delivers. */
  contracts: string[];
  /** Header keys that must be present; an inner array lists alternatives. */
  required: (string | string[])[];
  /** Header keys the mapper reads; other columns go to extensions. */
  known: string[];
  /** contract field → header key alternatives, for SourceRecord.columns. */
  fields: Record<string, string[]>;
  /** Records of one row (a SDS classic Section row also yields its term and course). */
  map(ctx: RowContext, env: FileEnv): SourceRecord | SourceRecord[] | undefined;
  /** Rows before a resume checkpoint: rebuild per-file state (what was already emitted) without emitting. */
  replay?(ctx: RowContext): void;
}

const STATUS_KEYS = ['sourcedid', 'status', 'datelastmodified'];

export function fileEnv(spec: FileSpec, header: Header, mode: FileMode | undefined): FileEnv {
  const columns: Record<string, string> = {};
  for (const [field, keys] of Object.entries(spec.fields)) {
    const k = keys.find((key) => header.has(key));
    if (k !== undefined) columns[field] = header.name(k);
  }
  return { mode, extras: header.extras(new Set(spec.known)), columns };
}

/** Missing required header keys (first alternative named). */
export function missingColumns(spec: FileSpec, header: Header): string[] {
  const missing: string[] = [];
  for (const r of spec.required) {
    const alts = typeof r === 'string' ? [r] : r;
    if (!alts.some((k) => header.has(k))) missing.push(alts[0]!);
  }
  return missing;
}

/** Shared start of a row: key, status rules, delete shortcut. Returns undefined when the row is done. */
function begin(ctx: RowContext, env: FileEnv, contract: string, key: string): RowStatus & { record?: SourceRecord } {
  ctx.key = key === '' ? undefined : key;
  const st = env.mode === undefined ? { op: 'upsert' as const } : rowStatus(ctx, env.mode);
  if (st.op === 'delete' && !ctx.bad) {
    return { op: 'delete', record: { contract, key, op: 'delete', data: { id: key }, location: { file: ctx.file, line: ctx.line }, columns: env.columns } };
  }
  return st;
}

export function record(ctx: RowContext, env: FileEnv, contract: string, key: string, data: Record<string, unknown>, ext: Record<string, unknown>): SourceRecord {
  addExtras(ctx, env.extras, ext);
  for (const _ in ext) {
    data.extensions = ext;
    break;
  }
  return { contract, key, op: 'upsert', data, location: { file: ctx.file, line: ctx.line }, columns: env.columns };
}

/** status and dateLastModified of a delta row. */
function stamp(data: Record<string, unknown>, st: RowStatus): void {
  if (st.status !== undefined) data.status = st.status;
  if (st.modified !== undefined) data.dateLastModified = st.modified;
}

export function set(data: Record<string, unknown>, field: string, value: string | undefined): void {
  if (value !== undefined && value !== '') data[field] = value;
}

export const ORGS: FileSpec = {
  name: 'orgs',
  contracts: ['organization'],
  required: ['sourcedid', 'name'],
  known: [...STATUS_KEYS, 'name', 'type', 'identifier', 'parentsourcedid'],
  fields: { id: ['sourcedid'], name: ['name'], type: ['type'], code: ['identifier'], parentId: ['parentsourcedid'] },
  map(ctx, env) {
    ctx.contract = 'organization';
    const key = ctx.required('sourcedid', 'id');
    const st = begin(ctx, env, 'organization', key);
    if (st.record) return st.record;
    const data: Record<string, unknown> = { id: key };
    const ext: Record<string, unknown> = {};
    set(data, 'name', ctx.required('name', 'name'));
    const rawType = ctx.get('type');
    if (rawType !== '') {
      const type = ORG_TYPE[rawType.toLowerCase()];
      if (type === undefined) {
        ctx.report('ONEROSTER_TYPE_UNKNOWN', 'warning', 'type', `机构类型无法识别，记为 other / unknown org type, mapped to other`, rawType, 'type');
      }
      data.type = type ?? 'other';
      // The source vocabulary is finer than ours (college, ministryOfEducation, local/state/national).
      if (type !== rawType) ext.oneRosterType = rawType;
    }
    set(data, 'code', ctx.get('identifier'));
    set(data, 'parentId', ctx.get('parentsourcedid'));
    stamp(data, st);
    return ctx.bad ? undefined : record(ctx, env, 'organization', key, data, ext);
  },
};

export const ACADEMIC_SESSIONS: FileSpec = {
  name: 'academicSessions',
  contracts: ['term'],
  required: ['sourcedid', 'title'],
  known: [...STATUS_KEYS, 'title', 'type', 'startdate', 'enddate', 'parentsourcedid', 'schoolyear'],
  fields: { id: ['sourcedid'], title: ['title'], type: ['type'], startDate: ['startdate'], endDate: ['enddate'], parentId: ['parentsourcedid'], schoolYear: ['schoolyear', 'startdate'] },
  map(ctx, env) {
    ctx.contract = 'term';
    const key = ctx.required('sourcedid', 'id');
    const st = begin(ctx, env, 'term', key);
    if (st.record) return st.record;
    const data: Record<string, unknown> = { id: key };
    const ext: Record<string, unknown> = {};
    set(data, 'title', ctx.required('title', 'title'));
    const rawType = ctx.get('type');
    if (rawType !== '') {
      const type = SESSION_TYPE[rawType.toLowerCase()];
      if (type === undefined) ctx.report('ONEROSTER_TYPE_UNKNOWN', 'warning', 'type', `学期类型无法识别，记为 term / unknown session type, mapped to term`, rawType, 'type');
      data.type = type ?? 'term';
    }
    const start = isoDate(ctx, 'startdate', 'startDate');
    const end = isoDate(ctx, 'enddate', 'endDate');
    set(data, 'startDate', start);
    set(data, 'endDate', end);
    const year = ctx.get('schoolyear');
    set(data, 'schoolYear', schoolYearOf(start, year));
    if (year !== '') ext.oneRosterSchoolYear = year;
    set(data, 'parentId', ctx.get('parentsourcedid'));
    stamp(data, st);
    return ctx.bad ? undefined : record(ctx, env, 'term', key, data, ext);
  },
};

export const COURSES: FileSpec = {
  name: 'courses',
  contracts: ['course'],
  required: ['sourcedid', 'title'],
  known: [...STATUS_KEYS, 'title', 'coursecode', 'code', 'orgsourcedid', 'subjects', 'subject', 'schoolyearsourcedid', 'grades', 'grade', 'subjectcodes'],
  fields: { id: ['sourcedid'], title: ['title'], code: ['coursecode', 'code'], orgId: ['orgsourcedid'], subject: ['subjects', 'subject'] },
  map(ctx, env) {
    ctx.contract = 'course';
    const key = ctx.required('sourcedid', 'id');
    const st = begin(ctx, env, 'course', key);
    if (st.record) return st.record;
    const data: Record<string, unknown> = { id: key };
    const ext: Record<string, unknown> = {};
    set(data, 'title', ctx.required('title', 'title'));
    set(data, 'code', ctx.pick('coursecode', 'code'));
    set(data, 'orgId', ctx.get('orgsourcedid'));
    set(data, 'subject', ctx.pick('subjects', 'subject'));
    const year = ctx.get('schoolyearsourcedid');
    if (year !== '') ext.schoolYearId = year;
    const grades = splitList(ctx.pick('grades', 'grade'));
    if (grades.length > 0) ext.grades = grades;
    const codes = splitList(ctx.get('subjectcodes'));
    if (codes.length > 0) ext.subjectCodes = codes;
    stamp(data, st);
    return ctx.bad ? undefined : record(ctx, env, 'course', key, data, ext);
  },
};

export const CLASSES: FileSpec = {
  name: 'classes',
  contracts: ['section'],
  required: ['sourcedid', 'title'],
  known: [...STATUS_KEYS, 'title', 'grades', 'coursesourcedid', 'classcode', 'classtype', 'location', 'schoolsourcedid', 'orgsourcedid', 'termsourcedids', 'sessionsourcedids', 'subjects', 'subjectcodes', 'periods'],
  fields: { id: ['sourcedid'], title: ['title'], courseId: ['coursesourcedid'], code: ['classcode'], orgId: ['schoolsourcedid', 'orgsourcedid'], termId: ['termsourcedids', 'sessionsourcedids'], location: ['location'] },
  map(ctx, env) {
    ctx.contract = 'section';
    const key = ctx.required('sourcedid', 'id');
    const st = begin(ctx, env, 'section', key);
    if (st.record) return st.record;
    const data: Record<string, unknown> = { id: key };
    const ext: Record<string, unknown> = {};
    set(data, 'title', ctx.required('title', 'title'));
    set(data, 'code', ctx.get('classcode'));
    set(data, 'courseId', ctx.get('coursesourcedid'));
    const terms = splitList(ctx.pick('termsourcedids', 'sessionsourcedids'));
    set(data, 'termId', terms[0]);
    // A class may span several sessions; the contract has one termId, the full list stays visible.
    if (terms.length > 1) ext.termIds = terms;
    set(data, 'orgId', ctx.pick('schoolsourcedid', 'orgsourcedid'));
    set(data, 'location', ctx.get('location'));
    data.teacherIds = [];
    const type = ctx.get('classtype');
    if (type !== '') ext.classType = type;
    for (const [k, name] of [['grades', 'grades'], ['subjects', 'subjects'], ['subjectcodes', 'subjectCodes'], ['periods', 'periods']] as const) {
      const list = splitList(ctx.get(k));
      if (list.length > 0) ext[name] = list;
    }
    stamp(data, st);
    return ctx.bad ? undefined : record(ctx, env, 'section', key, data, ext);
  },
};

const ENROLLMENT_ROLES = new Set(['student', 'teacher', 'aide', 'administrator', 'proctor', 'mentor']);

/** Canonical enrollment role; a role the enrollment contract does not know rejects the row (ONEROSTER_ROLE_UNKNOWN). */
export function enrollmentRole(ctx: RowContext, key: string): string {
  const raw = ctx.get(key);
  const canonical = ROLE_CANONICAL[raw.toLowerCase()];
  if (canonical !== undefined && ENROLLMENT_ROLES.has(canonical)) return canonical;
  if (raw !== '') ctx.report('ONEROSTER_ROLE_UNKNOWN', 'error', key, `选课角色无法识别 / unknown enrollment role`, raw, 'role');
  return raw;
}

export const ENROLLMENTS: FileSpec = {
  name: 'enrollments',
  contracts: ['enrollment'],
  required: ['classsourcedid', 'usersourcedid', 'role'],
  known: [...STATUS_KEYS, 'classsourcedid', 'schoolsourcedid', 'usersourcedid', 'role', 'primary', 'begindate', 'enddate'],
  fields: { id: ['sourcedid'], sectionId: ['classsourcedid'], personId: ['usersourcedid'], role: ['role'], primary: ['primary'], beginDate: ['begindate'], endDate: ['enddate'] },
  map(ctx, env) {
    ctx.contract = 'enrollment';
    const hasId = ctx.header.has('sourcedid');
    let key = hasId ? ctx.required('sourcedid', 'id') : '';
    const sectionId = hasId ? ctx.get('classsourcedid') : ctx.required('classsourcedid', 'sectionId');
    const personId = hasId ? ctx.get('usersourcedid') : ctx.required('usersourcedid', 'personId');
    // SDS v2.1 enrollments have no sourcedId: the (class, user, role) triple is the natural key.
    if (!hasId) key = `${sectionId}:${personId}:${ctx.get('role').toLowerCase()}`;
    const st = begin(ctx, env, 'enrollment', key);
    if (st.record) return st.record;
    if (hasId) {
      if (sectionId === '') ctx.required('classsourcedid', 'sectionId');
      if (personId === '') ctx.required('usersourcedid', 'personId');
    }
    const data: Record<string, unknown> = { id: key, sectionId, personId };
    const ext: Record<string, unknown> = {};
    const roleRaw = ctx.required('role', 'role');
    if (roleRaw !== '') {
      const role = enrollmentRole(ctx, 'role');
      data.role = role;
      if (role.toLowerCase() !== roleRaw.toLowerCase()) ext.sourceRole = roleRaw;
    }
    const primary = bool(ctx, 'primary', 'primary');
    if (primary !== undefined) data.primary = primary;
    set(data, 'beginDate', isoDate(ctx, 'begindate', 'beginDate'));
    set(data, 'endDate', isoDate(ctx, 'enddate', 'endDate'));
    const school = ctx.get('schoolsourcedid');
    if (school !== '') ext.schoolId = school;
    stamp(data, st);
    return ctx.bad ? undefined : record(ctx, env, 'enrollment', key, data, ext);
  },
};
