// The ldap-directory adapter against a real OpenLDAP (Debian slapd started by scripts/services/slapd.sh on
// 127.0.0.1:3890, loaded with the Futurama and Keycloak LDIFs and a generated Chinese directory).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveSecrets } from '../../core/plugins/secrets.ts';
import type { ReadBatch } from '../../core/plugins/types.ts';
import createLdapDirectoryAdapter, { type LdapDirectoryConfig } from '../../adapters/ldap-directory/index.ts';
import { buildFilter } from '../../adapters/ldap-directory/src/escape.ts';

const root = new URL('../../', import.meta.url).pathname;
const DIR = process.env.SLAPD_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vochub', 'slapd');
const URL_ = `ldap://127.0.0.1:${process.env.SLAPD_PORT ?? '3890'}`;
const schema = JSON.parse(readFileSync(join(root, 'adapters/ldap-directory/config.schema.json'), 'utf8')) as unknown;
const fixtures = join(root, 'adapters/ldap-directory/fixtures/ldap');

beforeAll(() => {
  execFileSync(join(root, 'scripts/services/slapd.sh'), ['up'], { stdio: ['ignore', 'inherit', 'inherit'] });
});

/** The config as the hub gives it: the bind password is a ${file:…} reference, resolved like any plugin secret. */
function configFor(partial: Omit<LdapDirectoryConfig, 'url'> & { bindDN: string }): LdapDirectoryConfig {
  const raw = { url: URL_, bindPassword: `\${file:${join(DIR, 'admin.password')}}`, ...partial };
  return resolveSecrets(raw, schema, { env: process.env, baseDir: root, path: 'test' }) as LdapDirectoryConfig;
}

async function run(config: LdapDirectoryConfig, mode: 'full' | 'delta', checkpoint?: unknown) {
  const adapter = await createLdapDirectoryAdapter({ instance: 'ldap', config, baseDir: root, dataDir: root, contracts: undefined as never, logger: undefined as never });
  const batches: ReadBatch[] = [];
  for await (const b of adapter.read!({ mode, checkpoint, signal: new AbortController().signal })) batches.push(b);
  const last = batches.at(-1)!;
  return { records: batches.flatMap((b) => b.records), problems: batches.flatMap((b) => b.problems), checkpoint: last.checkpoint, complete: last.complete };
}

/** Entries of object class inetOrgPerson in LDIF text (folded lines and base64 values left alone). */
function countPeople(ldif: string): number {
  return ldif.split(/\n\s*\n/).filter((block) => /^objectclass:\s*inetOrgPerson\s*$/im.test(block)).length;
}

const futurama = () =>
  configFor({ bindDN: 'cn=admin,dc=planetexpress,dc=com', baseDN: 'ou=people,dc=planetexpress,dc=com', contract: 'person', pageSize: 3, batchSize: 4 });

describe('ldap-directory against slapd', () => {
  it('refuses a literal bind password in the config', () => {
    expect(() => resolveSecrets({ url: URL_, baseDN: 'dc=x', bindPassword: 'hunter2' }, schema, { env: {}, baseDir: root, path: 'test' })).toThrow(/CONFIG_INLINE_SECRET|inline secret/);
  });

  it('full sync of the Futurama and Keycloak LDIFs yields one record per person entry, keyed by entryUUID, and declares completeness', async () => {
    const planet = await run(futurama(), 'full');
    const expected = ['00_people.ldif', 'amy', 'bender', 'fry', 'hermes', 'leela', 'professor', 'zoidberg']
      .map((f) => readFileSync(join(fixtures, f.endsWith('.ldif') ? f : `10_people_${f}.ldif`), 'utf8'))
      .reduce((n, text) => n + countPeople(text), 0);
    expect(expected).toBe(7);
    expect(planet.records).toHaveLength(expected);
    expect(new Set(planet.records.map((r) => r.key)).size).toBe(expected);
    for (const r of planet.records) expect(r.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(planet.records.find((r) => r.data.username === 'fry')?.data).toMatchObject({ name: 'Philip J. Fry', email: 'fry@planetexpress.com' });
    expect(planet.complete).toEqual(['person']);
    expect(planet.problems).toEqual([]);

    const keycloak = await run(configFor({ bindDN: 'cn=admin,dc=keycloak,dc=org', baseDN: 'dc=keycloak,dc=org', contract: 'person', attributes: { name: 'cn', familyName: 'sn', 'extensions.sn': 'sn', username: 'uid' } }), 'full');
    expect(keycloak.records).toHaveLength(countPeople(readFileSync(join(fixtures, 'keycloak-default-users.ldif'), 'utf8')));
    expect(keycloak.records.find((r) => r.data.username === 'bwilson')?.data).toMatchObject({ familyName: 'Wilson', extensions: { sn: ['Wilson', 'Schneider'] } });
  });

  it('full sync of the generated Chinese directory pages through every entry and maps teachers to staff, students to student', async () => {
    const expected = countPeople(readFileSync(join(DIR, 'vochub-cn.ldif'), 'utf8'));
    expect(expected).toBeGreaterThan(10_000);
    const result = await run(
      configFor({
        bindDN: 'cn=admin,dc=vochub,dc=cn',
        baseDN: 'dc=vochub,dc=cn',
        pageSize: 5000,
        serverMaxPageSize: 1000,
        contract: null,
        rules: [
          { contract: 'staff', attribute: 'employeeType', equals: 'teacher', attributes: { staffNumber: 'employeeNumber' } },
          { contract: 'student', dnSuffix: 'ou=学生,ou=金华职业技术学院,dc=vochub,dc=cn', attributes: { studentNumber: 'employeeNumber' }, defaults: { schoolId: 'JHC' } },
          { contract: 'student', attribute: 'employeeType', equals: 'student', attributes: { studentNumber: 'employeeNumber' } },
        ],
      }),
      'full',
    );
    expect(result.problems).toEqual([]);
    expect(result.records).toHaveLength(expected);
    expect(new Set(result.records.map((r) => r.key)).size).toBe(expected);
    const staff = result.records.filter((r) => r.contract === 'staff');
    expect(staff).toHaveLength(Math.ceil(expected / 10));
    const jhcStudent = result.records.find((r) => r.contract === 'student' && r.data.schoolId === 'JHC')!;
    expect(jhcStudent.location?.file).toMatch(/^uid=s\w+,ou=学生,ou=金华职业技术学院,dc=vochub,dc=cn$/);
    expect(jhcStudent.data.name).toMatch(/^[\u4e00-\u9fff]{2,3}$/);
    expect(result.complete).toEqual(['staff', 'student']);
  });

  it('C22: a search the server truncates is reported partial and declares no completeness', async () => {
    const result = await run(configFor({ bindDN: 'cn=limited,dc=vochub,dc=cn', baseDN: 'dc=vochub,dc=cn', contract: 'person', pageSize: 20 }), 'full');
    expect(result.problems.map((p) => p.code)).toContain('LDAP_SIZE_LIMIT');
    expect(result.complete).toBeUndefined();
    expect(result.checkpoint).toBeUndefined();
    expect(result.records.length).toBeLessThan(10_000);
  });

  it('a delta run after ldapmodify picks up only the changed entry', async () => {
    const full = await run(futurama(), 'full');
    expect(full.checkpoint).toBeDefined();
    const marker = `delta-${Date.now()}`;
    execFileSync('ldapmodify', ['-x', '-H', URL_, '-D', 'cn=admin,dc=planetexpress,dc=com', '-y', join(DIR, 'admin.password')], {
      input: `dn: cn=Hermes Conrad,ou=people,dc=planetexpress,dc=com\nchangetype: modify\nreplace: displayName\ndisplayName: ${marker}\n`,
    });
    const delta = await run({ ...futurama(), attributes: { name: 'cn', username: 'uid', 'extensions.displayName': 'displayName' } }, 'delta', full.checkpoint);
    expect(delta.records.map((r) => r.data.username)).toEqual(['hermes']);
    expect((delta.records[0]!.data.extensions as Record<string, unknown>).displayName).toBe(marker);
    expect(delta.complete).toBeUndefined();
    const again = await run(futurama(), 'delta', delta.checkpoint);
    expect(again.records).toEqual([]);
  });

  it('C26: injection login names find nothing in the directory, the plain name finds one entry', async () => {
    const names = readFileSync(join(root, 'tests/fixtures/cases/C26-ldap-filter-injection.txt'), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.replaceAll('t2015003', 'fry'));
    const client = new Client({ url: URL_ });
    await client.bind('cn=admin,dc=planetexpress,dc=com', readFileSync(join(DIR, 'admin.password'), 'utf8'));
    try {
      const find = async (username: string) => {
        const filter = buildFilter('(&(objectClass=inetOrgPerson)(uid={{username}}))', { username });
        if (!filter.ok) return -1;
        return (await client.search('dc=planetexpress,dc=com', { filter: filter.value, attributes: ['1.1'] })).searchEntries.length;
      };
      expect(await find('fry')).toBe(1);
      for (const name of names) expect(await find(name), JSON.stringify(name)).toBe(0);
    } finally {
      await client.unbind();
    }
  });
});
