// Synthetic population with known duplicates and the damage member exports really carry, for the
// precision/recall test and the benchmark. Everyone is made up: random names from common characters,
// ID numbers computed from real GB/T 2260 county codes in use since 1981 (contracts/code-tables, CC0: valid for every birth date) with a correct
// GB 11643 check digit, random phones. Deterministic for a seed.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { computeCheckDigit } from '../../../core/contracts/id-number.ts';
import type { MatchInput } from '../src/features.ts';

export interface PopulationOptions {
  persons: number;
  seed: number;
  /** Members the records are spread over (default six made-up codes). */
  members?: string[];
}

export interface Population {
  records: MatchInput[];
  /** Ground truth: person number per record. */
  person: Int32Array;
  /** What was done to each record, for failure analysis. */
  damage: string[][];
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红娥玲芬燕彬鹏浩宇轩子涵欣怡梓萱思雨博文晨阳佳琪一诺嘉豪俊熙雅婷晓东海波鑫宁瑶婧琳颖凯航泽然睿志国建新春雪梅兰丹永庆荣福祥瑞天成';
const PHONE_PREFIXES = ['130', '131', '132', '135', '136', '137', '138', '139', '150', '151', '152', '157', '158', '159', '177', '180', '181', '186', '187', '188', '189', '199'];
const DEFAULT_MEMBERS = ['4133010101', '4133010102', '3133010103', '3133010104', '91330100MA2AAAAA1X', '91330100MA2BBBBB2Y'];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let countyCodes: string[] | undefined;
function counties(): string[] {
  if (countyCodes) return countyCodes;
  const csv = readFileSync(resolve(import.meta.dirname, '../../../contracts/code-tables/GB2260-history.csv'), 'utf8');
  countyCodes = csv.split(/\r?\n/).slice(1).map((l) => l.split(',')).filter((c) => c[4] === '县级' && c[5] === '在用' && c[6] !== undefined && +c[6] <= 1981).map((c) => c[0]!);
  return countyCodes;
}

const FULL_WIDTH_OFFSET = 0xff10 - 0x30;
function fullWidthDigits(s: string): string {
  return s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + FULL_WIDTH_OFFSET));
}

interface Person {
  surname: string;
  given: string;
  birth: string;
  sex: '1' | '2';
  id18: string;
  phone: string;
  staff: boolean;
}

export function generatePopulation(options: PopulationOptions): Population {
  const random = rng(options.seed);
  const members = options.members ?? DEFAULT_MEMBERS;
  const areas = counties();
  const pick = <T>(list: ArrayLike<T>): T => list[Math.floor(random() * list.length)]!;
  // Zipf-like surname frequencies: the first surnames are much more common, as in real life.
  const surname = (): string => SURNAMES[Math.floor(SURNAMES.length * random() ** 2.2)]!;
  const givenName = (): string => (random() < 0.35 ? pick(GIVEN) : pick(GIVEN) + pick(GIVEN));
  const phone = (): string => pick(PHONE_PREFIXES) + String(Math.floor(random() * 1e8)).padStart(8, '0');
  const birthIn = (from: number, to: number): string => {
    const y = from + Math.floor(random() * (to - from + 1));
    const m = 1 + Math.floor(random() * 12);
    const d = 1 + Math.floor(random() * 28);
    return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  };
  const usedIds = new Set<string>();
  const idFor = (birth: string, sex: '1' | '2'): string => {
    for (;;) {
      let seq = Math.floor(random() * 500) * 2 + (sex === '1' ? 1 : 0);
      if (seq > 999) seq -= 2;
      const first17 = pick(areas) + birth.replace(/-/g, '') + String(seq).padStart(3, '0');
      const id = first17 + computeCheckDigit(first17);
      if (!usedIds.has(id)) {
        usedIds.add(id);
        return id;
      }
    }
  };
  const newPerson = (base?: Person, twin = false): Person => {
    const staff = base ? base.staff : random() < 0.3;
    const sex: '1' | '2' = random() < 0.5 ? '1' : '2';
    let birth: string;
    if (base && twin) birth = base.birth;
    else if (base) {
      const y = +base.birth.slice(0, 4) + (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 5));
      birth = `${y}${birthIn(2000, 2000).slice(4)}`;
    } else birth = staff ? birthIn(1960, 1995) : birthIn(2003, 2010);
    let given = givenName();
    // Siblings often share the generation character (字辈) of a two-character given name.
    if (base && base.given.length === 2 && random() < 0.5) given = base.given[0] + pick(GIVEN);
    if (base && given === base.given) given = given + pick(GIVEN);
    return { surname: base?.surname ?? surname(), given, birth, sex, id18: idFor(birth, sex), phone: base?.phone ?? phone(), staff };
  };

  const people: Person[] = [];
  while (people.length < options.persons) {
    const p = newPerson();
    people.push(p);
    const r = random();
    // 2% have a sibling and 0.3% a twin in the data: same surname and family phone, the hard negatives.
    if (r < 0.02 && people.length < options.persons) people.push(newPerson(p));
    else if (r < 0.023 && people.length < options.persons) people.push(newPerson(p, true));
  }

  const records: MatchInput[] = [];
  const person: number[] = [];
  const damage: string[][] = [];
  let serial = 0;
  people.forEach((p, index) => {
    const r = random();
    const copies = r < 0.6 ? 1 : r < 0.9 ? 2 : 3;
    const usedMembers = new Set<string>();
    for (let c = 0; c < copies; c++) {
      let member = pick(members);
      for (let t = 0; t < 4 && usedMembers.has(member); t++) member = pick(members);
      usedMembers.add(member);
      const done: string[] = [];
      // The first record of a person is its school's 学籍 (or HR record); later copies come from other systems.
      const dirty = c > 0 || random() < 0.3;
      const record: MatchInput = {
        member,
        contract: c === 0 ? (p.staff ? 'staff' : 'student') : random() < 0.5 ? 'person' : p.staff ? 'staff' : 'student',
        key: `R${(serial++).toString(36)}`,
        name: p.surname + p.given,
        birthDate: p.birth,
        idNumber: p.id18,
        phone: p.phone,
        sex: p.sex,
        updatedAt: `2024-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 10)}T08:00:00+08:00`,
      };
      if (dirty) {
        const d = (share: number, what: string): boolean => {
          const hit = random() < share;
          if (hit) done.push(what);
          return hit;
        };
        if (d(0.35, 'id-missing')) delete record.idNumber;
        else if (+p.birth.slice(0, 4) < 1985 && d(0.4, 'id-15')) record.idNumber = p.id18.slice(0, 6) + p.id18.slice(8, 17);
        else if (d(0.05, 'id-full-width')) record.idNumber = fullWidthDigits(p.id18);
        else if (p.id18.endsWith('X') && d(0.5, 'id-lowercase-x')) record.idNumber = p.id18.toLowerCase();
        if (d(0.04, 'name-typo')) {
          const chars = Array.from(p.surname + p.given);
          const at = 1 + Math.floor(random() * (chars.length - 1));
          let next = pick(GIVEN);
          while (next === chars[at]) next = pick(GIVEN);
          chars[at] = next;
          record.name = chars.join('');
        } else if (d(0.02, 'name-space')) record.name = `${p.surname}\u3000${p.given}`;
        const day = +p.birth.slice(8, 10);
        const month = p.birth.slice(5, 7);
        if (day <= 12 && String(day).padStart(2, '0') !== month && d(0.03, 'date-swapped')) {
          record.birthDate = `${p.birth.slice(0, 4)}-${p.birth.slice(8, 10)}-${month}`;
        } else if (d(0.03, 'date-full-width')) record.birthDate = fullWidthDigits(p.birth);
        else if (d(0.03, 'date-chinese')) record.birthDate = `${p.birth.slice(0, 4)}年${+month}月${day}日`;
        else if (d(0.08, 'date-missing')) delete record.birthDate;
        if (d(0.2, 'phone-missing')) delete record.phone;
        else if (d(0.08, 'phone-changed')) record.phone = phone();
        else if (d(0.05, 'phone-plus86')) record.phone = `+86 ${p.phone.slice(0, 3)} ${p.phone.slice(3, 7)} ${p.phone.slice(7)}`;
        else if (d(0.03, 'phone-full-width')) record.phone = fullWidthDigits(p.phone);
        if (d(0.1, 'sex-missing')) delete record.sex;
      }
      records.push(record);
      person.push(index);
      damage.push(done);
    }
  });
  return { records, person: Int32Array.from(person), damage };
}

export interface PairwiseQuality {
  truePairs: number;
  predictedPairs: number;
  correctPairs: number;
  precision: number;
  recall: number;
}

/** Pairwise precision and recall of a clustering against the ground truth. */
export function pairwiseQuality(cluster: ArrayLike<number>, person: ArrayLike<number>): PairwiseQuality {
  const pairs = (k: number): number => (k * (k - 1)) / 2;
  const byPerson = new Map<number, number>();
  const byCluster = new Map<number, number>();
  const byBoth = new Map<string, number>();
  for (let i = 0; i < cluster.length; i++) {
    byPerson.set(person[i]!, (byPerson.get(person[i]!) ?? 0) + 1);
    byCluster.set(cluster[i]!, (byCluster.get(cluster[i]!) ?? 0) + 1);
    const k = `${cluster[i]}/${person[i]}`;
    byBoth.set(k, (byBoth.get(k) ?? 0) + 1);
  }
  let truePairs = 0;
  for (const k of byPerson.values()) truePairs += pairs(k);
  let predictedPairs = 0;
  for (const k of byCluster.values()) predictedPairs += pairs(k);
  let correctPairs = 0;
  for (const k of byBoth.values()) correctPairs += pairs(k);
  return {
    truePairs,
    predictedPairs,
    correctPairs,
    precision: predictedPairs === 0 ? 1 : correctPairs / predictedPairs,
    recall: truePairs === 0 ? 1 : correctPairs / truePairs,
  };
}
