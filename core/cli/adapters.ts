import type { Command } from 'commander';
import { openHub } from './open-hub.ts';

export function registerAdapters(program: Command): void {
  const adapters = program.command('adapters').description('成员的适配器实例 / the members\' adapter instances');
  adapters
    .command('list')
    .description('列出适配器实例及最近一次导入 / list adapter instances with their last run')
    .option('--json', '输出 JSON / print JSON')
    .action(async (opts: { json?: boolean }) => {
      const hub = await openHub(program);
      try {
        const runs = (await hub.store.listRuns({ limit: 1000 })).items;
        const items = [...hub.adapters.values()].map((a) => {
          const last = runs.find((r) => r.member === a.spec.member && r.adapter === a.spec.instance);
          return { member: a.spec.member, adapter: a.spec.instance, type: a.spec.type, schedule: hub.config.members.find((m) => m.code === a.spec.member)?.adapters.find((x) => x.name === a.spec.instance)?.schedule, lastRun: last ? { id: last.id, status: last.status, startedAt: last.startedAt, counts: last.counts } : null };
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        else for (const i of items) process.stdout.write(`${i.member}/${i.adapter} (${i.type})${i.schedule ? ` 计划/schedule "${i.schedule}"` : ''} — ${i.lastRun ? `${i.lastRun.status} ${i.lastRun.startedAt}` : '从未导入 / never imported'}\n`);
      } finally {
        await hub.close();
      }
    });
  adapters
    .command('check')
    .description('检查各适配器能否读取其数据源 / test that each adapter can reach its source')
    .option('-m, --member <code>', '成员代码 / member code')
    .action(async (opts: { member?: string }) => {
      const hub = await openHub(program);
      let failed = false;
      try {
        for (const a of hub.adapters.values()) {
          if (opts.member && a.spec.member !== opts.member) continue;
          const report = a.instance.check ? await a.instance.check() : { ok: true, detail: '无检查 / no check' };
          if (!report.ok) failed = true;
          process.stdout.write(`${report.ok ? '正常 ok  ' : '失败 FAIL'} ${a.spec.member}/${a.spec.instance}${report.detail ? ` — ${report.detail}` : ''}\n`);
        }
      } finally {
        await hub.close();
      }
      if (failed) process.exitCode = 1;
    });
  adapters
    .command('discover')
    .description('列出各数据源提供的内容 / what each source offers')
    .option('-m, --member <code>', '成员代码 / member code')
    .option('--json', '输出 JSON / print JSON')
    .action(async (opts: { member?: string; json?: boolean }) => {
      const hub = await openHub(program);
      try {
        const out: Record<string, unknown> = {};
        for (const a of hub.adapters.values()) {
          if (opts.member && a.spec.member !== opts.member) continue;
          out[`${a.spec.member}/${a.spec.instance}`] = a.instance.discover ? await a.instance.discover() : [];
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        else
          for (const [id, entities] of Object.entries(out)) {
            process.stdout.write(`${id}\n`);
            for (const e of entities as { name: string; contract?: string; count?: number; detail?: string }[]) process.stdout.write(`  ${e.name}${e.contract ? ` → ${e.contract}` : ''}${e.count !== undefined ? ` (${e.count})` : ''}${e.detail ? ` ${e.detail}` : ''}\n`);
          }
      } finally {
        await hub.close();
      }
    });
}
