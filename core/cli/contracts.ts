import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { VochubError } from '../errors.ts';
import { repoRoot } from '../config/load.ts';
import { checkContracts } from '../contracts/compat.ts';
import { loadContracts } from '../contracts/registry.ts';
import { parseJsonSafe } from '../ingest/json.ts';

export function registerContracts(program: Command): void {
  const contracts = program.command('contracts').description('规范契约 / canonical contracts');
  contracts
    .command('list')
    .description('列出契约 / list contracts')
    .option('--json', '输出 JSON / print JSON')
    .action((opts: { json?: boolean }) => {
      const registry = loadContracts();
      const items = registry.list().map((c) => ({ name: c.name, version: c.version, $id: c.$id, title: c.title, pii: c.pii.map((p) => `${p.field}:${p.class}`) }));
      if (opts.json) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
      else for (const c of items) process.stdout.write(`${c.name.padEnd(14)} v${c.version}  ${c.$id}  ${c.title}${c.pii.length ? `  PII: ${c.pii.join(', ')}` : ''}\n`);
    });
  contracts
    .command('check')
    .description('检查契约与上一发布版本兼容 / prove contracts compatible with the previous release')
    .action(() => {
      const result = checkContracts(repoRoot);
      for (const line of result.report) process.stdout.write(`${line}\n`);
      if (!result.ok) {
        process.stderr.write('契约不兼容 / contracts are not compatible with the previous release\n');
        process.exitCode = 1;
      }
    });
}

export function registerValidate(program: Command): void {
  program
    .command('validate <contract> <file>')
    .description('按契约校验 JSON 或 JSON Lines 文件 / validate a JSON or JSON Lines file against a contract')
    .action((contract: string, file: string) => {
      const registry = loadContracts();
      if (!registry.has(contract)) throw new VochubError('CONTRACT_UNKNOWN', `未知契约 / unknown contract ${contract}; known: ${registry.list().map((c) => c.name).join(', ')}`, { status: 404 });
      const path = resolve(file);
      if (!existsSync(path)) throw new VochubError('FILE_NOT_FOUND', `文件不存在 / file not found: ${path}`, { status: 400 });
      const text = readFileSync(path, 'utf8');
      // One JSON value (a record or an array of records), else JSON Lines (one record a line). Numbers are
      // parsed losslessly: an ID beyond 2^53−1 is reported, not silently rounded (case C17).
      const unparseable = Symbol('unparseable');
      let records: { line: number; value: unknown }[];
      const whole = parseJsonSafe(text);
      const report = (line: number, code: string, message: string): void => void process.stdout.write(`${path}:${line} ${code} ${message}\n`);
      if (whole.ok) {
        records = (Array.isArray(whole.value) ? whole.value : [whole.value]).map((v) => ({ line: 1, value: v }));
      } else if (whole.code === 'JSON_UNSAFE_NUMBER') {
        report(1, whole.code, whole.message);
        records = [{ line: 1, value: unparseable }];
      } else {
        records = [];
        text.split('\n').forEach((raw, i) => {
          if (raw.trim() === '') return;
          const one = parseJsonSafe(raw);
          if (one.ok) records.push({ line: i + 1, value: one.value });
          else {
            report(i + 1, one.code, one.message);
            records.push({ line: i + 1, value: unparseable });
          }
        });
      }
      let bad = 0;
      records.forEach((r, index) => {
        if (r.value === unparseable) {
          bad++;
          return;
        }
        const result = registry.validate(contract, r.value);
        if (!result.ok) {
          bad++;
          for (const e of result.errors) process.stdout.write(`${path}:${r.line} record ${index + 1} ${e.code} ${e.field || '(record)'}: ${e.message}\n`);
        }
      });
      process.stdout.write(`${records.length - bad} valid, ${bad} invalid\n`);
      if (bad > 0) process.exitCode = 1;
    });
}
