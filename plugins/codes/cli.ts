// `vochub codes list|show|diff|load|crosswalk`: the code registry from the command line. `load`
// writes into the hub's data folder; a running hub picks the file up on its next registry reload.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { RegisterCli } from '../../core/cli/plugin-commands.ts';
import { openCodeRegistry, type LoadResult } from '../../core/contracts/code-registry.ts';
import type { CodeEntry } from '../../core/contracts/types.ts';
import { tableDetail } from './index.ts';

function out(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text());
}

function entryLine(e: CodeEntry): string {
  const period = e.validFrom || e.validTo ? `  [${e.validFrom ?? '…'} – ${e.validTo ?? '…'}]` : '';
  const next = e.successors?.length ? `  → ${e.successors.join(', ')}` : '';
  return `${e.code}\t${e.label}${period}${next}\n`;
}

function printLoad(r: LoadResult): string {
  const lines = [`${r.file}: 行/rows ${r.rows}, 已加载/loaded ${r.loaded}, 问题/problems ${r.problems.length}\n`];
  for (const p of r.problems.slice(0, 50)) lines.push(`  ${p.code} ${p.line !== undefined ? `行/line ${p.line} ` : ''}${p.field ?? ''} ${p.value ?? ''}  ${p.message}\n`);
  return lines.join('');
}

export const registerCli: RegisterCli = (program: Command, open) => {
  const codes = program.command('codes').description('代码注册表（国标代码、专业目录、对照表）/ code registry: national tables, catalogue, crosswalks');
  // The registry only needs the data folder: open the hub for its configuration (and the seeded files).
  const withRegistry = async <T>(fn: (registry: ReturnType<typeof openCodeRegistry>) => T | Promise<T>): Promise<T> => {
    const hub = await open();
    try {
      return await fn(openCodeRegistry(hub.config.hub.dataDir));
    } finally {
      await hub.close();
    }
  };

  codes
    .command('list')
    .description('代码表清单 / list code tables')
    .option('--json', '输出 JSON / print JSON')
    .action((opts: { json?: boolean }) =>
      withRegistry((r) => {
        const items = r.list();
        out(opts.json, items, () => items.map((t) => `${t.name.padEnd(16)} ${String(t.current).padStart(6)}  ${t.version ?? ''}  ${t.title}\n`).join('') + `对照表 / crosswalks: ${r.crosswalkSets().map((s) => `${s.set} (${s.entries})`).join(', ')}\n`);
      }),
    );

  codes
    .command('show <table>')
    .description('查询代码表 / query a table')
    .option('--at <date>', '在该日有效 / valid on this date (YYYY-MM-DD)')
    .option('-q, --q <text>', '代码前缀或名称 / code prefix or label text')
    .option('--limit <n>', '条数 / how many', '200')
    .option('--json', '输出 JSON / print JSON')
    .action((table: string, opts: { at?: string; q?: string; limit: string; json?: boolean }) =>
      withRegistry((r) => {
        const detail = tableDetail(r, table, { at: opts.at, q: opts.q, limit: Number(opts.limit) });
        out(opts.json, detail, () => `${detail.title}  ${detail.version ?? ''}\n${detail.entries.map(entryLine).join('')}`);
      }),
    );

  codes
    .command('diff <table>')
    .description('两个日期之间的变化 / changes between two dates')
    .requiredOption('--from <date>', '起始日期 / from (YYYY-MM-DD)')
    .requiredOption('--to <date>', '截止日期 / to (YYYY-MM-DD)')
    .option('--json', '输出 JSON / print JSON')
    .action((table: string, opts: { from: string; to: string; json?: boolean }) =>
      withRegistry((r) => {
        const d = r.diff(table, opts.from, opts.to);
        out(opts.json, d, () =>
          [
            `${d.table} ${d.from} → ${d.to}: 新增/added ${d.added.length}, 撤销/removed ${d.removed.length}, 更名/renamed ${d.renamed.length}\n`,
            ...d.added.map((e) => `+ ${entryLine(e)}`),
            ...d.removed.map((e) => `- ${entryLine(e)}`),
            ...d.renamed.map((x) => `~ ${x.code}\t${x.fromLabel} → ${x.toLabel}\n`),
          ].join(''),
        );
      }),
    );

  codes
    .command('load <file>')
    .description('加载专业目录（默认）或对照表（--crosswalk 名称）/ load a catalogue file (default) or a crosswalk (--crosswalk name)')
    .option('--crosswalk <name>', '作为对照表加载（替换同名）/ load as a crosswalk set (replaces one of that name)')
    .option('--json', '输出 JSON / print JSON')
    .action((file: string, opts: { crosswalk?: string; json?: boolean }) =>
      withRegistry((r) => {
        const text = readFileSync(file, 'utf8');
        const result = opts.crosswalk ? r.loadCrosswalk(text, opts.crosswalk, file.endsWith('.jsonl') ? 'jsonl' : 'csv') : r.loadCatalogue(text, basename(file));
        out(opts.json, result, () => printLoad(result));
        if (result.loaded === 0) process.exitCode = 1;
      }),
    );

  codes
    .command('crosswalk <namespace> <value>')
    .description('对照查询 / look up a mapping')
    .option('--to <mappedNamespace>', '目标命名空间 / target namespace')
    .option('--json', '输出 JSON / print JSON')
    .action((namespace: string, value: string, opts: { to?: string; json?: boolean }) =>
      withRegistry((r) => {
        const hits = r.crosswalk(namespace, value, opts.to);
        out(opts.json, hits, () => (hits.length === 0 ? '无对照 / no mapping\n' : hits.map((h) => `${h.mappedNamespace}\t${h.mappedValue}\t(${h.set})\n`).join('')));
        if (hits.length === 0) process.exitCode = 1;
      }),
    );
};
