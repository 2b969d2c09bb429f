// oneroster-csv adapter: a folder of OneRoster 1.1/1.2 CSV files (with manifest.csv) or Microsoft SDS CSV
// (v2.1 or classic) → organization, term, course, section, person/student/staff, enrollment.
// See README.md for dialects, file modes, the delete policy per contract, role rules and problem codes.
import { isAbsolute, resolve } from 'node:path';
import { configError, isVochubError } from '../../core/errors.ts';
import { readDelimitedBatches } from '../../core/ingest/delimited.ts';
import type { DiscoveredEntity, HealthReport, PluginFactory, PluginInstance, ReadBatch, ReadOptions } from '../../core/plugins/types.ts';
import { openBundle, type DialectSetting, type FileRef, type Step } from './bundle.ts';
import { missingColumns } from './entities.ts';
import { readBundle } from './read.ts';
import { Header } from './row.ts';

export interface OneRosterCsvConfig {
  path: string;
  dialect?: DialectSetting;
  encoding?: string;
  maxDeactivateShare?: number;
  batchSize?: number;
}

const DEFAULT_BATCH = 1000;
const DIALECTS: readonly DialectSetting[] = ['auto', 'oneroster-1.1', 'oneroster-1.2', 'sds-v2.1', 'sds-classic'];

function stepFiles(step: Step): { file: FileRef; contract?: string; mode?: string }[] {
  if (step.kind === 'file') return [{ file: step.file, contract: step.spec.contracts.join(','), mode: step.mode }];
  if (step.kind === 'section') return [{ file: step.file, contract: 'section,term,course' }];
  const out: { file: FileRef; contract?: string; mode?: string }[] = [{ file: step.users, contract: 'person,student,staff', mode: step.usersMode }];
  for (const side of [step.roles, step.demographics, step.profiles]) if (side) out.push({ file: side.file, mode: side.mode });
  for (const f of [step.relationships, step.flags]) if (f) out.push({ file: f });
  return out;
}

async function headerOf(file: FileRef, encoding: string | undefined): Promise<Header | undefined> {
  for await (const items of readDelimitedBatches(file.path, { encoding, displayName: file.name })) {
    for (const item of items) if (item.kind === 'meta') return new Header(item.columns);
  }
  return undefined;
}

const createOneRosterCsvAdapter: PluginFactory<OneRosterCsvConfig> = (context) => {
  const { config } = context;
  if (config === undefined || typeof config.path !== 'string' || config.path === '') throw configError('oneroster-csv: 缺少 path / path is required');
  const dialect = config.dialect ?? 'auto';
  if (!DIALECTS.includes(dialect)) throw configError(`oneroster-csv: 未知格式 / unknown dialect ${String(dialect)}`);
  const batchSize = Math.max(1, Math.floor(config.batchSize ?? DEFAULT_BATCH));
  const folder = isAbsolute(config.path) ? config.path : resolve(context.baseDir, config.path);
  const open = () => openBundle(folder, dialect, config.encoding);

  const instance: PluginInstance = {
    async init() {},

    async check(): Promise<HealthReport> {
      try {
        const bundle = await open();
        const missing: string[] = [];
        for (const step of bundle.plan) {
          if (step.kind !== 'file') continue;
          const header = await headerOf(step.file, config.encoding);
          const cols = header === undefined ? ['(header)'] : missingColumns(step.spec, header);
          if (cols.length > 0) missing.push(`${step.file.name}: ${cols.join(', ')}`);
        }
        const errors = bundle.problems.filter((p) => p.severity === 'error').map((p) => `${p.code} ${p.value ?? p.file ?? ''}`);
        if (missing.length > 0 || errors.length > 0) {
          return { ok: false, detail: [`${bundle.dialect}`, ...missing.map((m) => `缺少列 / missing columns ${m}`), ...errors].join('; ') };
        }
        return { ok: true, detail: `${bundle.dialect}: ${bundle.plan.flatMap(stepFiles).map((f) => f.file.name).join(', ')}` };
      } catch (error) {
        if (isVochubError(error)) return { ok: false, detail: `${error.code}: ${error.message}` };
        throw error;
      }
    },

    async discover(): Promise<DiscoveredEntity[]> {
      const bundle = await open();
      const out: DiscoveredEntity[] = [];
      for (const step of bundle.plan) {
        for (const f of stepFiles(step)) {
          let count = 0;
          for await (const items of readDelimitedBatches(f.file.path, { encoding: config.encoding, displayName: f.file.name })) {
            for (const item of items) if (item.kind === 'row') count++;
          }
          out.push({ name: f.file.name, contract: f.contract, count, detail: `${bundle.dialect}${f.mode ? ` ${f.mode}` : ' bulk'}` });
        }
      }
      return out;
    },

    read(options: ReadOptions): AsyncIterable<ReadBatch> {
      return (async function* () {
        const bundle = await open();
        yield* readBundle(bundle, options.checkpoint, { encoding: config.encoding, batchSize, mode: options.mode, signal: options.signal });
      })();
    },
  };
  return instance;
};

export default createOneRosterCsvAdapter;
