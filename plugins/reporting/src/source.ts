// Reads a member's records of one contract from the federated store, PII revealed in memory only
// (the dataset is frozen encrypted; see service.ts). Deleted records never count.
import type { HubServices } from '../../../core/plugins/types.ts';

export type SourceRecordView = Record<string, unknown> & { id: string };

export async function readMemberRecords(services: HubServices, member: string, contract: string): Promise<SourceRecordView[]> {
  if (!services.contracts.has(contract)) return [];
  const out: SourceRecordView[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await services.store.listRecords({ member, contract, limit: 1000, after });
    for (const record of page.items) {
      const revealed = record.pii ? services.vault.reveal({ data: record.data, pii: record.pii }) : record.data;
      out.push({ ...revealed, id: String(revealed.id ?? record.key) });
    }
    if (!page.next) break;
    after = page.next;
  }
  return out;
}

/**
 * Records of one contract from every member (school–enterprise links live in the enterprise's data as much
 * as in the school's). Only non-PII fields: the cooperation tables need none, so nothing is decrypted.
 */
export async function readGroupRecords(services: HubServices, contract: string): Promise<{ member: string; record: SourceRecordView }[]> {
  if (!services.contracts.has(contract)) return [];
  const out: { member: string; record: SourceRecordView }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await services.store.listRecords({ contract, limit: 1000, after });
    for (const r of page.items) out.push({ member: r.member, record: { ...r.data, id: String(r.data.id ?? r.key) } });
    if (!page.next) break;
    after = page.next;
  }
  return out;
}

/** Reads `extensions.x` style paths. */
export function pick(record: Record<string, unknown>, path: string): unknown {
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}
