// A generated 1M-row GBK roster imported end to end the way an operator does it: `vochub import`
// (bin/vochub.mjs) as a child process on a group config pointing at the file, with a fresh data folder.
// Prints rows/s, wall time, the child's CPU time and PEAK RSS (VmHWM, written by bench/peak-rss.mjs
// at the child's exit), against a floor measured in the same run on the same file: raw decode
// (GB18030) + split into rows and fields, no CSV rules. Targets (issue 2): < 30 s and < 500 MB.
// Usage: node --import tsx bench/roster-1m.ts [rows=1000000]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { ROSTER_COLUMNS, mib, rate, rosterFile, secs, timed, type Timing } from './common.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface RosterFigures {
  rows: number;
  floor: Timing;
  import: Timing;
  peakRssKiB: number;
  output: string;
}

/** Floor: read the file, decode GB18030, split into lines and fields. What any importer must at least do. */
async function rawScan(file: string): Promise<{ rows: number; fields: number }> {
  const decoder = iconv.getDecoder('gb18030');
  let carry = '';
  let rows = 0;
  let fields = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    const text = carry + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      fields += text.slice(start, nl).split(',').length;
      rows++;
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  if (carry.length > 0) rows++;
  return { rows, fields };
}

function groupConfig(file: string): string {
  const columns = Object.entries(ROSTER_COLUMNS)
    .map(([k, v]) => `            ${k}: ${v}`)
    .join('\n');
  return `group:
  code: BENCH
  name: 基准测试集团 / benchmark group
hub:
  bus: { transport: sqlite }
  store: { driver: sqlite }
members:
  - code: "3133010103"
    name: 基准中职学校 / benchmark school
    type: school
    adapters:
      - name: roster
        type: roster-file
        config:
          files: ${JSON.stringify(file)}
          contract: student
          key: 学号
          columns:
${columns}
          defaults:
            educationLevel: zhongzhi
            schoolId: "3133010103"
plugins: []
`;
}

async function cliImport(dir: string, configFile: string, nodeArgs: string[]): Promise<{ t: Timing; peakRssKiB: number; output: string; code: number }> {
  const report = join(dir, 'report.json');
  const env = {
    ...process.env,
    VOCHUB_DATA: join(dir, 'data'),
    VOCHUB_MASTER_KEY: randomBytes(32).toString('base64'),
    VOCHUB_BENCH_REPORT: report,
    VOCHUB_LOG_LEVEL: 'warn',
  };
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [...nodeArgs, '--import', join(repo, 'bench/peak-rss.mjs'), join(repo, 'bin/vochub.mjs'), '-c', configFile, 'import', '--no-progress'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = JSON.parse(readFileSync(report, 'utf8')) as { vmHwmKiB: number; cpuSeconds: number; samples?: unknown[] };
  // VOCHUB_BENCH_SAMPLE_MS=2000: the child's memory every 2 s (main thread's heap; RSS is the whole process).
  if (process.env.VOCHUB_BENCH_SAMPLE_MS) for (const s of r.samples ?? []) console.log(JSON.stringify(s));
  return { t: { wall, cpu: r.cpuSeconds }, peakRssKiB: r.vmHwmKiB, output: output.trim(), code };
}

export async function runRosterBench(rows: number, log: (line: string) => void = console.log): Promise<RosterFigures> {
  const file = await rosterFile(rows, 'gbk');
  const dir = mkdtempSync(join(tmpdir(), 'vochub-bench-roster-'));
  try {
    await rawScan(file); // warm the page cache: both sides read a cached file
    const floor = await timed(() => rawScan(file));
    const configFile = join(dir, 'vochub.yaml');
    writeFileSync(configFile, groupConfig(file));
    // VOCHUB_BENCH_NODE_ARGS: extra node flags for the child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the import.
    const run = await cliImport(dir, configFile, (process.env.VOCHUB_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''));
    log(`roster import: ${rows.toLocaleString('en-US')} rows, GBK CSV (${(readFileSync(file).length / 2 ** 20).toFixed(0)} MiB), \`vochub import\` as a child process, fresh SQLite store`);
    log(`  floor: decode + split rows/fields       ${secs(floor.t.wall).padStart(9)} wall ${secs(floor.t.cpu).padStart(9)} cpu  ${rate(floor.result.rows - 1, floor.t.wall)} wall`);
    log(`  vochub import                           ${secs(run.t.wall).padStart(9)} wall ${secs(run.t.cpu).padStart(9)} cpu  ${rate(rows, run.t.wall)} wall, ${rate(rows, run.t.cpu)} cpu`);
    log(`  ratio floor/import                      ${(floor.t.wall / run.t.wall).toFixed(3)} wall, ${(floor.t.cpu / run.t.cpu).toFixed(3)} cpu`);
    log(`  peak RSS (VmHWM) of the import process  ${mib(run.peakRssKiB)}`);
    log(`  targets: wall < 30 s ${run.t.wall < 30 ? 'met' : 'NOT met'}; peak RSS < 500 MB ${run.peakRssKiB * 1024 < 500e6 ? 'met' : 'NOT met'}  (exit ${run.code})`);
    log(`  cli: ${run.output.split('\n').filter((l) => l.includes('read=')).join(' | ')}`);
    return { rows, floor: floor.t, import: run.t, peakRssKiB: run.peakRssKiB, output: run.output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runRosterBench(Number(process.argv[2] ?? 1_000_000));
}
