import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseJsonSafe } from '../../../core/ingest/json.ts';

const c17 = readFileSync(resolve(import.meta.dirname, '../../fixtures/cases/C17-bigint-ids.json'), 'utf8');

describe('big-integer-safe JSON (case C17)', () => {
  it('refuses numbers a double would round, naming each path', () => {
    const result = parseJsonSafe(c17);
    expect(result.ok).toBe(false);
    if (result.ok || result.code !== 'JSON_UNSAFE_NUMBER') throw new Error('expected JSON_UNSAFE_NUMBER');
    expect(result.numbers).toEqual([
      { path: 'data/0/employeeId', digits: '1693745891234567890' },
      { path: 'data/0/mentorId', digits: '1693745891234567891' },
      { path: 'data/1/employeeId', digits: '1693745891234567891' },
    ]);
  });

  it('keeps the exact digits as strings when asked, so the mentor link still points at the mentor', () => {
    const result = parseJsonSafe(c17, { unsafe: 'string' });
    if (!result.ok) throw new Error(result.message);
    const data = (result.value as { data: { employeeId: string; mentorId: string | null; name: string }[] }).data;
    expect(data[0]!.employeeId).not.toBe(data[1]!.employeeId);
    const mentor = data.find((e) => e.employeeId === data[0]!.mentorId);
    expect(mentor?.name).toBe('带教师傅乙');
    // The plain parser is what goes wrong: shown here so the test fails if the fixture stops exercising it.
    const naive = JSON.parse(c17) as { data: { employeeId: number }[] };
    expect(naive.data[0]!.employeeId).toBe(naive.data[1]!.employeeId);
  });

  it('leaves safe numbers as numbers and reports syntax errors with their position', () => {
    expect(parseJsonSafe('{"code":0,"n":9007199254740991,"x":1.5}')).toEqual({ ok: true, value: { code: 0, n: 9007199254740991, x: 1.5 } });
    const bad = parseJsonSafe('{"a": [1, 2,, 3]}');
    expect(bad).toMatchObject({ ok: false, code: 'JSON_SYNTAX' });
    expect((bad as { position?: number }).position).toBeGreaterThan(0);
  });
});
