// The matcher on its own: quality on a generated population with known duplicates, the C15 case,
// typical damage, and the guards that keep two people apart.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchRecords } from './src/engine.ts';
import { featuresOf, type MatchInput } from './src/features.ts';
import { survive } from './src/survivorship.ts';
import { dateLevel, nameLevel } from './src/weights.ts';
import { generatePopulation, pairwiseQuality } from './testing/population.ts';

const key = randomBytes(32);
const hashIdNumber = (id: string): string => createHmac('sha256', key).update(`idNumber\u0000${id}`).digest('base64url');

function sameCluster(result: ReturnType<typeof matchRecords>, a: number, b: number): boolean {
  return result.cluster[a] === result.cluster[b];
}

describe('matching a generated population', () => {
  it('finds the known duplicates of 5,000 persons with precision and recall of at least 0.98', () => {
    const population = generatePopulation({ persons: 5000, seed: 20240901 });
    expect(population.records.length).toBeGreaterThan(7000);
    const damaged = new Set(population.damage.flat());
    for (const kind of ['id-missing', 'id-15', 'id-full-width', 'name-typo', 'date-swapped', 'phone-missing', 'phone-full-width']) expect(damaged).toContain(kind);
    const result = matchRecords(population.records, { hashIdNumber });
    const quality = pairwiseQuality(result.cluster, population.person);
    expect(quality.precision).toBeGreaterThanOrEqual(0.98);
    expect(quality.recall).toBeGreaterThanOrEqual(0.98);
    expect(result.stats.idLinks).toBeGreaterThan(0);
    expect(result.stats.probabilisticLinks).toBeGreaterThan(0);
  });
});

describe('C15 — legacy 15-digit ID numbers', () => {
  const rows = readFileSync(join(import.meta.dirname, 'fixtures/C15-id-15-digit.csv'), 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
  const records: MatchInput[] = rows.map(([key, name, idNumber]) => ({ member: '91330100MA2AAAAA1X', contract: 'staff', key: key!, name, idNumber }));

  it('E0001 (15 digits) and E0004 (its 18-digit form) are one person, matched on the keyed hash', () => {
    expect(featuresOf(records[0]!).id18).toBe('110101196805121235');
    const result = matchRecords(records, { hashIdNumber });
    expect(sameCluster(result, 0, 3)).toBe(true);
    expect(result.method[3]).toBe('id');
    expect(result.idHash[0]).toBe(hashIdNumber('110101196805121235'));
    expect(result.idHash[0]).not.toContain('110101');
  });

  it('month 13 and all zeros are no evidence: E0002 and E0003 stay on their own', () => {
    const result = matchRecords(records, { hashIdNumber });
    expect(result.idHash[1]).toBe('');
    expect(result.idHash[2]).toBe('');
    expect(new Set([result.cluster[1], result.cluster[2], result.cluster[0]]).size).toBe(3);
  });
});

describe('typical damage', () => {
  const base = { member: '3133010103', contract: 'student' };

  it('full-width digits, a lowercase x and spaces in ID numbers and phones normalise to the same values', () => {
    const a = featuresOf({ ...base, key: 'a', idNumber: '５３０４２５２００６１２２１５６６ｘ', phone: '+86 186 2411 9078', birthDate: '２００６-１２-２１' });
    const b = featuresOf({ ...base, key: 'b', idNumber: '53042520061221566X', phone: '18624119078', birthDate: '2006年12月21日' });
    expect(a.id18).toBe(b.id18);
    expect(a.phone).toBe(b.phone);
    expect(a.birth).toBe('2006-12-21');
    expect(b.birth).toBe('2006-12-21');
  });

  it('grades swapped day/month, one-character typos and separator look-alikes', () => {
    expect(dateLevel('2008-04-12', '2008-12-04')).toBe('swapped');
    expect(dateLevel('2008-04-12', '2008-04-13')).toBe('partial');
    expect(dateLevel('2008-04-12', '2001-07-30')).toBe('other');
    const f = (name: string) => featuresOf({ ...base, key: name, name });
    expect(nameLevel(f('周涵梓'), f('周晗梓'))).toBe('near');
    expect(nameLevel(f('王　小明'), f('王小明'))).toBe('exact');
    expect(nameLevel(f('阿依古丽・买买提'), f('阿依古丽·买买提'))).toBe('exact');
    // Two-character names: a different given name is as likely another person as a typo.
    expect(nameLevel(f('王伟'), f('王芳'))).toBe('surname');
  });

  it('links a record without ID number, with swapped day/month, to its person through name and phone', () => {
    const records: MatchInput[] = [
      { ...base, key: '20217101000004', name: '韦玉磊', idNumber: '152222200804127809', birthDate: '2008-04-12', phone: '15260413197', sex: '2' },
      { member: '4133010102', contract: 'student', key: '2024510102', name: '韦玉磊', birthDate: '2008-12-04', phone: '15260413197' },
      { ...base, key: 'other', name: '韦玉兰', idNumber: '152222200812047809', birthDate: '2008-12-04', phone: '13000000001', sex: '2' },
    ];
    const result = matchRecords(records, { hashIdNumber });
    expect(sameCluster(result, 0, 1)).toBe(true);
    expect(result.method[1]).toBe('probabilistic');
    expect(sameCluster(result, 1, 2)).toBe(false);
  });
});

describe('guards', () => {
  it('two different valid ID numbers never end up in one person, even through a record that has none', () => {
    // Twins: same surname, birth date and family phone; a third record without ID looks like both.
    const records: MatchInput[] = [
      { member: 'A', contract: 'student', key: '1', name: '林敏敏', idNumber: '110101200403100027', birthDate: '2004-03-10', phone: '18128161538', sex: '2' },
      { member: 'A', contract: 'student', key: '2', name: '林敏娟', idNumber: '110101200403100043', birthDate: '2004-03-10', phone: '18128161538', sex: '2' },
      { member: 'B', contract: 'person', key: '3', name: '林敏敏', birthDate: '2004-03-10', phone: '18128161538' },
    ];
    for (const r of records) if (r.idNumber) expect(featuresOf(r).id18).toBeDefined();
    const result = matchRecords(records, { hashIdNumber });
    expect(sameCluster(result, 0, 1)).toBe(false);
    expect(sameCluster(result, 0, 2)).toBe(true);
    expect(result.stats.refusedUnions).toBeGreaterThanOrEqual(1);
  });

  it('C19 within one member: a different username or identifier is a different account holder', () => {
    const records: MatchInput[] = [
      { member: 'A', contract: 'staff', key: 'tch-T2016001', name: '张伟', username: 't2016001', identifier: 'T2016001', email: 'zhangwei@school.example.edu.cn' },
      { member: 'A', contract: 'student', key: 'stu-T2016001', name: '张伟', username: 'zhangwei2', identifier: 'T2016001', email: 'zhangwei@school.example.edu.cn' },
      { member: 'A', contract: 'staff', key: 'tch-T2015003', name: '周小平', username: 't2015003', identifier: 'T2015003', email: 't2015003@school.example.edu.cn' },
      { member: 'A', contract: 'student', key: 'stu-T2015003', name: '周小平', username: 'T2015003', identifier: 't2015003', email: 'T2015003@school.example.edu.cn' },
    ];
    const result = matchRecords(records, { hashIdNumber });
    expect(sameCluster(result, 0, 1)).toBe(false);
    expect(result.review.some((r) => (r.a === 0 && r.b === 1) || (r.a === 1 && r.b === 0))).toBe(false);
    expect(sameCluster(result, 2, 3)).toBe(true);
    expect(result.method[3]).toBe('account');
  });

  it('operator decisions win: a separated pair stays apart, a linked pair stays together', () => {
    const records: MatchInput[] = [
      { member: 'A', contract: 'student', key: '1', name: '罗勇杰', birthDate: '2006-12-21', phone: '18624119078' },
      { member: 'B', contract: 'student', key: '2', name: '罗勇杰', birthDate: '2006-12-21', phone: '18624119078' },
      { member: 'C', contract: 'staff', key: '3', name: '田瑶雨', birthDate: '1980-10-31' },
    ];
    expect(sameCluster(matchRecords(records, { hashIdNumber }), 0, 1)).toBe(true);
    const decided = matchRecords(records, { hashIdNumber, cannotLink: [[0, 1]], mustLink: [[1, 2]] });
    expect(sameCluster(decided, 0, 1)).toBe(false);
    expect(sameCluster(decided, 1, 2)).toBe(true);
    expect(decided.method[2]).toBe('manual');
  });
});

describe('survivorship rules', () => {
  const sources = [
    { index: 0, member: '3133010103', contract: 'student', key: 's', updatedAt: '2023-09-01T00:00:00+08:00', complete: 9, values: { name: '郑晓娥', birthDate: '2007-10-01', phone: '13746787186' } },
    { index: 1, member: '4133010102', contract: 'student', key: 't', updatedAt: '2024-09-01T00:00:00+08:00', complete: 6, values: { name: '郑晓峨', birthDate: '2007-01-10', phone: '13900000000' } },
    { index: 2, member: '91330100MA2AAAAA1X', contract: 'staff', key: 'h', updatedAt: '2022-01-01T00:00:00+08:00', complete: 12, values: { name: '郑晓娥', email: 'zxe@example.com' } },
  ];

  it('picks per field by the configured rules: 学籍 and agreement for the name, most recent for the phone', () => {
    const picks = survive(sources, { name: ['mostCommon', 'contract:student'], phone: ['mostRecent'], email: ['mostRecent'], birthDate: ['contract:student', 'mostComplete'] });
    expect(picks.get('name')).toEqual({ index: 0, rule: 'contract:student' });
    expect(picks.get('phone')).toEqual({ index: 1, rule: 'mostRecent' });
    expect(picks.get('email')).toEqual({ index: 2, rule: 'only' });
    expect(picks.get('birthDate')).toEqual({ index: 0, rule: 'mostComplete' });
  });

  it('a member rule can make one member authoritative for a field', () => {
    expect(survive(sources, { phone: ['member:4133010102'] }).get('phone')!.index).toBe(1);
  });
});
