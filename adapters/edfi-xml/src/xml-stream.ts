// Streams one interchange file through saxes and hands each top-level element (depth 2, a child of the
// Interchange root) to a callback as a light subtree, then forgets it. Memory is bounded by the largest single
// element, never by the file. DTDs are refused outright: saxes never resolves external entities, but an
// explicit refusal also stops entity-expansion games and makes the rule visible in the problem log.
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { SaxesParser } from 'saxes';
import { detectEncoding } from '../../../core/ingest/decode.ts';

/** A collected element: local name (prefix dropped), attributes, trimmed text of leaves, children in order. */
export interface XNode {
  name: string;
  attrs: Record<string, string> | undefined;
  text: string;
  children: XNode[];
  /** 1-based line of the start tag. */
  line: number;
}

export interface StreamFault {
  kind: 'doctype' | 'malformed' | 'encoding' | 'io';
  line?: number;
  column?: number;
  message: string;
}

export interface StreamHooks {
  /** Decide per top-level element (by local name and 0-based index) whether to build its subtree. */
  want(name: string, index: number): boolean;
  /** Every top-level element, wanted or not, once its start tag is read. */
  seen?(name: string, index: number): void;
}

export interface CollectedElement {
  node: XNode;
  /** 0-based position among the root's children: the resume point of a checkpoint. */
  index: number;
}

export interface StreamResult {
  root?: string;
  /** Top-level elements whose start tag was read. */
  elements: number;
  encoding: string;
  /** The XML declaration's encoding when it disagrees with the bytes (which were decoded as `encoding`). */
  declaredEncoding?: string;
  fault?: StreamFault;
}

const STOP = Symbol('stop');

export function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

/**
 * Picks the decoder the way every vochub ingest does (core/ingest/decode.ts): BOM, else strict UTF-8,
 * else GB18030 — the bytes decide, not the XML declaration, which exporters get wrong. A declaration that
 * disagrees is reported back so the run can warn. Strict decoding later turns bad bytes into a fault, not U+FFFD.
 */
export function sniffEncoding(head: Uint8Array): { encoding: string; declared?: string } {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const { encoding } = detectEncoding(bytes);
  const decl = /^(?:\uFEFF)?<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(bytes.subarray(0, 200).toString('latin1').replace(/\u0000/g, ''));
  const raw = decl?.[1]?.toLowerCase();
  const declared = raw === undefined ? undefined : raw === 'gbk' || raw === 'gb2312' || raw === 'gb18030' ? 'gb18030' : raw === 'utf8' ? 'utf-8' : raw === 'utf-16' ? encoding : raw;
  return declared === undefined || declared === encoding ? { encoding } : { encoding, declared };
}

/**
 * Parses `path` and yields, once per read chunk (not per element), the wanted top-level elements completed in
 * that chunk. `result` is filled in as parsing goes and is final when the iteration ends. A fault stops the file;
 * elements completed before it are still yielded.
 */
export async function* streamInterchange(
  path: string,
  hooks: StreamHooks,
  result: StreamResult,
  signal?: AbortSignal,
): AsyncGenerator<CollectedElement[]> {
  const parser = new SaxesParser({ xmlns: false, position: true });
  let depth = 0;
  let index = -1;
  let stack: XNode[] = [];
  let collecting = false;
  let startLine = 0;
  let completed: CollectedElement[] = [];

  parser.on('doctype', () => {
    result.fault = {
      kind: 'doctype',
      line: parser.line,
      column: parser.column + 1,
      message: 'XML 含 DOCTYPE，已拒绝（不处理 DTD 与实体） / XML with a DOCTYPE is refused (no DTD, no entities)',
    };
    throw STOP;
  });
  parser.on('error', (error) => {
    result.fault ??= {
      kind: 'malformed',
      line: parser.line,
      column: parser.column + 1,
      message: `XML 格式错误 / malformed XML: ${error.message.replace(/^(?:[^:]*:)?\d+:\d+: /, '')}`,
    };
    throw STOP;
  });
  parser.on('opentagstart', () => {
    startLine = parser.line;
  });
  parser.on('opentag', (tag) => {
    depth++;
    if (depth === 1) {
      result.root = localName(tag.name);
    } else if (depth === 2) {
      index++;
      result.elements = index + 1;
      const name = localName(tag.name);
      hooks.seen?.(name, index);
      collecting = hooks.want(name, index);
      if (collecting) stack = [makeNode(name, tag.attributes as Record<string, string>, startLine)];
    } else if (collecting) {
      const node = makeNode(localName(tag.name), tag.attributes as Record<string, string>, startLine);
      stack[stack.length - 1]!.children.push(node);
      stack.push(node);
    }
  });
  parser.on('text', (value) => {
    if (collecting && depth > 1) {
      const top = stack[stack.length - 1]!;
      if (top.children.length === 0) top.text += value;
    }
  });
  parser.on('cdata', (value) => {
    if (collecting && depth > 1) stack[stack.length - 1]!.text += value;
  });
  // saxes reports a self-closing tag as opentag + closetag, so one close path serves both.
  parser.on('closetag', () => {
    if (collecting && depth >= 2) {
      const node = stack.pop()!;
      node.text = node.children.length === 0 ? node.text.trim() : '';
      if (depth === 2) {
        completed.push({ node, index });
        collecting = false;
      }
    }
    depth--;
  });

  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  let decoder: TextDecoder | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) return;
      if (!decoder) {
        const sniffed = sniffEncoding(chunk);
        result.encoding = sniffed.encoding;
        if (sniffed.declared !== undefined) result.declaredEncoding = sniffed.declared;
        decoder = new TextDecoder(result.encoding, { fatal: true });
      }
      let decoded: string | undefined;
      try {
        decoded = decoder.decode(chunk, { stream: true });
      } catch {
        // Parse the valid text before the bad bytes so the elements ahead of the fault are kept and the
        // problem points at the right line.
        const lenient = new TextDecoder(result.encoding).decode(chunk);
        const bad = lenient.indexOf('\uFFFD');
        try {
          if (bad > 0) parser.write(lenient.slice(0, bad));
        } catch (error) {
          if (error !== STOP) throw error;
        }
        result.fault ??= {
          kind: 'encoding',
          line: parser.line,
          column: parser.column + 1,
          message: `文件不是有效的 ${result.encoding} 编码 / file is not valid ${result.encoding}`,
        };
      }
      if (decoded !== undefined) {
        try {
          parser.write(decoded);
        } catch (error) {
          if (error !== STOP) throw error;
        }
      }
      if (completed.length) {
        yield completed;
        completed = [];
      }
      if (result.fault) return;
    }
    if (signal?.aborted) return;
    try {
      const tail = decoder?.decode() ?? '';
      if (tail) parser.write(tail);
      parser.close();
    } catch (error) {
      if (error instanceof TypeError) {
        result.fault = { kind: 'encoding', line: parser.line, message: `文件结尾编码不完整 / truncated ${result.encoding} sequence at end of file` };
      } else if (error !== STOP) throw error;
    }
    if (completed.length) yield completed;
  } catch (error) {
    if (!isNodeError(error)) throw error;
    result.fault = { kind: 'io', message: `无法读取文件 / cannot read file: ${error.code ?? error.message}` };
  } finally {
    stream.destroy();
  }
}

function makeNode(name: string, attributes: Record<string, string>, line: number): XNode {
  let attrs: Record<string, string> | undefined;
  for (const key in attributes) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    (attrs ??= {})[localName(key)] = attributes[key]!;
  }
  return { name, attrs, text: '', children: [], line };
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

// ---- small accessors used by the mappers: paths of local names, first match wins -------------------------

export function child(node: XNode | undefined, name: string): XNode | undefined {
  if (!node) return undefined;
  for (const c of node.children) if (c.name === name) return c;
  return undefined;
}

export function childrenNamed(node: XNode | undefined, name: string): XNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

/** Text at a `/`-separated path of local names, or undefined when absent or empty. */
export function text(node: XNode | undefined, path: string): string | undefined {
  let current = node;
  for (const part of path.split('/')) {
    current = child(current, part);
    if (!current) return undefined;
  }
  return current && current.text !== '' ? current.text : undefined;
}

/** Depth-first search for the first descendant with this local name (references nest identities deeply). */
export function find(node: XNode | undefined, name: string): XNode | undefined {
  if (!node) return undefined;
  for (const c of node.children) {
    if (c.name === name) return c;
    const hit = find(c, name);
    if (hit) return hit;
  }
  return undefined;
}

export function findText(node: XNode | undefined, name: string): string | undefined {
  const hit = find(node, name);
  return hit && hit.text !== '' ? hit.text : undefined;
}
