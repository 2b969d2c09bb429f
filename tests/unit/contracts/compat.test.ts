import { describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCompatibility, checkContracts, newestRelease } from '../../../core/contracts/compat.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
type Schema = Record<string, any>;
const current = (name: string): Schema => JSON.parse(readFileSync(join(repoRoot, 'contracts', `${name}.v1.schema.json`), 'utf8'));
const clone = (s: Schema): Schema => structuredClone(s);
const breakCodes = (prev: Schema, next: Schema) => checkCompatibility(prev, next).breaks.map((b) => `${b.code} ${b.path}`);

describe('checkCompatibility', () => {
  const student = current('student');
  const person = current('person');

  it('an identical schema and an added optional property are compatible', () => {
    expect(checkCompatibility(student, clone(student))).toEqual({ ok: true, breaks: [] });
    const next = clone(student);
    next.properties.dormitory = { type: 'string', maxLength: 32 };
    expect(checkCompatibility(student, next).ok).toBe(true);
  });

  it('widening is compatible: longer maxLength, extra enum value, documentation changes', () => {
    const next = clone(person);
    next.$defs.name.maxLength = 128;
    next.$defs.name.description = '改了说明';
    next.$defs.name['x-jyt'] = 'changed';
    next.$defs.role.properties.role.enum.push('counsellor');
    expect(checkCompatibility(person, next)).toEqual({ ok: true, breaks: [] });
  });

  it('removing a property, adding a required one or changing the major version breaks', () => {
    const removed = clone(student);
    delete removed.properties.grade;
    expect(breakCodes(student, removed)).toEqual(['COMPAT_PROPERTY_REMOVED /properties/grade']);

    const required = clone(student);
    required.required.push('studentNumber');
    expect(breakCodes(student, required)).toEqual(['COMPAT_REQUIRED_ADDED /required']);

    const newRequired = clone(student);
    newRequired.properties.campusId = { type: 'string' };
    newRequired.required.push('campusId');
    expect(breakCodes(student, newRequired)).toEqual(['COMPAT_REQUIRED_ADDED /required']);

    const major = clone(student);
    major.$id = 'urn:vochub:contract:student:2';
    expect(breakCodes(student, major)).toEqual(['COMPAT_ID_CHANGED /$id']);
  });

  it('narrowing a type, an enum, a pattern or a length breaks', () => {
    const next = clone(person);
    next.$defs.name.maxLength = 32;
    next.$defs.ethnicity.pattern = '^[0-5][0-9]$';
    next.$defs.role.properties.role.enum = next.$defs.role.properties.role.enum.filter((r: string) => r !== 'mentor');
    next.$defs.role.properties.primary.type = 'null';
    next.$defs.phone.minLength = 5;
    expect(breakCodes(person, next).sort()).toEqual(
      [
        'COMPAT_LENGTH_NARROWED /$defs/name/maxLength',
        'COMPAT_PATTERN_CHANGED /$defs/ethnicity/pattern',
        'COMPAT_ENUM_NARROWED /$defs/role/properties/role/enum',
        'COMPAT_TYPE_NARROWED /$defs/role/properties/primary/type',
        'COMPAT_LENGTH_NARROWED /$defs/phone/minLength',
      ].sort(),
    );
  });

  it('changing a code table, a format, a $ref, PII class or another validation keyword breaks', () => {
    const next = clone(person);
    next.$defs.nativePlace['x-code-table'] = 'GB2260';
    next.$defs.birthDate.format = 'date-time';
    next.$defs.idNumber['x-pii'] = 'other';
    next.$defs.idNumber['x-gb11643'] = { typeField: 'idType', types: ['1', '3'] };
    next.properties.name.$ref = '#/$defs/familyName';
    delete next.$defs.formerName;
    expect(breakCodes(person, next).map((b) => b.split(' ')[0]).sort()).toEqual(
      ['COMPAT_CODE_TABLE_CHANGED', 'COMPAT_FORMAT_CHANGED', 'COMPAT_PII_CHANGED', 'COMPAT_KEYWORD_CHANGED', 'COMPAT_REF_CHANGED', 'COMPAT_DEF_REMOVED'].sort(),
    );
  });

  it('closing an open object breaks', () => {
    const next = clone(student);
    next.properties.extensions.additionalProperties = false;
    expect(breakCodes(student, next)).toEqual(['COMPAT_CLOSED /properties/extensions/additionalProperties']);
  });
});

describe('checkContracts', () => {
  it('the working tree is compatible with the newest release snapshot', () => {
    expect(newestRelease(repoRoot)).toBe('0.1.0');
    const result = checkContracts(repoRoot);
    expect(result.breaks).toEqual([]);
    expect(result).toMatchObject({ ok: true, release: '0.1.0' });
    expect(result.checked).toHaveLength(11);
  });

  it('reports breaks per file against the newest of several releases, including a removed contract', () => {
    const root = mkdtempSync(join(tmpdir(), 'vochub-compat-'));
    const contracts = join(root, 'contracts');
    mkdirSync(join(contracts, 'releases'), { recursive: true });
    for (const f of readdirSync(join(repoRoot, 'contracts')).filter((f) => f.endsWith('.schema.json'))) {
      cpSync(join(repoRoot, 'contracts', f), join(contracts, f));
    }
    cpSync(join(repoRoot, 'contracts', 'releases', '0.1.0'), join(contracts, 'releases', '0.1.0'), { recursive: true });
    const older = join(contracts, 'releases', '0.0.9');
    mkdirSync(older);
    writeFileSync(join(older, 'legacy.v1.schema.json'), '{}');

    const term = current('term');
    term.properties.title.maxLength = 10;
    writeFileSync(join(contracts, 'term.v1.schema.json'), JSON.stringify(term));
    rmSync(join(contracts, 'attendance.v1.schema.json'));

    const result = checkContracts(root);
    expect(result.release).toBe('0.1.0');
    expect(result.ok).toBe(false);
    expect(result.breaks.map((b) => `${b.file} ${b.code}`).sort()).toEqual([
      'attendance.v1.schema.json COMPAT_CONTRACT_REMOVED',
      'term.v1.schema.json COMPAT_LENGTH_NARROWED',
    ]);
    expect(result.report.filter((l) => l.includes('COMPAT_'))).toHaveLength(2);
  });

  it('with no release yet there is nothing to compare', () => {
    const root = mkdtempSync(join(tmpdir(), 'vochub-compat-'));
    expect(checkContracts(root)).toMatchObject({ ok: true, checked: [], breaks: [] });
  });
});
