// `vochub worker`: the background half of the hub without the HTTP API — ingest consumer, outbox
// relay (one per cluster with Redis), scheduled imports (locked with Redis), pending imports at start.
// Run N of them against Kafka + PostgreSQL + Redis; see docs/operations/distributed.md.
import type { Command } from 'commander';
import { createHub } from '../hub.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('启动工作进程（消费、发件箱转发、计划导入；无 API）/ run a worker: ingest consumer, outbox relay, scheduled imports — no API')
    .option('--no-import', '启动时不导入尚未导入的数据 / do not import pending adapters at start')
    .action((opts: { import: boolean }) => runWorker(program, opts));
}

/** The worker's main: also what `vochub start --role worker` runs. */
export async function runWorker(program: Command, opts: { import: boolean }): Promise<void> {
  const { config } = program.opts<{ config?: string }>();
  const hub = await createHub({ configPath: config, role: 'worker' });
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const ready = await hub.ready();
  const summary = Object.entries(ready.checks)
    .filter(([name]) => !name.startsWith('adapter:'))
    .map(([name, c]) => `${name} ${c.ok ? 'ok' : 'FAIL'}${c.detail ? ` (${c.detail})` : ''}`)
    .join(', ');
  out(`vochub 工作进程已启动 / worker is running (pid ${process.pid}): ${summary}`);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    hub.logger.info({ signal }, 'worker stopping');
    await hub.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (opts.import) {
    const runs = await hub.importPending();
    for (const run of runs) {
      out(`导入 / import ${run.member}/${run.adapter}: ${run.status} — 读取 read ${run.counts.read}, 新增 inserted ${run.counts.inserted}, 更新 updated ${run.counts.updated}, 未变 unchanged ${run.counts.unchanged}, 删除 deleted ${run.counts.deleted}, 问题 problems ${run.counts.problems}`);
    }
    out(`待导入处理完毕 / pending imports done (${runs.length} run here).`);
  }
}
