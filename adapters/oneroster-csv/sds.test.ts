import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROLE_CONTRACT } from './tables.ts';
import { allKeys, byContract, csvRows, run, SDS_CLASSIC, SDS_V21 } from './testing.ts';

describe('SDS v2.1 real sample (examples/demo/data/sds-v2.1)', () => {
  it('yields one record per source row or distinct user, counted independently from the CSVs', async () => {
    const { records, problems } = await run(SDS_V21);
    const roles = csvRows(join(SDS_V21, 'roles.csv'));
    const users = csvRows(join(SDS_V21, 'users.csv'));
    const rolesOf = new Map<string, Set<string>>();
    for (const r of roles) rolesOf.set(r.userSourcedId!, (rolesOf.get(r.userSourcedId!) ?? new Set()).add(r.role!.toLowerCase()));
    const staff = users.filter((u) => [...(rolesOf.get(u.sourcedId!) ?? [])].some((r) => ROLE_CONTRACT[r] === 'staff')).length;
    const students = users.filter((u) => [...(rolesOf.get(u.sourcedId!) ?? [])].every((r) => ROLE_CONTRACT[r] === 'student') && rolesOf.has(u.sourcedId!)).length;
    expect(byContract(records)).toEqual({
      organization: csvRows(join(SDS_V21, 'orgs.csv')).length,
      term: csvRows(join(SDS_V21, 'academicSessions.csv')).length,
      course: csvRows(join(SDS_V21, 'courses.csv')).length,
      section: csvRows(join(SDS_V21, 'classes.csv')).length,
      student: students,
      staff,
      // users without any roles.csv row: the guardians/relatives of relationships.csv
      person: users.length - students - staff,
      enrollment: csvRows(join(SDS_V21, 'enrollments.csv')).length,
    });
    expect(problems).toEqual([]);
  });

  it('never maps the users.csv password into records, problems, checkpoints or run sources', async () => {
    const result = await run(SDS_V21);
    const passwords = new Set(csvRows(join(SDS_V21, 'users.csv')).map((u) => u.password!));
    const text = JSON.stringify(result.batches);
    for (const p of passwords) expect(text).not.toContain(p);
    expect(allKeys(result.batches).has('password')).toBe(false);
  });

  it('merges demographics (sex → GB/T 2261.1), userFlags and relationships into the person records', async () => {
    const { records } = await run(SDS_V21);
    const byKey = new Map(records.map((r) => [r.key, r]));
    const gb = { male: '1', female: '2' } as Record<string, string>;
    for (const d of csvRows(join(SDS_V21, 'demographics.csv'))) {
      const rec = byKey.get(d.userSourcedId!)!;
      expect(rec.data.sex).toBe(gb[d.sex!]);
      expect(rec.data.birthDate).toBe(d.birthDate);
    }
    for (const f of csvRows(join(SDS_V21, 'userFlags.csv'))) {
      expect((byKey.get(f.userSourcedId!)!.data.extensions as { flags: string[] }).flags).toContain(f.flag);
    }
    for (const rel of csvRows(join(SDS_V21, 'relationships.csv'))) {
      const other = byKey.get(rel.relationshipUserSourcedId!)!;
      expect(other.contract).toBe('person');
      expect((other.data.roles as { role: string }[]).map((r) => r.role)).toContain(rel.relationshipRole);
      expect((other.data.extensions as { relationshipOf: unknown[] }).relationshipOf).toContainEqual({ personId: rel.userSourcedId, role: rel.relationshipRole });
    }
  });

  it('treats every SDS file as the complete set', async () => {
    const { complete } = await run(SDS_V21);
    expect(complete.sort()).toEqual(['course', 'enrollment', 'organization', 'person', 'section', 'staff', 'student', 'term']);
  });

  it('gives SDS enrollments without sourcedId a stable key and maps professor to teacher', async () => {
    const first = (await run(SDS_V21)).records.filter((r) => r.contract === 'enrollment');
    const second = (await run(SDS_V21)).records.filter((r) => r.contract === 'enrollment');
    expect(first.map((r) => r.key)).toEqual(second.map((r) => r.key));
    expect(new Set(first.map((r) => r.key)).size).toBe(first.length);
    const professor = csvRows(join(SDS_V21, 'enrollments.csv')).find((e) => e.role === 'professor')!;
    const rec = first.find((r) => r.data.personId === professor.userSourcedId && r.data.sectionId === professor.classSourcedId)!;
    expect(rec.data.role).toBe('teacher');
  });
});

function usDate(value: string): string {
  const [m, d, y] = value.split('/');
  return `${y}-${m!.padStart(2, '0')}-${d!.padStart(2, '0')}`;
}

describe('SDS classic real sample (100 users)', () => {
  it('counts schools, sections, terms, courses, students, teachers and enrollments from the CSVs', async () => {
    const { records, problems } = await run(SDS_CLASSIC);
    const sections = csvRows(join(SDS_CLASSIC, 'Section.csv'));
    expect(byContract(records)).toEqual({
      organization: csvRows(join(SDS_CLASSIC, 'School.csv')).length,
      section: sections.length,
      term: new Set(sections.map((s) => s['Term SIS ID'])).size,
      course: new Set(sections.map((s) => s['Course SIS ID'])).size,
      student: csvRows(join(SDS_CLASSIC, 'Student.csv')).length,
      staff: csvRows(join(SDS_CLASSIC, 'Teacher.csv')).length,
      enrollment: csvRows(join(SDS_CLASSIC, 'StudentEnrollment.csv')).length + csvRows(join(SDS_CLASSIC, 'TeacherRoster.csv')).length,
    });
    expect(problems).toEqual([]);
  });

  it('reads US M/D/YYYY dates as calendar dates', async () => {
    const { records } = await run(SDS_CLASSIC);
    const byKey = new Map(records.filter((r) => r.contract === 'student').map((r) => [r.key, r]));
    for (const s of csvRows(join(SDS_CLASSIC, 'Student.csv'))) expect(byKey.get(s['SIS ID']!)!.data.birthDate).toBe(usDate(s.Birthdate!));
    const section = csvRows(join(SDS_CLASSIC, 'Section.csv'))[0]!;
    const term = records.find((r) => r.contract === 'term' && r.key === section['Term SIS ID'])!;
    expect(term.data.startDate).toBe(usDate(section['Term StartDate']!));
    expect(term.data.endDate).toBe(usDate(section['Term EndDate']!));
  });

  it('fills section teacherIds from TeacherRoster.csv', async () => {
    const { records } = await run(SDS_CLASSIC);
    for (const t of csvRows(join(SDS_CLASSIC, 'TeacherRoster.csv'))) {
      const section = records.find((r) => r.contract === 'section' && r.key === t['Section SIS ID'])!;
      expect(section.data.teacherIds).toContain(t['SIS ID']);
    }
  });

  it('never maps the Password column', async () => {
    const result = await run(SDS_CLASSIC);
    const text = JSON.stringify(result.batches);
    for (const file of ['Student.csv', 'Teacher.csv']) for (const row of csvRows(join(SDS_CLASSIC, file))) expect(text).not.toContain(row.Password);
    expect(allKeys(result.batches).has('password')).toBe(false);
  });

});
