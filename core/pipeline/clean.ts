// Generic cleaning applied to every record before validation, whatever adapter produced it.
// Adapters do source-specific work (encodings, Excel damage, date formats, label → code); this is
// the safety net every record passes: each change is counted under the rule that made it, so an
// import run can say what was changed and why.
import type { Problem } from '../errors.ts';

export type CleaningRule = 'trim' | 'nfkc' | 'name-separator' | 'id-number-case' | 'phone-format' | 'empty-to-absent';

export interface CleanResult {
  data: Record<string, unknown>;
  /** Rule → number of fields it changed in this record. */
  changes: Partial<Record<CleaningRule, number>>;
  problems: Problem[];
}

// Fields whose values are identifiers or codes: compatibility forms (full-width digits and letters,
// ideographic space) are folded with NFKC so `１２３` and `123` are one key.
const IDENTIFIER_FIELD = /^(id|code|.*Id|.*Ids|.*Number|.*Code|idNumber|username|identifier|email|phone|grade|schoolYear|nationalStudentId|sex|ethnicity|nationality|nativePlace|idType|status|.*Status|type|role|category|educationLevel|letterGrade|score|credits)$/;
const NAME_FIELD = /^(name|familyName|givenName|formerName|title)$/;
// Look-alikes of the middle dot used in minority and foreign names (阿依古丽·买买提): one canonical U+00B7.
const NAME_SEPARATORS = /[\u30FB\uFF65\u2022\u2027\u2219\u22C5\u00B7\u0387\u25CF\u2E31\u2E33\u16EB\uA78F\u318D\u10FB\u00B7\uFF0E]/g;
const WHITESPACE_EDGES = /^[\s\u3000\u00A0\uFEFF]+|[\s\u3000\u00A0\uFEFF]+$/g;
const INNER_WHITESPACE = /[\s\u3000\u00A0]+/g;

function bump(changes: CleanResult['changes'], rule: CleaningRule): void {
  changes[rule] = (changes[rule] ?? 0) + 1;
}

function cleanString(field: string, value: string, changes: CleanResult['changes']): string | undefined {
  let out = value;
  const trimmed = out.replace(WHITESPACE_EDGES, '').replace(INNER_WHITESPACE, ' ');
  if (trimmed !== out) {
    bump(changes, 'trim');
    out = trimmed;
  }
  if (out === '') {
    bump(changes, 'empty-to-absent');
    return undefined;
  }
  if (IDENTIFIER_FIELD.test(field)) {
    const folded = out.normalize('NFKC');
    if (folded !== out) {
      bump(changes, 'nfkc');
      out = folded;
    }
  }
  if (NAME_FIELD.test(field)) {
    const separated = out.replace(NAME_SEPARATORS, '\u00B7').replace(/\s*\u00B7\s*/g, '\u00B7');
    if (separated !== out) {
      bump(changes, 'name-separator');
      out = separated;
    }
  }
  if (field === 'idNumber') {
    const upper = out.replace(/\s+/g, '').toUpperCase();
    if (upper !== out) {
      bump(changes, 'id-number-case');
      out = upper;
    }
  }
  if (field === 'phone') {
    // Keep the digits a person dialled; separators differ between systems.
    const compact = out.replace(/[\s\-()（）]/g, '').replace(/^(\+86|0086)(?=1\d{10}$)/, '');
    if (compact !== out) {
      bump(changes, 'phone-format');
      out = compact;
    }
  }
  return out;
}

function cleanValue(field: string, value: unknown, changes: CleanResult['changes']): unknown {
  if (typeof value === 'string') return cleanString(field, value, changes);
  if (Array.isArray(value)) {
    const items = value.map((v) => cleanValue(field, v, changes)).filter((v) => v !== undefined);
    return items;
  }
  if (value !== null && typeof value === 'object') return cleanObject(value as Record<string, unknown>, changes);
  return value;
}

function cleanObject(data: Record<string, unknown>, changes: CleanResult['changes']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(data)) {
    if (value === undefined || value === null) continue;
    // Member-specific extensions are the member's own words: kept as they came.
    if (field === 'extensions') {
      out[field] = value;
      continue;
    }
    const cleaned = cleanValue(field, value, changes);
    if (cleaned !== undefined) out[field] = cleaned;
  }
  return out;
}

/** Returns the first path whose string holds U+FFFD: a decoding failure that must never be stored. */
function findReplacementChar(value: unknown, path: string): { path: string; value: string } | undefined {
  if (typeof value === 'string') return value.includes('\uFFFD') ? { path, value } : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findReplacementChar(value[i], `${path}/${i}`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findReplacementChar(v, path ? `${path}/${k}` : k);
      if (hit) return hit;
    }
  }
  return undefined;
}

export function cleanRecord(data: Record<string, unknown>): CleanResult {
  const changes: CleanResult['changes'] = {};
  const problems: Problem[] = [];
  const bad = findReplacementChar(data, '');
  if (bad) {
    problems.push({
      code: 'ENCODING_REPLACEMENT_CHAR',
      severity: 'error',
      field: bad.path,
      value: bad.value,
      message: '数据含有替换字符 U+FFFD（编码解码失败），请检查文件编码 / value holds U+FFFD (a decoding failure): check the file encoding',
    });
    return { data, changes, problems };
  }
  return { data: cleanObject(data, changes), changes, problems };
}
