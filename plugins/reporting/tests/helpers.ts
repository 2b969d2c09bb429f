// Test wiring: a real hub (createHub) on a temp data folder, built from the demo group file with its
// data paths made absolute, so every test imports through the real adapters and pipeline.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import ExcelJS from 'exceljs';
import { DEMO_CONFIG } from '../../../core/config/load.ts';
import { createHub, type Hub } from '../../../core/hub.ts';
import { silentLogger } from '../../../core/logger.ts';
import { isReportingInstance } from '../index.ts';
import type { ReportService } from '../src/service.ts';

export const ZHONGZHI = '3133010103';
/** The demo enterprise member (AdventureWorks HR export and its school-cooperation ledger). */
export const DEMO_ENTERPRISE = '91330106MA2DEMAW1X';

/** Keeps only the named adapters of a member: tests that bring their own records of a contract. */
export function onlyAdapters(code: string, names: string[]): (group: GroupFile) => void {
  return (group) => {
    const m = group.members.find((x) => x.code === code);
    if (m) m.adapters = m.adapters.filter((a) => names.includes(a.name));
  };
}

export interface GroupFile {
  members: { code: string; adapters: { name: string; config: Record<string, unknown> }[] }[];
  plugins: { name: string; type: string; config: Record<string, unknown> }[];
  hub: Record<string, unknown>;
}

export interface TestHub {
  hub: Hub;
  reports: ReportService;
  dir: string;
  close(): Promise<void>;
}

/** The demo group, reduced to `members` (default all), with the reporting plugin config patched. */
export function writeGroupConfig(dir: string, options: { members?: string[]; reporting?: (config: Record<string, unknown>) => Record<string, unknown>; patch?: (group: GroupFile) => void } = {}): string {
  const group = parse(readFileSync(DEMO_CONFIG, 'utf8')) as GroupFile;
  const base = dirname(DEMO_CONFIG);
  const absolute = (p: unknown): unknown => (typeof p === 'string' && !isAbsolute(p) ? resolve(base, p) : p);
  group.members = group.members.filter((m) => !options.members || options.members.includes(m.code));
  for (const m of group.members) {
    for (const a of m.adapters) {
      for (const k of ['path', 'files']) if (k in a.config) a.config[k] = absolute(a.config[k]);
      // hr-file: one file per table.
      for (const t of (a.config.tables as { file?: string }[] | undefined) ?? []) t.file = absolute(t.file) as string;
    }
  }
  options.patch?.(group);
  const reporting = group.plugins.find((p) => p.type === 'reporting')!;
  reporting.config.schedules = [];
  if (options.reporting) reporting.config = options.reporting(reporting.config);
  group.plugins = [reporting];
  group.hub = { ...group.hub, bus: { transport: 'memory' }, port: 0 };
  const file = join(dir, 'vochub.yaml');
  writeFileSync(file, stringify(group));
  return file;
}

export async function openTestHub(options: Parameters<typeof writeGroupConfig>[1] & { configPath?: string; import?: boolean } = {}): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), 'vochub-reporting-'));
  const configPath = options.configPath ?? writeGroupConfig(dir, options);
  const hub = await createHub({ configPath, env: { ...process.env, VOCHUB_DATA: join(dir, 'var'), VOCHUB_DEMO_KEYS: 'on' }, background: false, logger: silentLogger });
  if (options.import !== false) await hub.importPending();
  const plugin = hub.plugins?.find((p) => isReportingInstance(p.instance));
  if (!plugin || !isReportingInstance(plugin.instance)) throw new Error('reporting plugin not loaded');
  return {
    hub, reports: plugin.instance.reports, dir,
    async close() {
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function readWorkbook(content: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(content as unknown as ArrayBuffer);
  return workbook;
}

export function headerOf(sheet: ExcelJS.Worksheet): string[] {
  return (sheet.getRow(1).values as unknown[]).slice(1).map(String);
}

export const cli = { id: 'cli:test', role: 'operator' };
