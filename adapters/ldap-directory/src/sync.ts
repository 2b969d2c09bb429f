// Full and delta sync over ldapts. Always paged (page size ≤ the server's maximum); a size/admin limit or a
// referral makes the run partial: it then declares no completeness, so the pipeline deactivates nobody (C22),
// and a delta run keeps its old checkpoint.

import { AdminLimitExceededError, Client, SizeLimitExceededError } from 'ldapts';
import type { Problem } from '../../../core/errors.ts';
import { VochubError } from '../../../core/errors.ts';
import type { ReadBatch, SourceRecord } from '../../../core/plugins/types.ts';
import { escapeFilterValue } from './escape.ts';
import { attributeOf, mapEntry, type ContractName, type LdapEntry, type MapSettings } from './map.ts';

export interface SyncSettings extends MapSettings {
  url: string;
  bindDN?: string;
  bindPassword?: string;
  baseDN: string;
  scope: 'sub' | 'one';
  filter: string;
  pageSize: number;
  timestampAttribute: string;
  batchSize: number;
  timeoutMs: number;
  /** Contracts a complete full run declares complete. */
  contracts: ContractName[];
}

/** Where a delta run resumes: the highest timestamp seen and, for entries at exactly that timestamp, their
 * version marker (entryCSN / uSNChanged), so a same-second change to one of them is still picked up. */
export interface LdapCheckpoint {
  timestamp: string;
  boundary: Record<string, string>;
}

const VERSION_ATTRIBUTES = ['entryCSN', 'uSNChanged'];

function isCheckpoint(value: unknown): value is LdapCheckpoint {
  return typeof value === 'object' && value !== null && typeof (value as LdapCheckpoint).timestamp === 'string' && typeof (value as LdapCheckpoint).boundary === 'object';
}

function text(entry: LdapEntry, attribute: string): string | undefined {
  const v = attributeOf(entry, attribute);
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : typeof one === 'string' ? one : one.toString('utf8');
}

export function versionOf(entry: LdapEntry, timestampAttribute: string): string {
  for (const a of VERSION_ATTRIBUTES) {
    const v = text(entry, a);
    if (v !== undefined) return v;
  }
  return text(entry, timestampAttribute) ?? '';
}

/** The search filter for a run: the configured one, narrowed to entries changed at or after the checkpoint. */
export function runFilter(settings: Pick<SyncSettings, 'filter' | 'timestampAttribute'>, checkpoint: LdapCheckpoint | undefined): string | undefined {
  if (checkpoint === undefined) return settings.filter;
  const ts = escapeFilterValue(checkpoint.timestamp);
  if (!ts.ok) return undefined;
  return `(&${settings.filter}(${settings.timestampAttribute}>=${ts.value}))`;
}

export async function connect(settings: SyncSettings): Promise<Client> {
  const client = new Client({ url: settings.url, timeout: settings.timeoutMs, connectTimeout: settings.timeoutMs, strictDN: false });
  try {
    if (settings.bindDN !== undefined) await client.bind(settings.bindDN, settings.bindPassword ?? '');
  } catch (error) {
    await client.unbind().catch(() => undefined);
    const code = (error as { code?: number }).code;
    if (code === 49) throw new VochubError('LDAP_BIND_FAILED', `目录绑定失败 / bind refused for ${settings.bindDN}`, { status: 502 });
    throw new VochubError('LDAP_UNAVAILABLE', `目录不可用 / directory unreachable: ${settings.url}`, { status: 503, cause: error });
  }
  return client;
}

export async function* sync(settings: SyncSettings, mode: 'full' | 'delta', previous: unknown, signal: AbortSignal): AsyncGenerator<ReadBatch> {
  const from = mode === 'delta' && isCheckpoint(previous) ? previous : undefined;
  const filter = runFilter(settings, from);
  if (filter === undefined) {
    yield { records: [], problems: [{ code: 'LDAP_CHECKPOINT_INVALID', severity: 'error', message: '检查点无效 / unusable checkpoint', file: settings.url }] };
    return;
  }
  const client = await connect(settings);
  let records: SourceRecord[] = [];
  let problems: Problem[] = [];
  let partial = false;
  let maxTs = from?.timestamp ?? '';
  let boundary: Record<string, string> = { ...(from?.boundary ?? {}) };
  const attributes = [...new Set([...Object.values(settings.attributes), ...settings.rules.flatMap((r) => [...Object.values(r.attributes ?? {}), ...(r.attribute ? [r.attribute] : [])]),
    settings.keyAttribute, settings.timestampAttribute, ...VERSION_ATTRIBUTES, 'objectClass'])];
  try {
    const pages = client.searchPaginated(settings.baseDN, {
      scope: settings.scope,
      filter,
      attributes,
      paged: { pageSize: settings.pageSize },
      // objectGUID must arrive as bytes: decoded as UTF-8 it is corrupted for good (C23).
      explicitBufferAttributes: ['objectGUID'],
    });
    for await (const page of pages) {
      for (const reference of page.searchReferences) {
        partial = true;
        problems.push({ code: 'LDAP_REFERRAL', severity: 'warning', message: `目录返回转介，未跟随，结果不完整 / referral not followed, result incomplete: ${reference}`, file: settings.baseDN });
      }
      for (const raw of page.searchEntries) {
        const entry = raw as unknown as LdapEntry;
        const ts = text(entry, settings.timestampAttribute) ?? '';
        const mapped = mapEntry(entry, settings);
        problems.push(...mapped.problems);
        if (mapped.record !== undefined) {
          const key = mapped.record.key;
          const version = versionOf(entry, settings.timestampAttribute);
          // Already delivered by the previous run at the boundary second, unchanged since.
          if (from !== undefined && ts === from.timestamp && from.boundary[key] === version) continue;
          records.push(mapped.record);
          if (ts > maxTs) {
            maxTs = ts;
            boundary = {};
          }
          if (ts === maxTs) boundary[key] = version;
        }
        if (records.length + problems.length >= settings.batchSize) {
          yield { records, problems };
          records = [];
          problems = [];
        }
      }
      if (signal.aborted) throw new VochubError('RUN_ABORTED', '运行已取消 / run aborted', { status: 499 });
    }
  } catch (error) {
    if (error instanceof SizeLimitExceededError || error instanceof AdminLimitExceededError) {
      partial = true;
      const which = error instanceof SizeLimitExceededError ? 'LDAP_SIZE_LIMIT' : 'LDAP_ADMIN_LIMIT';
      problems.push({
        code: which,
        severity: 'error',
        message: `目录限制截断了结果，本次同步不完整，不停用任何人 / the directory's limit truncated the result: partial run, nobody is deactivated`,
        file: settings.baseDN,
      });
    } else {
      throw error instanceof VochubError ? error : new VochubError('LDAP_UNAVAILABLE', `目录搜索失败 / search failed: ${(error as Error).message}`, { status: 503, cause: error });
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
  const last: ReadBatch = { records, problems };
  // A partial run keeps the previous checkpoint: what it missed must be read again next time.
  if (!partial) {
    if (maxTs !== '') last.checkpoint = { timestamp: maxTs, boundary } satisfies LdapCheckpoint;
    if (mode === 'full') last.complete = settings.contracts;
  }
  yield last;
}
