// Merged cells in Chinese roster workbooks (a 班级 or 专业 written once over many rows) hold their value
// only in the top-left cell. exceljs' streaming reader skips the sheet's <mergeCells> list, so a
// row-by-row reader would see empty cells and drop the value silently. This reads the merge list
// from the package first (sheet XML only, no DTD: the parts are plain XML scanned with patterns).
import { readFile } from 'node:fs/promises';
import JSZip from 'jszip';

export interface MergedRange {
  top: number;
  left: number;
  bottom: number;
  right: number;
  ref: string;
}

const ENTITY: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };
const unescape = (s: string): string => s.replace(/&(amp|lt|gt|quot|apos);/g, (e) => ENTITY[e] ?? e);
const attr = (tag: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

function parseRef(ref: string): MergedRange | undefined {
  const m = /^([A-Z]+)(\d+):([A-Z]+)(\d+)$/.exec(ref.toUpperCase());
  if (!m) return undefined;
  return { left: columnNumber(m[1]!), top: Number(m[2]), right: columnNumber(m[3]!), bottom: Number(m[4]), ref };
}

/** Merged ranges per worksheet name, in sheet order. Unreadable packages give an empty map: the reader reports them. */
export async function readMergedRanges(file: string): Promise<Map<string, MergedRange[]>> {
  const out = new Map<string, MergedRange[]>();
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(await readFile(file));
  } catch {
    return out;
  }
  const workbook = await zip.file('xl/workbook.xml')?.async('string');
  const rels = await zip.file('xl/_rels/workbook.xml.rels')?.async('string');
  if (!workbook || !rels) return out;
  const targets = new Map<string, string>();
  for (const tag of rels.match(/<Relationship\b[^>]*>/g) ?? []) {
    const id = attr(tag, 'Id');
    const target = attr(tag, 'Target');
    if (id && target) targets.set(id, target.startsWith('/') ? target.slice(1) : `xl/${target}`);
  }
  for (const tag of workbook.match(/<sheet\b[^>]*>/g) ?? []) {
    const name = attr(tag, 'name');
    const rid = attr(tag, 'r:id');
    const path = rid ? targets.get(rid) : undefined;
    if (!name || !path) continue;
    const xml = await zip.file(path)?.async('string');
    const ranges = (xml?.match(/<mergeCell\b[^>]*>/g) ?? []).map((t) => parseRef(attr(t, 'ref') ?? '')).filter((r): r is MergedRange => r !== undefined);
    out.set(unescape(name), ranges);
  }
  return out;
}

/** Fills the empty cells of merged ranges with the range's top-left value, row by row as the stream goes. */
export class MergeFiller {
  private readonly values = new Map<MergedRange, string>();
  /** Ranges that filled at least one cell. */
  readonly used = new Set<MergedRange>();

  constructor(private readonly ranges: MergedRange[]) {}

  /** `cells` is the row's text by 0-based column index; modified in place. */
  apply(rowNumber: number, cells: string[]): void {
    for (const range of this.ranges) {
      if (rowNumber < range.top || rowNumber > range.bottom) continue;
      if (rowNumber === range.top) this.values.set(range, cells[range.left - 1] ?? '');
      const value = this.values.get(range);
      if (value === undefined || value === '') continue;
      for (let c = range.left; c <= range.right; c++) {
        if (rowNumber === range.top && c === range.left) continue;
        if (cells[c - 1] === undefined || cells[c - 1] === '') {
          while (cells.length < c - 1) cells.push('');
          cells[c - 1] = value;
          this.used.add(range);
        }
      }
    }
  }
}
