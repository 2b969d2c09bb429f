// Reading HR export tables: delimited text (headered or headerless with a column map, custom field and
// record terminators, UTF-8/UTF-16/GB18030 via core/ingest) → contract records, with a {table, line}
// checkpoint after every batch.
import { resolve } from 'node:path';
import type { Problem } from '../../../core/errors.ts';
import { readDelimitedBatches } from '../../../core/ingest/delimited.ts';
import type { ReadBatch, SourceFileInfo, SourceRecord } from '../../../core/plugins/types.ts';
import { convert, normalizeSpec, type FieldOptions, type FieldSpec } from './fields.ts';

export interface HrTable {
  file: string;
  /** Contract the rows become; a table without one is only discovered (counted). */
  contract?: string;
  /** Headerless files: the column names in order ('' = ignore). Absent: the first record is the header. */
  columns?: string[];
  delimiter?: string;
  recordDelimiter?: string;
  /** Quote character; `none` turns quoting off (exports that never quote, like BULK INSERT files). */
  quote?: string;
  encoding?: string;
  /** Source column holding the record key. */
  key: string;
  /** Contract field → source column or spec. */
  fields: Record<string, FieldSpec>;
  defaults?: Record<string, unknown>;
  /** Source columns copied into `extensions`. */
  extensions?: string[];
}

export interface HrCheckpoint {
  table: number;
  line: number;
}

export function delimitedOptions(table: HrTable, displayName: string) {
  return {
    displayName,
    encoding: table.encoding,
    delimiter: table.delimiter ?? (table.file.toLowerCase().endsWith('.tsv') ? '\t' : undefined),
    recordDelimiter: table.recordDelimiter,
    quote: table.quote === 'none' ? null : table.quote,
    ...(table.columns === undefined ? {} : { header: table.columns }),
  };
}

/** Counts data rows (for discover): problems are ignored here, read() reports them. */
export async function countRows(path: string, table: HrTable, name: string): Promise<{ rows: number; encoding?: string }> {
  let rows = 0;
  let encoding: string | undefined;
  for await (const batch of readDelimitedBatches(path, delimitedOptions(table, name))) {
    for (const item of batch) {
      if (item.kind === 'row') rows++;
      else if (item.kind === 'meta') encoding = item.encoding;
    }
  }
  return encoding === undefined ? { rows } : { rows, encoding };
}

export async function* readTables(
  baseDir: string,
  tables: HrTable[],
  options: { checkpoint?: unknown; mode: 'full' | 'delta'; signal: AbortSignal; batchSize: number; fields: FieldOptions },
): AsyncGenerator<ReadBatch> {
  const resume = parseCheckpoint(options.checkpoint);
  const complete = new Set<string>();
  const incomplete = new Set<string>();
  let records: SourceRecord[] = [];
  let problems: Problem[] = [];
  let sources: SourceFileInfo[] = [];
  let checkpoint: HrCheckpoint | undefined = resume;
  const flush = (): ReadBatch => {
    const b: ReadBatch = { records, problems, checkpoint };
    if (sources.length > 0) b.sources = sources;
    records = [];
    problems = [];
    sources = [];
    return b;
  };

  for (let t = resume?.table ?? 0; t < tables.length; t++) {
    const table = tables[t]!;
    const contract = table.contract;
    if (contract === undefined) continue;
    const skipThrough = resume !== undefined && resume.table === t ? resume.line : 0;
    const path = resolve(baseDir, table.file);
    const seen = new Set<string>();
    const specs = Object.entries(table.fields).map(([field, spec]) => [field, normalizeSpec(spec)] as const);
    let rows = 0;
    let encoding: string | undefined;
    let failed = false;
    try {
      for await (const batch of readDelimitedBatches(path, delimitedOptions(table, table.file))) {
        for (const item of batch) {
          if (item.kind === 'meta') {
            encoding = item.encoding;
            const have = new Set(item.columns);
            const lacking = [table.key, ...specs.map(([, s]) => s.from).filter((c): c is string => c !== undefined)].filter((c) => !have.has(c));
            if (lacking.length > 0) {
              failed = true;
              problems.push({ code: 'HR_COLUMN_MISSING', severity: 'error', message: `缺少列 / missing columns: ${[...new Set(lacking)].join(', ')}`, file: table.file, contract, value: lacking.join(',') });
              break;
            }
            continue;
          }
          if (item.kind === 'problem') {
            if (item.problem.code === 'CSV_PARSE' || item.problem.code === 'CSV_NO_HEADER') failed = true;
            if ((item.problem.line ?? 0) > skipThrough) problems.push({ ...item.problem, contract });
            continue;
          }
          const row = item.row;
          if (row.line <= skipThrough) continue;
          rows++;
          mapRow(row.values, row.line, table, specs, options.fields, seen, records, problems);
          if (records.length + problems.length >= options.batchSize) {
            checkpoint = { table: t, line: row.line };
            yield flush();
            if (options.signal.aborted) return;
          }
        }
        if (failed) break;
      }
    } catch (error) {
      failed = true;
      problems.push({ code: 'HR_FILE_UNREADABLE', severity: 'error', message: `文件无法读取 / the file could not be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, file: table.file, contract });
    }
    if (failed) incomplete.add(contract);
    else complete.add(contract);
    sources.push(encoding === undefined ? { file: table.file, rows } : { file: table.file, encoding, rows });
    checkpoint = { table: t + 1, line: 0 };
  }
  const last = flush();
  const done = [...complete].filter((c) => !incomplete.has(c));
  if (options.mode === 'full' && done.length > 0) last.complete = done;
  yield last;
}

function mapRow(
  values: Record<string, string>,
  line: number,
  table: HrTable,
  specs: (readonly [string, ReturnType<typeof normalizeSpec>])[],
  fieldOptions: FieldOptions,
  seen: Set<string>,
  records: SourceRecord[],
  problems: Problem[],
): void {
  const contract = table.contract!;
  const key = (values[table.key] ?? '').trim();
  const base = { file: table.file, line, contract };
  if (key === '') {
    problems.push({ ...base, code: 'HR_KEY_MISSING', severity: 'error', message: `主键列 ${table.key} 为空 / the key column ${table.key} is empty`, column: table.key });
    return;
  }
  if (seen.has(key)) {
    problems.push({ ...base, key, code: 'HR_KEY_DUPLICATE', severity: 'error', message: `主键重复 / duplicate key in this run`, column: table.key, value: key });
    return;
  }
  seen.add(key);
  const data: Record<string, unknown> = { id: key };
  const columns: Record<string, string> = { id: table.key };
  let bad = false;
  for (const [field, spec] of specs) {
    const raw = spec.from === undefined ? undefined : values[spec.from];
    const r = convert(raw, spec, field, fieldOptions);
    if (r.problem !== undefined) {
      bad = true;
      problems.push({ ...base, key, ...r.problem, severity: 'error', field, ...(spec.from === undefined ? {} : { column: spec.from }), ...(typeof raw === 'string' ? { value: raw } : {}) });
      continue;
    }
    if (r.value === undefined) continue;
    if (field.startsWith('extensions.')) ((data.extensions ??= {}) as Record<string, unknown>)[field.slice(11)] = r.value;
    else data[field] = r.value;
    if (spec.from !== undefined) columns[field] = spec.from;
  }
  if (bad) return;
  for (const column of table.extensions ?? []) {
    const v = values[column];
    if (v !== undefined && v !== '') ((data.extensions ??= {}) as Record<string, unknown>)[column] = v;
  }
  for (const [field, value] of Object.entries(table.defaults ?? {})) if (data[field] === undefined) data[field] = value;
  records.push({ contract, key, op: 'upsert', data, location: { file: table.file, line }, columns });
}

function parseCheckpoint(value: unknown): HrCheckpoint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { table, line } = value as Record<string, unknown>;
  return typeof table === 'number' && typeof line === 'number' ? { table, line } : undefined;
}
