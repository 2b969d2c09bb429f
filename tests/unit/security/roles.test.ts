import { describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, can, checkKeyGrant, makePrincipal, memberScope } from '../../../core/security/roles.ts';
import type { Permission, Role } from '../../../core/security/types.ts';

const A = '4133010001';
const B = '4133010002';
const member = (role: Role, permissions: Permission[] = []) => makePrincipal({ id: `key:${role}`, name: role, role, member: A, permissions });
const group = (role: Role) => makePrincipal({ id: `key:${role}`, name: role, role, member: null });

// The role matrix from docs/security.md: [role, permission, allowed on own member].
const matrix: [Role, Permission[]][] = [
  ['group-admin', [...ALL_PERMISSIONS]],
  ['member-admin', ['records:read', 'pii:read', 'imports:run', 'problems:manage', 'dlq:manage', 'keys:manage', 'members:read', 'reports:run', 'quality:read', 'quality:manage', 'identity:read']],
  ['auditor', ['records:read', 'audit:read', 'members:read', 'quality:read', 'identity:read']],
  ['reader', ['records:read', 'members:read', 'quality:read']],
  ['service', ['records:read', 'records:write', 'members:read']],
  ['reporter', ['records:read', 'reports:run', 'reports:approve']],
];

describe('role matrix', () => {
  for (const [role, allowed] of matrix) {
    it(`${role} holds exactly ${allowed.length} permissions`, () => {
      const p = role === 'group-admin' || role === 'auditor' ? group(role) : member(role);
      for (const permission of ALL_PERMISSIONS) expect(can(p, permission, A)).toBe(allowed.includes(permission));
    });
  }

  it('member roles reach only their own member, group roles every member', () => {
    expect(can(member('reader'), 'records:read', B)).toBe(false);
    expect(can(member('member-admin'), 'pii:read', B)).toBe(false);
    expect(can(group('auditor'), 'records:read', B)).toBe(true);
    expect(memberScope(member('reader'))).toEqual([A]);
    expect(memberScope(group('group-admin'))).toBeNull();
  });

  it('grants pii:read to a reader only when given explicitly', () => {
    expect(can(member('reader'), 'pii:read', A)).toBe(false);
    expect(can(member('reader', ['pii:read']), 'pii:read', A)).toBe(true);
    expect(can(group('auditor'), 'pii:read', A)).toBe(false);
  });

  it('refuses blurred scopes and unknown names', () => {
    expect(() => makePrincipal({ id: 'k', name: 'x', role: 'reader', member: null })).toThrow(expect.objectContaining({ code: 'ROLE_SCOPE_INVALID' }));
    expect(() => makePrincipal({ id: 'k', name: 'x', role: 'auditor', member: A })).toThrow(expect.objectContaining({ code: 'ROLE_SCOPE_INVALID' }));
    expect(() => makePrincipal({ id: 'k', name: 'x', role: 'root', member: null })).toThrow(expect.objectContaining({ code: 'ROLE_UNKNOWN' }));
    expect(() => makePrincipal({ id: 'k', name: 'x', role: 'reader', member: A, permissions: ['all'] })).toThrow(expect.objectContaining({ code: 'PERMISSION_UNKNOWN' }));
  });
});

describe('key grants', () => {
  it('lets a member-admin issue member keys for its own member only', () => {
    const admin = member('member-admin');
    expect(checkKeyGrant(admin, { role: 'reader', member: A, permissions: ['pii:read'] })).toEqual({ ok: true });
    expect(checkKeyGrant(admin, { role: 'reader', member: B, permissions: [] })).toMatchObject({ ok: false, code: 'MEMBER_SCOPE' });
    expect(checkKeyGrant(admin, { role: 'group-admin', member: null, permissions: [] })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(checkKeyGrant(admin, { role: 'auditor', member: null, permissions: [] })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it('never lets a creator grant a permission it does not hold', () => {
    const admin = member('member-admin');
    expect(checkKeyGrant(admin, { role: 'service', member: A, permissions: [] })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(checkKeyGrant(admin, { role: 'reader', member: A, permissions: ['audit:read'] })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(checkKeyGrant(member('reader'), { role: 'reader', member: A, permissions: [] })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(checkKeyGrant(group('group-admin'), { role: 'auditor', member: null, permissions: ['metrics:read'] })).toEqual({ ok: true });
  });
});
