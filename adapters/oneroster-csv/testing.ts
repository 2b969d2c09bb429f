// Test support (imported by *.test.ts only): runs the real adapter on a folder and collects its batches.
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { getSharedRegistry } from '../../core/contracts/index.ts';
import { silentLogger } from '../../core/logger.ts';
import type { Problem } from '../../core/errors.ts';
import type { PluginInstance, ReadBatch, SourceRecord } from '../../core/plugins/types.ts';
import createAdapter, { type OneRosterCsvConfig } from './index.ts';

export const ADAPTER_DIR = import.meta.dirname;
export const REPO = resolve(ADAPTER_DIR, '../..');
export const FIXTURES = join(ADAPTER_DIR, 'fixtures');
export const CASES = join(REPO, 'tests/fixtures/cases');
export const SDS_V21 = join(REPO, 'examples/demo/data/sds-v2.1');
export const SDS_CLASSIC = join(FIXTURES, 'sds-classic-100users');

export async function adapter(path: string, config: Partial<OneRosterCsvConfig> = {}): Promise<PluginInstance> {
  return createAdapter({ instance: 'roster', member: '4133010001', config: { path, ...config }, baseDir: REPO, dataDir: tmpdir(), contracts: getSharedRegistry(), logger: silentLogger });
}

export interface RunResult {
  batches: ReadBatch[];
  records: SourceRecord[];
  problems: Problem[];
  complete: string[];
}

export async function run(path: string, config: Partial<OneRosterCsvConfig> = {}, options: { checkpoint?: unknown; mode?: 'full' | 'delta' } = {}): Promise<RunResult> {
  const instance = await adapter(path, config);
  const batches: ReadBatch[] = [];
  for await (const b of instance.read!({ mode: options.mode ?? 'full', checkpoint: options.checkpoint, signal: new AbortController().signal })) batches.push(b);
  return {
    batches,
    records: batches.flatMap((b) => b.records),
    problems: batches.flatMap((b) => b.problems),
    complete: batches.flatMap((b) => b.complete ?? []),
  };
}

/** A bundle folder assembled from case inputs (their file names carry a case prefix). */
export function bundleOf(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'oneroster-csv-'));
  for (const [name, source] of Object.entries(files)) copyFileSync(source, join(dir, name));
  return dir;
}

/** CSV rows of a fixture, parsed by csv-parse directly (independent of the adapter). */
export function csvRows(file: string): Record<string, string>[] {
  return parse(readText(file), { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string>[];
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

export function byContract(records: SourceRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) if (r.op === 'upsert') out[r.contract] = (out[r.contract] ?? 0) + 1;
  return out;
}

/** Every key anywhere in a JSON value (to prove a field name never appears). */
export function allKeys(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) allKeys(v, into);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k.toLowerCase());
      allKeys(v, into);
    }
  }
  return into;
}
