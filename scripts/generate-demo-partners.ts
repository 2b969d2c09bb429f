// Synthetic school–enterprise data for the demo group (made-up people, valid GB 11643 ID numbers):
//   npx tsx scripts/generate-demo-partners.ts [--out examples/demo/data]
// Writes, deterministically (fixed seed, no clock):
//   zhongzhi-staff/staff.csv                 — the 中职 school's 教职工 roster (UTF-8 BOM, CRLF, as Excel "CSV UTF-8")
//   enterprise-internships/enterprise.csv    — the enterprise's own master record (enterprise contract)
//   enterprise-internships/positions.csv     — 实习岗位 (position contract)
//   enterprise-internships/mentors.csv       — 企业导师 (mentor contract; 员工号 = AdventureWorks BusinessEntityID)
//   enterprise-internships/internships.csv   — 学生实习台账 (internship contract; 学号 from the demo roster)
// The interns are real rows of examples/demo/data/zhongzhi-roster/roster.csv (rows the hub rejects are skipped),
// so the 人才培养状态数据 report of school 3133010103 links them to its students (docs/reporting.md).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { checkIdNumber, computeCheckDigit } from '../core/contracts/id-number.ts';
import { rng } from './lib/rng.ts';

const here = dirname(fileURLToPath(import.meta.url));
const SEED = 20240901;
const SCHOOL = '3133010103';
const ENTERPRISE = '91330106MA2DEMAW1X';


const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚卢钟陆汪范金';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚英华玉萍红玲芬燕彬鹏浩宇文晨阳佳琪婷东海波鑫宁瑶琳颖凯航';
// Long-standing Zhejiang county-level codes (existed before any birth year used here).
const AREAS = ['330102', '330105', '330106', '330122', '330127', '330182', '330203', '330302', '330402', '330502'];
const DEPARTMENTS = ['机电系', '信息技术系', '财经商贸系', '医护系', '汽车系', '基础部'];

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const csvLine = (values: (string | number)[]): string => values.map((v) => (/[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(',');

interface Files {
  [path: string]: string;
}

export function generateDemoPartners(): Files {
  const random = rng(SEED);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const usedIds = new Set<string>();
  const idNumber = (birth: string, male: boolean): string => {
    for (;;) {
      let seq = Math.floor(random() * 1000);
      if ((seq % 2 === 1) !== male) seq = (seq + 1) % 1000;
      const first17 = pick(AREAS) + birth.replace(/-/g, '') + pad(seq, 3);
      const id = first17 + computeCheckDigit(first17);
      if (usedIds.has(id)) continue;
      const checked = checkIdNumber(id, { at: '2024-09-01', idType: '1' });
      if (!checked.ok) throw new Error(`generated ID number fails GB 11643: ${id} ${checked.code}`);
      usedIds.add(id);
      return id;
    }
  };
  const name = (): string => pick([...SURNAMES]) + pick([...GIVEN]) + (random() < 0.6 ? pick([...GIVEN]) : '');

  // 教职工: 26 专任 (11 双师型, one hired after the 2024-2025 学年), 2 兼职, 2 企业导师 (part-time at the school).
  const staff: string[] = [csvLine(['工号', '姓名', '性别', '身份证号', '入职日期', '用工类型', '双师型', '职称', '所属部门'])];
  const titles = ['正高级讲师', '高级讲师', '高级讲师', '讲师', '讲师', '讲师', '助理讲师'];
  for (let i = 1; i <= 30; i++) {
    const male = random() < 0.5;
    const birthYear = 1966 + Math.floor(random() * 32);
    const birth = `${birthYear}-${pad(1 + Math.floor(random() * 12))}-${pad(1 + Math.floor(random() * 28))}`;
    const type = i <= 26 ? '专任' : i <= 28 ? '兼职' : '企业导师';
    const dual = type === '专任' ? (i % 5 === 1 || i % 5 === 3 ? '是' : '否') : type === '企业导师' ? '是' : '否';
    // T026 joins on 2025-09-01: a teacher of 2025-2026, not of 2024-2025.
    const hired = i === 26 ? '2025-09-01' : `${Math.max(birthYear + 23, 1990) + Math.floor(random() * 8)}-${pick(['07-01', '08-25', '09-01'])}`;
    const title = type === '专任' ? pick(titles) : type === '企业导师' ? '工程师' : '讲师';
    staff.push(csvLine([`T${pad(i, 3)}`, name(), male ? '男' : '女', idNumber(birth, male), hired, type, dual, title, type === '企业导师' ? '机电系' : pick(DEPARTMENTS)]));
  }

  // The interns: rows of the demo roster the hub accepts, by cohort and programme.
  const roster = iconv.decode(readFileSync(resolve(here, '../examples/demo/data/zhongzhi-roster/roster.csv')), 'gb18030').split('\r\n').slice(1);
  const damage = JSON.parse(readFileSync(resolve(here, '../examples/demo/data/zhongzhi-roster/roster.csv.damage.json'), 'utf8')) as { key: string; severity: string | null }[];
  const rejected = new Set(damage.filter((d) => d.severity === 'error').map((d) => d.key));
  const students = roster.map((l) => l.split(',')).filter((f) => f[0] && !rejected.has(f[0]) && f[10] === '在籍');
  const take = (cohort: string, programme: string, n: number): string[] =>
    students.filter((f) => f[6]!.startsWith(cohort) && f[8] === programme).slice(0, n).map((f) => f[0]!);

  const positions = [
    ['P01', '装配钳工', '7', '6-20-01-01', 6],
    ['P02', '数控车工', '7', '6-18-01-01', 6],
    ['P03', '设备维修工', '14', '6-31-01-03', 4],
    ['P04', '网络营销专员', '4', '4-01-02-03', 3],
    ['P05', '出纳助理', '10', '3-01-02-04', 3],
    ['P06', '信息系统运维助理', '11', '4-04-04-02', 3],
  ] as const;
  const mentors = [
    ['M027', '27', 'P01', '生产主管', '高级工程师', '2', 18],
    ['M047', '47', 'P02', '生产主管', '工程师', '2', 15],
    ['M228', '228', 'P03', '维修主管', '工程师', '3', 21],
    ['M018', '18', 'P04', '市场专员', '助理经济师', '4', 9],
    ['M245', '245', 'P05', '会计', '会计师', '4', 12],
    ['M264', '264', 'P06', '网络主管', '工程师', '3', 10],
  ] as const;
  const mentorOf = (position: string): string => mentors.find((m) => m[2] === position)![0];

  // [cohort, programme, count, position, type, start, end, state]
  const plan: [string, string, number, string, string, string, string, string][] = [
    ['2022', '660301', 4, 'P01', '岗位实习', '2025-02-17', '2025-06-27', '已完成'],
    ['2022', '660302', 4, 'P02', '岗位实习', '2025-02-17', '2025-06-27', '已完成'],
    ['2022', '700206', 4, 'P03', '岗位实习', '2025-02-17', '2025-06-27', '已完成'],
    ['2022', '730301', 3, 'P04', '岗位实习', '2025-02-17', '2025-06-27', '已完成'],
    ['2022', '730701', 3, 'P05', '岗位实习', '2025-02-17', '2025-06-27', '已完成'],
    ['2023', '660301', 3, 'P01', '跟岗实习', '2024-11-04', '2024-11-29', '已完成'],
    ['2023', '660302', 3, 'P02', '认识实习', '2025-05-12', '2025-05-16', '已完成'],
    // The 2021 cohort's placements were in 2023-2024: P06 is a base of that 学年 only.
    ['2021', '710201', 3, 'P06', '岗位实习', '2024-02-19', '2024-06-28', '已完成'],
  ];
  const internships: string[] = [csvLine(['实习编号', '学号', '学校标识码', '岗位编号', '企业导师', '开始日期', '结束日期', '实习类型', '实习状态', '协议编号', '已投保'])];
  let n = 0;
  for (const [cohort, programme, count, position, type, start, end, state] of plan) {
    const chosen = take(cohort, programme, count);
    if (chosen.length !== count) throw new Error(`roster has fewer than ${count} students of ${cohort}/${programme}`);
    for (const student of chosen) {
      n++;
      internships.push(csvLine([`SX${start.slice(0, 4)}${pad(n, 4)}`, student, SCHOOL, position, mentorOf(position), start, end, type, state, `SXXY-${start.slice(0, 4)}-${pad(n, 4)}`, '是']));
    }
  }

  const mentorLines = [csvLine(['导师编号', '员工号', '姓名', '性别', '企业职务', '专业技术职称', '技能等级', '从业年限', '聘任开始日期'])];
  for (const [id, employee, , job, title, level, years] of mentors) {
    mentorLines.push(csvLine([id, employee, name(), random() < 0.5 ? '男' : '女', job, title, level, years, '2024-09-01']));
  }
  const positionLines = [csvLine(['岗位编号', '岗位名称', '部门编号', '职业分类代码', '可接收人数', '工作地'])];
  for (const [id, title, department, occupation, capacity] of positions) positionLines.push(csvLine([id, title, department, occupation, capacity, '330106']));
  const enterprise = [
    csvLine(['统一社会信用代码', '企业名称', '英文名称', '行业代码', '注册地', '企业规模', '企业性质', '开始合作日期']),
    csvLine([ENTERPRISE, '示例精密制造有限公司', 'Adventure Works Cycles', '3761', '330106', '中型', '外商投资', '2019-09-01']),
  ];

  return {
    'zhongzhi-staff/staff.csv': `\uFEFF${staff.join('\r\n')}\r\n`,
    'enterprise-internships/enterprise.csv': `${enterprise.join('\n')}\n`,
    'enterprise-internships/positions.csv': `${positionLines.join('\n')}\n`,
    'enterprise-internships/mentors.csv': `${mentorLines.join('\n')}\n`,
    'enterprise-internships/internships.csv': `${internships.join('\n')}\n`,
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const out = resolve(at >= 0 ? process.argv[at + 1]! : join(here, '../examples/demo/data'));
  for (const [path, text] of Object.entries(generateDemoPartners())) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), text);
    process.stdout.write(`${join(out, path)}: ${text.trim().split(/\r?\n/).length - 1} rows\n`);
  }
}
