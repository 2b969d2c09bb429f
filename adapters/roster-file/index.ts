// roster-file adapter: student / staff / organization rosters as CSV, TSV or XLSX files (GBK or UTF-8),
// with a configured column mapping. See README.md for the config, the cleaning and the problem codes.

import { todayIso } from '../../core/contracts/id-number.ts';
import { configError } from '../../core/errors.ts';
import { DEFAULT_DATE_FORMATS } from '../../core/ingest/dates.ts';
import type { DiscoveredEntity, HealthReport, PluginFactory, PluginInstance, ReadBatch, ReadOptions } from '../../core/plugins/types.ts';
import type { ColumnSpec } from './fields.ts';
import { resolveFiles } from './files.ts';
import { normalizeHeader, openItems, readRoster, type RosterSettings } from './read.ts';

export interface RosterFileConfig {
  files: string | string[];
  contract?: 'student' | 'staff' | 'organization';
  key?: string;
  columns: Record<string, string | ColumnSpec>;
  headerRow?: number;
  skipRows?: number;
  delimiter?: string;
  encoding?: string;
  sheet?: string | number;
  dateFormats?: string[];
  zone?: string;
  allow15?: boolean;
  source?: 'spreadsheet' | 'system';
  valueMaps?: Record<string, Record<string, string>>;
  defaults?: Record<string, unknown>;
  extensions?: string[];
  batchSize?: number;
  idCheckDate?: string;
}

const KEY_FIELD: Record<string, string> = { student: 'studentNumber', staff: 'staffNumber', organization: 'code' };

function settingsOf(config: RosterFileConfig, contracts: RosterSettings['fields']['contracts']): RosterSettings {
  const contract = config.contract ?? 'student';
  if (!(contract in KEY_FIELD)) throw configError(`roster-file: 不支持的合同 / unsupported contract ${contract}`);
  if (config.columns === undefined || Object.keys(config.columns).length === 0) throw configError('roster-file: 缺少 columns / columns is required');
  const columns: Record<string, ColumnSpec> = {};
  for (const [column, spec] of Object.entries(config.columns)) columns[column] = typeof spec === 'string' ? { field: spec } : spec;
  const keyColumn = config.key ?? Object.entries(columns).find(([, spec]) => spec.field === KEY_FIELD[contract])?.[0];
  if (keyColumn === undefined) {
    throw configError(`roster-file: 需要 key，或把某列映射到 ${KEY_FIELD[contract]} / set key or map a column to ${KEY_FIELD[contract]}`);
  }
  return {
    contract,
    keyColumn,
    columns,
    headerRow: config.headerRow,
    skipRows: config.skipRows,
    delimiter: config.delimiter,
    encoding: config.encoding,
    sheet: config.sheet,
    defaults: config.defaults ?? {},
    extensions: config.extensions ?? [],
    batchSize: Math.max(1, Math.floor(config.batchSize ?? 1000)),
    fields: {
      source: config.source ?? 'spreadsheet',
      dateFormats: config.dateFormats ?? DEFAULT_DATE_FORMATS,
      zone: config.zone ?? '+08:00',
      allow15: config.allow15 ?? false,
      valueMaps: config.valueMaps ?? {},
      contracts,
      at: config.idCheckDate,
    },
  };
}

const createRosterFileAdapter: PluginFactory<RosterFileConfig> = (context) => {
  const { config } = context;
  if (config === undefined || config.files === undefined) throw configError('roster-file: 缺少 files / files is required');
  const patterns = Array.isArray(config.files) ? config.files : [config.files];
  const settings = settingsOf(config, context.contracts);
  const resolve = () => resolveFiles(context.baseDir, patterns);

  const instance: PluginInstance = {
    async init() {},

    async check(): Promise<HealthReport> {
      const { files, missing } = await resolve();
      const notes: string[] = missing.map((m) => `找不到文件 / no file matches: ${m}`);
      if (files.length === 0 && missing.length === 0) notes.push('没有文件 / no files');
      for (const file of files) {
        const items = openItems(file, settings);
        if ('unsupported' in items) {
          notes.push(`${file.name}: 不支持的文件类型 / unsupported type ${items.unsupported}`);
          continue;
        }
        let headers: string[] | undefined;
        try {
          outer: for await (const batch of items) {
            for (const item of batch) {
              if (item.kind === 'meta') {
                headers = item.columns;
                break outer;
              }
            }
          }
        } catch (error) {
          notes.push(`${file.name}: 无法读取 / unreadable: ${(error as Error).message}`);
          continue;
        }
        if (headers === undefined) {
          notes.push(`${file.name}: 没有表头 / no header`);
          continue;
        }
        const have = new Set(headers.map(normalizeHeader));
        const lacking = [settings.keyColumn, ...Object.entries(settings.columns).filter(([, s]) => s.optional !== true).map(([c]) => c)]
          .filter((c, i, all) => all.indexOf(c) === i && !have.has(normalizeHeader(c)));
        if (lacking.length > 0) notes.push(`${file.name}: 缺少列 / missing columns ${lacking.join(', ')}`);
      }
      if (notes.length > 0) return { ok: false, detail: notes.join('; ') };
      return { ok: true, detail: files.map((f) => f.name).join(', ') };
    },

    async discover(): Promise<DiscoveredEntity[]> {
      const { files } = await resolve();
      const out: DiscoveredEntity[] = [];
      for (const file of files) {
        const items = openItems(file, settings);
        if ('unsupported' in items) {
          out.push({ name: file.name, contract: settings.contract, detail: `unsupported ${items.unsupported}` });
          continue;
        }
        let count = 0;
        let encoding = '';
        for await (const batch of items) {
          for (const item of batch) {
            if (item.kind === 'row') count++;
            else if (item.kind === 'meta') encoding = item.encoding;
          }
        }
        out.push({ name: file.name, contract: settings.contract, count, detail: encoding });
      }
      return out;
    },

    read(options: ReadOptions): AsyncIterable<ReadBatch> {
      return (async function* () {
        const { files, missing } = await resolve();
        // Checked against one date per run, not the clock per row.
        const run = { ...settings, fields: { ...settings.fields, at: settings.fields.at ?? todayIso() } };
        yield* readRoster(files, run, { checkpoint: options.checkpoint, mode: options.mode, signal: options.signal, missingFiles: missing });
      })();
    },
  };
  return instance;
};

export default createRosterFileAdapter;
