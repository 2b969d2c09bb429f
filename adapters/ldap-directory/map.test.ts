import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsOf } from './index.ts';
import { mapEntry, type MapSettings } from './src/map.ts';
import { runFilter } from './src/sync.ts';

const c23 = JSON.parse(readFileSync(new URL('../../tests/fixtures/cases/C23-objectguid.json', import.meta.url), 'utf8')) as Record<string, string>;

const base: MapSettings = {
  keyAttribute: 'entryUUID',
  attributes: { name: 'cn', familyName: 'sn', email: 'mail', username: 'uid', 'extensions.surnames': 'sn' },
  rules: [
    { contract: 'student', dnSuffix: 'ou=学生, ou=金华职业技术学院, dc=vochub, dc=cn', attributes: { studentNumber: 'employeeNumber' } },
    { contract: 'staff', attribute: 'employeeType', equals: 'Teacher', attributes: { staffNumber: 'employeeNumber' } },
  ],
  contract: 'person',
};

describe('entry mapping', () => {
  it('maps entries to student, staff or person by DN suffix and attribute value, keyed by entryUUID', () => {
    const student = mapEntry({ dn: 'uid=s1,ou=学生,ou=金华职业技术学院,dc=vochub,dc=cn', entryUUID: '5588092A-8393-1041-9bd5-fb3f0b2e0772', cn: '王芳', sn: '王', uid: 's1', employeeNumber: 'JHC000001' }, base);
    expect(student.record).toMatchObject({ contract: 'student', key: '5588092a-8393-1041-9bd5-fb3f0b2e0772', data: { id: '5588092a-8393-1041-9bd5-fb3f0b2e0772', name: '王芳', studentNumber: 'JHC000001' } });
    const staff = mapEntry({ dn: 'uid=t1,ou=教师,ou=金华职业技术学院,dc=vochub,dc=cn', entryUUID: '11111111-2222-3333-4444-555555555555', cn: '李伟', employeeType: ['teacher'], employeeNumber: 'T1' }, base);
    expect(staff.record).toMatchObject({ contract: 'staff', data: { staffNumber: 'T1' } });
    const other = mapEntry({ dn: 'uid=bwilson,ou=People,dc=keycloak,dc=org', entryUUID: '11111111-2222-3333-4444-666666666666', cn: 'Bruce', sn: ['Wilson', 'Schneider'] }, base);
    expect(other.record).toMatchObject({ contract: 'person', data: { familyName: 'Wilson', extensions: { surnames: ['Wilson', 'Schneider'] } } });
  });

  it('skips entries no rule matches when there is no default contract', () => {
    expect(mapEntry({ dn: 'cn=x,dc=a', entryUUID: '11111111-2222-3333-4444-666666666666', cn: 'x' }, { ...base, contract: undefined })).toEqual({ problems: [] });
  });

  it('keys Active Directory entries by objectGUID bytes (C23) and refuses a text-decoded GUID', () => {
    const ad = { ...base, keyAttribute: 'objectGUID' as const };
    const ok = mapEntry({ dn: 'CN=Wang\\, Xiaoming,OU=Teachers,DC=school,DC=example', objectGUID: Buffer.from(c23.rawBytesHex!, 'hex'), cn: 'Wang, Xiaoming' }, ad);
    expect(ok.record?.key).toBe(c23.expectedGuidString);
    const mangled = mapEntry({ dn: 'CN=x', objectGUID: Buffer.from(c23.bytesAfterUtf8DecodeAndReencode!, 'hex'), cn: 'x' }, ad);
    expect(mangled.record).toBeUndefined();
    expect(mangled.problems[0]).toMatchObject({ code: 'LDAP_GUID_INVALID', file: 'CN=x', field: 'objectGUID' });
    expect(mapEntry({ dn: 'CN=y', objectGUID: 'text', cn: 'y' }, ad).problems[0]?.code).toBe('LDAP_GUID_INVALID');
  });

  it('reports an entry without a key instead of inventing one', () => {
    expect(mapEntry({ dn: 'uid=a,dc=x', cn: 'a' }, base).problems[0]).toMatchObject({ code: 'LDAP_KEY_MISSING', file: 'uid=a,dc=x' });
  });
});

describe('settings and run filter', () => {
  it('never pages larger than the server maximum (C22)', () => {
    expect(settingsOf({ url: 'ldap://127.0.0.1:389', baseDN: 'dc=x', pageSize: 5000, serverMaxPageSize: 1000 }).pageSize).toBe(1000);
    expect(settingsOf({ url: 'ldap://127.0.0.1:389', baseDN: 'dc=x' }).pageSize).toBe(500);
  });

  it('narrows a delta run to entries changed at or after the checkpoint', () => {
    const s = { filter: '(objectClass=inetOrgPerson)', timestampAttribute: 'modifyTimestamp' };
    expect(runFilter(s, undefined)).toBe('(objectClass=inetOrgPerson)');
    expect(runFilter(s, { timestamp: '20261203183017Z', boundary: {} })).toBe('(&(objectClass=inetOrgPerson)(modifyTimestamp>=20261203183017Z))');
    expect(runFilter(s, { timestamp: '2026)(uid=*', boundary: {} })).toBe('(&(objectClass=inetOrgPerson)(modifyTimestamp>=2026\\29\\28uid=\\2a))');
  });

  it('refuses a config without url or baseDN', () => {
    expect(() => settingsOf({ url: 'http://x', baseDN: 'dc=x' })).toThrow(/url/);
    expect(() => settingsOf({ url: 'ldap://x', baseDN: '' })).toThrow(/baseDN/);
  });
});
