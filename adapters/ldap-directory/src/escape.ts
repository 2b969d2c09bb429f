// RFC 4515 filter-value escaping and Active Directory objectGUID handling. Pure functions: every value
// that reaches a search filter goes through here, so a login name or a DN can never change the filter's
// structure (C21, C26), and a GUID is never round-tripped through text (C23).

export type Escaped = { ok: true; value: string } | { ok: false; code: 'LDAP_FILTER_VALUE_INVALID'; detail: string };

/** Control characters other than NUL have no business in a name or DN and are a classic smuggling vector: refuse them. */
const REJECTED_CONTROL = /[\u0001-\u001f\u007f]/;

/**
 * Escapes one assertion value for an RFC 4515 filter: `*` `(` `)` `\` NUL become `\2a` `\28` `\29` `\5c` `\00`.
 * Everything else (Chinese included) stays literal UTF-8, which RFC 4515 allows. A DN used as a value (C21) is
 * escaped the same way: its RFC 4514 backslashes become `\5c`.
 */
export function escapeFilterValue(value: string): Escaped {
  const bad = REJECTED_CONTROL.exec(value);
  if (bad !== null) {
    const hex = bad[0].charCodeAt(0).toString(16).padStart(2, '0');
    return { ok: false, code: 'LDAP_FILTER_VALUE_INVALID', detail: `控制字符 / control character \\x${hex} at ${bad.index}` };
  }
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*': out += '\\2a'; break;
      case '(': out += '\\28'; break;
      case ')': out += '\\29'; break;
      case '\\': out += '\\5c'; break;
      case '\u0000': out += '\\00'; break;
      default: out += ch;
    }
  }
  return { ok: true, value: out };
}

/** Every byte as `\hh`: how a binary value (objectGUID) is searched for. */
export function escapeBinaryFilterValue(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += '\\' + b.toString(16).padStart(2, '0');
  return out;
}

/**
 * Fills `{{name}}` placeholders of a filter template with escaped values. Unknown placeholders and
 * invalid values give an error result, never a filter with a hole in it.
 */
export function buildFilter(template: string, values: Record<string, string>): Escaped {
  let failure: Escaped | undefined;
  const filter = template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_all, name: string) => {
    const raw = values[name];
    if (raw === undefined) {
      failure ??= { ok: false, code: 'LDAP_FILTER_VALUE_INVALID', detail: `模板变量缺失 / no value for {{${name}}}` };
      return '';
    }
    const escaped = escapeFilterValue(raw);
    if (!escaped.ok) {
      failure ??= escaped;
      return '';
    }
    return escaped.value;
  });
  return failure ?? { ok: true, value: filter };
}

export type GuidResult = { ok: true; guid: string } | { ok: false; code: 'LDAP_GUID_INVALID'; detail: string };

/**
 * objectGUID (16 raw bytes) → `3f2504e0-4f89-41d3-9a0c-0305e82c3301`. The first three fields are stored
 * little-endian (Microsoft GUID layout), the last two as bytes in order. Anything not 16 bytes is refused:
 * a 26-byte value is the trace of a UTF-8 decode/re-encode and must never become a key.
 */
export function guidFromBytes(bytes: Uint8Array): GuidResult {
  if (bytes.length !== 16) return { ok: false, code: 'LDAP_GUID_INVALID', detail: `objectGUID 应为 16 字节 / must be 16 bytes, got ${bytes.length}` };
  const h = (i: number) => bytes[i]!.toString(16).padStart(2, '0');
  const guid =
    h(3) + h(2) + h(1) + h(0) + '-' + h(5) + h(4) + '-' + h(7) + h(6) + '-' + h(8) + h(9) + '-' + h(10) + h(11) + h(12) + h(13) + h(14) + h(15);
  return { ok: true, guid };
}

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GUID string → the 16 bytes AD stores (inverse of guidFromBytes); undefined for a malformed string. */
export function guidToBytes(guid: string): Uint8Array | undefined {
  if (!GUID_TEXT.test(guid)) return undefined;
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Uint8Array.from(order.map((i) => b[i]!));
}

/** `(objectGUID=\e0\04…)` for a GUID string, or undefined when the string is not a GUID. */
export function guidFilter(guid: string, attribute = 'objectGUID'): string | undefined {
  const bytes = guidToBytes(guid);
  return bytes === undefined ? undefined : `(${attribute}=${escapeBinaryFilterValue(bytes)})`;
}
