import { describe, expect, it } from 'vitest';
import { fitKey, joinKeys, keyOf, MAX_KEY_LENGTH, normalizeSchoolYear, sectionKey } from './keys.ts';

describe('edfi-xml keys', () => {
  it('escapes separators inside components so different tuples never share a key', () => {
    expect(keyOf('a/b', 'c')).not.toBe(keyOf('a', 'b/c'));
    expect(keyOf('a%2Fb')).not.toBe(keyOf('a/b'));
    expect(keyOf('255901001', '2021-2022 Fall Semester')).toBe('255901001/2021-2022 Fall Semester');
  });

  it('keeps short keys readable and fits long ones into the contract id length deterministically', () => {
    const long = sectionKey('255901001', '2021-2022', '2021-2022 Fall Semester', 'ALG-1', 'X'.repeat(200));
    expect([...long].length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(sectionKey('255901001', '2021-2022', '2021-2022 Fall Semester', 'ALG-1', 'X'.repeat(200))).toBe(long);
    expect(sectionKey('255901001', '2021-2022', '2021-2022 Fall Semester', 'ALG-1', `${'X'.repeat(199)}Y`)).not.toBe(long);
    expect(fitKey('short/key')).toBe('short/key');
    const joined = joinKeys(keyOf('student', '900001'), long, keyOf('2021-08-23'));
    expect([...joined].length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    const astral = '𠀀'.repeat(100);
    expect(fitKey(astral)).toBe(astral);
  });

  it('writes an ending-year school year as a span', () => {
    expect(normalizeSchoolYear('2022')).toBe('2021-2022');
    expect(normalizeSchoolYear('2021-2022')).toBe('2021-2022');
  });
});
