// Public surface of core/security.
export type { Permission, Principal, PiiVault, ProtectedRecord, Role } from './types.ts';
export { loadVault, maskValue, canonicalJson, normaliseForLookup, resolveMasterKey } from './pii.ts';
export type { LoadVaultOptions, MasterKeySource } from './pii.ts';
export { authenticate, createApiKey, presentedKey, principalId, revokeApiKey } from './api-keys.ts';
export type { AuthHeaders, CreateApiKeyInput, CreatedApiKey } from './api-keys.ts';
export {
  ALL_PERMISSIONS, GROUP_ROLES, ROLES, ROLE_PERMISSIONS, can, canAccessMember, checkKeyGrant, isCrossMember,
  isGroupRole, isPermission, isRole, makePrincipal, memberScope,
} from './roles.ts';
export { AUDIT_ACTIONS, audit } from './audit.ts';
export type { AuditInput } from './audit.ts';
