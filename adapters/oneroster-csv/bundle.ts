// A bundle = one folder of CSV files. Detects the dialect from the files present, reads manifest.csv
// (OneRoster file modes and version) and builds the ordered read plan: organisations and terms first,
// then courses, sections, people, enrollments, so references point backwards as far as the source allows.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VochubError, type Problem } from '../../core/errors.ts';
import { readDelimited } from '../../core/ingest/delimited.ts';
import {
  CLASSIC_SCHOOL,
  CLASSIC_STUDENT,
  CLASSIC_STUDENT_ENROLLMENT,
  CLASSIC_TEACHER,
  CLASSIC_TEACHER_ROSTER,
} from './classic.ts';
import { ACADEMIC_SESSIONS, CLASSES, COURSES, ENROLLMENTS, ORGS, type FileSpec } from './entities.ts';
import { headerKey } from './row.ts';
import type { FileMode } from './values.ts';

export type Dialect = 'oneroster-1.1' | 'oneroster-1.2' | 'sds-v2.1' | 'sds-classic';
export type DialectSetting = 'auto' | Dialect;

export interface FileRef {
  /** absolute path */
  path: string;
  /** name inside the bundle folder, as used in problems and run sources */
  name: string;
}

export type Step =
  | { kind: 'file'; name: string; spec: FileSpec; file: FileRef; mode?: FileMode }
  | { kind: 'section'; name: string; file: FileRef; roster?: FileRef }
  | {
      kind: 'people';
      name: string;
      users: FileRef;
      usersMode?: FileMode;
      roles?: { file: FileRef; mode?: FileMode };
      demographics?: { file: FileRef; mode?: FileMode };
      profiles?: { file: FileRef; mode?: FileMode };
      relationships?: FileRef;
      flags?: FileRef;
    };

export interface Bundle {
  dialect: Dialect;
  folder: string;
  /** OneRoster manifest file modes by lower-case file stem */
  modes: Map<string, 'bulk' | 'delta' | 'absent'>;
  plan: Step[];
  /** Contracts whose complete set some bulk file of the plan delivers */
  bulkContracts: Set<string>;
  /** Contracts that cannot be declared complete whatever happens in the run (missing bulk file, delta file) */
  spoiled: Set<string>;
  problems: Problem[];
}

const PEOPLE = ['person', 'student', 'staff'];

// OneRoster files this adapter does not map (gradebook and resources): reported, never silently dropped.
const UNSUPPORTED = ['categories', 'classresources', 'courseresources', 'lineitems', 'resources', 'results', 'scorescales', 'lineitemlearningobjectiveids', 'lineitemscorescales', 'resultlearningobjectiveids', 'resultscorescales'];

async function listCsv(folder: string): Promise<Map<string, FileRef>> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (cause) {
    throw new VochubError('ONEROSTER_FOLDER_MISSING', `数据文件夹不存在或不可读 / the bundle folder does not exist or cannot be read: ${folder}`, { status: 400, cause });
  }
  const files = new Map<string, FileRef>();
  for (const name of names.sort()) {
    if (!/\.csv$/i.test(name)) continue;
    const stem = name.slice(0, -4).toLowerCase();
    if (!files.has(stem)) files.set(stem, { path: join(folder, name), name });
  }
  return files;
}

async function readManifest(ref: FileRef, encoding: string | undefined, problems: Problem[]): Promise<{ modes: Map<string, 'bulk' | 'delta' | 'absent'>; version?: string }> {
  const modes = new Map<string, 'bulk' | 'delta' | 'absent'>();
  let version: string | undefined;
  let nameCol: string | undefined;
  let valueCol: string | undefined;
  for await (const item of readDelimited(ref.path, { encoding, displayName: ref.name })) {
    if (item.kind === 'problem') problems.push(item.problem);
    else if (item.kind === 'meta') {
      nameCol = item.columns.find((c) => headerKey(c) === 'propertyname');
      valueCol = item.columns.find((c) => headerKey(c) === 'value');
      if (nameCol === undefined || valueCol === undefined) {
        problems.push({ code: 'ONEROSTER_HEADER_MISSING', severity: 'error', message: `manifest.csv 缺少 propertyName/value 列 / manifest.csv lacks the propertyName/value columns`, file: ref.name, line: 1 });
        break;
      }
    } else if (nameCol !== undefined && valueCol !== undefined) {
      const prop = (item.row.values[nameCol] ?? '').trim();
      const value = (item.row.values[valueCol] ?? '').trim();
      const lower = prop.toLowerCase();
      if (lower === 'oneroster.version') version = value;
      else if (lower.startsWith('file.')) {
        const mode = value.toLowerCase();
        if (mode === 'bulk' || mode === 'delta' || mode === 'absent') modes.set(lower.slice(5), mode);
        else {
          problems.push({ code: 'ONEROSTER_MANIFEST_INVALID', severity: 'error', message: `文件模式只能是 bulk、delta 或 absent，按 absent 处理 / file mode must be bulk, delta or absent; treated as absent`, file: ref.name, line: item.row.line, column: valueCol, value });
          modes.set(lower.slice(5), 'absent');
        }
      }
    }
  }
  return { modes, version };
}

export function detectDialect(files: ReadonlyMap<string, FileRef>, manifestVersion?: string): Dialect | undefined {
  if (files.has('manifest')) return manifestVersion?.startsWith('1.2') || (manifestVersion === undefined && files.has('roles')) ? 'oneroster-1.2' : 'oneroster-1.1';
  if (files.has('users') && (files.has('roles') || files.has('orgs'))) return 'sds-v2.1';
  if (files.has('school') || files.has('student') || files.has('teacher') || files.has('section')) return 'sds-classic';
  return undefined;
}

/** Opens a bundle folder: dialect, file modes, read plan. Throws VochubError for a folder it cannot use. */
export async function openBundle(folder: string, setting: DialectSetting, encoding?: string): Promise<Bundle> {
  const files = await listCsv(folder);
  const problems: Problem[] = [];
  let modes = new Map<string, 'bulk' | 'delta' | 'absent'>();
  let version: string | undefined;
  const manifest = files.get('manifest');
  if (manifest !== undefined) ({ modes, version } = await readManifest(manifest, encoding, problems));
  // A manifest from a OneRoster version we do not know would be read with the wrong file semantics
  // (modes, columns, deletes): refuse it instead of guessing.
  if (version !== undefined && !/^1\.[0-2](\.\d+)?$/.test(version)) {
    throw new VochubError(
      'ONEROSTER_VERSION_UNSUPPORTED',
      `不支持的 OneRoster 版本 ${version}（支持 1.0、1.1、1.2）/ unsupported OneRoster version ${version} in ${manifest?.name} (1.0, 1.1 and 1.2 are supported)`,
      { status: 400, details: { file: manifest?.name, version } },
    );
  }
  const detected = detectDialect(files, version);
  const dialect = setting === 'auto' ? detected : setting;
  if (dialect === undefined) {
    throw new VochubError('ONEROSTER_DIALECT_UNKNOWN', `无法识别文件夹中的 OneRoster/SDS 文件 / no OneRoster or SDS files recognised in the folder: ${folder}`, { status: 400 });
  }
  if (setting !== 'auto' && detected !== undefined && detected !== setting) {
    problems.push({ code: 'ONEROSTER_VERSION_MISMATCH', severity: 'warning', message: `配置的格式 ${setting} 与文件判断的 ${detected} 不一致，按配置读取 / configured dialect ${setting} differs from the detected ${detected}; reading as configured`, file: manifest?.name });
  }
  if (dialect.startsWith('oneroster') && manifest === undefined) {
    throw new VochubError('ONEROSTER_MANIFEST_MISSING', `OneRoster 数据包缺少 manifest.csv，无法判断全量/增量 / the OneRoster bundle has no manifest.csv: bulk or delta cannot be told`, { status: 400 });
  }
  const bundle: Bundle = { dialect, folder, modes, plan: [], bulkContracts: new Set(), spoiled: new Set(), problems };
  if (dialect === 'sds-classic') planClassic(bundle, files);
  else if (dialect === 'sds-v2.1') planSds(bundle, files);
  else planOneRoster(bundle, files, manifest!);
  return bundle;
}

function planSds(b: Bundle, files: Map<string, FileRef>): void {
  // SDS has no manifest and no status columns: every file is the complete set of its records.
  const entity = (stem: string, spec: FileSpec): void => {
    const file = files.get(stem);
    if (file === undefined) return;
    b.plan.push({ kind: 'file', name: spec.name, spec, file });
    for (const c of spec.contracts) b.bulkContracts.add(c);
  };
  entity('orgs', ORGS);
  entity('academicsessions', ACADEMIC_SESSIONS);
  entity('courses', COURSES);
  entity('classes', CLASSES);
  const users = files.get('users');
  if (users !== undefined) {
    const opt = (stem: string): { file: FileRef } | undefined => {
      const f = files.get(stem);
      return f === undefined ? undefined : { file: f };
    };
    b.plan.push({ kind: 'people', name: 'users', users, roles: opt('roles'), demographics: opt('demographics'), relationships: files.get('relationships'), flags: files.get('userflags') });
    for (const c of PEOPLE) b.bulkContracts.add(c);
  }
  entity('enrollments', ENROLLMENTS);
}

function planClassic(b: Bundle, files: Map<string, FileRef>): void {
  const entity = (stem: string, spec: FileSpec): void => {
    const file = files.get(stem);
    if (file === undefined) return;
    b.plan.push({ kind: 'file', name: spec.name, spec, file });
    for (const c of spec.contracts) b.bulkContracts.add(c);
  };
  entity('school', CLASSIC_SCHOOL);
  const section = files.get('section');
  if (section !== undefined) {
    b.plan.push({ kind: 'section', name: 'Section', file: section, roster: files.get('teacherroster') });
    for (const c of ['section', 'term', 'course']) b.bulkContracts.add(c);
  }
  entity('student', CLASSIC_STUDENT);
  entity('teacher', CLASSIC_TEACHER);
  entity('studentenrollment', CLASSIC_STUDENT_ENROLLMENT);
  entity('teacherroster', CLASSIC_TEACHER_ROSTER);
}

function planOneRoster(b: Bundle, files: Map<string, FileRef>, manifest: FileRef): void {
  const problem = (code: string, severity: Problem['severity'], message: string, value?: string): void => {
    b.problems.push({ code, severity, message, file: manifest.name, value });
  };
  /** The file to read for `stem`, or undefined (absent, undeclared or declared but missing). */
  const declared = (stem: string, contracts: string[]): { file: FileRef; mode: FileMode } | undefined => {
    const mode = b.modes.get(stem);
    const file = files.get(stem);
    if (mode === undefined || mode === 'absent') {
      if (file !== undefined) {
        problem('ONEROSTER_FILE_IGNORED', 'warning', `文件存在但清单未声明为 bulk/delta，未读取 / the file is present but the manifest does not declare it bulk or delta; not read`, file.name);
      }
      return undefined;
    }
    if (file === undefined) {
      problem('ONEROSTER_FILE_MISSING', 'error', `清单声明为 ${mode} 的文件不存在 / the manifest declares the file ${mode} but it is missing`, `${stem}.csv`);
      // Without the file the run must not deactivate anything of its contracts.
      for (const c of contracts) b.spoiled.add(c);
      return undefined;
    }
    if (mode === 'bulk') for (const c of contracts) b.bulkContracts.add(c);
    else for (const c of contracts) b.spoiled.add(c);
    return { file, mode };
  };
  const entity = (stem: string, spec: FileSpec): void => {
    const d = declared(stem, spec.contracts);
    if (d !== undefined) b.plan.push({ kind: 'file', name: spec.name, spec, file: d.file, mode: d.mode });
  };
  entity('orgs', ORGS);
  entity('academicsessions', ACADEMIC_SESSIONS);
  entity('courses', COURSES);
  entity('classes', CLASSES);
  const users = declared('users', PEOPLE);
  if (users !== undefined) {
    const side = (stem: string): { file: FileRef; mode: FileMode } | undefined => declared(stem, []);
    b.plan.push({
      kind: 'people',
      name: 'users',
      users: users.file,
      usersMode: users.mode,
      roles: b.dialect === 'oneroster-1.2' ? side('roles') : undefined,
      demographics: side('demographics'),
      profiles: b.dialect === 'oneroster-1.2' ? side('userprofiles') : undefined,
    });
  } else {
    for (const stem of ['roles', 'demographics', 'userprofiles']) {
      const mode = b.modes.get(stem);
      if (mode !== undefined && mode !== 'absent') {
        problem('ONEROSTER_USER_UNKNOWN', 'warning', `${stem}.csv 只能随 users.csv 一起应用，未读取 / ${stem}.csv is applied together with users.csv only; not read`, `${stem}.csv`);
      }
    }
  }
  entity('enrollments', ENROLLMENTS);
  for (const stem of UNSUPPORTED) {
    const mode = b.modes.get(stem);
    if (mode !== undefined && mode !== 'absent') {
      problem('ONEROSTER_FILE_UNSUPPORTED', 'warning', `本适配器不导入该文件（成绩/资源）/ this adapter does not import this file (gradebook/resources)`, `${stem}.csv`);
    }
  }
}

/** Size and mtime of the step's files: a checkpoint taken on other file contents is not resumed mid-file. */
export async function fingerprint(step: Step): Promise<string> {
  const refs: FileRef[] = [];
  if (step.kind === 'file') refs.push(step.file);
  else if (step.kind === 'section') {
    refs.push(step.file);
    if (step.roster) refs.push(step.roster);
  } else {
    refs.push(step.users);
    for (const r of [step.roles?.file, step.demographics?.file, step.profiles?.file, step.relationships, step.flags]) if (r) refs.push(r);
  }
  const parts: string[] = [];
  for (const r of refs) {
    try {
      const s = await stat(r.path);
      parts.push(`${r.name}:${s.size}:${Math.trunc(s.mtimeMs)}`);
    } catch {
      parts.push(`${r.name}:missing`);
    }
  }
  return parts.join('|');
}
