// Reading roster files into ReadBatches: header → column plan → per-row cleaning → records and problems,
// with a {file, line} checkpoint after every batch.

import { extname } from 'node:path';
import type { Problem } from '../../core/errors.ts';
import { nfkc, stripExportArtefacts, trimAll } from '../../core/ingest/clean.ts';
import { readDelimitedBatches } from '../../core/ingest/delimited.ts';
import type { DelimitedItem } from '../../core/ingest/table.ts';
import { readWorkbookBatches } from '../../core/ingest/workbook.ts';
import type { ReadBatch, SourceFileInfo, SourceRecord } from '../../core/plugins/types.ts';
import { cleanerFor, type Cleaner, type ColumnSpec, type FieldContext } from './fields.ts';
import type { RosterFile } from './files.ts';

export interface RosterSettings {
  contract: string;
  keyColumn: string;
  columns: Record<string, ColumnSpec>;
  headerRow?: number;
  skipRows?: number;
  delimiter?: string;
  encoding?: string;
  sheet?: string | number;
  defaults: Record<string, unknown>;
  extensions: string[];
  batchSize: number;
  fields: FieldContext;
}

export interface RosterCheckpoint {
  file: string;
  line: number;
}

/** Header names compare after NFKC, without white space and the `*` that templates put on required columns. */
export function normalizeHeader(name: string): string {
  return nfkc(name).replace(/[\s*]/g, '');
}

const TEXT_FIELDS = new Set(['idNumber', 'studentNumber', 'staffNumber', 'nationalStudentId', 'phone', 'code', 'programCode', 'id']);

export function openItems(file: RosterFile, settings: RosterSettings): AsyncIterable<DelimitedItem[]> | { unsupported: string } {
  const ext = extname(file.name).toLowerCase();
  const table = { headerRow: settings.headerRow, skipRows: settings.skipRows, displayName: file.name };
  if (ext === '.xlsx' || ext === '.xlsm') {
    const textColumns = Object.entries(settings.columns)
      .filter(([column, spec]) => TEXT_FIELDS.has(spec.field) || column === settings.keyColumn)
      .map(([column]) => column);
    return readWorkbookBatches(file.path, { ...table, sheet: settings.sheet, textColumns });
  }
  if (ext === '.xls' || ext === '.et' || ext === '.ods') return { unsupported: ext };
  const delimiter = settings.delimiter ?? (ext === '.tsv' || ext === '.tab' ? '\t' : undefined);
  return readDelimitedBatches(file.path, { ...table, delimiter, encoding: settings.encoding });
}

interface PlannedColumn {
  header: string;
  /** Physical column index (0-based). */
  index: number;
  field: string;
  /** Name inside `extensions` when the field is `extensions.<name>`. */
  extension?: string;
  clean: Cleaner;
}

interface FilePlan {
  key: string;
  keyIndex: number;
  columns: PlannedColumn[];
  extensions: { header: string; index: number }[];
  /** contract field → source column, shared by all records of the file. */
  columnOf: Record<string, string>;
  defaults: [string, unknown][];
}

function planFile(headers: string[], physical: readonly string[], settings: RosterSettings): { plan?: FilePlan; missing: string[] } {
  const byNorm = new Map<string, string>();
  for (const h of headers) if (!byNorm.has(normalizeHeader(h))) byNorm.set(normalizeHeader(h), h);
  const indexOf = (header: string): number => physical.indexOf(header);
  const missing: string[] = [];
  const key = byNorm.get(normalizeHeader(settings.keyColumn));
  if (key === undefined) missing.push(settings.keyColumn);
  const columns: PlannedColumn[] = [];
  const columnOf: Record<string, string> = {};
  for (const [column, spec] of Object.entries(settings.columns)) {
    const header = byNorm.get(normalizeHeader(column));
    if (header === undefined) {
      if (spec.optional !== true && column !== settings.keyColumn) missing.push(column);
      continue;
    }
    const extension = spec.field.startsWith('extensions.') ? spec.field.slice('extensions.'.length) : undefined;
    columns.push({ header, index: indexOf(header), field: spec.field, clean: cleanerFor(spec, settings.fields), ...(extension === undefined ? {} : { extension }) });
    columnOf[spec.field] = header;
  }
  if (key !== undefined) columnOf.id = key;
  const extensions = settings.extensions
    .map((c) => byNorm.get(normalizeHeader(c)))
    .filter((h): h is string => h !== undefined)
    .map((header) => ({ header, index: indexOf(header) }));
  if (missing.length > 0 || key === undefined) return { missing };
  return { plan: { key, keyIndex: indexOf(key), columns, extensions, columnOf, defaults: Object.entries(settings.defaults) }, missing };
}

/** A reader problem after which the rest of the file is not read: the run is then not complete. */
function endsFile(code: string): boolean {
  return code === 'CSV_PARSE' || code === 'CSV_NO_HEADER' || code === 'XLSX_SHEET_NOT_FOUND';
}

export async function* readRoster(
  files: RosterFile[],
  settings: RosterSettings,
  options: { checkpoint?: unknown; mode: 'full' | 'delta'; signal: AbortSignal; missingFiles: string[] },
): AsyncGenerator<ReadBatch> {
  const contract = settings.contract;
  const resume = parseCheckpoint(options.checkpoint);
  let startIndex = 0;
  if (resume !== undefined) {
    const i = files.findIndex((f) => f.name === resume.file);
    // A checkpoint naming a file that is gone: start over rather than skip unknown data.
    startIndex = i < 0 ? 0 : i;
  }
  let complete = options.missingFiles.length === 0 && files.length > 0;
  const seenKeys = new Set<string>();
  let records: SourceRecord[] = [];
  let problems: Problem[] = [];
  let sources: SourceFileInfo[] = [];
  let checkpoint: RosterCheckpoint | undefined = resume;

  const flush = (): ReadBatch => {
    const batch: ReadBatch = { records, problems, checkpoint };
    if (sources.length > 0) batch.sources = sources;
    records = [];
    problems = [];
    sources = [];
    return batch;
  };

  for (const name of options.missingFiles) {
    problems.push({ code: 'ROSTER_FILE_MISSING', severity: 'error', message: `找不到文件 / no file matches: ${name}`, file: name, contract });
  }

  for (let fileIndex = startIndex; fileIndex < files.length; fileIndex++) {
    const file = files[fileIndex]!;
    const skipThrough = resume !== undefined && fileIndex === startIndex && resume.file === file.name ? resume.line : 0;
    const items = openItems(file, settings);
    if ('unsupported' in items) {
      complete = false;
      problems.push({
        code: 'ROSTER_FILE_UNSUPPORTED',
        severity: 'error',
        message: `不支持的文件类型 ${items.unsupported}，请另存为 xlsx 或 csv / unsupported file type ${items.unsupported}: save as xlsx or csv`,
        file: file.name,
        contract,
      });
      continue;
    }
    let plan: FilePlan | undefined;
    let physical: readonly string[] = [];
    let encoding: string | undefined;
    let rows = 0;
    let failed = false;
    let lastLine = skipThrough;
    try {
      outer: for await (const batch of items) {
        for (const item of batch) {
          if (item.kind === 'meta') {
            encoding = item.encoding;
            physical = item.cellColumns ?? item.columns;
            const planned = planFile(item.columns, physical, settings);
            if (planned.plan === undefined) {
              failed = true;
              problems.push({
                code: 'ROSTER_COLUMN_MISSING',
                severity: 'error',
                message: `表头缺少配置的列：${planned.missing.join('，')} / the header lacks configured columns: ${planned.missing.join(', ')}`,
                file: file.name,
                line: settings.headerRow ?? 1,
                contract,
                value: planned.missing.join(','),
              });
              break outer;
            }
            plan = planned.plan;
            continue;
          }
          if (item.kind === 'problem') {
            const p = item.problem;
            if (endsFile(p.code) || (p.code === 'ENCODING_REPLACEMENT_CHAR' && plan === undefined)) failed = true;
            if (p.line !== undefined && p.line <= skipThrough && plan !== undefined) continue;
            problems.push({ ...p, contract });
            continue;
          }
          const row = item.row;
          if (row.line <= skipThrough || plan === undefined) continue;
          rows++;
          lastLine = row.line;
          mapRow(row.cells ?? physicalCells(row.values, physical), row.line, row.sheet, file.name, plan, settings, seenKeys, records, problems);
          if (records.length + problems.length >= settings.batchSize) {
            checkpoint = { file: file.name, line: lastLine };
            yield flush();
            if (options.signal.aborted) return;
          }
        }
      }
    } catch (error) {
      failed = true;
      problems.push({
        code: 'ROSTER_FILE_UNREADABLE',
        severity: 'error',
        message: `文件无法读取 / the file could not be read: ${(error as Error).message}`,
        file: file.name,
        contract,
      });
    }
    if (failed) complete = false;
    sources.push(encoding === undefined ? { file: file.name, rows } : { file: file.name, encoding, rows });
    // A finished file: resume at the start of the next one (or past the end of the last one).
    const next = files[fileIndex + 1];
    checkpoint = next !== undefined ? { file: next.name, line: 0 } : { file: file.name, line: Number.MAX_SAFE_INTEGER };
  }
  const last = flush();
  if (complete && options.mode === 'full') last.complete = [contract];
  yield last;
}

function parseCheckpoint(value: unknown): RosterCheckpoint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { file, line } = value as Record<string, unknown>;
  if (typeof file !== 'string' || typeof line !== 'number') return undefined;
  return { file, line };
}

// Fields whose cells may carry Excel's text marks (leading apostrophe / TAB) that are not part of the value.
const IDENTIFIER_FIELDS = new Set(['studentNumber', 'staffNumber', 'nationalStudentId', 'idNumber', 'phone', 'programCode', 'classId', 'schoolId', 'orgId', 'code', 'username', 'identifier']);

function mapRow(
  cells: string[],
  line: number,
  sheet: string | undefined,
  fileName: string,
  plan: FilePlan,
  settings: RosterSettings,
  seenKeys: Set<string>,
  records: SourceRecord[],
  problems: Problem[],
): void {
  const contract = settings.contract;
  const rawKey = cells[plan.keyIndex] ?? '';
  // A key is an identifier: `="2023001"` and `'2023001` are the same student as 2023001 (case C04's artefacts).
  const key = nfkc(trimAll(stripExportArtefacts(rawKey, true)));
  if (key === '') {
    problems.push(rowProblem(fileName, line, sheet, contract, key, { code: 'ROSTER_KEY_MISSING', message: `主键列 ${plan.key} 为空 / the key column ${plan.key} is empty`, column: plan.key }));
    return;
  }
  if (seenKeys.has(key)) {
    problems.push(rowProblem(fileName, line, sheet, contract, key, { code: 'ROSTER_KEY_DUPLICATE', message: `主键重复 / duplicate key in this run`, column: plan.key, value: key }));
    return;
  }
  // A key sliced from a decoded chunk would keep the whole chunk alive in the set: store a flat copy.
  seenKeys.add(key.length >= 13 ? (key + ' ').slice(0, -1) : key);

  const data: Record<string, unknown> = { id: key };
  let bad = false;
  const columns = plan.columns;
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i]!;
    const cell = cells[col.index];
    if (cell === undefined || cell === '') continue;
    const raw = stripExportArtefacts(cell, IDENTIFIER_FIELDS.has(col.field));
    const result = col.clean(raw);
    if (result.problems !== undefined) {
      for (const p of result.problems) {
        if (p.severity === 'error') bad = true;
        problems.push(rowProblem(fileName, line, sheet, contract, key, { code: p.code, severity: p.severity, message: p.message, column: col.header, field: col.field, value: raw }));
      }
    }
    if (result.value !== undefined) {
      if (col.extension === undefined) data[col.field] = result.value;
      else ((data.extensions ??= {}) as Record<string, unknown>)[col.extension] = result.value;
    }
  }
  if (bad) return;
  for (const { header, index } of plan.extensions) {
    const v = cells[index];
    if (v !== undefined && v !== '') {
      const ext = (data.extensions ??= {}) as Record<string, unknown>;
      ext[header] = v;
    }
  }
  const defaults = plan.defaults;
  for (let i = 0; i < defaults.length; i++) {
    const [field, value] = defaults[i]!;
    if (data[field] === undefined) data[field] = value;
  }
  if (data.idNumber !== undefined && data.idType === undefined) data.idType = '1';
  records.push({
    contract,
    key,
    op: 'upsert',
    data,
    location: sheet === undefined ? { file: fileName, line } : { file: fileName, line, sheet },
    columns: plan.columnOf,
  });
}

/** Without the reader's cells, the named columns in meta order stand in for physical positions. */
function physicalCells(values: Record<string, string>, physical: readonly string[]): string[] {
  return physical.map((h) => values[h] ?? '');
}

function rowProblem(
  file: string,
  line: number,
  sheet: string | undefined,
  contract: string,
  key: string,
  detail: Pick<Problem, 'code' | 'message'> & Partial<Problem>,
): Problem {
  const p: Problem = { severity: 'error', file, line, contract, ...detail };
  if (sheet !== undefined) p.sheet = sheet;
  if (key !== '') p.key = key;
  return p;
}
