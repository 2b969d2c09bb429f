// Quality evaluation over the federated store: per member and contract, five dimensions scored 0–1
// from the rules file (plugins/quality/rules.json), plus the findings behind each score so the report
// can drill down to the rows. Pure reading: the store is never written here (snapshots: snapshots.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkIdNumber } from '../../core/contracts/id-number.ts';
import { educationLevelOf, type CodeRegistry } from '../../core/contracts/code-registry.ts';
import type { ContractRegistry } from '../../core/contracts/types.ts';
import { VochubError } from '../../core/errors.ts';
import type { PiiVault } from '../../core/security/types.ts';
import type { ImportRun, Store, StoredProblem, StoredRecord } from '../../core/store/types.ts';

export const DIMENSIONS = ['completeness', 'validity', 'uniqueness', 'consistency', 'timeliness'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export type CheckKind = 'code-table' | 'education-level' | 'id-number' | 'id-birth-date' | 'id-sex' | 'date-order';
export const CHECK_KINDS: readonly CheckKind[] = ['code-table', 'education-level', 'id-number', 'id-birth-date', 'id-sex', 'date-order'];

export interface CheckRule {
  rule: string;
  dimension: 'validity' | 'consistency';
  check: CheckKind;
  field?: string;
  fields?: string[];
  table?: string;
}

export interface ReferenceRule {
  rule: string;
  field: string;
  contract: string | string[];
  /** Also match this field of the target (e.g. `code`), not only its key. */
  by?: string;
}

export interface ContractRules {
  completeness?: string[];
  uniqueness?: string[][];
  checks?: CheckRule[];
  references?: ReferenceRule[];
  crossMember?: { rule: string; fields: string[] };
}

export interface QualityRules {
  weights: Record<Dimension, number>;
  timeliness: { maxAgeDays: number; zeroAfterDays: number };
  contracts: Record<string, ContractRules>;
}

/** One thing wrong with one row: a stored record failing a rule, or a quarantined input row (problem). */
export interface Finding {
  member: string;
  contract: string;
  /** Source key of the record (or of the rejected row, when the adapter knew it). */
  key?: string;
  rule: string;
  dimension: Dimension;
  field?: string;
  /** The value concerned, clear: the report masks it by the field's PII class before it leaves. */
  value?: string;
  message: string;
  location: { adapter?: string; runId?: string; file?: string; line?: number; column?: string | number; sheet?: string };
  /** Set for quarantined rows: the problem that can be fixed and replayed. */
  problemId?: string;
  problemCode?: string;
}

export interface ContractScore {
  contract: string;
  records: number;
  /** Rejected input rows still open in quarantine. */
  quarantined: number;
  dimensions: Record<Dimension, number>;
  /** 0–100, one decimal. */
  score: number;
  /** Findings per rule. */
  rules: Record<string, number>;
}

export interface MemberScore {
  member: string;
  records: number;
  quarantined: number;
  score: number;
  dimensions: Record<Dimension, number>;
  contracts: ContractScore[];
  /** Last successful import per adapter. */
  lastImport?: string;
  lastRunId?: string;
}

export interface Evaluation {
  at: string;
  members: MemberScore[];
  findings: Finding[];
}

export interface EvaluateDeps {
  store: Store;
  vault: PiiVault;
  contracts: ContractRegistry;
  codes: CodeRegistry;
  rules: QualityRules;
  /** Members to report (the group's members); others found in the store are included too. */
  members: string[];
  /** Evaluation time (ISO); default now. */
  now?: string;
}

const round1 = (x: number): number => Math.round(x * 1000) / 10;

export function defaultRulesFile(): string {
  return new URL('./rules.json', import.meta.url).pathname;
}

/** Reads and checks a rules file; throws QUALITY_RULES_INVALID (a start refusal) when it is wrong. */
export function loadQualityRules(file: string = defaultRulesFile()): QualityRules {
  let doc: QualityRules;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as QualityRules;
  } catch (cause) {
    throw new VochubError('QUALITY_RULES_INVALID', `质量规则文件无法读取 / cannot read quality rules ${file}`, { cause });
  }
  const bad = (why: string): never => {
    throw new VochubError('QUALITY_RULES_INVALID', `质量规则无效 / invalid quality rules (${file}): ${why}`);
  };
  if (typeof doc?.contracts !== 'object' || doc.contracts === null) bad('`contracts` must be an object');
  const weights = doc.weights ?? ({} as Record<Dimension, number>);
  for (const d of DIMENSIONS) if (typeof weights[d] !== 'number' || weights[d] < 0) bad(`weights.${d} must be a number >= 0`);
  if (DIMENSIONS.reduce((s, d) => s + weights[d], 0) <= 0) bad('weights must not all be 0');
  for (const [contract, r] of Object.entries(doc.contracts)) {
    for (const c of r.checks ?? []) {
      if (!CHECK_KINDS.includes(c.check)) bad(`${contract}: unknown check ${c.check}`);
      if (c.dimension !== 'validity' && c.dimension !== 'consistency') bad(`${contract}: check ${c.rule} dimension must be validity or consistency`);
    }
    for (const u of r.uniqueness ?? []) if (!Array.isArray(u) || u.length === 0) bad(`${contract}: uniqueness entries are non-empty field lists`);
  }
  return { weights, timeliness: { maxAgeDays: doc.timeliness?.maxAgeDays ?? 8, zeroAfterDays: doc.timeliness?.zeroAfterDays ?? 60 }, contracts: doc.contracts };
}

interface Loaded {
  record: StoredRecord;
  data: Record<string, unknown>;
}

async function loadRecords(deps: EvaluateDeps, member: string, contract: string): Promise<Loaded[]> {
  const out: Loaded[] = [];
  let after: string | undefined;
  do {
    const page = await deps.store.listRecords({ member, contract, limit: 1000, ...(after ? { after } : {}) });
    for (const record of page.items) out.push({ record, data: record.pii === null ? record.data : deps.vault.reveal({ data: record.data, pii: record.pii }) });
    after = page.next;
  } while (after);
  return out;
}

async function openProblems(store: Store, member: string): Promise<StoredProblem[]> {
  const out: StoredProblem[] = [];
  let after: string | undefined;
  do {
    const page = await store.listProblems({ member, status: 'open', limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.items);
    after = page.next;
  } while (after);
  return out;
}

async function lastRuns(store: Store): Promise<ImportRun[]> {
  const out: ImportRun[] = [];
  let after: string | undefined;
  do {
    const page = await store.listRuns({ limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.items);
    after = page.next;
  } while (after && out.length < 20_000);
  return out;
}

function present(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.trim() !== '';
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function locationOf(r: StoredRecord): Finding['location'] {
  const p = r.provenance;
  return { adapter: p.adapter, runId: p.runId, ...(p.file !== undefined ? { file: p.file } : {}), ...(p.line !== undefined ? { line: p.line } : {}) };
}

/** A keyed digest of an ID number, in memory only: cross-member comparison never keeps the clear value around. */
function idDigest(salt: string, id: string): string {
  return createHash('sha256').update(salt).update(id).digest('base64url');
}

const MESSAGES: Record<string, string> = {
  completeness: '字段缺失 / field is empty',
  uniqueness: '与本成员另一条记录重复 / repeats another record of the member',
  'code-table': '代码不在代码表中 / code is not in the code table',
  'education-level': '专业代码的层次与学生的培养层次不符 / the program code’s level differs from the education level',
  'id-birth-date': '出生日期与身份证号不一致 / birth date differs from the ID number',
  'id-sex': '性别与身份证号不一致 / sex differs from the ID number',
  'date-order': '开始日期晚于结束日期 / start date is after the end date',
  reference: '引用的记录不存在 / referenced record does not exist',
  cross: '与其他成员中同一身份证号的记录不一致 / differs from another member’s record with the same ID number',
};

export async function evaluate(deps: EvaluateDeps): Promise<Evaluation> {
  const now = deps.now ?? new Date().toISOString();
  const { rules } = deps;
  const stats = await deps.store.stats();
  const members = [...new Set([...deps.members, ...stats.map((s) => s.member)])];
  const runs = await lastRuns(deps.store);
  const findings: Finding[] = [];
  const salt = `${now}:${Math.random()}`;
  // Person records by ID digest across members, for the cross-member consistency rule.
  const people = new Map<string, { member: string; contract: string; key: string; data: Record<string, unknown>; record: StoredRecord }[]>();
  const perMember: { member: string; contracts: { contract: string; loaded: Loaded[]; quarantined: StoredProblem[]; rowFindings: Map<string, Set<Dimension>> }[] }[] = [];

  for (const member of members) {
    const contractsOfMember = new Set(stats.filter((s) => s.member === member && s.records > 0).map((s) => s.contract));
    const problems = await openProblems(deps.store, member);
    for (const p of problems) if (p.severity === 'error') contractsOfMember.add(p.contract ?? '(rows)');
    const byContract = new Map<string, Loaded[]>();
    for (const contract of contractsOfMember) if (contract !== '(rows)' && deps.contracts.has(contract)) byContract.set(contract, await loadRecords(deps, member, contract));
    const entry: (typeof perMember)[number] = { member, contracts: [] };
    perMember.push(entry);

    for (const contract of [...contractsOfMember].sort()) {
      const loaded = byContract.get(contract) ?? [];
      const cr = rules.contracts[contract] ?? {};
      const rowFindings = new Map<string, Set<Dimension>>();
      const add = (l: Loaded, f: Omit<Finding, 'member' | 'contract' | 'key' | 'location'>) => {
        findings.push({ member, contract, key: l.record.key, location: locationOf(l.record), ...f });
        let s = rowFindings.get(l.record.key);
        if (!s) rowFindings.set(l.record.key, (s = new Set()));
        s.add(f.dimension);
      };
      // Quarantined input rows: what the pipeline refused for this contract (validity).
      const quarantined = problems.filter((p) => p.severity === 'error' && (p.contract ?? '(rows)') === contract);
      for (const p of quarantined) {
        findings.push({
          member, contract, ...(p.key !== undefined ? { key: p.key } : {}), rule: `quarantine:${p.code}`, dimension: 'validity',
          ...(p.field !== undefined ? { field: p.field } : {}), ...(p.value !== undefined ? { value: p.value } : {}), message: p.message,
          location: { adapter: p.adapter, runId: p.runId, ...(p.file !== undefined ? { file: p.file } : {}), ...(p.line !== undefined ? { line: p.line } : {}), ...(p.column !== undefined ? { column: p.column } : {}), ...(p.sheet !== undefined ? { sheet: p.sheet } : {}) },
          problemId: p.id, problemCode: p.code,
        });
      }

      for (const l of loaded) {
        for (const field of cr.completeness ?? []) if (!present(l.data[field])) add(l, { rule: `required:${field}`, dimension: 'completeness', field, message: MESSAGES.completeness! });
        for (const c of cr.checks ?? []) runCheck(deps, c, l, (f) => add(l, f));
      }

      for (const fields of cr.uniqueness ?? []) {
        const seen = new Map<string, string>();
        for (const l of loaded) {
          const values = fields.map((f) => str(l.data[f]));
          if (values.some((v) => v === undefined || v === '')) continue;
          const k = values.join('\u0000');
          const first = seen.get(k);
          if (first === undefined) seen.set(k, l.record.key);
          else add(l, { rule: `unique:${fields.join('+')}`, dimension: 'uniqueness', field: fields.join('+'), value: values.join(' / '), message: `${MESSAGES.uniqueness} (${first})` });
        }
      }

      for (const ref of cr.references ?? []) {
        const targets = Array.isArray(ref.contract) ? ref.contract : [ref.contract];
        const known = new Set<string>();
        let targetRecords = 0;
        for (const t of targets) {
          const rows = t === contract ? loaded : byContract.get(t) ?? (stats.some((s) => s.member === member && s.contract === t) ? await loadRecords(deps, member, t) : []);
          if (!byContract.has(t) && rows.length > 0) byContract.set(t, rows);
          targetRecords += rows.length;
          for (const r of rows) {
            known.add(r.record.key);
            for (const a of r.record.aliases) known.add(a);
            if (ref.by) {
              const v = str(r.data[ref.by]);
              if (v) known.add(v);
            }
          }
        }
        // A member that delivers none of the target contract is not judged on references to it.
        if (targetRecords === 0) continue;
        for (const l of loaded) {
          const v = str(l.data[ref.field]);
          if (v !== undefined && !known.has(v)) add(l, { rule: ref.rule, dimension: 'consistency', field: ref.field, value: v, message: `${MESSAGES.reference} (${targets.join('|')})` });
        }
      }

      if (cr.crossMember) {
        for (const l of loaded) {
          const id = str(l.data.idNumber);
          if (!id) continue;
          const d = idDigest(salt, id);
          let list = people.get(d);
          if (!list) people.set(d, (list = []));
          list.push({ member, contract, key: l.record.key, data: l.data, record: l.record });
        }
      }
      entry.contracts.push({ contract, loaded, quarantined, rowFindings });
    }
  }

  // Consistency across members: the same ID number must describe the same person everywhere.
  for (const list of people.values()) {
    if (new Set(list.map((p) => p.member)).size < 2) continue;
    for (const p of list) {
      const rule = rules.contracts[p.contract]?.crossMember;
      if (!rule) continue;
      const differing = rule.fields.filter((f) => list.some((o) => o.member !== p.member && present(o.data[f]) && present(p.data[f]) && str(o.data[f]) !== str(p.data[f])));
      if (differing.length === 0) continue;
      const target = perMember.find((m) => m.member === p.member)!.contracts.find((c) => c.contract === p.contract)!;
      findings.push({ member: p.member, contract: p.contract, key: p.key, rule: rule.rule, dimension: 'consistency', field: differing.join('+'), message: `${MESSAGES.cross} (${differing.join(', ')})`, location: locationOf(p.record) });
      let s = target.rowFindings.get(p.key);
      if (!s) target.rowFindings.set(p.key, (s = new Set()));
      s.add('consistency');
    }
  }

  const scores: MemberScore[] = [];
  for (const m of perMember) {
    const memberRuns = runs.filter((r) => r.member === m.member && r.status === 'succeeded' && r.finishedAt);
    const last = memberRuns.reduce<ImportRun | undefined>((best, r) => (!best || r.finishedAt! > best.finishedAt! ? r : best), undefined);
    const timeliness = timelinessScore(rules, last?.finishedAt, now);
    const contractScores: ContractScore[] = [];
    for (const c of m.contracts) {
      const cr = rules.contracts[c.contract] ?? {};
      const n = c.loaded.length;
      const rowsWith = (d: Dimension) => [...c.rowFindings.values()].filter((s) => s.has(d)).length;
      const ruleCounts: Record<string, number> = {};
      for (const f of findings) if (f.member === m.member && f.contract === c.contract) ruleCounts[f.rule] = (ruleCounts[f.rule] ?? 0) + 1;
      const expected = n * (cr.completeness?.length ?? 0);
      const missing = Object.entries(ruleCounts).filter(([r]) => r.startsWith('required:')).reduce((s, [, k]) => s + k, 0);
      // Quarantined rows count once per row (a row with three bad fields is one bad row).
      const badRows = new Set(c.quarantined.map((p) => `${p.runId}:${p.key ?? ''}:${p.file ?? ''}:${p.line ?? p.id}`)).size;
      const dimensions: Record<Dimension, number> = {
        completeness: expected === 0 ? 1 : 1 - missing / expected,
        validity: n + badRows === 0 ? 1 : 1 - (rowsWith('validity') + badRows) / (n + badRows),
        uniqueness: n === 0 ? 1 : 1 - rowsWith('uniqueness') / n,
        consistency: n === 0 ? 1 : 1 - rowsWith('consistency') / n,
        timeliness,
      };
      contractScores.push({ contract: c.contract, records: n, quarantined: badRows, dimensions: roundDims(dimensions), score: weighted(rules, dimensions), rules: ruleCounts });
    }
    const total = contractScores.reduce((s, c) => s + c.records + c.quarantined, 0);
    const avg = (pick: (c: ContractScore) => number) =>
      total === 0 ? (contractScores.length === 0 ? 0 : contractScores.reduce((s, c) => s + pick(c), 0) / contractScores.length) : contractScores.reduce((s, c) => s + pick(c) * (c.records + c.quarantined), 0) / total;
    const dims = Object.fromEntries(DIMENSIONS.map((d) => [d, Math.round(avg((c) => c.dimensions[d]) * 1000) / 1000])) as Record<Dimension, number>;
    scores.push({
      member: m.member,
      records: contractScores.reduce((s, c) => s + c.records, 0),
      quarantined: contractScores.reduce((s, c) => s + c.quarantined, 0),
      score: Math.round(avg((c) => c.score) * 10) / 10,
      dimensions: dims,
      contracts: contractScores,
      ...(last ? { lastImport: last.finishedAt!, lastRunId: last.id } : {}),
    });
  }
  return { at: now, members: scores, findings };
}

function roundDims(d: Record<Dimension, number>): Record<Dimension, number> {
  return Object.fromEntries(DIMENSIONS.map((k) => [k, Math.round(d[k] * 1000) / 1000])) as Record<Dimension, number>;
}

function weighted(rules: QualityRules, d: Record<Dimension, number>): number {
  const w = DIMENSIONS.reduce((s, k) => s + rules.weights[k], 0);
  return round1(DIMENSIONS.reduce((s, k) => s + d[k] * rules.weights[k], 0) / w);
}

/** 1 within maxAgeDays of the last successful import, falling linearly to 0 at zeroAfterDays; 0 without any. */
export function timelinessScore(rules: QualityRules, lastImport: string | undefined, now: string): number {
  if (!lastImport) return 0;
  const days = (Date.parse(now) - Date.parse(lastImport)) / 86_400_000;
  const { maxAgeDays, zeroAfterDays } = rules.timeliness;
  if (days <= maxAgeDays) return 1;
  if (days >= zeroAfterDays || zeroAfterDays <= maxAgeDays) return 0;
  return 1 - (days - maxAgeDays) / (zeroAfterDays - maxAgeDays);
}

function runCheck(deps: EvaluateDeps, c: CheckRule, l: Loaded, add: (f: Omit<Finding, 'member' | 'contract' | 'key' | 'location'>) => void): void {
  const d = l.data;
  const base = { rule: c.rule, dimension: c.dimension } as const;
  switch (c.check) {
    case 'code-table': {
      const v = str(d[c.field ?? '']);
      if (v === undefined || !c.table || !deps.codes.has(c.table)) return;
      const table = deps.codes.table(c.table);
      // An operator table nobody loaded yet (the catalogue) cannot judge anyone.
      if ([...table.entries()].length === 0) return;
      if (!table.has(v) && !(table as { everExisted?: (x: string) => boolean }).everExisted?.(v)) {
        add({ ...base, field: c.field!, value: v, message: `${MESSAGES['code-table']} ${c.table}` });
      }
      return;
    }
    case 'education-level': {
      const v = str(d[c.field ?? '']);
      const level = str(d.educationLevel);
      if (!v || !level || level === 'other') return;
      const expected = educationLevelOf(v);
      if (expected !== level) add({ ...base, field: c.field!, value: v, message: `${MESSAGES['education-level']} (${expected ?? '?'} ≠ ${level})` });
      return;
    }
    case 'id-number': {
      const v = str(d[c.field ?? 'idNumber']);
      const idType = str(d.idType);
      // The contract checks 居民身份证 numbers; residence permits (type 3) are checked here.
      if (!v || idType !== '3') return;
      const r = checkIdNumber(v, { idType });
      if (!r.ok) add({ ...base, field: c.field ?? 'idNumber', value: v, message: `${r.message} [${r.code}]` });
      return;
    }
    case 'id-birth-date':
    case 'id-sex': {
      const id = str(d.idNumber);
      const idType = str(d.idType);
      if (!id || (idType !== undefined && idType !== '1' && idType !== '3')) return;
      const r = checkIdNumber(id, { allow15: true });
      if (!r.ok) return;
      if (c.check === 'id-birth-date') {
        const b = str(d.birthDate);
        if (b && b !== r.birthDate) add({ ...base, field: 'birthDate', value: b, message: MESSAGES['id-birth-date']! });
      } else {
        const s = str(d.sex);
        if (s && (s === '1' || s === '2') && s !== r.sex) add({ ...base, field: 'sex', value: s, message: MESSAGES['id-sex']! });
      }
      return;
    }
    case 'date-order': {
      const [a, b] = c.fields ?? [];
      const x = str(d[a ?? '']);
      const y = str(d[b ?? '']);
      if (x && y && x > y) add({ ...base, field: `${a}+${b}`, value: `${x} > ${y}`, message: MESSAGES['date-order']! });
      return;
    }
  }
}
