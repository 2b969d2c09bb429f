// `vochub quality report|issues`: the same report as GET /api/v1/quality/report, from the command line.
// Values are masked exactly as in the API; the CLI is an operator tool on the hub host.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { RegisterCli } from '../../core/cli/plugin-commands.ts';
import type { Hub } from '../../core/hub.ts';
import { createQualityService, type QualityConfig } from './index.ts';
import { CONTRACT_LABELS, type QualityReport } from './report.ts';

function serviceOf(hub: Hub) {
  const configured = hub.config.plugins.find((p) => p.type === 'quality');
  return createQualityService(hub, (configured?.config ?? {}) as QualityConfig, hub.config.baseDir);
}

function printReport(report: QualityReport): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7);
  process.stdout.write(`质量报告 / quality report  ${report.generatedAt}\n`);
  for (const m of report.members) {
    process.stdout.write(`\n${m.member} ${m.name ?? ''}  得分/score ${m.score}  记录/records ${m.records}  隔离/quarantined ${m.quarantined}\n`);
    process.stdout.write('  数据集/contract          完整性  有效性  唯一性  一致性  及时性   得分\n');
    for (const c of m.contracts) {
      const d = c.dimensions;
      process.stdout.write(`  ${`${CONTRACT_LABELS[c.contract] ?? ''} ${c.contract}`.padEnd(22)} ${pct(d.completeness)} ${pct(d.validity)} ${pct(d.uniqueness)} ${pct(d.consistency)} ${pct(d.timeliness)} ${String(c.score).padStart(6)}\n`);
    }
    if (m.trend.length > 1) process.stdout.write(`  趋势/trend: ${m.trend.map((t) => t.score).join(' → ')}\n`);
  }
}

export const registerCli: RegisterCli = (program: Command, open) => {
  const quality = program.command('quality').description('数据质量报告 / data quality report');
  quality
    .command('report')
    .description('按成员与数据集的质量得分 / quality scores per member and contract')
    .option('-m, --member <code>', '成员代码 / member code')
    .option('--json', '输出 JSON / print JSON')
    .option('--xlsx <file>', '导出 Excel（给成员学校）/ write an Excel workbook for member schools')
    .action(async (opts: { member?: string; json?: boolean; xlsx?: string }) => {
      const hub = await open();
      try {
        const service = serviceOf(hub);
        const { report } = await service.evaluate();
        const r = report(opts.member);
        if (opts.xlsx) {
          writeFileSync(opts.xlsx, await service.workbook(opts.member));
          process.stderr.write(`已写入 / written: ${opts.xlsx}\n`);
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else if (!opts.xlsx) printReport(r);
      } finally {
        await hub.close();
      }
    });
  quality
    .command('issues')
    .description('问题明细（值已脱敏）；隔离行可用 vochub problems replay 修正重放 / drill-down rows (masked); fix quarantined rows with vochub problems replay')
    .option('-m, --member <code>', '成员代码 / member code')
    .option('--contract <name>', '数据集 / contract')
    .option('--rule <rule>', '规则 / rule')
    .option('--dimension <d>', '维度 / dimension')
    .option('--limit <n>', '条数 / how many', '50')
    .option('--json', '输出 JSON / print JSON')
    .action(async (opts: { member?: string; contract?: string; rule?: string; dimension?: string; limit: string; json?: boolean }) => {
      const hub = await open();
      try {
        const service = serviceOf(hub);
        const { evaluation } = await service.evaluate();
        const page = await service.issues(evaluation, { member: opts.member, contract: opts.contract, rule: opts.rule, dimension: opts.dimension, limit: Number(opts.limit) });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
          return;
        }
        for (const i of page.items) {
          const where = [i.location.file, i.location.line !== undefined ? `行/line ${i.location.line}` : undefined, i.location.column !== undefined ? `列/column ${i.location.column}` : undefined].filter(Boolean).join(' ');
          process.stdout.write(`${i.member} ${i.contract} ${i.key ?? '-'} ${i.rule} ${i.field ?? ''} ${i.value ?? ''} ${where}${i.problemId ? ` [problem ${i.problemId}${i.replay ? ': vochub problems replay' : ': 请修正源文件后重新导入 / fix the source and re-import'}]` : ''}\n    ${i.message}\n`);
        }
        process.stdout.write(`共 / total ${page.total}\n`);
      } finally {
        await hub.close();
      }
    });
};
