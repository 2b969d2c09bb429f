import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Problem } from '../../core/errors.ts';
import { getSharedRegistry } from '../../core/contracts/index.ts';
import { silentLogger } from '../../core/logger.ts';
import type { PluginInstance, ReadBatch, SourceRecord } from '../../core/plugins/types.ts';
import createRosterFileAdapter, { type RosterFileConfig } from './index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const demoDir = join(repo, 'examples/demo/data/zhongzhi-roster');

interface DamageEntry {
  line: number;
  key: string;
  kind: string;
  code: string | null;
  severity: 'error' | 'warning' | null;
  column: string;
}

const studentColumns: RosterFileConfig['columns'] = {
  学号: 'studentNumber',
  姓名: 'name',
  性别: 'sex',
  民族: 'ethnicity',
  身份证号: 'idNumber',
  出生日期: 'birthDate',
  入学日期: 'enrolmentDate',
  班级: 'classId',
  专业代码: 'programCode',
  联系电话: 'phone',
  学籍状态: 'enrolmentStatus',
};

async function adapter(config: RosterFileConfig, baseDir = demoDir): Promise<PluginInstance> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vochub-roster-'));
  return createRosterFileAdapter({ instance: 'test', config, baseDir, dataDir, contracts: getSharedRegistry(), logger: silentLogger });
}

async function readAll(instance: PluginInstance, checkpoint?: unknown) {
  const batches: ReadBatch[] = [];
  for await (const b of instance.read!({ mode: 'full', signal: new AbortController().signal, checkpoint })) batches.push(b);
  const records: SourceRecord[] = batches.flatMap((b) => b.records);
  const problems: Problem[] = batches.flatMap((b) => b.problems);
  return { batches, records, problems };
}

const demoConfig: RosterFileConfig = {
  files: 'roster.csv',
  columns: studentColumns,
  defaults: { educationLevel: 'zhongzhi' },
  idCheckDate: '2024-09-01',
};

describe('roster-file adapter', () => {
  const damage = JSON.parse(readFileSync(join(demoDir, 'roster.csv.damage.json'), 'utf8')) as DamageEntry[];
  const dataRows = readFileSync(join(demoDir, 'roster.csv')).toString('latin1').split('\r\n').length - 2 - damage.filter((d) => d.kind === 'blank-row').length;

  it('reads the damaged GBK demo roster: bad rows become problems at their lines, good rows are records', async () => {
    const { records, problems, batches } = await readAll(await adapter(demoConfig));
    const errors = damage.filter((d) => d.severity === 'error');
    expect(dataRows).toBe(300);
    expect(records).toHaveLength(dataRows - errors.length);
    expect(problems.map((p) => [p.code, p.severity, p.line, p.key ?? '']).sort()).toEqual(
      damage.filter((d) => d.code !== null).map((d) => [d.code, d.severity, d.line, d.key]).sort(),
    );
    for (const p of problems.filter((p) => p.line !== 1)) expect(p.column).toBe(damage.find((d) => d.line === p.line)!.column);
    const last = batches.at(-1)!;
    expect(last.complete).toEqual(['student']);
    expect(batches.flatMap((b) => b.sources ?? [])).toEqual([{ file: 'roster.csv', encoding: 'gb18030', rows: 300 }]);
  });

  it('cleans the damage it can: lowercase x, local date formats, full-width digits, labels to codes', async () => {
    const { records } = await readAll(await adapter(demoConfig));
    const byKey = new Map(records.map((r) => [r.key, r]));
    const lowercase = damage.find((d) => d.kind === 'lowercase-x')!;
    expect(byKey.get(lowercase.key)!.data.idNumber).toMatch(/^\d{17}X$/);
    for (const d of damage.filter((d) => d.kind === 'local-date-format')) {
      const field = d.column === '出生日期' ? 'birthDate' : 'enrolmentDate';
      expect(byKey.get(d.key)!.data[field]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    expect(byKey.get(damage.find((d) => d.kind === 'full-width-digits')!.key)!.data.phone).toMatch(/^1\d{10}$/);
    expect(byKey.get(damage.find((d) => d.kind === 'short-phone')!.key)!.data.phone).toBeUndefined();
    const sample = records[0]!;
    expect(sample.data).toMatchObject({ id: sample.key, studentNumber: sample.key, idType: '1', educationLevel: 'zhongzhi', enrolmentStatus: 'enrolled' });
    expect(['1', '2']).toContain(sample.data.sex);
    expect(sample.data.ethnicity).toMatch(/^\d{2}$/);
    expect(sample.location).toEqual({ file: 'roster.csv', line: 2 });
    expect(sample.columns).toMatchObject({ idNumber: '身份证号', birthDate: '出生日期' });
  });

  it('resumes after a checkpoint with only the later rows', async () => {
    const instance = await adapter({ ...demoConfig, batchSize: 50 });
    const full = await readAll(instance);
    const middle = full.batches[2]!.checkpoint as { file: string; line: number };
    expect(middle.file).toBe('roster.csv');
    const resumed = await readAll(instance, middle);
    const expected = full.records.filter((r) => r.location!.line! > middle.line).map((r) => r.key);
    expect(resumed.records.map((r) => r.key)).toEqual(expected);
    expect(resumed.problems.every((p) => (p.line ?? 0) > middle.line)).toBe(true);
  });

  it('reads the C06 workbook: serial dates converted, numeric ID rejected by its checksum', async () => {
    const casesDir = join(repo, 'tests/fixtures/cases');
    const { records, problems } = await readAll(
      await adapter(
        { files: 'C06-excel-serial-date.xlsx', columns: { 学号: 'studentNumber', 姓名: 'name', 入学日期: 'enrolmentDate', 出生日期: 'birthDate', 身份证号: 'idNumber' }, idCheckDate: '2024-09-01' },
        casesDir,
      ),
    );
    expect(records.map((r) => [r.key, r.data.enrolmentDate, r.data.birthDate, r.location])).toEqual([
      ['2023060102', '2023-09-01', '2006-03-07', { file: 'C06-excel-serial-date.xlsx', line: 3, sheet: '学生名单' }],
    ]);
    expect(problems.map((p) => [p.code, p.line])).toEqual([
      ['XLSX_NUMBER_IN_TEXT_COLUMN', 2],
      ['ID_SUSPECT_TRAILING_ZEROS', 2],
      ['ID_CHECK_DIGIT', 2],
    ]);
  });

  it('strips Excel text marks (="…", leading apostrophe, TAB) from keys, IDs and phones, so a re-export without them is the same student', async () => {
    const { records, problems } = await readAll(
      await adapter({ files: 'fixtures/excel-artefacts.csv', columns: { 学号: 'studentNumber', 姓名: 'name', 性别: 'sex', 身份证号: 'idNumber', 联系电话: 'phone' }, idCheckDate: '2024-09-01' }, here),
    );
    expect(problems).toEqual([]);
    expect(records.map((r) => [r.key, r.data.studentNumber, r.data.idNumber, r.data.phone])).toEqual([
      ['20216601000000', '20216601000000', '361023200710016220', '13746787186'],
      ['20216601000001', '20216601000001', '632622200604043850', '18784793214'],
      ['20217001000002', '20217001000002', '211282200711152206', '15077392028'],
    ]);
  });

  it('reads a TSV staff export with 15-digit IDs allowed, Chinese dates and label maps', async () => {
    const { records, problems } = await readAll(
      await adapter(
        {
          files: 'fixtures/*.tsv',
          contract: 'staff',
          columns: { 工号: 'staffNumber', 姓名: 'name', 性别: 'sex', 身份证号: 'idNumber', 入职日期: 'hireDate', 用工类型: 'employmentType', 双师型: 'dualQualified' },
          allow15: true,
          idCheckDate: '2024-09-01',
        },
        here,
      ),
    );
    expect(records.map((r) => [r.key, r.data.idNumber, r.data.hireDate, r.data.employmentType, r.data.dualQualified])).toEqual([
      ['E0001', '110101196805121235', '2019-07-01', 'enterprise-mentor', true],
      ['E0002', '110101198001010029', '2010-09-01', 'full-time', false],
    ]);
    expect(problems.map((p) => [p.code, p.line, p.column])).toEqual([['ID_CHECK_DIGIT', 4, '身份证号']]);
    expect(records.every((r) => r.contract === 'staff')).toBe(true);
  });

  it('check() names missing columns; discover() counts rows; a missing column stops the file without declaring complete', async () => {
    const good = await adapter(demoConfig);
    expect(await good.check!()).toMatchObject({ ok: true });
    expect(await good.discover!()).toEqual([{ name: 'roster.csv', contract: 'student', count: 300, detail: 'gb18030' }]);
    const bad = await adapter({ ...demoConfig, columns: { ...studentColumns, 家庭住址: 'address' } });
    const report = await bad.check!();
    expect(report.ok).toBe(false);
    expect(report.detail).toContain('家庭住址');
    const { records, problems, batches } = await readAll(bad);
    expect(records).toEqual([]);
    expect(problems.map((p) => p.code)).toContain('ROSTER_COLUMN_MISSING');
    expect(batches.at(-1)!.complete).toBeUndefined();
  });
});
