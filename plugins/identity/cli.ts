// `vochub identity …`: run a full match now, show a golden record by member record.
import type { Command } from 'commander';
import type { RegisterCli } from '../../core/cli/plugin-commands.ts';
import type { Hub } from '../../core/hub.ts';
import { VochubError } from '../../core/errors.ts';
import { isIdentityInstance } from './index.ts';
import type { IdentityService } from './src/service.ts';

function serviceOf(hub: Hub): IdentityService {
  const mounted = hub.plugins?.find((p) => isIdentityInstance(p.instance));
  if (!mounted || !isIdentityInstance(mounted.instance)) {
    throw new VochubError('IDENTITY_NOT_CONFIGURED', '配置文件 plugins: 中没有 identity 插件 / no identity plugin under plugins: in the group config', { status: 400 });
  }
  return mounted.instance.identity;
}

export const registerCli: RegisterCli = (program: Command, open) => {
  const identity = program.command('identity').description('跨成员身份识别 / identity resolution across members');
  identity
    .command('match')
    .description('立即全量匹配（人员、学生、教职工）/ match every person, student and staff record now')
    .option('--json', '输出 JSON / print JSON')
    .action(async (opts: { json?: boolean }) => {
      const hub = await open({ background: false });
      try {
        const service = serviceOf(hub);
        const summary = await service.matchAll({ id: `cli:${process.env.USER ?? 'operator'}`, role: 'operator' });
        service.db.setMeta('fullMatchAt', new Date().toISOString());
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `记录 records ${summary.records} → 人员 persons ${summary.goldens}（多记录 multi-record ${summary.multiRecord}，跨成员 across members ${summary.multiMember}）\n` +
          `关联 links: id=${summary.links.id} account=${summary.links.account} probabilistic=${summary.links.probabilistic} manual=${summary.links.manual}；` +
          `待复核 review=${summary.review}；${summary.ms.total} ms\n`,
        );
      } finally {
        await hub.close();
      }
    });
  identity
    .command('show')
    .description('按成员记录显示人员（脱敏）/ show the golden record of a member record (masked)')
    .requiredOption('--member <code>')
    .requiredOption('--contract <name>')
    .requiredOption('--key <key>')
    .action(async (opts: { member: string; contract: string; key: string }) => {
      const hub = await open({ background: false });
      try {
        const service = serviceOf(hub);
        const link = service.db.link(opts);
        if (!link) throw new VochubError('NOT_FOUND', '该记录没有身份链接（先运行 vochub identity match）/ the record has no identity link (run vochub identity match)', { status: 404 });
        const links = service.db.linksOf(link.goldenId);
        process.stdout.write(`${JSON.stringify({ goldenId: link.goldenId, records: links.map((l) => ({ member: l.member, contract: l.contract, key: l.key, method: l.method, score: l.score })) }, null, 2)}\n`);
      } finally {
        await hub.close();
      }
    });
};
