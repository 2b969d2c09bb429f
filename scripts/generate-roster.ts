// Synthetic 中职 student roster generator (made-up people, real GB/T 2260 area codes, valid ID numbers).
//   npx tsx scripts/generate-roster.ts --rows 300 --seed 20230901 --encoding gbk --damage --out roster.csv
// Deterministic for a seed. Streams, so --rows 1000000 runs in flat memory (bench uses it).
// With --damage it writes the usual Excel damage on a few rows and a <out>.damage.json listing them.

import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { computeCheckDigit } from '../core/contracts/id-number.ts';
import { rng } from './lib/rng.ts';

export interface DamageEntry {
  /** Physical line in the generated file (header = 1). */
  line: number;
  /** 学号 of the row. */
  key: string;
  kind: string;
  /** Problem code the hub reports, or null when the damage is cleaned without a problem. */
  code: string | null;
  severity: 'error' | 'warning' | null;
  column: string;
  note: string;
}

export interface GenerateOptions {
  rows: number;
  seed: number;
  encoding: 'gbk' | 'utf-8';
  damage: boolean;
  out: string;
}

const HEADER = ['学号', '姓名', '性别', '民族', '身份证号', '出生日期', '入学日期', '班级', '专业代码', '联系电话', '学籍状态'];

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏浩宇轩子涵欣怡梓萱思雨博文晨阳佳琪一诺嘉豪俊熙雅婷晓东海波鑫宁瑶婧琳颖凯航泽然睿';
const MINORITY_NAMES: [string, string][] = [
  ['阿依古丽·买买提', '05'],
  ['热依拉·艾买提', '05'],
  ['古丽娜尔·吐尔逊', '05'],
  ['艾力·阿不都', '05'],
  ['努尔兰·别克', '17'],
  ['巴特尔·其木格', '02'],
];
const ETHNICITY_LABELS: Record<string, string> = { '01': '汉族', '02': '蒙古族', '03': '回族', '05': '维吾尔族', '06': '苗族', '08': '壮族', '11': '满族', '17': '哈萨克族' };
// Illustrative codes in the 中职 catalogue ranges (6xxxxx / 7xxxxx); names for the class labels.
const PROGRAMS: [string, string][] = [
  ['660301', '机电'],
  ['660302', '数控'],
  ['700206', '汽修'],
  ['710201', '计应'],
  ['710202', '网络'],
  ['730301', '电商'],
  ['730701', '会计'],
  ['720201', '护理'],
];
const PHONE_PREFIXES = ['130', '131', '132', '135', '136', '137', '138', '139', '150', '151', '152', '157', '158', '159', '177', '180', '181', '186', '187', '188', '189', '199'];


function loadAreaCodes(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const text = readFileSync(resolve(here, '../contracts/code-tables/GB2260-history.csv'), 'utf8');
  const codes: string[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    const f = line.split(',');
    // County-level codes in use and created before the students were born.
    if (f[4] === '县级' && f[5] === '在用' && Number(f[6]) <= 2005 && f[0] !== undefined && !f[0].endsWith('00')) codes.push(f[0]);
  }
  return codes;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const toFullWidth = (s: string): string => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));

interface Student {
  values: string[];
  key: string;
}

export async function generateRoster(options: GenerateOptions): Promise<DamageEntry[]> {
  const random = rng(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const areas = loadAreaCodes();
  const usedIds = new Set<string>();

  const makeId = (birth: string, sex: '1' | '2', want?: (id: string) => boolean): string => {
    for (;;) {
      const area = pick(areas);
      let seq = Math.floor(random() * 1000);
      if ((seq % 2 === 1) !== (sex === '1')) seq = (seq + 1) % 1000;
      const first17 = area + birth.replace(/-/g, '') + pad(seq, 3);
      const id = first17 + computeCheckDigit(first17);
      // IDs ending in 000 are what Excel truncation leaves: keep them for the deliberate damage only.
      if (usedIds.has(id) || id.endsWith('000') || (want !== undefined && !want(id))) continue;
      usedIds.add(id);
      return id;
    }
  };

  const student = (i: number): Student => {
    const program = PROGRAMS[i % PROGRAMS.length]!;
    const year = 2021 + (Math.floor(i / PROGRAMS.length) % 3);
    const classNo = 1 + (Math.floor(i / (PROGRAMS.length * 3)) % 2);
    const key = `${year}${program[0].slice(0, 2)}${pad(classNo)}${pad(i, 6)}`;
    const sex: '1' | '2' = random() < 0.5 ? '1' : '2';
    const birthYear = 2006 + Math.floor(random() * 4);
    const month = 1 + Math.floor(random() * 12);
    const day = 1 + Math.floor(random() * DAYS[month - 1]!);
    const birth = `${birthYear}-${pad(month)}-${pad(day)}`;
    let name: string;
    let ethnicity = '01';
    if (random() < 0.02) {
      [name, ethnicity] = pick(MINORITY_NAMES);
    } else {
      name = pick([...SURNAMES]) + pick([...GIVEN]) + (random() < 0.7 ? pick([...GIVEN]) : '');
      const r = random();
      if (r < 0.04) ethnicity = pick(['03', '06', '08', '11']);
    }
    const id = makeId(birth, sex);
    const phone = pick(PHONE_PREFIXES) + pad(Math.floor(random() * 1e8), 8);
    return {
      key,
      values: [key, name, sex === '1' ? '男' : '女', ETHNICITY_LABELS[ethnicity]!, id, birth, `${year}-09-01`, `${program[1]}${String(year).slice(2)}${pad(classNo)}`, program[0], phone, '在籍'],
    };
  };

  // Damage plan: row index → damage, spread over the file and deterministic for the seed.
  type Damage = (s: Student) => Omit<DamageEntry, 'line' | 'key'>;
  const damages: Damage[] = [
    (s) => {
      const id = s.values[4]!;
      s.values[4] = `${id[0]}.${id.slice(1, 6)}E+17`;
      return { kind: 'scientific-notation-id', code: 'ID_EXCEL_SCIENTIFIC', severity: 'error', column: '身份证号', note: 'Excel 把身份证号转成了科学计数法 / ID turned into scientific notation' };
    },
    (s) => {
      const birth = s.values[5]!;
      const id = makeId(birth, Number(s.values[4]![16]) % 2 === 1 ? '1' : '2', (v) => v.endsWith('X'));
      s.values[4] = id.slice(0, 17) + 'x';
      return { kind: 'lowercase-x', code: null, severity: null, column: '身份证号', note: '校验位写成小写 x，入库为大写 X / check character typed as lowercase x, stored as X' };
    },
    (s) => {
      const id = s.values[4]!;
      const wrong = String((Number(id[17] === 'X' ? 10 : id[17]) + 1) % 10);
      s.values[4] = id.slice(0, 17) + wrong;
      return { kind: 'wrong-check-digit', code: 'ID_CHECK_DIGIT', severity: 'error', column: '身份证号', note: '校验位错误 / check digit is wrong' };
    },
    (s) => {
      const [y, m, d] = s.values[5]!.split('-').map(Number);
      s.values[5] = `${y}年${m}月${d}日`;
      return { kind: 'local-date-format', code: null, severity: null, column: '出生日期', note: '日期写成 YYYY年M月D日 / date typed as YYYY年M月D日' };
    },
    (s) => {
      const [y, m, d] = s.values[6]!.split('-').map(Number);
      s.values[6] = `${y}/${m}/${d}`;
      return { kind: 'local-date-format', code: null, severity: null, column: '入学日期', note: '日期写成 YYYY/M/D / date typed as YYYY/M/D' };
    },
    (s) => {
      s.values[9] = toFullWidth(s.values[9]!);
      return { kind: 'full-width-digits', code: null, severity: null, column: '联系电话', note: '全角数字 / full-width digits' };
    },
    (s) => {
      const y = s.values[5]!.slice(0, 4);
      s.values[5] = `${y}-02-30`;
      return { kind: 'impossible-date', code: 'DATE_INVALID', severity: 'error', column: '出生日期', note: '2月30日不存在 / February 30 does not exist' };
    },
    (s) => {
      s.values[9] = s.values[9]!.slice(0, 8);
      return { kind: 'short-phone', code: 'PHONE_INVALID', severity: 'warning', column: '联系电话', note: '手机号只有8位，字段不入库，行保留 / phone has 8 digits: field dropped, row kept' };
    },
  ];
  const damageEvery = Math.max(1, Math.floor(options.rows / (damages.length + 1)));
  const damageAt = new Map<number, Damage>();
  if (options.damage) damages.forEach((d, k) => damageAt.set(Math.min(options.rows - 1, damageEvery * (k + 1) - 1 - Math.floor(random() * 5)), d));
  // Blank rows Excel leaves behind (dropped without a problem): after these data rows.
  const blankAfter = options.damage ? new Set([Math.floor(options.rows / 3), Math.floor((2 * options.rows) / 3)]) : new Set<number>();
  // Two trailing empty columns on every line (CSV_EMPTY_COLUMNS_DROPPED once, at the header).
  const trailing = options.damage ? ',,' : '';

  const out = createWriteStream(options.out);
  const encode = (s: string): Buffer => (options.encoding === 'gbk' ? iconv.encode(s, 'gbk') : Buffer.from(s, 'utf8'));
  const write = async (s: string): Promise<void> => {
    if (!out.write(encode(s))) await new Promise<void>((r) => out.once('drain', r));
  };
  const entries: DamageEntry[] = [];
  let buf = HEADER.join(',') + trailing + '\r\n';
  let line = 1;
  for (let i = 0; i < options.rows; i++) {
    const s = student(i);
    const damage = damageAt.get(i);
    line++;
    if (damage !== undefined) entries.push({ line, key: s.key, ...damage(s) });
    buf += s.values.join(',') + trailing + '\r\n';
    if (blankAfter.has(i)) {
      buf += ','.repeat(HEADER.length - 1) + trailing + '\r\n';
      line++;
    }
    if (buf.length > 64 * 1024) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  if (options.damage) {
    entries.unshift({ line: 1, key: '', kind: 'trailing-empty-columns', code: 'CSV_EMPTY_COLUMNS_DROPPED', severity: 'warning', column: '', note: '每行末尾两个空列 / two empty columns at the end of every line' });
    for (const i of [...blankAfter].sort((a, b) => a - b)) {
      entries.push({ line: lineOfBlank(i, blankAfter), key: '', kind: 'blank-row', code: null, severity: null, column: '', note: '空行，丢弃 / blank row, dropped' });
    }
    entries.sort((a, b) => a.line - b.line);
    writeFileSync(`${options.out}.damage.json`, JSON.stringify(entries, null, 2) + '\n');
  }
  return entries;
}

/** Physical line of the blank row written after data row `index` (header is line 1). */
function lineOfBlank(index: number, blankAfter: Set<number>): number {
  let earlier = 0;
  for (const b of blankAfter) if (b < index) earlier++;
  return index + 2 + earlier + 1;
}

function parseArgs(argv: string[]): GenerateOptions {
  const options: GenerateOptions = { rows: 300, seed: 1, encoding: 'utf-8', damage: false, out: 'roster.csv' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`missing value for ${arg}`);
      return v;
    };
    if (arg === '--rows') options.rows = Number(next());
    else if (arg === '--seed') options.seed = Number(next());
    else if (arg === '--encoding') {
      const e = next().toLowerCase();
      if (e !== 'gbk' && e !== 'utf-8') throw new Error('--encoding gbk|utf-8');
      options.encoding = e;
    } else if (arg === '--damage') options.damage = true;
    else if (arg === '--out') options.out = next();
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.rows) || options.rows < 1) throw new Error('--rows must be a positive integer');
  return options;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  generateRoster(options).then(
    (entries) => console.log(`wrote ${options.rows} rows to ${options.out}${entries.length > 0 ? ` (${entries.length} damage entries)` : ''}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
