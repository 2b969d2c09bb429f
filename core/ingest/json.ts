// JSON from outside systems: IDs above 2^53−1 must never be rounded (case C17: after JSON.parse two
// different employee IDs become one and the mentor link points at the intern). Numbers are parsed
// losslessly; a number that a double cannot hold exactly is either kept as its exact digits (where
// the caller expects an identifier) or refused with its path — never rounded silently.
import { isSafeNumber, parse } from 'lossless-json';

export interface UnsafeNumber {
  /** JSON pointer-ish path without the leading slash, e.g. `data/0/employeeId`. */
  path: string;
  /** The exact digits as written. */
  digits: string;
}

export type SafeJsonResult = { ok: true; value: unknown } | { ok: false; code: 'JSON_SYNTAX'; message: string; position?: number } | { ok: false; code: 'JSON_UNSAFE_NUMBER'; message: string; numbers: UnsafeNumber[] };

class Exact {
  constructor(readonly digits: string) {}
}

/**
 * Parses JSON text. `unsafe: 'refuse'` (default) reports every number a double cannot represent exactly;
 * `unsafe: 'string'` keeps such numbers as their exact digit strings (for identifier fields).
 */
export function parseJsonSafe(text: string, options: { unsafe?: 'refuse' | 'string' } = {}): SafeJsonResult {
  let raw: unknown;
  try {
    raw = parse(text, null, (digits: string) => (isSafeNumber(digits, { approx: false }) ? Number(digits) : new Exact(digits)));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message)?.[1];
    return { ok: false, code: 'JSON_SYNTAX', message: `JSON 语法错误 / JSON syntax error: ${message}`, position: position === undefined ? undefined : Number(position) };
  }
  const unsafe: UnsafeNumber[] = [];
  const walk = (value: unknown, path: string): unknown => {
    if (value instanceof Exact) {
      unsafe.push({ path, digits: value.digits });
      return value.digits;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, path ? `${path}/${i}` : String(i)));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, path ? `${path}/${k}` : k);
      return out;
    }
    return value;
  };
  const value = walk(raw, '');
  if (unsafe.length > 0 && (options.unsafe ?? 'refuse') === 'refuse') {
    return {
      ok: false,
      code: 'JSON_UNSAFE_NUMBER',
      message: `数字超出安全整数范围，会被舍入；标识符必须写成字符串 / number(s) beyond 2^53−1 would be rounded; identifiers must be strings: ${unsafe.map((u) => u.path).join(', ')}`,
      numbers: unsafe,
    };
  }
  return { ok: true, value };
}
