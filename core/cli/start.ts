import { Option, type Command } from 'commander';
import { createHub, type HubRole } from '../hub.ts';
import { runWorker } from './worker.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('启动枢纽（API、管道、计划任务）并导入尚未导入的数据 / run the hub (API, pipeline, schedules) and import what has not been imported')
    .option('--no-import', '启动时不导入 / do not import at start')
    .addOption(new Option('--role <role>', '进程角色：all（API+工作进程）、api（仅 API）、worker（仅工作，同 `vochub worker`）/ process role').choices(['all', 'api', 'worker']).default('all'))
    .action(async (opts: { import: boolean; role: HubRole }) => {
      if (opts.role === 'worker') return runWorker(program, opts);
      const { config } = program.opts<{ config?: string }>();
      const hub = await createHub({ configPath: config, role: opts.role });
      const { url } = await hub.listen();
      const out = (line: string): void => void process.stdout.write(`${line}\n`);
      out(`vochub 已启动 / is running: ${hub.config.group.name} — ${hub.config.members.length} 个成员 / members`);
      out(`  API:      ${url}/api/v1`);
      out(`  文档/docs: ${url}/docs   OpenAPI: ${url}/openapi.json`);
      out(`  就绪/ready: ${url}/readyz   数据目录/data: ${hub.config.hub.dataDir}`);
      const key = await hub.ensureAdminKey();
      if (key) {
        out('');
        out('首次运行：已创建集团管理员密钥（只显示这一次，请妥善保存）/ first run: a group-admin API key was created (shown once, keep it safe):');
        out(`  ${key}`);
        out(`  例 / e.g.: curl -H "Authorization: Bearer ${key}" ${url}/api/v1/members`);
        out('');
      }
      let stopping = false;
      const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        hub.logger.info({ signal }, 'stopping');
        await hub.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
      // An API-only process leaves imports to the workers.
      if (opts.import && opts.role === 'all') {
        const runs = await hub.importPending();
        for (const run of runs) {
          out(`导入 / import ${run.member}/${run.adapter}: ${run.status} — 读取 read ${run.counts.read}, 新增 inserted ${run.counts.inserted}, 更新 updated ${run.counts.updated}, 未变 unchanged ${run.counts.unchanged}, 删除 deleted ${run.counts.deleted}, 问题 problems ${run.counts.problems}`);
        }
        if (runs.length > 0) out('导入完成 / imports finished. `vochub stats` 查看统计 / shows the counts.');
      }
    });
}
