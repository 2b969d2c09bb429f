import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { cleanIdNumberInput } from '../../../core/ingest/clean.ts';
import { parseCalendarDate } from '../../../core/ingest/dates.ts';
import { classifyNumberFormat, readWorkbook } from '../../../core/ingest/workbook.ts';
import { caseFile, collect } from './helpers.ts';

describe('XLSX workbooks', () => {
  it('C06: converts date-formatted serials, passes text dates on, flags the numeric ID', async () => {
    const { rows, problems, meta } = await collect(readWorkbook(caseFile('C06-excel-serial-date.xlsx'), { textColumns: ['身份证号'] }));
    expect(meta).toMatchObject({ sheet: '学生名单', columns: ['学号', '姓名', '入学日期', '出生日期', '身份证号'] });
    expect(rows.map((r) => [r.line, r.sheet])).toEqual([[2, '学生名单'], [3, '学生名单']]);
    expect(rows[0]!.values['入学日期']).toBe('2023-09-01');
    expect(rows[0]!.values['出生日期']).toBe('2005-09-01');
    expect(rows[1]!.values['出生日期']).toBe('2006-03-07');
    expect(parseCalendarDate(rows[1]!.values['入学日期']!)).toEqual({ ok: true, date: '2023-09-01' });
    expect(problems.map((p) => [p.code, p.line, p.column])).toEqual([['XLSX_NUMBER_IN_TEXT_COLUMN', 2, '身份证号']]);
    const id = cleanIdNumberInput(rows[0]!.values['身份证号']!, { source: 'spreadsheet', at: '2024-09-01' });
    expect(rows[0]!.values['身份证号']).toBe('110101200509011000');
    expect(id.problems.map((p) => p.code)).toEqual(['ID_SUSPECT_TRAILING_ZEROS', 'ID_CHECK_DIGIT']);
  });

  it('uses the 1904 date system when the workbook says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-xlsx-'));
    const file = join(dir, 'date1904.xlsx');
    const wb = new ExcelJS.Workbook();
    wb.properties.date1904 = true;
    const ws = wb.addWorksheet('名单');
    ws.addRow(['学号', '入学日期']);
    const row = ws.addRow(['2024000001', 45170 - 1462]);
    row.getCell(2).numFmt = 'yyyy"年"m"月"d"日"';
    await wb.xlsx.writeFile(file);
    const { rows } = await collect(readWorkbook(file));
    expect(rows[0]!.values['入学日期']).toBe('2023-09-01');
  });

  it('classifies number formats: built-in and 年月日 dates, times, plain numbers', () => {
    expect(classifyNumberFormat('mm-dd-yy')).toBe('date');
    expect(classifyNumberFormat('yyyy"年"m"月"d"日"')).toBe('date');
    expect(classifyNumberFormat('m"月"d"日"')).toBe('date');
    expect(classifyNumberFormat('yyyy-mm-dd hh:mm')).toBe('datetime');
    expect(classifyNumberFormat('h:mm:ss')).toBe('time');
    expect(classifyNumberFormat('0.00')).toBe('number');
    expect(classifyNumberFormat('General')).toBe('number');
  });
});

describe('merged cells', () => {
  it('fills a merged 班级 over several rows with its top-left value and says so, instead of dropping it', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('学生名单');
    sheet.addRow(['学号', '姓名', '班级']);
    sheet.addRow(['2023001', '王小明', '机电2301']);
    sheet.addRow(['2023002', '李晓红', null]);
    sheet.addRow(['2023003', '张伟', null]);
    sheet.addRow(['2023004', '赵敏', '数控2301']);
    sheet.addRow(['2023005', '钱多', null]);
    sheet.mergeCells('C2:C4');
    sheet.mergeCells('C5:C6');
    const file = join(mkdtempSync(join(tmpdir(), 'vochub-merged-')), 'merged.xlsx');
    await workbook.xlsx.writeFile(file);

    const { rows, problems } = await collect(readWorkbook(file));
    expect(rows.map((r) => [r.line, r.values['学号'], r.values['班级']])).toEqual([
      [2, '2023001', '机电2301'],
      [3, '2023002', '机电2301'],
      [4, '2023003', '机电2301'],
      [5, '2023004', '数控2301'],
      [6, '2023005', '数控2301'],
    ]);
    expect(problems).toEqual([expect.objectContaining({ code: 'XLSX_MERGED_CELLS_FILLED', severity: 'warning', line: 2 })]);
    expect(problems[0]!.message).toContain('C2:C4');
  });

  it('leaves a workbook without merges unchanged and silent', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('名单').addRows([['学号', '班级'], ['1', '甲'], ['2', '乙']]);
    const file = join(mkdtempSync(join(tmpdir(), 'vochub-nomerge-')), 'plain.xlsx');
    await workbook.xlsx.writeFile(file);
    const { rows, problems } = await collect(readWorkbook(file));
    expect(rows.map((r) => r.values['班级'])).toEqual(['甲', '乙']);
    expect(problems).toEqual([]);
  });
});
