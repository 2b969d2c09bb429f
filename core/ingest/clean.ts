// Text normalisers shared by adapters and the pipeline (DESIGN §7): they fold what spreadsheets and
// Chinese input methods do to identifiers and names, and report what they cannot fix as problems.

import { checkIdNumber, type IdNumberOk } from '../contracts/id-number.ts';

export interface CleanProblem {
  code: string;
  severity: 'error' | 'warning';
  message: string;
}

function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

/** Unicode NFKC (full-width digits and letters → ASCII, `Ｘ` → `X`), skipped for pure ASCII. */
export function nfkc(value: string): string {
  return hasNonAscii(value) ? value.normalize('NFKC') : value;
}

// String.prototype.trim covers U+3000, NBSP and U+FEFF but not the zero-width characters that
// copy-paste from web pages and chat apps leaves behind.
const EDGE_SPACE = /^[\s\u200B-\u200D\u2060\u180E]+|[\s\u200B-\u200D\u2060\u180E]+$/g;

/** Trims all Unicode white space (incl. ideographic space U+3000, NBSP) and zero-width characters. */
export function trimAll(value: string): string {
  const t = value.trim();
  return hasNonAscii(t) ? t.replace(EDGE_SPACE, '') : t;
}

// Look-alikes typed for the middle dot of minority and foreign names (e.g. 阿依古丽·买买提): katakana and
// half-width middle dots, bullets, hyphenation point, bullet/dot operators, Greek ano teleia, word
// separator middle dot, black circle, and full stops (ASCII, full-width, small, ideographic).
const NAME_SEPARATORS = /\s*[\u00B7\u0387\u2022\u2027\u2219\u22C5\u2E31\u30FB\uFF65\u25CF\u2022\u002E\uFF0E\uFE52\u3002\u16EB]\s*/g;

/** Replaces name-separator look-alikes with U+00B7 MIDDLE DOT (the GB 18030 / 公安部 form). */
export function normalizeNameSeparators(value: string): string {
  return value.replace(NAME_SEPARATORS, '\u00B7');
}

// Full-width ASCII block only: NFKC on names would also rewrite CJK compatibility ideographs,
// which some people's registered names use on purpose.
const FULLWIDTH_ASCII = /[\uFF01-\uFF5E]/g;

/** Person names: trim, ideographic/full-width spaces inside collapsed, full-width ASCII folded, separators → U+00B7. */
const NAME_NEEDS_WORK = /[\s\uFF01-\uFF5E\u00B7\u0387\u2022\u2027\u2219\u22C5\u2E31\u30FB\uFF65\u25CF.\uFE52\u3002\u16EB]/;

export function cleanPersonName(value: string): string {
  let s = trimAll(value);
  // Most names need nothing more: skip the replaces.
  if (!NAME_NEEDS_WORK.test(s)) return s;
  if (!hasNonAscii(s)) return s.replace(/\s+/g, ' ');
  s = s.replace(FULLWIDTH_ASCII, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\s+/g, ' ');
  // Rosters pad two-character names to line up with three-character ones ("王　明").
  s = s.replace(/([\u3400-\u9FFF])\s+(?=[\u3400-\u9FFF])/g, '$1');
  // Latin names keep their full stops (initials like "J. Smith"); Chinese-script names never contain one.
  return /[\u3400-\u9FFF\u{20000}-\u{3134F}]/u.test(s) ? normalizeNameSeparators(s) : s;
}

/**
 * Removes the wrappers spreadsheet exports put around a cell to keep it text: `="…"` (any column) and,
 * with `identifier`, a leading apostrophe or TAB (Excel's "store as text" marks). Values that do not
 * carry them come back unchanged (the same string), so the common case costs one character test.
 */
export function stripExportArtefacts(raw: string, identifier = false): string {
  let s = raw;
  const first = s.charCodeAt(0);
  // '=' (61), whitespace before it, or for identifiers ' ‘ ’ and TAB.
  if (first === 61 || first === 32 || first === 9 || (identifier && (first === 39 || first === 0x2018 || first === 0x2019))) {
    const formula = EXCEL_FORMULA_TEXT.exec(s.trim());
    if (formula !== null) s = formula[1]!.replace(/""/g, '"');
    if (identifier) s = s.replace(/^[\t ]*['\u2018\u2019]?/, '');
  }
  return s;
}

export interface IdNumberInputOptions {
  /** 'spreadsheet': Excel-born files, where 18-digit values ending in 000 are suspect. */
  source: 'spreadsheet' | 'system';
  /** Accept legacy 15-digit numbers (upgraded to 18). */
  allow15?: boolean;
  /** Date the number is checked against (default today). */
  at?: string;
}

export interface IdNumberInput {
  /** Normalised 18-character ID number, when valid. */
  value?: string;
  original: string;
  problems: CleanProblem[];
  /** The check result (birth date, sex, area, upgradedFrom15) when valid. */
  id?: IdNumberOk;
}

const SCIENTIFIC = /^[+-]?\d+(?:\.\d*)?[eE][+-]?\d+$/;
const EXCEL_FORMULA_TEXT = /^=\s*"(.*)"$/;

export const ID_EXCEL_SCIENTIFIC_MESSAGE =
  '身份证号列被 Excel 转成了数字（科学计数法），后几位已丢失，请将该列设为文本格式后重新导出 / the ID column was converted by Excel to a number (scientific notation), digits are lost: re-export the column as text';

/**
 * Cleans an ID number cell: strips export artefacts (leading `'`, `="…"`, leading TAB/space), NFKC,
 * rejects scientific notation (lost digits cannot be recovered: never "repaired"), flags 18-digit
 * spreadsheet values ending in 000 for review, then validates with checkIdNumber.
 */
export function cleanIdNumberInput(raw: string, options: IdNumberInputOptions): IdNumberInput {
  const problems: CleanProblem[] = [];
  let s = trimAll(raw);
  const formula = EXCEL_FORMULA_TEXT.exec(s);
  if (formula !== null) s = formula[1]!;
  s = nfkc(s);
  // Leading apostrophe (also its typographic forms) is Excel's "store as text" marker.
  s = trimAll(s.replace(/^['\u2018\u2019]/, ''));
  // Some exports group the digits ("110101 20060321 0263").
  if (/\s/.test(s)) s = s.replace(/\s+/g, '');
  if (s === '') return { original: raw, problems };

  if (SCIENTIFIC.test(s)) {
    problems.push({ code: 'ID_EXCEL_SCIENTIFIC', severity: 'error', message: ID_EXCEL_SCIENTIFIC_MESSAGE });
    return { original: raw, problems };
  }
  if (options.source === 'spreadsheet' && s.length === 18 && s.endsWith('000')) {
    problems.push({
      code: 'ID_SUSPECT_TRAILING_ZEROS',
      severity: 'warning',
      message:
        '身份证号以 000 结尾，可能被 Excel 截断为 15 位有效数字，请与其他系统核对 / ID number ends in 000 and may have been truncated by Excel to 15 significant digits: cross-check with another system',
    });
  }
  const result = checkIdNumber(s, { allow15: options.allow15, at: options.at });
  if (!result.ok) {
    problems.push({ code: result.code, severity: 'error', message: result.message });
    return { original: raw, problems };
  }
  return { value: result.normalized, original: raw, problems, id: result };
}

export interface PhoneInput {
  value?: string;
  problems: CleanProblem[];
}

const MOBILE = /^1[3-9]\d{9}$/;
const NO_PROBLEMS: CleanProblem[] = [];
// Landline with area code (010-12345678, 0571-8888888): 0 + 2–3 digit area code rest + 7–8 digits.
const LANDLINE = /^0\d{9,11}$/;

/**
 * Phone numbers: strips spaces, dashes, dots, brackets and a +86/0086 prefix, then accepts an 11-digit
 * mainland mobile or a landline with area code. Anything else is PHONE_INVALID.
 */
export function normalizePhone(raw: string): PhoneInput {
  if (raw.length === 11 && MOBILE.test(raw)) return { value: raw, problems: NO_PROBLEMS };
  let s = nfkc(trimAll(raw));
  if (s === '') return { problems: [] };
  s = s.replace(/[\s\-().\u2010-\u2015]/g, '');
  if (s.startsWith('+86')) s = s.slice(3);
  else if (s.startsWith('0086')) s = s.slice(4);
  else if (s.length === 13 && s.startsWith('86') && MOBILE.test(s.slice(2))) s = s.slice(2);
  if (MOBILE.test(s) || LANDLINE.test(s)) return { value: s, problems: [] };
  return {
    problems: [
      {
        code: 'PHONE_INVALID',
        severity: 'warning',
        message: '电话号码无效（应为11位手机号或带区号的固定电话）/ phone number is not an 11-digit mobile or a landline with area code',
      },
    ],
  };
}
