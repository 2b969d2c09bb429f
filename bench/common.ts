// Shared helpers of the benchmarks: timing (wall and CPU), formatting, peak RSS, the synthetic roster.
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRoster } from '../scripts/generate-roster.ts';

export interface Timing {
  /** Wall seconds. */
  wall: number;
  /** CPU seconds of this process (user + system) over the same span: the machine is shared, wall time is not always ours. */
  cpu: number;
}

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ result: T; t: Timing }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { result, t: { wall, cpu: (c.user + c.system) / 1e6 } };
}

export const rate = (n: number, seconds: number): string => `${Math.round(n / seconds).toLocaleString('en-US')}/s`;
export const secs = (s: number): string => `${s.toFixed(2)} s`;
export const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

/** Peak resident set size of this process so far, KiB (Linux VmHWM; elsewhere the rusage maximum). */
export function peakRssKiB(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

/** Folder for generated inputs, kept between runs (a 1M-row roster takes ~8 s to write). */
export function benchDataDir(): string {
  const dir = process.env.VOCHUB_BENCH_DIR ?? join(tmpdir(), 'vochub-bench');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The synthetic 中职 roster of scripts/generate-roster.ts (real area codes, valid ID numbers, phones, birth dates). */
export async function rosterFile(rows: number, encoding: 'gbk' | 'utf-8', seed = 20230901): Promise<string> {
  const file = join(benchDataDir(), `roster-${rows}-${encoding}-${seed}.csv`);
  if (!existsSync(file)) {
    const tmp = `${file}.part`;
    await generateRoster({ rows, seed, encoding, damage: false, out: tmp });
    renameSync(tmp, file);
  }
  return file;
}

/** The column mapping a 学籍 roster export uses (same as examples/demo/vochub.yaml). */
export const ROSTER_COLUMNS: Record<string, string> = {
  学号: 'studentNumber',
  姓名: 'name',
  性别: 'sex',
  民族: 'ethnicity',
  身份证号: 'idNumber',
  出生日期: 'birthDate',
  入学日期: 'enrolmentDate',
  班级: 'classId',
  专业代码: 'programCode',
  联系电话: 'phone',
  学籍状态: 'enrolmentStatus',
};
