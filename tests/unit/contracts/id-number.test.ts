import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkIdNumber, computeCheckDigit, type IdNumberResult } from '../../../core/contracts/id-number.ts';
import { AreaCodeTable, defaultCodeTables } from '../../../core/contracts/code-tables.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** Third column of a small case CSV (the shared inputs have no quoting). */
function idColumn(name: string): string[] {
  return readFileSync(fixture(name), 'utf8')
    .split(/\r?\n/)
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split(',')[2]!);
}

function ok(r: IdNumberResult) {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}`);
  return r;
}

const areas = defaultCodeTables().tables.get('GB2260') as AreaCodeTable;

describe('computeCheckDigit (GB 11643-1999 ISO 7064 MOD 11-2)', () => {
  it('reproduces the worked example of the standard', () => {
    expect(computeCheckDigit('11010519491231002')).toBe('X');
    const r = ok(checkIdNumber('11010519491231002X'));
    expect(r).toMatchObject({ birthDate: '1949-12-31', sex: '2', area: '110105', upgradedFrom15: false });
  });

  it('round-trips generated numbers for current area codes and rejects every other check character', () => {
    const codes = [...areas.entries()].filter((e) => e.validTo === undefined && !e.code.endsWith('00')).map((e) => e.code);
    for (let i = 0; i < 40; i++) {
      const area = codes[(i * 997) % codes.length]!;
      const year = 1950 + ((i * 7) % 70);
      const month = String(1 + (i % 12)).padStart(2, '0');
      const day = String(1 + ((i * 3) % 28)).padStart(2, '0');
      const first17 = `${area}${year}${month}${day}${String(100 + i).padStart(3, '0')}`;
      const id = first17 + computeCheckDigit(first17);
      const r = ok(checkIdNumber(id));
      expect(r.normalized).toBe(id);
      expect(r.sex).toBe(+first17[16]! % 2 === 1 ? '1' : '2');
      for (const wrong of '0123456789X') {
        if (wrong === id[17]) continue;
        expect(checkIdNumber(first17 + wrong)).toMatchObject({ ok: false, code: 'ID_CHECK_DIGIT' });
      }
    }
  });

  it('refuses a malformed argument as a programmer error', () => {
    expect(() => computeCheckDigit('123')).toThrow(TypeError);
  });
});

describe('checkIdNumber', () => {
  it('C05: accepts x, X and full-width Ｘ and emits uppercase X; rejects the wrong check digit', () => {
    const [lower, upper, fullWidth, wrong] = idColumn('C05-id-lowercase-x.csv');
    for (const v of [lower!, upper!, fullWidth!]) {
      const r = ok(checkIdNumber(v));
      expect(r.normalized).toMatch(/^\d{17}X$/);
      expect(r.original).toBe(v);
    }
    expect(checkIdNumber(wrong!)).toMatchObject({ ok: false, code: 'ID_CHECK_DIGIT' });
  });

  it('accepts full-width digits after NFKC', () => {
    const fw = '１１０１０５１９４９１２３１００２ｘ';
    expect(ok(checkIdNumber(fw)).normalized).toBe('11010519491231002X');
  });

  it('C15: upgrades a 15-digit number only when allowed, and it matches the 18-digit form of the same person', () => {
    const [plausible, month13, zeros, eighteen] = idColumn('C15-id-15-digit.csv');
    expect(checkIdNumber(plausible!)).toMatchObject({ ok: false, code: 'ID_15_NOT_ALLOWED' });
    const r = ok(checkIdNumber(plausible!, { allow15: true }));
    expect(r).toMatchObject({ normalized: '110101196805121235', upgradedFrom15: true, original: '110101680512123', birthDate: '1968-05-12' });
    expect(r.normalized).toBe(ok(checkIdNumber(eighteen!)).normalized);
    expect(checkIdNumber(month13!, { allow15: true })).toMatchObject({ ok: false, code: 'ID_BIRTH_DATE' });
    expect(checkIdNumber(zeros!, { allow15: true })).toMatchObject({ ok: false, code: 'ID_ALL_ZERO' });
  });

  it('rejects all-zero 18-digit numbers', () => {
    expect(checkIdNumber('000000000000000000')).toMatchObject({ ok: false, code: 'ID_ALL_ZERO' });
  });

  it('C04: a number damaged by Excel (…000) still passes the checksum, so the result exposes what an ingest check needs', () => {
    const damaged = idColumn('C04-id-scientific-notation.csv')[1]!;
    const r = ok(checkIdNumber(damaged));
    expect(r.normalized.endsWith('000')).toBe(true);
    expect(checkIdNumber(idColumn('C04-id-scientific-notation.csv')[0]!)).toMatchObject({ ok: false, code: 'ID_LENGTH' });
  });

  it('rejects impossible, too old and future birth dates', () => {
    const make = (area: string, date: string) => {
      const first17 = `${area}${date}123`;
      return first17 + computeCheckDigit(first17);
    };
    expect(checkIdNumber(make('110101', '20050229'))).toMatchObject({ ok: false, code: 'ID_BIRTH_DATE' });
    expect(ok(checkIdNumber(make('110101', '20040229'))).birthDate).toBe('2004-02-29');
    expect(checkIdNumber(make('110101', '18991231'))).toMatchObject({ ok: false, code: 'ID_BIRTH_DATE' });
    expect(checkIdNumber(make('110101', '20050901'), { at: '2004-12-31' })).toMatchObject({ ok: false, code: 'ID_BIRTH_DATE' });
    expect(checkIdNumber(make('110101', '29990101'))).toMatchObject({ ok: false, code: 'ID_BIRTH_DATE' });
  });

  it('keeps retired area codes valid but refuses codes that never existed or did not exist yet', () => {
    const make = (area: string) => {
      const first17 = `${area}19900101123`;
      return first17 + computeCheckDigit(first17);
    };
    expect(areas.has('110103')).toBe(false);
    expect(ok(checkIdNumber(make('110103'))).area).toBe('110103');
    expect(checkIdNumber(make('990101'))).toMatchObject({ ok: false, code: 'ID_AREA_CODE' });
    const late = [...areas.entries()].find((e) => e.validFrom !== undefined && e.validFrom >= '2015-01-01' && areas.history(e.code).every((h) => h.validFrom !== undefined && h.validFrom >= '2015-01-01'))!;
    expect(ok(checkIdNumber(make(late.code))).area).toBe(late.code);
    expect(checkIdNumber(make(late.code), { at: '2000-01-01' })).toMatchObject({ ok: false, code: 'ID_AREA_CODE' });
  });

  it('reports charset and length problems', () => {
    expect(checkIdNumber('11010519491231002A')).toMatchObject({ ok: false, code: 'ID_CHARSET' });
    expect(checkIdNumber('1101051949123100')).toMatchObject({ ok: false, code: 'ID_LENGTH' });
    expect(checkIdNumber('11010568051212A', { allow15: true })).toMatchObject({ ok: false, code: 'ID_CHARSET' });
    expect(checkIdNumber(' 11010519491231002X')).toMatchObject({ ok: false, code: 'ID_LENGTH' });
  });
});
