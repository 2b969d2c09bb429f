import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContractInfo } from '../../../core/contracts/types.ts';
import { canonicalJson, loadVault, maskValue } from '../../../core/security/pii.ts';

// The person contract's PII classes as architecture.md lists them (data, not a stand-in for the registry).
const person: ContractInfo = {
  name: 'person', version: 1, $id: 'urn:vochub:contract:person:1', title: 'Person', keyField: 'id', file: 'contracts/person.v1.schema.json',
  pii: [
    { field: 'name', class: 'name' }, { field: 'birthDate', class: 'birth-date' }, { field: 'idNumber', class: 'id-number' },
    { field: 'phone', class: 'phone' }, { field: 'email', class: 'email' }, { field: 'address', class: 'address' },
  ],
};

const record = {
  id: 'S2023001', name: '王小明', sex: '1', birthDate: '2006-03-07', idNumber: '11010120060307123X',
  phone: '13812345678', email: 'wang@example.com', address: '浙江省杭州市西湖区文三路 1 号', ethnicity: '01',
  extensions: { dorm: 'A-101' },
};

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('PII vault', () => {
  const vault = loadVault({ masterKey: randomBytes(32) });

  it('splits x-pii fields into one ciphertext and reveals the same record', () => {
    const p = vault.protect(person, record);
    expect(Object.keys(p.data).sort()).toEqual(['ethnicity', 'extensions', 'id', 'sex']);
    expect(p.pii).toMatch(/^v1\.[A-Za-z0-9+/]+=*$/);
    expect(p.pii).not.toContain('11010120060307123X');
    expect(vault.reveal({ data: p.data, pii: p.pii })).toEqual(record);
  });

  it('leaves pii null for a record without PII fields', () => {
    const p = vault.protect(person, { id: 'x', sex: '2' });
    expect(p.pii).toBeNull();
    expect(p.lookup).toEqual({});
    expect(vault.reveal({ data: p.data, pii: p.pii })).toEqual({ id: 'x', sex: '2' });
  });

  it('uses a fresh IV per encryption so equal plaintexts differ', () => {
    expect(vault.encryptText('same')).not.toBe(vault.encryptText('same'));
  });

  it('refuses a ciphertext with any flipped byte (GCM tag check)', () => {
    const ct = vault.encryptText('11010120060307123X');
    const raw = Buffer.from(ct.slice(3), 'base64');
    for (const index of [0, 12, 28, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[index] = bad[index]! ^ 0x01;
      expect(() => vault.decryptText('v1.' + bad.toString('base64'))).toThrow(expect.objectContaining({ code: 'PII_DECRYPT_FAILED' }));
    }
    expect(() => vault.decryptText('v9.' + raw.toString('base64'))).toThrow(expect.objectContaining({ code: 'PII_FORMAT_UNKNOWN' }));
    expect(() => vault.decryptText('v1.AAAA')).toThrow(expect.objectContaining({ code: 'PII_DECRYPT_FAILED' }));
  });

  it('cannot decrypt with another master key', () => {
    const other = loadVault({ masterKey: randomBytes(32) });
    expect(() => other.decryptText(vault.encryptText('secret'))).toThrow(expect.objectContaining({ code: 'PII_DECRYPT_FAILED' }));
  });

  it('computes lookups that match across case, width and formatting of the same value', () => {
    const a = vault.protect(person, { id: '1', idNumber: '11010120060307123x', phone: '+86 138-1234-5678', email: ' Wang@Example.com' });
    const b = vault.protect(person, { id: '2', idNumber: '11010120060307123Ｘ', phone: '13812345678', email: 'wang@example.com' });
    expect(Object.keys(a.lookup).sort()).toEqual(['email', 'idNumber', 'phone']);
    expect(a.lookup).toEqual(b.lookup);
    expect(a.lookup.idNumber).toBe(vault.lookupHash('idNumber', '11010120060307123X'));
    expect(JSON.stringify(a.lookup)).not.toContain('110101');
  });

  it('hashes content independent of key order and sensitive to any change', () => {
    const reordered = Object.fromEntries(Object.entries(record).reverse());
    expect(vault.protect(person, reordered).hash).toBe(vault.protect(person, record).hash);
    expect(vault.protect(person, { ...record, phone: '13812345679' }).hash).not.toBe(vault.protect(person, record).hash);
    expect(vault.protect(person, { ...record, extensions: { dorm: 'A-102' } }).hash).not.toBe(vault.protect(person, record).hash);
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it('derives separate sub-keys: a lookup is not the content hash of the same text', () => {
    const other = loadVault({ masterKey: randomBytes(32) });
    expect(other.lookupHash('idNumber', 'X')).not.toBe(vault.lookupHash('idNumber', 'X'));
    expect(vault.lookupHash('phone', '1')).not.toBe(vault.lookupHash('idNumber', '1'));
  });
});

describe('masking by PII class', () => {
  const vault = loadVault({ masterKey: randomBytes(32) });

  it('masks every class of a record the documented way', () => {
    const masked = vault.mask(person, record);
    expect(masked).toEqual({
      ...record,
      name: '王**', birthDate: '2006-**-**', idNumber: '110101********123X', phone: '138****5678',
      email: 'w***@example.com', address: '浙江省杭州市***',
    });
  });

  it('masks short and odd values completely instead of revealing most of them', () => {
    expect(maskValue('id-number', '110101680512123')).toBe('110101*****2123');
    expect(maskValue('id-number', '12345')).toBe('*****');
    expect(maskValue('phone', '1234567')).toBe('*******');
    expect(maskValue('email', 'no-at-sign')).toBe('***');
    expect(maskValue('birth-date', '07/03/2006')).toBe('***');
    expect(maskValue('name', '李')).toBe('*');
    expect(maskValue('address', '北京')).toBe('北***');
    expect(maskValue('other', 'anything')).toBe('***');
    expect(maskValue('phone', 13812345678)).toBe('***');
  });

  it('counts characters, not UTF-16 units, so a non-BMP name is never split', () => {
    expect(maskValue('name', '𠮷野家')).toBe('𠮷**');
    expect(maskValue('name', '王𠮷')).toBe('王*');
  });
});

describe('master key resolution', () => {
  it('reads VOCHUB_MASTER_KEY and refuses a key of the wrong length', () => {
    const key = randomBytes(32).toString('base64');
    const a = loadVault({ env: { VOCHUB_MASTER_KEY: key } });
    const b = loadVault({ env: { VOCHUB_MASTER_KEY: key } });
    expect(b.decryptText(a.encryptText('x'))).toBe('x');
    expect(() => loadVault({ env: { VOCHUB_MASTER_KEY: randomBytes(16).toString('base64') } }))
      .toThrow(expect.objectContaining({ code: 'MASTER_KEY_INVALID' }));
  });

  it('refuses to start without a key unless the demo key may be generated', () => {
    expect(() => loadVault({ env: {} })).toThrow(expect.objectContaining({ code: 'MASTER_KEY_MISSING' }));
  });

  it('generates the demo key once with mode 0600 and reuses it', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vochub-key-'));
    dirs.push(dataDir);
    const first = loadVault({ env: {}, dataDir, generateIfMissing: true });
    const file = join(dataDir, 'secrets', 'master.key');
    expect(first.source).toBe('generated');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    const second = loadVault({ env: {}, dataDir, generateIfMissing: true });
    expect(second.source).toBe('data-dir');
    expect(second.decryptText(first.encryptText('再见'))).toBe('再见');
    const viaFile = loadVault({ env: { VOCHUB_MASTER_KEY_FILE: file } });
    expect(viaFile.decryptText(first.encryptText('ok'))).toBe('ok');
  });
});
