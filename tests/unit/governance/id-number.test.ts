// GB 11643 verdicts that issue 6 names: the standard's worked examples, retired area codes (refused in
// new address data, accepted inside old ID numbers), residence permits, and damaged values that no
// case file contains, run through the same ingest cleaner the adapters use.
import { describe, expect, it } from 'vitest';
import { checkIdNumber, computeCheckDigit, RESIDENCE_PERMIT_AREAS } from '../../../core/contracts/id-number.ts';
import { getSharedRegistry } from '../../../core/contracts/registry.ts';
import { AreaCodeTable, defaultCodeTables } from '../../../core/contracts/code-tables.ts';
import { cleanIdNumberInput } from '../../../core/ingest/clean.ts';

const areas = defaultCodeTables().tables.get('GB2260') as AreaCodeTable;
const make = (area: string, birth: string, seq = '123') => {
  const first17 = `${area}${birth}${seq}`;
  return first17 + computeCheckDigit(first17);
};

describe('GB 11643-1999 worked examples', () => {
  it('11010519491231002X: check character X, born 1949-12-31, female, 北京市朝阳区', () => {
    expect(computeCheckDigit('11010519491231002')).toBe('X');
    expect(checkIdNumber('11010519491231002X')).toMatchObject({ ok: true, birthDate: '1949-12-31', sex: '2', area: '110105', kind: 'resident' });
  });

  it('440524188001010014: check digit 4; born 1880 it is refused as implausible by default and valid once the floor allows it', () => {
    expect(computeCheckDigit('44052418800101001')).toBe('4');
    expect(checkIdNumber('440524188001010014')).toMatchObject({ ok: false, code: 'ID_BIRTH_DATE' });
    // 440524 潮阳县 was retired in 1993: the number keeps it.
    expect(areas.has('440524')).toBe(false);
    expect(checkIdNumber('440524188001010014', { minBirthYear: 1850 })).toMatchObject({ ok: true, birthDate: '1880-01-01', sex: '1', area: '440524' });
  });

  it('upgrades a 15-digit number to 18 and keeps the original', () => {
    const r = checkIdNumber('440524800101001', { allow15: true });
    expect(r).toMatchObject({ ok: true, original: '440524800101001', upgradedFrom15: true, birthDate: '1980-01-01' });
    if (r.ok) expect(r.normalized).toBe(`44052419800101001${computeCheckDigit('44052419800101001')}`);
  });
});

describe('retired area codes', () => {
  const contracts = getSharedRegistry();
  const org = { id: 'ORG-1', name: '某职业学校', type: 'school' };

  it('are refused in new address data (organization.areaCode must be current)', () => {
    expect(areas.has('110103')).toBe(false);
    const refused = contracts.validate('organization', { ...org, areaCode: '110103' });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.errors).toEqual([expect.objectContaining({ code: 'CODE_TABLE_UNKNOWN', field: 'areaCode' })]);
    expect(contracts.validate('organization', { ...org, areaCode: '110101' })).toEqual({ ok: true });
  });

  it('are accepted inside old ID numbers (and as 籍贯, a historical place)', () => {
    const person = { id: 'P-1', name: '王小明', idType: '1', idNumber: make('110103', '19900101'), nativePlace: '110103' };
    expect(contracts.validate('person', person)).toEqual({ ok: true });
    expect(checkIdNumber(person.idNumber)).toMatchObject({ ok: true, area: '110103' });
  });

  it('inside a number of someone born after the code was retired, are impossible: ID_AREA_RETIRED', () => {
    // 崇文区 110103 was merged into 东城区 in 2010: nobody born in 2015 got a number with it.
    expect(checkIdNumber(make('110103', '20150301'))).toMatchObject({ ok: false, code: 'ID_AREA_RETIRED' });
    // Born in the year of the change: the data has years only, so the boundary is lenient.
    expect(checkIdNumber(make('110103', '20100601'))).toMatchObject({ ok: true });
    expect(contracts.validate('person', { id: 'P-2', name: '李', idNumber: make('110103', '20150301') }).ok).toBe(false);
  });

  it('must be in use on the issue date when the source knows it', () => {
    const id = make('110103', '19900101');
    expect(checkIdNumber(id, { issuedAt: '2006-05-01' })).toMatchObject({ ok: true });
    expect(checkIdNumber(id, { issuedAt: '2012-05-01' })).toMatchObject({ ok: false, code: 'ID_AREA_CODE' });
  });

  it('codes that never existed, or came into being after the date checked, are refused', () => {
    expect(checkIdNumber(make('990101', '19900101'))).toMatchObject({ ok: false, code: 'ID_AREA_CODE' });
    expect(checkIdNumber(make('653228', '19900101'), { at: '2020-01-01' })).toMatchObject({ ok: false, code: 'ID_AREA_CODE' });
  });
});

describe('港澳台居民居住证 and temporary IDs', () => {
  it('residence permit numbers use 810000/820000/830000 and are told apart from resident numbers', () => {
    expect([...RESIDENCE_PERMIT_AREAS.keys()]).toEqual(['810000', '820000', '830000']);
    for (const area of RESIDENCE_PERMIT_AREAS.keys()) {
      const id = make(area, '19950817', '004');
      expect(checkIdNumber(id)).toMatchObject({ ok: true, kind: 'residence-permit', area });
      expect(checkIdNumber(id, { idType: '3' })).toMatchObject({ ok: true, kind: 'residence-permit' });
      expect(checkIdNumber(id, { idType: '1' })).toMatchObject({ ok: false, code: 'ID_TYPE_MISMATCH' });
    }
    expect(checkIdNumber(make('110105', '19950817'), { idType: '3' })).toMatchObject({ ok: false, code: 'ID_TYPE_MISMATCH' });
    const permit = make('830000', '19950817');
    const wrong = `${permit.slice(0, 17)}${permit[17] === '0' ? '1' : '0'}`;
    expect(checkIdNumber(wrong, { idType: '3' })).toMatchObject({ ok: false, code: 'ID_CHECK_DIGIT' });
  });

  it('a 临时居民身份证 carries the holder’s ordinary number: same verdicts as the permanent card', () => {
    const id = make('330106', '20070312', '456');
    expect(checkIdNumber(id)).toMatchObject({ ok: true, kind: 'resident' });
  });
});

describe('damaged values no case file contains', () => {
  const base = make('330106', '20070312', '456');
  const verdict = (raw: string, options: Parameters<typeof cleanIdNumberInput>[1] = { source: 'spreadsheet' }) => {
    const r = cleanIdNumberInput(raw, options);
    return { value: r.value, codes: r.problems.map((p) => `${p.severity}:${p.code}`) };
  };

  it.each(['4.40524E+17', '3.30106200703E17', '3.301062007E+017', '３.３０１０６Ｅ＋１７'])('scientific notation is refused, never repaired: %s', (raw) => {
    expect(verdict(raw)).toEqual({ value: undefined, codes: ['error:ID_EXCEL_SCIENTIFIC'] });
  });

  it('digits grouped by spaces are joined', () => {
    expect(verdict(`${base.slice(0, 6)} ${base.slice(6, 14)} ${base.slice(14)}`)).toEqual({ value: base, codes: [] });
  });

  it('export artefacts are stripped: leading apostrophe, ="…", TAB, zero-width space, ideographic space, full-width digits', () => {
    const lower = base.replace(/X$/, 'x');
    for (const raw of [`'${lower}`, `="${base}"`, `\t${base}`, `${lower}\u200B`, `\u3000${base}\u3000`, base.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + +d))]) {
      expect(verdict(raw)).toEqual({ value: base.toUpperCase(), codes: [] });
    }
  });

  it('a value truncated to 15 significant digits (…000) is flagged for review, and refused when the checksum also fails', () => {
    const truncated = `${base.slice(0, 15)}000`;
    const v = verdict(truncated);
    expect(v.codes).toContain('warning:ID_SUSPECT_TRAILING_ZEROS');
    const checksumOk = computeCheckDigit(truncated.slice(0, 17)) === '0';
    expect(v.codes.includes('error:ID_CHECK_DIGIT')).toBe(!checksumOk);
    // From a system (not a spreadsheet) the same digits are not suspect.
    expect(verdict(truncated, { source: 'system' }).codes).not.toContain('warning:ID_SUSPECT_TRAILING_ZEROS');
  });

  it.each([
    [`${base}.0`, 'error:ID_LENGTH'],
    [base.slice(0, 17), 'error:ID_LENGTH'],
    [`${base.slice(0, 6)}${base.slice(8, 17)}`, 'error:ID_15_NOT_ALLOWED'],
    [`${base.slice(0, 10)}13${base.slice(12)}`, 'error:ID_BIRTH_DATE'],
    [`${base.slice(0, 17)}${base[17] === '1' ? '2' : '1'}`, 'error:ID_CHECK_DIGIT'],
    [`${base.slice(0, 17)}Y`, 'error:ID_CHARSET'],
    ['', undefined],
  ])('%s → %s', (raw, code) => {
    const v = verdict(raw);
    expect(v.value).toBeUndefined();
    expect(v.codes).toEqual(code ? [code] : []);
  });
});
