// The quality report as it leaves the hub: scores per member and contract with their trend, and the
// drill-down rows with their location — PII masked by the field's class, always (a quality report is
// shared with member schools; revealing is the records API's job, with its audit). Snapshots of the
// scores are kept in the store's meta table so the trend survives restarts and works on any driver.
import ExcelJS from 'exceljs';
import type { ContractRegistry, PiiClass } from '../../core/contracts/types.ts';
import { maskValue } from '../../core/security/pii.ts';
import type { PiiVault } from '../../core/security/types.ts';
import type { Store } from '../../core/store/types.ts';
import { DIMENSIONS, type Dimension, type Evaluation, type Finding, type MemberScore } from './evaluate.ts';

export interface Snapshot {
  at: string;
  /** Latest import run per member at evaluation time: the trend is over import runs. */
  members: Record<string, { score: number; lastRunId?: string; quarantined: number; contracts: Record<string, number> }>;
}

export interface TrendPoint {
  at: string;
  score: number;
  runId?: string;
}

export interface MemberReport extends MemberScore {
  name?: string;
  trend: TrendPoint[];
}

export interface QualityReport {
  generatedAt: string;
  weights: Record<Dimension, number>;
  members: MemberReport[];
}

export interface IssueView {
  member: string;
  contract: string;
  key?: string;
  rule: string;
  dimension: Dimension;
  field?: string;
  value?: unknown;
  message: string;
  location: Finding['location'];
  /** Quarantined rows: fix and replay through POST /api/v1/problems/{problemId}/replay (or `vochub quality replay`). */
  problemId?: string;
  problemCode?: string;
  replay?: { method: 'POST'; href: string };
  /** `reimport`: the row never became a record (no original kept): correct the source file and import again. */
  fix?: 'reimport';
}

const SNAPSHOT_KEY = 'quality.snapshots.v1';

export async function readSnapshots(store: Store): Promise<Snapshot[]> {
  const raw = await store.getMeta(SNAPSHOT_KEY);
  if (!raw) return [];
  try {
    return JSON.parse(raw) as Snapshot[];
  } catch {
    return [];
  }
}

function snapshotOf(evaluation: Evaluation): Snapshot {
  const members: Snapshot['members'] = {};
  for (const m of evaluation.members) {
    members[m.member] = {
      score: m.score, quarantined: m.quarantined, ...(m.lastRunId ? { lastRunId: m.lastRunId } : {}),
      contracts: Object.fromEntries(m.contracts.map((c) => [c.contract, c.score])),
    };
  }
  return { at: evaluation.at, members };
}

/**
 * Records a snapshot when something changed since the last one (a new import run, a replay, a new
 * score); repeated reports over unchanged data add nothing. Keeps the newest `limit` snapshots.
 */
export async function recordSnapshot(store: Store, evaluation: Evaluation, limit: number): Promise<Snapshot[]> {
  const list = await readSnapshots(store);
  const next = snapshotOf(evaluation);
  const last = list[list.length - 1];
  if (!last || JSON.stringify(last.members) !== JSON.stringify(next.members)) {
    list.push(next);
    while (list.length > limit) list.shift();
    await store.setMeta(SNAPSHOT_KEY, JSON.stringify(list));
  }
  return list;
}

export function buildReport(evaluation: Evaluation, snapshots: Snapshot[], weights: Record<Dimension, number>, names: Map<string, string>, member?: string): QualityReport {
  const members = evaluation.members
    .filter((m) => member === undefined || m.member === member)
    .map((m) => ({
      ...m,
      ...(names.has(m.member) ? { name: names.get(m.member)! } : {}),
      trend: trendOf(snapshots, m.member),
    }));
  return { generatedAt: evaluation.at, weights, members };
}

/** A member's points: one per change of its score or of its latest import run (other members' changes add none). */
function trendOf(snapshots: Snapshot[], member: string): TrendPoint[] {
  const out: TrendPoint[] = [];
  for (const s of snapshots) {
    const m = s.members[member];
    if (!m) continue;
    const last = out[out.length - 1];
    if (last && last.score === m.score && last.runId === m.lastRunId) continue;
    out.push({ at: s.at, score: m.score, ...(m.lastRunId ? { runId: m.lastRunId } : {}) });
  }
  return out;
}

function piiClassOf(contracts: ContractRegistry, contract: string, field: string | undefined): PiiClass | undefined {
  if (!field || !contracts.has(contract)) return undefined;
  const top = field.split(/[/+]/);
  const pii = contracts.get(contract).pii;
  for (const f of top) {
    const hit = pii.find((p) => p.field === f);
    if (hit) return hit.class;
  }
  return undefined;
}

/** Problem values are stored encrypted (`v1.` ciphertext); record values arrive clear. */
function openValue(vault: PiiVault, value: string): string {
  if (!value.startsWith('v1.')) return value;
  try {
    return vault.decryptText(value);
  } catch {
    return '***';
  }
}

/** A finding as a report row: the value masked unless its field is known not to be PII. */
export function issueView(vault: PiiVault, contracts: ContractRegistry, f: Finding): IssueView {
  const view: IssueView = {
    member: f.member, contract: f.contract, ...(f.key !== undefined ? { key: f.key } : {}), rule: f.rule, dimension: f.dimension,
    ...(f.field !== undefined ? { field: f.field } : {}), message: f.message, location: f.location,
    ...(f.problemId ? { problemId: f.problemId, problemCode: f.problemCode!, replay: { method: 'POST' as const, href: `/api/v1/problems/${f.problemId}/replay` } } : {}),
  };
  if (f.value !== undefined) {
    const clear = openValue(vault, f.value);
    const cls = piiClassOf(contracts, f.contract, f.field);
    // Unknown contract or whole-row problems: treat as PII.
    const knownNonPii = contracts.has(f.contract) && f.field !== undefined && f.field !== '' && cls === undefined;
    view.value = knownNonPii ? clear : maskValue(cls ?? 'other', clear);
  }
  return view;
}

export interface IssueQuery {
  member?: string;
  contract?: string;
  rule?: string;
  dimension?: string;
  limit?: number;
  offset?: number;
}

export function selectIssues(evaluation: Evaluation, q: IssueQuery): { total: number; items: Finding[] } {
  const all = evaluation.findings.filter(
    (f) => (q.member === undefined || f.member === q.member) && (q.contract === undefined || f.contract === q.contract) && (q.rule === undefined || f.rule === q.rule) && (q.dimension === undefined || f.dimension === q.dimension),
  );
  const offset = q.offset ?? 0;
  return { total: all.length, items: all.slice(offset, offset + (q.limit ?? 100)) };
}

const DIMENSION_LABELS: Record<Dimension, string> = {
  completeness: '完整性 Completeness', validity: '有效性 Validity', uniqueness: '唯一性 Uniqueness', consistency: '一致性 Consistency', timeliness: '及时性 Timeliness',
};

export const CONTRACT_LABELS: Record<string, string> = {
  student: '学生（学籍）', staff: '教职工', organization: '组织机构', program: '专业', course: '课程', section: '教学班', term: '学年学期',
  enrollment: '选课与任教', result: '成绩', attendance: '考勤', '(rows)': '无法解析的行',
};

/** The report as an Excel workbook for member schools: 汇总, 问题明细 (masked), 趋势. */
export async function reportWorkbook(report: QualityReport, issues: IssueView[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'vochub';
  wb.created = new Date(report.generatedAt);
  const summary = wb.addWorksheet('质量汇总');
  summary.columns = [
    { header: '成员代码 Member', key: 'member', width: 14 },
    { header: '成员名称 Name', key: 'name', width: 32 },
    { header: '数据集 Contract', key: 'contract', width: 18 },
    { header: '记录数 Records', key: 'records', width: 10 },
    { header: '隔离行 Quarantined', key: 'quarantined', width: 12 },
    ...DIMENSIONS.map((d) => ({ header: DIMENSION_LABELS[d], key: d, width: 14 })),
    { header: '综合得分 Score', key: 'score', width: 12 },
  ];
  for (const m of report.members) {
    summary.addRow({ member: m.member, name: m.name ?? '', contract: '（全部）all', records: m.records, quarantined: m.quarantined, ...pct(m.dimensions), score: m.score }).font = { bold: true };
    for (const c of m.contracts) {
      summary.addRow({ member: m.member, name: m.name ?? '', contract: `${CONTRACT_LABELS[c.contract] ?? c.contract} ${c.contract}`, records: c.records, quarantined: c.quarantined, ...pct(c.dimensions), score: c.score });
    }
  }
  summary.getRow(1).font = { bold: true };
  summary.views = [{ state: 'frozen', ySplit: 1 }];

  const detail = wb.addWorksheet('问题明细');
  detail.columns = [
    { header: '成员 Member', key: 'member', width: 12 },
    { header: '数据集 Contract', key: 'contract', width: 14 },
    { header: '记录键 Key', key: 'key', width: 18 },
    { header: '维度 Dimension', key: 'dimension', width: 16 },
    { header: '规则 Rule', key: 'rule', width: 26 },
    { header: '字段 Field', key: 'field', width: 16 },
    { header: '值（已脱敏）Value (masked)', key: 'value', width: 22 },
    { header: '文件 File', key: 'file', width: 24 },
    { header: '行 Line', key: 'line', width: 8 },
    { header: '列 Column', key: 'column', width: 12 },
    { header: '说明 Message', key: 'message', width: 60 },
    { header: '问题编号（可修正重放）Problem', key: 'problemId', width: 14 },
  ];
  for (const i of issues) {
    detail.addRow({
      member: i.member, contract: i.contract, key: i.key ?? '', dimension: DIMENSION_LABELS[i.dimension], rule: i.rule, field: i.field ?? '',
      value: i.value === undefined ? '' : String(i.value), file: i.location.file ?? '', line: i.location.line ?? '', column: i.location.column ?? '', message: i.message, problemId: i.problemId ?? '',
    });
  }
  detail.getRow(1).font = { bold: true };
  detail.views = [{ state: 'frozen', ySplit: 1 }];
  detail.autoFilter = { from: 'A1', to: 'L1' };

  const trend = wb.addWorksheet('趋势');
  trend.columns = [
    { header: '成员 Member', key: 'member', width: 12 },
    { header: '评估时间 Evaluated at', key: 'at', width: 26 },
    { header: '导入批次 Import run', key: 'runId', width: 30 },
    { header: '得分 Score', key: 'score', width: 10 },
  ];
  for (const m of report.members) for (const t of m.trend) trend.addRow({ member: m.member, at: t.at, runId: t.runId ?? '', score: t.score });
  trend.getRow(1).font = { bold: true };
  return Buffer.from(await wb.xlsx.writeBuffer());
}

function pct(d: Record<Dimension, number>): Record<Dimension, string> {
  return Object.fromEntries(DIMENSIONS.map((k) => [k, `${(d[k] * 100).toFixed(1)}%`])) as Record<Dimension, string>;
}
