// Definitions are data checked at start; 学年 arithmetic; schedules refuse bad cron expressions.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveYear } from '../index.ts';
import { BUILTIN_DEFINITIONS, loadDefinitionFile, loadDefinitions } from '../src/definitions.ts';
import { parseSchoolYear, schoolYearOf } from '../src/school-year.ts';
import { openTestHub, ZHONGZHI } from './helpers.ts';

describe('report definitions', () => {
  it('loads the built-in definitions for the three targets', () => {
    const definitions = loadDefinitions([BUILTIN_DEFINITIONS]);
    expect([...definitions.keys()].sort()).toEqual(['xueji-zhongzhi', 'zhuangtai', 'zhuangtai-push']);
    expect(definitions.get('zhuangtai-push')!.delivery).toEqual({ kind: 'soap', endpoint: 'province' });
    expect(definitions.get('xueji-zhongzhi')!.output).toMatchObject({ rowsPerSheet: 2000, sheetsPerFile: 3 });
  });

  it('refuses a definition with a rule its target does not implement', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-def-'));
    const file = join(dir, 'bad.yaml');
    const text = `id: bad\ntitle: t\ntarget: zhuangtai\ndataset: {}\nrules: { programmeCount: true, teacherRatio: 18 }\noutput: { format: xlsx, fileName: x, rowsPerSheet: 10, sheetsPerFile: 1, tables: [{ name: school, sheet: s, columns: [{ key: code, label: 代码 }] }] }\ndelivery: { kind: download }\n`;
    writeFileSync(file, text);
    expect(() => loadDefinitionFile(file)).toThrow(/teacherRatio/);
    writeFileSync(file, text.replace('teacherRatio: 18', 'baseCount: true').replace('kind: download', 'kind: fax'));
    expect(() => loadDefinitionFile(file)).toThrowError(expect.objectContaining({ code: 'REPORT_DEFINITION_INVALID' }));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('学年', () => {
  it('runs from 1 September to 31 August', () => {
    expect(parseSchoolYear('2024-2025')).toEqual({ label: '2024-2025', start: '2024-09-01', end: '2025-08-31', startYear: 2024 });
    expect(parseSchoolYear('2024-2026')).toBeUndefined();
    expect(schoolYearOf('2025-08-31').label).toBe('2024-2025');
    expect(schoolYearOf('2025-09-01').label).toBe('2025-2026');
    expect(resolveYear('previous', '2025-09-20')).toBe('2024-2025');
    expect(resolveYear(undefined, '2025-03-01')).toBe('2024-2025');
  });

  it('refuses a schedule with an invalid cron expression before the hub starts', async () => {
    await expect(openTestHub({ members: [ZHONGZHI], import: false, reporting: (c) => ({ ...c, schedules: [{ definition: 'xueji-zhongzhi', cron: '61 * * * *' }] }) }))
      .rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('refuses a school year that is not two consecutive years', async () => {
    const t = await openTestHub({ members: [ZHONGZHI], import: false });
    try {
      await expect(t.reports.generate({ definition: 'xueji-zhongzhi', member: ZHONGZHI, year: '2024', actor: { id: 'cli:test' } })).rejects.toMatchObject({ code: 'REPORT_YEAR_INVALID', status: 400 });
    } finally {
      await t.close();
    }
  });
});
