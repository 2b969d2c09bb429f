// Reading through SOAP: one configured operation call → a list in the result → records of a contract.
// Field specs are data (config), so a member maps its peer without code.

export type FieldSpec =
  | string
  | {
      /** Dot path in the result item (`meta.createTime`, `attributes.0.value`). */
      path?: string;
      /** A constant value instead of a path. */
      const?: unknown;
      /** Source value → contract value (e.g. Kuali type keys → enrollment roles). */
      map?: Record<string, string>;
      /** `date`: the calendar date of an xs:dateTime as the peer wrote it (offset kept, so no zone shift). */
      type?: 'string' | 'date' | 'date-time' | 'boolean' | 'integer';
    };

export interface ReadMapping {
  contract: string;
  operation: string;
  /** Arguments of one call, or several calls (e.g. one per person) whose records are concatenated. */
  args?: unknown;
  calls?: unknown[];
  /** Dot path to the list in the result (a single object counts as a list of one). */
  records?: string;
  /** Contract field that is the record key; default `id`. */
  key?: string;
  fields: Record<string, FieldSpec>;
}

export type MappedValue = { value?: unknown; problem?: { code: string; message: string } };

export function pathGet(value: unknown, path: string | undefined): unknown {
  if (path === undefined || path === '') return value;
  let node = value;
  for (const part of path.split('.')) {
    if (node === null || node === undefined) return undefined;
    if (Array.isArray(node) && !/^\d+$/.test(part)) node = node[0];
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

export function listAt(result: unknown, path: string | undefined): unknown[] {
  const v = pathGet(result, path);
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function mapField(item: unknown, spec: FieldSpec, field: string): MappedValue {
  const s = typeof spec === 'string' ? { path: spec } : spec;
  let raw = s.const !== undefined ? s.const : pathGet(item, s.path);
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw === 'object' && '$value' in (raw as Record<string, unknown>)) raw = (raw as { $value: unknown }).$value;
  if (s.map !== undefined) {
    const mapped = s.map[String(raw)];
    if (mapped === undefined) return { problem: { code: 'VALUE_UNMAPPED', message: `无法映射的值 / value has no mapping for ${field}` } };
    raw = mapped;
  }
  switch (s.type) {
    case 'date': {
      const m = /^(\d{4}-\d{2}-\d{2})/.exec(String(raw));
      return m ? { value: m[1] } : { problem: { code: 'DATE_FORMAT', message: `不是日期 / not a date for ${field}` } };
    }
    case 'boolean':
      return { value: raw === true || raw === 'true' || raw === '1' };
    case 'integer': {
      const n = Number(raw);
      return Number.isSafeInteger(n) ? { value: n } : { problem: { code: 'NUMBER_UNSAFE', message: `不是安全整数 / not a safe integer for ${field}` } };
    }
    default:
      return { value: typeof raw === 'string' ? raw : String(raw) };
  }
}
