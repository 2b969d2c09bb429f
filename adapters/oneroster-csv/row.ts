// Per-file header resolution and per-row value access. One RowContext is reused for every row of a file
// (no per-row allocation beyond the record itself); helpers record problems on it instead of throwing.
import type { Problem } from '../../core/errors.ts';

/** Header key: BOM stripped, trimmed, inner whitespace collapsed, lower case (`SIS ID` → `sis id`). */
export function headerKey(name: string): string {
  return name.replace(/^\uFEFF/, '').trim().replace(/\s+/g, ' ').toLowerCase();
}

// Credentials are never read, whatever the dialect calls the column (users.password, userProfiles.password,
// SDS classic `Password`): they must not reach records, extensions, problems or logs.
const SECRET_COLUMN = /pass(word)?|passwd|pwd|secret|credential/i;

export function isSecretColumn(key: string): boolean {
  return SECRET_COLUMN.test(key);
}

export class Header {
  /** header key → column name as written in the file */
  private readonly byKey = new Map<string, string>();
  readonly columns: readonly string[];

  constructor(columns: readonly string[]) {
    this.columns = columns;
    for (const c of columns) {
      const k = headerKey(c);
      if (!this.byKey.has(k)) this.byKey.set(k, c);
    }
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Column name as written in the file (for problem locations); the key itself when absent. */
  name(key: string): string {
    return this.byKey.get(key) ?? key;
  }

  raw(key: string): string | undefined {
    return this.byKey.get(key);
  }

  /**
   * Columns the mapper does not know, as [column name, extension name]: OneRoster `metadata.x` → `x`,
   * anything else under its own header. Secret columns are left out.
   */
  extras(known: ReadonlySet<string>): [string, string][] {
    const out: [string, string][] = [];
    for (const [k, c] of this.byKey) {
      if (known.has(k) || isSecretColumn(k) || k === '') continue;
      out.push([c, k.startsWith('metadata.') ? c.trim().replace(/^\uFEFF/, '').slice('metadata.'.length) : c.trim().replace(/^\uFEFF/, '')]);
    }
    return out;
  }
}

export class RowContext {
  file: string;
  header: Header;
  line = 0;
  values: Record<string, string> = {};
  problems: Problem[] = [];
  /** An error was recorded for the current row: it is rejected. */
  bad = false;
  contract?: string;
  key?: string;

  constructor(file: string, header: Header, problems: Problem[]) {
    this.file = file;
    this.header = header;
    this.problems = problems;
  }

  start(line: number, values: Record<string, string>, contract?: string): void {
    this.line = line;
    this.values = values;
    this.bad = false;
    this.contract = contract;
    this.key = undefined;
  }

  /** Trimmed cell value ('' when the column is absent or empty). */
  get(key: string): string {
    const c = this.header.raw(key);
    if (c === undefined) return '';
    const v = this.values[c];
    return v === undefined ? '' : v.trim();
  }

  /** First non-empty value among alternative column names (dialects spell some columns differently). */
  pick(...keys: string[]): string {
    for (const k of keys) {
      const v = this.get(k);
      if (v !== '') return v;
    }
    return '';
  }

  report(code: string, severity: Problem['severity'], column: string, message: string, value?: string, field?: string): void {
    if (severity === 'error') this.bad = true;
    const p: Problem = { code, severity, message, file: this.file, line: this.line, column: this.header.name(column) };
    if (value !== undefined && value !== '') p.value = value;
    if (field !== undefined) p.field = field;
    if (this.contract !== undefined) p.contract = this.contract;
    if (this.key !== undefined) p.key = this.key;
    this.problems.push(p);
  }

  /** Required value: empty → ONEROSTER_REQUIRED (row rejected). */
  required(key: string, field: string): string {
    const v = this.get(key);
    if (v === '') this.report('ONEROSTER_REQUIRED', 'error', key, `必填列为空 / required column is empty: ${this.header.name(key)}`, undefined, field);
    return v;
  }
}

/** Splits a OneRoster list cell (`a,b` inside a quoted cell) into trimmed non-empty items. */
export function splitList(value: string): string[] {
  if (value === '') return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t !== '') out.push(t);
  }
  return out;
}

/** Copies unknown columns into `extensions` (only non-empty values). */
export function addExtras(ctx: RowContext, extras: [string, string][], ext: Record<string, unknown>): void {
  for (const [column, name] of extras) {
    const v = ctx.values[column];
    if (v !== undefined) {
      const t = v.trim();
      if (t !== '') ext[name] = t;
    }
  }
}
