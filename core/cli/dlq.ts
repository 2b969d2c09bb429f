import type { Command } from 'commander';
import { createHub } from '../hub.ts';

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
      const { config } = program.opts<{ config?: string }>();
      const hub = await createHub({ configPath: config, background: false });
      try {
        const page = await hub.bus.dlq.list({ topic: opts.topic, group: opts.group, status: opts.status, limit: 100 });
        // Event data may hold PII: list the context, not the payload.
        const items = page.items.map((d) => ({ id: d.id, topic: d.topic, group: d.group, type: d.event.type, member: d.event.member, subject: d.event.subject, reason: d.reason, attempts: d.attempts, firstFailureAt: d.firstFailureAt, lastFailureAt: d.lastFailureAt, status: d.status }));
        if (opts.json) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        else for (const d of items) process.stdout.write(`${d.id} ${d.topic}/${d.group} ${d.reason.code} attempts=${d.attempts} ${d.reason.message}\n`);
      } finally {
        await hub.close();
      }
    });
  dlq
    .command('replay <id>')
    .description('重新投递一条死信 / re-deliver one dead letter')
    .action(async (id: string) => {
      const { config } = program.opts<{ config?: string }>();
      const hub = await createHub({ configPath: config });
      try {
        const entry = await hub.bus.dlq.get(id);
        await hub.bus.dlq.replay(id);
        if (entry) await hub.bus.idle(entry.topic, entry.group, 30_000);
        process.stdout.write(`已重新投递 / replayed ${id}\n`);
      } finally {
        await hub.close();
      }
    });
}
