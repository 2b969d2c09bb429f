import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { VochubError } from '../errors.ts';
import { openHub } from './open-hub.ts';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('运行导入（全部、一个成员或一个适配器）/ run imports: all, one member, or one adapter')
    .option('-m, --member <code>', '成员代码 / member code')
    .option('-a, --adapter <name>', '适配器实例名 / adapter instance name')
    .option('--mode <mode>', 'full 全量 | delta 增量', 'full')
    .option('--no-progress', '不显示进度条 / no progress bar')
    .action(async (opts: { member?: string; adapter?: string; mode: string; progress: boolean }) => {
      if (opts.mode !== 'full' && opts.mode !== 'delta') throw new VochubError('CLI_USAGE', `--mode 只能是 full 或 delta / --mode must be full or delta`, { status: 400 });
      const mode = opts.mode;
      const hub = await openHub(program);
      let failed = false;
      try {
        const targets = [...hub.adapters.values()].filter(
          (a) => (!opts.member || a.spec.member === opts.member) && (!opts.adapter || a.spec.instance === opts.adapter),
        );
        if (targets.length === 0) throw new VochubError('ADAPTER_UNKNOWN', `没有匹配的适配器 / no adapter matches member=${opts.member ?? '*'} adapter=${opts.adapter ?? '*'}`, { status: 404 });
        const showBar = opts.progress && process.stderr.isTTY;
        for (const target of targets) {
          const label = `${target.spec.member}/${target.spec.instance}`;
          const bar = showBar ? new cliProgress.SingleBar({ format: `${label} {value} 行/rows, {problems} 问题/problems`, stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
          bar?.start(0, 0, { problems: 0 });
          const run = await hub.imports.run(target.spec.member!, target.spec.instance, { mode, onProgress: (p) => bar?.update(p.read, { problems: p.problems }) });
          bar?.stop();
          const c = run.counts;
          process.stdout.write(
            `${label}: ${run.status} run=${run.id} 读取 read=${c.read} 新增 inserted=${c.inserted} 更新 updated=${c.updated} 未变 unchanged=${c.unchanged} 删除 deleted=${c.deleted} 问题 problems=${c.problems}${run.error ? ` — ${run.error.code}: ${run.error.message}` : ''}\n`,
          );
          if (run.status !== 'succeeded') failed = true;
        }
      } finally {
        await hub.close();
      }
      if (failed) process.exitCode = 1;
    });
}
