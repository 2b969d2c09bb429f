// The code registry: national tables with versions, GB/T 2260 diffs that match the upstream diff
// files, GB/T 4754 repaired by hierarchy, the operator-loaded 专业目录 (synthetic sample), and
// crosswalks in the namespace/value → mappedNamespace/mappedValue shape (Ed-Fi's real seed file).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CATALOGUE_TABLE, CodeRegistry, educationLevelOf } from '../../../core/contracts/code-registry.ts';
import { repairGb4754 } from '../../../core/contracts/code-tables.ts';
import { parse } from 'csv-parse/sync';

const sample = (name: string) => readFileSync(new URL(`../../../plugins/codes/samples/${name}`, import.meta.url), 'utf8');
const diffFile = (name: string) => readFileSync(new URL(`./fixtures/gb2260-diff/${name}`, import.meta.url), 'utf8');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vochub-codes-'));
  dirs.push(d);
  return d;
};

describe('national tables', () => {
  const registry = new CodeRegistry();

  it('lists every table with its edition and size, the catalogue as operator-loaded', () => {
    const byName = Object.fromEntries(registry.list().map((t) => [t.name, t]));
    for (const name of ['GB2260', 'GB3304', 'GB2261.1', 'GB4762', 'GB4763', 'GB6864', 'GB4754', 'ISO3166-1', CATALOGUE_TABLE]) expect(byName[name], name).toBeDefined();
    expect(byName.GB2260).toMatchObject({ kind: 'effective-dated', current: 3213, origin: 'repository' });
    expect(byName.GB4762).toMatchObject({ version: 'GB/T 4762-1984', current: 13 });
    expect(byName[CATALOGUE_TABLE]).toMatchObject({ kind: 'catalogue', origin: 'operator', current: 0 });
  });

  it('GB/T 4762 政治面貌 resolves full and short labels', () => {
    expect(registry.codeOf('GB4762', '共青团员')).toBe('03');
    expect(registry.codeOf('GB4762', '中国共产党预备党员')).toBe('02');
    expect(registry.codeOf('GB4762', '群众')).toBe('13');
  });

  it('GB/T 2260: query by date, label → code only while the label was in force, history with successors', () => {
    expect(registry.query('GB2260', { q: '1101', at: '2005-06-01' }).map((e) => e.code)).toContain('110103');
    expect(registry.query('GB2260', { q: '1101' }).map((e) => e.code)).not.toContain('110103');
    expect(registry.codeOf('GB2260', '崇文区', '2005-06-01')).toBe('110103');
    expect(registry.codeOf('GB2260', '崇文区', '2015-06-01')).toBeUndefined();
  });

  it.each([
    ['2021-2022.diff', 2021, 2022],
    ['2022-2023.diff', 2022, 2023],
    ['2023-2024.diff', 2023, 2024],
  ])('GB/T 2260 diff %s: codes added and retired are exactly those of the upstream diff file', (file, from, to) => {
    const text = diffFile(file);
    const plus = [...text.matchAll(/^\+(\d{6})/gm)].map((m) => m[1]).sort();
    const minus = [...text.matchAll(/^-(\d{6})/gm)].map((m) => m[1]).sort();
    const d = registry.diff('GB2260', `${from}-12-31`, `${to}-12-31`);
    expect(d.added.map((e) => e.code)).toEqual(plus);
    expect(d.removed.map((e) => e.code)).toEqual(minus);
    for (const e of d.removed) expect(e.successors?.length ?? 0).toBeGreaterThan(0);
  });

  it('GB/T 4754: leading zeros restored by depth in the hierarchy, every child under its parent', () => {
    const t = registry.table('GB4754');
    expect(t.get('01')).toMatchObject({ label: '农业', level: '大类', parent: 'A' });
    expect(t.get('011')).toMatchObject({ label: '谷物种植', level: '中类', parent: '01' });
    expect(t.get('0111')).toMatchObject({ label: '稻谷种植', level: '小类', parent: '011' });
    expect(t.get('8053')).toMatchObject({ label: '养生保健服务', parent: '805' });
    expect(t.get('1')).toBeUndefined();
    expect([...t.entries()]).toHaveLength(1970);
  });

  it('GB/T 4754 repair refuses a file whose repaired codes break the hierarchy', () => {
    const rows = parse(readFileSync(new URL('../../../contracts/code-tables/GB-4754-2017.csv', import.meta.url)), { columns: true, bom: true }) as Record<string, string>[];
    const broken = rows.map((r) => (r.code === '111' ? { ...r, code: '121' } : r));
    expect(() => repairGb4754(broken)).toThrow(/does not start with its parent/);
  });
});

describe('职业教育专业目录 (operator-loaded; SYNTHETIC sample)', () => {
  it('derives the education level from the 专业大类: 21–39 本科, 41–59 专科, 61–79 中职', () => {
    expect(educationLevelOf('310201')).toBe('gaozhi-benke');
    expect(educationLevelOf('510201')).toBe('gaozhi-zhuanke');
    expect(educationLevelOf('660301')).toBe('zhongzhi');
    expect(educationLevelOf('800101')).toBeUndefined();
    expect(educationLevelOf('190101')).toBeUndefined();
  });

  it('loads the base edition and a yearly addition; adds, renames and retirements are effective-dated and diffable', () => {
    const dir = tempDir();
    const registry = new CodeRegistry({ dataDir: dir });
    const base = registry.loadCatalogue(sample('vocational-catalogue.SYNTHETIC.csv'), 'vocational-catalogue.SYNTHETIC.csv');
    expect(base).toMatchObject({ rows: 29, loaded: 29, problems: [] });
    const t = registry.table(CATALOGUE_TABLE);
    expect(t.get('660301')).toMatchObject({ level: '专业', educationLevel: 'zhongzhi', parent: '6603', catalogVersion: '2021' });
    expect(t.get('4603')).toMatchObject({ level: '专业类', educationLevel: 'gaozhi-zhuanke' });
    const additions = registry.loadCatalogue(sample('vocational-catalogue-additions-2023.SYNTHETIC.csv'), 'additions-2023.csv');
    expect(additions).toMatchObject({ loaded: 3, problems: [] });
    expect(t.has('460301')).toBe(false);
    expect(t.has('460301', '2022-06-01')).toBe(true);
    expect(t.has('460301', '2024-01-01')).toBe(false);
    const d = registry.diff(CATALOGUE_TABLE, '2022-12-31', '2023-12-31');
    expect(d.added.map((e) => e.code)).toEqual(['510202']);
    expect(d.removed.map((e) => e.code)).toEqual(['460301']);
    expect(d.renamed).toEqual([{ code: '460302', fromLabel: '（合成样例）高职机电专业乙', toLabel: '（合成样例）高职机电专业乙（2023更名）' }]);
    // Kept in the data folder: a new registry over the same folder sees the same catalogue.
    const again = new CodeRegistry({ dataDir: dir });
    expect(again.table(CATALOGUE_TABLE).has('510202')).toBe(true);
    expect(again.list().find((x) => x.name === CATALOGUE_TABLE)!.files).toEqual(['vocational-catalogue.SYNTHETIC.csv', 'additions-2023.csv']);
  });

  it('bad rows become problems with line and field; good rows load', () => {
    const registry = new CodeRegistry();
    const text = ['专业代码,专业名称,目录版本,变更', '66,大类,2021,', '6603,类,2021,', '660301,专业甲,2021,', '66031,五位,2021,', '800101,越界,2021,', '660399,无上级？,20x1,', '6699,,2021,', '660301,重复,2021,', '670101,缺上级,2021,', '660302,停招,2021,撤销'].join('\n');
    const r = registry.loadCatalogue(text, 'bad.csv');
    expect(r.loaded).toBe(3);
    expect(r.problems.map((p) => [p.line, p.code])).toEqual([
      [5, 'CATALOGUE_CODE_FORMAT'], [6, 'CATALOGUE_LEVEL_RANGE'], [7, 'CATALOGUE_VERSION'], [8, 'CATALOGUE_NAME'], [9, 'CATALOGUE_DUPLICATE'], [10, 'CATALOGUE_PARENT_MISSING'], [11, 'CATALOGUE_NOT_IN_USE'],
    ]);
  });

  it('a file without code and name columns is refused as a whole', () => {
    expect(() => new CodeRegistry().loadCatalogue('a,b\n1,2\n', 'x.csv')).toThrow(expect.objectContaining({ code: 'CODES_FILE_INVALID' }));
  });
});

describe('crosswalks', () => {
  it('the Ed-Fi → OneRoster descriptor mappings (a real maintained crosswalk) are looked up by namespace and value', () => {
    const registry = new CodeRegistry();
    const hits = registry.crosswalk('uri://ed-fi.org/SexDescriptor', 'Female');
    expect(hits).toEqual([expect.objectContaining({ mappedNamespace: 'uri://1edtech.org/oneroster12/SexDescriptor', mappedValue: 'female' })]);
    expect(registry.crosswalkSets().map((s) => s.set)).toContain('builtin:edfi-oneroster12-descriptor-mappings');
  });

  it('the GB/T 3304 extension variants are crosswalks into GB3304', () => {
    expect(new CodeRegistry().crosswalk('GB3304:variant-C', '57', 'GB3304')).toEqual([expect.objectContaining({ mappedValue: '97' })]);
  });

  it('a member crosswalk loads, persists, replaces by name, and refuses targets not in our tables and ambiguous rows', () => {
    const dir = tempDir();
    const registry = new CodeRegistry({ dataDir: dir });
    const r = registry.loadCrosswalk(sample('member-local-crosswalk.SAMPLE.csv'), 'roster-3133010103', 'csv');
    expect(r).toMatchObject({ rows: 6, loaded: 6, problems: [] });
    expect(registry.crosswalk('urn:member:3133010103:民族', '穿青人')).toEqual([expect.objectContaining({ mappedNamespace: 'GB3304', mappedValue: '97' })]);
    expect(new CodeRegistry({ dataDir: dir }).crosswalk('urn:member:3133010103:政治面貌', '团员')[0]?.mappedValue).toBe('03');
    const bad = registry.loadCrosswalk('namespace,value,mappedNamespace,mappedValue\nx,1,GB3304,99\nx,2,GB3304,01\nx,2,GB3304,02\nx,3,,\n', 'roster-3133010103', 'csv');
    expect(bad.problems.map((p) => p.code).sort()).toEqual(['CROSSWALK_AMBIGUOUS', 'CROSSWALK_ROW_INVALID', 'CROSSWALK_TARGET_UNKNOWN']);
    // Replaced: the old rows are gone.
    expect(registry.crosswalk('urn:member:3133010103:民族', '穿青人')).toEqual([]);
  });
});
