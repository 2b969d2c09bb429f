// Runs a bundle's plan as a stream of ReadBatch: records and problems in batches, a checkpoint after
// every batch (step index + last source line, or records emitted for the people step), run sources
// when a file ends, and `complete` in the last batch for the contracts a clean bulk file delivered.
import type { Problem } from '../../core/errors.ts';
import { readDelimitedBatches } from '../../core/ingest/delimited.ts';
import type { ReadBatch, SourceFileInfo, SourceRecord } from '../../core/plugins/types.ts';
import { fingerprint, type Bundle, type FileRef, type Step } from './bundle.ts';
import { classicSection } from './classic.ts';
import { fileEnv, missingColumns, type FileSpec } from './entities.ts';
import { PeopleBuilder } from './people.ts';
import { Header, RowContext } from './row.ts';

export interface ReadCheckpoint {
  v: 1;
  /** dialect + step names: a checkpoint of another plan is not resumed */
  plan: string;
  /** index of the step to resume; plan.length = all steps done, only the final batch is left */
  step: number;
  /** file steps: last source line committed */
  line: number;
  /** people step: records already emitted */
  emitted: number;
  /** data rows read so far in the current step (run sources) */
  rows: number;
  /** contracts that cannot be declared complete any more (a rejected row in a bulk file) */
  spoiled: string[];
  /** fingerprint of the current step's files */
  fp?: string;
}

export interface ReadSettings {
  encoding?: string;
  batchSize: number;
  /** 'delta' runs never declare completeness */
  mode: 'full' | 'delta';
  signal?: AbortSignal;
}

function planSignature(bundle: Bundle): string {
  return `${bundle.dialect}:${bundle.plan.map((s) => s.name).join(',')}`;
}

function isCheckpoint(value: unknown): value is ReadCheckpoint {
  const c = value as ReadCheckpoint | undefined;
  return typeof c === 'object' && c !== null && c.v === 1 && typeof c.plan === 'string' && typeof c.step === 'number' && Array.isArray(c.spoiled);
}

/** Collects records and problems; hands out a batch when full. */
class Batcher {
  records: SourceRecord[] = [];
  problems: Problem[] = [];
  constructor(readonly size: number) {}
  get full(): boolean {
    return this.records.length + this.problems.length >= this.size;
  }
  take(checkpoint: ReadCheckpoint, extra: Partial<ReadBatch> = {}): ReadBatch {
    const batch: ReadBatch = { records: this.records, problems: this.problems, checkpoint: { ...checkpoint, spoiled: [...checkpoint.spoiled] }, ...extra };
    this.records = [];
    this.problems = [];
    return batch;
  }
}

function spoil(cp: ReadCheckpoint, contracts: readonly string[]): void {
  for (const c of contracts) if (!cp.spoiled.includes(c)) cp.spoiled.push(c);
}

export async function* readBundle(bundle: Bundle, checkpoint: unknown, settings: ReadSettings): AsyncGenerator<ReadBatch> {
  const signature = planSignature(bundle);
  const batcher = new Batcher(settings.batchSize);
  let cp: ReadCheckpoint;
  if (isCheckpoint(checkpoint) && checkpoint.plan === signature && checkpoint.step <= bundle.plan.length) {
    cp = { ...checkpoint, spoiled: [...checkpoint.spoiled] };
  } else {
    if (checkpoint !== undefined && checkpoint !== null) {
      batcher.problems.push({ code: 'ONEROSTER_CHECKPOINT_STALE', severity: 'warning', message: `断点与当前文件不符，从头读取 / the checkpoint does not match the current files; reading from the start` });
    }
    cp = { v: 1, plan: signature, step: 0, line: 0, emitted: 0, rows: 0, spoiled: [...bundle.spoiled] };
    batcher.problems.push(...bundle.problems);
  }

  for (; cp.step < bundle.plan.length; cp.step++) {
    if (settings.signal?.aborted) return;
    const step = bundle.plan[cp.step]!;
    const fp = await fingerprint(step);
    if (cp.fp !== undefined && cp.fp !== fp && (cp.line > 0 || cp.emitted > 0)) {
      batcher.problems.push({ code: 'ONEROSTER_CHECKPOINT_STALE', severity: 'warning', message: `文件在中断后被修改，该文件从头读取 / the file changed after the interruption; it is read again from the start`, file: step.name });
      cp.line = 0;
      cp.emitted = 0;
      cp.rows = 0;
    }
    cp.fp = fp;
    if (step.kind === 'people') yield* peopleStep(bundle, step, cp, batcher, settings);
    else {
      const spec = step.kind === 'section' ? classicSection(await rosterOf(step.roster, settings.encoding)) : step.spec;
      yield* fileStep(step.file, spec, step.kind === 'file' ? step.mode : undefined, cp, batcher, settings);
    }
    cp.line = 0;
    cp.emitted = 0;
    cp.rows = 0;
    cp.fp = undefined;
  }
  const complete = settings.mode === 'full' ? [...bundle.bulkContracts].filter((c) => !cp.spoiled.includes(c)).sort() : [];
  const withheld = settings.mode === 'full' ? [...bundle.bulkContracts].filter((c) => cp.spoiled.includes(c)).sort() : [];
  if (withheld.length > 0) {
    batcher.problems.push({
      code: 'ONEROSTER_BULK_INCOMPLETE',
      severity: 'warning',
      message: `全量文件有被拒绝的行或缺失，本次不停用未出现的记录：${withheld.join(', ')} / bulk files had rejected rows or were missing: records not seen are NOT deactivated for ${withheld.join(', ')}`,
      value: withheld.join(','),
    });
  }
  yield batcher.take(cp, complete.length > 0 ? { complete } : {});
}

async function rosterOf(ref: FileRef | undefined, encoding: string | undefined): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  if (ref === undefined) return map;
  // Problems of TeacherRoster.csv are reported when it is read as its own step.
  let header: Header | undefined;
  for await (const items of readDelimitedBatches(ref.path, { encoding, displayName: ref.name })) {
    for (const item of items) {
      if (item.kind === 'meta') header = new Header(item.columns);
      else if (item.kind === 'row' && header !== undefined) {
        const section = item.row.values[header.name('section sis id')]?.trim() ?? '';
        const person = item.row.values[header.name('sis id')]?.trim() ?? '';
        if (section === '' || person === '') continue;
        const list = map.get(section);
        if (list === undefined) map.set(section, [person]);
        else if (!list.includes(person)) list.push(person);
      }
    }
  }
  return map;
}

async function* fileStep(
  file: FileRef,
  spec: FileSpec,
  mode: 'bulk' | 'delta' | undefined,
  cp: ReadCheckpoint,
  batcher: Batcher,
  settings: ReadSettings,
): AsyncGenerator<ReadBatch> {
  const resumeLine = cp.line;
  let ctx: RowContext | undefined;
  let env: ReturnType<typeof fileEnv> | undefined;
  let encoding: string | undefined;
  let skip = false;
  let lastLine = resumeLine;
  let errors = 0;
  outer: for await (const items of readDelimitedBatches(file.path, { encoding: settings.encoding, displayName: file.name })) {
    for (const item of items) {
      if (item.kind === 'row') {
        if (skip || ctx === undefined || env === undefined) continue;
        if (item.row.line <= resumeLine) {
          if (spec.replay !== undefined) {
            ctx.start(item.row.line, item.row.values);
            spec.replay(ctx);
          }
          continue;
        }
        ctx.problems = batcher.problems;
        ctx.start(item.row.line, item.row.values);
        const out = spec.map(ctx, env);
        if (out !== undefined) {
          if (Array.isArray(out)) for (const r of out) batcher.records.push(r);
          else batcher.records.push(out);
        }
        if (ctx.bad) errors++;
        cp.rows++;
        lastLine = item.row.line;
        if (batcher.full) {
          if (errors > 0) spoil(cp, spec.contracts);
          cp.line = lastLine;
          yield batcher.take(cp);
          if (settings.signal?.aborted) return;
        }
      } else if (item.kind === 'meta') {
        encoding = item.encoding;
        const header = new Header(item.columns);
        const missing = missingColumns(spec, header);
        if (missing.length > 0) {
          if (resumeLine === 0) {
            batcher.problems.push({
              code: 'ONEROSTER_HEADER_MISSING',
              severity: 'error',
              message: `缺少必需的列，整个文件未读取：${missing.join(', ')} / required columns are missing, the file is not read: ${missing.join(', ')}`,
              file: file.name,
              line: 1,
              column: missing[0],
            });
          }
          errors++;
          skip = true;
          break outer;
        }
        ctx = new RowContext(file.name, header, batcher.problems);
        env = fileEnv(spec, header, mode);
      } else {
        const p = item.problem;
        if (p.line !== undefined && p.line <= resumeLine) continue;
        if (p.severity === 'error') errors++;
        batcher.problems.push(p);
        if (p.line !== undefined && p.line > lastLine) lastLine = p.line;
      }
    }
  }
  if (errors > 0) spoil(cp, spec.contracts);
  const sources: SourceFileInfo[] = [{ file: file.name, encoding, rows: cp.rows }];
  const done = { ...cp, step: cp.step + 1, line: 0, emitted: 0, rows: 0, fp: undefined };
  yield batcher.take(done, { sources });
}

/** Reads a whole side file into the people builder; returns its run source and error count. */
async function scan(
  file: FileRef,
  settings: ReadSettings,
  problems: Problem[],
  required: (string | string[])[],
  onRow: (ctx: RowContext, header: Header) => void,
): Promise<{ source: SourceFileInfo; errors: number }> {
  let ctx: RowContext | undefined;
  let header: Header | undefined;
  let encoding: string | undefined;
  let rows = 0;
  let errors = 0;
  outer: for await (const items of readDelimitedBatches(file.path, { encoding: settings.encoding, displayName: file.name })) {
    for (const item of items) {
      if (item.kind === 'row') {
        if (ctx === undefined || header === undefined) continue;
        ctx.start(item.row.line, item.row.values);
        onRow(ctx, header);
        if (ctx.bad) errors++;
        rows++;
      } else if (item.kind === 'meta') {
        encoding = item.encoding;
        header = new Header(item.columns);
        const missing = required.filter((r) => !(typeof r === 'string' ? [r] : r).some((k) => header!.has(k))).map((r) => (typeof r === 'string' ? r : r[0]!));
        if (missing.length > 0) {
          problems.push({
            code: 'ONEROSTER_HEADER_MISSING',
            severity: 'error',
            message: `缺少必需的列，整个文件未读取：${missing.join(', ')} / required columns are missing, the file is not read: ${missing.join(', ')}`,
            file: file.name,
            line: 1,
            column: missing[0],
          });
          errors++;
          break outer;
        }
        ctx = new RowContext(file.name, header, problems);
      } else {
        if (item.problem.severity === 'error') errors++;
        problems.push(item.problem);
      }
    }
  }
  return { source: { file: file.name, encoding, rows }, errors };
}

async function* peopleStep(bundle: Bundle, step: Extract<Step, { kind: 'people' }>, cp: ReadCheckpoint, batcher: Batcher, settings: ReadSettings): AsyncGenerator<ReadBatch> {
  const people = new PeopleBuilder({
    usersMode: step.usersMode,
    rolesMode: step.roles?.mode,
    demographicsMode: step.demographics?.mode,
    profilesMode: step.profiles?.mode,
  });
  const problems: Problem[] = [];
  const sources: SourceFileInfo[] = [];
  let blocking = 0;
  if (step.roles) {
    const r = await scan(step.roles.file, settings, problems, ['usersourcedid', 'role'], (ctx) => people.addRole(ctx));
    sources.push(r.source);
    // A rejected role row may move a person to another contract: no sweep on a guess.
    blocking += r.errors;
  }
  if (step.demographics) {
    const r = await scan(step.demographics.file, settings, problems, [['sourcedid', 'usersourcedid']], (ctx, header) => people.addDemographics(ctx, extrasOf(header)));
    sources.push(r.source);
  }
  if (step.profiles) {
    const r = await scan(step.profiles.file, settings, problems, ['usersourcedid'], (ctx) => people.addProfile(ctx));
    sources.push(r.source);
  }
  if (step.relationships) {
    const r = await scan(step.relationships, settings, problems, ['usersourcedid', 'relationshipusersourcedid', 'relationshiprole'], (ctx) => people.addRelationship(ctx));
    sources.push(r.source);
  }
  if (step.flags) {
    const r = await scan(step.flags, settings, problems, ['usersourcedid', 'flag'], (ctx) => people.addFlag(ctx));
    sources.push(r.source);
  }
  const users = await scan(step.users, settings, problems, ['sourcedid'], (ctx, header) => people.addUser(ctx, userExtrasOf(header)));
  sources.unshift(users.source);
  blocking += users.errors;
  const built = people.build();
  problems.push(...built.problems, ...people.orphans());
  blocking += people.rejected;
  if (blocking > 0 && bundle.bulkContracts.has('person')) spoil(cp, ['person', 'student', 'staff']);

  // Problems were committed with the first batch of this step; a resumed step only emits the rest of the records.
  if (cp.emitted === 0) for (const p of problems) batcher.problems.push(p);
  const records = built.records;
  for (let i = cp.emitted; i < records.length; i++) {
    batcher.records.push(records[i]!);
    if (batcher.full && i + 1 < records.length) {
      cp.emitted = i + 1;
      yield batcher.take(cp);
      if (settings.signal?.aborted) return;
    }
  }
  const done = { ...cp, step: cp.step + 1, line: 0, emitted: 0, rows: 0, fp: undefined };
  yield batcher.take(done, { sources });
}

const extrasCache = new WeakMap<Header, [string, string][]>();
function extrasOf(header: Header): [string, string][] {
  let e = extrasCache.get(header);
  if (e === undefined) extrasCache.set(header, (e = PeopleBuilder.demographicsExtras(header)));
  return e;
}
const userExtrasCache = new WeakMap<Header, [string, string][]>();
function userExtrasOf(header: Header): [string, string][] {
  let e = userExtrasCache.get(header);
  if (e === undefined) userExtrasCache.set(header, (e = PeopleBuilder.userExtras(header)));
  return e;
}
