import { readFileSync } from 'node:fs';
import { FilterParser } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { buildFilter, escapeBinaryFilterValue, escapeFilterValue, guidFilter, guidFromBytes, guidToBytes } from './src/escape.ts';

const cases = new URL('../../tests/fixtures/cases/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, cases), 'utf8');

describe('RFC 4515 filter value escaping', () => {
  it('escapes * ( ) \\ and NUL and leaves Chinese literal', () => {
    expect(escapeFilterValue('a*b(c)d\\e\u0000f王')).toEqual({ ok: true, value: 'a\\2ab\\28c\\29d\\5ce\\00f王' });
  });

  it('rejects other control characters with a stable code', () => {
    for (const bad of ['t2015003\nadmin', 'x\u0001', 'tab\there', 'del\u007f']) {
      const r = escapeFilterValue(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.code).toBe('LDAP_FILTER_VALUE_INVALID');
    }
  });

  it('C21: a DN with an escaped comma or parentheses becomes exactly the expected group filter', () => {
    const dns = read('C21-ldap-dn-comma.ldif').split('\n').filter((l) => l.startsWith('member: ')).map((l) => l.slice(8));
    const filters = dns.map((dn) => buildFilter('(&(objectClass=group)(member={{dn}}))', { dn }));
    expect(filters).toEqual([
      { ok: true, value: '(&(objectClass=group)(member=CN=Wang\\5c, Xiaoming,OU=Teachers,DC=school,DC=example))' },
      { ok: true, value: '(&(objectClass=group)(member=CN=王小明\\28T2015004\\29,OU=Teachers,DC=school,DC=example))' },
    ]);
    // Parsed back, each filter asserts the DN unchanged, so it finds the group holding it.
    const group = { objectClass: 'group', member: dns[0]! };
    expect(FilterParser.parseString((filters[0] as { value: string }).value).matches(group)).toBe(true);
    expect(FilterParser.parseString((filters[1] as { value: string }).value).matches({ objectClass: 'group', member: dns[1]! })).toBe(true);
  });

  it('C26: every injection login name yields a filter that matches no directory entry', () => {
    const lines = read('C26-ldap-filter-injection.txt').split('\n');
    const template = /Template used by the hub: (\S+)/.exec(lines[0]!)![1]!;
    const names = lines.filter((l) => !l.startsWith('#') && l !== '');
    expect(names).toHaveLength(7);
    const entries = [
      { objectClass: 'user', sAMAccountName: 't2015003', cn: 'Wang, Xiaoming' },
      { objectClass: 'user', sAMAccountName: 't2015004', cn: '王小明(T2015004)' },
    ];
    for (const username of names) {
      const built = buildFilter(template, { username });
      expect(built.ok, username).toBe(true);
      if (!built.ok) continue;
      const filter = FilterParser.parseString(built.value);
      // Structure kept: an AND of exactly the two template assertions, the second an equality (no wildcard).
      expect(filter.toString()).toMatch(/^\(&\(objectClass=user\)\(sAMAccountName=[^()*]*\)\)$/);
      for (const entry of entries) expect(filter.matches(entry), `${JSON.stringify(username)} vs ${entry.sAMAccountName}`).toBe(false);
    }
    // Control: the plain login name does match, so "matches nothing" above is meaningful.
    const plain = buildFilter(template, { username: 't2015003' });
    expect(plain.ok && FilterParser.parseString(plain.value).matches(entries[0]!)).toBe(true);
  });

  it('refuses a template placeholder without a value', () => {
    expect(buildFilter('(uid={{user}})', {}).ok).toBe(false);
  });
});

describe('objectGUID', () => {
  const c23 = JSON.parse(read('C23-objectguid.json')) as Record<string, string>;

  it('C23: 16 raw bytes become the GUID string with the first three fields little-endian', () => {
    expect(guidFromBytes(Buffer.from(c23.rawBytesHex!, 'hex'))).toEqual({ ok: true, guid: c23.expectedGuidString });
    expect(guidFromBytes(Buffer.from(c23.rawBytesBase64!, 'base64'))).toEqual({ ok: true, guid: c23.expectedGuidString });
  });

  it('C23: the 26-byte UTF-8 round-tripped value and other lengths are refused', () => {
    const mangled = Buffer.from(c23.bytesAfterUtf8DecodeAndReencode!, 'hex');
    expect(mangled.length).toBe(26);
    expect(guidFromBytes(mangled)).toMatchObject({ ok: false, code: 'LDAP_GUID_INVALID' });
    expect(guidFromBytes(new Uint8Array(15)).ok).toBe(false);
    expect(guidFromBytes(new Uint8Array(0)).ok).toBe(false);
  });

  it('C23: searching by GUID escapes every byte', () => {
    expect(guidFilter(c23.expectedGuidString!)).toBe(c23.ldapFilterForThisGuid);
    expect(Buffer.from(guidToBytes(c23.expectedGuidString!)!).toString('hex')).toBe(c23.rawBytesHex);
    expect(escapeBinaryFilterValue(Uint8Array.from([0, 0x2a, 0xff]))).toBe('\\00\\2a\\ff');
    expect(guidFilter('not-a-guid')).toBeUndefined();
  });
});
