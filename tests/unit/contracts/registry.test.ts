import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ajvOf, defaultContractsDir, getSharedAjv, getSharedRegistry, loadContracts } from '../../../core/contracts/registry.ts';
import { defaultCodeTables } from '../../../core/contracts/code-tables.ts';
import { isVochubError, VochubError } from '../../../core/errors.ts';
import type { FieldError, ValidationResult } from '../../../core/contracts/types.ts';

const registry = getSharedRegistry();
const valid = JSON.parse(readFileSync(new URL('./fixtures/valid-records.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
const CONTRACTS = [
  'organization', 'person', 'student', 'staff', 'program', 'course', 'section', 'term', 'enrollment', 'result', 'attendance',
  'enterprise', 'employee', 'mentor', 'position', 'internship', 'apprenticeship',
];

function errorsOf(result: ValidationResult): FieldError[] {
  if (result.ok) throw new Error('expected the record to be rejected');
  return result.errors;
}

function codes(result: ValidationResult): string[] {
  return errorsOf(result).map((e) => `${e.code}@${e.field}`);
}

function thrown(fn: () => unknown): VochubError {
  try {
    fn();
  } catch (error) {
    if (isVochubError(error)) return error;
    throw error;
  }
  throw new Error('expected a VochubError');
}

describe('contract registry', () => {
  it('loads every canonical contract with its $id, major version and file', () => {
    expect(registry.list().map((c) => c.name).sort()).toEqual([...CONTRACTS].sort());
    for (const name of CONTRACTS) {
      const info = registry.get(name);
      expect(info).toMatchObject({ name, version: 1, $id: `urn:vochub:contract:${name}:1`, keyField: 'id', file: `contracts/${name}.v1.schema.json` });
      expect(registry.has(name)).toBe(true);
      expect(registry.schema(name).$id).toBe(info.$id);
    }
    expect(registry.has('nope')).toBe(false);
    expect(thrown(() => registry.get('nope')).code).toBe('CONTRACT_UNKNOWN');
  });

  it.each(CONTRACTS)('%s accepts a realistic record', (name) => {
    expect(registry.validate(name, valid[name])).toEqual({ ok: true });
  });

  it.each(CONTRACTS)('%s rejects a missing id, unknown fields and wrong types', (name) => {
    const { id: _id, ...withoutId } = valid[name]!;
    expect(codes(registry.validate(name, { ...withoutId, surprise: 'x', status: 1 }))).toEqual(
      expect.arrayContaining(['CONTRACT_REQUIRED@id', 'CONTRACT_ADDITIONAL@surprise', 'CONTRACT_TYPE@status']),
    );
    expect(codes(registry.validate(name, { ...valid[name], id: 12345 }))).toContain('CONTRACT_TYPE@id');
  });

  it('collects PII fields from x-pii, through $ref into person for student and staff', () => {
    const classes = (name: string) => Object.fromEntries(registry.get(name).pii.map((p) => [p.field, p.class]));
    for (const name of ['person', 'student', 'staff']) {
      expect(classes(name)).toMatchObject({ name: 'name', idNumber: 'id-number', birthDate: 'birth-date', phone: 'phone', email: 'email', address: 'address' });
      expect(classes(name)).not.toHaveProperty('sex');
    }
    expect(classes('organization')).toEqual({ address: 'address', phone: 'phone' });
    expect(registry.get('course').pii).toEqual([]);
  });

  it('maps ajv errors to stable codes, slash-free paths and the offending value', () => {
    const bad = {
      ...valid.student,
      sex: '3',
      ethnicity: '57',
      nationality: 'ZZZ',
      birthDate: '2005-02-30',
      grade: '23',
      educationLevel: 'university',
      roles: [{ role: 'student' }],
    };
    const errors = errorsOf(registry.validate('student', bad));
    expect(errors.map((e) => `${e.code}@${e.field}`)).toEqual(
      expect.arrayContaining([
        'CODE_TABLE_UNKNOWN@sex',
        'CODE_TABLE_UNKNOWN@ethnicity',
        'CODE_TABLE_UNKNOWN@nationality',
        'CONTRACT_FORMAT@birthDate',
        'CONTRACT_PATTERN@grade',
        'CONTRACT_ENUM@educationLevel',
        'CONTRACT_REQUIRED@roles/0/orgId',
      ]),
    );
    expect(errors.find((e) => e.field === 'sex')).toMatchObject({ value: '3' });
    for (const e of errors) {
      expect(e.field.startsWith('/')).toBe(false);
      expect(e.message).toMatch(/[\u4e00-\u9fff].* \/ /u);
    }
  });

  it('checks idNumber against GB 11643 only for 居民身份证 or when idType is absent', () => {
    const person = valid.person!;
    expect(codes(registry.validate('person', { ...person, idNumber: '110101200509011250' }))).toEqual(['ID_NUMBER_INVALID@idNumber']);
    const { idType: _t, ...noType } = person;
    expect(codes(registry.validate('person', { ...noType, idNumber: '110101200509011250' }))).toEqual(['ID_NUMBER_INVALID@idNumber']);
    // Stored form is canonical: the pipeline upper-cases x before validation.
    expect(codes(registry.validate('person', { ...person, idNumber: '11010120050901109x' }))).toEqual(['ID_NUMBER_INVALID@idNumber']);
    expect(registry.validate('person', { ...person, idType: '6', idNumber: 'E12345678' })).toEqual({ ok: true });
    expect(codes(registry.validate('person', { ...person, idType: '5' }))).toEqual(['CODE_TABLE_UNKNOWN@idType']);
  });

  it('accepts retired GB2260 codes for native place but only current ones for an organization location', () => {
    expect(registry.validate('person', { ...valid.person, nativePlace: '110103' })).toEqual({ ok: true });
    expect(codes(registry.validate('organization', { ...valid.organization, areaCode: '110103' }))).toEqual(['CODE_TABLE_UNKNOWN@areaCode']);
    expect(registry.validate('organization', { ...valid.organization, areaCode: '110101' })).toEqual({ ok: true });
  });

  it('requires a score or a letter grade on a result', () => {
    const { score: _s, letterGrade: _l, ...bare } = valid.result!;
    expect(codes(registry.validate('result', bare))).toEqual(expect.arrayContaining(['CONTRACT_REQUIRED@score', 'CONTRACT_REQUIRED@letterGrade']));
    expect(codes(registry.validate('result', { ...valid.result, score: 87.5 }))).toContain('CONTRACT_TYPE@score');
  });

  it('exposes code tables and the shared Ajv instance with every contract compiled', () => {
    expect(registry.codeTables()).toEqual(expect.arrayContaining(['GB2261.1', 'GB3304', 'GB2260', 'ISO3166-1']));
    expect(registry.codeTable('GB3304').codeOf('汉族')).toBe('01');
    expect(thrown(() => registry.codeTable('GB0000')).code).toBe('CODE_TABLE_UNKNOWN_TABLE');
    const ajv = getSharedAjv();
    expect(ajv).toBe(ajvOf(registry));
    const validateStudent = ajv.getSchema('urn:vochub:contract:student:1');
    expect(validateStudent?.(valid.student)).toBe(true);
    // A route schema can reference a contract by $id.
    const body = ajv.compile({ type: 'object', properties: { person: { $ref: 'urn:vochub:contract:person:1' } } });
    expect(body({ person: valid.person })).toBe(true);
    expect(body({ person: { id: 'x' } })).toBe(false);
  });

  it('fails fast at boot on a contract that breaks the conventions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-contracts-'));
    const schema = JSON.parse(readFileSync(join(defaultContractsDir(), 'course.v1.schema.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'course.v1.schema.json'), JSON.stringify({ ...schema, additionalProperties: true }));
    const error = thrown(() => loadContracts({ dir, codeTables: defaultCodeTables() }));
    expect(error.code).toBe('CONTRACT_INVALID');
    expect(error.message).toContain('course.v1.schema.json');
  });

  it('fails fast on an unknown keyword (strict mode) and on x-pii below the top level', () => {
    const base = JSON.parse(readFileSync(join(defaultContractsDir(), 'term.v1.schema.json'), 'utf8')) as Record<string, any>;
    const typo = mkdtempSync(join(tmpdir(), 'vochub-contracts-'));
    writeFileSync(join(typo, 'term.v1.schema.json'), JSON.stringify({ ...base, properties: { ...base.properties, title: { type: 'string', maxLenght: 3 } } }));
    expect(thrown(() => loadContracts({ dir: typo, codeTables: defaultCodeTables() })).code).toBe('CONTRACT_INVALID');

    const nested = mkdtempSync(join(tmpdir(), 'vochub-contracts-'));
    const props = { ...base.properties, parts: { type: 'array', items: { type: 'object', properties: { phone: { type: 'string', 'x-pii': 'phone' } } } } };
    writeFileSync(join(nested, 'term.v1.schema.json'), JSON.stringify({ ...base, properties: props }));
    expect(thrown(() => loadContracts({ dir: nested, codeTables: defaultCodeTables() })).code).toBe('CONTRACT_PII_NESTED');
  });

  it('loads a copy of the contracts folder with its own code tables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-contracts-'));
    for (const f of readdirSync(defaultContractsDir()).filter((f) => f.endsWith('.schema.json'))) copyFileSync(join(defaultContractsDir(), f), join(dir, f));
    const copy = loadContracts({ dir, codeTablesDir: join(defaultContractsDir(), 'code-tables') });
    expect(copy.validate('student', valid.student)).toEqual({ ok: true });
    expect(ajvOf(copy)).not.toBe(getSharedAjv());
  });
});
