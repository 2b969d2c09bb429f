// The read loop: pre-pass (join index) → one streaming pass per file → batches of ≤ batchSize records, each
// carrying a checkpoint that names the file and the next top-level element to process.
import type { Problem } from '../../../core/errors.ts';
import type { ReadBatch, ReadOptions, SourceFileInfo } from '../../../core/plugins/types.ts';
import { ELEMENT_MAPPINGS, INDEXED_INTERCHANGES, JOIN_ONLY_ELEMENTS, indexElement, newJoinIndex, wantedForIndex, type JoinIndex, type MapContext } from './map.ts';
import { CONTRACTS_BY_ROOT, type PlannedFile } from './plan.ts';
import { streamInterchange, type StreamFault, type StreamResult } from './xml-stream.ts';

/** What `read` commits after each batch. Opaque to the host; versioned so a future shape can refuse an old one. */
export interface EdfiCheckpoint {
  v: 1;
  /** Files fully processed (by name). */
  done: string[];
  /** File in progress and the 0-based index of the next top-level element to process in it. */
  file?: string;
  element?: number;
  /** Contracts that produced at least one record so far in this run. */
  seen: string[];
  /** Contracts whose source file failed (malformed, refused): never declared complete in this run. */
  tainted: string[];
}

/** SourceFileInfo plus what the run did with each top-level element name of the file. */
export interface EdfiSourceFileInfo extends SourceFileInfo {
  interchange?: string;
  /** Elements mapped to records (by element name). */
  mapped: Record<string, number>;
  /** Elements read only to resolve references (CourseOffering, StaffSchoolAssociation, …). */
  joined: Record<string, number>;
  /** Elements outside the v1 contracts (assessments, interventions, …): counted, not reported one by one. */
  skipped: Record<string, number>;
}

export function parseCheckpoint(raw: unknown): EdfiCheckpoint {
  const fresh: EdfiCheckpoint = { v: 1, done: [], seen: [], tainted: [] };
  if (raw === undefined || raw === null) return fresh;
  const cp = raw as Partial<EdfiCheckpoint>;
  if (cp.v !== 1 || !Array.isArray(cp.done)) return fresh;
  return {
    v: 1,
    done: cp.done.filter((d): d is string => typeof d === 'string'),
    file: typeof cp.file === 'string' ? cp.file : undefined,
    element: typeof cp.element === 'number' && cp.element >= 0 ? cp.element : undefined,
    seen: Array.isArray(cp.seen) ? cp.seen.filter((s): s is string => typeof s === 'string') : [],
    tainted: Array.isArray(cp.tainted) ? cp.tainted.filter((s): s is string => typeof s === 'string') : [],
  };
}

const FAULT_CODES: Record<StreamFault['kind'], string> = {
  doctype: 'XML_DOCTYPE_REFUSED',
  malformed: 'XML_MALFORMED',
  encoding: 'XML_ENCODING_INVALID',
  io: 'FILE_UNREADABLE',
};

export function faultProblem(file: string, fault: StreamFault): Problem {
  return { code: FAULT_CODES[fault.kind], severity: 'error', message: fault.message, file, line: fault.line, column: fault.column };
}

export async function buildJoinIndex(plan: PlannedFile[], signal?: AbortSignal): Promise<JoinIndex> {
  const index = newJoinIndex();
  for (const file of plan) {
    if (!file.root || !INDEXED_INTERCHANGES.has(file.root)) continue;
    // Faults are reported by the main pass; the index keeps whatever came before one.
    const result: StreamResult = { elements: 0, encoding: 'utf-8' };
    for await (const elements of streamInterchange(file.path, { want: wantedForIndex }, result, signal)) {
      for (const { node } of elements) indexElement(index, node);
    }
  }
  return index;
}

function bump(counts: Record<string, number>, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

export async function* readInterchanges(plan: PlannedFile[], options: ReadOptions, batchSize: number): AsyncGenerator<ReadBatch> {
  const cp = parseCheckpoint(options.checkpoint);
  const done = [...cp.done];
  const seen = new Set(cp.seen);
  const tainted = new Set(cp.tainted);
  const index = await buildJoinIndex(plan, options.signal);
  if (options.signal.aborted) return;

  let batch: ReadBatch = { records: [], problems: [], sources: [] };
  const checkpoint = (file?: string, element?: number): EdfiCheckpoint => ({
    v: 1,
    done: [...done],
    file,
    element,
    seen: [...seen],
    tainted: [...tainted],
  });

  for (const file of plan) {
    if (done.includes(file.name)) continue;
    const resumeAt = cp.file === file.name ? (cp.element ?? 0) : 0;
    const info: EdfiSourceFileInfo = { file: file.name, interchange: file.root, mapped: {}, joined: {}, skipped: {} };

    if (file.root && !file.root.startsWith('Interchange')) {
      batch.problems.push({
        code: 'EDFI_NOT_INTERCHANGE',
        severity: 'warning',
        message: `根元素 ${file.root} 不是 Ed-Fi 交换文件，已跳过 / root element ${file.root} is not an Ed-Fi interchange, file skipped`,
        file: file.name,
        line: 1,
      });
      done.push(file.name);
      batch.sources!.push(info);
      continue;
    }

    const ctx: MapContext = { file: file.name, index, problems: batch.problems };
    const result: StreamResult = { elements: 0, encoding: 'utf-8' };
    const hooks = {
      want: (name: string, i: number) => i >= resumeAt && ELEMENT_MAPPINGS.has(name),
      seen: (name: string, i: number) => {
        if (i < resumeAt) return;
        if (ELEMENT_MAPPINGS.has(name)) bump(info.mapped, name);
        else if (JOIN_ONLY_ELEMENTS.has(name)) bump(info.joined, name);
        else bump(info.skipped, name);
      },
    };
    for await (const elements of streamInterchange(file.path, hooks, result, options.signal)) {
      for (const { node, index: elementIndex } of elements) {
        const mapping = ELEMENT_MAPPINGS.get(node.name)!;
        const rec = mapping.map(node, ctx);
        if (rec) {
          batch.records.push(rec);
          seen.add(rec.contract);
        }
        if (batch.records.length >= batchSize || batch.problems.length >= batchSize) {
          batch.checkpoint = checkpoint(file.name, elementIndex + 1);
          yield batch;
          batch = { records: [], problems: [], sources: [] };
          ctx.problems = batch.problems;
        }
      }
    }
    if (options.signal.aborted) return;

    info.encoding = result.encoding;
    if (result.declaredEncoding !== undefined) {
      batch.problems.push({
        code: 'XML_ENCODING_MISMATCH',
        severity: 'warning',
        file: file.name,
        line: 1,
        message: `XML 声明的编码为 ${result.declaredEncoding}，但文件内容是 ${result.encoding}，已按 ${result.encoding} 读取 / the XML declaration says ${result.declaredEncoding} but the bytes are ${result.encoding}: read as ${result.encoding}`,
      });
    }
    info.rows = result.elements;
    info.interchange = result.root ?? file.root;
    if (result.fault) {
      batch.problems.push(faultProblem(file.name, result.fault));
      for (const contract of CONTRACTS_BY_ROOT[info.interchange ?? ''] ?? []) tainted.add(contract);
    }
    done.push(file.name);
    batch.sources!.push(info);
    batch.checkpoint = checkpoint();
  }

  if (options.mode === 'full') batch.complete = [...seen].filter((c) => !tainted.has(c)).sort();
  batch.checkpoint = checkpoint();
  yield batch;
}
