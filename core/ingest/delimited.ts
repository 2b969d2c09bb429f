// Delimited text (CSV/TSV) reader: decode (decode.ts) → RFC 4180 scan (csv-scanner.ts) → header handling →
// a stream of rows, problems and one meta item. Bad rows become problems and parsing goes on.

import { basename } from 'node:path';
import { configError } from '../errors.ts';
import { CsvScanner, type ScanProblem } from './csv-scanner.ts';
import { decodeChunksFrom, sniffFile } from './decode.ts';
import { TableAssembler, type DelimitedItem } from './table.ts';

export interface DelimitedOptions {
  /** Field delimiter; default: sniffed from the header line among `,` `\t` `;` `|`. `tab` / `\t` accepted. */
  delimiter?: string;
  /** Encoding override (see decode.ts); default: detected. */
  encoding?: string;
  /** 1-based physical line of the header record; default 1. Lines before it (titles) are skipped. */
  headerRow?: number;
  /** false = headerless: columns named '1','2',…; string[] = headerless with these names (''= ignore column). */
  header?: false | string[];
  /** Record delimiter; default: auto (CRLF, LF or CR). */
  recordDelimiter?: string;
  /** Quote character; null disables quoting; default `"`. */
  quote?: string | null;
  /** Data records to skip after the header (e.g. a "填写说明" row under the header); default 0. */
  skipRows?: number;
  /** Name of the file in problems (e.g. relative to the adapter's base folder); default: the file's base name. */
  displayName?: string;
}

export type { DelimitedItem, DelimitedRow } from './table.ts';

const DELIMITER_CANDIDATES = [',', '\t', ';', '|'] as const;

function resolveDelimiter(value: string): string {
  if (value === 'tab' || value === '\\t') return '\t';
  if (value.length === 0) throw configError('分隔符不能为空 / delimiter must not be empty');
  return value;
}

/** Picks the candidate that occurs most often (outside quotes) on the header line; ties keep the earlier candidate. */
export function sniffDelimiter(text: string, headerRow = 1, quote: string | null = '"'): string {
  let line = 1;
  let i = 0;
  while (line < headerRow && i < text.length) {
    const nl = text.indexOf('\n', i);
    if (nl < 0) return ',';
    i = nl + 1;
    line++;
  }
  const counts = new Map<string, number>();
  let quoted = false;
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== null && ch === quote) quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && (DELIMITER_CANDIDATES as readonly string[]).includes(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  let bestCount = 0;
  for (const candidate of DELIMITER_CANDIDATES) {
    const n = counts.get(candidate) ?? 0;
    if (n > bestCount) {
      best = candidate;
      bestCount = n;
    }
  }
  return best;
}

/** Rows of a delimited file as batches (one batch per decoded chunk): the fast path for adapters. */
export async function* readDelimitedBatches(file: string, options: DelimitedOptions = {}): AsyncGenerator<DelimitedItem[]> {
  const displayName = options.displayName ?? basename(file);
  const headerRow = options.headerRow ?? 1;
  const quote = options.quote === undefined ? '"' : options.quote;
  const headerMode = options.header === undefined;

  const { encoding, bom } = await sniffFile(file, options.encoding);
  const table = new TableAssembler(encoding, options, displayName);
  const onRecord = (fields: string[], line: number): void => table.record(fields, line);
  const onProblem = (p: ScanProblem): void => {
    table.problem(
      'CSV_PARSE',
      'error',
      p.code === 'CSV_QUOTE_NOT_CLOSED'
        ? `引号未闭合，自此行起的记录无法解析 / quote not closed: the record starting here could not be parsed (${p.code})`
        : `记录过长，可能是引号未闭合 / record too large, probably an unclosed quote (${p.code})`,
      { line: p.line },
    );
  };
  // Created on the first chunk, once the delimiter can be sniffed from the header line.
  let scanner: CsvScanner | undefined;
  for await (const chunk of decodeChunksFrom(file, encoding, bom)) {
    if (scanner === undefined) {
      const delimiter = options.delimiter !== undefined ? resolveDelimiter(options.delimiter) : sniffDelimiter(chunk, headerMode ? headerRow : 1, quote);
      scanner = new CsvScanner({ delimiter, quote, recordDelimiter: options.recordDelimiter }, onRecord, onProblem);
    }
    scanner.write(chunk);
    if (table.out.length > 0) {
      yield table.out;
      table.out = [];
    }
    if (table.fatal || scanner.done) break;
  }
  if (scanner !== undefined && !table.fatal) scanner.end();
  table.finish();
  if (table.out.length > 0) yield table.out;
}

/** Rows of a delimited file, one item at a time (see readDelimitedBatches for the batched form). */
export async function* readDelimited(file: string, options: DelimitedOptions = {}): AsyncIterable<DelimitedItem> {
  for await (const batch of readDelimitedBatches(file, options)) yield* batch;
}
