// What leaves the API: stored rows turned into views with PII decrypted, then masked unless the
// caller asked to reveal it and may. Scope checks live here too so every route applies the same rule.
import type { DeadLetter } from '../bus/types.ts';
import type { ContractInfo, ContractRegistry, PiiClass } from '../contracts/types.ts';
import { maskValue } from '../security/pii.ts';
import { can } from '../security/roles.ts';
import type { PiiVault, Principal } from '../security/types.ts';
import type { StoredProblem, StoredRecord } from '../store/types.ts';
import { apiError } from './problem.ts';

/**
 * The member filter a query may use. A member-scoped caller naming another member is refused with
 * MEMBER_SCOPE (member codes are public, so the refusal reveals nothing); omitting it means "mine".
 * Group-wide callers get what they asked for (undefined = all members).
 */
export function scopedMember(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.member === null) return requested;
  if (requested !== undefined && requested !== principal.member) {
    throw apiError('MEMBER_SCOPE', `只能访问本成员（${principal.member}）的数据 / Only member ${principal.member} is in scope`);
  }
  return principal.member;
}

/** Resources addressed by id that belong to another member answer 404, so ids cannot be probed. */
export function assertOwnedOrNotFound(principal: Principal, member: string | undefined, [zh, en]: [zh: string, en: string]): void {
  if (principal.member !== null && member !== principal.member) {
    throw apiError('NOT_FOUND', `${zh}不存在 / ${en} not found`);
  }
}

export function requireReveal(principal: Principal, reveal: boolean, member?: string): boolean {
  if (!reveal) return false;
  if (!can(principal, 'pii:read', member)) {
    throw apiError('FORBIDDEN', '查看明文个人信息需要 pii:read 权限 / Revealing PII needs the pii:read permission');
  }
  return true;
}

export interface RecordView {
  member: string;
  contract: string;
  key: string;
  aliases: string[];
  version: number;
  deleted: boolean;
  masked: boolean;
  provenance: StoredRecord['provenance'];
  createdAt: string;
  updatedAt: string;
  data: Record<string, unknown>;
}

export function recordView(vault: PiiVault, contract: ContractInfo, row: StoredRecord, reveal: boolean): { view: RecordView; revealed: string[] } {
  const full = vault.reveal({ data: row.data, pii: row.pii });
  const piiPresent = row.pii === null ? [] : contract.pii.filter((p) => p.field in full).map((p) => p.field);
  const data = reveal ? full : vault.mask(contract, full);
  return {
    view: {
      member: row.member, contract: row.contract, key: row.key, aliases: row.aliases, version: row.version,
      deleted: row.deleted, masked: !reveal, provenance: row.provenance, createdAt: row.createdAt, updatedAt: row.updatedAt, data,
    },
    revealed: reveal ? piiPresent : [],
  };
}

/** Field → PII class across every contract: the fallback when a payload names no contract. */
export function piiFieldUnion(contracts: ContractRegistry): Map<string, PiiClass> {
  const map = new Map<string, PiiClass>();
  for (const c of contracts.list()) for (const p of c.pii) if (!map.has(p.field)) map.set(p.field, p.class);
  return map;
}

function piiMapOf(contract: ContractInfo): Map<string, PiiClass> {
  return new Map(contract.pii.map((p) => [p.field, p.class] as const));
}

/** Masks PII-named properties at any depth (event payloads nest the record under data/record). */
export function deepMask(value: unknown, classes: Map<string, PiiClass>, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => deepMask(v, classes, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const cls = classes.get(k);
    out[k] = cls !== undefined && (typeof v === 'string' || typeof v === 'number') ? maskValue(cls, v) : deepMask(v, classes, depth + 1);
  }
  return out;
}

/** Decrypts a value the pipeline stored encrypted (`v1.` ciphertext); clear values pass through. */
export function openValue(vault: PiiVault, value: string): string {
  if (!value.startsWith('v1.')) return value;
  try {
    return vault.decryptText(value);
  } catch {
    return value;
  }
}

function contractOf(contracts: ContractRegistry, name: string | undefined): ContractInfo | undefined {
  return name !== undefined && contracts.has(name) ? contracts.get(name) : undefined;
}

/**
 * A problem's `value` is shown only when it is known not to be PII: its contract is known and its field
 * is a non-PII field. Anything else (whole-row values, unknown fields) is masked as `other`.
 */
export function problemView(vault: PiiVault, contracts: ContractRegistry, problem: StoredProblem, reveal: boolean): { view: Record<string, unknown>; revealed: boolean } {
  const view: Record<string, unknown> = { ...problem };
  if (typeof problem.value !== 'string') return { view, revealed: false };
  const clear = openValue(vault, problem.value);
  const contract = contractOf(contracts, problem.contract);
  const fieldClass = contract?.pii.find((p) => p.field === problem.field)?.class;
  const knownNonPii = contract !== undefined && problem.field !== undefined && problem.field !== '' && fieldClass === undefined;
  if (knownNonPii) {
    view.value = clear;
    return { view, revealed: false };
  }
  view.value = reveal ? clear : maskValue(fieldClass ?? 'other', clear);
  return { view, revealed: reveal };
}

/** The original (as-read) record of a problem, masked by its contract (or by every contract's PII names). */
export function problemOriginalView(vault: PiiVault, contracts: ContractRegistry, problem: StoredProblem, stored: string | null, reveal: boolean): unknown {
  if (stored === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(openValue(vault, stored));
  } catch {
    return reveal ? openValue(vault, stored) : '***';
  }
  if (reveal) return parsed;
  const contract = contractOf(contracts, problem.contract);
  return deepMask(parsed, contract ? piiMapOf(contract) : piiFieldUnion(contracts));
}

const DATASCHEMA = /^urn:vochub:contract:([a-z][a-z0-9-]*):\d+$/;
const EVENT_TYPE = /^edu\.([a-z][a-z0-9-]*)\./;

/** The contract an event carries, from dataschema, type or a `contract` field in its data. */
export function eventContract(contracts: ContractRegistry, event: DeadLetter['event']): ContractInfo | undefined {
  const fromSchema = typeof event.dataschema === 'string' ? DATASCHEMA.exec(event.dataschema)?.[1] : undefined;
  const fromType = EVENT_TYPE.exec(event.type)?.[1];
  const data = event.data as { contract?: unknown } | null;
  const fromData = data && typeof data === 'object' && typeof data.contract === 'string' ? data.contract : undefined;
  return contractOf(contracts, fromSchema) ?? contractOf(contracts, fromType) ?? contractOf(contracts, fromData);
}

export function deadLetterView(contracts: ContractRegistry, entry: DeadLetter, reveal: boolean, union: Map<string, PiiClass>): DeadLetter & { masked: boolean } {
  if (reveal) return { ...entry, masked: false };
  const contract = eventContract(contracts, entry.event);
  const classes = contract ? piiMapOf(contract) : union;
  return { ...entry, event: { ...entry.event, data: deepMask(entry.event.data, classes) }, masked: true };
}
