// Contract registry: every contracts/<name>.v<major>.schema.json added to one Ajv2020 instance and
// compiled at boot, so an unresolved $ref stops start-up instead of failing a record later.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Ajv, AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { VochubError } from '../errors.ts';
import { loadCodeTables, type CodeTableSet } from './code-tables.ts';
import { addVochubKeywords, hasLoneSurrogate } from './keywords.ts';
import type { CodeTable, ContractInfo, ContractRegistry, FieldError, PiiClass, PiiField, ValidationResult } from './types.ts';

const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  addFormatsModule) as unknown as FormatsPlugin;

export interface LoadContractsOptions {
  /** Folder holding `<name>.v<major>.schema.json`; default: the repository's contracts/. */
  dir?: string;
  /** Folder holding tables.json and the code table files; default: `<dir>/code-tables`, else the repository's. */
  codeTablesDir?: string;
  /** Code tables already loaded (shared between registries in tests). */
  codeTables?: CodeTableSet;
}

export const CONTRACT_FILE = /^([a-z][a-z0-9-]*)\.v(\d+)\.schema\.json$/;

export function defaultContractsDir(): string {
  return fileURLToPath(new URL('../../contracts/', import.meta.url));
}

function repoRootOf(dir: string): string {
  return resolve(dir, '..');
}

/** A fresh Ajv configured the way every contract is validated (strict, all errors, our keywords). */
export function createContractAjv(codeTables: CodeTableSet): Ajv {
  const ajv = new Ajv2020({
    allErrors: true,
    // Strict: unknown keywords and formats are errors, so a typo in a contract stops start-up.
    // strictRequired is off: `anyOf: [{ required: [...] }]` is how a contract says "one of these".
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    // minLength/maxLength count code points by default in ajv 8 (C13); never turn that off.
    // No loadSchema: a $ref that is not among the added schemas fails compile (no network fetch).
  });
  addFormats(ajv, { mode: 'full' });
  addVochubKeywords(ajv, codeTables);
  return ajv;
}

interface SchemaDocument {
  file: string;
  absFile: string;
  schema: AnySchemaObject;
}

function readSchemaFile(absFile: string, repoRoot: string): SchemaDocument {
  const file = relative(repoRoot, absFile);
  try {
    return { file, absFile, schema: JSON.parse(readFileSync(absFile, 'utf8')) as AnySchemaObject };
  } catch (cause) {
    throw new VochubError('CONTRACT_INVALID', `契约文件无法解析 / cannot parse contract file ${file}`, {
      details: { file },
      cause,
    });
  }
}

/**
 * Adds schema files to `ajv` (addSchema, so relative and cross-file refs resolve against `$id`) and
 * compiles each one. Throws CONTRACT_REF_UNRESOLVED naming the file and the ref, CONTRACT_INVALID
 * for a schema ajv refuses. Works for any draft the Ajv instance supports (C43 uses draft-07).
 */
export function addAndCompileSchemaFiles(
  ajv: Ajv,
  absFiles: string[],
  repoRoot: string,
): { doc: SchemaDocument; validate: ValidateFunction }[] {
  const docs = absFiles.map((f) => readSchemaFile(f, repoRoot));
  for (const doc of docs) {
    try {
      ajv.addSchema(doc.schema);
    } catch (cause) {
      throw new VochubError('CONTRACT_INVALID', `契约无效 / invalid contract ${doc.file}: ${(cause as Error).message}`, {
        details: { file: doc.file },
        cause,
      });
    }
  }
  return docs.map((doc) => {
    try {
      return { doc, validate: ajv.compile(doc.schema) };
    } catch (cause) {
      const missingRef = (cause as { missingRef?: string }).missingRef;
      if (missingRef !== undefined) {
        throw new VochubError(
          'CONTRACT_REF_UNRESOLVED',
          `契约 ${doc.file} 的引用无法解析 / unresolved $ref in ${doc.file}: ${missingRef}`,
          { details: { file: doc.file, ref: missingRef }, cause },
        );
      }
      throw new VochubError('CONTRACT_INVALID', `契约无法编译 / cannot compile ${doc.file}: ${(cause as Error).message}`, {
        details: { file: doc.file },
        cause,
      });
    }
  });
}

interface CompiledContract {
  info: ContractInfo;
  schema: AnySchemaObject;
  validate: ValidateFunction;
}

const OK: ValidationResult = Object.freeze({ ok: true }) as ValidationResult;

function pointerGet(root: unknown, pointer: string, uriFragment = false): unknown {
  if (pointer === '' || pointer === '#') return root;
  let node = root;
  for (const raw of pointer.replace(/^#?\//, '').split('/')) {
    const key = (uriFragment ? decodeURIComponent(raw) : raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Follows `$ref` chains (same file or other contracts by `$id`) to find a keyword's value. */
function findKeyword(
  schema: AnySchemaObject | undefined,
  keyword: string,
  current: AnySchemaObject,
  byId: Map<string, AnySchemaObject>,
  depth = 0,
): unknown {
  if (!schema || depth > 10) return undefined;
  if (keyword in schema) return schema[keyword];
  const ref = schema.$ref as string | undefined;
  if (typeof ref !== 'string') return undefined;
  const hash = ref.indexOf('#');
  const base = hash < 0 ? ref : ref.slice(0, hash);
  const doc = base === '' ? current : byId.get(base);
  if (!doc) return undefined;
  const target = pointerGet(doc, hash < 0 ? '' : ref.slice(hash + 1), true) as AnySchemaObject | undefined;
  return findKeyword(target, keyword, doc, byId, depth + 1);
}

/** PII is only allowed on top-level properties (or on $defs they reference): encryption works per field. */
function assertPiiPlacement(node: unknown, path: string, file: string): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach((child, i) => assertPiiPlacement(child, `${path}/${i}`, file));
    return;
  }
  for (const [key, child] of Object.entries(node)) {
    if (key === 'x-pii' && !/^\/(properties|\$defs)\/[^/]+$/.test(path)) {
      throw new VochubError(
        'CONTRACT_PII_NESTED',
        `x-pii 只能用于顶层属性 / x-pii is allowed on top-level properties only: ${file} ${path}`,
        { details: { file, path } },
      );
    }
    assertPiiPlacement(child, `${path}/${key}`, file);
  }
}

function assertContractShape(doc: SchemaDocument, name: string, major: number): void {
  const s = doc.schema;
  const problems: string[] = [];
  if (s.$id !== `urn:vochub:contract:${name}:${major}`) problems.push(`$id must be urn:vochub:contract:${name}:${major}`);
  if (s.$schema !== 'https://json-schema.org/draft/2020-12/schema') problems.push('$schema must be draft 2020-12');
  if (s.type !== 'object') problems.push('type must be object');
  if (s.additionalProperties !== false) problems.push('additionalProperties must be false (closed content)');
  const props = (s.properties ?? {}) as Record<string, AnySchemaObject>;
  if (!props.id) problems.push('property id is missing');
  if (!Array.isArray(s.required) || !s.required.includes('id')) problems.push('id must be required');
  if (!props.extensions) problems.push('property extensions is missing');
  if (problems.length > 0) {
    throw new VochubError('CONTRACT_INVALID', `契约不符合约定 / contract ${doc.file} breaks conventions: ${problems.join('; ')}`, {
      details: { file: doc.file, problems },
    });
  }
}

const registries = new WeakMap<ContractRegistry, Ajv>();

export function loadContracts(options: LoadContractsOptions = {}): ContractRegistry {
  const dir = resolve(options.dir ?? defaultContractsDir());
  const repoRoot = repoRootOf(dir);
  const tablesDir =
    options.codeTablesDir ?? (existsSync(join(dir, 'code-tables', 'tables.json')) ? join(dir, 'code-tables') : undefined);
  const codeTables = options.codeTables ?? loadCodeTables(tablesDir);
  const ajv = createContractAjv(codeTables);

  const files = readdirSync(dir)
    .filter((f) => CONTRACT_FILE.test(f))
    .sort();
  const compiled = addAndCompileSchemaFiles(
    ajv,
    files.map((f) => join(dir, f)),
    repoRoot,
  );

  const byId = new Map<string, AnySchemaObject>();
  for (const { doc } of compiled) if (typeof doc.schema.$id === 'string') byId.set(doc.schema.$id, doc.schema);

  const contracts = new Map<string, CompiledContract>();
  const byName = new Map<string, CompiledContract>();
  for (const { doc, validate } of compiled) {
    const m = CONTRACT_FILE.exec(doc.absFile.slice(doc.absFile.lastIndexOf('/') + 1))!;
    const name = m[1]!;
    const major = Number(m[2]);
    assertContractShape(doc, name, major);
    assertPiiPlacement(doc.schema, '', doc.file);
    const pii: PiiField[] = [];
    for (const [field, prop] of Object.entries((doc.schema.properties ?? {}) as Record<string, AnySchemaObject>)) {
      const cls = findKeyword(prop, 'x-pii', doc.schema, byId);
      if (typeof cls === 'string') pii.push({ field, class: cls as PiiClass });
    }
    const info: ContractInfo = {
      name,
      version: major,
      $id: doc.schema.$id as string,
      title: typeof doc.schema.title === 'string' ? doc.schema.title : name,
      keyField: 'id',
      pii,
      file: doc.file,
    };
    const entry: CompiledContract = { info, schema: doc.schema, validate };
    contracts.set(info.$id, entry);
    const latest = byName.get(name);
    if (!latest || latest.info.version < major) byName.set(name, entry);
  }

  function lookup(name: string): CompiledContract {
    const c = byName.get(name) ?? contracts.get(name);
    if (!c) throw new VochubError('CONTRACT_UNKNOWN', `未知契约 / unknown contract: ${name}`, { status: 404 });
    return c;
  }

  const registry: ContractRegistry = {
    list: () => [...contracts.values()].map((c) => c.info),
    get: (name) => lookup(name).info,
    has: (name) => byName.has(name) || contracts.has(name),
    validate(name, record) {
      const c = byName.get(name) ?? lookup(name);
      if (c.validate(record)) return OK;
      return { ok: false, errors: mapAjvErrors(c.validate.errors ?? [], record) };
    },
    codeTable(name): CodeTable {
      const t = codeTables.tables.get(name);
      if (!t) throw new VochubError('CODE_TABLE_UNKNOWN_TABLE', `未知代码表 / unknown code table: ${name}`, { status: 404 });
      return t;
    },
    codeTables: () => [...codeTables.tables.keys()],
    schema: (name) => lookup(name).schema as Record<string, unknown>,
  };
  registries.set(registry, ajv);
  return registry;
}

/** The Ajv instance behind a registry: fastify reuses it so HTTP and bus share compiled schemas. */
export function ajvOf(registry: ContractRegistry): Ajv {
  const ajv = registries.get(registry);
  if (!ajv) throw new VochubError('CONTRACT_REGISTRY_FOREIGN', 'registry was not created by loadContracts');
  return ajv;
}

let shared: ContractRegistry | undefined;

/** The process-wide registry over the repository's contracts/, loaded on first use. */
export function getSharedRegistry(): ContractRegistry {
  shared ??= loadContracts();
  return shared;
}

/** The process-wide Ajv instance (all contracts added and compiled; our keywords and formats registered). */
export function getSharedAjv(): Ajv {
  return ajvOf(getSharedRegistry());
}

const KEYWORD_CODES: Record<string, string> = {
  required: 'CONTRACT_REQUIRED',
  dependentRequired: 'CONTRACT_REQUIRED',
  type: 'CONTRACT_TYPE',
  format: 'CONTRACT_FORMAT',
  pattern: 'CONTRACT_PATTERN',
  enum: 'CONTRACT_ENUM',
  const: 'CONTRACT_ENUM',
  additionalProperties: 'CONTRACT_ADDITIONAL',
  unevaluatedProperties: 'CONTRACT_ADDITIONAL',
  minLength: 'CONTRACT_LENGTH',
  maxLength: 'CONTRACT_LENGTH',
  minItems: 'CONTRACT_LENGTH',
  maxItems: 'CONTRACT_LENGTH',
  minProperties: 'CONTRACT_LENGTH',
  maxProperties: 'CONTRACT_LENGTH',
  minimum: 'CONTRACT_RANGE',
  maximum: 'CONTRACT_RANGE',
  exclusiveMinimum: 'CONTRACT_RANGE',
  exclusiveMaximum: 'CONTRACT_RANGE',
  multipleOf: 'CONTRACT_RANGE',
  uniqueItems: 'CONTRACT_UNIQUE',
  'x-code-table': 'CODE_TABLE_UNKNOWN',
  'x-gb11643': 'ID_NUMBER_INVALID',
  'x-gb32100': 'USCC_INVALID',
  'x-date-order': 'CONTRACT_DATE_ORDER',
  'x-well-formed': 'STRING_LONE_SURROGATE',
};

/** Keywords whose failure is only a summary of errors already reported underneath. */
const SUMMARY_KEYWORDS = new Set(['if', 'anyOf', 'oneOf', 'allOf', 'not', '$ref']);

function stringifyValue(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  if (s.length > 200) s = `${s.slice(0, 200)}…`;
  // A lone surrogate must not travel on into problem records and logs.
  return escapeLoneSurrogates(s);
}

function escapeLoneSurrogates(s: string): string {
  if (!hasLoneSurrogate(s)) return s;
  return s.replace(/[\uD800-\uDFFF]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function messageFor(code: string, e: ErrorObject, field: string): string {
  const p = e.params as Record<string, unknown>;
  switch (code) {
    case 'CONTRACT_REQUIRED':
      return `缺少必填字段 ${field} / required field ${field} is missing`;
    case 'CONTRACT_TYPE':
      return `类型错误，应为 ${String(p.type)} / must be of type ${String(p.type)}`;
    case 'CONTRACT_FORMAT':
      return `格式错误，应为 ${String(p.format)} / must match format ${String(p.format)}`;
    case 'CONTRACT_PATTERN':
      return `不符合规定格式 / must match pattern ${String(p.pattern)}`;
    case 'CONTRACT_ENUM':
      return `取值不在允许范围内 / must be one of the allowed values`;
    case 'CONTRACT_ADDITIONAL':
      return `契约中没有此字段（请放入 extensions） / field is not in the contract (put member-specific fields in extensions)`;
    case 'CONTRACT_LENGTH':
      return `长度不符合要求（按字符计） / ${e.message ?? 'length out of range'} (counted in characters)`;
    case 'CONTRACT_RANGE':
      return `数值超出范围 / ${e.message ?? 'out of range'}`;
    default:
      return e.message ?? code;
  }
}

/** Maps ajv errors to FieldErrors with stable codes and slash-free field paths. */
export function mapAjvErrors(errors: ErrorObject[], data: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    if (SUMMARY_KEYWORDS.has(e.keyword)) continue;
    const code = KEYWORD_CODES[e.keyword] ?? 'CONTRACT_INVALID';
    let pointer = e.instancePath;
    const p = e.params as Record<string, unknown>;
    let value: unknown;
    if (code === 'CONTRACT_REQUIRED') {
      pointer = `${pointer}/${String(p.missingProperty)}`;
    } else if (code === 'CONTRACT_ADDITIONAL') {
      pointer = `${pointer}/${String(p.additionalProperty ?? p.unevaluatedProperty)}`;
      value = pointerGet(data, pointer);
    } else {
      value = pointerGet(data, pointer);
    }
    let field = pointer.startsWith('/') ? pointer.slice(1) : pointer;
    if (code === 'STRING_LONE_SURROGATE') field = escapeLoneSurrogates(field);
    const error: FieldError = { code, field, message: messageFor(code, e, field) };
    const v = code === 'STRING_LONE_SURROGATE' || value === null || typeof value !== 'object' ? stringifyValue(value) : undefined;
    if (v !== undefined) error.value = v;
    out.push(error);
  }
  return out;
}
