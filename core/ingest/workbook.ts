// XLSX reader (exceljs streaming WorkbookReader) → the same item stream as delimited.ts, with
// line = worksheet row number and the sheet name. Cell values become text: date-formatted numbers
// become calendar dates in the workbook's date system, numbers become their full digits.

import { basename } from 'node:path';
import ExcelJS from 'exceljs';
import { excelSerialTime, excelSerialToDate } from './dates.ts';
import { TableAssembler, type DelimitedItem, type TableOptions } from './table.ts';
import { MergeFiller, readMergedRanges } from './xlsx-merges.ts';

export type { DelimitedItem } from './table.ts';

export interface WorkbookOptions extends TableOptions {
  /** Worksheet name or 1-based position; default: the first sheet. */
  sheet?: string | number;
  /** Name of the file in problems; default: the base name. */
  displayName?: string;
  /**
   * Header names of columns that must hold text (ID numbers, 学号, phones). A number there lost
   * its leading zeros or digits beyond 15 in Excel: the cell is reported (XLSX_NUMBER_IN_TEXT_COLUMN)
   * and its digits passed on so the column's own check (e.g. the ID checksum) judges them.
   */
  textColumns?: string[];
}

// Built-in formats 27–36 and 50–58 depend on the locale; exceljs knows them only per locale and leaves
// them unset, so a zh-CN workbook's 年月日 dates would come out as bare numbers. These are the zh-CN codes.
const ZH_CN_BUILTIN_FORMATS: Record<number, string> = {
  27: 'yyyy"年"m"月"', 28: 'm"月"d"日"', 29: 'm"月"d"日"', 30: 'm-d-yy', 31: 'yyyy"年"m"月"d"日"',
  32: 'h"时"mm"分"', 33: 'h"时"mm"分"ss"秒"', 34: '上午/下午h"时"mm"分"', 35: '上午/下午h"时"mm"分"ss"秒"',
  36: 'yyyy"年"m"月"', 50: 'yyyy"年"m"月"', 51: 'm"月"d"日"', 52: 'yyyy"年"m"月"', 53: 'm"月"d"日"',
  54: 'm"月"d"日"', 55: '上午/下午h"时"mm"分"', 56: '上午/下午h"时"mm"分"ss"秒"', 57: 'yyyy"年"m"月"', 58: 'm"月"d"日"',
};

function patchLocaleDateFormats(reader: unknown): void {
  // exceljs internals (StyleManager.index.numFmt): guarded so a change there degrades to bare numbers.
  const index = (reader as { styles?: { index?: { numFmt?: Record<number, string> } } }).styles?.index?.numFmt;
  if (index === undefined) return;
  for (const [id, code] of Object.entries(ZH_CN_BUILTIN_FORMATS)) {
    if (index[+id] === undefined) index[+id] = code;
  }
}

export type NumberFormatKind = 'date' | 'datetime' | 'time' | 'number';

/** Classifies a number format string: date tokens (y, d, 年, 月, 日, or m without h/s) → date. */
export function classifyNumberFormat(format: string | undefined): NumberFormatKind {
  if (format === undefined || format === '' || format === 'General') return 'number';
  // Quoted literals and [colour]/[$-locale] sections are not tokens, but 年/月/日 literals mark a date format.
  const cjkDate = /"[^"]*[年月日][^"]*"|[年月日]/.test(format);
  const tokens = format.replace(/"[^"]*"/g, '').replace(/\[[^\]]*]/g, '').replace(/\\./g, '').toLowerCase();
  const hasDate = cjkDate || /[yd]/.test(tokens) || (/m/.test(tokens) && !/[hs]/.test(tokens));
  const hasTime = /[hs]/.test(tokens) || /[时分秒]/.test(format);
  if (hasDate && hasTime) return 'datetime';
  if (hasDate) return 'date';
  if (hasTime && !/[#0?]/.test(tokens)) return 'time';
  return 'number';
}

interface CellLike {
  value: unknown;
  numFmt?: string;
  style?: { numFmt?: string | { formatCode?: string } };
}

const MS_PER_DAY = 86_400_000;
const EXCELJS_EPOCH_OFFSET = 25569;

/** Rows of one worksheet of an XLSX file. */
export async function* readWorkbookBatches(file: string, options: WorkbookOptions = {}): AsyncGenerator<DelimitedItem[]> {
  const displayName = options.displayName ?? basename(file);
  const textColumns = new Set(options.textColumns ?? []);
  // External entities and DTDs: exceljs parses with saxes, which does not resolve them.
  const merges = await readMergedRanges(file);
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, {
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    worksheets: 'emit',
    entries: 'ignore',
  });
  let position = 0;
  let found = false;
  for await (const worksheet of reader as unknown as AsyncIterable<AsyncIterable<ExcelJS.Row> & { name: string }>) {
    position++;
    const wanted =
      options.sheet === undefined ? !found : typeof options.sheet === 'number' ? options.sheet === position : options.sheet === worksheet.name;
    if (!wanted) continue;
    found = true;
    const date1904 = ((reader as unknown as { properties?: { model?: { date1904?: boolean } } }).properties?.model?.date1904 ?? false) === true;
    const dateSystem = date1904 ? 1904 : 1900;
    const table = new TableAssembler('utf-8', options, displayName, worksheet.name);
    patchLocaleDateFormats(reader);

    const cellText = (cell: CellLike, column: number, rowNumber: number): string => {
      const value = cell.value;
      if (value === null || value === undefined) return '';
      if (typeof value === 'string') return value.indexOf('\r') >= 0 ? value.replace(/\r\n?/g, '\n') : value;
      if (value instanceof Date) {
        // exceljs already turned a date-formatted number into a JS Date; recover the serial so the
        // 1900 leap-year bug and the 1904 system are handled in one place (dates.ts).
        const serial = Math.round((value.getTime() / MS_PER_DAY + EXCELJS_EPOCH_OFFSET - (date1904 ? 1462 : 0)) * 86_400) / 86_400;
        return serialText(serial, classifyNumberFormat(formatOf(cell)), dateSystem);
      }
      if (typeof value === 'number') {
        const kind = classifyNumberFormat(formatOf(cell));
        if (kind !== 'number') return serialText(value, kind, dateSystem);
        const text = numberText(value);
        const name = table.columns?.[column - 1];
        if (name !== undefined && textColumns.has(name)) {
          table.problem(
            'XLSX_NUMBER_IN_TEXT_COLUMN',
            'warning',
            '该列应为文本，单元格却是数字：超过15位的数字和前导0已丢失，请将该列设为文本格式后重新导出 / the cell in a text column is a number: leading zeros and digits beyond 15 are lost, format the column as text and re-export',
            { line: rowNumber, column: name },
          );
        }
        return text;
      }
      if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
      if (typeof value === 'object') {
        const v = value as { richText?: { text: string }[]; text?: unknown; result?: unknown; error?: string; formula?: string };
        if (Array.isArray(v.richText)) return v.richText.map((r) => r.text).join('');
        if (v.error !== undefined) {
          table.problem('XLSX_CELL_ERROR', 'warning', `单元格为错误值 ${v.error} / the cell holds the error value ${v.error}`, {
            line: rowNumber,
            column: table.columns?.[column - 1] || column,
          });
          return '';
        }
        if (v.formula !== undefined || 'result' in v) return cellText({ value: v.result, numFmt: cell.numFmt, style: cell.style }, column, rowNumber);
        if (typeof v.text === 'string') return v.text;
      }
      return String(value);
    };

    const filler = new MergeFiller(merges.get(worksheet.name) ?? []);
    for await (const row of worksheet) {
      const cells: string[] = [];
      row.eachCell({ includeEmpty: false }, (cell, column) => {
        while (cells.length < column - 1) cells.push('');
        cells[column - 1] = cellText(cell as unknown as CellLike, column, row.number);
      });
      filler.apply(row.number, cells);
      table.record(cells, row.number);
      if (table.out.length >= 1000) {
        yield table.out;
        table.out = [];
      }
      if (table.fatal) break;
    }
    if (filler.used.size > 0) {
      const refs = [...filler.used].map((r) => r.ref);
      table.problem(
        'XLSX_MERGED_CELLS_FILLED',
        'warning',
        `合并单元格已按左上角的值填充到每一行（${refs.length} 个区域：${refs.slice(0, 10).join(', ')}${refs.length > 10 ? ' …' : ''}）/ merged cells were filled with their top-left value on every row (${refs.length} ranges)`,
        { line: [...filler.used][0]!.top },
      );
    }
    table.finish();
    if (table.out.length > 0) yield table.out;
    break;
  }
  if (!found) {
    yield [
      {
        kind: 'problem',
        problem: {
          code: 'XLSX_SHEET_NOT_FOUND',
          severity: 'error',
          message: `工作簿中没有工作表 ${options.sheet ?? 1} / worksheet not found: ${options.sheet ?? 1}`,
          file: displayName,
        },
      },
    ];
  }
}

/** Rows of a worksheet, one item at a time. */
export async function* readWorkbook(file: string, options: WorkbookOptions = {}): AsyncIterable<DelimitedItem> {
  for await (const batch of readWorkbookBatches(file, options)) yield* batch;
}

function formatOf(cell: CellLike): string | undefined {
  if (typeof cell.numFmt === 'string') return cell.numFmt;
  const fmt = cell.style?.numFmt;
  if (typeof fmt === 'string') return fmt;
  if (fmt !== undefined && typeof fmt.formatCode === 'string') return fmt.formatCode;
  return undefined;
}

function serialText(serial: number, kind: NumberFormatKind, dateSystem: 1900 | 1904): string {
  if (kind === 'time') return excelSerialTime(serial);
  const date = excelSerialToDate(serial, dateSystem);
  // An impossible serial stays a number so the column's date check reports it.
  if (!date.ok) return numberText(serial);
  return kind === 'datetime' ? `${date.date} ${excelSerialTime(serial)}` : date.date;
}

/** Full digits, never exponent notation, for integers below 1e21 (what Excel stored, not what it showed). */
function numberText(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 0 });
  return String(n);
}

