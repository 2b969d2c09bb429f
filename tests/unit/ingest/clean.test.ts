import { describe, expect, it } from 'vitest';
import { cleanIdNumberInput, cleanPersonName, normalizeNameSeparators, normalizePhone, trimAll } from '../../../core/ingest/clean.ts';
import { readDelimited } from '../../../core/ingest/delimited.ts';
import { caseFile, collect } from './helpers.ts';

const AT = '2024-09-01';

async function idColumn(file: string, column: string, keyColumn: string) {
  const { rows } = await collect(readDelimited(caseFile(file)));
  return rows.map((r) => ({ key: r.values[keyColumn]!, raw: r.values[column]! }));
}

describe('ID number input', () => {
  it('C04: rejects scientific notation with a re-export message, strips export artefacts, flags ...000 for review', async () => {
    const rows = await idColumn('C04-id-scientific-notation.csv', '身份证号', '学号');
    const results = rows.map((r) => cleanIdNumberInput(r.raw, { source: 'spreadsheet', at: AT }));
    expect(results[0]!.value).toBeUndefined();
    expect(results[0]!.problems.map((p) => [p.code, p.severity])).toEqual([['ID_EXCEL_SCIENTIFIC', 'error']]);
    expect(results[0]!.problems[0]!.message).toContain('文本格式');
    // 110101200602150000 passes the checksum: kept, but flagged for a cross-check.
    expect(results[1]!.value).toBe('110101200602150000');
    expect(results[1]!.problems.map((p) => [p.code, p.severity])).toEqual([['ID_SUSPECT_TRAILING_ZEROS', 'warning']]);
    expect(results.slice(2).map((r) => [r.value, r.problems])).toEqual([
      ['110101200603210263', []],
      ['110101200603210271', []],
      ['11010120060321028X', []],
    ]);
    expect(results[2]!.original).toBe("'110101200603210263");
  });

  it('C04: the ...000 warning is for spreadsheet sources only', () => {
    expect(cleanIdNumberInput('110101200602150000', { source: 'system', at: AT }).problems).toEqual([]);
    expect(cleanIdNumberInput('1.10101200509011E+17', { source: 'system', at: AT }).problems[0]!.code).toBe('ID_EXCEL_SCIENTIFIC');
  });

  it('C05: accepts x, X and full-width Ｘ, stores uppercase X, rejects the wrong check digit', async () => {
    const rows = await idColumn('C05-id-lowercase-x.csv', '身份证号', '学号');
    const results = rows.map((r) => cleanIdNumberInput(r.raw, { source: 'spreadsheet', at: AT }));
    expect(results.slice(0, 3).map((r) => r.value)).toEqual(['11010120050901109X', '11010120050901117X', '11010120050901125X']);
    expect(results[3]!.value).toBeUndefined();
    expect(results[3]!.problems.map((p) => p.code)).toEqual(['ID_CHECK_DIGIT']);
  });

  it('C15: converts 15-digit IDs only when allowed, keeps the original, rejects impossible dates and zeros', async () => {
    const rows = await idColumn('C15-id-15-digit.csv', '身份证号', '工号');
    const allowed = rows.map((r) => cleanIdNumberInput(r.raw, { source: 'system', allow15: true, at: AT }));
    expect(allowed[0]!.value).toBe('110101196805121235');
    expect(allowed[0]!.original).toBe('110101680512123');
    expect(allowed[0]!.id?.upgradedFrom15).toBe(true);
    expect(allowed[1]!.problems.map((p) => p.code)).toEqual(['ID_BIRTH_DATE']);
    expect(allowed[2]!.problems.map((p) => p.code)).toEqual(['ID_ALL_ZERO']);
    // E0001 and E0004 are the same person.
    expect(allowed[3]!.value).toBe(allowed[0]!.value);
    const refused = cleanIdNumberInput(rows[0]!.raw, { source: 'system', at: AT });
    expect(refused.problems.map((p) => p.code)).toEqual(['ID_15_NOT_ALLOWED']);
  });

  it('treats an empty cell as no value and no problem', () => {
    expect(cleanIdNumberInput(' \u3000', { source: 'spreadsheet' })).toEqual({ original: ' \u3000', problems: [] });
  });
});

describe('text normalisers', () => {
  it('trims ideographic space, NBSP and zero-width characters', () => {
    expect(trimAll('\u3000\u00A0王小明\u200B ')).toBe('王小明');
  });

  it('turns name-separator look-alikes into U+00B7', () => {
    for (const sep of ['・', '･', '•', '‧', '∙', '⋅', '·', '●', '.', '．', '。']) {
      expect(normalizeNameSeparators(`阿依古丽${sep}买买提`)).toBe('阿依古丽·买买提');
    }
    expect(cleanPersonName(' 阿依古丽 ． 买买提 ')).toBe('阿依古丽·买买提');
    expect(cleanPersonName('王\u3000明')).toBe('王明');
    expect(cleanPersonName('J. Smith')).toBe('J. Smith');
  });

  it('normalises phones and flags numbers that are neither mobile nor landline', () => {
    expect(normalizePhone('+86 138-0000-0001').value).toBe('13800000001');
    expect(normalizePhone('１３８０００００００２').value).toBe('13800000002');
    expect(normalizePhone('0571-88888888').value).toBe('057188888888');
    expect(normalizePhone('1380000').problems.map((p) => [p.code, p.severity])).toEqual([['PHONE_INVALID', 'warning']]);
    expect(normalizePhone('').problems).toEqual([]);
  });
});
