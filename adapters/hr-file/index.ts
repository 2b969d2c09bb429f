// hr-file adapter: enterprise HR exports as delimited files (headerless TSV with a column map, custom
// field/record terminators, UTF-8/UTF-16/GB18030) → employee / organization / position … records.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { configError } from '../../core/errors.ts';
import type { DiscoveredEntity, HealthReport, PluginFactory, PluginInstance } from '../../core/plugins/types.ts';
import { countRows, readTables, type HrTable } from './src/read.ts';

export interface HrFileConfig {
  tables: HrTable[];
  zone?: string;
  dateFormats?: string[];
  batchSize?: number;
}

const createHrFileAdapter: PluginFactory<HrFileConfig> = (context) => {
  const { config } = context;
  if (config?.tables === undefined || config.tables.length === 0) throw configError('hr-file: 缺少 tables / tables is required');
  for (const table of config.tables) {
    if (table.contract !== undefined && !context.contracts.has(table.contract)) throw configError(`hr-file: 未知契约 / unknown contract ${table.contract}`);
    if (table.columns !== undefined && !table.columns.includes(table.key)) throw configError(`hr-file: key ${table.key} 不在 columns 中 / key is not among the columns of ${table.file}`);
  }
  const zone = config.zone ?? '+08:00';
  const instance: PluginInstance = {
    async check(): Promise<HealthReport> {
      const missing: string[] = [];
      for (const t of config.tables) if (!(await stat(resolve(context.baseDir, t.file)).catch(() => undefined))?.isFile()) missing.push(t.file);
      return missing.length === 0 ? { ok: true, detail: `${config.tables.length} tables` } : { ok: false, detail: `找不到文件 / missing files: ${missing.join(', ')}` };
    },
    async discover(): Promise<DiscoveredEntity[]> {
      const out: DiscoveredEntity[] = [];
      for (const t of config.tables) {
        const { rows, encoding } = await countRows(resolve(context.baseDir, t.file), t, t.file);
        out.push({ name: t.file, ...(t.contract === undefined ? {} : { contract: t.contract }), count: rows, ...(encoding === undefined ? {} : { detail: encoding }) });
      }
      return out;
    },
    read(options) {
      return readTables(context.baseDir, config.tables, {
        ...options,
        batchSize: Math.max(1, config.batchSize ?? 1000),
        fields: { zone, dateFormats: config.dateFormats },
      });
    },
  };
  return instance;
};

export default createHrFileAdapter;
