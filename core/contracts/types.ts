// Contract registry: canonical JSON Schemas (draft 2020-12) in contracts/, compiled once with ajv.

/** PII sensitivity classes carried by `x-pii`: drive encryption at rest, masking and logging. */
export type PiiClass = 'id-number' | 'phone' | 'birth-date' | 'address' | 'email' | 'name' | 'other';

export interface PiiField {
  /** Top-level property name of the contract (PII is only allowed on top-level properties). */
  field: string;
  class: PiiClass;
}

export interface ContractInfo {
  /** Entity name, e.g. `student`. */
  name: string;
  /** Major version, from the `$id` (`urn:vochub:contract:student:1`). */
  version: number;
  $id: string;
  title: string;
  /** Property that holds the source key (always `id`). */
  keyField: 'id';
  pii: PiiField[];
  /** Path of the schema file relative to the repository root. */
  file: string;
}

export interface FieldError {
  /** Stable code: CONTRACT_REQUIRED, CONTRACT_TYPE, CONTRACT_FORMAT, CONTRACT_PATTERN, CONTRACT_ENUM,
   * CONTRACT_ADDITIONAL, CONTRACT_LENGTH, CODE_TABLE_UNKNOWN, ID_NUMBER_INVALID, STRING_LONE_SURROGATE, ... */
  code: string;
  /** Field path without leading slash, e.g. `idNumber`, `roles/0/orgId`; '' for the record itself. */
  field: string;
  message: string;
  /** The offending value as a string, when there is one. */
  value?: string;
}

export type ValidationResult = { ok: true } | { ok: false; errors: FieldError[] };

export interface CodeEntry {
  code: string;
  label: string;
  /** Effective-dated tables (GB/T 2260): ISO dates; undefined = open. */
  validFrom?: string;
  validTo?: string;
  /** Codes that replaced a retired one. */
  successors?: string[];
}

export interface CodeTable {
  /** e.g. `GB3304`, `GB2261.1`, `GB2260`. */
  name: string;
  title: string;
  has(code: string, at?: string): boolean;
  get(code: string): CodeEntry | undefined;
  /** Label → code (exact label, then NFKC/trimmed label). */
  codeOf(label: string): string | undefined;
  entries(): Iterable<CodeEntry>;
}

export interface ContractRegistry {
  list(): ContractInfo[];
  /** Throws VochubError CONTRACT_UNKNOWN. */
  get(name: string): ContractInfo;
  has(name: string): boolean;
  validate(name: string, record: unknown): ValidationResult;
  codeTable(name: string): CodeTable;
  codeTables(): string[];
  /** The compiled schema object (for fastify / OpenAPI). */
  schema(name: string): Record<string, unknown>;
}
