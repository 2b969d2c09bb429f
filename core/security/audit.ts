// Audit trail over Store.appendAudit (the store keeps the hash chain). Every PII read and every
// cross-member access goes through here, so the action names below are a public vocabulary.
import type { AuditEntry, Store } from '../store/types.ts';
import type { Principal } from './types.ts';

export const AUDIT_ACTIONS = {
  /** A response revealed clear PII. detail: { contract, keys, fields }. */
  piiRead: 'pii.read',
  /** A group-wide principal read a member's records/runs/problems. detail: { resource, contract?, count }. */
  crossMemberRead: 'records.cross-member-read',
  importRun: 'imports.run',
  problemReplay: 'problems.replay',
  dlqReplay: 'dlq.replay',
  dlqDiscard: 'dlq.discard',
  keyCreate: 'keys.create',
  keyRevoke: 'keys.revoke',
} as const;

export interface AuditInput {
  member?: string;
  target?: string;
  detail?: Record<string, unknown>;
}

/**
 * Appends one audit entry attributed to `principal`. Never put clear PII in `detail`: name the
 * records (contract, keys) and the fields revealed, not their values.
 */
export function audit(store: Store, principal: Principal | { id: string; role?: string }, action: string, input: AuditInput = {}): Promise<AuditEntry> {
  const role = 'role' in principal ? principal.role : undefined;
  return store.appendAudit({
    at: new Date().toISOString(),
    actor: principal.id,
    action,
    member: input.member,
    target: input.target,
    detail: role === undefined ? input.detail : { role, ...input.detail },
  });
}
