// Value rules shared by the dialects: OneRoster status/dateLastModified by file mode, ISO dates,
// booleans, sex codes, display names. Each helper records a problem on the row instead of throwing.
import type { RowContext } from './row.ts';
import { SEX_TO_GB2261 } from './tables.ts';

export type FileMode = 'bulk' | 'delta';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// OneRoster dateLastModified: ISO 8601 date-time with the `T` separator, optional fraction, and a zone:
// an instant without offset is ambiguous (DESIGN: times carry an offset; the contracts use RFC 3339).
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

function validCalendar(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return d <= days;
}

export function isIsoDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  return m !== null && validCalendar(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function isIsoDateTime(value: string): boolean {
  const m = ISO_DATE_TIME.exec(value);
  return m !== null && validCalendar(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** A calendar date column that OneRoster requires in ISO 8601 (`YYYY-MM-DD`); empty → undefined. */
export function isoDate(ctx: RowContext, key: string, field: string): string | undefined {
  const v = ctx.get(key);
  if (v === '') return undefined;
  if (!isIsoDate(v)) {
    ctx.report('ONEROSTER_DATE_FORMAT', 'error', key, `日期须为 ISO 8601 格式 YYYY-MM-DD / date must be ISO 8601 YYYY-MM-DD`, v, field);
    return undefined;
  }
  return v;
}

const TRUE = new Set(['true', '1', 'yes', 'y', 't', '是']);
const FALSE = new Set(['false', '0', 'no', 'n', 'f', '否']);

/** Boolean column (`true`/`false`, SDS `TRUE`/`FALSE`); anything else → ONEROSTER_BOOLEAN_INVALID warning, field left out. */
export function bool(ctx: RowContext, key: string, field: string): boolean | undefined {
  const v = ctx.get(key);
  if (v === '') return undefined;
  const l = v.toLowerCase();
  if (TRUE.has(l)) return true;
  if (FALSE.has(l)) return false;
  ctx.report('ONEROSTER_BOOLEAN_INVALID', 'warning', key, `布尔值无法识别，已忽略 / not a boolean, ignored`, v, field);
  return undefined;
}

/** OneRoster sex → GB/T 2261.1 code; unknown → ONEROSTER_SEX_UNKNOWN warning, field left out. */
export function sexCode(ctx: RowContext, key: string): string | undefined {
  const v = ctx.get(key);
  if (v === '') return undefined;
  const code = SEX_TO_GB2261[v.toLowerCase()];
  if (code === undefined) ctx.report('ONEROSTER_SEX_UNKNOWN', 'warning', key, `性别值无法识别，已忽略 / unknown sex value, ignored`, v, 'sex');
  return code;
}

export interface RowStatus {
  op: 'upsert' | 'delete';
  status?: 'active' | 'inactive';
  /** valid dateLastModified of a delta row */
  modified?: string;
}

const UPSERT_PLAIN: RowStatus = { op: 'upsert' };

/**
 * OneRoster file-mode rules. Bulk: status and dateLastModified must be empty (ONEROSTER_BULK_STATUS).
 * Delta: both are required (ONEROSTER_DELTA_STATUS_MISSING), dateLastModified in ISO 8601
 * (ONEROSTER_DATE_FORMAT), status one of active | tobedeleted (| inactive, OneRoster 1.0) (ONEROSTER_STATUS_INVALID).
 * Any of these rejects the row (ctx.bad).
 */
export function rowStatus(ctx: RowContext, mode: FileMode): RowStatus {
  const status = ctx.get('status');
  const modified = ctx.get('datelastmodified');
  if (mode === 'bulk') {
    if (status !== '') {
      ctx.report('ONEROSTER_BULK_STATUS', 'error', 'status', `全量文件的行不得填写 status / rows of a bulk file must not carry status`, status, 'status');
    }
    if (modified !== '') {
      ctx.report('ONEROSTER_BULK_STATUS', 'error', 'datelastmodified', `全量文件的行不得填写 dateLastModified / rows of a bulk file must not carry dateLastModified`, modified);
    }
    return UPSERT_PLAIN;
  }
  if (status === '') {
    ctx.report('ONEROSTER_DELTA_STATUS_MISSING', 'error', 'status', `增量文件的行必须填写 status / rows of a delta file must carry status`, undefined, 'status');
  }
  if (modified === '') {
    ctx.report('ONEROSTER_DELTA_STATUS_MISSING', 'error', 'datelastmodified', `增量文件的行必须填写 dateLastModified / rows of a delta file must carry dateLastModified`);
  } else if (!isIsoDateTime(modified)) {
    ctx.report('ONEROSTER_DATE_FORMAT', 'error', 'datelastmodified', `dateLastModified 须为带时区的 ISO 8601 日期时间（如 2024-03-01T10:15:00Z）/ dateLastModified must be an ISO 8601 date-time with offset (e.g. 2024-03-01T10:15:00Z)`, modified, 'dateLastModified');
  }
  const valid = modified !== '' && !ctx.bad ? modified : undefined;
  switch (status.toLowerCase()) {
    case '':
    case 'active':
      return { op: 'upsert', status: 'active', modified: valid };
    case 'tobedeleted':
      return { op: 'delete', modified: valid };
    case 'inactive':
      return { op: 'upsert', status: 'inactive', modified: valid };
    default:
      ctx.report('ONEROSTER_STATUS_INVALID', 'error', 'status', `status 只能是 active 或 tobedeleted / status must be active or tobedeleted`, status, 'status');
      return UPSERT_PLAIN;
  }
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff\u{20000}-\u{3134f}]/u;

/** Display name: Chinese order without a space (王小明); otherwise given [middle] family. */
export function displayName(given: string, family: string, middle = ''): string | undefined {
  if (given === '' && family === '') return undefined;
  if (CJK.test(given) || CJK.test(family)) return family + given;
  return [given, middle, family].filter((p) => p !== '').join(' ');
}

/**
 * Canonical `schoolYear` (`2023-2024`). From the start date when there is one: a session starting in
 * July or later belongs to the year that starts then (Chinese autumn term, US school year); earlier
 * (spring term) to the year that started the previous autumn. Without dates, OneRoster `schoolYear`
 * names the year the school year ends (spec: "e.g. 2014 for 2013-2014").
 */
export function schoolYearOf(startDate: string | undefined, oneRosterYear: string): string | undefined {
  if (startDate !== undefined) {
    const y = Number(startDate.slice(0, 4));
    const m = Number(startDate.slice(5, 7));
    const first = m >= 7 ? y : y - 1;
    return `${first}-${first + 1}`;
  }
  if (/^\d{4}$/.test(oneRosterYear)) {
    const end = Number(oneRosterYear);
    return `${end - 1}-${end}`;
  }
  return undefined;
}
