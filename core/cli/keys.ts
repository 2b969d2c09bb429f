import type { Command } from 'commander';
import { VochubError } from '../errors.ts';
import { openHub } from './open-hub.ts';
import { createApiKey } from '../security/api-keys.ts';
import type { Permission, Role } from '../security/types.ts';

const ROLES: Role[] = ['group-admin', 'member-admin', 'auditor', 'reader', 'service', 'reporter'];

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API 密钥 / API keys');
  keys
    .command('create')
    .description('创建 API 密钥（只显示一次）/ create an API key (shown once)')
    .requiredOption('--name <name>', '用途 / what it is for')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('-m, --member <code>', '成员范围（成员角色必填）/ member scope (required for member roles)')
    .option('--pii', '允许读取个人敏感信息明文 / grant pii:read')
    .action(async (opts: { name: string; role: string; member?: string; pii?: boolean }) => {
      if (!ROLES.includes(opts.role as Role)) throw new VochubError('CLI_USAGE', `未知角色 / unknown role ${opts.role}; one of ${ROLES.join(', ')}`, { status: 400 });
      const role = opts.role as Role;
      const groupWide = role === 'group-admin' || role === 'auditor';
      if (!groupWide && !opts.member) throw new VochubError('CLI_USAGE', `角色 ${role} 需要 --member / role ${role} needs --member`, { status: 400 });
      const hub = await openHub(program);
      try {
        if (opts.member && !hub.config.members.some((m) => m.code === opts.member)) {
          throw new VochubError('MEMBER_UNKNOWN', `未知成员 / unknown member ${opts.member}`, { status: 404 });
        }
        const permissions: Permission[] = opts.pii ? ['pii:read'] : [];
        const created = await createApiKey(hub.store, { name: opts.name, role, member: groupWide ? null : opts.member!, permissions });
        process.stdout.write(`${created.key}\n`);
        process.stderr.write('请妥善保存，此密钥不会再次显示 / keep it safe: it is not shown again\n');
      } finally {
        await hub.close();
      }
    });
}
