// Our own ajv keywords and formats. Registered on every contract Ajv instance (see registry.ts).
import type { Ajv, AnySchemaObject, ErrorObject, FuncKeywordDefinition } from 'ajv';
import type { DataValidateFunction, DataValidationCxt } from 'ajv/dist/types/index.js';
import type { CodeTable, PiiClass } from './types.ts';
import type { AreaCodeTable, CodeTableSet } from './code-tables.ts';
import { checkIdNumber, todayIso } from './id-number.ts';
import { checkUscc } from './uscc.ts';

export const PII_CLASSES: readonly PiiClass[] = ['id-number', 'phone', 'birth-date', 'address', 'email', 'name', 'other'];

/** Annotation-only keywords: carried in the schema, ignored by validation. */
export const ANNOTATION_KEYWORDS = ['x-jyt', 'x-oneroster', 'x-edfi'] as const;

// RFC 3339 §5.6 date-time, offset mandatory and written ±HH:MM or Z. ajv-formats 3 also accepts
// `+08` and a space separator (C41), which our contracts refuse: the pipeline converts local
// times to an explicit offset before validation.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function isRfc3339DateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && leap ? 29 : DAYS[month]!)) return false;
  const hour = +m[4]!;
  const minute = +m[5]!;
  const second = +m[6]!;
  if (m[8] !== undefined && (+m[8] > 23 || +m[9]! > 59)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (second === 60) {
    // A leap second exists only at 23:59:60 UTC.
    const sign = m[7] === '-' ? -1 : 1;
    const utcMinutes = (((hour * 60 + minute - sign * (+(m[8] ?? 0) * 60 + +(m[9] ?? 0))) % 1440) + 1440) % 1440;
    return utcMinutes === 23 * 60 + 59;
  }
  return true;
}

const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** True when the string holds an unpaired UTF-16 surrogate (what a UTF-16 slice of 𠮷 leaves behind). */
export function hasLoneSurrogate(value: string): boolean {
  return hasIsWellFormed ? !(value as unknown as { isWellFormed(): boolean }).isWellFormed() : LONE_SURROGATE.test(value);
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function collectLoneSurrogates(value: unknown, path: string, out: ErrorObject[]): void {
  if (typeof value === 'string') {
    if (hasLoneSurrogate(value)) out.push(surrogateError(path));
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) collectLoneSurrogates(value[i], `${path}/${i}`, out);
  } else if (value !== null && typeof value === 'object') {
    for (const key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      const child = `${path}/${escapePointer(key)}`;
      if (hasLoneSurrogate(key)) out.push(surrogateError(child));
      collectLoneSurrogates((value as Record<string, unknown>)[key], child, out);
    }
  }
}

function surrogateError(instancePath: string): ErrorObject {
  return {
    keyword: 'x-well-formed',
    instancePath,
    schemaPath: '',
    params: {},
    message: '字符串含有孤立代理项（被截断的字符） / string contains a lone UTF-16 surrogate (a truncated character)',
  };
}

interface CodeTableRef {
  table: string;
  /** `now` (default): the code must be valid today; `any`: valid at any time in the table's history. */
  validAt?: 'now' | 'any';
}


function isAreaTable(table: CodeTable): table is AreaCodeTable {
  return typeof (table as Partial<AreaCodeTable>).everExisted === 'function';
}

type CompiledKeyword = DataValidateFunction & { errors?: Partial<ErrorObject>[] | null };

/** Registers x-pii, x-jyt, x-oneroster, x-edfi, x-code-table, x-gb11643, x-gb32100, x-date-order, x-well-formed and the formats. */
export function addVochubKeywords(ajv: Ajv, codeTables: CodeTableSet): void {
  ajv.addKeyword({ keyword: 'x-pii', metaSchema: { enum: [...PII_CLASSES] } });
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({ keyword, metaSchema: { type: 'string' } });

  // Strict RFC 3339 date-time (C41) and GB 11643 ID numbers as a format.
  ajv.addFormat('date-time', { type: 'string', validate: isRfc3339DateTime });
  ajv.addFormat('gb11643', {
    type: 'string',
    validate: (value: string) => {
      const r = checkIdNumber(value);
      return r.ok && r.normalized === value;
    },
  });

  const codeTable: FuncKeywordDefinition = {
    keyword: 'x-code-table',
    type: 'string',
    errors: true,
    metaSchema: {
      anyOf: [
        { type: 'string' },
        {
          type: 'object',
          required: ['table'],
          additionalProperties: false,
          properties: { table: { type: 'string' }, validAt: { enum: ['now', 'any'] } },
        },
      ],
    },
    compile(schema: string | CodeTableRef) {
      const ref: CodeTableRef = typeof schema === 'string' ? { table: schema } : schema;
      const table = codeTables.tables.get(ref.table);
      if (!table) throw new Error(`x-code-table: unknown code table "${ref.table}"`);
      const message = `代码不在代码表 ${ref.table} 中 / code is not in code table ${ref.table}`;
      let fn: CompiledKeyword;
      if (isAreaTable(table)) {
        fn = ref.validAt === 'any' ? (data: string) => table.everExisted(data) : (data: string) => table.has(data, todayIso());
      } else {
        fn = (data: string) => table.has(data);
      }
      const check: CompiledKeyword = (data: unknown) => {
        if (fn(data as string)) return true;
        check.errors = [{ keyword: 'x-code-table', message, params: { table: ref.table } }];
        return false;
      };
      return check;
    },
  };
  ajv.addKeyword(codeTable);

  // idNumber validity depends on idType, so the keyword reads the parent object.
  ajv.addKeyword({
    keyword: 'x-gb11643',
    type: 'string',
    errors: true,
    metaSchema: {
      type: 'object',
      additionalProperties: false,
      properties: { typeField: { type: 'string' }, types: { type: 'array', items: { type: 'string' } } },
    },
    compile(schema: { typeField?: string; types?: string[] }) {
      const typeField = schema.typeField;
      const types = new Set(schema.types ?? ['1']);
      const check: CompiledKeyword = (data: unknown, cxt?: DataValidationCxt) => {
        if (typeField !== undefined) {
          const parent = cxt?.parentData as Record<string, unknown> | undefined;
          const type = parent?.[typeField];
          if (type !== undefined && !types.has(String(type))) return true;
        }
        const r = checkIdNumber(data as string);
        if (r.ok && r.normalized === data) return true;
        const message = r.ok
          ? '身份证号须为18位规范形式（大写X） / ID number must be in 18-character canonical form (uppercase X)'
          : `${r.message} [${r.code}]`;
        check.errors = [{ keyword: 'x-gb11643', message, params: { reason: r.ok ? 'ID_NOT_CANONICAL' : r.code } }];
        return false;
      };
      return check;
    },
  });

  // 统一社会信用代码 (GB 32100): the check character is arithmetic, which JSON Schema cannot express.
  ajv.addKeyword({
    keyword: 'x-gb32100',
    type: 'string',
    errors: true,
    metaSchema: { const: true },
    compile() {
      const check: CompiledKeyword = (data: unknown) => {
        const r = checkUscc(data as string);
        if (r.ok) return true;
        check.errors = [{ keyword: 'x-gb32100', message: `${r.message} [${r.code}]`, params: { reason: r.code } }];
        return false;
      };
      return check;
    },
  });

  // A period inside one object: `end` on or after `start` (both YYYY-MM-DD, so string order is date order).
  // Absent or malformed dates are left to `required` and `format`.
  ajv.addKeyword({
    keyword: 'x-date-order',
    type: 'object',
    errors: true,
    metaSchema: {
      type: 'object',
      required: ['start', 'end'],
      additionalProperties: false,
      properties: { start: { type: 'string' }, end: { type: 'string' } },
    },
    compile(schema: { start: string; end: string }) {
      const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
      const check: CompiledKeyword = (data: unknown, cxt?: DataValidationCxt) => {
        const record = data as Record<string, unknown>;
        const start = record[schema.start];
        const end = record[schema.end];
        if (typeof start !== 'string' || typeof end !== 'string' || !ISO_DATE.test(start) || !ISO_DATE.test(end) || end >= start) return true;
        check.errors = [
          {
            keyword: 'x-date-order',
            instancePath: `${cxt?.instancePath ?? ''}/${escapePointer(schema.end)}`,
            message: `${schema.end} 早于 ${schema.start} / ${schema.end} is before ${schema.start}`,
            params: { start: schema.start, end: schema.end },
          },
        ];
        return false;
      };
      return check;
    },
  });

  ajv.addKeyword({
    keyword: 'x-well-formed',
    errors: true,
    metaSchema: { const: true },
    compile() {
      const check: CompiledKeyword = (data: unknown, cxt?: DataValidationCxt) => {
        const out: ErrorObject[] = [];
        collectLoneSurrogates(data, cxt?.instancePath ?? '', out);
        if (out.length === 0) return true;
        check.errors = out;
        return false;
      };
      return check;
    },
  });
}

export type { AnySchemaObject };
