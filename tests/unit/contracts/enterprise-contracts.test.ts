// The enterprise-side contracts (issue 5): each accepts a realistic record and refuses the mistakes
// HR exports and hand-kept internship sheets really make.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { getSharedRegistry } from '../../../core/contracts/registry.ts';
import { checkUscc, usccCheckChar } from '../../../core/contracts/uscc.ts';
import type { ValidationResult } from '../../../core/contracts/types.ts';

const registry = getSharedRegistry();
const valid = JSON.parse(readFileSync(new URL('./fixtures/valid-records.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;

function codes(result: ValidationResult): string[] {
  if (result.ok) throw new Error('expected the record to be rejected');
  return result.errors.map((e) => `${e.code}@${e.field}`);
}

describe('统一社会信用代码 (GB 32100)', () => {
  it('accepts published codes and computes their check character', () => {
    for (const code of ['91350100M000100Y43', '911100007109288314', '91110000100006485K']) {
      expect(checkUscc(code)).toEqual({ ok: true, normalized: code });
      expect(usccCheckChar(code.slice(0, 17))).toBe(code[17]);
    }
  });

  it('names the reason: wrong check character, forbidden letters, wrong length', () => {
    expect(checkUscc('911100007109288315')).toMatchObject({ ok: false, code: 'USCC_CHECK_CHAR' });
    expect(checkUscc('91110000710928831O')).toMatchObject({ ok: false, code: 'USCC_CHARSET' });
    expect(checkUscc('9111000071092883')).toMatchObject({ ok: false, code: 'USCC_LENGTH' });
  });
});

describe('enterprise contracts', () => {
  it('enterprise refuses a USCC with a bad check character, an unknown GB/T 4754 code and a lower-case code', () => {
    const e = valid.enterprise!;
    expect(codes(registry.validate('enterprise', { ...e, uscc: '911100007109288315' }))).toEqual(['USCC_INVALID@uscc']);
    const r = registry.validate('enterprise', { ...e, uscc: '911100007109288315' });
    expect(!r.ok && r.errors[0]!.message).toContain('USCC_CHECK_CHAR');
    expect(codes(registry.validate('enterprise', { ...e, industryCode: '9999' }))).toEqual(['CODE_TABLE_UNKNOWN@industryCode']);
    expect(codes(registry.validate('enterprise', { ...e, uscc: '91350100m000100y43' }))).toContain('CONTRACT_PATTERN@uscc');
    expect(registry.validate('enterprise', { ...e, industryCode: 'C' })).toEqual({ ok: true });
  });

  it('employee keeps 64-bit ids as strings (C17) and its PII comes from person', () => {
    const e = valid.employee!;
    expect(codes(registry.validate('employee', { ...e, id: 1693745891234567890 }))).toContain('CONTRACT_TYPE@id');
    expect(codes(registry.validate('employee', { ...e, managerId: 1693745891234567891 }))).toContain('CONTRACT_TYPE@managerId');
    expect(registry.get('employee').pii.map((p) => p.field).sort()).toEqual(['birthDate', 'email', 'familyName', 'givenName', 'idNumber', 'name', 'nameEn', 'phone'].sort());
    // A foreign national ID (AdventureWorks NationalIDNumber) is stored with idType 9 and skips the GB 11643 check.
    expect(registry.validate('employee', { ...e, idType: '9', idNumber: '295847284' })).toEqual({ ok: true });
    expect(codes(registry.validate('employee', { ...e, idNumber: '295847284' }))).toEqual(['ID_NUMBER_INVALID@idNumber']);
    expect(codes(registry.validate('employee', { ...e, hireDate: '2019-07-01', endDate: '2018-01-01' }))).toEqual(['CONTRACT_DATE_ORDER@endDate']);
  });

  it('mentor and position refuse out-of-range levels, occupation codes and periods', () => {
    expect(codes(registry.validate('mentor', { ...valid.mentor, skillLevel: '6' }))).toEqual(['CONTRACT_ENUM@skillLevel']);
    expect(codes(registry.validate('mentor', { ...valid.mentor, startDate: '2026-09-01', endDate: '2023-08-31' }))).toEqual(['CONTRACT_DATE_ORDER@endDate']);
    expect(codes(registry.validate('position', { ...valid.position, occupationCode: '6.18.01' }))).toEqual(['CONTRACT_PATTERN@occupationCode']);
    const { title: _title, ...untitled } = valid.position!;
    expect(codes(registry.validate('position', untitled))).toEqual(['CONTRACT_REQUIRED@title']);
  });

  it('internship knows the three kinds and refuses a period that ends before it starts', () => {
    for (const type of ['cognitive', 'shadowing', 'placement']) expect(registry.validate('internship', { ...valid.internship, type })).toEqual({ ok: true });
    expect(codes(registry.validate('internship', { ...valid.internship, type: 'summer-job' }))).toEqual(['CONTRACT_ENUM@type']);
    expect(codes(registry.validate('internship', { ...valid.internship, startDate: '2025-08-31', endDate: '2025-03-01' }))).toEqual(['CONTRACT_DATE_ORDER@endDate']);
    expect(codes(registry.validate('internship', { ...valid.internship, monthlyAllowance: 2400 }))).toEqual(['CONTRACT_TYPE@monthlyAllowance']);
    // Same-day periods are fine (a one-day 认识实习 visit).
    expect(registry.validate('internship', { ...valid.internship, type: 'cognitive', startDate: '2025-03-01', endDate: '2025-03-01' })).toEqual({ ok: true });
  });

  it('apprenticeship needs student, enterprise, school, mentor and the period', () => {
    const { mentorId: _m, schoolId: _s, ...partial } = valid.apprenticeship!;
    expect(codes(registry.validate('apprenticeship', partial)).sort()).toEqual(['CONTRACT_REQUIRED@mentorId', 'CONTRACT_REQUIRED@schoolId']);
    expect(codes(registry.validate('apprenticeship', { ...valid.apprenticeship, endDate: '2024-08-31' }))).toEqual(['CONTRACT_DATE_ORDER@endDate']);
  });
});
