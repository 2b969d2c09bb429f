// GB 11643-1999 citizen identification numbers (公民身份号码): structure, check digit, 15 → 18 upgrade.
import { AreaCodeTable, defaultCodeTables } from './code-tables.ts';

export type IdNumberErrorCode =
  | 'ID_CHECK_DIGIT'
  | 'ID_LENGTH'
  | 'ID_CHARSET'
  | 'ID_BIRTH_DATE'
  | 'ID_AREA_CODE'
  | 'ID_ALL_ZERO'
  | 'ID_15_NOT_ALLOWED'
  | 'ID_AREA_RETIRED'
  | 'ID_TYPE_MISMATCH';

/**
 * 港澳台居民居住证 (residence permits for Hong Kong, Macao and Taiwan residents, since 2018-09-01)
 * carry a GB 11643 number whose address code is one of these; 830000 is not a GB/T 2260 code.
 */
export const RESIDENCE_PERMIT_AREAS: ReadonlyMap<string, string> = new Map([
  ['810000', '香港 / Hong Kong'],
  ['820000', '澳门 / Macao'],
  ['830000', '台湾 / Taiwan'],
]);

export interface IdNumberOk {
  ok: true;
  /** 18 characters, check character uppercase `X`. */
  normalized: string;
  /** The value as given. */
  original: string;
  upgradedFrom15: boolean;
  birthDate: string;
  /** GB/T 2261.1: '1' male (odd sequence digit), '2' female (even). */
  sex: '1' | '2';
  /** GB/T 2260 code of the place of first registration (may be retired since), or 810000/820000/830000. */
  area: string;
  /** `residence-permit`: a 港澳台居民居住证 number (area 810000/820000/830000). 临时居民身份证 carry the holder's ordinary number: `resident`. */
  kind: 'resident' | 'residence-permit';
}

export interface IdNumberError {
  ok: false;
  code: IdNumberErrorCode;
  message: string;
}

export type IdNumberResult = IdNumberOk | IdNumberError;

export interface CheckIdNumberOptions {
  /** Accept legacy 15-digit numbers (upgraded to 18). Only for sources configured to hold them. */
  allow15?: boolean;
  /** ISO date the number is checked against (issue or record date): birth date must not be after it,
   * area code must have existed on or before it. Default: today. */
  at?: string;
  /** GB/T 2260 history; default: the repository's table. */
  areas?: AreaCodeTable;
  /** Document type (VOCHUB-ID-TYPE): `1` 居民身份证 refuses permit areas, `3` 港澳台居民居住证 requires them; absent: either. */
  idType?: string;
  /** ISO date the document was issued, when the source knows it: the area code must be valid on that date. */
  issuedAt?: string;
  /** Earliest plausible birth year (default 1900: nobody born earlier is in a school's or employer's data). The
   * standard's own second worked example, 440524188001010014, needs 1880. */
  minBirthYear?: number;
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const MESSAGES: Record<IdNumberErrorCode, string> = {
  ID_CHECK_DIGIT: '身份证号校验位错误 / ID number check digit is wrong',
  ID_LENGTH: '身份证号长度应为18位 / ID number must have 18 characters',
  ID_CHARSET: '身份证号只能包含数字和末位X / ID number may contain only digits and a final X',
  ID_BIRTH_DATE: '身份证号中的出生日期无效 / birth date in the ID number is not a valid date',
  ID_AREA_CODE: '身份证号中的地区码不存在 / area code in the ID number does not exist in GB/T 2260',
  ID_ALL_ZERO: '身份证号全为零 / ID number is all zeros',
  ID_15_NOT_ALLOWED: '此数据源不接受15位身份证号 / 15-digit ID numbers are not accepted from this source',
  ID_AREA_RETIRED: '身份证号中的地区码在出生前已撤销，不可能据此发号 / the area code was retired before the birth date: no number can have been issued with it',
  ID_TYPE_MISMATCH: '证件号与证件类型不符（港澳台居民居住证地区码为 810000/820000/830000） / number does not match the document type (residence permits use 810000/820000/830000)',
};

function fail(code: IdNumberErrorCode, detail?: string): IdNumberError {
  return { ok: false, code, message: detail ? `${MESSAGES[code]} (${detail})` : MESSAGES[code] };
}

/** Check character (0-9 or X) for the first 17 digits. Throws on a malformed argument (programmer error). */
export function computeCheckDigit(first17: string): string {
  if (first17.length !== 17) throw new TypeError('computeCheckDigit needs exactly 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const d = first17.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw new TypeError('computeCheckDigit needs exactly 17 digits');
    sum += d * WEIGHTS[i]!;
  }
  return CHECK_CHARS[sum % 11]!;
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function allDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

let cachedToday = '';
let cachedTodayUntil = 0;

/** Today's local ISO date, recomputed at most once a minute: checks run per record on the hot path. */
export function todayIso(): string {
  const now = Date.now();
  if (now < cachedTodayUntil) return cachedToday;
  const d = new Date(now);
  const m = d.getMonth() + 1;
  const day = d.getDate();
  cachedToday = `${d.getFullYear()}-${m < 10 ? '0' : ''}${m}-${day < 10 ? '0' : ''}${day}`;
  cachedTodayUntil = now + 60_000;
  return cachedToday;
}

/**
 * Validates and normalises an ID number. Accepts `x`, `X` and full-width `Ｘ`/digits (NFKC).
 * Never throws on bad input.
 */
export function checkIdNumber(value: string, options: CheckIdNumberOptions = {}): IdNumberResult {
  // Only pay for NFKC when something non-ASCII is present.
  let s = value;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      s = s.normalize('NFKC');
      break;
    }
  }
  if (s.length === 18 && s.charCodeAt(17) === 120 /* x */) s = s.slice(0, 17) + 'X';

  let upgradedFrom15 = false;
  if (s.length === 15) {
    if (!allDigits(s, 0, 15)) return fail('ID_CHARSET');
    if (!options.allow15) return fail('ID_15_NOT_ALLOWED');
    if (/^0+$/.test(s)) return fail('ID_ALL_ZERO');
    const first17 = s.slice(0, 6) + '19' + s.slice(6);
    s = first17 + computeCheckDigit(first17);
    upgradedFrom15 = true;
  } else if (s.length === 18) {
    const last = s.charCodeAt(17);
    if (!allDigits(s, 0, 17) || !((last >= 48 && last <= 57) || last === 88)) return fail('ID_CHARSET');
    if (/^0{17}/.test(s)) return fail('ID_ALL_ZERO');
  } else {
    return fail('ID_LENGTH', `${[...s].length}`);
  }

  const at = options.at ?? todayIso();
  const year = +s.slice(6, 10);
  const month = +s.slice(10, 12);
  const day = +s.slice(12, 14);
  const birthDate = `${s.slice(6, 10)}-${s.slice(10, 12)}-${s.slice(12, 14)}`;
  const maxDay = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month];
  if (year < (options.minBirthYear ?? 1900) || month < 1 || month > 12 || maxDay === undefined || day < 1 || day > maxDay) {
    return fail('ID_BIRTH_DATE');
  }
  if (birthDate > at) return fail('ID_BIRTH_DATE', 'in the future');

  const area = s.slice(0, 6);
  const permit = RESIDENCE_PERMIT_AREAS.has(area);
  if (options.idType === '3' && !permit) return fail('ID_TYPE_MISMATCH', `area ${area}`);
  if (options.idType === '1' && permit) return fail('ID_TYPE_MISMATCH', `area ${area}`);
  if (!permit) {
    const areas = options.areas ?? (defaultCodeTables().tables.get('GB2260') as AreaCodeTable);
    if (!areas.existedBy(area, at)) return fail('ID_AREA_CODE');
    // The number is issued at or after birth and keeps its area code for life: the code must have been
    // in use on the issue date when known, else at some moment between birth and `at` (retired codes
    // stay valid inside old numbers; a code retired before the person was born cannot be in one).
    if (options.issuedAt !== undefined) {
      if (!areas.has(area, options.issuedAt)) return fail('ID_AREA_CODE', `not in use on ${options.issuedAt}`);
    } else if (!areas.inUseBetween(area, birthDate, at)) {
      return fail('ID_AREA_RETIRED', area);
    }
  }

  if (!upgradedFrom15 && computeCheckDigit(s.slice(0, 17)) !== s[17]) return fail('ID_CHECK_DIGIT');

  return {
    ok: true,
    normalized: s,
    original: value,
    upgradedFrom15,
    birthDate,
    sex: (s.charCodeAt(16) - 48) % 2 === 1 ? '1' : '2',
    area,
    kind: permit ? 'residence-permit' : 'resident',
  };
}
