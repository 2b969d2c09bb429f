// Big-integer-safe JSON (case C17): a number that a double cannot hold exactly (1693745891234567890)
// is kept as its decimal text, never rounded. Safe numbers stay numbers. Identifier fields are mapped to
// strings either way; fields that expect a number refuse the text form (NUMBER_UNSAFE_INTEGER).
import { isSafeNumber, parse } from 'lossless-json';

export function parseJsonLossless(text: string): unknown {
  return parse(text, null, (value: string) => (isSafeNumber(value) ? Number(value) : value));
}
