import type { Command } from 'commander';
import { openHub } from './open-hub.ts';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('每个成员、每个契约的记录数，以及每个问题代码的问题数 / records per member and contract, open problems per code')
    .option('--json', '输出 JSON / print JSON')
    .action(async (opts: { json?: boolean }) => {
      const hub = await openHub(program);
      try {
        const records = await hub.store.stats();
        const problems = await hub.store.problemStats();
        const members = hub.config.members.map((m) => {
          const recordCounts: Record<string, number> = {};
          for (const r of records.filter((r) => r.member === m.code)) recordCounts[r.contract] = r.records;
          const problemCounts: Record<string, number> = {};
          for (const p of problems.filter((p) => p.member === m.code)) problemCounts[p.code] = p.problems;
          return { code: m.code, name: m.name, records: recordCounts, problems: problemCounts };
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ group: hub.config.group, members }, null, 2)}\n`);
          return;
        }
        for (const m of members) {
          process.stdout.write(`${m.code} ${m.name}\n`);
          for (const [contract, n] of Object.entries(m.records)) process.stdout.write(`  ${contract.padEnd(14)} ${n}\n`);
          for (const [code, n] of Object.entries(m.problems)) process.stdout.write(`  问题/problem ${code.padEnd(28)} ${n}\n`);
        }
      } finally {
        await hub.close();
      }
    });
}
