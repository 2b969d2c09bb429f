// Field mapping shared by the HR adapters (hr-file, hr-rest): a source value (a column, a JSON path)
// → a contract value, by a small declarative spec. Bad values become problems with stable codes.
import { cleanIdNumberInput, nfkc, trimAll } from '../../../core/ingest/clean.ts';
import { DEFAULT_DATE_FORMATS, parseCalendarDate, toOffsetDateTime } from '../../../core/ingest/dates.ts';

export interface FieldSpecObject {
  /** Source column (hr-file) or dot path (hr-rest). */
  from?: string;
  const?: unknown;
  type?: 'string' | 'id' | 'date' | 'date-time' | 'boolean' | 'integer' | 'id-number';
  /** Source value → contract value (applied after trimming). */
  map?: Record<string, string>;
  /** Date formats (type date / date-time). */
  formats?: string[];
}
export type FieldSpec = string | FieldSpecObject;

export interface FieldOptions {
  zone: string;
  dateFormats?: readonly string[];
}

export type FieldResult = { value?: unknown; problem?: { code: string; message: string } };

const TRUE = new Set(['1', 'true', 'y', 'yes', '是']);
const FALSE = new Set(['0', 'false', 'n', 'no', '否']);

export function normalizeSpec(spec: FieldSpec): FieldSpecObject {
  return typeof spec === 'string' ? { from: spec } : spec;
}

/** Converts one raw value; `undefined`/empty → no value (absent field). */
export function convert(raw: unknown, spec: FieldSpecObject, field: string, options: FieldOptions): FieldResult {
  let value = spec.const !== undefined ? spec.const : raw;
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    value = trimAll(value);
    if (value === '') return {};
  }
  if (spec.map !== undefined) {
    const mapped = spec.map[String(value)];
    if (mapped === undefined) return { problem: { code: 'VALUE_UNMAPPED', message: `无法映射的值 / value has no mapping for ${field}` } };
    value = mapped;
  }
  switch (spec.type) {
    case 'date': {
      const r = parseCalendarDate(String(value), spec.formats ?? options.dateFormats ?? DEFAULT_DATE_FORMATS);
      return r.ok ? { value: r.date } : { problem: { code: r.code, message: r.message } };
    }
    case 'date-time': {
      const r = toOffsetDateTime(String(value), { zone: options.zone, formats: spec.formats });
      return r.ok ? { value: r.value } : { problem: { code: r.code, message: r.message } };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      const v = nfkc(String(value)).toLowerCase();
      if (TRUE.has(v)) return { value: true };
      if (FALSE.has(v)) return { value: false };
      return { problem: { code: 'VALUE_UNMAPPED', message: `不是是/否值 / not a yes/no value for ${field}` } };
    }
    case 'integer': {
      // Lossless parsers hand over big numbers as text: refuse what a double cannot hold exactly.
      const text = String(value);
      if (!/^-?\d+$/.test(text)) return { problem: { code: 'NUMBER_INVALID', message: `不是整数 / not an integer for ${field}` } };
      const n = Number(text);
      if (!Number.isSafeInteger(n)) return { problem: { code: 'NUMBER_UNSAFE_INTEGER', message: `整数超出安全范围（±2^53），请作为字符串传递 / integer beyond ±2^53 for ${field}: send it as a string` } };
      return { value: n };
    }
    case 'id-number': {
      const r = cleanIdNumberInput(String(value), { source: 'system', allow15: false });
      if (r.problems !== undefined && r.problems.some((p) => p.severity === 'error')) {
        const p = r.problems.find((x) => x.severity === 'error')!;
        return { problem: { code: p.code, message: p.message } };
      }
      return { value: r.value };
    }
    case 'id':
    case 'string':
    case undefined:
    default:
      // Identifiers are strings, always (C17): a number here was already parsed losslessly as text.
      return { value: typeof value === 'string' ? nfkc(value) : String(value) };
  }
}
