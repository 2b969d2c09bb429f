// Text decoding for file sources (DESIGN §7): BOM → UTF-8/UTF-16; valid strict UTF-8 → UTF-8; otherwise
// GB18030 (superset of GBK/GB2312, what Chinese Excel writes as "ANSI"). A per-source override wins.
// Decoding happens before any parsing so that header matching never sees mojibake.

import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { configError } from '../errors.ts';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'gb18030';

/** Bytes sniffed from the start of a file to choose its encoding. */
export const SNIFF_BYTES = 64 * 1024;

const ENCODING_ALIASES: Record<string, TextEncoding> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'utf-8-bom': 'utf-8',
  'utf-16le': 'utf-16le',
  utf16le: 'utf-16le',
  'utf-16': 'utf-16le',
  ucs2: 'utf-16le',
  'ucs-2': 'utf-16le',
  'utf-16be': 'utf-16be',
  utf16be: 'utf-16be',
  // GBK and GB2312 files decode identically as GB18030 (a strict superset), so one decoder serves all.
  gb18030: 'gb18030',
  gbk: 'gb18030',
  gb2312: 'gb18030',
  cp936: 'gb18030',
  ansi: 'gb18030',
};

/** Resolves a configured encoding name; throws CONFIG_INVALID for names we do not decode. */
export function normalizeEncodingName(name: string): TextEncoding {
  const resolved = ENCODING_ALIASES[name.trim().toLowerCase().replace(/_/g, '-')];
  if (resolved === undefined) {
    throw configError(`不支持的文件编码 / unsupported file encoding: ${name}`, {
      encoding: name,
      supported: Object.keys(ENCODING_ALIASES),
    });
  }
  return resolved;
}

function bomOf(head: Buffer): { encoding: TextEncoding; bom: number } | undefined {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bom: 3 };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
  if (head.length >= 4 && head[0] === 0x84 && head[1] === 0x31 && head[2] === 0x95 && head[3] === 0x33) {
    return { encoding: 'gb18030', bom: 4 };
  }
  return undefined;
}

const BOM_LENGTH: Record<TextEncoding, number> = { 'utf-8': 3, 'utf-16le': 2, 'utf-16be': 2, 'gb18030': 4 };

/**
 * Strict UTF-8 check. `complete: false` means `head` is a prefix of a longer input: a multibyte
 * character cut at the end is then not an error (streaming mode buffers it instead of failing).
 */
export function isStrictUtf8(head: Buffer, complete = true): boolean {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    decoder.decode(head, { stream: !complete });
    return true;
  } catch {
    return false;
  }
}

/**
 * Chooses the encoding of a file from its first bytes. `head` may be a prefix of the file: pass
 * `complete = true` only when it holds the whole file (a cut multibyte character is then an error).
 */
export function detectEncoding(head: Buffer, override?: string, complete = false): { encoding: TextEncoding; bom: number } {
  const bom = bomOf(head);
  if (override !== undefined && override !== '') {
    const encoding = normalizeEncodingName(override);
    // A BOM that agrees with the override is still not data.
    return { encoding, bom: bom !== undefined && bom.encoding === encoding && bom.bom === BOM_LENGTH[encoding] ? bom.bom : 0 };
  }
  if (bom !== undefined) {
    // A UTF-8 BOM glued onto a GBK body (some tools prepend one blindly): the bytes win over the mark,
    // so the body decodes as GB18030 instead of turning into U+FFFD.
    if (bom.encoding === 'utf-8' && !isStrictUtf8(head.subarray(bom.bom), complete)) return { encoding: 'gb18030', bom: bom.bom };
    return bom;
  }
  const utf16 = sniffUtf16(head);
  if (utf16 !== undefined) return { encoding: utf16, bom: 0 };
  return { encoding: isStrictUtf8(head, complete) ? 'utf-8' : 'gb18030', bom: 0 };
}

/**
 * UTF-16 without a BOM: text exports hold ASCII separators and digits, whose UTF-16 high byte is 0.
 * UTF-8 and GB18030 text has no NUL bytes, so many zeros on one side only means UTF-16 of that order.
 */
function sniffUtf16(head: Buffer): 'utf-16le' | 'utf-16be' | undefined {
  const n = Math.min(head.length, 4096) & ~1;
  if (n < 4) return undefined;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) evenZeros++;
    if (head[i + 1] === 0) oddZeros++;
  }
  const pairs = n / 2;
  if (oddZeros >= pairs * 0.2 && evenZeros <= pairs * 0.02) return 'utf-16le';
  if (evenZeros >= pairs * 0.2 && oddZeros <= pairs * 0.02) return 'utf-16be';
  return undefined;
}

function iconvName(encoding: TextEncoding): string {
  return encoding === 'utf-8' ? 'utf8' : encoding;
}

/** Decodes a whole buffer (small files, tests). */
export function decodeBuffer(buf: Buffer, override?: string): { text: string; encoding: TextEncoding } {
  const { encoding, bom } = detectEncoding(buf, override, true);
  const body = bom > 0 ? buf.subarray(bom) : buf;
  const text = encoding === 'utf-8' ? body.toString('utf8') : iconv.decode(body, iconvName(encoding), { stripBOM: false });
  return { text, encoding };
}

/** Reads the first SNIFF_BYTES of a file and detects its encoding. */
export async function sniffFile(file: string, override?: string): Promise<{ encoding: TextEncoding; bom: number }> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    let filled = 0;
    while (filled < SNIFF_BYTES) {
      const { bytesRead } = await handle.read(head, filled, SNIFF_BYTES - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    // Whole file read only when it ended before the sniff window filled up.
    const complete = filled < SNIFF_BYTES || (await handle.read(Buffer.alloc(1), 0, 1, SNIFF_BYTES)).bytesRead === 0;
    return detectEncoding(head.subarray(0, filled), override, complete);
  } finally {
    await handle.close();
  }
}

const READ_CHUNK = 256 * 1024;

/** Raw bytes after the BOM, in large chunks (for parsers that take UTF-8 buffers directly). */
export function openByteStream(file: string, bom: number): Readable {
  return createReadStream(file, { start: bom, highWaterMark: READ_CHUNK });
}

export async function* decodeChunksFrom(file: string, encoding: TextEncoding, bom: number): AsyncGenerator<string> {
  const decoder = iconv.getDecoder(iconvName(encoding), { stripBOM: false });
  for await (const chunk of openByteStream(file, bom)) {
    const text = decoder.write(chunk as Buffer);
    if (text.length > 0) yield text;
  }
  const rest = decoder.end();
  if (rest !== undefined && rest.length > 0) yield rest;
}

/**
 * Opens a file as a stream of UTF-8 JS strings: sniffs the first 64 KiB (a multibyte character cut at
 * the sniff boundary does not make a UTF-8 file look like GB18030), skips the BOM, then decodes.
 */
export async function openTextStream(
  file: string,
  options: { encoding?: string } = {},
): Promise<{ stream: NodeJS.ReadableStream; encoding: TextEncoding }> {
  const { encoding, bom } = await sniffFile(file, options.encoding);
  return { stream: Readable.from(decodeChunksFrom(file, encoding, bom), { objectMode: true }), encoding };
}
