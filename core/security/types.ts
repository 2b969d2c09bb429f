// Security model: API keys (and later hub access tokens) resolve to a Principal with a role,
// an optional member scope and permissions. Every record route asks `canAccessMember`.

export type Role = 'group-admin' | 'member-admin' | 'auditor' | 'reader' | 'service' | 'reporter';

export type Permission =
  | 'records:read'
  | 'records:write'
  | 'pii:read'
  | 'imports:run'
  | 'problems:manage'
  | 'dlq:manage'
  | 'keys:manage'
  | 'audit:read'
  | 'members:read'
  /** Scrape GET /metrics (a Prometheus key); group-admin holds it, others only by explicit grant. */
  | 'metrics:read'
  // Capability plugins (plugins/*): reporting, quality, identity, code registry.
  | 'reports:run'
  | 'reports:approve'
  | 'quality:read'
  | 'quality:manage'
  | 'identity:read'
  | 'identity:manage'
  | 'codes:manage';

export interface Principal {
  /** e.g. `key:ab12cd34` or later `user:…`. */
  id: string;
  name: string;
  role: Role;
  /** Member scope; null = group-wide. */
  member: string | null;
  permissions: Set<Permission>;
}

import type { ContractInfo } from '../contracts/types.ts';

/** Result of protecting a validated record before it is stored. */
export interface ProtectedRecord {
  /** The record without its x-pii fields. */
  data: Record<string, unknown>;
  /** One AES-256-GCM ciphertext (versioned, base64) of all x-pii fields, or null when none are present. */
  pii: string | null;
  /** Keyed HMAC-SHA-256 lookups of matchable PII, e.g. { idNumber: '…' }: match without the clear value. */
  lookup: Record<string, string>;
  /** Keyed content hash of the whole record (data + PII), stable across key order. */
  hash: string;
}

/** PII crypto: the only holder of the master key. Implemented in core/security/pii.ts. */
export interface PiiVault {
  protect(contract: ContractInfo, record: Record<string, unknown>): ProtectedRecord;
  /** Decrypts the PII blob and merges it back into the clear data. */
  reveal(stored: { data: Record<string, unknown>; pii: string | null }): Record<string, unknown>;
  /** Masks every x-pii field of a (revealed) record by its class, e.g. 110101********123X, 138****5678. */
  mask(contract: ContractInfo, record: Record<string, unknown>): Record<string, unknown>;
  encryptText(text: string): string;
  decryptText(ciphertext: string): string;
  /** Keyed HMAC of a normalised value for matching/search, namespaced by kind (e.g. 'idNumber'). */
  lookupHash(kind: string, value: string): string;
}
