import type { Command } from 'commander';
import { openHub } from './open-hub.ts';

export function registerProblems(program: Command): void {
  const problems = program.command('problems').description('导入问题（坏行）/ import problems (bad rows)');
  problems
    .command('list')
    .description('列出未处理的问题 / list open problems')
    .option('-m, --member <code>', '成员代码 / member code')
    .option('--code <code>', '问题代码 / problem code')
    .option('--limit <n>', '条数 / how many', '50')
    .option('--json', '输出 JSON / print JSON')
    .action(async (opts: { member?: string; code?: string; limit: string; json?: boolean }) => {
      const hub = await openHub(program);
      try {
        const page = await hub.store.listProblems({ member: opts.member, code: opts.code, status: 'open', limit: Number(opts.limit) });
        // Values may be PII: the CLI shows where the problem is, never the value.
        const items = page.items.map(({ value: _value, ...rest }) => rest);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
          return;
        }
        for (const p of items) {
          const where = [p.file, p.sheet, p.line !== undefined ? `行/line ${p.line}` : undefined, p.column !== undefined ? `列/column ${p.column}` : undefined, p.field ? `字段/field ${p.field}` : undefined].filter(Boolean).join(' ');
          process.stdout.write(`${p.id} ${p.member} ${p.code} ${where}\n    ${p.message}\n`);
        }
      } finally {
        await hub.close();
      }
    });
  problems
    .command('replay <id>')
    .description('把问题记录的原始行重新送入管道（可用 --set 字段=值 修正）/ replay a problem record, optionally fixed with --set field=value')
    .option('--set <assignment...>', '修正字段 / fixed fields: field=value')
    .action(async (id: string, opts: { set?: string[] }) => {
      // Only publishes: the running hub's `store` consumer processes it (one consumer per group and file).
      const hub = await openHub(program);
      try {
        const fixed = opts.set ? Object.fromEntries(opts.set.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])) : undefined;
        await hub.imports.replayProblem(id, fixed);
        process.stdout.write(`已送入管道，运行中的枢纽（vochub start）会处理 / queued on vochub.ingest: the running hub (vochub start) processes it: ${id}\n`);
      } finally {
        await hub.close();
      }
    });
}
