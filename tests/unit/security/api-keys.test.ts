import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authenticate, createApiKey, presentedKey, revokeApiKey } from '../../../core/security/api-keys.ts';
import { audit } from '../../../core/security/audit.ts';
import { openSqliteStore } from '../../../core/store/sqlite.ts';
import type { Store } from '../../../core/store/types.ts';

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vochub-keys-'));
  store = openSqliteStore({ file: join(dir, 'hub.db'), synchronous: 'normal' });
  await store.migrate();
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('API keys', () => {
  it('creates vh_<id>_<secret> keys and stores only the SHA-256 of the secret', async () => {
    const { key, row } = await createApiKey(store, { name: '教务处', role: 'reader', member: '4133010001' });
    expect(key).toMatch(/^vh_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`vh_${row.id}_`)).toBe(true);
    const stored = await store.findApiKey(row.id);
    expect(stored?.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(key.slice(16));
  });

  it('authenticates by Bearer header or X-Api-Key into the role\'s principal', async () => {
    const { key, row } = await createApiKey(store, { name: 'svc', role: 'service', member: '4133010001', permissions: ['pii:read'] });
    for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': key }, { authorization: `bearer  ${key} ` }]) {
      const p = await authenticate(store, headers);
      expect(p).toMatchObject({ id: `key:${row.id}`, role: 'service', member: '4133010001' });
      expect([...p.permissions].sort()).toEqual(['members:read', 'pii:read', 'records:read', 'records:write']);
    }
  });

  it('refuses missing, malformed, unknown, tampered and revoked keys', async () => {
    const { key, row } = await createApiKey(store, { name: 'r', role: 'reader', member: '4133010001' });
    await expect(authenticate(store, {})).rejects.toMatchObject({ code: 'AUTH_REQUIRED', status: 401 });
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    for (const bad of ['Bearer x', 'Token abc', `Bearer ${key.slice(0, -1)}${last}`, `Bearer vh_ffffffffffff_${key.slice(16)}`]) {
      await expect(authenticate(store, { authorization: bad })).rejects.toMatchObject({ code: 'AUTH_INVALID', status: 401 });
    }
    expect(await revokeApiKey(store, row.id)).toBe(true);
    await expect(authenticate(store, { authorization: `Bearer ${key}` })).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect(await revokeApiKey(store, 'ffffffffffff')).toBe(false);
  });

  it('refuses keys whose role and member do not fit', async () => {
    await expect(createApiKey(store, { name: 'x', role: 'reader' })).rejects.toMatchObject({ code: 'ROLE_SCOPE_INVALID' });
    await expect(createApiKey(store, { name: 'x', role: 'group-admin', member: '4133010001' })).rejects.toMatchObject({ code: 'ROLE_SCOPE_INVALID' });
    await expect(createApiKey(store, { name: ' ', role: 'auditor' })).rejects.toMatchObject({ code: 'KEY_REQUEST_INVALID' });
    expect(await store.listApiKeys()).toEqual([]);
  });

  it('reads the key from either header, Authorization first', () => {
    expect(presentedKey({ authorization: 'Bearer a', 'x-api-key': 'b' })).toBe('a');
    expect(presentedKey({ 'x-api-key': ' b ' })).toBe('b');
    expect(presentedKey({ authorization: '' })).toBeUndefined();
  });
});

describe('audit', () => {
  it('appends entries attributed to the principal onto the store\'s hash chain', async () => {
    const { key } = await createApiKey(store, { name: 'a', role: 'group-admin' });
    const principal = await authenticate(store, { authorization: `Bearer ${key}` });
    const first = await audit(store, principal, 'pii.read', { member: '4133010001', target: 'student', detail: { keys: ['S1'] } });
    const second = await audit(store, principal, 'keys.create', { target: 'key:abc' });
    expect(first).toMatchObject({ actor: principal.id, action: 'pii.read', member: '4133010001', detail: { role: 'group-admin', keys: ['S1'] } });
    expect(second.prevHash).toBe(first.hash);
    expect(await store.verifyAudit()).toBeNull();
  });
});
