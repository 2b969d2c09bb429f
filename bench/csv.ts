// CSV parsing on the 1M-row GBK roster: our scanner (core/ingest/csv-scanner.ts) against csv-parse
// (installed) and papaparse (only when resolvable: it is not a dependency; point VOCHUB_BENCH_PAPAPARSE
// at a folder whose node_modules holds it to include it). Every parser gets the same decoded text
// chunks (GB18030 → JS strings, 256 KiB reads), so the decode cost is shared and shown as the floor.
// Usage: node --import tsx bench/csv.ts [rows=1000000]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse as csvParse } from 'csv-parse';
import { CsvScanner } from '../core/ingest/csv-scanner.ts';
import { decodeChunksFrom, sniffFile } from '../core/ingest/decode.ts';
import { rosterFile, secs, timed, type Timing } from './common.ts';

export interface CsvFigures {
  rows: number;
  decode: Timing;
  scanner: Timing;
  csvParse: Timing;
  csvParseInfo: Timing;
  papaparse?: Timing;
}

async function decodeOnly(file: string): Promise<number> {
  const { encoding, bom } = await sniffFile(file);
  let chars = 0;
  for await (const chunk of decodeChunksFrom(file, encoding, bom)) chars += chunk.length;
  return chars;
}

async function scanner(file: string): Promise<number> {
  const { encoding, bom } = await sniffFile(file);
  let records = 0;
  const s = new CsvScanner({ delimiter: ',', quote: '"' }, () => void records++, () => undefined);
  for await (const chunk of decodeChunksFrom(file, encoding, bom)) s.write(chunk);
  s.end();
  return records;
}

/** csv-parse tuned as far as it goes: plain arrays, no columns, no raw, relax as our scanner does. */
async function withCsvParse(file: string, info: boolean): Promise<number> {
  const { encoding, bom } = await sniffFile(file);
  let records = 0;
  let lastLine = 0;
  const parser = csvParse({ relax_quotes: true, relax_column_count: true, raw: false, info, columns: false, cast: false, trim: false });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('readable', () => {
      let r: unknown;
      while ((r = parser.read()) !== null) {
        records++;
        // With info, the line of the record is at hand (where a C10 start line would have to come from).
        if (info) lastLine = (r as { info: { lines: number } }).info.lines;
      }
    });
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  for await (const chunk of decodeChunksFrom(file, encoding, bom)) {
    if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
  }
  parser.end();
  await done;
  void lastLine;
  return records;
}

interface PapaLike {
  parse(input: string, config: { step?: (r: { data: string[] }) => void; chunk?: (r: { data: string[][] }) => void; header?: boolean; dynamicTyping?: boolean; skipEmptyLines?: boolean }): unknown;
}

function loadPapaparse(): PapaLike | undefined {
  const roots = [process.env.VOCHUB_BENCH_PAPAPARSE, process.cwd()].filter((r): r is string => typeof r === 'string');
  for (const root of roots) {
    try {
      return createRequire(join(root, 'noop.js'))('papaparse') as PapaLike;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** papaparse has no incremental string API for Node short of its stream mode; chunks are parsed with a carried tail. */
async function withPapaparse(papa: PapaLike, file: string): Promise<number> {
  const { encoding, bom } = await sniffFile(file);
  let records = 0;
  let carry = '';
  for await (const chunk of decodeChunksFrom(file, encoding, bom)) {
    const text = carry + chunk;
    // Cut at the last line break (this roster has no quoted line breaks; papaparse's own stream mode
    // does the same cut for unquoted data).
    const nl = text.lastIndexOf('\n');
    if (nl < 0) {
      carry = text;
      continue;
    }
    carry = text.slice(nl + 1);
    const body = text.slice(0, text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
    papa.parse(body, { chunk: (r) => void (records += r.data.length), skipEmptyLines: false });
  }
  if (carry.length > 0) papa.parse(carry, { chunk: (r) => void (records += r.data.length) });
  return records;
}

export async function runCsvBench(rows: number, log: (line: string) => void = console.log): Promise<CsvFigures> {
  const file = await rosterFile(rows, 'gbk');
  // Warm the page cache and the JIT once so the first contender is not penalised.
  await decodeOnly(file);
  const decode = await timed(() => decodeOnly(file));
  const sc = await timed(() => scanner(file));
  const cp = await timed(() => withCsvParse(file, false));
  const cpi = await timed(() => withCsvParse(file, true));
  const papa = loadPapaparse();
  const pp = papa === undefined ? undefined : await timed(() => withPapaparse(papa, file));
  const line = (label: string, t: Timing, records: number): void => {
    log(`  ${label.padEnd(44)} ${secs(t.wall).padStart(8)} wall ${secs(t.cpu).padStart(8)} cpu  ×${(t.cpu / sc.t.cpu).toFixed(2)} of scanner (cpu)  records ${records}`);
  };
  log(`csv: ${rows.toLocaleString('en-US')}-row GBK roster, decoded in 256 KiB chunks (decode included in every line)`);
  line('decode only (floor)', decode.t, 0);
  line('core/ingest/csv-scanner.ts', sc.t, sc.result);
  line('csv-parse 7 (arrays, no info)', cp.t, cp.result);
  line('csv-parse 7 (info: line numbers)', cpi.t, cpi.result);
  if (pp !== undefined) line('papaparse (chunks, no line numbers)', pp.t, pp.result);
  else log('  papaparse: not installed (set VOCHUB_BENCH_PAPAPARSE=<folder with node_modules/papaparse> to include it)');
  return { rows, decode: decode.t, scanner: sc.t, csvParse: cp.t, csvParseInfo: cpi.t, ...(pp === undefined ? {} : { papaparse: pp.t }) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runCsvBench(Number(process.argv[2] ?? 1_000_000));
}
