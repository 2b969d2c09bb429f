// Survivorship: which linked record supplies each field of the golden record. Rules are data (config
// `survivorship`), applied in order as filters over the records that have a value for the field; the
// first rule that keeps at least one record narrows the choice, the next rules break ties, and the
// last tie goes to the smallest (member, contract, key) so the result is deterministic.
// Only the choice (a pointer to the record) is persisted; the value is read from the record when shown.
import { normaliseDate, normaliseIdNumber, normaliseName, normalisePhone } from './features.ts';

/** `contract:<name>` prefers that contract's records (e.g. the school's 学籍 for name and birth date),
 * `member:<code>` a member, `mostRecent` the latest change, `mostComplete` the record with most fields,
 * `mostCommon` the value most records agree on, `validIdNumber` ID numbers that pass GB 11643. */
export type SurvivorshipRule = string;

export const DEFAULT_SURVIVORSHIP: Record<string, SurvivorshipRule[]> = {
  name: ['contract:student', 'mostCommon', 'mostRecent'],
  birthDate: ['contract:student', 'mostCommon', 'mostRecent'],
  sex: ['contract:student', 'mostCommon', 'mostRecent'],
  idNumber: ['validIdNumber', 'contract:student', 'mostRecent'],
  phone: ['mostRecent'],
  email: ['mostRecent'],
  ethnicity: ['contract:student', 'mostComplete', 'mostRecent'],
  nationality: ['mostComplete', 'mostRecent'],
  address: ['mostRecent'],
};

export interface SurvivorSource {
  index: number;
  member: string;
  contract: string;
  key: string;
  updatedAt: string;
  /** Number of non-empty fields of the record. */
  complete: number;
  values: Record<string, unknown>;
}

function comparable(field: string, value: unknown): string | undefined {
  switch (field) {
    case 'name':
      return normaliseName(value);
    case 'birthDate':
      return normaliseDate(value);
    case 'phone':
      return normalisePhone(value);
    case 'idNumber':
      return normaliseIdNumber(value) ?? (typeof value === 'string' ? value : undefined);
    default:
      return typeof value === 'string' ? value.normalize('NFKC').trim().toLowerCase() : value === undefined || value === null ? undefined : JSON.stringify(value);
  }
}

function keepMax<T>(list: T[], measure: (x: T) => number | string): T[] {
  let best: number | string | undefined;
  let out: T[] = [];
  for (const x of list) {
    const m = measure(x);
    if (best === undefined || m > best) {
      best = m;
      out = [x];
    } else if (m === best) out.push(x);
  }
  return out;
}

function applyRule(rule: SurvivorshipRule, field: string, list: SurvivorSource[]): SurvivorSource[] {
  if (rule.startsWith('contract:')) return list.filter((s) => s.contract === rule.slice(9));
  if (rule.startsWith('member:')) return list.filter((s) => s.member === rule.slice(7));
  switch (rule) {
    case 'mostRecent':
      return keepMax(list, (s) => s.updatedAt);
    case 'mostComplete':
      return keepMax(list, (s) => s.complete);
    case 'mostCommon': {
      const counts = new Map<string, number>();
      for (const s of list) {
        const c = comparable(field, s.values[field]);
        if (c !== undefined) counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      return keepMax(list, (s) => counts.get(comparable(field, s.values[field]) ?? '') ?? 0);
    }
    case 'validIdNumber':
      return list.filter((s) => normaliseIdNumber(s.values[field]) !== undefined);
    default:
      return list;
  }
}

/** Picks, per field, the record whose value survives. Returns field → source index and the rule that decided. */
export function survive(sources: SurvivorSource[], rules: Record<string, SurvivorshipRule[]>): Map<string, { index: number; rule: string }> {
  const out = new Map<string, { index: number; rule: string }>();
  for (const [field, fieldRules] of Object.entries(rules)) {
    let list = sources.filter((s) => {
      const v = s.values[field];
      return v !== undefined && v !== null && v !== '';
    });
    if (list.length === 0) continue;
    let decidedBy = 'only';
    if (list.length > 1) {
      decidedBy = 'order';
      for (const rule of fieldRules) {
        const next = applyRule(rule, field, list);
        if (next.length > 0 && next.length < list.length) {
          list = next;
          decidedBy = rule;
        }
        if (list.length === 1) break;
      }
      list.sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : a.contract < b.contract ? -1 : a.contract > b.contract ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    out.set(field, { index: list[0]!.index, rule: decidedBy });
  }
  return out;
}
