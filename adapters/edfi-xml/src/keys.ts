import { createHash } from 'node:crypto';

// Ed-Fi identifies most entities by composite natural keys. We flatten each into one stable, readable string:
// components joined by '/', with '%' and '/' inside a component percent-escaped so that no two different
// tuples can ever produce the same key.

export function keyOf(...parts: string[]): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i > 0) out += '/';
    out += part.includes('%') || part.includes('/') ? part.replace(/%/g, '%25').replace(/\//g, '%2F') : part;
  }
  return out;
}

/** Contract ids are at most 128 characters (code points). */
export const MAX_KEY_LENGTH = 128;
const KEEP_PREFIX = 80;

/**
 * Keeps a key readable when it fits; otherwise its first 80 characters, '#', and 32 base64url characters of its
 * SHA-256 (192 bits): deterministic, so every reference built from the same natural key gets the same id.
 */
export function fitKey(key: string): string {
  if (key.length <= MAX_KEY_LENGTH) return key;
  const chars = [...key];
  if (chars.length <= MAX_KEY_LENGTH) return key;
  return `${chars.slice(0, KEEP_PREFIX).join('')}#${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`;
}

/** Ed-Fi writes a school year either as "2021-2022" or as its ending year "2022"; we always use "2021-2022". */
export function normalizeSchoolYear(value: string): string {
  if (/^\d{4}$/.test(value)) return `${Number(value) - 1}-${value}`;
  return value;
}

// Keys that are emitted as ids or used as references are fitted here, once, so joins agree with the records.
export const termKey = (schoolId: string, schoolYear: string, sessionName: string): string => fitKey(keyOf(schoolId, schoolYear, sessionName));

export const gradingPeriodKey = (schoolId: string, schoolYear: string, name: string): string => fitKey(keyOf(schoolId, schoolYear, 'gp', name));

export const courseKey = (educationOrganizationId: string, courseCode: string): string => fitKey(keyOf(educationOrganizationId, courseCode));

export const offeringKey = (schoolId: string, schoolYear: string, sessionName: string, localCourseCode: string): string =>
  keyOf(schoolId, schoolYear, sessionName, localCourseCode);

export const sectionKey = (
  schoolId: string,
  schoolYear: string,
  sessionName: string,
  localCourseCode: string,
  sectionIdentifier: string,
): string => fitKey(keyOf(schoolId, schoolYear, sessionName, localCourseCode, sectionIdentifier));

/**
 * Joins keys that are already escaped (outputs of keyOf or the builders above). Every composite has a fixed number
 * of escaped components before and after its one embedded key, so the split stays unambiguous.
 */
export function joinKeys(...keys: string[]): string {
  return fitKey(keys.join('/'));
}
