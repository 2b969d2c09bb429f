// Header and row rules shared by the delimited-text and workbook readers: header row, unnamed and
// duplicate columns, blank rows, ragged rows, U+FFFD. Records come in as string arrays with their line.

import type { Problem } from '../errors.ts';
import type { TextEncoding } from './decode.ts';

export interface DelimitedRow {
  /** Physical line where the record starts (worksheets: row number), 1-based. */
  line: number;
  values: Record<string, string>;
  /** Worksheet name, for rows read from workbooks. */
  sheet?: string;
  /** The record's cells by physical column index (0-based), for consumers that resolve columns once per file. */
  cells?: string[];
}

export type DelimitedItem =
  | { kind: 'row'; row: DelimitedRow }
  | { kind: 'problem'; problem: Problem }
  | { kind: 'meta'; encoding: TextEncoding; columns: string[]; sheet?: string; cellColumns?: string[] };

export interface TableOptions {
  headerRow?: number;
  header?: false | string[];
  skipRows?: number;
}

const REPLACEMENT_CHAR = '\uFFFD';

/** Turns records (string arrays) into rows, meta and problems, pushing them onto `out`. */
export class TableAssembler {
  out: DelimitedItem[] = [];
  /** Set when the header is unusable: the rest of the file is ignored. */
  fatal = false;
  private names: string[] | undefined;
  private requiredLength = 0;
  private headerless: boolean;
  private skipped = 0;
  /** A configured header: its '' columns are ignored on purpose, data there is no problem. */
  private readonly givenHeader: boolean;
  private readonly headerRow: number;
  private readonly skipRows: number;
  private readonly base: Partial<Problem>;

  constructor(
    private readonly encoding: TextEncoding,
    options: TableOptions,
    file: string,
    private readonly sheet?: string,
  ) {
    this.headerRow = options.headerRow ?? 1;
    this.skipRows = options.skipRows ?? 0;
    this.headerless = options.header === false;
    this.givenHeader = Array.isArray(options.header);
    this.base = sheet === undefined ? { file } : { file, sheet };
    if (Array.isArray(options.header)) {
      const given = options.header.map((n) => n.trim());
      this.setColumns(given);
      this.out.push(this.meta(given.filter((n) => n !== ''), given));
    }
  }

  /** Column name per physical index once known ('' = unnamed; duplicates carry their #n suffix). */
  get columns(): readonly string[] | undefined {
    return this.names;
  }

  get hasHeader(): boolean {
    return this.names !== undefined || this.headerless;
  }

  problem(code: string, severity: Problem['severity'], message: string, extra: Partial<Problem> = {}): void {
    this.out.push({ kind: 'problem', problem: { code, severity, message, ...this.base, ...extra } });
  }

  /** Feeds one record. Values must already have line breaks normalised to `\n`. */
  record(values: string[], line: number): void {
    if (this.fatal) return;
    if (this.names === undefined) {
      if (this.headerless) {
        if (isBlank(values) || this.skipLeading()) return;
        // Headerless files take their width from the first data record.
        this.setColumns(values.map((_, i) => String(i + 1)));
        this.headerless = false;
        this.out.push(this.meta(this.names!.slice(), this.names!.slice()));
        this.row(values, line);
        return;
      }
      if (line < this.headerRow) return;
      this.header(values, line);
      return;
    }
    if (isBlank(values) || this.skipLeading()) return;
    this.row(values, line);
  }

  /** Call at the end of input: reports a missing header. */
  finish(): void {
    if (!this.fatal && this.names === undefined && !this.headerless) {
      this.problem('CSV_NO_HEADER', 'error', `第 ${this.headerRow} 行没有表头 / no header record at line ${this.headerRow}`, {
        line: this.headerRow,
      });
    }
  }

  private skipLeading(): boolean {
    if (this.skipped < this.skipRows) {
      this.skipped++;
      return true;
    }
    return false;
  }

  /** `cellColumns`: the name per physical index ('' = unnamed), matching DelimitedRow.cells. */
  private meta(columns: string[], cellColumns?: string[]): DelimitedItem {
    const item: DelimitedItem = { kind: 'meta', encoding: this.encoding, columns };
    if (this.sheet !== undefined) item.sheet = this.sheet;
    if (cellColumns !== undefined) item.cellColumns = cellColumns;
    return item;
  }

  private setColumns(names: string[]): void {
    this.names = names;
    let last = -1;
    for (let i = names.length - 1; i >= 0; i--) {
      if (names[i] !== '') {
        last = i;
        break;
      }
    }
    this.requiredLength = last + 1;
  }

  private header(record: string[], line: number): void {
    const names = record.map((n) => n.replace(/^\uFEFF/, '').trim());
    const bad = names.findIndex((n) => n.includes(REPLACEMENT_CHAR));
    if (bad >= 0) {
      this.fatal = true;
      this.problem(
        'ENCODING_REPLACEMENT_CHAR',
        'error',
        `表头含无法解码的字符，请确认文件编码 / header contains undecodable characters, check the file encoding (${this.encoding})`,
        { line, column: bad + 1 },
      );
      return;
    }
    // Meta first so consumers know the columns before the header's problems.
    const metaAt = this.out.length;
    this.out.push(this.meta([]));
    const seen = new Map<string, number>();
    const unnamed: number[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (name === '') {
        unnamed.push(i + 1);
        continue;
      }
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      if (n > 1) {
        // The first column keeps the name; later ones stay visible under a suffixed name.
        names[i] = `${name}#${n}`;
        this.problem('CSV_DUPLICATE_HEADER', 'error', `表头重复：${name} / duplicate header name: ${name}`, {
          line,
          column: i + 1,
          value: name,
        });
      }
    }
    if (unnamed.length > 0) {
      this.problem(
        'CSV_EMPTY_COLUMNS_DROPPED',
        'warning',
        `表头为空的列已忽略（第 ${unnamed.join(',')} 列）/ columns without a header were ignored: ${unnamed.join(',')}`,
        { line },
      );
    }
    this.out[metaAt] = this.meta(names.filter((n) => n !== ''), names.slice());
    this.setColumns(names);
  }

  private row(record: string[], line: number): void {
    const names = this.names!;
    const width = names.length;
    if (record.length < this.requiredLength || (record.length > width && !isBlankFrom(record, width))) {
      this.problem(
        'CSV_COLUMN_COUNT',
        'error',
        `字段数 ${record.length} 与表头列数 ${width} 不符 / row has ${record.length} fields, the header has ${width}`,
        { line },
      );
      return;
    }
    const values: Record<string, string> = {};
    const n = record.length < width ? record.length : width;
    for (let i = 0; i < n; i++) {
      const v = record[i]!;
      const name = names[i]!;
      if (name === '') {
        if (!this.givenHeader && v.trim() !== '') {
          this.problem('CSV_UNNAMED_COLUMN_DATA', 'error', `第 ${i + 1} 列没有表头却有数据 / column ${i + 1} has data but no header`, {
            line,
            column: i + 1,
            value: v,
          });
          return;
        }
        continue;
      }
      if (v.indexOf(REPLACEMENT_CHAR) >= 0) {
        this.problem(
          'ENCODING_REPLACEMENT_CHAR',
          'error',
          `含无法解码的字符，请确认文件编码 / value contains undecodable characters, check the file encoding (${this.encoding})`,
          { line, column: name },
        );
        return;
      }
      values[name] = v;
    }
    this.out.push({ kind: 'row', row: this.sheet === undefined ? { line, values, cells: record } : { line, values, sheet: this.sheet, cells: record } });
  }
}

function isBlank(record: string[]): boolean {
  for (let i = 0; i < record.length; i++) {
    const v = record[i];
    if (v !== undefined && v !== '' && v.trim() !== '') return false;
  }
  return true;
}

function isBlankFrom(record: string[], from: number): boolean {
  for (let i = from; i < record.length; i++) if (record[i]!.trim() !== '') return false;
  return true;
}
