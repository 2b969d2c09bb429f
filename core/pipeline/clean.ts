// Generic cleaning applied to every record before validation, whatever adapter produced it.
// Adapters do source-specific work (encodings, Excel damage, date formats, label → code); this is
// the safety net every record passes. WHICH transform applies to WHICH contract field, and in what
// order, is data: contracts/cleaning-rules.json. Each change is counted under the rule that made it,
// so an import run can say what was changed and why (the counts are kept with the run).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VochubError, type Problem } from '../errors.ts';
import { parseCalendarDate } from '../ingest/dates.ts';

/** A rule name from the rules file (e.g. `trim`, `nfkc`, `date-format`). */
export type CleaningRule = string;

/** The transforms the pipeline implements; the rules file decides where they apply. */
export const CLEANING_TRANSFORMS = ['whitespace', 'whitespace-multiline', 'empty-to-absent', 'nfkc', 'name-separator', 'id-number', 'phone', 'date'] as const;
export type CleaningTransform = (typeof CLEANING_TRANSFORMS)[number];

export interface CleaningRuleSpec {
  name: string;
  transform: CleaningTransform;
  /** Field names; `*` is a wildcard (`*Id`, `*`). */
  fields: string[];
  /** Only for these contracts (default: all). */
  contracts?: string[];
  /** Field names (wildcards allowed) the rule leaves alone although `fields` matches them. */
  except?: string[];
  /** `date`: accepted input formats (tokens of core/ingest/dates.ts). */
  formats?: string[];
  description?: string;
}

export interface CleaningRules {
  version: number;
  rules: CleaningRuleSpec[];
}

export interface CleanResult {
  data: Record<string, unknown>;
  /** Rule → number of fields it changed in this record. */
  changes: Partial<Record<CleaningRule, number>>;
  problems: Problem[];
}

export interface CleanOptions {
  /** Contract of the record: rules limited to other contracts are skipped. */
  contract?: string;
  /** Rules to apply (default: contracts/cleaning-rules.json). */
  rules?: CleaningRules;
}

// Look-alikes of the middle dot used in minority and foreign names (阿依古丽·买买提): one canonical U+00B7.
const NAME_SEPARATORS = /[\u30FB\uFF65\u2022\u2027\u2219\u22C5\u00B7\u0387\u25CF\u2E31\u2E33\u16EB\uA78F\u318D\u10FB\u00B7\uFF0E]/g;
const WHITESPACE_EDGES = /^[\s\u3000\u00A0\uFEFF]+|[\s\u3000\u00A0\uFEFF]+$/g;
const INNER_WHITESPACE = /[\s\u3000\u00A0]+/g;
const LINE_BREAKS = /\r\n?|\u2028|\u2029/g;
const LINE_EDGES = /^[^\S\n]+|[^\S\n]+$/gm;
const INNER_HORIZONTAL = /[^\S\n]+/g;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

type Step = (value: string, rule: CleaningRuleSpec) => string | undefined;

const STEPS: Record<CleaningTransform, Step> = {
  whitespace: (v) => v.replace(WHITESPACE_EDGES, '').replace(INNER_WHITESPACE, ' '),
  // Addresses and remarks keep the line breaks a person typed (Alt+Enter in Excel, case C10), as \n.
  'whitespace-multiline': (v) => v.replace(LINE_BREAKS, '\n').replace(LINE_EDGES, '').replace(INNER_HORIZONTAL, ' ').replace(WHITESPACE_EDGES, ''),
  // `undefined` = drop the field.
  'empty-to-absent': (v) => (v === '' ? undefined : v),
  nfkc: (v) => v.normalize('NFKC'),
  'name-separator': (v) => v.replace(NAME_SEPARATORS, '\u00B7').replace(/\s*\u00B7\s*/g, '\u00B7'),
  'id-number': (v) => v.replace(/\s+/g, '').toUpperCase(),
  // Keep the digits a person dialled; separators differ between systems.
  phone: (v) => v.replace(/[\s\-()（）]/g, '').replace(/^(\+86|0086)(?=1\d{10}$)/, ''),
  date: (v, rule) => {
    if (ISO_DATE.test(v)) return v;
    const parsed = parseCalendarDate(v, rule.formats ?? ['YYYY-M-D', 'YYYY/M/D', 'YYYY.M.D', 'YYYY年M月D日', 'YYYYMMDD']);
    // Unreadable dates stay as they are: validation reports them against the source column.
    return parsed.ok ? parsed.date : v;
  },
};

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/** Validates a rules document; throws CLEANING_RULES_INVALID (a boot refusal) on anything wrong. */
export function parseCleaningRules(doc: unknown, source = 'cleaning rules'): CleaningRules {
  const fail = (why: string): never => {
    throw new VochubError('CLEANING_RULES_INVALID', `清洗规则无效 / invalid cleaning rules (${source}): ${why}`);
  };
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as CleaningRules).rules)) return fail('`rules` must be an array');
  const rules = (doc as CleaningRules).rules;
  const names = new Set<string>();
  rules.forEach((r, i) => {
    if (typeof r?.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(r.name)) fail(`rules[${i}].name must be kebab-case`);
    if (names.has(r.name)) fail(`rules[${i}].name ${r.name} repeats`);
    names.add(r.name);
    if (!(CLEANING_TRANSFORMS as readonly string[]).includes(r.transform)) fail(`rules[${i}].transform must be one of ${CLEANING_TRANSFORMS.join(', ')}`);
    if (!Array.isArray(r.fields) || r.fields.length === 0 || r.fields.some((f) => typeof f !== 'string')) fail(`rules[${i}].fields must be a non-empty list of names`);
    if (r.contracts !== undefined && (!Array.isArray(r.contracts) || r.contracts.some((c) => typeof c !== 'string'))) fail(`rules[${i}].contracts must be a list`);
    if (r.except !== undefined && (!Array.isArray(r.except) || r.except.some((f) => typeof f !== 'string'))) fail(`rules[${i}].except must be a list of names`);
  });
  return { version: Number((doc as CleaningRules).version ?? 1), rules };
}

export function defaultCleaningRulesFile(): string {
  return fileURLToPath(new URL('../../contracts/cleaning-rules.json', import.meta.url));
}

export function loadCleaningRules(file: string = defaultCleaningRulesFile()): CleaningRules {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new VochubError('CLEANING_RULES_INVALID', `清洗规则文件无法读取 / cannot read cleaning rules ${file}`, { cause });
  }
  return parseCleaningRules(doc, file);
}

/** Compiled rules: per (contract, field) the ordered steps, computed once per field name. */
class Plan {
  private readonly matchers: { rule: CleaningRuleSpec; step: Step; fields: RegExp[]; except: RegExp[]; contracts?: Set<string> }[];
  private readonly cache = new Map<string, { rule: CleaningRuleSpec; step: Step }[]>();

  constructor(readonly rules: CleaningRules) {
    this.matchers = rules.rules.map((rule) => ({
      rule,
      step: STEPS[rule.transform],
      fields: rule.fields.map(globToRegExp),
      except: (rule.except ?? []).map(globToRegExp),
      ...(rule.contracts ? { contracts: new Set(rule.contracts) } : {}),
    }));
  }

  steps(contract: string | undefined, field: string): { rule: CleaningRuleSpec; step: Step }[] {
    const k = `${contract ?? ''}\u0000${field}`;
    let steps = this.cache.get(k);
    if (!steps) {
      steps = this.matchers
        .filter((m) => (m.contracts === undefined || (contract !== undefined && m.contracts.has(contract))) && m.fields.some((f) => f.test(field)) && !m.except.some((f) => f.test(field)))
        .map((m) => ({ rule: m.rule, step: m.step }));
      this.cache.set(k, steps);
    }
    return steps;
  }
}

let defaultPlan: Plan | undefined;
const plans = new WeakMap<CleaningRules, Plan>();

function planOf(rules: CleaningRules | undefined): Plan {
  if (rules === undefined) return (defaultPlan ??= new Plan(loadCleaningRules()));
  let plan = plans.get(rules);
  if (!plan) plans.set(rules, (plan = new Plan(rules)));
  return plan;
}

/** The rules in force (the repository's file unless given). */
export function cleaningRules(): CleaningRules {
  return planOf(undefined).rules;
}

function cleanString(plan: Plan, contract: string | undefined, field: string, value: string, changes: CleanResult['changes']): string | undefined {
  let out: string | undefined = value;
  for (const { rule, step } of plan.steps(contract, field)) {
    const next = step(out, rule);
    if (next !== out) changes[rule.name] = (changes[rule.name] ?? 0) + 1;
    if (next === undefined) return undefined;
    out = next;
  }
  return out;
}

function cleanValue(plan: Plan, contract: string | undefined, field: string, value: unknown, changes: CleanResult['changes']): unknown {
  if (typeof value === 'string') return cleanString(plan, contract, field, value, changes);
  if (Array.isArray(value)) return value.map((v) => cleanValue(plan, contract, field, v, changes)).filter((v) => v !== undefined);
  if (value !== null && typeof value === 'object') return cleanObject(plan, contract, value as Record<string, unknown>, changes);
  return value;
}

function cleanObject(plan: Plan, contract: string | undefined, data: Record<string, unknown>, changes: CleanResult['changes']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(data)) {
    if (value === undefined || value === null) continue;
    // Member-specific extensions are the member's own words: kept as they came.
    if (field === 'extensions') {
      out[field] = value;
      continue;
    }
    const cleaned = cleanValue(plan, contract, field, value, changes);
    if (cleaned !== undefined) out[field] = cleaned;
  }
  return out;
}

/** Returns the first path whose string holds U+FFFD: a decoding failure that must never be stored. */
function findReplacementChar(value: unknown, path: string): { path: string; value: string } | undefined {
  if (typeof value === 'string') return value.includes('\uFFFD') ? { path, value } : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findReplacementChar(value[i], `${path}/${i}`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findReplacementChar(v, path ? `${path}/${k}` : k);
      if (hit) return hit;
    }
  }
  return undefined;
}

export function cleanRecord(data: Record<string, unknown>, options: CleanOptions = {}): CleanResult {
  const changes: CleanResult['changes'] = {};
  const problems: Problem[] = [];
  const bad = findReplacementChar(data, '');
  if (bad) {
    problems.push({
      code: 'ENCODING_REPLACEMENT_CHAR',
      severity: 'error',
      field: bad.path,
      value: bad.value,
      message: '数据含有替换字符 U+FFFD（编码解码失败），请检查文件编码 / value holds U+FFFD (a decoding failure): check the file encoding',
    });
    return { data, changes, problems };
  }
  return { data: cleanObject(planOf(options.rules), options.contract, data, changes), changes, problems };
}
