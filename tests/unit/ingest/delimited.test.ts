import { describe, expect, it } from 'vitest';
import { readDelimited, sniffDelimiter } from '../../../core/ingest/delimited.ts';
import { caseFile, collect, fixture } from './helpers.ts';

describe('delimited text', () => {
  it('C09: drops trailing empty columns with one warning and drops all-empty rows', async () => {
    const { rows, problems, meta } = await collect(readDelimited(caseFile('C09-trailing-empty-columns.csv')));
    expect(meta?.columns).toEqual(['学号', '姓名', '班级']);
    expect(rows.map((r) => r.values)).toEqual([
      { 学号: '2023090101', 姓名: '黄小亮', 班级: '汽修2301' },
      { 学号: '2023090102', 姓名: '梁小梅', 班级: '汽修2301' },
    ]);
    expect(problems.map((p) => [p.code, p.severity, p.line])).toEqual([['CSV_EMPTY_COLUMNS_DROPPED', 'warning', 1]]);
  });

  it('C09: fails only the row whose header-less column holds data', async () => {
    const { rows, problems } = await collect(readDelimited(fixture('unnamed-column-data.csv')));
    expect(rows.map((r) => r.values['学号'])).toEqual(['1']);
    expect(problems.map((p) => [p.code, p.line, p.column])).toEqual([
      ['CSV_EMPTY_COLUMNS_DROPPED', 1, undefined],
      ['CSV_UNNAMED_COLUMN_DATA', 3, 3],
    ]);
  });

  it('C10: keeps line breaks inside quoted fields as \\n, unescapes "" and reports start lines', async () => {
    const { rows, problems } = await collect(readDelimited(caseFile('C10-newline-in-quoted-field.csv')));
    expect(problems).toEqual([]);
    expect(rows.map((r) => r.line)).toEqual([2, 4, 7]);
    expect(rows[0]!.values['家庭住址']).toBe('某省某市某区\n某路1号');
    expect(rows[1]!.values['家庭住址']).toBe('某省某县某镇\n某村2组');
    expect(rows[1]!.values['备注']).toBe('家长说"周五来接"\n需要床位');
    expect(rows[2]!.values['备注']).toBe('');
  });

  it('C10: an unclosed quote is reported at the line where its record starts, earlier rows kept', async () => {
    const { rows, problems } = await collect(readDelimited(fixture('unclosed-quote.csv')));
    expect(rows.map((r) => r.values['学号'])).toEqual(['1']);
    expect(problems.map((p) => [p.code, p.line])).toEqual([['CSV_PARSE', 3]]);
  });

  it('reports ragged rows with their line, keeps them out and goes on', async () => {
    const { rows, problems } = await collect(readDelimited(fixture('ragged.csv')));
    expect(rows.map((r) => r.values['学号'])).toEqual(['1', '4', '5']);
    expect(problems.map((p) => [p.code, p.line])).toEqual([
      ['CSV_COLUMN_COUNT', 3],
      ['CSV_COLUMN_COUNT', 4],
    ]);
  });

  it('reports duplicate header names and keeps the first column under the name', async () => {
    const { rows, problems, meta } = await collect(readDelimited(fixture('duplicate-header.csv')));
    expect(problems.map((p) => [p.code, p.column])).toEqual([['CSV_DUPLICATE_HEADER', 3]]);
    expect(meta?.columns).toEqual(['学号', '姓名', '姓名#2']);
    expect(rows[0]!.values['姓名']).toBe('甲');
  });

  it('skips title lines before headerRow and description rows after it; sniffs ;', async () => {
    const { rows, meta } = await collect(readDelimited(fixture('title-row-semicolon.csv'), { headerRow: 2, skipRows: 1 }));
    expect(meta).toMatchObject({ encoding: 'gb18030', columns: ['学号', '姓名', '班级'] });
    expect(rows.map((r) => [r.line, r.values])).toEqual([[4, { 学号: '2024000007', 姓名: '周七', 班级: '机电2401' }]]);
  });

  it('reads header-less files with numbered or given column names', async () => {
    const numbered = await collect(readDelimited(fixture('headerless.tsv'), { header: false }));
    expect(numbered.meta?.columns).toEqual(['1', '2', '3']);
    expect([numbered.rows[0]!.line, numbered.rows[0]!.values]).toEqual([1, { '1': '2024000008', '2': '吴八', '3': '汽修2401' }]);
    expect(numbered.rows[0]!.cells).toEqual(['2024000008', '吴八', '汽修2401']);
    const named = await collect(readDelimited(fixture('headerless.tsv'), { header: ['学号', '姓名', ''] }));
    expect(named.rows.map((r) => r.values)).toEqual([
      { 学号: '2024000008', 姓名: '吴八' },
      { 学号: '2024000009', 姓名: '郑九' },
    ]);
  });

  it('sniffs the delimiter on the header line, ignoring quoted text', () => {
    expect(sniffDelimiter('a\tb\tc\r\n')).toBe('\t');
    expect(sniffDelimiter('"a,b";c;d\n')).toBe(';');
    expect(sniffDelimiter('x|y\n', 1)).toBe('|');
    expect(sniffDelimiter('title\r\na,b\r\n', 2)).toBe(',');
  });
});
