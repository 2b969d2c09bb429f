// Writes dataset tables into .xlsx files the way government import templates want them: labels in
// the header row, required columns first, text cells for identifiers, and a split of at most
// `rowsPerSheet` data rows per sheet and `sheetsPerFile` sheets per file.
import ExcelJS from 'exceljs';
import type { ColumnDefinition, Dataset, ReportDefinition } from './types.ts';

export interface WorkbookFile {
  name: string;
  content: Buffer;
  sheets: number;
  rows: number;
}

/** Required columns first, otherwise in the order of the definition. */
export function orderedColumns(columns: ColumnDefinition[]): ColumnDefinition[] {
  return [...columns.filter((c) => c.required), ...columns.filter((c) => !c.required)];
}

interface SheetPlan {
  table: string;
  title: string;
  columns: ColumnDefinition[];
  from: number;
  to: number;
}

function sheetTitle(base: string, index: number, parts: number): string {
  // Excel limits sheet names to 31 characters and forbids : \ / ? * [ ]
  const clean = base.replace(/[:\\/?*[\]]/g, '_').slice(0, 26);
  return parts > 1 ? `${clean}${index + 1}` : clean;
}

export function planSheets(definition: ReportDefinition, dataset: Dataset): SheetPlan[] {
  const plans: SheetPlan[] = [];
  const perSheet = definition.output.rowsPerSheet;
  for (const table of definition.output.tables) {
    const rows = dataset.tables[table.name]?.rows.length ?? 0;
    const parts = Math.max(1, Math.ceil(rows / perSheet));
    for (let i = 0; i < parts; i++) {
      plans.push({ table: table.name, title: sheetTitle(table.sheet, i, parts), columns: orderedColumns(table.columns), from: i * perSheet, to: Math.min(rows, (i + 1) * perSheet) });
    }
  }
  return plans;
}

export function fileName(definition: ReportDefinition, dataset: Dataset, part: number, parts: number): string {
  const base = definition.output.fileName
    .replaceAll('{definition}', definition.id)
    .replaceAll('{member}', dataset.member)
    .replaceAll('{year}', dataset.schoolYear);
  return parts > 1 ? `${base}-${String(part + 1).padStart(2, '0')}.xlsx` : `${base}.xlsx`;
}

export async function writeWorkbooks(definition: ReportDefinition, dataset: Dataset): Promise<WorkbookFile[]> {
  const plans = planSheets(definition, dataset);
  const perFile = definition.output.sheetsPerFile;
  const fileCount = Math.max(1, Math.ceil(plans.length / perFile));
  const files: WorkbookFile[] = [];
  for (let f = 0; f < fileCount; f++) {
    const workbook = new ExcelJS.Workbook();
    workbook.creator = 'vochub reporting';
    // Fixed dates keep the bytes of the same snapshot identical from run to run.
    workbook.created = new Date(Date.UTC(2000, 0, 1));
    workbook.modified = workbook.created;
    let rowsInFile = 0;
    const sheets = plans.slice(f * perFile, (f + 1) * perFile);
    for (const plan of sheets) {
      const sheet = workbook.addWorksheet(plan.title, { views: [{ state: 'frozen', ySplit: 1 }] });
      sheet.columns = plan.columns.map((c) => ({ header: c.label, key: c.key, width: Math.max(10, c.label.length * 2 + 4), style: c.text ? { numFmt: '@' } : {} }));
      const header = sheet.getRow(1);
      plan.columns.forEach((c, i) => {
        const cell = header.getCell(i + 1);
        // Required columns are marked the way the templates do: bold red header (the label stays exact).
        cell.font = c.required ? { bold: true, color: { argb: 'FFC00000' } } : { bold: true };
      });
      const rows = dataset.tables[plan.table]?.rows ?? [];
      for (let r = plan.from; r < plan.to; r++) {
        const row = rows[r]!;
        // Strings stay strings (18-digit IDs must not turn into 1.1E+17); numbers stay numbers.
        sheet.addRow(plan.columns.map((c) => { const v = row[c.key]; return v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? '是' : '否') : v; }));
      }
      rowsInFile += plan.to - plan.from;
    }
    const content = Buffer.from(await workbook.xlsx.writeBuffer());
    files.push({ name: fileName(definition, dataset, f, fileCount), content, sheets: sheets.length, rows: rowsInFile });
  }
  return files;
}
