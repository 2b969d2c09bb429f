import type { Command } from 'commander';
import { openHub } from './open-hub.ts';

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('死信队列 / dead-letter queue');
  dlq
    .command('list')
    .description('列出死信 / list dead letters')
    .option('--topic <topic>')
    .option('--group <group>')
    .option('--status <status>', 'open | replayed | discarded', 'open')
    .option('--json', '输出 JSON / print JSON')
    .action(async (opts: { topic?: string; group?: string; status: 'open' | 'replayed' | 'discarded'; json?: boolean }) => {
      const hub = await openHub(program);
      try {
        const page = await hub.bus.dlq.list({ topic: opts.topic, group: opts.group, status: opts.status, limit: 100 });
        // Event data may hold PII: list the context, not the payload.
        const items = page.items.map((d) => ({ id: d.id, topic: d.topic, group: d.group, type: d.event.type, member: d.event.member, subject: d.event.subject, reason: d.reason, attempts: d.attempts, firstFailureAt: d.firstFailureAt, lastFailureAt: d.lastFailureAt, status: d.status }));
        if (opts.json) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        else if (items.length === 0) process.stdout.write('没有死信 / no dead letters\n');
        else for (const d of items) process.stdout.write(`${d.id} ${d.topic}/${d.group} ${d.reason.code} attempts=${d.attempts} ${d.reason.message}\n`);
      } finally {
        await hub.close();
      }
    });
  dlq
    .command('replay <id>')
    .description('重新投递一条死信 / re-deliver one dead letter')
    .action(async (id: string) => {
      // Only re-queues: the running hub's consumer of that group takes it (one consumer per group and file).
      const hub = await openHub(program);
      try {
        await hub.bus.dlq.replay(id);
        process.stdout.write(`已重新排队，运行中的枢纽会投递 / re-queued: the running hub delivers it: ${id}\n`);
      } finally {
        await hub.close();
      }
    });
}
