// `vochub reports …`: the same operations as /api/v1/reports, for the operator on the hub's machine
// (acting as `cli:<os user>`; every step is audited under that name).
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { RegisterCli } from '../../core/cli/plugin-commands.ts';
import { VochubError } from '../../core/errors.ts';
import type { Hub } from '../../core/hub.ts';
import { isReportingInstance } from './index.ts';
import type { ReportService } from './src/service.ts';
import type { ReportIssue, ReportRun } from './src/types.ts';

const actor = () => ({ id: `cli:${userInfo().username}`, role: 'operator' });

function serviceOf(hub: Hub): ReportService {
  const plugin = hub.plugins?.find((p) => isReportingInstance(p.instance));
  if (!plugin || !isReportingInstance(plugin.instance)) {
    throw new VochubError('REPORT_PLUGIN_NOT_CONFIGURED', '集团配置未启用 reporting 插件（plugins: - type: reporting）/ the group config does not enable the reporting plugin', { status: 400 });
  }
  return plugin.instance.reports;
}

function printIssues(issues: ReportIssue[]): void {
  for (const i of issues) {
    const rows = i.rows ? ` — ${i.rowCount} 行/rows: ${i.rows.slice(0, 10).join(', ')}${(i.rowCount ?? 0) > 10 ? ', …' : ''}` : '';
    process.stdout.write(`  ${i.severity === 'error' ? '错误/error' : '警告/warning'} ${i.code}${i.rule ? ` [${i.rule}]` : ''}${i.table ? ` ${i.table}` : ''}${i.field ? `.${i.field}` : ''}: ${i.message}${rows}\n`);
  }
}

function printRun(run: ReportRun): void {
  process.stdout.write(`${run.id} ${run.definition} ${run.member} ${run.schoolYear} 状态/status=${run.status} 快照/snapshot=${run.snapshotHash.slice(0, 16)}…\n`);
  process.stdout.write(`  行数/rows ${Object.entries(run.counts).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  for (const f of run.files) process.stdout.write(`  文件/file ${f.name} (${f.sheets} 表/sheets, ${f.rows} 行/rows, ${f.bytes} bytes, sha256 ${f.sha256.slice(0, 16)}…)\n`);
  if (run.approvedBy) process.stdout.write(`  批准/approved ${run.approvedAt} by ${run.approvedBy}\n`);
  if (run.receipt) process.stdout.write(`  回执/receipt ${run.receipt.receiptNumber} (${run.receipt.channel}, ${run.receipt.acceptedAt})${run.duplicateOf ? ` — 与 ${run.duplicateOf} 相同，未重复报送 / same snapshot as ${run.duplicateOf}: not filed again` : ''}\n`);
  if (run.delivery?.lastError) process.stdout.write(`  报送失败/delivery failed after ${run.delivery.attempts}: ${run.delivery.lastError.code} ${run.delivery.lastError.message}\n`);
  printIssues(run.issues);
}

export const registerCli: RegisterCli = (program: Command, open) => {
  const reports = program.command('reports').description('政府报送 / government reporting runs');
  const withService = async <T>(fn: (service: ReportService, hub: Hub) => Promise<T>): Promise<T> => {
    const hub = await open();
    try {
      return await fn(serviceOf(hub), hub);
    } finally {
      await hub.close();
    }
  };
  const json = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

  reports.command('list').description('报表定义与最近的任务 / definitions and recent runs')
    .option('-m, --member <code>', '成员 / member').option('--json', 'JSON')
    .action((opts: { member?: string; json?: boolean }) => withService(async (service) => {
      const runs = service.listRuns(opts.member ?? null, undefined, 50);
      if (opts.json) return json({ definitions: service.definitions().map((d) => ({ id: d.id, title: d.title, delivery: d.delivery })), runs });
      for (const d of service.definitions()) process.stdout.write(`定义/definition ${d.id}: ${d.title} (${d.delivery.kind})\n`);
      for (const r of runs) process.stdout.write(`${r.id} ${r.definition} ${r.member} ${r.schoolYear} ${r.status}\n`);
    }));

  reports.command('generate <definition>').description('构建、校验并冻结快照（待批准）/ build, validate and freeze a snapshot (then awaits approval)')
    .requiredOption('-y, --year <schoolYear>', '学年，如 2024-2025 / school year, e.g. 2024-2025')
    .option('-m, --member <code>', '成员（默认：学籍表为所有中职学校，状态数据为所有院校）/ member (default: every school for 学籍, every school and college for status data)')
    .option('--out <dir>', '同时把生成的文件写到此目录（含个人信息明文）/ also write the files here (clear PII)')
    .option('--json', 'JSON')
    .action((definition: string, opts: { year: string; member?: string; out?: string; json?: boolean }) => withService(async (service, hub) => {
      // 学籍 workbooks are for 中职 schools; the status data for every school and college.
      const types = service.definition(definition).target === 'xueji' ? ['school'] : ['school', 'college'];
      const members = opts.member ? [opts.member] : hub.config.members.filter((m) => types.includes(m.type)).map((m) => m.code);
      const runs: ReportRun[] = [];
      for (const member of members) {
        const run = await service.generate({ definition, member, year: opts.year, actor: actor() });
        runs.push(run);
        if (opts.out) await writeFiles(service, run, opts.out);
      }
      if (opts.json) json(runs);
      else runs.forEach(printRun);
      if (runs.some((r) => r.status === 'rejected')) process.exitCode = 1;
    }));

  reports.command('validate <run>').description('复核快照完整性与数据是否已变化 / re-check snapshot integrity and whether the store changed')
    .option('--json', 'JSON')
    .action((id: string, opts: { json?: boolean }) => withService(async (service) => {
      const result = await service.validate(id, actor());
      if (opts.json) return json({ run: id, intact: result.intact, stale: result.stale, issues: result.issues });
      process.stdout.write(`${id}: 快照完整/intact=${result.intact} 数据已变化/stale=${result.stale}\n`);
      printIssues(result.issues);
      if (!result.intact || result.issues.some((i) => i.severity === 'error')) process.exitCode = 1;
    }));

  reports.command('approve <run>').description('批准报送（报送员）/ approve for delivery (reporter)')
    .action((id: string) => withService(async (service) => printRun(await service.approve(id, actor()))));

  reports.command('submit <run>').description('报送已批准的快照 / deliver an approved snapshot')
    .action((id: string) => withService(async (service) => printRun(await service.submit(id, actor()))));

  reports.command('status <run>').description('任务状态与回执 / run status and receipt').option('--json', 'JSON')
    .action((id: string, opts: { json?: boolean }) => withService(async (service) => (opts.json ? json(service.getRun(id)) : printRun(service.getRun(id)))));

  reports.command('diff <run>').description('与上次被接受的报送比较 / differences against the last accepted filing').option('--json', 'JSON')
    .action((id: string, opts: { json?: boolean }) => withService(async (service) => {
      const diff = await service.diff(id, actor());
      if (opts.json) return json(diff);
      if (!diff.against) return void process.stdout.write(`${id}: 尚无被接受的报送可比较 / no accepted filing to compare with\n`);
      process.stdout.write(`${id} ↔ ${diff.against}: ${diff.identical ? '相同 / identical' : '有变化 / changed'}\n`);
      for (const [table, d] of Object.entries(diff.tables)) {
        if (!d.added.length && !d.removed.length && !d.changed.length) continue;
        process.stdout.write(`  ${table}: +${d.added.length} -${d.removed.length} ~${d.changed.length}\n`);
        for (const c of d.changed.slice(0, 20)) process.stdout.write(`    ~ ${c.key}: ${c.fields.join(', ')}\n`);
        if (d.added.length) process.stdout.write(`    + ${d.added.slice(0, 20).join(', ')}${d.added.length > 20 ? ', …' : ''}\n`);
        if (d.removed.length) process.stdout.write(`    - ${d.removed.slice(0, 20).join(', ')}${d.removed.length > 20 ? ', …' : ''}\n`);
      }
    }));

  reports.command('files <run>').description('把生成的文件写到目录（含个人信息明文，已审计）/ write the generated files to a folder (clear PII, audited)')
    .requiredOption('--out <dir>', '目录 / folder')
    .action((id: string, opts: { out: string }) => withService(async (service) => writeFiles(service, service.getRun(id), opts.out)));
};

async function writeFiles(service: ReportService, run: ReportRun, out: string): Promise<void> {
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  for (const f of run.files) {
    const file = await service.download(run.id, f.name, actor());
    writeFileSync(join(dir, file.name), file.content, { mode: 0o600 });
    process.stderr.write(`已写出 / wrote ${join(dir, file.name)}\n`);
  }
}
