import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import iconv from 'iconv-lite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContracts } from '../../core/contracts/registry.ts';
import type { ContractRegistry } from '../../core/contracts/types.ts';
import type { Problem } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { PluginInstance, ReadBatch, SourceRecord } from '../../core/plugins/types.ts';
import createEdfiXmlAdapter, { type EdfiXmlConfig } from './index.ts';
import type { EdfiSourceFileInfo } from './src/read.ts';

const here = dirname(fileURLToPath(import.meta.url));
const SAMPLE = resolve(here, '..', '..', 'examples', 'demo', 'data', 'edfi-grand-bend');
const FIXTURES = resolve(here, 'fixtures');

let registry: ContractRegistry;
beforeAll(() => {
  registry = loadContracts();
});

async function adapter(config: EdfiXmlConfig): Promise<PluginInstance> {
  return createEdfiXmlAdapter({ instance: 'edfi', member: '4100000001', config, baseDir: here, dataDir: tmpdir(), contracts: registry, logger: silentLogger });
}

interface Run {
  batches: ReadBatch[];
  records: SourceRecord[];
  problems: Problem[];
  sources: EdfiSourceFileInfo[];
}

async function run(config: EdfiXmlConfig, options: { mode?: 'full' | 'delta'; checkpoint?: unknown; stopAfter?: number } = {}): Promise<Run> {
  const instance = await adapter(config);
  const out: Run = { batches: [], records: [], problems: [], sources: [] };
  for await (const batch of instance.read!({ mode: options.mode ?? 'full', checkpoint: options.checkpoint, signal: new AbortController().signal })) {
    out.batches.push(batch);
    out.records.push(...batch.records);
    out.problems.push(...batch.problems);
    out.sources.push(...((batch.sources ?? []) as EdfiSourceFileInfo[]));
    if (options.stopAfter !== undefined && out.batches.length >= options.stopAfter) break;
  }
  return out;
}

function byContract(records: SourceRecord[], contract: string): SourceRecord[] {
  return records.filter((r) => r.contract === contract);
}

/** Independent count: top-level elements are the tab-indented children of the interchange root in the sample. */
function countTopLevel(file: string, ...names: string[]): number {
  const source = readFileSync(resolve(SAMPLE, file), 'utf8');
  return source.match(new RegExp(`^\\t<(?:${names.join('|')})[\\s>]`, 'gm'))?.length ?? 0;
}

describe('edfi-xml adapter on the Grand Bend sample', () => {
  let full: Run;
  beforeAll(async () => {
    full = await run({ path: SAMPLE });
  });

  it('emits exactly one record per mapped top-level element, counted independently from the files', () => {
    const expected: Record<string, number> = {
      student: countTopLevel('Student.xml', 'Student'),
      staff: countTopLevel('StaffAssociation.xml', 'Staff'),
      section: countTopLevel('MasterSchedule.xml', 'Section'),
      course: countTopLevel('EducationOrganization.xml', 'Course'),
      program: countTopLevel('EducationOrganization.xml', 'Program'),
      organization: countTopLevel(
        'EducationOrganization.xml',
        'StateEducationAgency', 'EducationServiceCenter', 'LocalEducationAgency', 'School', 'PostSecondaryInstitution',
        'OrganizationDepartment', 'CommunityOrganization', 'CommunityProvider',
      ),
      term: countTopLevel('EducationOrgCalendar.xml', 'Session', 'GradingPeriod'),
      enrollment: countTopLevel('StaffAssociation.xml', 'StaffSectionAssociation'),
      result: countTopLevel('StudentGradebook.xml', 'StudentGradebookEntry'),
      attendance: countTopLevel('StudentSectionAttendance-Tardy.xml', 'StudentSectionAttendanceEvent'),
    };
    // The figures SOURCES.md states for the sample, so a regex that matched nothing cannot pass silently.
    expect(expected).toMatchObject({ student: 960, staff: 68, section: 532, course: 84 });
    const actual: Record<string, number> = {};
    for (const r of full.records) actual[r.contract] = (actual[r.contract] ?? 0) + 1;
    expect(actual).toEqual(expected);
    expect(full.problems).toEqual([]);
  });

  it('emits records that all pass their contract schema', () => {
    const failures: string[] = [];
    for (const r of full.records) {
      const result = registry.validate(r.contract, r.data);
      if (!result.ok) failures.push(`${r.contract} ${r.key}: ${result.errors.map((e) => `${e.code} ${e.field}`).join(', ')}`);
    }
    expect(failures).toEqual([]);
  });

  it('keys every record by a unique string equal to data.id', () => {
    const seen = new Set<string>();
    for (const r of full.records) {
      expect(typeof r.key).toBe('string');
      expect(r.data.id).toBe(r.key);
      expect(r.op).toBe('upsert');
      const unique = `${r.contract}\u0000${r.key}`;
      expect(seen.has(unique)).toBe(false);
      seen.add(unique);
    }
  });

  it('links sections, enrollments, results, attendance, terms and organizations to records of the same run', () => {
    const ids = (contract: string) => new Set(byContract(full.records, contract).map((r) => r.key));
    const [courses, terms, sections, staff, students, orgs] = ['course', 'term', 'section', 'staff', 'student', 'organization'].map(ids) as Set<string>[];
    for (const s of byContract(full.records, 'section')) {
      expect(courses!.has(s.data.courseId as string)).toBe(true);
      expect(terms!.has(s.data.termId as string)).toBe(true);
      for (const t of s.data.teacherIds as string[]) expect(staff!.has(t)).toBe(true);
    }
    expect(byContract(full.records, 'section').some((s) => (s.data.teacherIds as string[]).length > 0)).toBe(true);
    for (const e of byContract(full.records, 'enrollment')) {
      expect(sections!.has(e.data.sectionId as string)).toBe(true);
      expect(staff!.has(e.data.personId as string)).toBe(true);
    }
    for (const r of byContract(full.records, 'result')) {
      expect(students!.has(r.data.studentId as string)).toBe(true);
      expect(sections!.has(r.data.sectionId as string)).toBe(true);
      expect(courses!.has(r.data.courseId as string)).toBe(true);
    }
    for (const a of byContract(full.records, 'attendance')) {
      expect(students!.has(a.data.studentId as string)).toBe(true);
      expect(sections!.has(a.data.sectionId as string)).toBe(true);
      expect(a.data.category).toBe('tardy');
    }
    for (const t of byContract(full.records, 'term')) {
      if (t.data.type === 'gradingPeriod') expect(terms!.has(t.data.parentId as string)).toBe(true);
    }
    for (const o of byContract(full.records, 'organization')) {
      if (o.data.parentId !== undefined) expect(orgs!.has(o.data.parentId as string)).toBe(true);
    }
  });

  it('maps Ed-Fi sex descriptors to GB/T 2261.1 codes', () => {
    const staffXml = readFileSync(resolve(SAMPLE, 'StaffAssociation.xml'), 'utf8');
    const studentXml = readFileSync(resolve(SAMPLE, 'Student.xml'), 'utf8');
    const count = (xml: string, re: RegExp) => xml.match(re)?.length ?? 0;
    const staffRecords = byContract(full.records, 'staff');
    expect(staffRecords.filter((r) => r.data.sex === '1').length).toBe(count(staffXml, /<Sex>uri:\/\/ed-fi\.org\/SexDescriptor#Male<\/Sex>/g));
    expect(staffRecords.filter((r) => r.data.sex === '2').length).toBe(count(staffXml, /<Sex>uri:\/\/ed-fi\.org\/SexDescriptor#Female<\/Sex>/g));
    const students = byContract(full.records, 'student');
    expect(students.filter((r) => r.data.sex === '2').length).toBe(count(studentXml, /<BirthSex>uri:\/\/ed-fi\.org\/SexDescriptor#Female</g));
    expect(students.filter((r) => r.data.sex === '1').length).toBe(count(studentXml, /<BirthSex>uri:\/\/ed-fi\.org\/SexDescriptor#Male</g));
  });

  it('counts elements outside the v1 contracts in the sources info instead of reporting each one', () => {
    const assessment = full.sources.find((s) => s.file === 'StudentAssessment-SAT.xml')!;
    expect(assessment.skipped.StudentAssessment).toBe(countTopLevel('StudentAssessment-SAT.xml', 'StudentAssessment'));
    const intervention = full.sources.find((s) => s.file === 'StudentIntervention.xml')!;
    expect(intervention.skipped.StudentInterventionAssociation).toBe(countTopLevel('StudentIntervention.xml', 'StudentInterventionAssociation'));
    const schedule = full.sources.find((s) => s.file === 'MasterSchedule.xml')!;
    expect(schedule.joined.CourseOffering).toBe(countTopLevel('MasterSchedule.xml', 'CourseOffering'));
    expect(schedule.rows).toBe(countTopLevel('MasterSchedule.xml', '[A-Za-z]+'));
    expect(full.sources.map((s) => s.file).sort()).toEqual(
      ['EducationOrgCalendar.xml', 'EducationOrganization.xml', 'MasterSchedule.xml', 'StaffAssociation.xml', 'Student.xml', 'StudentAssessment-SAT.xml', 'StudentGradebook.xml', 'StudentIntervention.xml', 'StudentSectionAttendance-Tardy.xml'],
    );
  });

  it('declares every produced contract complete at the end of a clean full run', () => {
    const last = full.batches.at(-1)!;
    expect(last.complete).toEqual(['attendance', 'course', 'enrollment', 'organization', 'program', 'result', 'section', 'staff', 'student', 'term']);
    expect(full.batches.slice(0, -1).every((b) => b.complete === undefined)).toBe(true);
  });
});

describe('edfi-xml batching and checkpoints', () => {
  it('cuts batches at batchSize records', async () => {
    const result = await run({ path: SAMPLE, batchSize: 250 });
    expect(result.batches.length).toBeGreaterThan(2);
    for (const b of result.batches) expect(b.records.length).toBeLessThanOrEqual(250);
    expect(result.batches.slice(0, -1).every((b) => b.records.length === 250)).toBe(true);
  });

  it('resumes from the checkpoint of an interrupted run without losing or repeating a record', async () => {
    const reference = await run({ path: SAMPLE, batchSize: 97 });
    const firstPart = await run({ path: SAMPLE, batchSize: 97 }, { stopAfter: 9 });
    const checkpoint = JSON.parse(JSON.stringify(firstPart.batches.at(-1)!.checkpoint)) as { file: string; element: number };
    expect(checkpoint.file).toBeTypeOf('string');
    expect(checkpoint.element).toBeGreaterThan(0);
    const rest = await run({ path: SAMPLE, batchSize: 97 }, { checkpoint });
    const keys = (records: SourceRecord[]) => records.map((r) => `${r.contract}|${r.key}`);
    expect([...keys(firstPart.records), ...keys(rest.records)]).toEqual(keys(reference.records));
    expect(rest.batches.at(-1)!.complete).toEqual(reference.batches.at(-1)!.complete);
  });

  it('declares nothing complete in delta mode', async () => {
    const result = await run({ path: SAMPLE }, { mode: 'delta' });
    expect(result.batches.every((b) => b.complete === undefined)).toBe(true);
  });
});

describe('edfi-xml refusals and faults', () => {
  const canary = '/tmp/edfi-xxe-canary.txt';
  const secret = 'CANARY-7f3a-should-never-be-read';
  beforeAll(() => writeFileSync(canary, secret));
  afterAll(() => rmSync(canary, { force: true }));

  it('refuses a file with a DOCTYPE and never expands its external entity', async () => {
    const result = await run({ path: resolve(FIXTURES, 'doctype') });
    expect(result.records).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ code: 'XML_DOCTYPE_REFUSED', file: 'Student.xml', severity: 'error' });
    expect(result.problems[0]!.line).toBeGreaterThan(0);
    expect(JSON.stringify(result.batches)).not.toContain(secret);
    expect(result.batches.at(-1)!.complete).toEqual([]);
  });

  it('reports a truncated file as XML_MALFORMED with line and column and keeps the elements before the fault', async () => {
    const result = await run({ path: resolve(FIXTURES, 'truncated') });
    expect(result.records.map((r) => r.key)).toEqual(['900001', '900002']);
    expect(result.records[0]!.data).toMatchObject({ name: 'Ada Lovelace', familyName: 'Lovelace', givenName: 'Ada', sex: '2', birthDate: '2008-01-01' });
    const lines = readFileSync(resolve(FIXTURES, 'truncated', 'Student.xml'), 'utf8').split('\n');
    expect(result.problems).toEqual([expect.objectContaining({ code: 'XML_MALFORMED', file: 'Student.xml', line: lines.length, column: lines.at(-1)!.length + 1 })]);
    // A broken Student.xml must not deactivate the students it did not deliver.
    expect(result.batches.at(-1)!.complete).toEqual([]);
  });

  it('reports bad nesting as XML_MALFORMED at the wrong close tag and keeps the earlier elements', async () => {
    const result = await run({ path: resolve(FIXTURES, 'bad-nesting') });
    expect(result.records.map((r) => r.key)).toEqual(['900001']);
    const lines = readFileSync(resolve(FIXTURES, 'bad-nesting', 'Student.xml'), 'utf8').split('\n');
    const badLine = lines.findIndex((l) => l.includes('Alan</LastSurname>')) + 1;
    expect(result.problems).toEqual([expect.objectContaining({ code: 'XML_MALFORMED', file: 'Student.xml', line: badLine })]);
    expect(result.problems[0]!.column).toBeGreaterThan(0);
  });

  it('reports an element without its natural key as EDFI_KEY_MISSING at its line and goes on', async () => {
    const result = await run({ path: resolve(FIXTURES, 'missing-key') });
    expect(result.records.map((r) => r.key)).toEqual(['900001', '900003']);
    const studentLines = readFileSync(resolve(FIXTURES, 'missing-key', 'Student.xml'), 'utf8').split('\n');
    // The problem points at the element's start tag: the line above the blank key (0-based index = 1-based line above).
    const blankStudent = studentLines.findIndex((l) => l.includes('<StudentUniqueId>   <'));
    expect(result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'EDFI_KEY_MISSING', file: 'Student.xml', line: blankStudent, column: 'StudentUniqueId', contract: 'student' }),
        expect.objectContaining({ code: 'EDFI_KEY_MISSING', file: 'MasterSchedule.xml', line: 3, column: 'SectionIdentifier', contract: 'section' }),
      ]),
    );
    expect(result.problems).toHaveLength(2);
  });

  it('reports bytes valid in no encoding (not UTF-8, not GB18030) as XML_ENCODING_INVALID and keeps the elements before them', async () => {
    const result = await run({ path: resolve(FIXTURES, 'bad-encoding') });
    expect(result.records.map((r) => r.key)).toEqual(['900001']);
    const lines = readFileSync(resolve(FIXTURES, 'bad-encoding', 'Student.xml'), 'latin1').split('\n');
    const badLine = lines.findIndex((l) => l.includes('\u00e9')) + 1;
    expect(result.problems).toEqual([
      expect.objectContaining({ code: 'XML_ENCODING_MISMATCH', severity: 'warning', file: 'Student.xml' }),
      expect.objectContaining({ code: 'XML_ENCODING_INVALID', file: 'Student.xml', line: badLine }),
    ]);
    expect(JSON.stringify(result.records)).not.toContain('\uFFFD');
  });

  it('reads GBK bytes under a UTF-8 declaration as GB18030 (the bytes win), with a warning', async () => {
    const dir = mkdtempSync(resolve(tmpdir(), 'edfi-declared-utf8-'));
    const text = readFileSync(resolve(FIXTURES, 'enrollment', 'Student.xml'), 'utf8').replace('<FirstName>Ada</FirstName>', '<FirstName>王小明</FirstName>');
    writeFileSync(resolve(dir, 'Student.xml'), iconv.encode(text, 'gbk'));
    const result = await run({ path: dir });
    expect(result.records.find((r) => r.key === '900001')!.data.givenName).toBe('王小明');
    expect(result.problems).toEqual([expect.objectContaining({ code: 'XML_ENCODING_MISMATCH', severity: 'warning' })]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads UTF-8 bytes under a GB18030 declaration as UTF-8 (the bytes win), so Chinese names are not garbled', async () => {
    const dir = mkdtempSync(resolve(tmpdir(), 'edfi-declared-gb-'));
    const utf8 = readFileSync(resolve(FIXTURES, 'enrollment', 'Student.xml'), 'utf8')
      .replace(/encoding="UTF-8"/i, 'encoding="GB18030"')
      .replace('<FirstName>Ada</FirstName>', '<FirstName>张</FirstName>');
    writeFileSync(resolve(dir, 'Student.xml'), utf8, 'utf8');
    const result = await run({ path: dir });
    const student = result.records.find((r) => r.key === '900001')!;
    expect(student.data.givenName).toBe('张');
    expect(result.problems).toEqual([expect.objectContaining({ code: 'XML_ENCODING_MISMATCH', severity: 'warning' })]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('skips an XML file that is not an Ed-Fi interchange with a warning', async () => {
    const result = await run({ path: resolve(FIXTURES, 'not-interchange') });
    expect(result.records).toEqual([]);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'EDFI_NOT_INTERCHANGE', severity: 'warning', file: 'roster.xml' })]);
  });
});

describe('edfi-xml associations and descriptors', () => {
  it('merges the current StudentSchoolAssociation and the association sex into the student', async () => {
    const result = await run({ path: resolve(FIXTURES, 'enrollment') });
    const ada = result.records.find((r) => r.contract === 'student' && r.key === '900001')!;
    expect(ada.data).toMatchObject({
      name: 'Ada King Lovelace',
      sex: '2',
      schoolId: '255901001',
      enrolmentDate: '2021-08-23',
      enrolmentStatus: 'enrolled',
      extensions: { edfiGradeLevel: 'Ninth grade' },
    });
    const alan = result.records.find((r) => r.contract === 'student' && r.key === '900002')!;
    expect(alan.data.sex).toBe('1');
    expect(alan.data.schoolId).toBeUndefined();
    for (const r of result.records) expect(registry.validate(r.contract, r.data)).toEqual({ ok: true });
  });

  it('maps StudentSectionAssociation to student enrollments and Grade to results on the same section key', async () => {
    const result = await run({ path: resolve(FIXTURES, 'enrollment') });
    const enrollments = byContract(result.records, 'enrollment');
    expect(enrollments.map((e) => [e.data.personId, e.data.role])).toEqual([
      ['900001', 'student'],
      ['900002', 'student'],
    ]);
    // SchoolYear "2022" in the reference is normalised to "2021-2022".
    const sectionId = '255901001/2021-2022/2021-2022 Fall Semester/ALG-1/S-ALG-1-A';
    expect(enrollments.every((e) => e.data.sectionId === sectionId)).toBe(true);
    const [grade] = byContract(result.records, 'result');
    expect(grade!.data).toMatchObject({ studentId: '900001', sectionId, score: '86.50', letterGrade: 'B', title: 'Final' });
    expect(result.problems).toEqual([]);
  });

  it('does not emit attendance whose category has no mapping, and reports it', async () => {
    const result = await run({ path: resolve(FIXTURES, 'unmapped') });
    expect(result.problems).toEqual([
      expect.objectContaining({ code: 'EDFI_DESCRIPTOR_UNMAPPED', field: 'category', line: 3, value: 'uri://gbisd.edu/AttendanceEventCategoryDescriptor#Field trip' }),
    ]);
    // A district namespace with a default CodeValue still maps.
    expect(result.records.map((r) => r.data)).toEqual([expect.objectContaining({ studentId: '900001', date: '2022-03-08', category: 'excused', note: 'Doctor' })]);
  });
});

describe('edfi-xml check and discover', () => {
  it('lists the interchange files with their element counts', async () => {
    const entities = await (await adapter({ path: SAMPLE })).discover!();
    const find = (name: string) => entities.find((e) => e.name === name);
    expect(find('Student.xml#Student')).toMatchObject({ contract: 'student', count: countTopLevel('Student.xml', 'Student') });
    expect(find('MasterSchedule.xml#Section')).toMatchObject({ contract: 'section', count: countTopLevel('MasterSchedule.xml', 'Section') });
    expect(find('StudentAssessment-SAT.xml#StudentAssessment')).toMatchObject({ contract: undefined, count: 39 });
  });

  it('reports a readable export folder as ok and a missing or foreign one as not ok, without throwing', async () => {
    expect(await (await adapter({ path: SAMPLE })).check!()).toMatchObject({ ok: true });
    expect(await (await adapter({ path: resolve(FIXTURES, 'no-such-folder') })).check!()).toMatchObject({ ok: false });
    expect(await (await adapter({ path: resolve(FIXTURES, 'not-interchange') })).check!()).toMatchObject({ ok: false });
  });

  it('resolves a relative path against the group config folder', async () => {
    const entities = await (await adapter({ path: 'fixtures/truncated' })).discover!();
    expect(entities.find((e) => e.name === 'Student.xml')?.detail).toContain('XML_MALFORMED');
  });
});
