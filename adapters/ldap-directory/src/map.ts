// Directory entry → SourceRecord. Pure: the tests feed it plain entries. The key is the directory's own
// immutable id (entryUUID / objectGUID read as bytes), never the DN or CN, which change on rename/move.

import type { Problem } from '../../../core/errors.ts';
import type { SourceRecord } from '../../../core/plugins/types.ts';
import { guidFromBytes } from './escape.ts';

export type LdapValue = string | string[] | Buffer | Buffer[];
export interface LdapEntry {
  dn: string;
  [attribute: string]: LdapValue;
}

export type ContractName = 'person' | 'staff' | 'student';

export interface ContractRule {
  contract: ContractName;
  /** Entry DN ends with this (case-insensitive, spaces after commas ignored), e.g. "ou=学生,ou=金华职业技术学院,dc=vochub,dc=cn". */
  dnSuffix?: string;
  /** One of the attribute's values equals `equals` (case-insensitive). */
  attribute?: string;
  equals?: string;
  /** Extra field → attribute mappings for this contract (e.g. staffNumber: employeeNumber). */
  attributes?: Record<string, string>;
  defaults?: Record<string, unknown>;
}

export interface MapSettings {
  keyAttribute: 'entryUUID' | 'objectGUID';
  /** Contract field (or extensions.<name>) → LDAP attribute. */
  attributes: Record<string, string>;
  rules: ContractRule[];
  /** Contract for entries no rule matches; undefined: such entries are skipped. */
  contract?: ContractName;
}

export type Mapped = { record: SourceRecord; problems: Problem[] } | { record?: undefined; problems: Problem[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function normalizeDn(dn: string): string {
  return dn.replace(/,\s+/g, ',').toLowerCase();
}

function first(value: LdapValue | undefined): string | Buffer | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : value;
}

function texts(value: LdapValue | undefined): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
}

/** The attribute as the entry holds it, case-insensitively (servers may echo another case). */
export function attributeOf(entry: LdapEntry, name: string): LdapValue | undefined {
  if (name in entry) return entry[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(entry)) if (k.toLowerCase() === lower) return entry[k];
  return undefined;
}

export function keyOf(entry: LdapEntry, keyAttribute: MapSettings['keyAttribute']): { key: string } | { problem: Problem } {
  const raw = first(attributeOf(entry, keyAttribute));
  const at = { file: entry.dn, field: keyAttribute };
  if (raw === undefined || raw.length === 0) {
    return { problem: { ...at, code: 'LDAP_KEY_MISSING', severity: 'error', message: `条目缺少 ${keyAttribute} / entry has no ${keyAttribute}` } };
  }
  if (keyAttribute === 'objectGUID') {
    if (typeof raw === 'string') {
      // Read as text, the GUID is already damaged (C23): refuse it rather than key on garbage.
      return { problem: { ...at, code: 'LDAP_GUID_INVALID', severity: 'error', message: 'objectGUID 未以二进制读取 / objectGUID was not read as binary' } };
    }
    const guid = guidFromBytes(raw);
    if (!guid.ok) return { problem: { ...at, code: guid.code, severity: 'error', message: guid.detail } };
    return { key: guid.guid };
  }
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (!UUID.test(text)) return { problem: { ...at, code: 'LDAP_KEY_MISSING', severity: 'error', message: `entryUUID 格式错误 / malformed entryUUID`, value: text } };
  return { key: text.toLowerCase() };
}

export function ruleFor(entry: LdapEntry, settings: MapSettings): ContractRule | undefined {
  const dn = normalizeDn(entry.dn);
  for (const rule of settings.rules) {
    if (rule.dnSuffix !== undefined && !dn.endsWith(normalizeDn(rule.dnSuffix))) continue;
    if (rule.attribute !== undefined) {
      const want = (rule.equals ?? '').toLowerCase();
      if (!texts(attributeOf(entry, rule.attribute)).some((v) => v.toLowerCase() === want)) continue;
    }
    return rule;
  }
  return settings.contract === undefined ? undefined : { contract: settings.contract };
}

export function mapEntry(entry: LdapEntry, settings: MapSettings): Mapped {
  const rule = ruleFor(entry, settings);
  if (rule === undefined) return { problems: [] };
  const keyed = keyOf(entry, settings.keyAttribute);
  if ('problem' in keyed) return { problems: [{ ...keyed.problem, contract: rule.contract }] };
  const data: Record<string, unknown> = { id: keyed.key };
  const columns: Record<string, string> = {};
  for (const [field, attribute] of Object.entries({ ...settings.attributes, ...(rule.attributes ?? {}) })) {
    const values = texts(attributeOf(entry, attribute)).map((v) => v.trim()).filter((v) => v !== '');
    if (values.length === 0) continue;
    // Scalar contract fields take the first value; multi-valued attributes (two sn in the Keycloak LDIF) keep the rest in extensions.
    if (field.startsWith('extensions.')) ((data.extensions ??= {}) as Record<string, unknown>)[field.slice(11)] = values.length === 1 ? values[0] : values;
    else data[field] = values[0];
    columns[field] = attribute;
  }
  for (const [f, v] of Object.entries(rule.defaults ?? {})) if (data[f] === undefined) data[f] = v;
  ((data.extensions ??= {}) as Record<string, unknown>).ldapDn = entry.dn;
  return { record: { contract: rule.contract, key: keyed.key, op: 'upsert', data, location: { file: entry.dn }, columns }, problems: [] };
}
