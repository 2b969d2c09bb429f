// WSDL/XSD sets loaded from disk (case C28): every wsdl:import, xs:import and xs:include/redefine is
// resolved relative to the document that names it, recursively, with cycle detection. Nothing is
// fetched: an http(s) location must be mapped to a local file, a namespace-only xs:import must be
// defined inside the set or mapped to a local stub. A missing part stops start-up (VochubError).
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SaxesParser } from 'saxes';
import { VochubError } from '../../../core/errors.ts';
import { refuseDoctype } from './xml-guard.ts';

export const NS = {
  wsdl: 'http://schemas.xmlsoap.org/wsdl/',
  soap11: 'http://schemas.xmlsoap.org/wsdl/soap/',
  soap12: 'http://schemas.xmlsoap.org/wsdl/soap12/',
  xsd: 'http://www.w3.org/2001/XMLSchema',
} as const;

// Namespaces every processor knows without a document.
const BUILT_IN_NAMESPACES = new Set([
  NS.xsd,
  'http://www.w3.org/XML/1998/namespace',
  'http://schemas.xmlsoap.org/soap/encoding/',
  'http://www.w3.org/2003/05/soap-encoding',
  'http://schemas.xmlsoap.org/wsdl/',
]);

export type SoapVersion = '1.1' | '1.2';

export interface WsdlReference {
  kind: 'wsdl:import' | 'xs:import' | 'xs:include' | 'xs:redefine';
  namespace?: string;
  /** As written in the document (undefined for a namespace-only xs:import). */
  location?: string;
  /** Absolute path of the document it resolved to. */
  target?: string;
  /** Line of the referencing element, for messages. */
  line: number;
}

export interface WsdlDocument {
  /** Absolute path. */
  path: string;
  /** Path relative to the set's folder, with `/`. */
  name: string;
  kind: 'wsdl' | 'xsd';
  text: string;
  targetNamespace?: string;
  /** Target namespaces of the xs:schema elements in this document (inline schemas of a WSDL, or the XSD itself). */
  schemaNamespaces: string[];
  references: WsdlReference[];
}

export interface WsdlBinding {
  name: string;
  namespace?: string;
  version: SoapVersion;
  document: string;
}

export interface WsdlPort {
  service: string;
  name: string;
  binding: string;
  address?: string;
}

export interface WsdlSet {
  /** Absolute path of the entry WSDL. */
  entry: string;
  /** Folder the set lives in (names are relative to it). */
  root: string;
  documents: Map<string, WsdlDocument>;
  bindings: WsdlBinding[];
  ports: WsdlPort[];
  /** Reference chains that came back to a document already being loaded (legal in XSD, never followed twice). */
  cycles: string[][];
  /** Namespace-only imports answered by a mapped stub file: namespace → absolute path. */
  stubs: Map<string, string>;
}

export interface LoadWsdlOptions {
  /** With a folder: the entry WSDL's file name (required when the folder has more than one root WSDL). */
  entry?: string;
  /** Namespace → local XSD for `xs:import` without schemaLocation that the set does not define itself. */
  namespaces?: Record<string, string>;
  /** Remote location (http/https URL as written) → local file. Anything remote and unmapped is refused. */
  locations?: Record<string, string>;
  /** Folder the mapped paths are relative to (default: the set's folder). */
  baseDir?: string;
}

function wsdlError(code: string, message: string, details: Record<string, unknown>): VochubError {
  return new VochubError(code, message, { status: 500, details });
}

interface Parsed {
  kind: 'wsdl' | 'xsd';
  targetNamespace?: string;
  schemaNamespaces: string[];
  references: WsdlReference[];
  bindings: Omit<WsdlBinding, 'document'>[];
  ports: WsdlPort[];
}

/** Reads what the loader needs from one document with a namespace-aware parser (DOCTYPE already refused). */
function parseDocument(text: string, name: string): Parsed {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const out: Parsed = { kind: 'xsd', schemaNamespaces: [], references: [], bindings: [], ports: [] };
  const stack: { uri: string; local: string; attrs: Record<string, string> }[] = [];
  let rootSeen = false;
  let currentBinding: Omit<WsdlBinding, 'document'> | undefined;
  let currentService: string | undefined;
  let currentPort: WsdlPort | undefined;
  let failure: Error | undefined;
  parser.on('error', (e) => {
    failure ??= e;
  });
  parser.on('opentag', (tag) => {
    const uri = tag.uri ?? '';
    const local = tag.local ?? tag.name;
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      const attr = a as { local: string; uri: string; value: string };
      if (attr.uri === '' || attr.uri === undefined) attrs[attr.local] = attr.value;
    }
    const parent = stack.at(-1);
    stack.push({ uri, local, attrs });
    const line = parser.line;
    if (!rootSeen) {
      rootSeen = true;
      if (uri === NS.wsdl && local === 'definitions') out.kind = 'wsdl';
      else if (!(uri === NS.xsd && local === 'schema')) throw wsdlError('SOAP_WSDL_INVALID', `不是 WSDL 或 XSD / not a WSDL or XSD document: ${name}`, { document: name });
      if (attrs.targetNamespace !== undefined) out.targetNamespace = attrs.targetNamespace;
    }
    if (uri === NS.xsd) {
      if (local === 'schema') out.schemaNamespaces.push(attrs.targetNamespace ?? '');
      else if (local === 'import') out.references.push({ kind: 'xs:import', namespace: attrs.namespace, location: attrs.schemaLocation, line });
      else if (local === 'include' || local === 'redefine') {
        out.references.push({ kind: local === 'include' ? 'xs:include' : 'xs:redefine', location: attrs.schemaLocation, line });
      }
      return;
    }
    if (uri === NS.wsdl) {
      if (local === 'import') out.references.push({ kind: 'wsdl:import', namespace: attrs.namespace, location: attrs.location, line });
      else if (local === 'binding' && parent?.local === 'definitions') {
        currentBinding = { name: attrs.name ?? '', namespace: out.targetNamespace, version: '1.1' };
        out.bindings.push(currentBinding);
      } else if (local === 'service') currentService = attrs.name;
      else if (local === 'port' && currentService !== undefined) {
        currentPort = { service: currentService, name: attrs.name ?? '', binding: (attrs.binding ?? '').replace(/^[^:]*:/, '') };
        out.ports.push(currentPort);
      }
      return;
    }
    if (uri === NS.soap11 || uri === NS.soap12) {
      if (local === 'binding' && currentBinding !== undefined && parent?.local === 'binding') currentBinding.version = uri === NS.soap12 ? '1.2' : '1.1';
      else if (local === 'address' && currentPort !== undefined) currentPort.address = attrs.location;
    }
  });
  parser.on('closetag', () => {
    const top = stack.pop();
    if (top?.uri === NS.wsdl && top.local === 'binding') currentBinding = undefined;
    if (top?.uri === NS.wsdl && top.local === 'port') currentPort = undefined;
    if (top?.uri === NS.wsdl && top.local === 'service') currentService = undefined;
  });
  try {
    parser.write(text).close();
  } catch (error) {
    if (error instanceof VochubError) throw error;
    failure ??= error as Error;
  }
  if (failure !== undefined) {
    throw wsdlError('SOAP_WSDL_INVALID', `WSDL/XSD 无法解析 / cannot parse ${name}: ${failure.message}`, { document: name });
  }
  return out;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

async function pickEntry(dirOrFile: string, entry: string | undefined): Promise<string> {
  const st = await stat(dirOrFile).catch(() => undefined);
  if (st === undefined) throw wsdlError('SOAP_WSDL_PART_MISSING', `找不到 WSDL / WSDL not found: ${dirOrFile}`, { part: dirOrFile });
  if (st.isFile()) return dirOrFile;
  if (entry !== undefined) return resolve(dirOrFile, entry);
  const { readdir } = await import('node:fs/promises');
  const wsdls = (await readdir(dirOrFile)).filter((f) => f.toLowerCase().endsWith('.wsdl')).sort();
  if (wsdls.length === 1) return resolve(dirOrFile, wsdls[0]!);
  throw wsdlError('SOAP_WSDL_ENTRY_AMBIGUOUS', `目录中有 ${wsdls.length} 个 WSDL，请指定 entry / ${wsdls.length} WSDL files in ${dirOrFile}: name the entry`, {
    dir: dirOrFile,
    candidates: wsdls,
  });
}

/** Loads a WSDL (file, or folder + entry) and everything it references, from disk only. */
export async function loadWsdlSet(dirOrFile: string, options: LoadWsdlOptions = {}): Promise<WsdlSet> {
  const entry = resolve(await pickEntry(resolve(dirOrFile), options.entry));
  const root = dirname(entry);
  const mapBase = options.baseDir ?? root;
  const set: WsdlSet = { entry, root, documents: new Map(), bindings: [], ports: [], cycles: [], stubs: new Map() };
  const nameOf = (abs: string): string => {
    const rel = relative(root, abs);
    return rel.startsWith('..') || isAbsolute(rel) ? abs : rel.split('\\').join('/');
  };

  const resolveLocation = (location: string, from: WsdlDocument, ref: WsdlReference): string => {
    if (/^https?:/i.test(location)) {
      const mapped = options.locations?.[location];
      if (mapped === undefined) {
        throw wsdlError('SOAP_WSDL_REMOTE_REFUSED', `远程引用未映射到本地文件，拒绝联网获取 / remote ${ref.kind} ${location} in ${from.name} (line ${ref.line}) is not mapped to a local file: no network at run time`, {
          document: from.name,
          line: ref.line,
          location,
        });
      }
      return resolve(mapBase, mapped);
    }
    if (/^file:/i.test(location)) return fileURLToPath(location);
    if (/^[a-z][a-z0-9+.-]+:/i.test(location) && !/^[a-z]:[\\/]/i.test(location)) {
      throw wsdlError('SOAP_WSDL_REMOTE_REFUSED', `不支持的位置 / unsupported location scheme ${location} in ${from.name}`, { document: from.name, location });
    }
    return resolve(dirname(from.path), decodeURI(location));
  };

  const loading: string[] = [];
  const load = async (path: string, via: { from: string; ref: WsdlReference } | undefined): Promise<void> => {
    if (loading.includes(path)) {
      set.cycles.push([...loading.slice(loading.indexOf(path)).map(nameOf), nameOf(path)]);
      return;
    }
    if (set.documents.has(path)) return;
    if (!(await isFile(path))) {
      const where = via === undefined ? '' : ` (${via.ref.kind} in ${via.from}, line ${via.ref.line})`;
      throw wsdlError('SOAP_WSDL_PART_MISSING', `WSDL/XSD 文件缺失 / missing WSDL/XSD part ${nameOf(path)}${where}`, {
        part: nameOf(path),
        ...(via === undefined ? {} : { from: via.from, line: via.ref.line, kind: via.ref.kind }),
      });
    }
    const text = await readFile(path, 'utf8');
    const name = nameOf(path);
    refuseDoctype(text, name);
    const parsed = parseDocument(text, name);
    const doc: WsdlDocument = {
      path,
      name,
      kind: parsed.kind,
      text,
      ...(parsed.targetNamespace === undefined ? {} : { targetNamespace: parsed.targetNamespace }),
      schemaNamespaces: parsed.schemaNamespaces,
      references: parsed.references,
    };
    set.documents.set(path, doc);
    for (const b of parsed.bindings) set.bindings.push({ ...b, document: name });
    set.ports.push(...parsed.ports);
    loading.push(path);
    try {
      for (const ref of doc.references) {
        if (ref.location === undefined || ref.location === '') continue;
        ref.target = resolveLocation(ref.location, doc, ref);
        await load(ref.target, { from: name, ref });
      }
    } finally {
      loading.pop();
    }
  };
  await load(entry, undefined);

  // Namespace-only imports: defined somewhere in the set, built in, or answered by a mapped stub.
  for (let pass = 0; pass < 10; pass++) {
    const defined = new Set<string>();
    for (const d of set.documents.values()) for (const ns of d.schemaNamespaces) defined.add(ns);
    let added = false;
    for (const doc of [...set.documents.values()]) {
      for (const ref of doc.references) {
        if (ref.kind !== 'xs:import' || (ref.location !== undefined && ref.location !== '') || ref.namespace === undefined) continue;
        if (defined.has(ref.namespace) || BUILT_IN_NAMESPACES.has(ref.namespace)) continue;
        const stub = options.namespaces?.[ref.namespace];
        if (stub === undefined) {
          throw wsdlError('SOAP_WSDL_NAMESPACE_UNRESOLVED', `xs:import 的命名空间 ${ref.namespace} 既无 schemaLocation 也未映射到本地 XSD / namespace-only xs:import of ${ref.namespace} in ${doc.name} (line ${ref.line}) is neither defined in the set nor mapped to a local XSD (config namespaces)`, {
            document: doc.name,
            line: ref.line,
            namespace: ref.namespace,
          });
        }
        const target = resolve(mapBase, stub);
        ref.target = target;
        set.stubs.set(ref.namespace, target);
        if (!set.documents.has(target)) {
          await load(target, { from: doc.name, ref });
          added = true;
        }
      }
    }
    if (!added) break;
  }
  return set;
}

/** Names of the documents in load order, for reports. */
export function documentNames(set: WsdlSet): string[] {
  return [...set.documents.values()].map((d) => d.name);
}

export { basename };
