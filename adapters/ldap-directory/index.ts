// ldap-directory adapter: people from an LDAP directory (OpenLDAP, Active Directory) as person / staff /
// student records, full and delta, over ldapts. See README.md for the config and the problem codes.

import { configError } from '../../core/errors.ts';
import type { HealthReport, PluginFactory, PluginInstance, ReadBatch, ReadOptions } from '../../core/plugins/types.ts';
import { connect, sync, type SyncSettings } from './src/sync.ts';
import type { ContractName, ContractRule } from './src/map.ts';

export interface LdapDirectoryConfig {
  url: string;
  bindDN?: string;
  bindPassword?: string;
  baseDN: string;
  scope?: 'sub' | 'one';
  filter?: string;
  keyAttribute?: 'entryUUID' | 'objectGUID';
  pageSize?: number;
  serverMaxPageSize?: number;
  timestampAttribute?: string;
  contract?: ContractName | null;
  rules?: ContractRule[];
  attributes?: Record<string, string>;
  batchSize?: number;
  timeoutMs?: number;
}

export function settingsOf(config: LdapDirectoryConfig): SyncSettings {
  if (typeof config?.url !== 'string' || !/^ldaps?:\/\//i.test(config.url)) throw configError('ldap-directory: url 应为 ldap:// 或 ldaps:// / url must be ldap:// or ldaps://');
  if (typeof config.baseDN !== 'string' || config.baseDN === '') throw configError('ldap-directory: 缺少 baseDN / baseDN is required');
  const filter = config.filter ?? '(objectClass=inetOrgPerson)';
  if (!filter.startsWith('(') || !filter.endsWith(')')) throw configError('ldap-directory: filter 须用括号包围 / filter must be parenthesised');
  const serverMax = config.serverMaxPageSize ?? 1000;
  const contract = config.contract === null ? undefined : (config.contract ?? 'person');
  const rules = config.rules ?? [];
  return {
    url: config.url,
    bindDN: config.bindDN,
    bindPassword: config.bindPassword,
    baseDN: config.baseDN,
    scope: config.scope ?? 'sub',
    filter,
    keyAttribute: config.keyAttribute ?? 'entryUUID',
    // Never ask for more than the server hands out per page (AD MaxPageSize defaults to 1000).
    pageSize: Math.max(1, Math.min(config.pageSize ?? 500, serverMax)),
    timestampAttribute: config.timestampAttribute ?? 'modifyTimestamp',
    batchSize: Math.max(1, Math.floor(config.batchSize ?? 1000)),
    timeoutMs: config.timeoutMs ?? 30_000,
    attributes: config.attributes ?? { name: 'cn', familyName: 'sn', givenName: 'givenName', email: 'mail', username: 'uid' },
    rules,
    contract,
    contracts: [...new Set([...rules.map((r) => r.contract), ...(contract ? [contract] : [])])],
  };
}

const createLdapDirectoryAdapter: PluginFactory<LdapDirectoryConfig> = (context) => {
  const settings = settingsOf(context.config);
  const instance: PluginInstance = {
    async check(): Promise<HealthReport> {
      try {
        const client = await connect(settings);
        try {
          const { searchEntries } = await client.search(settings.baseDN, { scope: 'base', attributes: ['1.1'] });
          return { ok: searchEntries.length === 1, detail: searchEntries.length === 1 ? settings.baseDN : `找不到 baseDN / baseDN not found: ${settings.baseDN}` };
        } finally {
          await client.unbind().catch(() => undefined);
        }
      } catch (error) {
        return { ok: false, detail: (error as Error).message };
      }
    },
    read(options: ReadOptions): AsyncIterable<ReadBatch> {
      return sync(settings, options.mode, options.checkpoint, options.signal);
    },
  };
  return instance;
};

export default createLdapDirectoryAdapter;
