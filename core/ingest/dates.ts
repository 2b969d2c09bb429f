// Calendar dates and local date-times from an explicit format list (DESIGN §7). Never `Date` string
// parsing: `new Date('2023/9/1')` is local midnight (the day before in UTC) and `new Date('20230901')`
// is Invalid Date (case C07). Dates without time are calendar dates, not instants.

import { configError } from '../errors.ts';

export type DateProblemCode = 'DATE_FORMAT' | 'DATE_INVALID';
export type DateResult = { ok: true; date: string } | { ok: false; code: DateProblemCode; message: string };
export type DateTimeResult = { ok: true; value: string } | { ok: false; code: DateProblemCode; message: string };

/**
 * Formats tried for date columns of Chinese sources when a column names none. `M`/`D` accept one or two
 * digits, so `YYYY-M-D` covers `2006-03-07` and `2006-3-7`. Day-first and month-first forms
 * (`D/M/YYYY`, `M/D/YYYY`) are ambiguous and must be configured per column.
 */
export const DEFAULT_DATE_FORMATS: readonly string[] = ['YYYY-M-D', 'YYYY/M/D', 'YYYYMMDD', 'YYYY年M月D日', 'YYYY.M.D'];

/** Offset-less local date-times as Chinese systems export them (case C41). */
export const DEFAULT_DATETIME_FORMATS: readonly string[] = [
  'YYYY-M-DTH:mm:ss',
  'YYYY-M-D H:mm:ss',
  'YYYY-M-D H:mm',
  'YYYY/M/D H:mm:ss',
  'YYYY/M/D H:mm',
  'YYYYMMDDHHmmss',
  'YYYY年M月D日 H:mm:ss',
  'YYYY年M月D日 H时m分s秒',
];

type Part = 'Y' | 'M' | 'D' | 'h' | 'm' | 's';

interface CompiledFormat {
  source: string;
  regex: RegExp;
  parts: Part[];
}

// Longest tokens first so `YYYY` wins over `YY` and `MM` over `M`.
const TOKENS: [string, string, Part][] = [
  ['YYYY', '(\\d{4})', 'Y'],
  ['MM', '(\\d{2})', 'M'],
  ['M', '(\\d{1,2})', 'M'],
  ['DD', '(\\d{2})', 'D'],
  ['D', '(\\d{1,2})', 'D'],
  ['HH', '(\\d{2})', 'h'],
  ['H', '(\\d{1,2})', 'h'],
  ['mm', '(\\d{2})', 'm'],
  ['m', '(\\d{1,2})', 'm'],
  // Seconds may carry a fraction, which is kept.
  ['ss', '(\\d{2}(?:\\.\\d{1,9})?)', 's'],
  ['s', '(\\d{1,2}(?:\\.\\d{1,9})?)', 's'],
];

const compiledCache = new Map<string, CompiledFormat>();

function compileFormat(format: string): CompiledFormat {
  const cached = compiledCache.get(format);
  if (cached !== undefined) return cached;
  let pattern = '^';
  const parts: Part[] = [];
  let i = 0;
  outer: while (i < format.length) {
    for (const [token, re, part] of TOKENS) {
      if (format.startsWith(token, i)) {
        pattern += re;
        parts.push(part);
        i += token.length;
        continue outer;
      }
    }
    pattern += format[i]!.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    i++;
  }
  if (!parts.includes('Y') || !parts.includes('M') || !parts.includes('D')) {
    throw configError(`日期格式须含年月日 / date format needs YYYY, M and D: ${format}`, { format });
  }
  const compiled = { source: format, regex: new RegExp(pattern + '$'), parts };
  compiledCache.set(format, compiled);
  return compiled;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function isValidCalendarDate(year: number, month: number, day: number): boolean {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  return day <= (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month]!);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function formatDate(y: number, m: number, d: number): string {
  return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
}

/** Folds full-width digits and punctuation and trims (incl. U+3000), paying for NFKC only when needed. */
function prepare(value: string): string {
  let s = value.trim();
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      s = s.normalize('NFKC').trim();
      break;
    }
  }
  return s;
}

/**
 * Excel serial day → calendar date. 1900 system: serial 1 = 1900-01-01 and Excel's fictitious
 * 1900-02-29 (serial 60) exists, so serials after it are one day ahead of a true count. 1904 system:
 * serial 0 = 1904-01-01. A fraction (time of day) is ignored.
 */
export function excelSerialToDate(serial: number, dateSystem: 1900 | 1904 = 1900): DateResult {
  const day = Math.floor(serial);
  if (!Number.isFinite(serial) || day > 2958465 || day < (dateSystem === 1900 ? 1 : 0)) {
    return { ok: false, code: 'DATE_INVALID', message: `Excel 日期序号超出范围 / Excel date serial out of range: ${serial}` };
  }
  if (dateSystem === 1900 && day === 60) {
    return { ok: false, code: 'DATE_INVALID', message: 'Excel 虚构的 1900-02-29 / Excel\'s non-existent 1900-02-29 (serial 60)' };
  }
  // Integer day arithmetic on a UTC epoch: no time zone can shift the calendar day.
  const base = dateSystem === 1904 ? Date.UTC(1904, 0, 1) : day < 60 ? Date.UTC(1899, 11, 31) : Date.UTC(1899, 11, 30);
  const d = new Date(base + day * 86_400_000);
  return { ok: true, date: formatDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) };
}

/** Time of day of an Excel serial (fraction), as `HH:mm:ss`, rounded to the second. */
export function excelSerialTime(serial: number): string {
  let seconds = Math.round((serial - Math.floor(serial)) * 86_400);
  if (seconds >= 86_400) seconds = 86_399;
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
}

const SERIAL = /^\d{1,7}(?:\.\d+)?$/;

const isoAccepting = new WeakMap<readonly string[], boolean>();

function acceptsIso(formats: readonly string[]): boolean {
  let yes = isoAccepting.get(formats);
  if (yes === undefined) {
    yes = formats.includes('YYYY-MM-DD') || formats.includes('YYYY-M-D');
    isoAccepting.set(formats, yes);
  }
  return yes;
}

/** Value of an all-digit slice, or -1. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * Parses a calendar date with an explicit list of formats (tokens `YYYY` `MM` `M` `DD` `D`, plus time
 * tokens `HH` `H` `mm` `m` `ss` `s` that are matched and ignored). Full-width digits are accepted.
 * Excel serials only with `allowSerial`.
 */
export function parseCalendarDate(
  value: string,
  formats: readonly string[] = DEFAULT_DATE_FORMATS,
  options: { allowSerial?: boolean; dateSystem?: 1900 | 1904 } = {},
): DateResult {
  // Fast path for the canonical form when the list accepts it (the common case in bulk files).
  if (value.length === 10 && value.charCodeAt(4) === 45 && value.charCodeAt(7) === 45 && acceptsIso(formats)) {
    const y = digits(value, 0, 4);
    const mo = digits(value, 5, 7);
    const d = digits(value, 8, 10);
    if (y >= 0 && mo >= 0 && d >= 0) {
      return isValidCalendarDate(y, mo, d) ? { ok: true, date: value } : { ok: false, code: 'DATE_INVALID', message: `日期不存在 / no such calendar date: ${value}` };
    }
  }
  const s = prepare(value);
  for (const format of formats) {
    const { regex, parts } = compileFormat(format);
    const m = regex.exec(s);
    if (m === null) continue;
    let y = 0;
    let mo = 0;
    let d = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part === 'Y') y = +m[i + 1]!;
      else if (part === 'M') mo = +m[i + 1]!;
      else if (part === 'D') d = +m[i + 1]!;
    }
    if (!isValidCalendarDate(y, mo, d)) {
      return { ok: false, code: 'DATE_INVALID', message: `日期不存在 / no such calendar date: ${value}` };
    }
    return { ok: true, date: formatDate(y, mo, d) };
  }
  if (options.allowSerial === true && SERIAL.test(s)) return excelSerialToDate(+s, options.dateSystem ?? 1900);
  return {
    ok: false,
    code: 'DATE_FORMAT',
    message: `日期格式不符（允许：${formats.join('，')}）/ date does not match the allowed formats: ${formats.join(', ')}`,
  };
}

const OFFSET_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:\d{2})$/i;
const ZONE = /^(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)$/;

/**
 * RFC 3339 date-time with an explicit offset. Values that already carry one (`Z` or `±HH:MM`) keep it;
 * offset-less local times from a source configured as being in `zone` get that offset (case C41).
 * Incomplete offsets like `+08` are rejected, not guessed.
 */
export function toOffsetDateTime(
  value: string,
  options: { zone: string; formats?: readonly string[] },
): DateTimeResult {
  if (!ZONE.test(options.zone)) throw configError(`时区偏移无效 / invalid zone offset: ${options.zone}`, { zone: options.zone });
  const s = prepare(value);
  const withOffset = OFFSET_DATETIME.exec(s);
  if (withOffset !== null) {
    const [, y, mo, d, h, mi, sec, zone] = withOffset as unknown as string[];
    if (!isValidCalendarDate(+y!, +mo!, +d!) || +h! > 23 || +mi! > 59 || parseFloat(sec!) >= 60) {
      return { ok: false, code: 'DATE_INVALID', message: `日期时间不存在 / no such date-time: ${value}` };
    }
    return { ok: true, value: `${y}-${mo}-${d}T${h}:${mi}:${sec}${zone!.toUpperCase()}` };
  }
  const formats = options.formats ?? DEFAULT_DATETIME_FORMATS;
  for (const format of formats) {
    const { regex, parts } = compileFormat(format);
    const m = regex.exec(s);
    if (m === null) continue;
    let y = 0;
    let mo = 0;
    let d = 0;
    let h = 0;
    let mi = 0;
    let sec = '00';
    for (let i = 0; i < parts.length; i++) {
      const text = m[i + 1]!;
      switch (parts[i]) {
        case 'Y': y = +text; break;
        case 'M': mo = +text; break;
        case 'D': d = +text; break;
        case 'h': h = +text; break;
        case 'm': mi = +text; break;
        case 's': {
          const dot = text.indexOf('.');
          sec = dot < 0 ? pad(+text) : pad(+text.slice(0, dot)) + text.slice(dot);
          break;
        }
      }
    }
    if (!isValidCalendarDate(y, mo, d) || h > 23 || mi > 59 || parseFloat(sec) >= 60) {
      return { ok: false, code: 'DATE_INVALID', message: `日期时间不存在 / no such date-time: ${value}` };
    }
    return { ok: true, value: `${formatDate(y, mo, d)}T${pad(h)}:${pad(mi)}:${sec}${options.zone}` };
  }
  return {
    ok: false,
    code: 'DATE_FORMAT',
    message: `日期时间格式不符（允许：${formats.join('，')}，或带时区偏移的 RFC 3339）/ date-time does not match the allowed formats or RFC 3339 with offset`,
  };
}
