// API keys: `vh_<id>_<secret>`. The id (12 hex) finds the row; only SHA-256 of the secret is stored,
// so a copy of the database does not yield usable keys. The clear key is shown once, at creation.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { VochubError } from '../errors.ts';
import type { ApiKeyRow, Store } from '../store/types.ts';
import { isPermission, isRole, makePrincipal } from './roles.ts';
import type { Permission, Principal, Role } from './types.ts';

const KEY_PATTERN = /^vh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface CreateApiKeyInput {
  name: string;
  role: Role;
  /** Required for member roles, null/undefined for group roles. */
  member?: string | null;
  /** Extra permissions on top of the role's, e.g. pii:read for a reader. */
  permissions?: Permission[];
}

export interface CreatedApiKey {
  /** The clear key: returned once, never stored, never logged. */
  key: string;
  row: Omit<ApiKeyRow, 'secretHash'>;
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function principalId(keyId: string): string {
  return `key:${keyId}`;
}

/** Creates and stores a key. Authorisation of the creator is the caller's job (see roles.checkKeyGrant). */
export async function createApiKey(store: Store, input: CreateApiKeyInput): Promise<CreatedApiKey> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '' || name.length > 200) {
    throw new VochubError('KEY_REQUEST_INVALID', '密钥名称必须为 1–200 个字符 / Key name must be 1–200 characters', { status: 400 });
  }
  if (!isRole(input.role)) throw new VochubError('ROLE_UNKNOWN', `未知角色 / Unknown role: ${String(input.role)}`, { status: 400 });
  const member = input.member ?? null;
  const permissions = [...new Set(input.permissions ?? [])];
  for (const p of permissions) {
    if (!isPermission(p)) throw new VochubError('PERMISSION_UNKNOWN', `未知权限 / Unknown permission: ${String(p)}`, { status: 400 });
  }
  // Validates the role/member combination with the same rule authenticate() applies later.
  makePrincipal({ id: 'key:new', name, role: input.role, member, permissions });

  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row: ApiKeyRow = {
    id,
    name,
    secretHash: hashSecret(secret).toString('hex'),
    role: input.role,
    member,
    permissions,
    createdAt: new Date().toISOString(),
  };
  await store.putApiKey(row);
  const { secretHash: _omit, ...visible } = row;
  return { key: `vh_${id}_${secret}`, row: visible };
}

/** Revokes a key; returns false when no such key exists. */
export async function revokeApiKey(store: Store, id: string): Promise<boolean> {
  const row = await store.findApiKey(id);
  if (!row) return false;
  if (!row.revokedAt) await store.revokeApiKey(id);
  return true;
}

export type AuthHeaders = { authorization?: string | string[]; 'x-api-key'?: string | string[] } & Record<string, unknown>;

function single(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.length === 1 && typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Extracts the presented key: `Authorization: Bearer vh_…` or `X-Api-Key: vh_…`. undefined = none presented. */
export function presentedKey(headers: AuthHeaders | string | undefined): string | undefined {
  if (headers === undefined) return undefined;
  if (typeof headers === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.trim());
    return m ? m[1] : headers.trim() || undefined;
  }
  const authorization = single(headers.authorization);
  if (authorization !== undefined && authorization.trim() !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
    // A non-Bearer Authorization header is presented but unusable: AUTH_INVALID, not AUTH_REQUIRED.
    return m ? m[1] : authorization;
  }
  const apiKey = single(headers['x-api-key']);
  return apiKey !== undefined && apiKey.trim() !== '' ? apiKey.trim() : undefined;
}

const invalid = () =>
  new VochubError('AUTH_INVALID', 'API 密钥无效或已吊销 / The API key is invalid or revoked', { status: 401 });

/**
 * Resolves the request's key to a principal. Throws AUTH_REQUIRED (nothing presented) or AUTH_INVALID
 * (malformed, unknown, wrong secret, revoked: one code so a caller cannot probe which).
 */
export async function authenticate(store: Store, headers: AuthHeaders | string | undefined): Promise<Principal> {
  const presented = presentedKey(headers);
  if (presented === undefined) {
    throw new VochubError('AUTH_REQUIRED', '需要 API 密钥 / An API key is required (Authorization: Bearer vh_…)', { status: 401 });
  }
  const m = KEY_PATTERN.exec(presented);
  if (!m) throw invalid();
  const id = m[1]!;
  const given = hashSecret(m[2]!);
  const row = await store.findApiKey(id);
  // Compare even when the row is missing so timing does not tell unknown ids from wrong secrets.
  const expected = row && /^[0-9a-f]{64}$/.test(row.secretHash) ? Buffer.from(row.secretHash, 'hex') : Buffer.alloc(32);
  const match = timingSafeEqual(given, expected);
  if (!row || !match || row.revokedAt) throw invalid();
  try {
    return makePrincipal({ id: principalId(row.id), name: row.name, role: row.role, member: row.member, permissions: row.permissions });
  } catch {
    // A stored row that no longer makes a valid principal (e.g. a retired role) grants nothing.
    throw invalid();
  }
}
