// Per-field cleaners: turn one source cell into a contract value, or report why not.
// Built once per file (a plan), applied in a tight synchronous loop per row.

import type { CodeTable, ContractRegistry } from '../../core/contracts/types.ts';
import { cleanIdNumberInput, cleanPersonName, nfkc, normalizePhone, trimAll, type CleanProblem } from '../../core/ingest/clean.ts';
import { DEFAULT_DATE_FORMATS, parseCalendarDate, toOffsetDateTime } from '../../core/ingest/dates.ts';

export interface ColumnSpec {
  field: string;
  /** Date formats for this column (date fields). */
  formats?: string[];
  /** Accept Excel serial numbers typed as text (date fields). */
  allowSerial?: boolean;
  /** Accept legacy 15-digit ID numbers (idNumber). */
  allow15?: boolean;
  /** Label → code map for this column (applied before code tables). */
  map?: Record<string, string>;
  /** Missing column is not an error. */
  optional?: boolean;
}

export interface FieldContext {
  source: 'spreadsheet' | 'system';
  dateFormats: readonly string[];
  zone: string;
  allow15: boolean;
  valueMaps: Record<string, Record<string, string>>;
  contracts?: ContractRegistry;
  /** Date the ID numbers are checked against (default today). */
  at?: string;
}

export type CellResult = { value?: unknown; problems?: CleanProblem[] };
export type Cleaner = (raw: string) => CellResult;

const DATE_FIELDS = new Set(['birthDate', 'enrolmentDate', 'expectedGraduationDate', 'hireDate', 'startDate', 'endDate', 'beginDate', 'date']);
const DATETIME_FIELDS = new Set(['dateLastModified']);
const IDENTIFIER_FIELDS = new Set(['id', 'studentNumber', 'staffNumber', 'nationalStudentId', 'schoolId', 'classId', 'programId', 'orgId', 'parentId', 'code', 'username', 'identifier', 'areaCode', 'nativePlace']);
const NAME_FIELDS = new Set(['name', 'familyName', 'givenName', 'formerName']);

// Used when the registry has no such table (tests, trimmed deployments). The registry's tables win.
const BUILTIN_CODES: Record<string, Record<string, string>> = {
  sex: { 男: '1', 女: '2', 男性: '1', 女性: '2', 未知: '0', 未知的性别: '0', 未说明: '9', 未说明的性别: '9', M: '1', F: '2', male: '1', female: '2' },
  ethnicity: {
    汉族: '01', 蒙古族: '02', 回族: '03', 藏族: '04', 维吾尔族: '05', 苗族: '06', 彝族: '07', 壮族: '08', 布依族: '09',
    朝鲜族: '10', 满族: '11', 侗族: '12', 瑶族: '13', 白族: '14', 土家族: '15', 哈尼族: '16', 哈萨克族: '17', 傣族: '18', 黎族: '19',
  },
  idType: { 居民身份证: '1', 身份证: '1', 军官证: '2', 港澳台居民居住证: '3', 护照: '6', 其他: '9' },
  enrolmentStatus: { 在籍: 'enrolled', 在读: 'enrolled', 在校: 'enrolled', 休学: 'suspended', 退学: 'withdrawn', 毕业: 'graduated', 已毕业: 'graduated', 转学: 'transferred', 转出: 'transferred', 开除: 'expelled', 死亡: 'deceased' },
  educationLevel: { 中职: 'zhongzhi', 中等职业教育: 'zhongzhi', 高职: 'gaozhi-zhuanke', 高职专科: 'gaozhi-zhuanke', 专科: 'gaozhi-zhuanke', 高职本科: 'gaozhi-benke', 职业本科: 'gaozhi-benke' },
  studyMode: { 全日制: 'full-time', 非全日制: 'part-time' },
  employmentType: { 专任: 'full-time', 专职: 'full-time', 全职: 'full-time', 兼职: 'part-time', 企业导师: 'enterprise-mentor', 外聘: 'external' },
};
const CODE_TABLE_OF: Record<string, string> = { sex: 'GB2261.1', ethnicity: 'GB3304', idType: 'VOCHUB-ID-TYPE', nationality: 'ISO3166-1' };

const TRUE_LABELS = new Set(['是', '真', 'y', 'yes', 'true', '1', '√', '✓']);
const FALSE_LABELS = new Set(['否', '假', 'n', 'no', 'false', '0', '×', '✗']);

function problem(code: string, message: string, severity: CleanProblem['severity'] = 'error'): CellResult {
  return { problems: [{ code, severity, message }] };
}

function tableOf(contracts: ContractRegistry | undefined, name: string | undefined): CodeTable | undefined {
  if (contracts === undefined || name === undefined) return undefined;
  try {
    return contracts.codeTables().includes(name) ? contracts.codeTable(name) : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the cleaner of one mapped column. */
export function cleanerFor(spec: ColumnSpec, ctx: FieldContext): Cleaner {
  const field = spec.field;
  if (field === 'idNumber') {
    const allow15 = spec.allow15 ?? ctx.allow15;
    return (raw) => {
      const r = cleanIdNumberInput(raw, { source: ctx.source, allow15, at: ctx.at });
      return { value: r.value, problems: r.problems };
    };
  }
  if (DATE_FIELDS.has(field)) {
    const formats = spec.formats ?? ctx.dateFormats;
    const options = { allowSerial: spec.allowSerial === true };
    return (raw) => {
      if (trimAll(raw) === '') return {};
      const r = parseCalendarDate(raw, formats, options);
      return r.ok ? { value: r.date } : problem(r.code, r.message);
    };
  }
  if (DATETIME_FIELDS.has(field)) {
    return (raw) => {
      if (trimAll(raw) === '') return {};
      const r = toOffsetDateTime(raw, { zone: ctx.zone, formats: spec.formats });
      return r.ok ? { value: r.value } : problem(r.code, r.message);
    };
  }
  if (field === 'phone') {
    return (raw) => {
      const r = normalizePhone(raw);
      return { value: r.value, problems: r.problems };
    };
  }
  if (NAME_FIELDS.has(field)) {
    return (raw) => {
      const v = cleanPersonName(raw);
      return v === '' ? {} : { value: v };
    };
  }
  if (field === 'dualQualified') {
    return (raw) => {
      const v = nfkc(trimAll(raw)).toLowerCase();
      if (v === '') return {};
      if (TRUE_LABELS.has(v)) return { value: true };
      if (FALSE_LABELS.has(v)) return { value: false };
      return problem('VALUE_UNMAPPED', `无法识别的是/否值 / not a yes/no value`);
    };
  }
  const builtin = BUILTIN_CODES[field];
  const table = tableOf(ctx.contracts, CODE_TABLE_OF[field]);
  const local = { ...(ctx.valueMaps[field] ?? {}), ...(spec.map ?? {}) };
  const hasMaps = builtin !== undefined || table !== undefined || Object.keys(local).length > 0;
  if (hasMaps) {
    // Code columns have few distinct labels: remember each answer instead of asking the tables per row.
    const cache = new Map<string, CellResult>();
    const lookup: Cleaner = (raw) => {
      const v = nfkc(trimAll(raw));
      if (v === '') return {};
      const mapped = local[v] ?? table?.codeOf(v) ?? (v.endsWith('族') ? undefined : table?.codeOf(`${v}族`)) ?? builtin?.[v];
      if (mapped !== undefined) return { value: mapped };
      // Already a code (e.g. "1" for sex, "01" for ethnicity, "enrolled").
      if (table !== undefined ? table.has(v) : builtin !== undefined && Object.values(builtin).includes(v)) return { value: v };
      if (table === undefined && builtin === undefined) return { value: v };
      return problem('VALUE_UNMAPPED', `无法映射为代码的值 / value has no code mapping for ${field}`);
    };
    return (raw) => {
      let r = cache.get(raw);
      if (r === undefined) {
        r = lookup(raw);
        if (cache.size < 10_000) cache.set(raw, r);
      }
      return r;
    };
  }
  if (field === 'grade') {
    return (raw) => {
      const v = nfkc(trimAll(raw)).replace(/级$/, '');
      return v === '' ? {} : { value: v };
    };
  }
  if (IDENTIFIER_FIELDS.has(field) || field === 'programCode') {
    return (raw) => {
      const v = nfkc(trimAll(raw));
      return v === '' ? {} : { value: v };
    };
  }
  return (raw) => {
    const v = trimAll(raw);
    return v === '' ? {} : { value: v };
  };
}

export { DEFAULT_DATE_FORMATS };
