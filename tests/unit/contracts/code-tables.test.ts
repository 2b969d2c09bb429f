import { describe, expect, it } from 'vitest';
import { AreaCodeTable, crosswalkCode, loadCodeTables } from '../../../core/contracts/code-tables.ts';

const set = loadCodeTables();
const table = (name: string) => {
  const t = set.tables.get(name);
  if (!t) throw new Error(`missing table ${name}`);
  return t;
};

describe('code tables', () => {
  it('GB2261.1 sex has the four codes of the standard', () => {
    expect([...table('GB2261.1').entries()].map((e) => e.code).sort()).toEqual(['0', '1', '2', '9']);
    expect(table('GB2261.1').codeOf('女')).toBe('2');
  });

  it('GB3304 has the 56 ethnic groups plus the 97/98 extensions, with labels, letters and variant labels', () => {
    const t = table('GB3304');
    const codes = [...t.entries()].map((e) => e.code);
    expect(codes).toHaveLength(58);
    expect(codes.filter((c) => +c >= 1 && +c <= 56)).toHaveLength(56);
    expect(t.get('98')?.label).toBe('外国血统中国籍人士');
    expect(t.codeOf('汉族')).toBe('01');
    expect(t.codeOf('HA')).toBe('01');
    expect(t.codeOf('未识别民族')).toBe('97');
    expect(t.codeOf('入籍外国人')).toBe('98');
    expect(t.has('57')).toBe(false);
  });

  it('GB3304 crosswalk maps the diverging variants to the canonical codes', () => {
    expect(crosswalkCode(set, 'GB3304', 'C', '57')).toBe('97');
    expect(crosswalkCode(set, 'GB3304', 'C', '58')).toBe('98');
    expect(crosswalkCode(set, 'GB3304', 'B', '97')).toBe('97');
    expect(crosswalkCode(set, 'GB3304', 'C', '99')).toBeUndefined();
  });

  it('GB2260 has 3213 codes in use and keeps the history of retired ones', () => {
    const t = table('GB2260') as AreaCodeTable;
    expect(t).toBeInstanceOf(AreaCodeTable);
    expect(t.currentCount).toBe(3213);
    // 崇文区 was merged into 东城区 in 2010.
    expect(t.has('110103')).toBe(false);
    expect(t.has('110103', '2005-06-01')).toBe(true);
    expect(t.has('110103', '2011-01-01')).toBe(false);
    expect(t.get('110103')).toMatchObject({ label: '崇文区', validTo: '2010-12-31', successors: ['110101'] });
    expect(t.has('110101')).toBe(true);
    expect(t.everExisted('110103')).toBe(true);
    expect(t.has('999999')).toBe(false);
  });

  it('GB2260 keeps renamed codes as several periods and resolves current names, refusing ambiguous ones', () => {
    const t = table('GB2260') as AreaCodeTable;
    expect(t.history('120110').map((e) => e.label)).toEqual(['东郊区', '东丽区']);
    expect(t.get('120110')?.label).toBe('东丽区');
    expect(t.codeOf('东城区')).toBe('110101');
    expect(t.codeOf('朝阳区')).toBeUndefined();
  });

  it('ISO 3166-1 (GB/T 2659) resolves alpha-3 codes and Chinese, English and alpha-2 labels', () => {
    const t = table('ISO3166-1');
    expect([...t.entries()].length).toBe(249);
    expect(t.has('CHN')).toBe(true);
    expect(t.codeOf('中国')).toBe('CHN');
    expect(t.codeOf('CN')).toBe('CHN');
    expect(t.codeOf(' 澳门 ')).toBe('MAC');
  });

  it('loads the optional party and degree tables', () => {
    expect(table('GB4763').codeOf('民盟')).toBe('05');
    expect(table('GB6864').get('2')?.label).toBe('博士');
  });
});
