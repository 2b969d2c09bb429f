// Code tables (GB/T 2261.1, GB/T 3304, GB/T 2260, ISO 3166-1 …) loaded from contracts/code-tables/.
// Tables are small and read once at boot; lookups are Map hits on the hot validation path.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { VochubError } from '../errors.ts';
import type { CodeEntry, CodeTable } from './types.ts';

interface SourceSpec {
  file: string;
  code: string;
  label: string;
  aliases?: string[];
}

export interface TableSpec {
  name: string;
  title: string;
  /** Edition of the standard and of the data, e.g. `GB/T 4762-1984`. */
  version?: string;
  kind?: 'simple' | 'gb2260-history' | 'gb4754-repair';
  sources: SourceSpec[];
  crosswalk?: string;
}

export interface CrosswalkRow {
  variant: string;
  code: string;
  label: string;
  canonicalCode: string;
  canonicalLabel: string;
  note: string;
}

type CsvRow = Record<string, string>;

function readCsv(file: string): CsvRow[] {
  return parse(readFileSync(file), { bom: true, columns: true, skip_empty_lines: true, trim: false }) as CsvRow[];
}

function normalizeLabel(label: string): string {
  return label.normalize('NFKC').trim();
}

/** A flat table: code → entry, label (and alias columns) → code. */
export class SimpleCodeTable implements CodeTable {
  readonly name: string;
  readonly title: string;
  private readonly byCode = new Map<string, CodeEntry>();
  private readonly byLabel = new Map<string, string>();
  private readonly byNormalizedLabel = new Map<string, string>();

  constructor(name: string, title: string) {
    this.name = name;
    this.title = title;
  }

  add(entry: CodeEntry, aliases: string[] = []): void {
    this.byCode.set(entry.code, entry);
    for (const label of [entry.label, ...aliases]) this.addLabel(label, entry.code);
  }

  /** First writer wins, so a table's own labels beat later aliases. */
  addLabel(label: string, code: string): void {
    if (!label) return;
    if (!this.byLabel.has(label)) this.byLabel.set(label, code);
    const normalized = normalizeLabel(label);
    if (!this.byNormalizedLabel.has(normalized)) this.byNormalizedLabel.set(normalized, code);
  }

  has(code: string, _at?: string): boolean {
    return this.byCode.has(code);
  }

  get(code: string): CodeEntry | undefined {
    return this.byCode.get(code);
  }

  codeOf(label: string): string | undefined {
    return this.byLabel.get(label) ?? this.byNormalizedLabel.get(normalizeLabel(label));
  }

  entries(): Iterable<CodeEntry> {
    return this.byCode.values();
  }

  get size(): number {
    return this.byCode.size;
  }
}

interface Period {
  /** Inclusive ISO date; undefined = since the first edition in the data (1981). */
  from?: string;
  /** Inclusive ISO date; undefined = still in use. */
  to?: string;
  entry: CodeEntry;
}

const FIRST_EDITION_YEAR = '1981';
const YEAR_SUFFIX = /\[\d{4}\]$/;

/**
 * A table whose codes have validity periods (GB/T 2260, the vocational catalogue). A code can have
 * several periods (name changes, re-use), hence a list per code. `has(code)` = in use today.
 */
export class EffectiveDatedTable implements CodeTable {
  readonly name: string;
  readonly title: string;
  protected readonly periods = new Map<string, Period[]>();
  private readonly currentByLabel = new Map<string, string | null>();
  private readonly anyByLabel = new Map<string, string>();

  constructor(name: string, title: string) {
    this.name = name;
    this.title = title;
  }

  /** Adds one period of a code. A later period of the same code closes an open earlier one the day before it starts. */
  addPeriod(entry: CodeEntry): void {
    const from = entry.validFrom;
    const to = entry.validTo;
    let list = this.periods.get(entry.code);
    if (!list) this.periods.set(entry.code, (list = []));
    list.push({ from, to, entry });
    const normalized = normalizeLabel(entry.label);
    if (to === undefined) {
      // Names repeat across provinces (朝阳区): an ambiguous current name resolves to nothing.
      const known = this.currentByLabel.get(normalized);
      this.currentByLabel.set(normalized, known === undefined || known === entry.code ? entry.code : null);
    }
    if (!this.anyByLabel.has(normalized)) this.anyByLabel.set(normalized, entry.code);
  }

  /** Closes the open period of a code on `to` (inclusive ISO date); returns false when none is open. */
  closePeriod(code: string, to: string, successors?: string[]): boolean {
    const list = this.periods.get(code);
    const open = list?.find((p) => p.to === undefined);
    if (!open) return false;
    open.to = to;
    open.entry = { ...open.entry, validTo: to, ...(successors && successors.length > 0 ? { successors } : {}) };
    const normalized = normalizeLabel(open.entry.label);
    if (this.currentByLabel.get(normalized) === code) this.currentByLabel.delete(normalized);
    return true;
  }

  /** Valid on `at` (ISO date); without `at`: valid today (in use now). */
  has(code: string, at?: string): boolean {
    return this.at(code, at) !== undefined;
  }

  /** The entry valid on `at` (undefined `at`: in use now). */
  at(code: string, at?: string): CodeEntry | undefined {
    const list = this.periods.get(code);
    if (!list) return undefined;
    for (const p of list) {
      if (at === undefined ? p.to === undefined : (p.from === undefined || p.from <= at) && (p.to === undefined || at <= p.to)) return p.entry;
    }
    return undefined;
  }

  /** The code was in use at some time on or before `at` (retired codes included): ID numbers keep the code of issue. */
  existedBy(code: string, at: string): boolean {
    const list = this.periods.get(code);
    if (!list) return false;
    for (const p of list) if (p.from === undefined || p.from <= at) return true;
    return false;
  }

  /** The code was in use at some moment between `from` and `to` (inclusive ISO dates). */
  inUseBetween(code: string, from: string, to: string): boolean {
    const list = this.periods.get(code);
    if (!list) return false;
    for (const p of list) if ((p.from === undefined || p.from <= to) && (p.to === undefined || p.to >= from)) return true;
    return false;
  }

  /** The code appears anywhere in the history. */
  everExisted(code: string): boolean {
    return this.periods.has(code);
  }

  /** The current entry if the code is in use, else the most recently retired one. */
  get(code: string): CodeEntry | undefined {
    const list = this.periods.get(code);
    if (!list) return undefined;
    let best: Period | undefined;
    for (const p of list) {
      if (p.to === undefined) return p.entry;
      if (!best || (best.to ?? '') < p.to) best = p;
    }
    return best?.entry;
  }

  /** All periods of a code, oldest first. */
  history(code: string): CodeEntry[] {
    const list = this.periods.get(code) ?? [];
    return list.map((p) => p.entry).sort((a, b) => (a.validFrom ?? '').localeCompare(b.validFrom ?? ''));
  }

  codeOf(label: string): string | undefined {
    const normalized = normalizeLabel(label);
    const current = this.currentByLabel.get(normalized);
    if (current !== undefined) return current ?? undefined;
    return this.anyByLabel.get(normalized);
  }

  *entries(): Iterable<CodeEntry> {
    for (const list of this.periods.values()) for (const p of list) yield p.entry;
  }

  /** Number of codes in use now. */
  get currentCount(): number {
    let n = 0;
    for (const list of this.periods.values()) if (list.some((p) => p.to === undefined)) n++;
    return n;
  }
}

/**
 * GB/T 2260 with its history. The source gives years only: a code enabled in year Y is treated as
 * valid from Y-01-01 and a code changed/retired in year Y as valid until Y-12-31, so both the old
 * and the new code are accepted during the year of a change (validation leans lenient on the
 * boundary; the exact day is not in the data).
 */
export class AreaCodeTable extends EffectiveDatedTable {
  addRow(row: CsvRow): void {
    const code = row['代码'] ?? '';
    const label = row['名称'] ?? '';
    const status = row['状态'] ?? '';
    const enabled = (row['启用时间'] ?? '').trim();
    const ended = (row['变更/弃用时间'] ?? '').trim();
    if (!/^\d{6}$/.test(code)) return;
    const from = enabled && enabled !== FIRST_EDITION_YEAR ? `${enabled}-01-01` : undefined;
    const to = status === '在用' || !ended ? undefined : `${ended}-12-31`;
    const successors =
      to === undefined
        ? undefined
        : (row['新代码'] ?? '')
            .split(';')
            .map((s) => s.trim().replace(YEAR_SUFFIX, ''))
            .filter((s) => /^\d{6}$/.test(s));
    const entry: CodeEntry = { code, label };
    if (from) entry.validFrom = from;
    if (to) entry.validTo = to;
    if (successors && successors.length > 0) entry.successors = [...new Set(successors)];
    this.addPeriod(entry);
  }
}

/** Width of a GB/T 4754 code at each depth of the hierarchy: 门类 letter, 大类 2, 中类 3, 小类 4 digits. */
const GB4754_WIDTH = [1, 2, 3, 4];

/**
 * GB/T 4754-2017 from the liulinwj file, whose numeric codes lost their leading zeros (`1` for 大类
 * `01`, `11` for 中类 `011`). Repair rule: the depth of a row in the parent_id tree fixes its width
 * (门类 letter; 大类 2, 中类 3, 小类 4 digits); the code is left-padded with zeros to that width. The
 * rule is checked on every row: a repaired 中类/小类 must start with its repaired parent, and a 大类's
 * range must fall inside its 门类 (`本门类包括01～05大类`); any violation refuses the whole table.
 */
export function repairGb4754(rows: CsvRow[]): { code: string; label: string; level: string; parent?: string }[] {
  const byId = new Map(rows.map((r) => [r['id'] ?? '', r]));
  const depth = (row: CsvRow): number => {
    let d = 0;
    for (let r: CsvRow | undefined = row; r && d < 8; r = r['parent_id'] ? byId.get(r['parent_id']) : undefined) d++;
    return d;
  };
  const repaired = new Map<string, string>();
  const out: { code: string; label: string; level: string; parent?: string }[] = [];
  const levels = ['门类', '大类', '中类', '小类'];
  // Parents first: the file appends late additions (e.g. 8053) after unrelated rows.
  const ordered = rows.map((row) => ({ row, d: depth(row) })).sort((a, b) => a.d - b.d);
  for (const { row, d } of ordered) {
    const width = GB4754_WIDTH[d - 1];
    const raw = (row['code'] ?? '').trim();
    if (width === undefined || raw === '') throw new Error(`GB4754 row ${row['id']}: depth ${d} has no code width`);
    const code = d === 1 ? raw : raw.padStart(width, '0');
    if (d > 1 && !/^\d+$/.test(code)) throw new Error(`GB4754 row ${row['id']}: code ${raw} is not numeric`);
    if (code.length !== width) throw new Error(`GB4754 row ${row['id']}: code ${raw} is longer than ${width}`);
    const parentCode = row['parent_id'] ? repaired.get(row['parent_id']) : undefined;
    if (d > 2 && (parentCode === undefined || !code.startsWith(parentCode))) {
      throw new Error(`GB4754 row ${row['id']}: repaired code ${code} does not start with its parent ${parentCode}`);
    }
    if (d === 2) {
      const range = /(\d{2})(?:[～~\-和](\d{2}))?大类/.exec(byId.get(row['parent_id'] ?? '')?.['dest'] ?? '');
      if (range && (code < range[1]! || code > (range[2] ?? range[1])!)) throw new Error(`GB4754 row ${row['id']}: 大类 ${code} outside ${range[0]}`);
    }
    repaired.set(row['id'] ?? '', code);
    out.push({ code, label: row['name'] ?? '', level: levels[d - 1]!, ...(parentCode ? { parent: parentCode } : {}) });
  }
  return out;
}

export interface CodeTableSet {
  tables: Map<string, CodeTable>;
  crosswalks: Map<string, CrosswalkRow[]>;
  /** The manifest entries the tables came from (title, version, kind), by table name. */
  specs?: Map<string, TableSpec>;
}

export function defaultCodeTablesDir(): string {
  return fileURLToPath(new URL('../../contracts/code-tables/', import.meta.url));
}

/** Loads every table listed in `<dir>/tables.json`. Throws CODE_TABLES_INVALID on a broken manifest or file. */
export function loadCodeTables(dir: string = defaultCodeTablesDir()): CodeTableSet {
  const manifestFile = join(dir, 'tables.json');
  if (!existsSync(manifestFile)) {
    throw new VochubError('CODE_TABLES_INVALID', `代码表清单缺失 / code table manifest missing: ${manifestFile}`);
  }
  let specs: TableSpec[];
  try {
    specs = (JSON.parse(readFileSync(manifestFile, 'utf8')) as { tables: TableSpec[] }).tables;
  } catch (cause) {
    throw new VochubError('CODE_TABLES_INVALID', `代码表清单无法解析 / cannot parse ${manifestFile}`, { cause });
  }
  const tables = new Map<string, CodeTable>();
  const crosswalks = new Map<string, CrosswalkRow[]>();
  const specMap = new Map<string, TableSpec>();
  for (const spec of specs) {
    specMap.set(spec.name, spec);
    try {
      if (spec.kind === 'gb4754-repair') {
        const table = new SimpleCodeTable(spec.name, spec.title);
        for (const source of spec.sources) for (const e of repairGb4754(readCsv(join(dir, source.file)))) table.add(e as CodeEntry);
        tables.set(spec.name, table);
        continue;
      }
      if (spec.kind === 'gb2260-history') {
        const table = new AreaCodeTable(spec.name, spec.title);
        for (const source of spec.sources) for (const row of readCsv(join(dir, source.file))) table.addRow(row);
        tables.set(spec.name, table);
        continue;
      }
      const table = new SimpleCodeTable(spec.name, spec.title);
      for (const source of spec.sources) {
        for (const row of readCsv(join(dir, source.file))) {
          const code = row[source.code];
          const label = row[source.label];
          if (code === undefined || label === undefined) {
            throw new Error(`column ${source.code} or ${source.label} missing in ${source.file}`);
          }
          table.add({ code, label }, (source.aliases ?? []).map((c) => row[c] ?? ''));
        }
      }
      if (spec.crosswalk) {
        const rows = readCsv(join(dir, spec.crosswalk)) as unknown as CrosswalkRow[];
        crosswalks.set(spec.name, rows);
        for (const row of rows) if (table.has(row.canonicalCode)) table.addLabel(row.label, row.canonicalCode);
      }
      tables.set(spec.name, table);
    } catch (cause) {
      if (cause instanceof VochubError) throw cause;
      throw new VochubError('CODE_TABLES_INVALID', `代码表 ${spec.name} 无法加载 / cannot load code table ${spec.name}: ${String(cause)}`, {
        cause,
      });
    }
  }
  return { tables, crosswalks, specs: specMap };
}

let defaultSet: CodeTableSet | undefined;

/** The repository's tables, loaded once per process (used by checkIdNumber when no table is passed). */
export function defaultCodeTables(): CodeTableSet {
  defaultSet ??= loadCodeTables();
  return defaultSet;
}

/**
 * Maps a code from a source system's variant to the canonical code, using the table's crosswalk
 * (e.g. GB3304 variant C `57` → `97`). Returns undefined when the variant/code pair is unknown.
 */
export function crosswalkCode(set: CodeTableSet, table: string, variant: string, code: string): string | undefined {
  const rows = set.crosswalks.get(table);
  if (!rows) return undefined;
  for (const row of rows) if (row.variant === variant && row.code === code) return row.canonicalCode;
  return undefined;
}
