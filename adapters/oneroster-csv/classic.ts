// Microsoft SDS "classic" CSV format (School, Section, Student, Teacher, StudentEnrollment, TeacherRoster):
// headers with spaces, US dates M/D/YYYY, no sourcedIds on enrollments, terms and courses folded into
// Section.csv. Same canonical contracts as OneRoster.
import type { SourceRecord } from '../../core/plugins/types.ts';
import { parseCalendarDate } from '../../core/ingest/dates.ts';
import type { FileSpec } from './entities.ts';
import { record, set } from './entities.ts';
import type { RowContext } from './row.ts';
import { displayName, schoolYearOf } from './values.ts';

const US_DATE = ['M/D/YYYY'] as const;

/** US date column (M/D/YYYY) through core/ingest/dates.ts; problems carry its codes (DATE_FORMAT, DATE_INVALID). */
function usDate(ctx: RowContext, key: string, field: string): string | undefined {
  const v = ctx.get(key);
  if (v === '') return undefined;
  const r = parseCalendarDate(v, US_DATE);
  if (r.ok) return r.date;
  ctx.report(r.code, 'error', key, r.message, v, field);
  return undefined;
}

function classicStatus(ctx: RowContext): 'active' | 'inactive' | undefined {
  const v = ctx.get('status').toLowerCase();
  if (v === '') return undefined;
  if (v === 'active') return 'active';
  if (v === 'inactive') return 'inactive';
  ctx.report('ONEROSTER_STATUS_INVALID', 'warning', 'status', `状态只能是 Active 或 Inactive，已忽略 / status must be Active or Inactive, ignored`, v, 'status');
  return undefined;
}

export const CLASSIC_SCHOOL: FileSpec = {
  name: 'School',
  contracts: ['organization'],
  required: ['sis id', 'name'],
  // Principal name and e-mail are a person's data: the principal is referenced by id, not copied in clear.
  known: ['sis id', 'name', 'school number', 'address', 'city', 'state', 'zip', 'country', 'phone', 'principal sis id', 'principal name', 'principal secondary email'],
  fields: { id: ['sis id'], name: ['name'], code: ['school number'], address: ['address'], phone: ['phone'] },
  map(ctx, env) {
    ctx.contract = 'organization';
    const key = ctx.required('sis id', 'id');
    ctx.key = key || undefined;
    const data: Record<string, unknown> = { id: key, type: 'school' };
    const ext: Record<string, unknown> = {};
    set(data, 'name', ctx.required('name', 'name'));
    set(data, 'code', ctx.get('school number'));
    const zipState = [ctx.get('state'), ctx.get('zip')].filter((p) => p !== '').join(' ');
    const address = [ctx.get('address'), ctx.get('city'), zipState, ctx.get('country')].filter((p) => p !== '').join(', ');
    set(data, 'address', address);
    set(data, 'phone', ctx.get('phone'));
    const principal = ctx.get('principal sis id');
    if (principal !== '') ext.principalId = principal;
    return ctx.bad ? undefined : record(ctx, env, 'organization', key, data, ext);
  },
};

/** Section.csv also carries the term and the course of each section: each is emitted once per run. */
export function classicSection(teachers: ReadonlyMap<string, string[]>): FileSpec {
  const termsSeen = new Set<string>();
  const coursesSeen = new Set<string>();
  return {
    name: 'Section',
    contracts: ['section', 'term', 'course'],
    required: ['sis id', 'school sis id', 'section name'],
    known: ['sis id', 'school sis id', 'section name', 'section number', 'term sis id', 'term name', 'term startdate', 'term enddate', 'course sis id', 'course name', 'course number', 'course description', 'course subject', 'periods', 'status'],
    fields: {
      id: ['sis id'], orgId: ['school sis id'], title: ['section name'], code: ['section number'], termId: ['term sis id'], courseId: ['course sis id'],
      startDate: ['term startdate'], endDate: ['term enddate'], subject: ['course subject'], status: ['status'],
    },
    replay(ctx) {
      const termId = ctx.get('term sis id');
      if (termId !== '') termsSeen.add(termId);
      const courseId = ctx.get('course sis id');
      if (courseId !== '') coursesSeen.add(courseId);
    },
    map(ctx, env) {
      ctx.contract = 'section';
      const key = ctx.required('sis id', 'id');
      ctx.key = key || undefined;
      const orgId = ctx.required('school sis id', 'orgId');
      const out: SourceRecord[] = [];
      const termId = ctx.get('term sis id');
      if (termId !== '' && !termsSeen.has(termId)) {
        const start = usDate(ctx, 'term startdate', 'startDate');
        const end = usDate(ctx, 'term enddate', 'endDate');
        const term: Record<string, unknown> = { id: termId, type: 'term' };
        set(term, 'title', ctx.get('term name') || termId);
        set(term, 'startDate', start);
        set(term, 'endDate', end);
        set(term, 'schoolYear', schoolYearOf(start, ''));
        if (!ctx.bad) {
          termsSeen.add(termId);
          out.push({ contract: 'term', key: termId, op: 'upsert', data: term, location: { file: ctx.file, line: ctx.line }, columns: env.columns });
        }
      }
      const courseId = ctx.get('course sis id');
      if (courseId !== '' && !coursesSeen.has(courseId)) {
        const course: Record<string, unknown> = { id: courseId, orgId };
        set(course, 'title', ctx.get('course name') || courseId);
        set(course, 'code', ctx.get('course number'));
        set(course, 'subject', ctx.get('course subject'));
        const description = ctx.get('course description');
        if (description !== '') course.extensions = { description };
        coursesSeen.add(courseId);
        out.push({ contract: 'course', key: courseId, op: 'upsert', data: course, location: { file: ctx.file, line: ctx.line }, columns: env.columns });
      }
      const data: Record<string, unknown> = { id: key, orgId };
      const ext: Record<string, unknown> = {};
      set(data, 'title', ctx.get('section name'));
      set(data, 'code', ctx.get('section number'));
      set(data, 'termId', termId);
      set(data, 'courseId', courseId);
      data.teacherIds = [...(teachers.get(key) ?? [])];
      const periods = ctx.get('periods');
      if (periods !== '') ext.periods = periods;
      const status = classicStatus(ctx);
      if (status !== undefined) data.status = status;
      if (ctx.bad) return undefined;
      out.push(record(ctx, env, 'section', key, data, ext));
      return out;
    },
  };
}

function classicPerson(ctx: RowContext, contract: 'student' | 'staff'): Record<string, unknown> {
  const key = ctx.required('sis id', 'id');
  ctx.key = key || undefined;
  const orgId = ctx.get('school sis id');
  const given = ctx.get('first name');
  const family = ctx.get('last name');
  const middle = ctx.get('middle name');
  const data: Record<string, unknown> = { id: key };
  set(data, 'name', displayName(given, family, middle));
  set(data, 'familyName', family);
  set(data, 'givenName', given);
  set(data, 'username', ctx.get('username'));
  set(data, 'email', ctx.get('secondary email'));
  data.orgIds = orgId === '' ? [] : [orgId];
  data.roles = [orgId === '' ? { role: contract === 'student' ? 'student' : 'teacher' } : { role: contract === 'student' ? 'student' : 'teacher', orgId, primary: true }];
  const status = classicStatus(ctx);
  if (status !== undefined) data.status = status;
  return data;
}

export const CLASSIC_STUDENT: FileSpec = {
  name: 'Student',
  contracts: ['student'],
  required: ['sis id'],
  known: ['sis id', 'school sis id', 'first name', 'last name', 'middle name', 'username', 'secondary email', 'student number', 'grade', 'status', 'birthdate', 'graduation year'],
  fields: {
    id: ['sis id'], schoolId: ['school sis id'], givenName: ['first name'], familyName: ['last name'], name: ['first name'], username: ['username'],
    email: ['secondary email'], studentNumber: ['student number'], birthDate: ['birthdate'], status: ['status'],
  },
  map(ctx, env) {
    ctx.contract = 'student';
    const data = classicPerson(ctx, 'student');
    const key = data.id as string;
    const ext: Record<string, unknown> = {};
    set(data, 'studentNumber', ctx.get('student number'));
    set(data, 'schoolId', ctx.get('school sis id'));
    set(data, 'birthDate', usDate(ctx, 'birthdate', 'birthDate'));
    const grade = ctx.get('grade');
    if (grade !== '') ext.grades = [grade];
    const graduation = ctx.get('graduation year');
    if (graduation !== '') ext.graduationYear = graduation;
    const middle = ctx.get('middle name');
    if (middle !== '') ext.middleName = middle;
    return ctx.bad ? undefined : record(ctx, env, 'student', key, data, ext);
  },
};

export const CLASSIC_TEACHER: FileSpec = {
  name: 'Teacher',
  contracts: ['staff'],
  required: ['sis id'],
  known: ['sis id', 'school sis id', 'first name', 'last name', 'middle name', 'username', 'secondary email', 'teacher number', 'status', 'title'],
  fields: {
    id: ['sis id'], orgId: ['school sis id'], givenName: ['first name'], familyName: ['last name'], name: ['first name'], username: ['username'],
    email: ['secondary email'], staffNumber: ['teacher number'], title: ['title'], status: ['status'],
  },
  map(ctx, env) {
    ctx.contract = 'staff';
    const data = classicPerson(ctx, 'staff');
    const key = data.id as string;
    const ext: Record<string, unknown> = {};
    set(data, 'staffNumber', ctx.get('teacher number'));
    set(data, 'orgId', ctx.get('school sis id'));
    set(data, 'title', ctx.get('title'));
    const middle = ctx.get('middle name');
    if (middle !== '') ext.middleName = middle;
    return ctx.bad ? undefined : record(ctx, env, 'staff', key, data, ext);
  },
};

function classicRoster(name: string, role: 'student' | 'teacher'): FileSpec {
  return {
    name,
    contracts: ['enrollment'],
    required: ['section sis id', 'sis id'],
    known: ['section sis id', 'sis id'],
    fields: { sectionId: ['section sis id'], personId: ['sis id'] },
    map(ctx, env) {
      ctx.contract = 'enrollment';
      const sectionId = ctx.required('section sis id', 'sectionId');
      const personId = ctx.required('sis id', 'personId');
      if (ctx.bad) return undefined;
      // No sourcedId in the classic format: the (section, person, role) triple is the natural key.
      const key = `${sectionId}:${personId}:${role}`;
      ctx.key = key;
      return record(ctx, env, 'enrollment', key, { id: key, sectionId, personId, role }, {});
    },
  };
}

export const CLASSIC_STUDENT_ENROLLMENT = classicRoster('StudentEnrollment', 'student');
export const CLASSIC_TEACHER_ROSTER = classicRoster('TeacherRoster', 'teacher');
