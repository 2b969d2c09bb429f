// Report definitions (data, in definitions/*.yaml), datasets, issues and runs.

export type CellValue = string | number | boolean | null;

export interface ColumnDefinition {
  /** Key of the value in a dataset row. */
  key: string;
  /** Chinese column label written in the output (what the government template expects). */
  label: string;
  required?: boolean;
  /** Written as a text cell (`@`): ID numbers and 学号 must never become numbers in Excel. */
  text?: boolean;
}

export interface TableDefinition {
  /** Table id in the dataset, e.g. `students`. */
  name: string;
  /** Sheet name (prefix when split), e.g. `学生`. */
  sheet: string;
  columns: ColumnDefinition[];
}

export interface ReportDefinition {
  id: string;
  title: string;
  /** Builder: `xueji` (中职学籍 workbook) | `zhuangtai` (人才培养工作状态数据采集 tables). */
  target: 'xueji' | 'zhuangtai';
  description?: string;
  /** Parameters of the dataset builder (which records count for the 学年). */
  dataset: {
    educationLevels?: string[];
    statuses?: string[];
    /** Programme length when neither the student nor the programme says (years). */
    durationYears?: number;
  };
  /** Rule switches and parameters of the target; unknown rules are refused at load. */
  rules: Record<string, boolean | number | string>;
  output: {
    format: 'xlsx';
    /** File name pattern: {definition} {member} {year} {part}. */
    fileName: string;
    rowsPerSheet: number;
    sheetsPerFile: number;
    tables: TableDefinition[];
  };
  delivery: { kind: 'download' } | { kind: 'soap'; endpoint: string };
  /** Source file of the definition, for messages. */
  file?: string;
}

export type DatasetRow = Record<string, CellValue>;

export interface DatasetTable {
  name: string;
  /** Row keys (e.g. 校内学号) in row order: what issues and diffs name. */
  keys: string[];
  rows: DatasetRow[];
}

export interface Dataset {
  definition: string;
  member: string;
  schoolYear: string;
  tables: Record<string, DatasetTable>;
}

/** A finding of a field or consistency rule. Codes are stable (README). */
export interface ReportIssue {
  code: string;
  severity: 'error' | 'warning';
  /** Rule name from the definition (consistency rules), e.g. `programmeCount`. */
  rule?: string;
  table?: string;
  /** Keys of the rows involved (at most 50 listed; `rowCount` says how many in all). */
  rows?: string[];
  rowCount?: number;
  field?: string;
  message: string;
}

export type RunStatus =
  | 'rejected' // validation found errors: nothing frozen for delivery
  | 'awaiting-approval'
  | 'approved'
  | 'delivered'
  | 'duplicate' // the same snapshot was already accepted: no second filing
  | 'delivery-failed';

export interface ReportFile {
  name: string;
  mediaType: string;
  sha256: string;
  bytes: number;
  sheets: number;
  rows: number;
}

export interface Receipt {
  receiptNumber: string;
  acceptedAt: string;
  filingKey: string;
  /** The endpoint (or `download` for manual filing). */
  channel: string;
  /** The server reported it had this filing already (server-side idempotency). */
  alreadyFiled?: boolean;
}

export interface ReportRun {
  id: string;
  definition: string;
  member: string;
  schoolYear: string;
  status: RunStatus;
  /** Keyed hash (HMAC) of the canonical dataset: same data → same hash. */
  snapshotHash: string;
  containsPii: boolean;
  counts: Record<string, number>;
  issues: ReportIssue[];
  files: ReportFile[];
  createdAt: string;
  createdBy: string;
  approvedAt?: string;
  approvedBy?: string;
  submittedAt?: string;
  submittedBy?: string;
  receipt?: Receipt;
  /** Run whose accepted filing this one duplicates. */
  duplicateOf?: string;
  delivery?: { attempts: number; lastError?: { code: string; message: string } };
}

export interface RunDiff {
  run: string;
  against?: string;
  tables: Record<string, { added: string[]; removed: string[]; changed: { key: string; fields: string[] }[] }>;
  identical: boolean;
}
