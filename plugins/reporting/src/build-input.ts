import type { HubServices } from '../../../core/plugins/types.ts';
import type { SchoolYear } from './school-year.ts';
import type { SourceRecordView } from './source.ts';
import type { ReportDefinition } from './types.ts';

/** Facts a member declares in the plugin config: what no member system exports (see docs/reporting.md). */
export interface MemberSupplement {
  facts?: Record<string, string | number>;
  programmes?: { code: string; name: string; durationYears?: number; students?: number; catalogVersion?: string }[];
}

export interface BuildInput {
  services: HubServices;
  definition: ReportDefinition;
  member: { code: string; name: string };
  year: SchoolYear;
  supplement: MemberSupplement;
}

/** Students in school during the 学年: enrolled by its last day, not left or graduated before its first. */
export function inSchoolDuring(student: SourceRecordView, year: SchoolYear, definition: ReportDefinition, durationOf: (s: SourceRecordView) => number): boolean {
  const levels = definition.dataset.educationLevels;
  const level = typeof student.educationLevel === 'string' ? student.educationLevel : undefined;
  if (levels && level !== undefined && !levels.includes(level)) return false;
  const statuses = definition.dataset.statuses ?? ['enrolled', 'suspended'];
  const status = typeof student.enrolmentStatus === 'string' ? student.enrolmentStatus : 'enrolled';
  if (!statuses.includes(status)) return false;
  const enrolled = typeof student.enrolmentDate === 'string' ? student.enrolmentDate : undefined;
  if (enrolled !== undefined && enrolled > year.end) return false;
  const graduation =
    typeof student.expectedGraduationDate === 'string'
      ? student.expectedGraduationDate
      : enrolled !== undefined
        ? `${Number(enrolled.slice(0, 4)) + durationOf(student)}${enrolled.slice(4)}`
        : undefined;
  return graduation === undefined || graduation > year.start;
}
