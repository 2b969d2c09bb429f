// Dialect-independent helpers shared by every Store implementation: ids, cursors, limits and the
// audit hash chain, so a PostgreSQL store produces byte-identical audit hashes and cursors.
import { createHash, randomBytes } from 'node:crypto';
import { VochubError } from '../errors.ts';
import type { AuditEntry } from './types.ts';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;
export const GENESIS_HASH = '0'.repeat(64);

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!Number.isFinite(limit) || limit < 1) return 1;
  return Math.min(Math.floor(limit), MAX_PAGE);
}

let lastMs = 0;
let seqInMs = 0;

/** Sortable unique id: 10 base-36 chars of milliseconds, 3 of a per-process counter, 10 hex random.
 * Lexicographic order = creation order within one process, and ids from two processes never collide. */
export function sortableId(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seqInMs = 0;
  } else {
    seqInMs++;
    if (seqInMs >= 36 ** 3) {
      lastMs++;
      seqInMs = 0;
    }
  }
  return lastMs.toString(36).padStart(10, '0') + seqInMs.toString(36).padStart(3, '0') + randomBytes(5).toString('hex');
}

export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): (string | number)[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string' || typeof p === 'number')) {
      return parts as (string | number)[];
    }
  } catch {
    // fall through to the refusal below
  }
  throw new VochubError('STORE_CURSOR_INVALID', '分页游标无效 / invalid page cursor', { status: 400 });
}

export function memberList(member: string | string[] | undefined): string[] | undefined {
  if (member === undefined) return undefined;
  return Array.isArray(member) ? member : [member];
}

/** JSON with object keys sorted at every level and undefined members left out: the audit hash input. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

export type AuditHashInput = Omit<AuditEntry, 'prevHash' | 'hash'>;

/** hash = sha256(prevHash + canonical JSON of the entry without its hashes). seq is inside the hash so
 * renumbering rows is detected too. */
export function auditHash(prevHash: string, entry: AuditHashInput): string {
  const body = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    member: entry.member,
    target: entry.target,
    detail: entry.detail,
  });
  return createHash('sha256').update(prevHash).update(body).digest('hex');
}

/** 53-bit non-cryptographic hash (cyrb53) of a lookup's kind and keyed hash: the integer the lookup
 * index is keyed on. Collisions only cost a false candidate, which the full (kind, hash) check drops. */
export function lookupBucket(kind: string, hash: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const text = `${kind}\u0000${hash}`;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
