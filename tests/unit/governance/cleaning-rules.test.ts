// Cleaning rules are data (contracts/cleaning-rules.json): which transform applies to which contract
// field, in what order. Every change is counted under its rule, and the counts stay with the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../core/config/load.ts';
import { loadContracts } from '../../../core/contracts/registry.ts';
import { silentLogger } from '../../../core/logger.ts';
import { cleanRecord, cleaningRules, CLEANING_TRANSFORMS, loadCleaningRules, parseCleaningRules, type CleaningRules } from '../../../core/pipeline/clean.ts';
import { runImport } from '../../../core/pipeline/import-run.ts';
import { discoverPlugins, loadInstances } from '../../../core/plugins/host.ts';
import { loadVault } from '../../../core/security/pii.ts';
import { openSqliteStore } from '../../../core/store/sqlite.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the rules file', () => {
  it('names each rule, its transform and its fields; every transform the pipeline has is used', () => {
    const rules = loadCleaningRules();
    expect(rules.rules.map((r) => r.name)).toEqual(['trim', 'trim-multiline', 'empty-to-absent', 'nfkc', 'name-separator', 'id-number-case', 'phone-format', 'date-format']);
    expect(new Set(rules.rules.map((r) => r.transform))).toEqual(new Set(CLEANING_TRANSFORMS));
    expect(cleaningRules()).toEqual(rules);
  });

  it('is refused when broken: unknown transform, repeated name, no fields', () => {
    const bad = (doc: unknown) => () => parseCleaningRules(doc, 'test');
    expect(bad({ rules: [{ name: 'x', transform: 'soundex', fields: ['name'] }] })).toThrow(expect.objectContaining({ code: 'CLEANING_RULES_INVALID' }));
    expect(bad({ rules: [{ name: 'x', transform: 'nfkc', fields: ['a'] }, { name: 'x', transform: 'nfkc', fields: ['b'] }] })).toThrow(/repeats/);
    expect(bad({ rules: [{ name: 'x', transform: 'nfkc', fields: [] }] })).toThrow(/fields/);
    expect(bad({})).toThrow(/rules/);
  });
});

describe('cleanRecord with rules as data', () => {
  it('normalises year-first dates and leaves unreadable ones for validation to report', () => {
    const r = cleanRecord({ id: '1', birthDate: '2007年10月1日', enrolmentDate: '2023/9/1', hireDate: '2023.09.01', endDate: '2023-13-45' });
    expect(r.data).toMatchObject({ birthDate: '2007-10-01', enrolmentDate: '2023-09-01', hireDate: '2023-09-01', endDate: '2023-13-45' });
    expect(r.changes['date-format']).toBe(3);
  });

  it('applies a rule only to the contracts it names, and only what the file lists', () => {
    const rules: CleaningRules = parseCleaningRules({
      version: 1,
      rules: [
        { name: 'trim', transform: 'whitespace', fields: ['*'] },
        { name: 'student-code-nfkc', transform: 'nfkc', fields: ['*Code'], contracts: ['student'] },
      ],
    });
    const data = { id: '1', programCode: '６６０３０１', studentNumber: 'ＳＴ１' };
    expect(cleanRecord(data, { rules, contract: 'student' }).data).toEqual({ id: '1', programCode: '660301', studentNumber: 'ＳＴ１' });
    expect(cleanRecord(data, { rules, contract: 'student' }).changes).toEqual({ 'student-code-nfkc': 1 });
    expect(cleanRecord(data, { rules, contract: 'program' }).data.programCode).toBe('６６０３０１');
    // Without the rules file's empty-to-absent rule, an empty string stays.
    expect(cleanRecord({ id: '1', email: ' ' }, { rules }).data).toEqual({ id: '1', email: '' });
  });
});

describe('cleaning counts are kept with the import run', () => {
  it('an Ed-Fi run records per rule how many fields the pipeline changed, and a reopened store still has them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-clean-'));
    dirs.push(dir);
    const contracts = loadContracts();
    const plugins = discoverPlugins({ roots: [resolve(repoRoot, 'adapters')] });
    // The demo's Ed-Fi export: its telephone numbers are written "(555) 555-1234", which the phone rule compacts.
    const [edfi] = await loadInstances(
      [{ kind: 'adapter', type: 'edfi-xml', instance: 'sis-edfi', member: '4133010101', path: 'test', config: { path: 'data/edfi-grand-bend' } }],
      { plugins, contracts, logger: silentLogger, baseDir: resolve(repoRoot, 'examples/demo'), dataDir: dir },
    );
    const file = join(dir, 'vochub.db');
    const store = await openSqliteStore({ file });
    await store.migrate();
    const run = await runImport({ store, contracts, vault: loadVault({ masterKey: Buffer.alloc(32, 3) }), logger: silentLogger }, { member: '4133010101', adapter: 'sis-edfi', instance: edfi!.instance });
    expect(run.status).toBe('succeeded');
    expect(run.cleaning?.['phone-format']).toBeGreaterThan(0);
    for (const rule of Object.keys(run.cleaning ?? {})) expect(cleaningRules().rules.map((r) => r.name)).toContain(rule);
    await store.close();
    const reopened = await openSqliteStore({ file });
    await reopened.migrate();
    expect((await reopened.getRun(run.id))!.cleaning).toEqual(run.cleaning);
    await reopened.close();
  });
});
