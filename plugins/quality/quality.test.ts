// The quality plugin on a real hub: two member schools imported from real files (the demo's GBK
// 学籍 roster and a small second roster), scores per member with drill-down to problem rows and their
// location, PII masked, member scope, the Excel export, and the quarantine → fix → replay round trip
// through the ingest topic changing the score.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../core/api/index.ts';
import { repoRoot } from '../../core/config/load.ts';
import { createHub, type Hub } from '../../core/hub.ts';
import { silentLogger } from '../../core/logger.ts';
import { createApiKey } from '../../core/security/api-keys.ts';
import type { QualityReport, IssueView } from './report.ts';

const A = '3133010103';
const B = '3133010104';
const demoRoster = resolve(repoRoot, 'examples/demo/data/zhongzhi-roster/roster.csv');
const rosterColumns = {
  学号: 'studentNumber', 姓名: 'name', 性别: 'sex', 民族: 'ethnicity', 身份证号: 'idNumber', 出生日期: 'birthDate', 入学日期: 'enrolmentDate',
  班级: 'classId', 专业代码: 'programCode', 联系电话: 'phone', 学籍状态: 'enrolmentStatus',
};

let dir: string;
let hub: Hub;
let app: FastifyInstance;
let admin: string;
let memberB: string;

function config(): string {
  const roster = (code: string, file: string) => ({
    code, name: `测试学校 ${code}`, type: 'school',
    adapters: [{ name: 'roster', type: 'roster-file', config: { files: file, contract: 'student', key: '学号', columns: rosterColumns, defaults: { educationLevel: 'zhongzhi', schoolId: code } } }],
  });
  const doc = {
    group: { code: 'TEST', name: '测试集团' },
    hub: { bus: { transport: 'sqlite' }, store: { driver: 'sqlite' }, port: 0, host: '127.0.0.1' },
    members: [roster(A, demoRoster), roster(B, resolve(import.meta.dirname, 'fixtures/member-b-roster.csv'))],
    plugins: [
      { name: 'quality', type: 'quality' },
      { name: 'codes', type: 'codes', config: { catalogues: [resolve(repoRoot, 'plugins/codes/samples/vocational-catalogue.SYNTHETIC.csv')] } },
    ],
  };
  const file = join(dir, 'group.yaml');
  // JSON is YAML.
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
async function get<T>(url: string, key = admin): Promise<{ status: number; body: T }> {
  const res = await app.inject({ url, headers: bearer(key) });
  return { status: res.statusCode, body: res.json() as T };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vochub-quality-'));
  hub = await createHub({ configPath: config(), env: { ...process.env, VOCHUB_DATA: join(dir, 'var') }, logger: silentLogger, background: true });
  const runs = await hub.importPending();
  expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  app = await buildApi(hub);
  admin = (await createApiKey(hub.store, { name: 'admin', role: 'group-admin', member: null })).key;
  memberB = (await createApiKey(hub.store, { name: 'b', role: 'member-admin', member: B })).key;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('quality report', () => {
  it('scores every member and contract on five dimensions, quarantined rows lowering validity', async () => {
    const { status, body } = await get<QualityReport>('/api/v1/quality/report');
    expect(status).toBe(200);
    const byMember = Object.fromEntries(body.members.map((m) => [m.member, m]));
    expect(Object.keys(byMember).sort()).toEqual([A, B]);
    const a = byMember[A]!;
    expect(a.name).toBe(`测试学校 ${A}`);
    // The demo roster: 300 rows, 3 refused (scientific-notation ID, wrong check digit, 2008-02-30).
    expect(a).toMatchObject({ records: 297, quarantined: 3 });
    const student = a.contracts.find((c) => c.contract === 'student')!;
    expect(student.dimensions.validity).toBeCloseTo(297 / 300, 3);
    expect(student.dimensions.timeliness).toBe(1);
    expect(student.score).toBeGreaterThan(0);
    expect(student.score).toBeLessThan(100);
    expect(Object.keys(student.dimensions).sort()).toEqual(['completeness', 'consistency', 'timeliness', 'uniqueness', 'validity']);
    const b = byMember[B]!;
    expect(b).toMatchObject({ records: 3, quarantined: 1 });
    expect(b.contracts[0]!.rules).toMatchObject({ 'program-level-matches': 1, 'person-across-members': 1 });
    expect(a.trend.length).toBeGreaterThanOrEqual(1);
  });

  it('drills down to the problem rows with file, line and column, values masked', async () => {
    const { body } = await get<{ total: number; items: IssueView[] }>(`/api/v1/quality/issues?member=${A}&dimension=validity`);
    const checkDigit = body.items.find((i) => i.rule === 'quarantine:ID_CHECK_DIGIT')!;
    expect(checkDigit).toMatchObject({ member: A, contract: 'student', key: '20237302000094', field: 'idNumber', location: { line: 96, column: '身份证号' } });
    expect(checkDigit.location.file).toMatch(/roster\.csv$/);
    expect(String(checkDigit.value)).toMatch(/^\d{6}\*+\d{3}[\dX]$/);
    // The adapter refused the row before it became a record: fixed in the source, not replayed.
    expect(checkDigit.fix).toBe('reimport');
    expect(checkDigit.replay).toBeUndefined();

    const cross = await get<{ items: IssueView[] }>(`/api/v1/quality/issues?member=${B}&rule=person-across-members`);
    expect(cross.body.items).toEqual([expect.objectContaining({ key: '20240001', dimension: 'consistency', field: 'name' })]);
    // No clear PII anywhere in a report page.
    const all = await get<{ items: IssueView[] }>('/api/v1/quality/issues?limit=1000');
    const text = JSON.stringify(all.body);
    expect(text).not.toContain('361023200710016220');
    expect(text).not.toContain('13900000002');
  });

  it('keeps a member to its own scores and rows', async () => {
    const mine = await get<QualityReport>('/api/v1/quality/report', memberB);
    expect(mine.body.members.map((m) => m.member)).toEqual([B]);
    const other = await get<{ code: string }>(`/api/v1/quality/report?member=${A}`, memberB);
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('MEMBER_SCOPE');
    const issues = await get<{ items: IssueView[] }>('/api/v1/quality/issues?limit=1000', memberB);
    expect(new Set(issues.body.items.map((i) => i.member))).toEqual(new Set([B]));
    expect((await app.inject({ url: '/api/v1/quality/report' })).statusCode).toBe(401);
  });

  it('exports an Excel workbook with zh-CN sheets and masked values', async () => {
    const res = await app.inject({ url: `/api/v1/quality/report.xlsx?member=${A}`, headers: bearer(admin) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('spreadsheetml');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['质量汇总', '问题明细', '趋势']);
    const summary = wb.getWorksheet('质量汇总')!;
    expect(summary.getRow(1).values).toContain('综合得分 Score');
    expect(summary.getRow(2).getCell(1).value).toBe(A);
    const detail = wb.getWorksheet('问题明细')!;
    const lines: string[] = [];
    detail.eachRow((row) => lines.push(JSON.stringify(row.values)));
    expect(lines.some((l) => l.includes('quarantine:ID_CHECK_DIGIT') && l.includes('96'))).toBe(true);
    const demoIds = readFileSync(demoRoster).toString('latin1').match(/\d{17}[\dXx]/g)!;
    for (const id of demoIds.slice(0, 50)) expect(lines.join('\n')).not.toContain(id);
  });
});

describe('quarantine → fix → replay', () => {
  it('a row refused by the contract, fixed and replayed, becomes a record and the score moves', async () => {
    const before = (await get<QualityReport>(`/api/v1/quality/report?member=${B}`)).body.members[0]!;
    const { body } = await get<{ items: IssueView[] }>(`/api/v1/quality/issues?member=${B}&dimension=validity`);
    const row = body.items.find((i) => i.key === '20240003')!;
    expect(row).toMatchObject({ field: 'programCode', value: '66030l', location: { line: 4, column: '专业代码' } });
    expect(row.replay).toEqual({ method: 'POST', href: `/api/v1/problems/${row.problemId}/replay` });

    const res = await app.inject({ method: 'POST', url: row.replay!.href, headers: bearer(admin), payload: { record: { programCode: '660301' } } });
    expect(res.statusCode).toBeLessThan(300);
    const deadline = Date.now() + 30_000;
    while (!(await hub.store.getRecord(B, 'student', '20240003')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await hub.store.getRecord(B, 'student', '20240003'))?.data.programCode).toBe('660301');

    const after = (await get<QualityReport>(`/api/v1/quality/report?member=${B}`)).body.members[0]!;
    expect(after).toMatchObject({ records: 4, quarantined: 0 });
    expect(after.score).toBeGreaterThan(before.score);
    expect(after.trend.at(-1)!.score).toBe(after.score);
    expect(after.trend.map((t) => t.score)).toContain(before.score);
  }, 60_000);
});
