// reporting plugin: government reports built from the federated store (see README.md).
// Runs live in the plugin's own SQLite file (context.dataDir/reports.db); schedules by cron (croner).
import { resolve } from 'node:path';
import { Cron } from 'croner';
import { configError } from '../../core/errors.ts';
import type { PluginFactory, PluginInstance } from '../../core/plugins/types.ts';
import { BUILTIN_DEFINITIONS, loadDefinitions } from './src/definitions.ts';
import { openRunStore } from './src/run-store.ts';
import { reportRoutes } from './src/routes.ts';
import { parseSchoolYear, schoolYearOf } from './src/school-year.ts';
import { ReportService, type ReportingConfig } from './src/service.ts';

export { ReportService } from './src/service.ts';

/** What `vochub reports …` and tests reach through hub.plugins. */
export interface ReportingInstance extends PluginInstance {
  reports: ReportService;
}

export function isReportingInstance(instance: PluginInstance): instance is ReportingInstance {
  return (instance as Partial<ReportingInstance>).reports instanceof ReportService;
}

/** `current` / `previous` / a literal 学年, resolved at the time the schedule fires. */
export function resolveYear(spec: string | undefined, today: string): string {
  const current = schoolYearOf(today);
  if (spec === undefined || spec === 'current') return current.label;
  if (spec === 'previous') return `${current.startYear - 1}-${current.startYear}`;
  return spec;
}

const factory: PluginFactory<ReportingConfig> = (context) => {
  const services = context.services;
  if (!services) throw configError('reporting: 这是能力插件，需要 hub 服务 / a capability plugin needs the hub services');
  const config = context.config;
  const dirs = [BUILTIN_DEFINITIONS, ...(config.definitions ? [resolve(context.baseDir, config.definitions)] : [])];
  const definitions = loadDefinitions(dirs);
  for (const s of config.schedules ?? []) {
    if (!definitions.has(s.definition)) throw configError(`reporting: 计划任务引用了未知报表定义 / schedule names unknown definition ${s.definition}`);
    try {
      new Cron(s.cron, { paused: true }).stop();
    } catch (error) {
      throw configError(`reporting: 无效的 cron 表达式 / invalid cron expression "${s.cron}": ${(error as Error).message}`);
    }
    if (s.year && !['current', 'previous'].includes(s.year) && !parseSchoolYear(s.year)) throw configError(`reporting: 学年应为 current、previous 或 2024-2025 / schedule year must be current, previous or like 2024-2025`);
  }
  for (const [name, endpoint] of Object.entries(config.endpoints ?? {})) {
    const host = (() => { try { return new URL(endpoint.url).hostname; } catch { return undefined; } })();
    if (!host || !(config.allowedHosts ?? []).includes(host)) throw configError(`reporting: 端点 ${name} 的主机不在 allowedHosts 中 / endpoint ${name}: host not in allowedHosts`);
  }
  const runs = openRunStore(context.dataDir);
  const reports = new ReportService({ services, runs, definitions, config, baseDir: context.baseDir });
  const crons: Cron[] = [];

  const instance: ReportingInstance = {
    reports,
    async start() {
      for (const s of config.schedules ?? []) {
        const members = s.members ?? services.config.members.filter((m) => m.type === 'school' || m.type === 'college').map((m) => m.code);
        // unref: a one-shot CLI process that loads the plugin must still exit.
        crons.push(new Cron(s.cron, { protect: true, unref: true, name: `reporting:${s.definition}` }, async () => {
          const year = resolveYear(s.year, new Date().toISOString().slice(0, 10));
          for (const member of members) {
            try {
              const run = await reports.generate({ definition: s.definition, member, year, actor: { id: `schedule:${s.definition}` } });
              context.logger.info({ run: run.id, member, status: run.status }, 'scheduled report generated');
            } catch (error) {
              context.logger.error({ err: error, member, definition: s.definition }, 'scheduled report failed');
            }
          }
        }));
      }
    },
    async stop() {
      for (const c of crons) c.stop();
      runs.close();
    },
    async health() {
      return { ok: true, detail: `${definitions.size} definitions` };
    },
    routes: async (app, kit) => reportRoutes(reports)(app, kit),
  };
  return instance;
};

export default factory;
