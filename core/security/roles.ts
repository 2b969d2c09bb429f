// Roles, permissions and member scope. A principal's rights are its role's permissions plus the
// permissions granted explicitly on its key; its member scope comes from the role kind.
import { VochubError } from '../errors.ts';
import type { Permission, Principal, Role } from './types.ts';

export const ALL_PERMISSIONS: readonly Permission[] = [
  'records:read', 'records:write', 'pii:read', 'imports:run', 'problems:manage', 'dlq:manage',
  'keys:manage', 'audit:read', 'members:read', 'metrics:read',
  'reports:run', 'reports:approve', 'quality:read', 'quality:manage', 'identity:read', 'identity:manage', 'codes:manage',
];

export const ROLES: readonly Role[] = ['group-admin', 'member-admin', 'auditor', 'reader', 'service', 'reporter'];

/** Group roles see across members (member = null); member roles are bound to exactly one member. */
export const GROUP_ROLES: ReadonlySet<Role> = new Set<Role>(['group-admin', 'auditor']);

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  'group-admin': ALL_PERMISSIONS,
  'member-admin': ['records:read', 'pii:read', 'imports:run', 'problems:manage', 'dlq:manage', 'keys:manage', 'members:read', 'reports:run', 'quality:read', 'quality:manage', 'identity:read'],
  // Group-wide, read-only, including the audit log; deliberately no pii:read (masked views only).
  auditor: ['records:read', 'audit:read', 'members:read', 'quality:read', 'identity:read'],
  reader: ['records:read', 'members:read', 'quality:read'],
  service: ['records:read', 'records:write', 'members:read'],
  // A member's 报送员: generates, approves and files its government reports (plugins/reporting); no pii:read.
  reporter: ['records:read', 'reports:run', 'reports:approve'],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (ALL_PERMISSIONS as readonly string[]).includes(value);
}

export function isGroupRole(role: Role): boolean {
  return GROUP_ROLES.has(role);
}

/** Builds a principal; refuses role/member combinations that would widen or blur the scope. */
export function makePrincipal(input: {
  id: string;
  name: string;
  role: string;
  member: string | null;
  permissions?: readonly string[];
}): Principal {
  if (!isRole(input.role)) {
    throw new VochubError('ROLE_UNKNOWN', `未知角色 / Unknown role: ${input.role}`, { status: 400 });
  }
  if (isGroupRole(input.role) !== (input.member === null)) {
    throw new VochubError('ROLE_SCOPE_INVALID', isGroupRole(input.role)
      ? `集团角色不能绑定成员 / Group role ${input.role} cannot be bound to a member`
      : `成员角色必须绑定成员 / Member role ${input.role} needs a member`, { status: 400 });
  }
  const permissions = new Set<Permission>(ROLE_PERMISSIONS[input.role]);
  for (const p of input.permissions ?? []) {
    if (!isPermission(p)) throw new VochubError('PERMISSION_UNKNOWN', `未知权限 / Unknown permission: ${p}`, { status: 400 });
    permissions.add(p);
  }
  return { id: input.id, name: input.name, role: input.role, member: input.member, permissions };
}

/** True when the principal may reach data of `member` at all (ignoring permissions). */
export function canAccessMember(principal: Principal, member: string): boolean {
  return principal.member === null || principal.member === member;
}

/** Does the principal hold `permission`, and (when given) for `member`? */
export function can(principal: Principal, permission: Permission, member?: string): boolean {
  if (!principal.permissions.has(permission)) return false;
  return member === undefined || canAccessMember(principal, member);
}

/** Members the principal may see: null = every member (group roles). */
export function memberScope(principal: Principal): readonly string[] | null {
  return principal.member === null ? null : [principal.member];
}

/** A group-wide principal reading one member's data: this is what the audit log calls cross-member access. */
export function isCrossMember(principal: Principal, member: string): boolean {
  return principal.member === null || principal.member !== member;
}

/**
 * May `creator` issue a key with this role, member and explicit permissions? No one can hand out more
 * than they hold: member-admins stay inside their member and below the group roles.
 */
export function checkKeyGrant(
  creator: Principal,
  request: { role: Role; member: string | null; permissions: readonly Permission[] },
): { ok: true } | { ok: false; code: 'FORBIDDEN' | 'MEMBER_SCOPE'; reason: string } {
  if (!creator.permissions.has('keys:manage')) return { ok: false, code: 'FORBIDDEN', reason: 'keys:manage required' };
  if (creator.member !== null) {
    if (isGroupRole(request.role)) return { ok: false, code: 'FORBIDDEN', reason: 'member keys cannot create group roles' };
    if (request.member !== creator.member) return { ok: false, code: 'MEMBER_SCOPE', reason: 'keys only for the own member' };
  }
  const granted = new Set<Permission>([...ROLE_PERMISSIONS[request.role], ...request.permissions]);
  for (const p of granted) {
    if (!creator.permissions.has(p)) return { ok: false, code: 'FORBIDDEN', reason: `cannot grant ${p} without holding it` };
  }
  return { ok: true };
}
