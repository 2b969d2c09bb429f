// Which files to read and in what order. The order follows the interchange dependencies Ed-Fi documents
// (organizations, calendar, schedule, people, associations, grades, attendance) so downstream consumers see
// parents before children; the joins themselves do not depend on it (see the pre-pass in read.ts).
import { open, readdir, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';

export interface PlannedFile {
  /** Name relative to the configured folder: what problems and checkpoints carry. */
  name: string;
  path: string;
  /** Local name of the root element sniffed from the head of the file, if found. */
  root?: string;
  bytes: number;
}

const ROOT_ORDER = [
  'InterchangeEducationOrganization',
  'InterchangeEducationOrgCalendar',
  'InterchangeMasterSchedule',
  'InterchangeStudent',
  'InterchangeStaffAssociation',
  'InterchangeStudentEnrollment',
  'InterchangeStudentGrade',
  'InterchangeStudentGradebook',
  'InterchangeStudentAttendance',
];

/** Contracts an interchange can deliver: a fault in that file means they are not complete for this run. */
export const CONTRACTS_BY_ROOT: Record<string, string[]> = {
  InterchangeEducationOrganization: ['organization', 'course', 'program'],
  InterchangeEducationOrgCalendar: ['term'],
  InterchangeMasterSchedule: ['section'],
  InterchangeStudent: ['student'],
  InterchangeStaffAssociation: ['staff', 'enrollment'],
  InterchangeStudentEnrollment: ['enrollment'],
  InterchangeStudentGrade: ['result'],
  InterchangeStudentGradebook: ['result'],
  InterchangeStudentAttendance: ['attendance'],
};

const HEAD_BYTES = 64 * 1024;

/** Root element local name from the head of a file, skipping the prolog, comments and any DOCTYPE. */
export async function sniffRoot(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    let head = buffer.subarray(0, bytesRead).toString(buffer[0] === 0xff || buffer[0] === 0xfe ? 'utf16le' : 'latin1');
    head = head.replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, '').replace(/<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>/i, '');
    const match = /<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)/.exec(head);
    return match?.[2];
  } finally {
    await handle.close();
  }
}

export async function planFiles(dir: string, files?: string[]): Promise<PlannedFile[]> {
  const names = files ?? (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && /\.xml$/i.test(e.name)).map((e) => e.name);
  const planned: PlannedFile[] = [];
  for (const name of names) {
    const path = resolve(dir, name);
    const info = await stat(path);
    planned.push({ name: files ? name : basename(name), path, bytes: info.size, root: await sniffRoot(path).catch(() => undefined) });
  }
  const rank = (f: PlannedFile): number => {
    const i = f.root ? ROOT_ORDER.indexOf(f.root) : -1;
    return i < 0 ? ROOT_ORDER.length : i;
  };
  return planned.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
