// The code registry: the repository's national tables (code-tables.ts) plus what operators load at
// run time — the 职业教育专业目录 (no licensed copy may ship, so each hub loads its own file and the
// yearly additions) and member-local crosswalks. Loaded files are kept under <dataDir>/code-tables/
// and re-read on open, so a restart sees the same registry. Bad rows become problems; good rows load.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { VochubError } from '../errors.ts';
import { AreaCodeTable, EffectiveDatedTable, defaultCodeTables, type CodeTableSet } from './code-tables.ts';
import type { CodeEntry, CodeTable } from './types.ts';

/** The name of the vocational catalogue table. */
export const CATALOGUE_TABLE = 'VOC-MAJORS';

export type EducationLevel = 'zhongzhi' | 'gaozhi-zhuanke' | 'gaozhi-benke';

/**
 * Level of a 专业目录 code from its first two digits (the 专业大类): 21–39 高职本科, 41–59 高职专科,
 * 61–79 中职 (2021 catalogue). Undefined for anything else.
 */
export function educationLevelOf(code: string): EducationLevel | undefined {
  if (!/^\d{2}/.test(code)) return undefined;
  const n = +code.slice(0, 2);
  if (n >= 21 && n <= 39) return 'gaozhi-benke';
  if (n >= 41 && n <= 59) return 'gaozhi-zhuanke';
  if (n >= 61 && n <= 79) return 'zhongzhi';
  return undefined;
}

export interface CatalogueEntry extends CodeEntry {
  /** 专业大类 (2 digits), 专业类 (4), 专业 (6). */
  level: '专业大类' | '专业类' | '专业';
  educationLevel: EducationLevel;
  parent?: string;
  /** Catalogue edition or addition year that introduced this period. */
  catalogVersion: string;
}

/** One member-local (or standard) mapping, in the shape of the Ed-Fi descriptor mappings. */
export interface CrosswalkEntry {
  namespace: string;
  value: string;
  mappedNamespace: string;
  mappedValue: string;
  /** Crosswalk file (set) it came from. */
  set: string;
}

export interface LoadProblem {
  code: string;
  line?: number;
  field?: string;
  value?: string;
  message: string;
}

export interface LoadResult {
  file: string;
  rows: number;
  loaded: number;
  problems: LoadProblem[];
}

export interface TableInfo {
  name: string;
  title: string;
  version?: string;
  kind: 'simple' | 'effective-dated' | 'catalogue';
  /** Codes in use now (all codes for undated tables). */
  current: number;
  /** Entries including retired periods. */
  entries: number;
  origin: 'repository' | 'operator';
  /** Loaded files of an operator table, in load order. */
  files?: string[];
}

export interface TableDiff {
  table: string;
  from: string;
  to: string;
  added: CodeEntry[];
  removed: CodeEntry[];
  renamed: { code: string; fromLabel: string; toLabel: string }[];
}

type CsvRow = Record<string, string>;

// Operators' files come with Chinese or English headers.
const CATALOGUE_COLUMNS: Record<string, string[]> = {
  code: ['code', '专业代码', '代码'],
  name: ['name', '专业名称', '名称'],
  catalogVersion: ['catalogVersion', '目录版本', '版本', '年度'],
  change: ['change', '变更', '变更类型'],
  note: ['note', '备注'],
};
const CHANGE_KINDS: Record<string, 'add' | 'rename' | 'retire'> = {
  '': 'add', add: 'add', 新增: 'add', 增补: 'add', rename: 'rename', 更名: 'rename', retire: 'retire', 撤销: 'retire', 停招: 'retire',
};
const CROSSWALK_COLUMNS = ['namespace', 'value', 'mappedNamespace', 'mappedValue'];
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/;

/** A cell by any of its header names; codes are NFKC-folded (full-width digits), names only trimmed. */
function column(row: CsvRow, names: string[], fold = true): string {
  for (const n of names) if (row[n] !== undefined) return (fold ? row[n]!.normalize('NFKC') : row[n]!).trim();
  return '';
}

function parseCsv(text: string): CsvRow[] {
  return parse(text, { bom: true, columns: true, skip_empty_lines: true, relax_column_count: true }) as CsvRow[];
}

/** The vocational catalogue: effective-dated, with its structure checked on load. */
export class CatalogueTable extends EffectiveDatedTable {
  readonly files: string[] = [];

  /** Applies one catalogue file (the base edition or a yearly addition). Returns problems for bad rows. */
  apply(text: string, file: string): LoadResult {
    const problems: LoadProblem[] = [];
    let rows: CsvRow[];
    try {
      rows = parseCsv(text);
    } catch (error) {
      throw new VochubError('CODES_FILE_INVALID', `专业目录文件无法解析 / cannot parse the catalogue file: ${String(error)}`, { status: 400 });
    }
    const first = rows[0];
    if (first === undefined || !CATALOGUE_COLUMNS.code!.some((c) => c in first) || !CATALOGUE_COLUMNS.name!.some((c) => c in first)) {
      throw new VochubError('CODES_FILE_INVALID', '专业目录文件须有 专业代码/code 与 专业名称/name 列 / the catalogue needs code and name columns', { status: 400 });
    }
    let loaded = 0;
    rows.forEach((row, i) => {
      const line = i + 2;
      const code = column(row, CATALOGUE_COLUMNS.code!);
      const name = column(row, CATALOGUE_COLUMNS.name!, false);
      const version = column(row, CATALOGUE_COLUMNS.catalogVersion!);
      const change = CHANGE_KINDS[column(row, CATALOGUE_COLUMNS.change!).toLowerCase()];
      const bad = (c: string, field: string, value: string, message: string) => problems.push({ code: c, line, field, value, message });
      if (!/^(\d{2}|\d{4}|\d{6})$/.test(code)) return bad('CATALOGUE_CODE_FORMAT', 'code', code, '专业代码须为2、4或6位数字 / code must have 2, 4 or 6 digits');
      const educationLevel = educationLevelOf(code);
      if (!educationLevel) return bad('CATALOGUE_LEVEL_RANGE', 'code', code, '专业大类须在 21–39、41–59 或 61–79 / the 大类 must be 21–39, 41–59 or 61–79');
      if (!/^\d{4}$/.test(version)) return bad('CATALOGUE_VERSION', 'catalogVersion', version, '目录版本须为年份 / catalogVersion must be a year');
      if (!change) return bad('CATALOGUE_CHANGE', 'change', column(row, CATALOGUE_COLUMNS.change!), '变更类型须为 新增/更名/撤销 / change must be add, rename or retire');
      if (change !== 'retire' && name === '') return bad('CATALOGUE_NAME', 'name', '', '专业名称为空 / name is empty');
      const from = `${version}-01-01`;
      const parent = code.length > 2 ? code.slice(0, code.length - 2) : undefined;
      if (parent !== undefined && this.periods.has(parent) === false && rows.every((r) => column(r, CATALOGUE_COLUMNS.code!) !== parent)) {
        return bad('CATALOGUE_PARENT_MISSING', 'code', code, `上级代码 ${parent} 不在目录中 / parent ${parent} is not in the catalogue`);
      }
      const open = this.at(code);
      if (change === 'add' && open) return bad('CATALOGUE_DUPLICATE', 'code', code, '代码已在用 / code already in use');
      if (change !== 'add' && !open) return bad('CATALOGUE_NOT_IN_USE', 'code', code, '代码不在用，无法更名或撤销 / code is not in use: cannot rename or retire');
      // A change in edition Y applies from Y-01-01. As in GB/T 2260 (years only), the old period runs to
      // the end of Y: during the year of a change both forms are accepted, and the state at the end of
      // Y (what diff compares) has only the new one.
      if (change !== 'add') this.closePeriod(code, `${version}-12-31`);
      if (change !== 'retire') {
        const entry: CatalogueEntry = {
          code, label: name, validFrom: from, level: code.length === 2 ? '专业大类' : code.length === 4 ? '专业类' : '专业', educationLevel, catalogVersion: version,
          ...(parent ? { parent } : {}),
        };
        this.addPeriod(entry);
      }
      loaded++;
    });
    this.files.push(file);
    return { file, rows: rows.length, loaded, problems };
  }
}

function isDated(table: CodeTable): table is EffectiveDatedTable {
  return table instanceof EffectiveDatedTable;
}

/**
 * Code → entry valid on `at` (undefined: in use now; undated tables: every code). `endOfDay`: only
 * what is still in force at the end of that day — a code retired on `at` is out. Validation is
 * lenient on the (year-granular) boundary; a diff must not be, or a change year would show both.
 */
export function entriesAt(table: CodeTable, at?: string, options: { endOfDay?: boolean } = {}): Map<string, CodeEntry> {
  const out = new Map<string, CodeEntry>();
  if (isDated(table)) {
    for (const e of table.entries()) {
      if (out.has(e.code)) continue;
      const entry = table.at(e.code, at);
      if (!entry) continue;
      if (options.endOfDay && at !== undefined && entry.validTo !== undefined && entry.validTo <= at) {
        // Possibly a later period of the same code starts the next day.
        const later = table.at(e.code, nextDay(at));
        if (later && (later.validFrom ?? '') <= at) out.set(e.code, later);
        continue;
      }
      out.set(e.code, entry);
    }
    return out;
  }
  for (const e of table.entries()) out.set(e.code, e);
  return out;
}

/** What changed between two dates: codes added, codes removed (with successors), labels changed. */
export function diffTable(table: CodeTable, from: string, to: string): TableDiff {
  const a = entriesAt(table, from, { endOfDay: true });
  const b = entriesAt(table, to, { endOfDay: true });
  const added: CodeEntry[] = [];
  const removed: CodeEntry[] = [];
  const renamed: TableDiff['renamed'] = [];
  for (const [code, e] of b) {
    const old = a.get(code);
    if (!old) added.push(e);
    else if (old.label !== e.label) renamed.push({ code, fromLabel: old.label, toLabel: e.label });
  }
  for (const [code, e] of a) if (!b.has(code)) removed.push(e);
  const byCode = (x: { code: string }, y: { code: string }) => x.code.localeCompare(y.code);
  return { table: table.name, from, to, added: added.sort(byCode), removed: removed.sort(byCode), renamed: renamed.sort(byCode) };
}

export class CodeRegistry {
  readonly builtin: CodeTableSet;
  private readonly dir: string | undefined;
  private catalogue: CatalogueTable;
  private readonly sets = new Map<string, CrosswalkEntry[]>();
  private readonly byNamespaceValue = new Map<string, CrosswalkEntry[]>();
  /** Files named in the group config: applied (not persisted) before the operator's loaded files, on every reload. */
  /** Outcome of the last application of each seed/loaded file, by `<kind>:<name>`. */
  private readonly results = new Map<string, LoadResult>();
  private readonly seeds: { kind: 'catalogue' | 'crosswalk'; name: string; text: string; format: 'csv' | 'jsonl' }[] = [];

  /** `dataDir`: the hub's data folder; loaded files persist under `<dataDir>/code-tables/`. */
  constructor(options: { builtin?: CodeTableSet; dataDir?: string } = {}) {
    this.builtin = options.builtin ?? defaultCodeTables();
    this.dir = options.dataDir === undefined ? undefined : join(options.dataDir, 'code-tables');
    this.catalogue = new CatalogueTable(CATALOGUE_TABLE, '职业教育专业目录 / Vocational education programme catalogue (operator-loaded)');
    this.loadBuiltinCrosswalks();
    this.reload();
  }

  /** Re-reads the operator files from the data folder (after another process loaded one). */
  reload(): void {
    this.catalogue = new CatalogueTable(CATALOGUE_TABLE, this.catalogue.title);
    for (const name of [...this.sets.keys()]) if (!name.startsWith('builtin:')) this.dropSet(name);
    for (const seed of this.seeds) {
      const result = seed.kind === 'catalogue' ? this.catalogue.apply(seed.text, seed.name) : this.applyCrosswalk(seed.text, seed.name, seed.format);
      this.results.set(`${seed.kind}:${seed.name}`, result);
    }
    if (this.dir === undefined) return;
    // Stored as NNN-<name>: the prefix keeps the load order; the name is what the operator gave.
    for (const file of listFiles(join(this.dir, 'catalogue'))) this.catalogue.apply(readFileSync(join(this.dir, 'catalogue', file), 'utf8'), file.replace(/^\d{3}-/, ''));
    for (const file of listFiles(join(this.dir, 'crosswalks'))) this.applyCrosswalk(readFileSync(join(this.dir, 'crosswalks', file), 'utf8'), file.replace(/\.(csv|jsonl)$/, ''), file.endsWith('.jsonl') ? 'jsonl' : 'csv');
  }

  list(): TableInfo[] {
    const out: TableInfo[] = [];
    for (const [name, table] of this.builtin.tables) {
      const spec = this.builtin.specs?.get(name);
      const all = [...table.entries()].length;
      out.push({
        name, title: table.title, ...(spec?.version ? { version: spec.version } : {}), kind: isDated(table) ? 'effective-dated' : 'simple',
        current: table instanceof AreaCodeTable ? table.currentCount : all, entries: all, origin: 'repository',
      });
    }
    out.push({
      name: CATALOGUE_TABLE, title: this.catalogue.title, kind: 'catalogue', current: this.catalogue.currentCount, entries: [...this.catalogue.entries()].length,
      origin: 'operator', files: [...this.catalogue.files], ...(this.catalogue.files.length > 0 ? { version: this.catalogue.files.join(' + ') } : {}),
    });
    return out;
  }

  has(name: string): boolean {
    return name === CATALOGUE_TABLE || this.builtin.tables.has(name);
  }

  /** Throws CODE_TABLE_UNKNOWN_TABLE (404). */
  table(name: string): CodeTable {
    if (name === CATALOGUE_TABLE) return this.catalogue;
    const t = this.builtin.tables.get(name);
    if (!t) throw new VochubError('CODE_TABLE_UNKNOWN_TABLE', `代码表不存在 / unknown code table ${name}`, { status: 404 });
    return t;
  }

  /** Entries valid on `at` whose code starts with `q` or whose label contains it (NFKC), code order. */
  query(name: string, options: { at?: string; q?: string; limit?: number } = {}): CodeEntry[] {
    const table = this.table(name);
    const q = options.q?.normalize('NFKC').trim();
    const out: CodeEntry[] = [];
    for (const e of entriesAt(table, options.at).values()) {
      if (q && !e.code.startsWith(q) && !e.label.normalize('NFKC').includes(q)) continue;
      out.push(e);
    }
    out.sort((x, y) => x.code.localeCompare(y.code));
    return out.slice(0, options.limit ?? 200);
  }

  /** Label → code; for dated tables the label must be the code's label on `at` (default today). */
  codeOf(name: string, label: string, at?: string): string | undefined {
    const table = this.table(name);
    const code = table.codeOf(label);
    if (code === undefined || !isDated(table) || at === undefined) return code;
    return table.has(code, at) ? code : undefined;
  }

  diff(name: string, from: string, to: string): TableDiff {
    return diffTable(this.table(name), from, to);
  }

  /**
   * Applies a file named in the configuration (kept in memory, re-applied on every reload, never
   * persisted). The same name twice is applied once. Returns the load result (problems of bad rows).
   */
  seed(kind: 'catalogue' | 'crosswalk', text: string, name: string, format: 'csv' | 'jsonl' = 'csv'): LoadResult | undefined {
    if (this.seeds.some((x) => x.kind === kind && x.name === name)) return undefined;
    if (kind === 'crosswalk' && (!SAFE_NAME.test(name) || name.startsWith('builtin'))) {
      throw new VochubError('CODES_NAME_INVALID', `对照表名称无效 / invalid crosswalk name ${name}`, { status: 400 });
    }
    this.seeds.push({ kind, name, text, format });
    // Seeds go first: rebuild so that operator loads still apply on top of them, in order.
    this.reload();
    return this.results.get(`${kind}:${name}`);
  }

  /** Loads a catalogue file (base edition or yearly addition) and keeps it for the next start. */
  loadCatalogue(text: string, fileName: string): LoadResult {
    const name = safeFileName(fileName, '.csv');
    // Good rows apply, bad rows come back as problems; the file is kept as given so a restart replays
    // exactly the same sequence (renames and retirements depend on what was loaded before).
    const result = this.catalogue.apply(text, name);
    if (this.dir !== undefined && result.loaded > 0) {
      const folder = join(this.dir, 'catalogue');
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `${String(listFiles(folder).length + 1).padStart(3, '0')}-${name}`), text);
    }
    if (result.loaded === 0) this.catalogue.files.pop();
    return result;
  }

  /** Loads a crosswalk set (CSV namespace,value,mappedNamespace,mappedValue or Ed-Fi style JSON Lines); replaces a set of the same name. */
  loadCrosswalk(text: string, setName: string, format: 'csv' | 'jsonl'): LoadResult {
    if (!SAFE_NAME.test(setName) || setName.startsWith('builtin')) {
      throw new VochubError('CODES_NAME_INVALID', `对照表名称无效 / invalid crosswalk name ${setName}`, { status: 400 });
    }
    this.dropSet(setName);
    const result = this.applyCrosswalk(text, setName, format);
    if (this.dir !== undefined && result.loaded > 0) {
      mkdirSync(join(this.dir, 'crosswalks'), { recursive: true });
      writeFileSync(join(this.dir, 'crosswalks', `${setName}.${format}`), text);
    }
    return result;
  }

  /** Mappings of (namespace, value); `mappedNamespace` narrows to one target. */
  crosswalk(namespace: string, value: string, mappedNamespace?: string): CrosswalkEntry[] {
    const hits = this.byNamespaceValue.get(`${namespace}\u0000${value}`) ?? [];
    return mappedNamespace === undefined ? [...hits] : hits.filter((h) => h.mappedNamespace === mappedNamespace);
  }

  crosswalkSets(): { set: string; entries: number; namespaces: string[] }[] {
    return [...this.sets].map(([set, rows]) => ({ set, entries: rows.length, namespaces: [...new Set(rows.map((r) => r.namespace))] }));
  }

  crosswalkEntries(set: string): CrosswalkEntry[] {
    const rows = this.sets.get(set);
    if (!rows) throw new VochubError('NOT_FOUND', `对照表不存在 / crosswalk ${set} not found`, { status: 404 });
    return rows;
  }

  private loadBuiltinCrosswalks(): void {
    // The GB/T 3304 extension variants, seen as crosswalks from each variant's namespace to the table.
    for (const [table, rows] of this.builtin.crosswalks) {
      // Several labels of one variant code (57 其他 / 57 其他未标明民族) are one mapping.
      const unique = new Map<string, CrosswalkEntry>();
      for (const r of rows) unique.set(`${r.variant}\u0000${r.code}`, { namespace: `${table}:variant-${r.variant}`, value: r.code, mappedNamespace: table, mappedValue: r.canonicalCode, set: `builtin:${table}` });
      this.addSet(`builtin:${table}`, [...unique.values()]);
    }
    const dir = new URL('../../contracts/code-tables/crosswalks/', import.meta.url);
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir).sort()) {
      if (!/\.(csv|jsonl)$/.test(file)) continue;
      this.applyCrosswalk(readFileSync(new URL(file, dir), 'utf8'), `builtin:${file.replace(/\.(csv|jsonl)$/, '')}`, file.endsWith('.jsonl') ? 'jsonl' : 'csv');
    }
  }

  private applyCrosswalk(text: string, set: string, format: 'csv' | 'jsonl'): LoadResult {
    const problems: LoadProblem[] = [];
    let rows: Record<string, unknown>[] = [];
    if (format === 'jsonl') {
      text.split(/\r?\n/).forEach((line, i) => {
        if (line.trim() === '') return;
        try {
          rows.push({ ...(JSON.parse(line) as Record<string, unknown>), __line: i + 1 });
        } catch {
          problems.push({ code: 'CROSSWALK_ROW_INVALID', line: i + 1, message: '不是合法的 JSON / not valid JSON' });
        }
      });
    } else {
      try {
        rows = parseCsv(text).map((r, i) => ({ ...r, __line: i + 2 }));
      } catch (error) {
        throw new VochubError('CODES_FILE_INVALID', `对照表无法解析 / cannot parse the crosswalk: ${String(error)}`, { status: 400 });
      }
    }
    const entries: CrosswalkEntry[] = [];
    for (const row of rows) {
      const line = row.__line as number;
      const missing = CROSSWALK_COLUMNS.filter((c) => typeof row[c] !== 'string' || (row[c] as string).trim() === '');
      if (missing.length > 0) {
        problems.push({ code: 'CROSSWALK_ROW_INVALID', line, field: missing[0], message: `缺少 ${missing.join(', ')} / missing ${missing.join(', ')}` });
        continue;
      }
      const [namespace, value, mappedNamespace, mappedValue] = CROSSWALK_COLUMNS.map((c) => (row[c] as string).trim()) as [string, string, string, string];
      // A mapping into one of our tables must land on a code that exists there.
      if (this.has(mappedNamespace) && mappedNamespace !== CATALOGUE_TABLE && !this.table(mappedNamespace).has(mappedValue, undefined) && !(this.table(mappedNamespace) instanceof EffectiveDatedTable && (this.table(mappedNamespace) as EffectiveDatedTable).everExisted(mappedValue))) {
        problems.push({ code: 'CROSSWALK_TARGET_UNKNOWN', line, field: 'mappedValue', value: mappedValue, message: `${mappedValue} 不在代码表 ${mappedNamespace} 中 / not in code table ${mappedNamespace}` });
        continue;
      }
      entries.push({ namespace, value, mappedNamespace, mappedValue, set });
    }
    const duplicates = new Set<string>();
    const seen = new Set<string>();
    for (const e of entries) {
      const k = `${e.namespace}\u0000${e.value}\u0000${e.mappedNamespace}`;
      if (seen.has(k)) duplicates.add(k);
      seen.add(k);
    }
    const kept = entries.filter((e) => !duplicates.has(`${e.namespace}\u0000${e.value}\u0000${e.mappedNamespace}`));
    for (const k of duplicates) {
      const [namespace, value] = k.split('\u0000');
      problems.push({ code: 'CROSSWALK_AMBIGUOUS', field: 'value', value, message: `${namespace} ${value} 映射到多个值，已全部拒绝 / maps to several values: all refused` });
    }
    if (kept.length > 0) this.addSet(set, kept);
    return { file: set, rows: rows.length, loaded: kept.length, problems };
  }

  private addSet(set: string, entries: CrosswalkEntry[]): void {
    this.sets.set(set, entries);
    for (const e of entries) {
      const k = `${e.namespace}\u0000${e.value}`;
      let list = this.byNamespaceValue.get(k);
      if (!list) this.byNamespaceValue.set(k, (list = []));
      list.push(e);
    }
  }

  private dropSet(set: string): void {
    const rows = this.sets.get(set);
    if (!rows) return;
    this.sets.delete(set);
    for (const e of rows) {
      const k = `${e.namespace}\u0000${e.value}`;
      const list = this.byNamespaceValue.get(k)?.filter((x) => x.set !== set) ?? [];
      if (list.length === 0) this.byNamespaceValue.delete(k);
      else this.byNamespaceValue.set(k, list);
    }
  }
}

function nextDay(iso: string): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function listFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /\.(csv|jsonl)$/.test(f)).sort() : [];
}

function safeFileName(name: string, ext: string): string {
  const base = name.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'file';
  return `${base}${ext}`;
}

const registries = new Map<string, CodeRegistry>();

/** One registry per data folder per process: the codes and quality plugins share what operators load. */
export function openCodeRegistry(dataDir: string): CodeRegistry {
  let r = registries.get(dataDir);
  if (!r) registries.set(dataDir, (r = new CodeRegistry({ dataDir })));
  return r;
}

