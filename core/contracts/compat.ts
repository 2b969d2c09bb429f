// Compatibility of a contract with its previous release. Within a major version a change may only
// add optional properties (closed content model) or widen what is accepted; everything that could
// make a record valid yesterday invalid today — or change what a field means — is a break.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CONTRACT_FILE } from './registry.ts';

export interface CompatBreak {
  /** COMPAT_ID_CHANGED, COMPAT_PROPERTY_REMOVED, COMPAT_REQUIRED_ADDED, COMPAT_TYPE_NARROWED, COMPAT_ENUM_NARROWED,
   * COMPAT_PATTERN_CHANGED, COMPAT_LENGTH_NARROWED, COMPAT_RANGE_NARROWED, COMPAT_FORMAT_CHANGED,
   * COMPAT_CODE_TABLE_CHANGED, COMPAT_CLOSED, COMPAT_REF_CHANGED, COMPAT_PII_CHANGED, COMPAT_KEYWORD_CHANGED,
   * COMPAT_DEF_REMOVED, COMPAT_CONTRACT_REMOVED */
  code: string;
  /** JSON pointer into the schema, e.g. `/properties/name/maxLength`. */
  path: string;
  message: string;
}

export interface CompatResult {
  ok: boolean;
  breaks: CompatBreak[];
}

type Schema = Record<string, unknown>;

/** Never affect which instances are valid. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  '$comment',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  'x-jyt',
  'x-oneroster',
  'x-edfi',
  '$schema',
]);

/** Keywords compared by dedicated rules below. */
const HANDLED = new Set([
  '$id',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  '$defs',
  '$ref',
  'pattern',
  'format',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'x-code-table',
  'x-pii',
]);

const ID_MAJOR = /^urn:vochub:contract:([a-z][a-z0-9-]*):(\d+)$/;

function asSchema(value: unknown): Schema | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Schema) : undefined;
}

function types(schema: Schema): Set<string> | undefined {
  const t = schema.type;
  if (t === undefined) return undefined;
  const set = new Set(Array.isArray(t) ? (t as string[]) : [t as string]);
  // integer ⊂ number
  if (set.has('number')) set.add('integer');
  return set;
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function checkCompatibility(previous: Schema, next: Schema): CompatResult {
  const breaks: CompatBreak[] = [];
  const add = (code: string, path: string, message: string) => breaks.push({ code, path, message });

  const prevId = typeof previous.$id === 'string' ? ID_MAJOR.exec(previous.$id) : null;
  const nextId = typeof next.$id === 'string' ? ID_MAJOR.exec(next.$id) : null;
  if (previous.$id !== next.$id) {
    const detail = prevId && nextId && prevId[1] === nextId[1] ? 'major version changed' : '$id changed';
    add('COMPAT_ID_CHANGED', '/$id', `契约标识变更 / ${detail}: ${String(previous.$id)} → ${String(next.$id)}`);
  }
  compareNode(previous, next, '', add);
  return { ok: breaks.length === 0, breaks };
}

function compareNode(prev: Schema, next: Schema, path: string, add: (code: string, path: string, message: string) => void): void {
  // $ref: the target is compared where it is defined ($defs), so here only the pointer itself matters.
  if (prev.$ref !== next.$ref) {
    add('COMPAT_REF_CHANGED', `${path}/$ref`, `引用变更 / $ref changed: ${String(prev.$ref)} → ${String(next.$ref)}`);
  }

  const pt = types(prev);
  const nt = types(next);
  if (nt && (!pt || [...pt].some((t) => !nt.has(t)))) {
    add('COMPAT_TYPE_NARROWED', `${path}/type`, `类型收窄 / type narrowed: ${JSON.stringify(prev.type)} → ${JSON.stringify(next.type)}`);
  }

  if (next.enum !== undefined) {
    const prevValues = prev.enum as unknown[] | undefined;
    const nextValues = next.enum as unknown[];
    const removed = prevValues ? prevValues.filter((v) => !nextValues.some((n) => isDeepStrictEqual(n, v))) : ['(any)'];
    if (removed.length > 0) {
      add('COMPAT_ENUM_NARROWED', `${path}/enum`, `取值范围收窄 / enum narrowed, removed: ${JSON.stringify(removed)}`);
    }
  }
  if (next.const !== undefined && !isDeepStrictEqual(prev.const, next.const)) {
    add('COMPAT_ENUM_NARROWED', `${path}/const`, '常量变更 / const added or changed');
  }

  // A pattern cannot be proven wider, so any change to it is a break.
  if (next.pattern !== undefined && prev.pattern !== next.pattern) {
    add('COMPAT_PATTERN_CHANGED', `${path}/pattern`, `格式正则变更 / pattern added or changed: ${String(next.pattern)}`);
  }
  if (next.format !== undefined && prev.format !== next.format) {
    add('COMPAT_FORMAT_CHANGED', `${path}/format`, `格式变更 / format added or changed: ${String(next.format)}`);
  }

  for (const k of ['maxLength', 'maxItems'] as const) {
    const p = prev[k] as number | undefined;
    const n = next[k] as number | undefined;
    if (n !== undefined && (p === undefined || n < p)) add('COMPAT_LENGTH_NARROWED', `${path}/${k}`, `${k} 收窄 / ${k} narrowed: ${p} → ${n}`);
  }
  for (const k of ['minLength', 'minItems'] as const) {
    const p = (prev[k] as number | undefined) ?? 0;
    const n = next[k] as number | undefined;
    if (n !== undefined && n > p) add('COMPAT_LENGTH_NARROWED', `${path}/${k}`, `${k} 收窄 / ${k} narrowed: ${p} → ${n}`);
  }
  for (const k of ['maximum', 'exclusiveMaximum'] as const) {
    const p = prev[k] as number | undefined;
    const n = next[k] as number | undefined;
    if (n !== undefined && (p === undefined || n < p)) add('COMPAT_RANGE_NARROWED', `${path}/${k}`, `${k} 收窄 / ${k} narrowed: ${p} → ${n}`);
  }
  for (const k of ['minimum', 'exclusiveMinimum'] as const) {
    const p = prev[k] as number | undefined;
    const n = next[k] as number | undefined;
    if (n !== undefined && (p === undefined || n > p)) add('COMPAT_RANGE_NARROWED', `${path}/${k}`, `${k} 收窄 / ${k} narrowed: ${p} → ${n}`);
  }

  if (!isDeepStrictEqual(prev['x-code-table'], next['x-code-table']) && next['x-code-table'] !== undefined) {
    add('COMPAT_CODE_TABLE_CHANGED', `${path}/x-code-table`, '代码表变更 / x-code-table added or changed');
  }
  // PII class drives encryption at rest: changing it changes how stored data is read.
  if (prev['x-pii'] !== next['x-pii']) {
    add('COMPAT_PII_CHANGED', `${path}/x-pii`, `敏感级别变更 / x-pii changed: ${String(prev['x-pii'])} → ${String(next['x-pii'])}`);
  }

  // Closed content: opening is a widening; closing (or tightening the schema of extras) is a break.
  const pa = prev.additionalProperties;
  const na = next.additionalProperties;
  if (na === false && pa !== false) add('COMPAT_CLOSED', `${path}/additionalProperties`, '对象被封闭 / object closed to additional properties');
  else if (asSchema(na) && asSchema(pa)) compareNode(asSchema(pa)!, asSchema(na)!, `${path}/additionalProperties`, add);
  else if (asSchema(na) && pa !== false) add('COMPAT_KEYWORD_CHANGED', `${path}/additionalProperties`, 'additionalProperties 收窄 / narrowed');

  const prevRequired = new Set((prev.required as string[] | undefined) ?? []);
  for (const r of (next.required as string[] | undefined) ?? []) {
    if (!prevRequired.has(r)) add('COMPAT_REQUIRED_ADDED', `${path}/required`, `新增必填字段 / property became required: ${r}`);
  }

  const prevProps = asSchema(prev.properties) ?? {};
  const nextProps = asSchema(next.properties) ?? {};
  for (const [key, p] of Object.entries(prevProps)) {
    const n = asSchema(nextProps[key]);
    const childPath = `${path}/properties/${escape(key)}`;
    if (!n) {
      add('COMPAT_PROPERTY_REMOVED', childPath, `删除了字段 / property removed: ${key}`);
      continue;
    }
    if (asSchema(p)) compareNode(asSchema(p)!, n, childPath, add);
  }
  // New properties: fine when optional (checked through `required` above), but a new property on a
  // previously open object would make existing extra values with that name invalid.
  if (pa !== false) {
    for (const key of Object.keys(nextProps)) {
      if (!(key in prevProps)) {
        add('COMPAT_KEYWORD_CHANGED', `${path}/properties/${escape(key)}`, `开放对象新增了约束字段 / new constrained property on an open object: ${key}`);
      }
    }
  }

  const pi = asSchema(prev.items);
  const ni = asSchema(next.items);
  if (pi && ni) compareNode(pi, ni, `${path}/items`, add);
  else if (ni && !pi) add('COMPAT_KEYWORD_CHANGED', `${path}/items`, 'items 约束新增 / items constraint added');

  const prevDefs = asSchema(prev.$defs) ?? {};
  const nextDefs = asSchema(next.$defs) ?? {};
  for (const [key, p] of Object.entries(prevDefs)) {
    const n = asSchema(nextDefs[key]);
    const childPath = `${path}/$defs/${escape(key)}`;
    if (!n) add('COMPAT_DEF_REMOVED', childPath, `删除了定义（其他契约可能引用） / $defs entry removed: ${key}`);
    else if (asSchema(p)) compareNode(asSchema(p)!, n, childPath, add);
  }

  // Anything else that validates (anyOf, if/then, own keywords …) must stay identical.
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  for (const key of keys) {
    if (ANNOTATIONS.has(key) || HANDLED.has(key)) continue;
    if (!isDeepStrictEqual(prev[key], next[key])) {
      add('COMPAT_KEYWORD_CHANGED', `${path}/${escape(key)}`, `校验关键字变更 / validation keyword changed: ${key}`);
    }
  }
}

export interface ContractsCheckBreak extends CompatBreak {
  file: string;
}

export interface ContractsCheckResult {
  ok: boolean;
  /** Release compared against, e.g. `0.1.0`; undefined when there is none yet. */
  release?: string;
  checked: string[];
  breaks: ContractsCheckBreak[];
  /** Human-readable lines for the CLI / CI log. */
  report: string[];
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Newest snapshot under contracts/releases/ (semver-named folders). */
export function newestRelease(repoRoot: string): string | undefined {
  const dir = join(repoRoot, 'contracts', 'releases');
  if (!existsSync(dir)) return undefined;
  const versions = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d+\.\d+\.\d+$/.test(d.name))
    .map((d) => d.name)
    .sort(compareVersions);
  return versions.at(-1);
}

/**
 * Compares contracts/*.schema.json with the newest release snapshot (`vochub contracts check`, CI).
 * New files (new contracts, new majors) are fine; a released file that disappeared is a break.
 */
export function checkContracts(repoRoot: string, release: string | undefined = newestRelease(repoRoot)): ContractsCheckResult {
  if (release === undefined) {
    return { ok: true, checked: [], breaks: [], report: ['尚无已发布版本，无需比较 / no release snapshot yet, nothing to compare'] };
  }
  const releaseDir = join(repoRoot, 'contracts', 'releases', release);
  const currentDir = join(repoRoot, 'contracts');
  const breaks: ContractsCheckBreak[] = [];
  const checked: string[] = [];
  for (const file of readdirSync(releaseDir).filter((f) => CONTRACT_FILE.test(f)).sort()) {
    checked.push(file);
    const currentFile = join(currentDir, file);
    if (!existsSync(currentFile)) {
      breaks.push({ file, code: 'COMPAT_CONTRACT_REMOVED', path: '', message: `已发布的契约被删除 / released contract removed: ${file}` });
      continue;
    }
    const previous = JSON.parse(readFileSync(join(releaseDir, file), 'utf8')) as Schema;
    const next = JSON.parse(readFileSync(currentFile, 'utf8')) as Schema;
    for (const b of checkCompatibility(previous, next).breaks) breaks.push({ file, ...b });
  }
  const report = [`与发布版本 ${release} 比较 ${checked.length} 个契约 / compared ${checked.length} contracts with release ${release}`];
  for (const b of breaks) report.push(`${b.file} ${b.code} ${b.path || '/'}: ${b.message}`);
  report.push(breaks.length === 0 ? '兼容 / compatible' : `${breaks.length} 处不兼容 / ${breaks.length} breaking change(s)`);
  return { ok: breaks.length === 0, release, checked, breaks, report };
}
