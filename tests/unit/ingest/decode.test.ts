import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { decodeBuffer, detectEncoding, openTextStream, SNIFF_BYTES } from '../../../core/ingest/decode.ts';
import { readDelimited } from '../../../core/ingest/delimited.ts';
import { caseFile, collect, fixture } from './helpers.ts';

describe('encoding detection', () => {
  it('C01: reads a GBK Excel CSV without BOM as GB18030 with correct Chinese headers and values', async () => {
    const { rows, meta, problems } = await collect(readDelimited(caseFile('C01-gbk-excel-csv.csv')));
    expect(meta?.encoding).toBe('gb18030');
    expect(meta?.columns).toEqual(['学号', '姓名', '性别', '班级', '入学年份', '联系电话']);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.values).toMatchObject({ 学号: '2023010101', 姓名: '王小明', 性别: '男', 班级: '机电一体化2301' });
    expect(rows[1]!.values['姓名']).toBe('李晓红');
    expect(problems).toEqual([]);
  });

  it('C01: a per-source override wins over detection and never lets U+FFFD reach the header', async () => {
    const { rows, problems } = await collect(readDelimited(caseFile('C01-gbk-excel-csv.csv'), { encoding: 'utf-8' }));
    expect(rows).toEqual([]);
    expect(problems.map((p) => p.code)).toEqual(['ENCODING_REPLACEMENT_CHAR']);
    expect(problems[0]!.line).toBe(1);
    const gbk = await collect(readDelimited(caseFile('C01-gbk-excel-csv.csv'), { encoding: 'GBK' }));
    expect(gbk.meta?.encoding).toBe('gb18030');
    expect(gbk.rows).toHaveLength(2);
  });

  it('C03: strips a UTF-8 BOM so the first header is an ordinary key', async () => {
    const { rows, meta } = await collect(readDelimited(caseFile('C03-utf8-bom-header.csv')));
    expect(meta?.encoding).toBe('utf-8');
    expect(meta?.columns[0]).toBe('学号');
    expect(rows.map((r) => r.values['学号'])).toEqual(['2023030101', '2023030102']);
  });

  it('decodes UTF-16 LE and BE files by their BOM', async () => {
    for (const [name, encoding] of [['utf16le-bom.csv', 'utf-16le'], ['utf16be-bom.csv', 'utf-16be']] as const) {
      const { rows, meta } = await collect(readDelimited(fixture(name)));
      expect(meta?.encoding).toBe(encoding);
      expect(meta?.columns).toEqual(['学号', '姓名', '班级']);
      expect(rows.map((r) => r.values['姓名'])).toEqual(['张三', '李四']);
    }
  });

  it('decodes GB18030 four-byte sequences (characters outside GBK)', async () => {
    const { rows, meta } = await collect(readDelimited(fixture('gb18030-4byte.csv')));
    expect(meta?.encoding).toBe('gb18030');
    expect(rows.map((r) => r.values['姓名'])).toEqual(['王𠮷', '欧阳㐀']);
  });

  it('keeps UTF-8 when a multibyte character is cut at the 64 KiB sniff boundary', async () => {
    const buf = readFileSync(fixture('utf8-cut-at-sniff.csv'));
    expect(buf.length).toBeGreaterThan(SNIFF_BYTES);
    expect(detectEncoding(buf.subarray(0, SNIFF_BYTES)).encoding).toBe('utf-8');
    // The same prefix judged as a complete file is not valid UTF-8.
    expect(detectEncoding(buf.subarray(0, SNIFF_BYTES), undefined, true).encoding).toBe('gb18030');
    const { stream, encoding } = await openTextStream(fixture('utf8-cut-at-sniff.csv'));
    expect(encoding).toBe('utf-8');
    let text = '';
    for await (const chunk of stream) text += chunk as string;
    expect(text).toContain('王\r\n2024000006,尾');
    expect(text).not.toContain('\uFFFD');
  });

  it('reports rows that decode to U+FFFD after a wrong UTF-8 guess and keeps them out', async () => {
    const file = fixture('utf8-then-gbk.csv');
    const lines = readFileSync(file).toString('latin1').split('\r\n').length - 1;
    const { rows, problems, meta } = await collect(readDelimited(file));
    expect(meta?.encoding).toBe('utf-8');
    expect(problems.map((p) => [p.code, p.line, p.column])).toEqual([['ENCODING_REPLACEMENT_CHAR', lines, '姓名']]);
    expect(rows).toHaveLength(lines - 2);
    expect(rows.some((r) => Object.values(r.values).some((v) => v.includes('\uFFFD')))).toBe(false);
  });

  it('decodeBuffer records the encoding it used', () => {
    const { text, encoding } = decodeBuffer(readFileSync(caseFile('C01-gbk-excel-csv.csv')));
    expect(encoding).toBe('gb18030');
    expect(text.startsWith('学号,姓名')).toBe(true);
  });

  it('refuses an unknown encoding name as a configuration error', () => {
    expect(() => detectEncoding(Buffer.from('a'), 'latin-9')).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('encodings the bytes reveal although no BOM or a wrong BOM says so', () => {
  const text = '学号,姓名,班级\r\n2023001,王小明,机电2301\r\n';

  it('detects UTF-16LE and UTF-16BE without a BOM from the zero bytes of ASCII separators', () => {
    const le = Buffer.from(text, 'utf16le');
    expect(decodeBuffer(le)).toEqual({ text, encoding: 'utf-16le' });
    const be = Buffer.from(le).swap16();
    expect(decodeBuffer(be)).toEqual({ text, encoding: 'utf-16be' });
  });

  it('decodes a GBK body behind a stray UTF-8 BOM as GB18030 instead of producing U+FFFD', () => {
    const gbkWithBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), iconv.encode(text, 'gbk')]);
    const decoded = decodeBuffer(gbkWithBom);
    expect(decoded).toEqual({ text, encoding: 'gb18030' });
    expect(decoded.text).not.toContain('\uFFFD');
  });

  it('still reads plain GBK and plain UTF-8 as before', () => {
    expect(decodeBuffer(iconv.encode(text, 'gbk')).encoding).toBe('gb18030');
    expect(decodeBuffer(Buffer.from(text, 'utf8')).encoding).toBe('utf-8');
  });
});
