import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import {
  addAndCompileSchemaFiles,
  defaultContractsDir,
  getSharedAjv,
  getSharedRegistry,
  loadContracts,
} from '../../../core/contracts/registry.ts';
import { defaultCodeTables } from '../../../core/contracts/code-tables.ts';
import { isRfc3339DateTime } from '../../../core/contracts/keywords.ts';
import { isVochubError, type VochubError } from '../../../core/errors.ts';

const casesDir = fileURLToPath(new URL('../../fixtures/cases/', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const readCase = <T>(file: string): T => JSON.parse(readFileSync(join(casesDir, file), 'utf8')) as T;
const registry = getSharedRegistry();

function thrown(fn: () => unknown): VochubError {
  try {
    fn();
  } catch (error) {
    if (isVochubError(error)) return error;
    throw error;
  }
  throw new Error('expected a VochubError');
}

describe('C13: lengths count characters, lone surrogates are rejected', () => {
  const input = readCase<{ contract: Record<string, any>; records: Record<string, unknown>[] }>('C13-non-bmp-name.json');

  it('the case contract, written as a vochub contract, accepts records 1–2 and rejects record 3', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-c13-'));
    const { $schema: _draft07, ...rest } = input.contract;
    const contract = {
      ...rest,
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'urn:vochub:contract:c13:1',
      'x-well-formed': true,
      additionalProperties: false,
      required: ['id', ...rest.required],
      properties: { id: { type: 'string' }, extensions: { type: 'object' }, ...rest.properties },
    };
    writeFileSync(join(dir, 'c13.v1.schema.json'), JSON.stringify(contract));
    const c13 = loadContracts({ dir, codeTables: defaultCodeTables() });
    const results = input.records.map((r, i) => c13.validate('c13', { id: String(i), ...r }));
    expect(results[0]).toEqual({ ok: true });
    expect(results[1]).toEqual({ ok: true });
    expect(results[2]).toMatchObject({ ok: false, errors: [{ code: 'STRING_LONE_SURROGATE', field: 'name', value: '欧阳\\uD842' }] });
  });

  it('the canonical person contract counts name length in code points and rejects lone surrogates anywhere', () => {
    const person = { id: 'P1', name: '欧阳𠮷𠮷' };
    expect(registry.validate('person', person)).toEqual({ ok: true });
    expect(registry.validate('person', { ...person, name: '𠮷'.repeat(64) })).toEqual({ ok: true });
    expect(registry.validate('person', { ...person, name: '𠮷'.repeat(65) })).toMatchObject({ ok: false, errors: [{ code: 'CONTRACT_LENGTH', field: 'name' }] });
    for (const record of [
      { ...person, name: input.records[2]!.name },
      { ...person, address: '北京\udfb7' },
      { ...person, extensions: { note: ['ok', '\ud842'] } },
      { ...person, extensions: { ['key\ud842']: 'v' } },
    ]) {
      const r = registry.validate('person', record);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.map((e) => e.code)).toContain('STRING_LONE_SURROGATE');
    }
  });
});

describe('C41: date-time needs an RFC 3339 offset', () => {
  const input = readCase<{ schema: Record<string, unknown>; instances: { submittedAt: string }[] }>('C41-ajv-datetime-no-tz.json');
  const expected = [false, false, true, true, false, false];

  it('the shared Ajv accepts only the +08:00 and Z forms of the case values', () => {
    const { $schema: _draft07, ...schema } = input.schema;
    const validate = getSharedAjv().compile(schema);
    expect(input.instances.map((i) => validate(i))).toEqual(expected);
  });

  it('a contract date-time field reports CONTRACT_FORMAT for the offset-less and malformed values', () => {
    const base = { id: 'A1', studentId: 'S1', date: '2024-03-01', category: 'present' };
    const results = input.instances.map((i) => registry.validate('attendance', { ...base, recordedAt: i.submittedAt }));
    expect(results.map((r) => r.ok)).toEqual(expected);
    for (const r of results) if (!r.ok) expect(r.errors).toMatchObject([{ code: 'CONTRACT_FORMAT', field: 'recordedAt' }]);
  });

  it('refuses impossible dates, times and offsets, and allows a leap second only at 23:59:60 UTC', () => {
    expect(isRfc3339DateTime('2024-02-30T08:00:00+08:00')).toBe(false);
    expect(isRfc3339DateTime('2024-03-01T24:00:00Z')).toBe(false);
    expect(isRfc3339DateTime('2024-03-01T08:00:00+24:00')).toBe(false);
    expect(isRfc3339DateTime('2016-12-31T23:59:60Z')).toBe(true);
    expect(isRfc3339DateTime('2017-01-01T07:59:60+08:00')).toBe(true);
    expect(isRfc3339DateTime('2024-03-01T08:59:60+08:00')).toBe(false);
  });

  it('ajv and ajv-formats stay pinned to exact versions (format semantics changed between releases)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.ajv).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies['ajv-formats']).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('C43: $ref across contract files', () => {
  const person = join(casesDir, 'C43-ajv-ref-person.schema.json');
  const student = join(casesDir, 'C43-ajv-ref-student.schema.json');

  it('resolves relative refs against $id from local files, with no network', () => {
    const ajv = new Ajv({ allErrors: true });
    const [, compiledStudent] = addAndCompileSchemaFiles(ajv, [person, student], repoRoot);
    const validate = compiledStudent!.validate;
    expect(validate({ studentNo: '2023430101', person: { name: '张三' }, guardian: { name: '张父', phone: '13800138000' } })).toBe(true);
    expect(validate({ studentNo: '2023430101', person: { idNumber: 'x' } })).toBe(false);
    expect(validate({ studentNo: '2023430101', person: { name: '张三' }, guardian: { phone: 13800138000 } })).toBe(false);
  });

  it('fails fast naming the file and the ref when the referenced file is missing', () => {
    const error = thrown(() => addAndCompileSchemaFiles(new Ajv(), [student], repoRoot));
    expect(error.code).toBe('CONTRACT_REF_UNRESOLVED');
    expect(error.details).toMatchObject({ file: 'tests/fixtures/cases/C43-ajv-ref-student.schema.json' });
    expect(String(error.details?.ref)).toContain('person.schema.json');
  });

  it('refuses to boot the registry when student.v1 cannot resolve person.v1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vochub-c43-'));
    writeFileSync(join(dir, 'student.v1.schema.json'), readFileSync(join(defaultContractsDir(), 'student.v1.schema.json')));
    const error = thrown(() => loadContracts({ dir, codeTables: defaultCodeTables() }));
    expect(error.code).toBe('CONTRACT_REF_UNRESOLVED');
    expect(String(error.details?.file)).toMatch(/student\.v1\.schema\.json$/);
    expect(String(error.details?.ref)).toContain('urn:vochub:contract:person:1');
  });

  it('the canonical student contract validates person fields reached through $ref', () => {
    const r = registry.validate('student', { id: 'S1', name: '张三', sex: '7' });
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'CODE_TABLE_UNKNOWN', field: 'sex' }] });
  });
});
