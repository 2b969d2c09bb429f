// 统一社会信用代码 (Unified Social Credit Code, GB 32100-2015): 18 characters from a 31-character
// alphabet (no I O Z S V), the last one a check character over the first 17 (weights 3^i mod 31).
// Kept beside id-number.ts: contracts (x-gb32100) and adapters both need the same answer.

export type UsccProblemCode = 'USCC_LENGTH' | 'USCC_CHARSET' | 'USCC_CHECK_CHAR';

export type UsccResult = { ok: true; normalized: string } | { ok: false; code: UsccProblemCode; message: string };

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
// Position 1: registration authority (1 机构编制, 5 民政, 9 工商/市场监管, Y 其他 …); 2: organisation type.
const SHAPE = /^[0-9A-HJ-NPQRTUWXY]{18}$/;

/** The check character of the first 17 characters, or undefined when one of them is outside the alphabet. */
export function usccCheckChar(body17: string): string | undefined {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = ALPHABET.indexOf(body17[i] ?? '');
    if (v < 0) return undefined;
    sum += v * WEIGHTS[i]!;
  }
  return ALPHABET[(31 - (sum % 31)) % 31];
}

/** Checks a USCC as stored: exactly 18 upper-case characters (callers normalise case and width first). */
export function checkUscc(value: string): UsccResult {
  if (value.length !== 18) return { ok: false, code: 'USCC_LENGTH', message: '统一社会信用代码应为18位 / a USCC has 18 characters' };
  if (!SHAPE.test(value)) {
    return { ok: false, code: 'USCC_CHARSET', message: '统一社会信用代码含非法字符（不使用 I、O、Z、S、V） / a USCC uses 0-9 and A-Y without I, O, Z, S, V' };
  }
  const expected = usccCheckChar(value.slice(0, 17));
  if (expected !== value[17]) {
    return { ok: false, code: 'USCC_CHECK_CHAR', message: `统一社会信用代码校验码错误，应为 ${expected} / USCC check character should be ${expected}` };
  }
  return { ok: true, normalized: value };
}
