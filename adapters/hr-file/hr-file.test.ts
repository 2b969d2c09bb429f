// hr-file on the real AdventureWorks HR export (examples/demo/data/adventureworks-hr), through the
// demo group's own adapter config: exact counts computed from the files, PII, terminators, encodings.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { parse } from 'yaml';
import { getSharedRegistry } from '../../core/contracts/index.ts';
import { silentLogger } from '../../core/logger.ts';
import type { PluginInstance, ReadBatch } from '../../core/plugins/types.ts';
import { readDelimited } from '../../core/ingest/delimited.ts';
import createHrFileAdapter, { type HrFileConfig } from './index.ts';
import { delimitedOptions, type HrTable } from './src/read.ts';

const here = dirname(fileURLToPath(import.meta.url));
const demo = join(here, '../../examples/demo');
const hrDir = join(demo, 'data/adventureworks-hr');
const registry = getSharedRegistry();

/** The enterprise member's hr-file config, exactly as the demo group declares it. */
function demoConfig(): HrFileConfig {
  const group = parse(readFileSync(join(demo, 'vochub.yaml'), 'utf8')) as { members: { type: string; adapters: { type: string; config: HrFileConfig }[] }[] };
  return group.members.find((m) => m.type === 'enterprise')!.adapters.find((a) => a.type === 'hr-file')!.config;
}

async function adapter(config: HrFileConfig, baseDir = demo): Promise<PluginInstance> {
  return createHrFileAdapter({ instance: 'hr', config, baseDir, dataDir: mkdtempSync(join(tmpdir(), 'vochub-hr-')), contracts: registry, logger: silentLogger });
}

async function readAll(instance: PluginInstance, checkpoint?: unknown) {
  const batches: ReadBatch[] = [];
  for await (const b of instance.read!({ mode: 'full', signal: new AbortController().signal, checkpoint })) batches.push(b);
  return { batches, records: batches.flatMap((b) => b.records), problems: batches.flatMap((b) => b.problems) };
}

describe('hr-file adapter', () => {
  it('imports every AdventureWorks employee (290, counted from the file) as valid employee records with the national ID as PII', async () => {
    const lines = readFileSync(join(hrDir, 'Employee.tsv'), 'utf8').split('\n').filter((l) => l !== '');
    const departments = readFileSync(join(hrDir, 'Department.tsv'), 'utf8').split('\n').filter((l) => l !== '').length;
    expect(lines).toHaveLength(290);
    const { records, problems, batches } = await readAll(await adapter(demoConfig()));
    expect(problems).toEqual([]);
    const employees = records.filter((r) => r.contract === 'employee');
    expect(employees).toHaveLength(lines.length);
    expect(records.filter((r) => r.contract === 'organization')).toHaveLength(departments);
    for (const r of records) expect(registry.validate(r.contract, r.data), `${r.contract} ${r.key}`).toEqual({ ok: true });
    const first = lines[0]!.split('\t');
    expect(employees[0]!.data).toMatchObject({
      id: first[0],
      employeeNumber: first[0],
      idNumber: first[1],
      idType: '9',
      username: first[2],
      jobTitle: 'Chief Executive Officer',
      birthDate: '1969-01-29',
      sex: '1',
      hireDate: '2009-01-14',
      salaried: true,
      status: 'active',
      dateLastModified: '2014-06-30T00:00:00.000+08:00',
      enterpriseId: '91330106MA2DEMAW1X',
      extensions: { MaritalStatus: 'S' },
    });
    expect(registry.get('employee').pii.map((p) => p.field)).toContain('idNumber');
    expect(batches.at(-1)!.complete!.sort()).toEqual(['employee', 'organization']);
    expect(batches.flatMap((b) => b.sources ?? [])).toEqual([
      { file: 'data/adventureworks-hr/Employee.tsv', encoding: 'utf-8', rows: 290 },
      { file: 'data/adventureworks-hr/Department.tsv', encoding: 'utf-8', rows: departments },
    ]);
  });

  it('reads the demo school-cooperation ledger (headered CSV, Chinese labels mapped) as valid enterprise, position, mentor and internship records', async () => {
    const group = parse(readFileSync(join(demo, 'vochub.yaml'), 'utf8')) as { members: { type: string; adapters: { name: string; config: HrFileConfig }[] }[] };
    const config = group.members.find((m) => m.type === 'enterprise')!.adapters.find((a) => a.name === 'internships')!.config;
    const { records, problems } = await readAll(await adapter(config));
    expect(problems).toEqual([]);
    const dataLines = (file: string): string[] => readFileSync(join(demo, file), 'utf8').split('\n').slice(1).filter((l) => l !== '');
    const counts = Object.fromEntries(config.tables.map((t) => [t.contract!, dataLines(t.file).length]));
    expect(counts.internship).toBeGreaterThan(20);
    for (const contract of Object.keys(counts)) expect(records.filter((r) => r.contract === contract), contract).toHaveLength(counts[contract]!);
    for (const r of records) expect(registry.validate(r.contract, r.data), `${r.contract} ${r.key}`).toEqual({ ok: true });
    const first = dataLines('data/enterprise-internships/internships.csv')[0]!.split(',');
    expect(records.find((r) => r.contract === 'internship')!.data).toEqual({
      id: first[0], studentId: first[1], schoolId: first[2], positionId: first[3], mentorId: first[4], startDate: first[5], endDate: first[6],
      type: { 认识实习: 'cognitive', 跟岗实习: 'shadowing', 岗位实习: 'placement' }[first[7]!], state: 'completed', agreementNumber: first[9], insured: true,
      enterpriseId: '91330106MA2DEMAW1X',
    });
    expect(records.find((r) => r.contract === 'enterprise')!.data).toMatchObject({ uscc: '91330106MA2DEMAW1X', industryCode: '3761', scale: 'medium', ownership: 'foreign-invested', cooperation: ['internship-base'] });
  });

  it('JobCandidate.tsv: field terminator +| and row terminator &|\\n keep the multi-line résumé XML in one field', async () => {
    const raw = readFileSync(join(hrDir, 'JobCandidate.tsv'), 'utf8');
    const expectedRows = raw.split('&|\n').filter((r) => r !== '').length;
    const table: HrTable = { file: 'JobCandidate.tsv', columns: ['JobCandidateID', 'BusinessEntityID', 'Resume', 'ModifiedDate'], delimiter: '+|', recordDelimiter: '&|\n', quote: 'none', key: 'JobCandidateID', fields: {} };
    const rows: Record<string, string>[] = [];
    for await (const item of readDelimited(join(hrDir, 'JobCandidate.tsv'), delimitedOptions(table, 'JobCandidate.tsv'))) {
      expect(item.kind === 'problem' ? item.problem : undefined).toBeUndefined();
      if (item.kind === 'row') rows.push(item.row.values);
    }
    expect(rows).toHaveLength(expectedRows);
    expect(expectedRows).toBe(13);
    expect(rows[0]!.JobCandidateID).toBe('1');
    expect(rows[0]!.Resume).toMatch(/^<ns:Resume [\s\S]*\n[\s\S]*<\/ns:Resume>$/);
    expect(rows.every((r) => /^\d{4}-\d{2}-\d{2} /.test(r.ModifiedDate!))).toBe(true);
    const discovered = await (await adapter({ tables: [table] }, hrDir)).discover!();
    expect(discovered).toEqual([{ name: 'JobCandidate.tsv', count: 13, detail: 'utf-8' }]);
  });

  it('reads the same export saved as UTF-16LE (BOM) and GB18030, and a damaged copy row by row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-hr-enc-'));
    const text = readFileSync(join(hrDir, 'Employee.tsv'), 'utf8').split('\n').slice(0, 5).join('\n') + '\n';
    writeFileSync(join(dir, 'utf16.tsv'), Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(text, 'utf-16le')]));
    // A Chinese HR system's GB18030 export: same rows, a Chinese job title.
    writeFileSync(join(dir, 'gb.tsv'), iconv.encode(text.replace('Chief Executive Officer', '首席执行官'), 'gb18030'));
    // Damage: a bad birth date, an unknown gender code, a duplicated key.
    const damaged = text.replace('1969-01-29', '1969-02-30').replace('\tS\tF\t2008-01-31', '\tS\tX\t2008-01-31') + text.split('\n')[0] + '\n';
    writeFileSync(join(dir, 'damaged.tsv'), damaged);
    const base = demoConfig().tables[0]!;
    const results: Record<string, Awaited<ReturnType<typeof readAll>>> = {};
    for (const file of ['utf16.tsv', 'gb.tsv', 'damaged.tsv']) results[file] = await readAll(await adapter({ tables: [{ ...base, file }] }, dir));
    expect(results['utf16.tsv']!.records.map((r) => r.data.idNumber)).toEqual(text.trim().split('\n').map((l) => l.split('\t')[1]));
    expect(results['utf16.tsv']!.batches.flatMap((b) => b.sources ?? [])[0]).toMatchObject({ encoding: 'utf-16le', rows: 5 });
    expect(results['gb.tsv']!.records[0]!.data.jobTitle).toBe('首席执行官');
    expect(results['gb.tsv']!.batches.flatMap((b) => b.sources ?? [])[0]).toMatchObject({ encoding: 'gb18030' });
    expect(results['damaged.tsv']!.problems.map((p) => [p.code, p.line, p.column])).toEqual([
      ['DATE_INVALID', 1, 'BirthDate'],
      ['VALUE_UNMAPPED', 2, 'Gender'],
      ['HR_KEY_DUPLICATE', 6, 'BusinessEntityID'],
    ]);
    expect(results['damaged.tsv']!.records.map((r) => r.key)).toEqual(['3', '4', '5']);
  });

  it('resumes after a checkpoint with only the later rows', async () => {
    const config = { ...demoConfig(), batchSize: 100 };
    const full = await readAll(await adapter(config));
    const cut = full.batches[1]!.checkpoint as { table: number; line: number };
    expect(cut).toEqual({ table: 0, line: 200 });
    const resumed = await readAll(await adapter(config), cut);
    expect(resumed.records.map((r) => r.key)).toEqual(full.records.filter((r) => r.contract !== 'employee' || r.location!.line! > 200).map((r) => r.key));
  });
});
